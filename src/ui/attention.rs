//! The dashboard's side of attention: jumping to the task that needs you,
//! listing those first, and announcing when a task starts to need you,
//! finishes its turn or ends (coalesced, and never for the task on screen).

use super::action::Effect;
use super::state::{ALERT_EVERY_MS, Alert, State};
use crossterm::event::{KeyCode, KeyEvent};

use crate::attention::approval::{Decision, PendingApproval};
use crate::attention::{ActivityState, Source};
use crate::protocol::task::TaskRecord;
use crate::protocol::{Command, Level};

/// A new permission request (its task's hook says it waits, which alerts).
pub(super) fn on_approval(state: &mut State, pending: PendingApproval) {
    if !state.approvals.iter().any(|a| a.token == pending.token) {
        state.approvals.push(pending);
    }
}

pub(super) fn on_approval_closed(state: &mut State, token: u64, task: u64, decision: Decision) {
    let before = state.approvals.len();
    state.approvals.retain(|a| a.token != token);
    if state.approvals.len() < before {
        state.notify(
            Level::Info,
            format!("task #{task}: permission {}", decision.label()),
        );
    }
}

/// `1` allow, `2` allow for the rest of the task, `3` deny: the keys of the
/// card shown over the selected task's pane. True when the key was one.
pub(super) fn on_approval_key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
    let Some(pending) = state.selected_approval() else {
        return false;
    };
    let decision = match key.code {
        KeyCode::Char('1') => Decision::Allow,
        KeyCode::Char('2') => Decision::AllowAlways,
        KeyCode::Char('3') => Decision::Deny,
        _ => return false,
    };
    effects.push(Effect::Send(Command::Decide {
        task: pending.task,
        token: Some(pending.token),
        decision,
    }));
    true
}

/// Selects the next task (in list order, after the selected one) that waits
/// for its user.
pub(super) fn next_waiting(state: &mut State) {
    let start = state.selected_task_index();
    let n = state.tasks.len();
    let next = (1..=n)
        .map(|step| (start + step) % n.max(1))
        .find(|&i| state.tasks[i].needs_user());
    match next {
        Some(i) => state.selected_task = Some(state.tasks[i].id),
        None => state.notify(Level::Info, "no task needs you"),
    }
}

pub(super) fn toggle_first(state: &mut State) {
    state.attention_first = !state.attention_first;
    state.sort_tasks();
}

/// What changed between a task's old record and its new one that is worth
/// telling: it began waiting, its agent said its turn is over, it ended.
pub(super) fn on_task_update(state: &mut State, old: &TaskRecord, new: &TaskRecord) {
    let notify = &state.settings.notify;
    let was = old.live_activity().map(|a| a.state);
    let (event, reason) = match (new.live_activity(), new.state.is_live()) {
        (Some(a), true) if a.state != ActivityState::Working && was != Some(a.state) => {
            let wanted = match a.state {
                ActivityState::Waiting => notify.waiting,
                // Only an agent's own word that its turn is over: a quiet
                // screen is too weak a sign to interrupt anyone for.
                _ => notify.idle && a.source == Source::Hook && was == Some(ActivityState::Working),
            };
            if !wanted {
                return;
            }
            (a.state.label(), a.describe(state.now_ms))
        }
        (_, false) if old.state.is_live() && notify.ended => ("ended", new.state.label()),
        _ => return,
    };
    // Nothing for a task the user is looking at.
    if state.visible_panes().iter().any(|(id, _)| *id == new.id) && state.focused {
        return;
    }
    state.alerts.retain(|a| a.task != new.id);
    state.alerts.push(Alert {
        task: new.id,
        project: new.spec.project.clone(),
        agent: new.spec.agent.clone(),
        event,
        reason,
    });
}

/// Makes the pending alerts as one, when the last one was long enough ago.
pub(super) fn flush_alerts(state: &mut State, effects: &mut Vec<Effect>) {
    if state.alerts.is_empty() || state.now_ms < state.last_alert_ms + ALERT_EVERY_MS {
        return;
    }
    state.last_alert_ms = state.now_ms;
    effects.push(Effect::Alert(std::mem::take(&mut state.alerts)));
}

