//! The supervisor's side of attention: a [`Tracker`] per live task, fed by
//! hook reports, terminal signals and the task's screen, and a tick that
//! decides each task's activity and saves and announces what changed.

use std::sync::Arc;
use std::time::Duration;

use super::Supervisor;
use crate::attention::hooks::{HookReport, wiring};
use crate::attention::{ScreenRules, Tracker};
use crate::clock::now_ms;
use crate::protocol::task::TaskId;
use crate::protocol::{DispatchRequest, SOCKET_ENV};
use crate::term::TermSignal;

/// How often activity is decided: quick enough that a screen rule shows
/// within a quarter second, and a tick costs nothing for quiet tasks.
pub const TICK: Duration = Duration::from_millis(250);

impl Supervisor {
    /// Wires the agent's hooks into `request` when it has them and its host
    /// can run flightdeck's hook command.
    pub(super) fn wire_hooks(&mut self, id: TaskId, request: &mut DispatchRequest) {
        let Some(kind) = self
            .config
            .settings
            .catalog
            .get(&request.spec.agent)
            .and_then(|agent| agent.hooks)
        else {
            return;
        };
        let Some(program) = self
            .hosts
            .get(&request.spec.host)
            .ok()
            .and_then(|host| host.hook_program())
        else {
            return;
        };
        if request.spec.argv.is_empty() {
            return;
        }
        let settings = self.config.paths.hook_settings(id);
        let (args, file) = wiring(kind, &program, &settings.to_string_lossy());
        if let Some(contents) = file
            && let Err(e) = write_private(&settings, &contents)
        {
            // The task runs without hooks; its screen still tells.
            tracing::warn!(task = id, "cannot write {}: {e}", settings.display());
            return;
        }
        request.spec.argv.splice(1..1, args);
        request.env.retain(|(k, _)| k != SOCKET_ENV);
        let socket = self.config.paths.socket().to_string_lossy().into_owned();
        request.env.push((SOCKET_ENV.into(), socket));
        tracing::debug!(task = id, ?kind, "hooks wired");
    }

    /// A report from the task's hook. One for a task that is not running
    /// (ended, or never was) is dropped: a late hook changes nothing.
    pub(super) fn on_hook(&mut self, id: TaskId, report: HookReport) {
        let live = self.records.get(&id).is_some_and(|r| r.state.is_live());
        if !live {
            tracing::debug!(
                task = id,
                "hook report for a task that is not running: dropped"
            );
            return;
        }
        let now = now_ms();
        self.tracker(id, now)
            .on_hook(report.state, report.reason, report.until_output, now);
        if !self.decide(id, now) {
            // The hook waits for a word back; the record is that word.
            self.announce(id);
        }
    }

    pub(super) fn on_signal(&mut self, id: TaskId, signal: TermSignal) {
        if !self.records.get(&id).is_some_and(|r| r.state.is_live()) {
            return;
        }
        let now = now_ms();
        let reason = match signal {
            TermSignal::Bell => "bell".to_string(),
            TermSignal::Notify(text) => format!("notification \"{text}\""),
        };
        self.tracker(id, now).on_signal(reason, now);
        self.decide(id, now);
    }

    /// Decides every live task's activity from what it printed since.
    pub(super) fn attention_tick(&mut self) {
        let now = now_ms();
        let live: Vec<TaskId> = self.live.keys().copied().collect();
        for id in live {
            if !self.records.get(&id).is_some_and(|r| r.state.is_live()) {
                continue;
            }
            let Some(screen) = self.screens.get(id) else {
                continue;
            };
            let rules = self.rules_for(id);
            let tracker = self.tracker(id, now);
            if let Some(at) = screen.printed_ms() {
                tracker.on_output(at);
            }
            if tracker.needs_screen() {
                let rows = screen.frame(0).text();
                tracker.on_screen(rules.classify(&rows));
            }
            self.decide(id, now);
        }
        // Trackers of tasks that ended go with them.
        let records = &self.records;
        self.trackers
            .retain(|id, _| records.get(id).is_some_and(|r| r.state.is_live()));
    }

    /// The task's tracker, made on first use (continuing from the record's
    /// activity after a restart).
    fn tracker(&mut self, id: TaskId, now: u64) -> &mut Tracker {
        let saved = self.records.get(&id).and_then(|r| r.activity.clone());
        self.trackers
            .entry(id)
            .or_insert_with(|| Tracker::resume(saved, now))
    }

    /// The compiled screen rules of the task's agent (cached per agent,
    /// dropped when the settings change).
    fn rules_for(&mut self, id: TaskId) -> Arc<ScreenRules> {
        let agent = self.records[&id].spec.agent.clone();
        let catalog = &self.config.settings.catalog;
        self.screen_rules
            .entry(agent)
            .or_insert_with_key(|agent| Arc::new(catalog.screen_rules(agent)))
            .clone()
    }

    /// Stores the tracker's verdict in the record; true when it changed
    /// (and was saved and announced).
    fn decide(&mut self, id: TaskId, now: u64) -> bool {
        let Some(activity) = self.trackers.get_mut(&id).and_then(|t| t.decide(now)) else {
            return false;
        };
        let activity = activity.clone();
        let Some(record) = self.records.get_mut(&id) else {
            return false;
        };
        tracing::debug!(task = id, "activity: {}", activity.describe(now));
        record.activity = Some(activity);
        self.changed(id);
        true
    }

    fn announce(&self, id: TaskId) {
        if let Some(record) = self.records.get(&id) {
            let _ = self
                .events
                .send(crate::protocol::Event::Task(Box::new(record.clone())));
        }
    }
}

/// Writes `contents` to `path` as a private file, replacing an older one.
fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        crate::private::create_dir(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    crate::private::create_new(path)?.write_all(contents.as_bytes())
}
