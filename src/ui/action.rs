//! The messages that drive the dashboard ([`Action`]) and the side effects
//! `update` asks the runtime to perform ([`Effect`]).

use crossterm::event::{KeyEvent, MouseEvent};

use super::state::ProjectStatus;
use crate::config::Project;
use crate::probe::HostProbe;
use crate::supervisor::task::TaskId;
use crate::supervisor::{Command, Event};

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
    Supervisor(Event),
    ProbeDone(HostProbe),
    ProjectsChecked(Vec<ProjectStatus>),
    ProjectSaved(Result<Project, String>),
}

#[derive(Debug)]
pub enum Effect {
    Send(Command),
    Attach(TaskId),
    /// Probe agents and re-check project paths.
    Probe,
    /// Append a project to the config file.
    SaveProject(Project),
    Exit,
}
