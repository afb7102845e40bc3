//! The supervisor's event loop: commands from the UI, messages from the
//! per-task threads and timers, all handled on one task so records have a
//! single owner.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

mod admin;
mod approvals;
mod attention;

mod restore;
mod workspace;

use super::SupervisorConfig;
use super::hosts::{DaemonPrompter, HostRegistry};
use super::pumps;
use super::screens::{Screens, TaskScreen};
use crate::clock::now_ms;
use crate::git::Worktree;
use crate::host::ExitInfo;
use crate::host::{PtyControl, PtyProcess, PtySize, StopSignal};
use crate::probe::HostProbe;
use crate::protocol::task::{TaskEvent, TaskId, TaskRecord, TaskState};
use crate::protocol::{Command, DispatchRequest, Event, Level, TASK_ID_ENV};
use restore::RecordSaver;

/// How long a task's end waits for its last output to be read.
const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// After SIGKILL, how long shutdown waits for processes to be reaped.
const SHUTDOWN_SLACK: Duration = Duration::from_secs(3);

/// Messages from task threads and timers back to the loop.
pub enum Internal {
    Spawned {
        id: TaskId,
        /// The worktree made for it, even when the agent then failed to start.
        worktree: Option<Worktree>,
        result: Result<PtyProcess, String>,
    },
    /// A git job on a task's workspace finished.
    Workspace(workspace::Done),
    Exited {
        id: TaskId,
        exit: ExitInfo,
    },
    OutputClosed {
        id: TaskId,
    },
    StopDeadline {
        id: TaskId,
    },
    ShutdownDeadline,
    Probed(HostProbe),
    /// Stop waiting for a task's output to drain.
    DrainDeadline {
        id: TaskId,
    },
    /// A permission request waited as long as it may.
    ApprovalDeadline {
        token: u64,
    },
    /// A bell or notification in the task's output.
    Signal {
        id: TaskId,
        signal: crate::term::TermSignal,
    },
}

impl From<pumps::PumpEvent> for Internal {
    fn from(event: pumps::PumpEvent) -> Self {
        match event {
            pumps::PumpEvent::Signal { id, signal } => Internal::Signal { id, signal },
            pumps::PumpEvent::OutputClosed { id } => Internal::OutputClosed { id },
            pumps::PumpEvent::Exited { id, exit } => Internal::Exited { id, exit },
        }
    }
}

/// A task whose process may still be around (its input lives in [`Screens`]).
struct Live {
    control: Arc<dyn PtyControl>,
}

pub struct Supervisor {
    config: SupervisorConfig,
    hosts: HostRegistry,
    prompter: Arc<DaemonPrompter>,
    /// The latest probe of each host (install tasks run with its PATH).
    probes: HashMap<String, HostProbe>,
    /// Install tasks, and the host to re-probe when each ends.
    installs: HashMap<TaskId, String>,
    screens: Screens,
    events: UnboundedSender<Event>,
    internal_tx: UnboundedSender<Internal>,
    internal_rx: UnboundedReceiver<Internal>,
    records: BTreeMap<TaskId, TaskRecord>,
    live: HashMap<TaskId, Live>,
    /// Tasks whose reader thread still drains output into log and screen.
    draining: HashSet<TaskId>,
    /// Exits waiting for their task's output to drain.
    exits: HashMap<TaskId, ExitInfo>,
    /// Tasks with a diff being computed.
    diffing: HashSet<TaskId>,
    /// What each live task is doing, by its attention sources.
    trackers: HashMap<TaskId, crate::attention::Tracker>,
    /// Compiled screen rules per agent.
    screen_rules: HashMap<String, Arc<crate::attention::ScreenRules>>,
    approvals: approvals::Approvals,
    next_id: TaskId,
    saver: RecordSaver,
    shutting_down: bool,
}

