//! The messages that drive the dashboard ([`Action`]) and the side effects
//! `update` asks the runtime to perform ([`Effect`]).

use crossterm::event::{KeyEvent, MouseEvent};

use super::state::{Alert, ProjectStatus};
use crate::config::{Config, HostConfig, Project};
use crate::protocol::task::TaskId;
use crate::protocol::wire::Watch;
use crate::protocol::{Command, Event};

#[derive(Debug)]
pub enum Action {
    Key(KeyEvent),
    Paste(String),
    Mouse(MouseEvent),
    Resize {
        width: u16,
        height: u16,
    },
    /// Time passed (durations and notices age); carries the current time.
    Tick(u64),
    /// The dashboard's terminal gained (true) or lost focus.
    Focus(bool),
    Supervisor(Event),
    /// A new frame of watched task `id` arrived, with this much history.
    Frame {
        id: TaskId,
        history: usize,
    },
    ProjectsChecked(Vec<ProjectStatus>),
    ProjectSaved(Result<Project, String>),
    HostSaved(Result<String, String>),
    /// The config file changed on disk and was read again (or could not
    /// be: the error names the file and line).
    ConfigReloaded(Result<Box<Config>, String>),
    /// The connection to the daemon broke; reconnecting.
    DaemonLost,
    DaemonBack,
}

#[derive(Debug)]
pub enum Effect {
    Send(Command),
    /// Tell the daemon which panes to send frames of.
    Watch(Vec<Watch>),
    Attach(TaskId),
    /// Probe one host's agents (all configured hosts when `None`) and
    /// re-check project paths.
    Probe(Option<String>),
    /// Append a host to the config file and tell the daemon.
    SaveHost(HostConfig),
    /// Append a project to the config file.
    SaveProject(Project),
    /// Tell the user (bell, desktop notification, `notify_command`).
    Alert(Vec<Alert>),
    Exit,
}
