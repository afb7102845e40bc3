//! The supervisor owns every task: its process, PTY, screen, log and record.
//! Clients talk to it only through the [`crate::protocol`] messages (over
//! the daemon's socket) plus the shared [`Screens`] the daemon draws from.

pub mod history;
pub mod hosts;
mod pumps;
pub mod screens;
mod service;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::host::LocalHost;
use crate::host::ssh::{SshContext, SshEnv};
use crate::paths::Paths;
use crate::protocol::{Command, Event, Settings};
pub use hosts::{DaemonPrompter, HostRegistry};
pub use screens::{Screens, TaskScreen};

#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    pub paths: Paths,
    pub settings: Settings,
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
    tokio::spawn(service.run(commands_rx));
    SupervisorHandle {
        commands: commands_tx,
        events: events_rx,
        screens,
    }
}
