//! The contract between the daemon and its clients (dashboard, CLI, agent
//! hooks): every message that crosses the socket, the records they carry,
//! and the frame codec. Owned by neither side: it depends on the layers
//! below (git, host, probe, catalog, attention) and on nothing that uses it.

pub mod host;
pub mod task;
pub mod wire;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::attention::approval::{ApprovalRequest, Decision, PendingApproval};
use crate::catalog::Catalog;
use crate::config::HostConfig;
use crate::git::{ApplyOutcome, FileDiff, LossReport, Selection, Strategy};
use crate::host::PtySize;
use crate::probe::HostProbe;
pub use host::{Answer, HostInfo, HostState, Question, Secret};
use task::{TaskId, TaskRecord, TaskSpec};

/// Set in a task's environment: the daemon socket its hooks report to.
pub const SOCKET_ENV: &str = "FLIGHTDECK_SOCKET";
pub use crate::host::TASK_ID_ENV;

/// Everything needed to start a task; the agent's argv is already resolved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DispatchRequest {
    /// Chosen by the requester; the [`Event::Dispatched`] answer carries it
    /// back with the new task's id.
    pub token: Option<u64>,
    #[serde(flatten)]
    pub spec: TaskSpec,
    /// The project's directory; with a worktree the task runs in its own
    /// checkout of it instead.
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub size: PtySize,
    #[serde(default)]
    pub workspace: WorkspaceChoice,
    /// A shell command run in the workspace before the agent starts (the
    /// project's `setup`), its output in the task's pane.
    #[serde(default)]
    pub setup: Option<String>,
}

impl DispatchRequest {
    /// The record of task `id`, made from this request, as it starts.
    pub fn record(&self, id: TaskId, log_path: PathBuf, now: u64) -> TaskRecord {
        let in_worktree = matches!(self.workspace, WorkspaceChoice::Worktree { .. });
        TaskRecord {
            id,
            spec: self.spec.clone(),
            cwd: self.cwd.clone(),
            state: task::TaskState::Starting,
            pid: None,
            created_ms: now,
            started_ms: None,
            ended_ms: None,
            log_path,
            workspace: task::Workspace {
                repo: in_worktree.then(|| self.cwd.clone()),
                ..Default::default()
            },
            request: self.token,
            activity: None,
        }
    }
}

