//! What the dashboard does with the supervisor's events.

use super::action::Effect;
use super::state::State;
use super::{hosts_actions, review_actions};
use crate::supervisor::{Event, Level};

pub(super) fn on_event(state: &mut State, event: Event, effects: &mut Vec<Effect>) {
    match event {
        Event::Snapshot {
            mut tasks,
            probes,
            hosts,
            prompts,
            settings,
        } => {
            if let Some(settings) = settings.filter(|_| state.remote.is_some()) {
                adopt_settings(state, *settings);
            }
            tasks.sort_by_key(|t| std::cmp::Reverse(t.id));
            state.selected_task = tasks.first().map(|t| t.id);
            state.tasks = tasks;
            state.probes = probes.into_iter().map(|p| (p.host.clone(), p)).collect();
            if !hosts.is_empty() {
                hosts_actions::on_event(state, Event::Hosts(hosts));
            }
            for (id, question) in prompts {
                hosts_actions::on_event(state, Event::Prompt { id, question });
            }
        }
        Event::Task(record) => match state.tasks.iter_mut().find(|t| t.id == record.id) {
            Some(existing) => *existing = *record,
            None => {
                // A new task: show it.
                state.selected_task = Some(record.id);
                state.tasks.insert(0, *record);
                state.tasks.sort_by_key(|t| std::cmp::Reverse(t.id));
            }
        },
        Event::Output { .. } | Event::Dispatched { .. } => {}
        Event::Diff { .. } | Event::Applied { .. } | Event::DiscardCheck { .. } => {
            review_actions::on_event(state, event)
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
        Event::Probe(_)
        | Event::Hosts(_)
        | Event::HostState { .. }
        | Event::Prompt { .. }
        | Event::PromptClosed { .. } => hosts_actions::on_event(state, event),
        Event::Settings(settings) => {
            if state.remote.is_some() {
                adopt_settings(state, *settings);
            }
        }
        Event::Notice { level, message } => state.notify(level, message),
        Event::ShutDown => effects.push(Effect::Exit),
    }
}

/// A dashboard attached to another machine's daemon works with that
/// daemon's projects and agents, not its own config's.
fn adopt_settings(state: &mut State, settings: crate::supervisor::Settings) {
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
