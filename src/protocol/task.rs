//! A task's record and its state machine.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::attention::Activity;
use crate::catalog::RunMode;
use crate::git::{DiffStat, Worktree};
use crate::host::ExitInfo;

pub type TaskId = u64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TaskState {
    Starting,
    Running,
    /// A stop was requested; SIGTERM sent, SIGKILL follows after the grace period.
    Stopping,
    /// Ended on its own.
    Exited {
        code: i32,
    },
    /// Could not start, or died from a signal nobody sent it.
    Failed {
        reason: String,
    },
    /// Ended after a stop request.
    Stopped {
        signal: Option<String>,
        code: Option<i32>,
    },
    /// Its process is gone and nothing saw it end (flightdeck was not running).
    Lost,
}

impl TaskState {
    pub fn is_live(&self) -> bool {
        matches!(self, Self::Starting | Self::Running | Self::Stopping)
    }

    pub fn label(&self) -> String {
        match self {
            Self::Starting => "starting".into(),
            Self::Running => "running".into(),
            Self::Stopping => "stopping".into(),
            Self::Exited { code } => format!("exited {code}"),
            Self::Failed { .. } => "failed".into(),
            Self::Stopped {
                signal: Some(sig), ..
            } => format!("stopped {sig}"),
            Self::Stopped { code, .. } => match code {
                Some(c) => format!("stopped {c}"),
                None => "stopped".into(),
            },
            Self::Lost => "lost".into(),
        }
    }
}

/// Something that happened to a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskEvent {
    Spawned {
        pid: Option<u32>,
    },
    SpawnFailed(String),
    StopRequested,
    Exited(ExitInfo),
    /// The task was live when flightdeck last ran and is not anymore.
    Orphaned,
    /// A lost task's agent was found still running (its keeper is gone)
    /// and is being stopped.
    StrayFound,
}

/// What a task runs, as asked: the part a dispatch request and the task's
/// record share (flattened into both on the wire, so their JSON keeps its
/// shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub project: String,
    pub agent: String,
    pub host: String,
    pub mode: RunMode,
    pub prompt: String,
    /// The agent's command line, already resolved.
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub id: TaskId,
    #[serde(flatten)]
    pub spec: TaskSpec,
    /// Where the agent runs (the project dir now; a worktree later).
    pub cwd: PathBuf,
    pub state: TaskState,
    pub pid: Option<u32>,
    pub created_ms: u64,
    pub started_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    pub log_path: PathBuf,
    /// Where the task's changes live and what became of them.
    #[serde(default)]
    pub workspace: Workspace,
    /// The token of the dispatch request that made it: a client retrying
    /// after losing its daemon gets this task back instead of a second one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<u64>,
    /// Whether a live task works, waits for its user or is idle, since
    /// when and why; the last one stays with an ended task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activity: Option<Activity>,
}

/// A task's git side: its worktree, the size of its change, and whether the
/// change was applied to the project.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// The project's main tree (what apply writes to).
    pub repo: Option<PathBuf>,
    /// `None` when the task runs in place (or its worktree is not made yet).
    pub worktree: Option<Worktree>,
    /// The latest `+N −M` of the worktree against its base.
    pub diff: Option<DiffStat>,
    pub applied: Option<Applied>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Applied {
    Applied,
    PartiallyApplied,
    Conflicted { files: Vec<String> },
}

impl Applied {
    pub fn label(&self) -> &'static str {
        match self {
            Applied::Applied => "applied",
            Applied::PartiallyApplied => "partial",
            Applied::Conflicted { .. } => "conflict",
        }
    }
}

/// Why a task a crash caught before its agent ran failed; a retry of its
/// dispatch request starts it after all.
pub const INTERRUPTED_START: &str =
    "flightdeck stopped while starting this task, before the agent was running; dispatch it again";

impl TaskState {
    /// Failed because a crash came before its agent ran.
    pub fn is_interrupted_start(&self) -> bool {
        matches!(self, TaskState::Failed { reason } if reason == INTERRUPTED_START)
    }
}

impl TaskRecord {
    /// Applies `event`; an event that makes no sense in the current state is
    /// ignored and reported as `false` (e.g. a stop after the task exited).
    pub fn apply(&mut self, event: TaskEvent, now: u64) -> bool {
        use TaskState::*;
        let next = match (&self.state, event) {
            (Starting, TaskEvent::Spawned { pid }) => {
                self.pid = pid;
                self.started_ms = Some(now);
                Running
            }
            (Starting, TaskEvent::SpawnFailed(reason)) => Failed { reason },
            (Starting | Running, TaskEvent::StopRequested) => Stopping,
            (Running, TaskEvent::Exited(exit)) => match (exit.code, exit.signal) {
                (_, Some(sig)) => Failed {
                    reason: format!("killed by signal {sig}"),
                },
                (Some(code), None) => Exited { code },
                (None, None) => Failed {
                    reason: exit
                        .error
                        .unwrap_or_else(|| "ended without an exit status".into()),
                },
            },
            (Stopping, TaskEvent::Exited(exit)) => Stopped {
                signal: exit.signal,
                code: exit.code,
            },
            (Starting | Running | Stopping, TaskEvent::Orphaned) => Lost,
            (Lost, TaskEvent::StrayFound) => Stopping,
            _ => return false,
        };
        if !next.is_live() && self.ended_ms.is_none() {
            self.ended_ms = Some(now);
        }
        self.state = next;
        true
    }

