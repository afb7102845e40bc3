//! The supervisor owns every task: its process, PTY, screen, log and record.
//! The UI talks to it only through [`Command`] and [`Event`] messages (serde
//! enums, so the supervisor can move into a daemon process behind a socket
//! without touching the views) plus the shared [`Screens`] it draws from.

mod pumps;
pub mod screens;
mod service;
pub mod task;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::catalog::RunMode;
use crate::host::{Host, PtySize};
use crate::paths::Paths;
pub use screens::{Screens, TaskScreen};
use task::{TaskId, TaskRecord};

/// Everything needed to start a task; the agent's argv is already resolved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DispatchRequest {
    pub project: String,
    pub agent: String,
    pub host: String,
    pub mode: RunMode,
    pub prompt: String,
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub size: PtySize,
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
    /// Rebuild the screen of a task that has ended from the tail of its log.
    Replay {
        id: TaskId,
        size: PtySize,
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
    /// Every known task, sent once at start.
    Snapshot(Vec<TaskRecord>),
    /// A task was created or its record changed.
    Task(Box<TaskRecord>),
    /// The task's screen changed (coalesced: at most one until it is drawn).
    Output {
        id: TaskId,
    },
    Notice {
        level: Level,
        message: String,
    },
    /// Shutdown finished; every task is stopped and state saved.
    ShutDown,
}

#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    pub paths: Paths,
    pub stop_grace: Duration,
    pub scrollback_lines: usize,
}

/// The UI's side of the supervisor.
pub struct SupervisorHandle {
    pub commands: UnboundedSender<Command>,
    pub events: UnboundedReceiver<Event>,
    pub screens: Screens,
}

impl SupervisorHandle {
    pub fn send(&self, command: Command) {
        // The supervisor only goes away at shutdown, after which nothing sends.
        let _ = self.commands.send(command);
    }
}

/// Starts the supervisor on the current tokio runtime.
pub fn start(config: SupervisorConfig, hosts: HashMap<String, Arc<dyn Host>>) -> SupervisorHandle {
    let (commands_tx, commands_rx) = unbounded_channel();
    let (events_tx, events_rx) = unbounded_channel();
    let screens = Screens::default();
    let service = service::Supervisor::new(config, hosts, screens.clone(), events_tx);
    tokio::spawn(service.run(commands_rx));
    SupervisorHandle {
        commands: commands_tx,
        events: events_rx,
        screens,
    }
}
