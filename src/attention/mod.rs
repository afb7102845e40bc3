//! Attention: whether a live task is working, waiting for its user, or idle,
//! since when and why. Sources, most exact first: the agent's own hooks,
//! terminal signals in its output (BEL, OSC 9/777/99 notifications), rules
//! on the last lines of its screen, and how long it has been quiet.
//!
//! This layer knows nothing of tasks or processes: the supervisor feeds a
//! [`Tracker`] per task and stores what it decides in the task's record.

pub mod approval;
pub mod hooks;
pub mod rules;

use serde::{Deserialize, Serialize};

pub use crate::text::one_line;

pub use rules::ScreenRules;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityState {
    /// Printing, thinking or running a tool.
    Working,
    /// Needs its user: a question, a permission request, a login or trust dialog.
    Waiting,
    /// Its turn is over; ready for the next prompt.
    Idle,
}

impl ActivityState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::Waiting => "waiting",
            Self::Idle => "idle",
        }
    }
}

/// Which source decided an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The agent said so through a hook: exact.
    Hook,
    /// A bell or a desktop notification in the agent's output.
    Signal,
    /// A rule on the last lines of its screen.
    Screen,
    /// Output (or its absence) over time: the last resort.
    Quiet,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Self::Hook => "hook",
            Self::Signal => "signal",
            Self::Screen => "screen",
            Self::Quiet => "quiet",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub state: ActivityState,
    pub since_ms: u64,
    pub source: Source,
    /// What was seen: `PermissionRequest Bash(rm -rf build)`, `"[y/n]"`,
    /// `bell`. Empty for quiet (its duration is `since_ms`).
    pub reason: String,
}

impl Activity {
    /// `hook: PermissionRequest Bash(…)`, `screen: "[y/n]"`, `quiet 30 s`.
    pub fn describe(&self, now_ms: u64) -> String {
        match self.source {
            Source::Quiet => match self.state {
                ActivityState::Working => "printing".into(),
                _ => format!(
                    "quiet {}",
                    crate::clock::format_duration(now_ms.saturating_sub(self.since_ms))
                ),
            },
            source => format!("{}: {}", source.label(), self.reason),
        }
    }
}

/// The longest reason kept (a hook's tool input or a notification can be huge).
pub const MAX_REASON: usize = 160;

/// How long without output before a task counts as quiet.
pub const QUIET_AFTER_MS: u64 = 2_000;
/// A hook's or a signal's word stands this long against the screen's guess
/// (a prompt redrawn right after a hook must not undo it).
const EXACT_HOLD_MS: u64 = 1_500;

/// What the tracker last heard from the exact sources.
#[derive(Debug, Clone)]
struct Heard {
    state: ActivityState,
    reason: String,
    at_ms: u64,
    /// Stands only until the task prints again (after the hold).
    until_output: bool,
}

/// One task's activity, combined from its sources.
#[derive(Debug, Clone)]
pub struct Tracker {
    current: Option<Activity>,
    /// The agent's last hook report: it decides, the screen only fills in
    /// before the first report (or after one that stands until output).
    hook: Option<Heard>,
    /// A bell or notification, standing until output resumes after it.
    signal: Option<Heard>,
    /// When the task last printed, as last seen.
    last_output_ms: u64,
    /// When the screen rules last ran, by the output time they saw.
    screened_at_output: Option<u64>,
    screen: Option<(ActivityState, String)>,
}

impl Tracker {
    /// A task that started at `now_ms`.
    pub fn new(now_ms: u64) -> Self {
        Tracker {
            current: None,
            hook: None,
            signal: None,
            last_output_ms: now_ms,
            screened_at_output: None,
            screen: None,
        }
    }

    /// Continues from a saved activity (after the daemon restarted).
    pub fn resume(activity: Option<Activity>, now_ms: u64) -> Self {
        let mut tracker = Tracker::new(now_ms);
        if let Some(a) = &activity
            && a.source == Source::Hook
        {
            tracker.hook = Some(Heard {
                state: a.state,
                reason: a.reason.clone(),
                at_ms: a.since_ms,
                until_output: false,
            });
        }
        tracker.current = activity;
        tracker
    }

    /// What the agent's hook said. `until_output`: the agent reports only
    /// this, so it stands until the agent prints again.
    pub fn on_hook(
        &mut self,
        state: ActivityState,
        reason: String,
        until_output: bool,
        now_ms: u64,
    ) {
        self.hook = Some(Heard {
            state,
            reason,
            at_ms: now_ms,
            until_output,
        });
        self.signal = None;
    }

    pub fn on_signal(&mut self, reason: String, now_ms: u64) {
        self.signal = Some(Heard {
            state: ActivityState::Waiting,
            reason,
            at_ms: now_ms,
            until_output: true,
        });
    }

    /// The task printed at `at_ms`.
    pub fn on_output(&mut self, at_ms: u64) {
        if at_ms <= self.last_output_ms {
            return;
        }
        self.last_output_ms = at_ms;
        // Output well after a bell (or a report that stands only until
        // then) means the agent moved on.
        let moved_on = |heard: &Option<Heard>| {
            heard
                .as_ref()
                .is_some_and(|h| h.until_output && at_ms > h.at_ms + EXACT_HOLD_MS)
        };
        if moved_on(&self.signal) {
            self.signal = None;
        }
        if moved_on(&self.hook) {
            self.hook = None;
        }
    }