    /// What the task is doing, while it runs.
    pub fn live_activity(&self) -> Option<&Activity> {
        self.activity.as_ref().filter(|_| self.state.is_live())
    }

    /// Whether it waits for its user now.
    pub fn needs_user(&self) -> bool {
        self.live_activity()
            .is_some_and(|a| a.state == crate::attention::ActivityState::Waiting)
    }

    /// Wall time from start to end (or to `now` while it runs), in ms.
    pub fn duration_ms(&self, now: u64) -> Option<u64> {
        let start = self.started_ms?;
        Some(self.ended_ms.unwrap_or(now).saturating_sub(start))
    }
}

#[cfg(test)]
impl TaskRecord {
    /// A record for tests: task `id` of agent "claude" on project "a".
    pub fn sample(id: TaskId, state: TaskState) -> TaskRecord {
        TaskRecord {
            id,
            spec: TaskSpec {
                project: "a".into(),
                agent: "claude".into(),
                host: "local".into(),
                mode: RunMode::Interactive,
                prompt: String::new(),
                argv: vec![],
            },
            cwd: "/a".into(),
            state,
            pid: None,
            created_ms: 0,
            started_ms: None,
            ended_ms: None,
            log_path: "/log".into(),
            workspace: Workspace::default(),
            request: None,
            activity: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::format_duration;

    fn record() -> TaskRecord {
        TaskRecord::sample(1, TaskState::Starting)
    }

    fn exit(code: Option<i32>, signal: Option<&str>) -> TaskEvent {
        TaskEvent::Exited(ExitInfo {
            code,
            signal: signal.map(str::to_string),
            error: None,
        })
    }

    #[test]
    fn runs_then_exits_with_code() {
        let mut t = record();
        assert!(t.apply(TaskEvent::Spawned { pid: Some(42) }, 10));
        assert_eq!((t.state.clone(), t.pid), (TaskState::Running, Some(42)));
        assert!(t.apply(exit(Some(3), None), 1510));
        assert_eq!(t.state, TaskState::Exited { code: 3 });
        assert_eq!(t.duration_ms(99_999), Some(1500));
        assert_eq!(t.state.label(), "exited 3");
    }

    #[test]
    fn stop_then_signal_is_stopped() {
        let mut t = record();
        t.apply(TaskEvent::Spawned { pid: Some(1) }, 0);
        assert!(t.apply(TaskEvent::StopRequested, 5));
        assert_eq!(t.state, TaskState::Stopping);
        assert!(t.state.is_live());
        assert!(t.apply(exit(None, Some("TERM")), 6));
        assert_eq!(t.state.label(), "stopped TERM");
        assert_eq!(t.ended_ms, Some(6));
    }

    #[test]
    fn unexpected_signal_is_failure_and_late_events_are_ignored() {
        let mut t = record();
        t.apply(TaskEvent::Spawned { pid: None }, 0);
        t.apply(exit(None, Some("SEGV")), 1);
        assert_eq!(
            t.state,
            TaskState::Failed {
                reason: "killed by signal SEGV".into()
            }
        );
        assert!(!t.apply(TaskEvent::StopRequested, 2));
        assert!(!t.apply(TaskEvent::Orphaned, 2));
        assert!(!t.apply(TaskEvent::Spawned { pid: None }, 2));
    }

    #[test]
    fn spawn_failure_and_orphan() {
        let mut t = record();
        t.apply(TaskEvent::SpawnFailed("no such file".into()), 3);
        assert!(matches!(t.state, TaskState::Failed { .. }));
        assert_eq!(t.ended_ms, Some(3));

        let mut t = record();
        t.apply(TaskEvent::Spawned { pid: None }, 0);
        assert!(t.apply(TaskEvent::Orphaned, 9));
        assert_eq!(t.state, TaskState::Lost);
    }

    #[test]
    fn durations_format() {
        assert_eq!(format_duration(4_999), "4s");
        assert_eq!(format_duration(187_000), "3m07s");
        assert_eq!(format_duration(7_500_000), "2h05m");
    }
}
