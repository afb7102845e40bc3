//! The one door to a place that runs agents: this machine ([`LocalHost`]),
//! SSH hosts, and later containers and sandboxes. Probe, tasks and git are
//! written once against [`Host`]; what differs between places (how a task
//! outlives the daemon, where worktrees live) is a question the trait asks.

pub mod keeper;
pub mod local;
pub mod ssh;

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

/// How a process ended, as the host reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExitInfo {
    pub code: Option<i32>,
    /// Signal name without the SIG prefix ("TERM", "KILL").
    pub signal: Option<String>,
    /// Why neither is known, e.g. "connection to build lost: …".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub use local::LocalHost;

/// Set in every task's environment to the task's id: how its hooks name it,
/// and how a host tells its processes from others once nothing holds them.
pub const TASK_ID_ENV: &str = "FLIGHTDECK_TASK_ID";

/// A command to run to completion, collecting its output.
#[derive(Debug, Clone, Default)]
pub struct RunSpec {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, String)>,
    pub stdin: Option<Vec<u8>>,
    pub timeout: Duration,
}

impl RunSpec {
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>, timeout: Duration) -> Self {
        RunSpec {
            argv: argv.into_iter().map(Into::into).collect(),
            timeout,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunOutput {
    pub exit: ExitInfo,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        self.exit.code == Some(0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("cannot start {program}: {reason}")]
    Spawn { program: String, reason: String },
    #[error("{0}")]
    Io(#[from] io::Error),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PtySize {
    pub rows: u16,
    pub cols: u16,
}

impl PtySize {
    /// PTYs and emulators never go below this; a zero-sized terminal breaks programs.
    pub fn clamped(self) -> Self {
        PtySize {
            rows: self.rows.max(2),
            cols: self.cols.max(10),
        }
    }
}

/// A program to start in a pseudo-terminal.
#[derive(Debug, Clone)]
pub struct PtySpec {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub size: PtySize,
    /// The task this PTY is for, for a host that can keep it running beyond
    /// this daemon (this machine does, with a [`keeper`] process); `None`
    /// for a PTY that may end with the daemon.
    pub keep: Option<Keep>,
}

/// A task a host is asked to keep beyond the daemon, and find again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keep {
    pub task: u64,
    /// Where the host logs every byte the agent prints.
    pub log: PathBuf,
    /// Opaque to the host: handed back by [`Host::reattach`], so a daemon
    /// that lost its state file can still tell what the task was.
    pub meta: String,
}

/// What a host knows of a task it was asked to keep, after a daemon restart.
pub enum Reattached {
    /// Still there (or ended since): drive it from here on.
    Running { process: PtyProcess, kept: Kept },
    /// It ended while no daemon was there; this is how.
    Ended(ExitInfo),
    /// Nothing kept it.
    Gone,
}

/// What the host kept for a task.
#[derive(Debug, Clone)]
pub struct Kept {
    pub pid: u32,
    /// Bytes in the task's log when the new stream starts: the screen is
    /// the log up to here, then the stream.
    pub log_len: u64,
    /// The agent already ended (while no daemon was attached).
    pub exit: Option<ExitInfo>,
    /// [`Keep::meta`], as given at spawn.
    pub meta: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    Term,
    Kill,
}

/// Controls a running PTY process from any thread.
pub trait PtyControl: Send + Sync {
    fn resize(&self, size: PtySize) -> io::Result<()>;
    /// Signals the process's whole process group.
    fn signal_group(&self, signal: StopSignal) -> io::Result<()>;
    /// True while any process of the group is alive.
    fn group_alive(&self) -> bool;
}

/// A started PTY process, in parts that can go to different threads: the
/// reader blocks, the writer may block, the waiter blocks until exit.
pub struct PtyProcess {
    pub pid: Option<u32>,
    pub reader: Box<dyn Read + Send>,
    pub writer: Box<dyn Write + Send>,
    pub control: Arc<dyn PtyControl>,
    pub waiter: Box<dyn FnOnce() -> ExitInfo + Send>,
    /// The output is already logged where it starts (a keeper process).
    pub logs_itself: bool,
}

#[async_trait]
pub trait Host: Send + Sync {
    /// "local" or the SSH host's alias.
    fn name(&self) -> &str;
    async fn run(&self, spec: RunSpec) -> Result<RunOutput, HostError>;
    async fn spawn_pty(&self, spec: PtySpec) -> Result<PtyProcess, HostError>;
    /// The flightdeck program a task's agent hooks run to report to this
    /// daemon, where they can reach its socket; `None` elsewhere (the
    /// screen and terminal signals still tell there).
    fn hook_program(&self) -> Option<String> {
        None
    }
    /// Where this host keeps task worktrees (one directory per project
    /// below it).
    async fn worktrees_dir(&self) -> Result<PathBuf, HostError>;
    /// Finds task `task`, spawned with a [`Keep`] by an earlier daemon.
    fn reattach(&self, task: u64) -> Reattached {
        let _ = task;
        Reattached::Gone
    }
    /// The tasks this host keeps now, whether this daemon knows them or not.
    fn kept_tasks(&self) -> Vec<u64> {
        Vec::new()
    }
    /// Whether the host holds word of how task `task` ended, that it keeps
    /// until [`Host::forget_end`] (after the daemon saved that end).
    fn holds_end(&self, task: u64) -> bool {
        let _ = task;
        false
    }
    fn forget_end(&self, task: u64) {
        let _ = task;
    }
    /// A process of task `task` that outlived what kept it (`pid` as last
    /// known), if it is still that task's: a control to stop it.
    fn stray(&self, task: u64, pid: u32) -> Option<Arc<dyn PtyControl>> {
        let _ = (task, pid);
        None
    }
}
