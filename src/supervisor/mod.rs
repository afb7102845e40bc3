//! The supervisor owns every task: its process, PTY, screen, log and record.
//! Clients talk to it only through the [`crate::protocol`] messages (over
//! the daemon's socket) plus the shared [`Screens`] the daemon draws from.

pub mod history;
pub mod hosts;
mod pumps;
pub mod screens;
mod service;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::watch;

use crate::host::LocalHost;
use crate::host::ssh::{SshContext, SshEnv};
use crate::paths::Paths;
use crate::protocol::task::{TaskId, TaskRecord};
use crate::protocol::{Command, Event, Settings};
pub use hosts::{DaemonPrompter, HostRegistry};
pub use screens::{Screens, TaskScreen};

#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    pub paths: Paths,
    pub settings: Settings,
}

/// The daemon server's side of the supervisor.
pub struct SupervisorHandle {
    link: SupervisorLink,
    pub events: UnboundedReceiver<Event>,
    /// Every task record, as of the supervisor's latest change.
    pub tasks: watch::Receiver<Vec<TaskRecord>>,
}

impl SupervisorHandle {
    /// What one client connection needs: commands, input and screens.
    pub fn link(&self) -> SupervisorLink {
        self.link.clone()
    }

    pub fn send(&self, command: Command) {
        self.link.send(command);
    }

    /// Asks for a snapshot of everything a new client must know first.
    pub fn request_snapshot(&self) {
        // On the command queue, so it is answered before anything the new
        // client sends: the answer to its first dispatch must come after
        // its snapshot, or the client would never see it.
        let _ = self.link.commands.send(Inbound::Snapshot);
    }
}

/// The part of the supervisor's handle each client connection holds.
#[derive(Clone)]
pub struct SupervisorLink {
    commands: UnboundedSender<Inbound>,
    screens: Screens,
}

/// What the supervisor's queue carries: clients' commands, and the server's
/// requests for a new client's snapshot, in one order. Nearly every item is
/// a command, so boxing it would only add an allocation to each.
#[allow(clippy::large_enum_variant)]
pub enum Inbound {
    Command(Command),
    /// Send an [`Event::Snapshot`] now, in order with the other events.
    Snapshot,
}

impl SupervisorLink {
    pub fn send(&self, command: Command) {
        // The supervisor only goes away at shutdown, after which nothing sends.
        let _ = self.commands.send(Inbound::Command(command));
    }

    /// Types `bytes` into a running task. Keystrokes take this path, not
    /// the command queue, so they never wait behind a dispatch or a diff.
    pub fn input(&self, id: TaskId, bytes: Vec<u8>) -> bool {
        self.screens.send_input(id, bytes)
    }

    /// The live screens, which the server renders frames from.
    pub fn screens(&self) -> &Screens {
        &self.screens
    }
}

/// Starts the supervisor on the current tokio runtime. SSH hosts read the
/// local environment described by `ssh` (none: this machine only).
pub fn start(config: SupervisorConfig, ssh: Option<SshEnv>) -> SupervisorHandle {
    let (commands_tx, commands_rx) = unbounded_channel();
    let (events_tx, events_rx) = unbounded_channel();
    let screens = Screens::default();
    let prompter = DaemonPrompter::new(events_tx.clone());
    // Tasks here get keepers under the daemon's runtime directory.
    let local = LocalHost::with_state(config.paths.clone());
    let hosts = match ssh {
        Some(env) => HostRegistry::new(
            SshContext::new(env, prompter.clone()),
            local,
            events_tx.clone(),
        ),
        None => HostRegistry::local_only(local, events_tx.clone()),
    };
    let service = service::Supervisor::new(config, hosts, prompter, screens.clone(), events_tx);
    let tasks = service.tasks();
    tokio::spawn(service.run(commands_rx));
    SupervisorHandle {
        link: SupervisorLink {
            commands: commands_tx,
            screens,
        },
        events: events_rx,
        tasks,
    }
}
