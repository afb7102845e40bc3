//! The supervisor's event loop: commands from the UI, messages from the
//! per-task threads and timers, all handled on one task so records have a
//! single owner.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::watch;

mod workspace;

use super::history::{LIVE_HISTORY, LogHistory, read_tail, read_tail_upto};
use super::hosts::{DaemonPrompter, HostRegistry};
use super::pumps;
use super::screens::{Screens, TaskScreen};
use super::task::{ExitInfo, TaskEvent, TaskId, TaskRecord, TaskState, Workspace, now_ms};
use super::{Command, DispatchRequest, Event, Level, SupervisorConfig, WorkspaceChoice};
use crate::git::Worktree;
use crate::host::local::LOCAL;
use crate::host::{Keeper, PtyControl, PtyProcess, PtySize, StopSignal};
use crate::probe::HostProbe;
use crate::term::new_emulator;
use crate::{probe, store};

/// How much of a log is replayed to rebuild the screen of an ended task.
const REPLAY_BYTES: u64 = 512 * 1024;
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
    next_id: TaskId,
    saver: watch::Sender<Vec<TaskRecord>>,
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
        let (saver, _) = watch::channel(Vec::new());
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
            next_id: 1,
            saver,
            shutting_down: false,
        }
    }

    pub async fn run(mut self, mut commands: UnboundedReceiver<Command>) {
        self.load();
        self.start_saver();
        self.recover_worktrees();
        self.hosts.configure(&self.config.settings.hosts.clone());
        let _ = self.events.send(Event::Snapshot {
            tasks: self.records.values().cloned().collect(),
            probes: Vec::new(),
            hosts: self.hosts.list(),
            prompts: Vec::new(),
            settings: Some(Box::new(self.config.settings.clone())),
        });
        let mut diff_tick = tokio::time::interval(workspace::DIFF_EVERY);
        loop {
            tokio::select! {
                _ = diff_tick.tick() => self.refresh_diffs(),
                command = commands.recv() => match command {
                    Some(command) => self.handle_command(command),
                    // The UI went away without a shutdown: stop everything.
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

    fn load(&mut self) {
        let path = self.config.paths.tasks_file();
        match store::load_json::<Vec<TaskRecord>>(&path) {
            Ok(records) => {
                let now = now_ms();
                for record in records.unwrap_or_default() {
                    self.next_id = self.next_id.max(record.id + 1);
                    let (id, live) = (record.id, record.state.is_live());
                    self.records.insert(id, record);
                    if live {
                        self.readopt(id, now);
                    }
                }
            }
            Err(e) => {
                // Keep the unreadable file for the user instead of overwriting it.
                let backup = path.with_extension("json.corrupt");
                let _ = std::fs::rename(&path, &backup);
                self.notice(
                    Level::Error,
                    format!("{e}; moved aside to {}", backup.display()),
                );
            }
        }
    }

    /// A task that was live when the last daemon ended: attach to its
    /// keeper if it still runs, take its exit status if it ended meanwhile,
    /// else it is honestly lost.
    fn readopt(&mut self, id: TaskId, now: u64) {
        let socket = self.keeper_socket(id);
        let local = self.records[&id].host == LOCAL;
        if local && let Ok((process, hello)) = crate::host::shim::attach(&socket) {
            let record = &self.records[&id];
            let depth = self.config.settings.scrollback_lines;
            // The screen as of `log_len`, then the keeper's stream from there.
            let mut emulator = new_emulator(
                PtySize {
                    rows: 40,
                    cols: 120,
                },
                LIVE_HISTORY.min(depth),
            );
            if let Ok(bytes) = read_tail_upto(&record.log_path, hello.log_len, REPLAY_BYTES) {
                emulator.feed(&bytes);
            }
            let screen =
                TaskScreen::with_log(emulator, LogHistory::new(record.log_path.clone(), depth));
            self.screens.insert(id, screen);
            self.run_pumps(id, process, None);
            let record = self.records.get_mut(&id).expect("inserted");
            record.pid = Some(hello.pid);
            if record.state == TaskState::Starting {
                record.apply(
                    TaskEvent::Spawned {
                        pid: Some(hello.pid),
                    },
                    now,
                );
            }
            if let Some(exit) = hello.exit {
                // It ended while no daemon was there: say so from the start.
                record.apply(TaskEvent::Exited(exit), now);
                return;
            }
            if record.state == TaskState::Stopping {
                self.signal_stop(id);
            }
            tracing::info!(task = id, "re-adopted (pid {})", hello.pid);
            return;
        }
        let exit = std::fs::read(crate::host::shim::exit_file(&socket))
            .ok()
            .and_then(|json| serde_json::from_slice::<ExitInfo>(&json).ok());
        let record = self.records.get_mut(&id).expect("inserted");
        match exit {
            // It ended while no daemon was there; its keeper left word.
            Some(exit) => {
                record.apply(TaskEvent::Spawned { pid: record.pid }, now);
                record.apply(TaskEvent::Exited(exit), now);
                let _ = std::fs::remove_file(crate::host::shim::exit_file(&socket));
            }
            None => {
                record.apply(TaskEvent::Orphaned, now);
            }
        }
    }

    fn start_saver(&mut self) {
        let (tx, mut rx) = watch::channel(self.records.values().cloned().collect::<Vec<_>>());
        self.saver = tx;
        let path = self.config.paths.tasks_file();
        let events = self.events.clone();
        tokio::spawn(async move {
            loop {
                let records = rx.borrow_and_update().clone();
                let path = path.clone();
                let saved = tokio::task::spawn_blocking(move || store::save_json(&path, &records))
                    .await
                    .map_err(std::io::Error::other)
                    .and_then(|r| r);
                if let Err(e) = saved {
                    let _ = events.send(Event::Notice {
                        level: Level::Error,
                        message: format!("cannot save task state: {e}"),
                    });
                }
                if rx.changed().await.is_err() {
                    break;
                }
            }
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
            Command::Input { id, bytes } => {
                self.screens.send_input(id, bytes);
            }
            Command::Resize { id, size } => self.resize(id, size),
            Command::Replay { id, size } => self.replay(id, size),
            Command::Probe { host } => self.probe(host),
            Command::Configure(settings) => {
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
        self.update(id, TaskEvent::Exited(exit));
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

    fn dispatch(&mut self, request: DispatchRequest) {
        let id = self.next_id;
        self.next_id += 1;
        if let Some(token) = request.token {
            let _ = self.events.send(Event::Dispatched { token, id });
        }
        let log_path = self.config.paths.logs_dir().join(format!("task-{id}.log"));
        let in_worktree = matches!(request.workspace, WorkspaceChoice::Worktree { .. });
        let record = TaskRecord {
            id,
            project: request.project.clone(),
            agent: request.agent.clone(),
            host: request.host.clone(),
            mode: request.mode,
            prompt: request.prompt.clone(),
            argv: request.argv.clone(),
            cwd: request.cwd.clone(),
            state: TaskState::Starting,
            pid: None,
            created_ms: now_ms(),
            started_ms: None,
            ended_ms: None,
            log_path: log_path.clone(),
            workspace: Workspace {
                repo: in_worktree.then(|| request.cwd.clone()),
                ..Workspace::default()
            },
        };
        // The screen exists before anyone hears of the task.
        let depth = self.config.settings.scrollback_lines;
        let screen = TaskScreen::with_log(
            new_emulator(request.size, LIVE_HISTORY.min(depth)),
            LogHistory::new(log_path.clone(), depth),
        );
        self.screens.insert(id, screen);
        self.records.insert(id, record);
        self.changed(id);
        if self.shutting_down {
            self.fail(id, "flightdeck is shutting down".into());
            return;
        }
        let host = match self.hosts.get(&request.host) {
            Ok(host) => host,
            Err(e) => return self.fail(id, e),
        };
        let worktree_root = self.worktree_root(&request.project);
        // On this machine a keeper process holds the PTY (and logs), so the
        // task outlives this daemon.
        let keeper = (request.host == LOCAL).then(|| Keeper {
            socket: self.keeper_socket(id),
            log: self.records[&id].log_path.clone(),
        });
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let (worktree, result) =
                workspace::prepare_and_spawn(host.as_ref(), id, request, worktree_root, keeper)
                    .await;
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
        pumps::spawn_reader(
            id,
            process.reader,
            screen,
            log,
            input,
            self.internal_tx.clone(),
        );
        pumps::spawn_waiter(id, process.waiter, self.internal_tx.clone());
        self.draining.insert(id);
        self.live.insert(
            id,
            Live {
                control: process.control,
            },
        );
    }

    fn keeper_socket(&self, id: TaskId) -> std::path::PathBuf {
        self.config
            .paths
            .runtime_dir
            .join("tasks")
            .join(format!("{id}.sock"))
    }

    fn stop(&mut self, id: TaskId) {
        if !self.update(id, TaskEvent::StopRequested) {
            return;
        }
        if self.live.contains_key(&id) {
            self.signal_stop(id);
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

    fn replay(&mut self, id: TaskId, size: PtySize) {
        if self.screens.get(id).is_some() {
            return;
        }
        let Some(record) = self.records.get(&id) else {
            return;
        };
        let path = record.log_path.clone();
        let scrollback = self.config.settings.scrollback_lines;
        let screens = self.screens.clone();
        tokio::task::spawn_blocking(move || {
            let mut emulator = new_emulator(size, LIVE_HISTORY.min(scrollback));
            match read_tail(&path, REPLAY_BYTES) {
                Ok(bytes) => emulator.feed(&bytes),
                Err(e) => emulator.feed(
                    format!(
                        "\x1b[31mflightdeck: cannot read {}: {e}\x1b[0m\r\n",
                        path.display()
                    )
                    .as_bytes(),
                ),
            }
            screens.insert(
                id,
                TaskScreen::with_log(emulator, LogHistory::new(path, scrollback)),
            );
        });
    }

    /// Probes one host, or this machine and every configured host.
    fn probe(&mut self, only: Option<String>) {
        let names = match only {
            Some(name) => vec![name],
            None => std::iter::once(LOCAL.to_string())
                .chain(self.hosts.configured())
                .collect(),
        };
        for name in names {
            let host = match self.hosts.get(&name) {
                Ok(host) => host,
                Err(e) => {
                    self.notice(Level::Error, e);
                    continue;
                }
            };
            let catalog = self.config.settings.catalog.clone();
            let timeout = self.config.settings.probe_timeout;
            let tx = self.internal_tx.clone();
            tokio::spawn(async move {
                let probe = probe::probe_host(host.as_ref(), &catalog, timeout).await;
                let _ = tx.send(Internal::Probed(probe));
            });
        }
    }

    /// Installs `agent` on `host` with its catalog recipe, as a task whose
    /// pane shows the progress; the host is probed again when it ends.
    fn install(&mut self, host: String, agent: String) {
        let Some(spec) = self.config.settings.catalog.get(&agent).cloned() else {
            return self.notice(Level::Error, format!("unknown agent {agent:?}"));
        };
        let Some(script) = spec.install_script() else {
            let why = format!(
                "{} has no install recipe for its configured command `{}`; install it yourself",
                spec.name, spec.binary
            );
            return self.notice(Level::Error, why);
        };
        let env = self
            .probes
            .get(&host)
            .and_then(|p| p.path.clone())
            .map(|path| vec![("PATH".to_string(), path)])
            .unwrap_or_default();
        let id = self.next_id;
        self.installs.insert(id, host.clone());
        self.dispatch(DispatchRequest {
            token: None,
            project: "(install)".into(),
            agent,
            host,
            mode: crate::catalog::RunMode::Headless,
            prompt: String::new(),
            argv: vec!["sh".into(), "-c".into(), script],
            cwd: "/".into(),
            env,
            size: PtySize {
                rows: 24,
                cols: 100,
            },
            workspace: WorkspaceChoice::InPlace,
            setup: None,
        });
    }

    fn begin_shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        let live: Vec<TaskId> = self
            .records
            .values()
            .filter(|r| r.state.is_live())
            .map(|r| r.id)
            .collect();
        for id in live {
            self.stop(id);
        }
        let tx = self.internal_tx.clone();
        let cap = self.config.settings.stop_grace + SHUTDOWN_SLACK;
        tokio::spawn(async move {
            tokio::time::sleep(cap).await;
            let _ = tx.send(Internal::ShutdownDeadline);
        });
    }

    fn shutdown_complete(&self) -> bool {
        self.draining.is_empty() && !self.records.values().any(|r| r.state.is_live())
    }

    fn finish_shutdown(&mut self) {
        let records: Vec<TaskRecord> = self.records.values().cloned().collect();
        if let Err(e) = store::save_json(&self.config.paths.tasks_file(), &records) {
            tracing::error!("final save failed: {e}");
        }
        let _ = self.events.send(Event::ShutDown);
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
        self.saver
            .send_replace(self.records.values().cloned().collect());
    }

    fn notice(&self, level: Level, message: String) {
        let _ = self.events.send(Event::Notice { level, message });
    }
}

fn open_log(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}