/// One line for a batch of alerts: `#3 claude is waiting: hook: …`, or
/// `3 tasks need you: #1, #4, #7`.
pub fn summary(alerts: &[Alert]) -> String {
    match alerts {
        [one] => format!(
            "#{} {} {}: {}",
            one.task,
            one.agent,
            match one.event {
                "waiting" => "needs you",
                "idle" => "finished its turn",
                _ => "ended",
            },
            one.reason
        ),
        many => {
            let ids: Vec<String> = many.iter().map(|a| format!("#{}", a.task)).collect();
            let waiting = many.iter().filter(|a| a.event == "waiting").count();
            match waiting {
                0 => format!("{} tasks changed: {}", many.len(), ids.join(", ")),
                n => format!("{n} tasks need you: {}", ids.join(", ")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::Activity;
    use crate::config::Config;
    use crate::protocol::Event;
    use crate::protocol::task::TaskState;
    use crate::ui::action::Action;
    use crate::ui::update::update;
    use ratatui::layout::Rect;

    fn doing(id: u64, state: ActivityState, source: Source) -> Box<TaskRecord> {
        let mut record = TaskRecord::sample(id, TaskState::Running);
        record.activity = Some(Activity {
            state,
            since_ms: 1,
            source,
            reason: "why".into(),
        });
        Box::new(record)
    }

    fn alerts_after(state: &mut State, now: u64) -> Vec<Alert> {
        update(state, Action::Tick(now))
            .into_iter()
            .flat_map(|e| match e {
                Effect::Alert(alerts) => alerts,
                _ => vec![],
            })
            .collect()
    }

    fn dashboard() -> State {
        let config = Config::defaults("/c.toml".into());
        let mut state = State::new(&config, Rect::new(0, 0, 120, 36), 0);
        for id in 1..=3 {
            let working = doing(id, ActivityState::Working, Source::Quiet);
            update(&mut state, Action::Supervisor(Event::Task(working)));
        }
        state
    }

    fn send(state: &mut State, record: Box<TaskRecord>) {
        update(state, Action::Supervisor(Event::Task(record)));
    }

    #[test]
    fn turning_waiting_alerts_once_coalesced_and_not_for_the_pane_in_view() {
        let mut state = dashboard();
        assert_eq!(state.selected_task, Some(3), "the newest is on screen");
        send(&mut state, doing(1, ActivityState::Waiting, Source::Hook));
        send(&mut state, doing(2, ActivityState::Waiting, Source::Screen));
        send(&mut state, doing(3, ActivityState::Waiting, Source::Hook));
        let alerts = alerts_after(&mut state, 10_000);
        let ids: Vec<u64> = alerts.iter().map(|a| a.task).collect();
        assert_eq!(ids, [1, 2], "#3 is in view");
        assert_eq!(summary(&alerts), "2 tasks need you: #1, #2");
        // Still waiting: nothing new. Working then waiting again, within
        // the coalescing window: held, then made.
        send(&mut state, doing(1, ActivityState::Waiting, Source::Hook));
        send(&mut state, doing(2, ActivityState::Working, Source::Quiet));
        send(&mut state, doing(2, ActivityState::Waiting, Source::Screen));
        assert!(alerts_after(&mut state, 11_000).is_empty());
        let alerts = alerts_after(&mut state, 13_000);
        assert_eq!(summary(&alerts), "#2 claude needs you: screen: why");
        // Out of focus, the pane in view alerts too.
        update(&mut state, Action::Focus(false));
        send(&mut state, doing(3, ActivityState::Working, Source::Quiet));
        send(&mut state, doing(3, ActivityState::Idle, Source::Hook));
        assert_eq!(alerts_after(&mut state, 20_000)[0].event, "idle");
    }

    #[test]
    fn quiet_idle_is_not_worth_an_alert_and_ends_are() {
        let mut state = dashboard();
        update(&mut state, Action::Focus(false));
        send(&mut state, doing(1, ActivityState::Idle, Source::Quiet));
        assert!(alerts_after(&mut state, 10_000).is_empty());
        send(
            &mut state,
            Box::new(TaskRecord::sample(2, TaskState::Exited { code: 0 })),
        );
        let alerts = alerts_after(&mut state, 20_000);
        assert_eq!(
            (alerts[0].event, alerts[0].reason.as_str()),
            ("ended", "exited 0")
        );
    }

    #[test]
    fn w_jumps_to_the_next_waiting_task_and_s_lists_them_first() {
        let mut state = dashboard();
        send(&mut state, doing(1, ActivityState::Waiting, Source::Hook));
        next_waiting(&mut state);
        assert_eq!(state.selected_task, Some(1));
        next_waiting(&mut state);
        assert_eq!(state.selected_task, Some(1), "the only one");
        toggle_first(&mut state);
        let order: Vec<u64> = state.tasks.iter().map(|t| t.id).collect();
        assert_eq!(order, [1, 3, 2]);
        toggle_first(&mut state);
        let order: Vec<u64> = state.tasks.iter().map(|t| t.id).collect();
        assert_eq!(order, [3, 2, 1]);
        send(&mut state, doing(1, ActivityState::Working, Source::Hook));
        next_waiting(&mut state);
        assert_eq!(state.notice.as_ref().unwrap().text, "no task needs you");
    }
}
