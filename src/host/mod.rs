//! The one interface to a machine that runs agents: the local host now, SSH
//! hosts later. Probe, tasks and (later) git are written once against it.

pub mod local;
pub mod shim;
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
    /// On this machine: hold the PTY in a keeper process of its own, so the
    /// task outlives the daemon (see [`shim`]). Ignored by SSH hosts.
    pub keeper: Option<Keeper>,
}

/// Where a task's keeper process listens and what it logs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keeper {
    pub socket: PathBuf,
    pub log: PathBuf,
    /// Opaque to the keeper: handed back to every daemon that attaches, so
    /// a daemon that lost its state file can still tell what the task was.
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
}
