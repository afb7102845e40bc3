//! What the dashboard does with the supervisor's events.

use super::action::Effect;
use super::state::State;
use super::{attention, hosts_actions, prompt, review};
use crate::protocol::{Event, Level};

pub(super) fn on_event(state: &mut State, event: Event, effects: &mut Vec<Effect>) {
    match event {
        Event::Snapshot {
            tasks,
            probes,
            hosts,
            prompts,
            settings,
            approvals,
        } => {
            state.approvals = approvals;
            if let Some(settings) = settings.filter(|_| state.remote.is_some()) {
                adopt_settings(state, *settings);
            }
            state.tasks = tasks;
            state.sort_tasks();
            state.selected_task = state.tasks.first().map(|t| t.id);
            state.probes = probes.into_iter().map(|p| (p.host.clone(), p)).collect();
            if !hosts.is_empty() {
                hosts_actions::on_event(state, Event::Hosts(hosts));
            }
            for (id, question) in prompts {
                prompt::on_event(state, Event::Prompt { id, question });
            }
        }
        Event::Task(record) => {
            match state.tasks.iter().position(|t| t.id == record.id) {
                Some(i) => {
                    let new = (*record).clone();
                    let old = std::mem::replace(&mut state.tasks[i], *record);
                    attention::on_task_update(state, &old, &new);
                    // Only whether it needs its user can move it.
                    if state.attention_first {
                        state.sort_tasks();
                    }
                }
                None => {
                    // A new task: show it.
                    state.selected_task = Some(record.id);
                    state.tasks.push(*record);
                    state.sort_tasks();
                }
            }
        }
        Event::Dispatched { .. } => {}
        Event::Approval(pending) => attention::on_approval(state, pending),
        Event::ApprovalClosed {
            token,
            task,
            decision,
        } => attention::on_approval_closed(state, token, task, decision),
        Event::Diff { .. } | Event::Applied { .. } | Event::DiscardCheck { .. } => {
            review::actions::on_event(state, event)
        }
        Event::Removed { id } => {
            let index = state.selected_task_index();
            state.tasks.retain(|t| t.id != id);
            if state.selected_task == Some(id) {
                let next = index.min(state.tasks.len().saturating_sub(1));
                state.selected_task = state.tasks.get(next).map(|t| t.id);
            }
            state.notify(Level::Info, format!("discarded task #{id}"));
        }
        Event::Probe(_) | Event::Hosts(_) | Event::HostState { .. } => {
            hosts_actions::on_event(state, event)
        }
        Event::Prompt { .. } | Event::PromptClosed { .. } => prompt::on_event(state, event),
        Event::Settings(settings) => {
            if state.remote.is_some() {
                adopt_settings(state, *settings);
            }
        }
        Event::Notice { level, message } => state.notify(level, message),
        Event::ShutDown => effects.push(Effect::Exit),
    }
}

/// A config file read again: its keys, settings, agents and (for a
/// dashboard on its own machine) projects take effect at once.
pub(super) fn adopt_config(state: &mut State, config: &crate::config::Config) {
    state.keymap = config.keymap.clone();
    state.settings = config.settings.clone();
    state.catalog = config.catalog.clone();
    if state.remote.is_none() {
        let unchecked = super::state::ProjectStatus {
            exists: true,
            git: false,
        };
        state
            .project_status
            .resize(config.projects.len(), unchecked);
        state.projects = config.projects.clone();
        state.selected_project =
            (state.selected_project).min(state.projects.len().saturating_sub(1));
    }
}

/// A dashboard attached to another machine's daemon works with that
/// daemon's projects and agents, not its own config's.
fn adopt_settings(state: &mut State, settings: crate::protocol::Settings) {
    state.project_status = vec![
        super::state::ProjectStatus {
            exists: true,
            git: true
        };
        settings.projects.len()
    ];
    state.projects = settings.projects;
    state.catalog = settings.catalog;
    state.selected_project = state
        .selected_project
        .min(state.projects.len().saturating_sub(1));
}