impl Supervisor {
    pub fn new(
        config: SupervisorConfig,
        hosts: HostRegistry,
        prompter: Arc<DaemonPrompter>,
        screens: Screens,
        events: UnboundedSender<Event>,
    ) -> Self {
        let (internal_tx, internal_rx) = unbounded_channel();
        let saver = RecordSaver::new(config.paths.tasks_file());
        Supervisor {
            config,
            hosts,
            prompter,
            probes: HashMap::new(),
            installs: HashMap::new(),
            screens,
            events,
            internal_tx,
            internal_rx,
            records: BTreeMap::new(),
            live: HashMap::new(),
            draining: HashSet::new(),
            exits: HashMap::new(),
            diffing: HashSet::new(),
            trackers: HashMap::new(),
            screen_rules: HashMap::new(),
            approvals: approvals::Approvals::default(),
            next_id: 1,
            saver,
            shutting_down: false,
        }
    }

    /// Every task record as of the latest change (for the server).
    pub fn tasks(&self) -> tokio::sync::watch::Receiver<Vec<TaskRecord>> {
        self.saver.watch()
    }

    pub async fn run(mut self, mut commands: UnboundedReceiver<super::Inbound>) {
        self.load();
        self.load_probes();
        self.saver.start(self.events.clone());
        self.recover_worktrees();
        self.hosts.configure(&self.config.settings.hosts.clone());
        let mut diff_tick = tokio::time::interval(workspace::DIFF_EVERY);
        let mut attention_tick = tokio::time::interval(attention::TICK);
        attention_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = attention_tick.tick() => self.attention_tick(),
                _ = diff_tick.tick() => {
                    self.refresh_diffs();
                    crate::memory::release_freed();
                }
                command = commands.recv() => match command {
                    Some(super::Inbound::Command(command)) => self.handle_command(command),
                    Some(super::Inbound::Snapshot) => self.send_snapshot(),
                    // The server went away without a shutdown: stop everything.
                    None => self.begin_shutdown(),
                },
                Some(message) = self.internal_rx.recv() => self.handle_internal(message),
            }
            if self.shutting_down && self.shutdown_complete() {
                break;
            }
        }
        self.finish_shutdown();
    }

    /// Everything a new client must know first: tasks, hosts, probes, open
    /// questions and permission requests, the settings. In the event
    /// stream's order, so what follows it is news to the client.
    fn send_snapshot(&self) {
        self.prompter.with_open(|prompts| {
            let _ = self.events.send(Event::Snapshot {
                tasks: self.records.values().cloned().collect(),
                probes: self.probes.values().cloned().collect(),
                hosts: self.hosts.list(),
                prompts,
                settings: Some(Box::new(self.config.settings.clone())),
                approvals: self.approvals.pending(),
            });
        });
    }

    fn handle_command(&mut self, command: Command) {
        match command {
            Command::Diff { id } => self.full_diff(id),
            Command::Apply {
                id,
                files,
                selection,
                strategy,
            } => self.apply(id, files, selection, strategy),
            Command::Discard { id, force } => self.discard(id, force),
            Command::Dispatch(request) => self.dispatch(request),
            Command::Stop { id } => self.stop(id),
            // The server types input through `SupervisorHandle::input`;
            // this is for a command queued by anyone else.
            Command::Input { id, bytes } => {
                self.screens.send_input(id, bytes);
            }
            Command::Resize { id, size } => self.resize(id, size),
            Command::Replay { id, size } => self.replay(id, size),
            Command::Probe { host } => self.probe(host),
            Command::Hook { id, report } => self.on_hook(id, report),
            Command::RequestApproval {
                token,
                task,
                request,
            } => self.request_approval(token, task, request),
            Command::Decide {
                task,
                token,
                decision,
            } => self.answer_approval(task, token, decision),
            Command::Approver { present } => self.approver(present),
            Command::Configure(settings) => {
                self.screen_rules.clear();
                self.hosts.configure(&settings.hosts);
                self.config.settings = settings;
                let _ = self
                    .events
                    .send(Event::Settings(Box::new(self.config.settings.clone())));
            }
            Command::Answer { id, answer } => self.prompter.answer(id, answer),
            Command::Install { host, agent } => self.install(host, agent),
            Command::Connect { host } => match self.hosts.ssh_host(&host) {
                Ok(ssh) => {
                    let events = self.events.clone();
                    tokio::spawn(async move {
                        if let Err(e) = ssh.connect().await {
                            let message = e.to_string();
                            let _ = events.send(Event::Notice {
                                level: Level::Error,
                                message,
                            });
                        }
                    });
                }
                Err(e) => self.notice(Level::Error, e),
            },
            Command::Shutdown => self.begin_shutdown(),
        }
    }

    fn handle_internal(&mut self, message: Internal) {
        match message {
            Internal::Spawned {
                id,
                worktree,
                result,
            } => {
                if let (Some(worktree), Some(record)) = (worktree, self.records.get_mut(&id)) {
                    record.cwd = worktree.path.clone();
                    record.workspace.worktree = Some(worktree);
                }
                self.on_spawned(id, result)
            }
            Internal::Workspace(done) => self.workspace_done(done),
            Internal::Probed(probe) => {
                self.probes.insert(probe.host.clone(), probe.clone());
                self.save_probes();
                let _ = self.events.send(Event::Probe(probe));
            }
            Internal::Exited { id, exit } => {
                if self.draining.contains(&id) {
                    // Report the end once the last output is in the log and
                    // on screen (or after a moment, if something else keeps
                    // the PTY open).
                    self.exits.insert(id, exit);
                    let tx = self.internal_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(DRAIN_WAIT).await;
                        let _ = tx.send(Internal::DrainDeadline { id });
                    });
                } else {
                    self.ended(id, exit);
                }
            }
            Internal::OutputClosed { id } => {
                self.draining.remove(&id);
                if let Some(exit) = self.exits.remove(&id) {
                    self.ended(id, exit);
                }
            }
            Internal::DrainDeadline { id } => {
                if let Some(exit) = self.exits.remove(&id) {
                    self.ended(id, exit);
                }
            }
            Internal::Signal { id, signal } => self.on_signal(id, signal),
            Internal::ApprovalDeadline { token } => self.approval_deadline(token),
            Internal::StopDeadline { id } => {
                if let Some(live) = self.live.get(&id) {
                    if live.control.group_alive() {
                        tracing::info!(task = id, "grace period over, sending SIGKILL");
                        let _ = live.control.signal_group(StopSignal::Kill);
                    }
                    let ended = self.records.get(&id).is_some_and(|r| !r.state.is_live());
                    if ended {
                        self.live.remove(&id);
                    }
                }
            }
            Internal::ShutdownDeadline => {
                for (id, record) in self.records.iter_mut() {
                    if record.apply(TaskEvent::Orphaned, now_ms()) {
                        tracing::warn!(task = id, "did not end during shutdown; marked lost");
                    }
                }
                for id in self.live.keys() {
                    self.screens.set_input(*id, None);
                }
                self.live.clear();
                self.draining.clear();
            }
        }
    }

    /// The task's process ended and its output is drained.
    fn ended(&mut self, id: TaskId, exit: ExitInfo) {
        // Activity is a live task's: its end state says the rest.
        if let Some(record) = self.records.get_mut(&id) {
            record.activity = None;
        }
        self.trackers.remove(&id);
        self.approvals_end(id);
        self.update(id, TaskEvent::Exited(exit));
        // Saved before the keeper's exit file goes: that file is how the
        // end is known if this daemon dies now.
        let host = (self.records.get(&id))
            .and_then(|record| self.hosts.get(&record.spec.host.clone()).ok());
        if let Some(host) = host.filter(|host| host.holds_end(id)) {
            match self
                .saver
                .save_now(self.records.values().cloned().collect())
            {
                Ok(()) => host.forget_end(id),
                Err(e) => self.notice(Level::Error, format!("cannot save task state: {e}")),
            }
        }
        self.diff_stat(id);
        if let Some(host) = self.installs.remove(&id) {
            self.probe(Some(host));
        }
        let stopping_deadline_pending = self
            .records
            .get(&id)
            .is_some_and(|r| matches!(r.state, TaskState::Stopped { .. }));
        // Its input closes (ending the writer thread); the control stays
        // until the stop deadline, to reap the rest of the process group if
        // it outlives the leader.
        self.screens.set_input(id, None);
        if !stopping_deadline_pending {
            self.live.remove(&id);
        }
    }

    fn dispatch(&mut self, mut request: DispatchRequest) {
        // A retry of a request that already made a task gets that task; if
        // a crash stopped it before anything ran, it starts now, as itself.
        let earlier = request.token.and_then(|token| {
            let record = self.records.values().find(|r| r.request == Some(token))?;
            Some((token, record.id, record.state.is_interrupted_start()))
        });
        let id = match earlier {
            Some((_, id, true)) => id,
            Some((token, id, false)) => {
                let _ = self.events.send(Event::Dispatched { token, id });
                let record = self.records[&id].clone();
                let _ = self.events.send(Event::Task(Box::new(record)));
                return;
            }
            None => {
                self.next_id += 1;
                self.next_id - 1
            }
        };
        // Which task a process belongs to, for the agent's hooks and for
        // telling our processes from strangers after a crash.
        request.env.retain(|(k, _)| k != TASK_ID_ENV);
        request.env.push((TASK_ID_ENV.into(), id.to_string()));
        self.wire_hooks(id, &mut request);
        let log_path = self.config.paths.task_log(id);
        let record = request.record(id, log_path.clone(), now_ms());
        // The screen exists before anyone hears of the task.
        let depth = self.config.settings.scrollback_lines;
        let screen = TaskScreen::from_log(&log_path, Some(0), request.size, depth);
        self.screens.insert(id, screen);
        self.records.insert(id, record);
        self.changed(id);
        // Saved before anyone hears of it: a task must not be forgotten if
        // this daemon dies a moment later (its keeper would run on unseen).
        if let Err(e) = self
            .saver
            .save_now(self.records.values().cloned().collect())
        {
            self.notice(Level::Error, format!("cannot save task state: {e}"));
        }
        crate::fault::crash_point("dispatch.after-save");
        if let Some(token) = request.token {
            let _ = self.events.send(Event::Dispatched { token, id });
        }
        if self.shutting_down {
            self.fail(id, "flightdeck is shutting down".into());
            return;
        }
        let host = match self.hosts.get(&request.spec.host) {
            Ok(host) => host,
            Err(e) => return self.fail(id, e),
        };
        let record = self.records[&id].clone();
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let (worktree, result) =
                workspace::prepare_and_spawn(host.as_ref(), record, request).await;
            let _ = tx.send(Internal::Spawned {
                id,
                worktree,
                result,
            });
        });
    }

    fn on_spawned(&mut self, id: TaskId, result: Result<PtyProcess, String>) {
        let process = match result {
            Ok(process) => process,
            Err(reason) => return self.fail(id, reason),
        };
        let Some(record) = self.records.get(&id) else {
            return;
        };
        let log = match process.logs_itself {
            true => None,
            false => match open_log(&record.log_path) {
                Ok(log) => Some(log),
                Err(e) => {
                    let _ = process.control.signal_group(StopSignal::Kill);
                    let reason = format!("cannot write log {}: {e}", record.log_path.display());
                    return self.fail(id, reason);
                }
            },
        };
        let pid = process.pid;
        // A viewer may have sized the task's screen while it started (a
        // dashboard showing a task the CLI dispatched): the PTY follows.
        // (The same size again changes nothing: no SIGWINCH.)
        let size = self.screens.get(id).map(|screen| screen.lock().size());
        if let Some(size) = size
            && let Err(e) = process.control.resize(size)
        {
            tracing::warn!(task = id, "resize failed: {e}");
        }
        self.run_pumps(id, process, log);
        let record = self.records.get_mut(&id).expect("checked above");
        if record.state == TaskState::Stopping {
            // Stopped while it was starting: finish the stop now.
            record.pid = pid;
            record.started_ms = Some(now_ms());
            self.changed(id);
            self.signal_stop(id);
        } else {
            self.update(id, TaskEvent::Spawned { pid });
        }
    }

    /// The threads that move a task's output, input and exit.
    fn run_pumps(&mut self, id: TaskId, process: PtyProcess, log: Option<std::fs::File>) {
        let screen = self.screens.get(id).expect("a screen is made first");
        let input = pumps::spawn_writer(id, process.writer);
        self.screens.set_input(id, Some(input.clone()));
        let tx = self.internal_tx.clone();
        let report: pumps::Report = Arc::new(move |event| {
            let _ = tx.send(Internal::from(event));
        });
        pumps::spawn_reader(id, process.reader, screen, log, input, report.clone());
        pumps::spawn_waiter(id, process.waiter, report);
        self.draining.insert(id);
        self.live.insert(
            id,
            Live {
                control: process.control,
            },
        );
    }

    fn stop(&mut self, id: TaskId) {
        if self.update(id, TaskEvent::StopRequested) {
            if self.live.contains_key(&id) {
                self.signal_stop(id);
            }
            return;
        }
        match self.stray_agent(id) {
            Some(group) if self.update(id, TaskEvent::StrayFound) => self.stop_stray(id, group),
            // Nothing to stop: the record as it is is the answer.
            _ => {
                if let Some(record) = self.records.get(&id) {
                    let _ = self.events.send(Event::Task(Box::new(record.clone())));
                }
            }
        }
    }

    fn signal_stop(&mut self, id: TaskId) {
        if let Some(live) = self.live.get(&id)
            && let Err(e) = live.control.signal_group(StopSignal::Term)
        {
            tracing::warn!(task = id, "SIGTERM failed: {e}");
        }
        let tx = self.internal_tx.clone();
        let grace = self.config.settings.stop_grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let _ = tx.send(Internal::StopDeadline { id });
        });
    }

    fn resize(&mut self, id: TaskId, size: PtySize) {
        if let Some(screen) = self.screens.get(id) {
            {
                let mut emulator = screen.lock();
                if emulator.size() == size.clamped() {
                    return;
                }
                emulator.resize(size);
            }
            // Watchers need the reflowed screen now: a quiet agent may never
            // print (and so never redraw) again.
            screen.changed(id);
        }
        if let Some(live) = self.live.get(&id)
            && let Err(e) = live.control.resize(size)
        {
            tracing::warn!(task = id, "resize failed: {e}");
        }
    }

    /// Applies `event` to task `id`, announcing and saving the change.
    fn update(&mut self, id: TaskId, event: TaskEvent) -> bool {
        let applied = self
            .records
            .get_mut(&id)
            .is_some_and(|r| r.apply(event, now_ms()));
        if applied {
            self.changed(id);
        }
        applied
    }

    fn fail(&mut self, id: TaskId, reason: String) {
        tracing::warn!(task = id, "failed: {reason}");
        if let Some(screen) = self.screens.get(id) {
            screen
                .lock()
                .feed(format!("\x1b[1;31mflightdeck: {reason}\x1b[0m\r\n").as_bytes());
            screen.changed(id);
        }
        if let Some(record) = self.records.get(&id) {
            // The log tells the same story as the pane.
            if let Ok(mut log) = open_log(&record.log_path) {
                let _ = writeln!(log, "flightdeck: {reason}");
            }
        }
        self.update(id, TaskEvent::SpawnFailed(reason));
    }

    fn changed(&mut self, id: TaskId) {
        if let Some(record) = self.records.get(&id) {
            let _ = self.events.send(Event::Task(Box::new(record.clone())));
        }
        self.saver.update(self.records.values().cloned().collect());
    }

    fn notice(&self, level: Level, message: String) {
        let _ = self.events.send(Event::Notice { level, message });
    }
}

fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    crate::private::open_append(path)
}