    /// Whether the screen rules should run again (the screen changed since).
    pub fn needs_screen(&self) -> bool {
        self.screened_at_output != Some(self.last_output_ms)
    }

    /// What the rules found on the screen as of the last output.
    pub fn on_screen(&mut self, found: Option<(ActivityState, String)>) {
        self.screened_at_output = Some(self.last_output_ms);
        self.screen = found;
    }

    /// Decides the activity at `now_ms`. Returns the new one when it changed.
    pub fn decide(&mut self, now_ms: u64) -> Option<&Activity> {
        let (state, source, reason, since) = self.verdict(now_ms);
        let same = self.current.as_ref().is_some_and(|c| {
            c.state == state
                && c.source == source
                && (c.reason == reason || source == Source::Quiet)
        });
        if same {
            return None;
        }
        let since_ms = match &self.current {
            // A new reason for the same state keeps its start.
            Some(c) if c.state == state => c.since_ms,
            _ => since,
        };
        self.current = Some(Activity {
            state,
            since_ms,
            source,
            reason,
        });
        self.current.as_ref()
    }

    fn verdict(&self, now_ms: u64) -> (ActivityState, Source, String, u64) {
        let quiet = now_ms.saturating_sub(self.last_output_ms) >= QUIET_AFTER_MS;
        if let Some(hook) = &self.hook {
            return (hook.state, Source::Hook, hook.reason.clone(), hook.at_ms);
        }
        if let Some(signal) = &self.signal {
            return (
                signal.state,
                Source::Signal,
                signal.reason.clone(),
                signal.at_ms,
            );
        }
        if let Some((state, reason)) = &self.screen {
            // A spinner that stopped turning is not work any more.
            if !(quiet && *state == ActivityState::Working) {
                return (*state, Source::Screen, reason.clone(), self.last_output_ms);
            }
        }
        match quiet {
            true => (
                ActivityState::Idle,
                Source::Quiet,
                String::new(),
                self.last_output_ms,
            ),
            false => (
                ActivityState::Working,
                Source::Quiet,
                String::new(),
                self.last_output_ms,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_output_turns_idle_and_output_turns_working() {
        let mut t = Tracker::new(0);
        assert_eq!(t.decide(100).unwrap().state, ActivityState::Working);
        assert!(t.decide(500).is_none(), "unchanged: no event");
        let idle = t.decide(QUIET_AFTER_MS + 1).unwrap().clone();
        assert_eq!(
            (idle.state, idle.source),
            (ActivityState::Idle, Source::Quiet)
        );
        assert_eq!(idle.since_ms, 0, "quiet since the last output");
        assert_eq!(idle.describe(30_000), "quiet 30s");
        t.on_output(40_000);
        assert_eq!(t.decide(40_001).unwrap().state, ActivityState::Working);
    }

    #[test]
    fn hooks_decide_over_screen_and_quiet() {
        let mut t = Tracker::new(0);
        t.on_screen(Some((ActivityState::Waiting, "\"[y/n]\"".into())));
        t.on_hook(ActivityState::Working, "PreToolUse Bash".into(), false, 10);
        let a = t.decide(20).unwrap().clone();
        assert_eq!((a.state, a.source), (ActivityState::Working, Source::Hook));
        assert_eq!(a.describe(20), "hook: PreToolUse Bash");
        assert!(
            t.decide(60_000).is_none(),
            "a hook's word holds while quiet"
        );
        t.on_hook(
            ActivityState::Waiting,
            "PermissionRequest Bash".into(),
            false,
            70_000,
        );
        assert_eq!(t.decide(70_000).unwrap().state, ActivityState::Waiting);
        t.on_output(90_000);
        assert!(
            t.decide(90_001).is_none(),
            "output does not undo a claude hook"
        );
    }

    #[test]
    fn a_turn_end_report_stands_until_the_agent_prints_again() {
        let mut t = Tracker::new(0);
        t.on_hook(ActivityState::Idle, "agent-turn-complete".into(), true, 10);
        assert_eq!(t.decide(10).unwrap().source, Source::Hook);
        t.on_output(10 + EXACT_HOLD_MS + 1); // the next prompt's work
        let a = t.decide(10 + EXACT_HOLD_MS + 2).unwrap();
        assert_eq!((a.state, a.source), (ActivityState::Working, Source::Quiet));
    }

    #[test]
    fn a_bell_waits_until_output_resumes() {
        let mut t = Tracker::new(0);
        t.on_signal("bell".into(), 100);
        assert_eq!(t.decide(100).unwrap().source, Source::Signal);
        t.on_output(200); // the prompt's own redraw
        assert!(t.decide(300).is_none());
        t.on_output(100 + EXACT_HOLD_MS + 1);
        assert_eq!(
            t.decide(100 + EXACT_HOLD_MS + 2).unwrap().state,
            ActivityState::Working
        );
    }

    #[test]
    fn a_stopped_spinner_is_not_work() {
        let mut t = Tracker::new(0);
        t.on_screen(Some((
            ActivityState::Working,
            "\"esc to interrupt\"".into(),
        )));
        assert_eq!(t.decide(10).unwrap().source, Source::Screen);
        assert_eq!(
            t.decide(QUIET_AFTER_MS + 1).unwrap().state,
            ActivityState::Idle
        );
    }
}