/// Where a dispatched task works.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkspaceChoice {
    /// In the project directory itself (for non-git projects, or by choice).
    #[default]
    InPlace,
    /// In a new git worktree on a new branch from `base` (HEAD when `None`).
    Worktree { base: Option<String> },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Command {
    Dispatch(DispatchRequest),
    /// SIGTERM to the task's process group, SIGKILL after the grace period.
    Stop {
        id: TaskId,
    },
    /// Bytes typed into the task's PTY.
    Input {
        id: TaskId,
        bytes: Vec<u8>,
    },
    Resize {
        id: TaskId,
        size: PtySize,
    },
    /// A person's answer to [`Event::Prompt`].
    Answer {
        id: u64,
        answer: Answer,
    },
    /// Connect to an SSH host now (asking again what was refused before).
    Connect {
        host: String,
    },
    /// Install an agent on a host with its catalog recipe, in a task pane.
    Install {
        host: String,
        agent: String,
    },
    /// Probe which agents a host has (all hosts when `None`); answered by
    /// [`Event::Probe`].
    Probe {
        host: Option<String>,
    },
    /// New settings from the user's config.
    Configure(Settings),
    /// Compute the task's full diff; answered by [`Event::Diff`].
    Diff {
        id: TaskId,
    },
    /// Apply the accepted part of a reviewed diff to the project.
    Apply {
        id: TaskId,
        files: Vec<FileDiff>,
        selection: Selection,
        strategy: Strategy,
    },
    /// Remove an ended task, its worktree and branch. Without `force`, a
    /// task with work that would be lost is answered with
    /// [`Event::DiscardCheck`] instead.
    Discard {
        id: TaskId,
        force: bool,
    },
    /// Rebuild the screen of a task that has ended from the tail of its log.
    Replay {
        id: TaskId,
        size: PtySize,
    },
    /// What a task's agent hook reported (`flightdeck hook`); answered
    /// with the task's record.
    Hook {
        id: TaskId,
        report: crate::attention::hooks::HookReport,
    },
    /// A task's agent asks permission and its hook waits for the answer:
    /// announced as [`Event::Approval`], closed by [`Event::ApprovalClosed`].
    RequestApproval {
        token: u64,
        task: TaskId,
        request: ApprovalRequest,
    },
    /// A person's answer to a task's permission request (`token`: which;
    /// `None`: the task's oldest).
    Decide {
        task: TaskId,
        token: Option<u64>,
        decision: Decision,
    },
    /// A client that can answer permission requests (a dashboard) is there,
    /// or gone. The server says "gone" for a client that disappears.
    Approver {
        present: bool,
    },
    /// Stop every live task, save state, then answer [`Event::ShutDown`].
    Shutdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    /// Every known task, host, probe and open question; the first event a
    /// client gets.
    Snapshot {
        tasks: Vec<TaskRecord>,
        probes: Vec<HostProbe>,
        #[serde(default)]
        hosts: Vec<HostInfo>,
        #[serde(default)]
        prompts: Vec<(u64, Question)>,
        /// The daemon's settings (projects, catalog) as it runs with them.
        #[serde(default)]
        settings: Option<Box<Settings>>,
        /// Permission requests waiting for an answer.
        #[serde(default)]
        approvals: Vec<PendingApproval>,
    },
    /// The daemon runs with new settings.
    Settings(Box<Settings>),
    /// The hosts one can pick, after the config changed.
    Hosts(Vec<HostInfo>),
    HostState {
        name: String,
        state: HostState,
    },
    /// A question only a person can answer; answer with [`Command::Answer`].
    Prompt {
        id: u64,
        question: Question,
    },
    /// The question was answered (or timed out).
    PromptClosed {
        id: u64,
    },
    /// A task's agent waits for permission; answer with [`Command::Decide`].
    Approval(PendingApproval),
    ApprovalClosed {
        token: u64,
        task: TaskId,
        decision: Decision,
    },
    /// A task was created or its record changed.
    Task(Box<TaskRecord>),
    /// The answer to a dispatch request that carried a token.
    Dispatched {
        token: u64,
        id: TaskId,
    },
    Probe(HostProbe),
    Diff {
        id: TaskId,
        result: Result<Vec<FileDiff>, String>,
    },
    Applied {
        id: TaskId,
        result: Result<ApplyOutcome, String>,
    },
    /// Discarding would lose this; ask before sending `Discard` with `force`.
    DiscardCheck {
        id: TaskId,
        loss: LossReport,
    },
    /// The task was discarded and is gone.
    Removed {
        id: TaskId,
    },
    Notice {
        level: Level,
        message: String,
    },
    /// Shutdown finished; every task is stopped and state saved.
    ShutDown,
}

/// What the supervisor takes from the user's config.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    pub stop_grace: Duration,
    pub scrollback_lines: usize,
    pub probe_timeout: Duration,
    /// How long a permission request waits for a person before the agent
    /// asks in its own UI.
    #[serde(default = "default_approval_timeout")]
    pub approval_timeout: Duration,
    pub catalog: Catalog,
    /// SSH hosts from `[[host]]`.
    #[serde(default)]
    pub hosts: Vec<HostConfig>,
    /// The projects, for clients that have no config of their own (a
    /// dashboard attached to this daemon from another machine).
    #[serde(default)]
    pub projects: Vec<crate::config::Project>,
}

impl Settings {
    pub fn from_config(config: &crate::config::Config) -> Self {
        Settings {
            stop_grace: config.settings.stop_grace,
            scrollback_lines: config.settings.scrollback_lines,
            probe_timeout: config.settings.probe_timeout,
            approval_timeout: config.settings.approval_timeout,
            catalog: config.catalog.clone(),
            hosts: config.hosts.clone(),
            projects: config.projects.clone(),
        }
    }
}

fn default_approval_timeout() -> Duration {
    crate::config::Settings::default().approval_timeout
}
