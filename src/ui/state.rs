//! Everything the dashboard shows, in one place. Only `update` mutates it;
//! views read it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use ratatui::layout::Rect;

use super::add_host::AddHost;
use super::add_project::AddProject;
use super::dispatch::DispatchForm;
use super::layout;
pub use super::prompt::Prompt;
use super::review::Review;
use crate::attention::approval::PendingApproval;
use crate::catalog::{Agent, Catalog};
use crate::config::{Config, Project, Settings};
use crate::git::LossReport;
use crate::host::PtySize;
use crate::host::local::LOCAL;
use crate::keymap::Keymap;
use crate::probe::{AgentProbe, HostProbe};
use crate::protocol::task::{TaskId, TaskRecord};
use crate::protocol::wire::Watch;
use crate::protocol::{HostInfo, HostState, Level};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Projects,
    Hosts,
    Agents,
    Tasks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Dashboard,
    Grid,
}

pub enum Modal {
    Dispatch(Box<DispatchForm>),
    Review(Box<Review>),
    /// Discarding would lose this; ask first.
    ConfirmDiscard {
        id: TaskId,
        loss: LossReport,
    },
    ConfirmStop(TaskId),
    ConfirmQuit {
        live: usize,
    },
    /// Started inside a git repo with no projects: offer it.
    OfferProject(Project),
    /// The keys, scrolled down `top` lines when they do not fit.
    Help {
        top: usize,
    },
    /// Typing a host to add: an alias or `user@host:port`.
    AddHost(AddHost),
    /// Typing a directory to add as a project.
    AddProject(AddProject),
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub level: Level,
    pub text: String,
    pub at_ms: u64,
}

/// What the file system says about a project's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProjectStatus {
    pub exists: bool,
    pub git: bool,
}

/// One row of the agents list: catalog entry plus what the probe found.
pub struct AgentRow<'a> {
    pub agent: &'a Agent,
    pub probe: Option<&'a AgentProbe>,
}

impl AgentRow<'_> {
    pub fn found(&self) -> bool {
        self.probe.is_some_and(|p| p.found)
    }
}

pub struct State {
    pub keymap: Keymap,
    pub catalog: Catalog,
    pub settings: Settings,
    pub projects: Vec<Project>,
    pub project_status: Vec<ProjectStatus>,
    /// The hosts one can pick; this machine first.
    pub hosts: Vec<HostInfo>,
    pub selected_host: usize,
    /// The latest probe of each host.
    pub probes: BTreeMap<String, HostProbe>,
    /// Hosts with a probe in flight.
    pub probing: BTreeSet<String>,
    /// Open questions, oldest first; the first is shown over everything.
    pub prompts: Vec<Prompt>,
    /// Agents' permission requests waiting for an answer, oldest first.
    pub approvals: Vec<PendingApproval>,
    /// Newest first.
    pub tasks: Vec<TaskRecord>,
    pub selected_task: Option<TaskId>,
    pub selected_project: usize,
    pub selected_agent: usize,
    pub focus: Focus,
    pub view: View,
    pub modal: Option<Modal>,
    /// How far each task's pane is scrolled back into its history.
    pub scroll: HashMap<TaskId, usize>,
    /// How much history each watched pane has, from its latest frame (it
    /// may learn that there is less than it offered before).
    pub history: HashMap<TaskId, usize>,
    /// The PTY size last asked for per task, so resizes are sent once.
    pub sizes: HashMap<TaskId, PtySize>,
    /// The panes the daemon sends frames of.
    pub watching: Vec<Watch>,
    pub notice: Option<Notice>,
    pub area: Rect,
    pub now_ms: u64,
    pub shutting_down: bool,
    /// The SSH host whose daemon this dashboard is attached to, if not ours.
    pub remote: Option<String>,
    /// Tasks that need their user are listed first.
    pub attention_first: bool,
    /// Announcements not made yet (coalesced: at most one per
    /// [`ALERT_EVERY_MS`]), and when the last one went out.
    pub alerts: Vec<Alert>,
    pub last_alert_ms: u64,
    /// The dashboard's terminal has focus (as far as it reports).
    pub focused: bool,
    /// The config file this dashboard read (shown in help).
    pub config_path: std::path::PathBuf,
}

/// Alerts closer together than this are made as one.
pub const ALERT_EVERY_MS: u64 = 3_000;

/// Something to tell the user about a task (see `[notify]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Alert {
    pub task: TaskId,
    pub project: String,
    pub agent: String,
    /// `waiting`, `idle` or `ended`.
    pub event: &'static str,
    pub reason: String,
}

impl State {
    /// Scrolls task `id`'s pane `delta` lines back (negative: forward),
    /// within the history its latest frame has.
    pub fn scroll_by(&mut self, id: TaskId, delta: isize) {
        let history = self.history.get(&id).copied().unwrap_or(0);
        let current = self.scroll.get(&id).copied().unwrap_or(0).min(history) as isize;
        let next = (current + delta).clamp(0, history as isize) as usize;
        if next == 0 {
            self.scroll.remove(&id);
        } else {
            self.scroll.insert(id, next);
        }
    }

    pub fn new(config: &Config, area: Rect, now_ms: u64) -> Self {
        State {
            config_path: config.path.clone(),
            keymap: config.keymap.clone(),
            catalog: config.catalog.clone(),
            settings: config.settings.clone(),
            projects: config.projects.clone(),
            // Until the paths are checked, none is called missing.
            project_status: vec![
                ProjectStatus {
                    exists: true,
                    git: false
                };
                config.projects.len()
            ],
            hosts: vec![HostInfo {
                name: LOCAL.into(),
                destination: "this machine".into(),
                configured: true,
                state: HostState::Local,
            }],
            selected_host: 0,
            probes: BTreeMap::new(),
            probing: BTreeSet::new(),
            prompts: Vec::new(),
            approvals: Vec::new(),
            tasks: Vec::new(),
            selected_task: None,
            selected_project: 0,
            selected_agent: 0,
            focus: Focus::Tasks,
            view: View::Dashboard,
            modal: None,
            scroll: HashMap::new(),
            history: HashMap::new(),
            sizes: HashMap::new(),
            watching: Vec::new(),
            notice: None,
            area,
            now_ms,
            shutting_down: false,
            remote: None,
            attention_first: false,
            alerts: Vec::new(),
            last_alert_ms: 0,
            focused: true,
        }
    }

    /// The host selected in the hosts list (its agents are listed).
    pub fn host(&self) -> &str {
        self.hosts
            .get(self.selected_host)
            .map_or(LOCAL, |h| h.name.as_str())
    }

    pub fn probe(&self, host: &str) -> Option<&HostProbe> {
        self.probes.get(host)
    }

    /// Catalog agents with the selected host's probe results.
    pub fn agent_rows(&self) -> Vec<AgentRow<'_>> {
        self.agent_rows_on(self.host())
    }

    /// Catalog agents with `host`'s probe results: installed ones first,
    /// then in catalog order.
    pub fn agent_rows_on(&self, host: &str) -> Vec<AgentRow<'_>> {
        let probe = self.probe(host);
        let mut rows: Vec<AgentRow> = self
            .catalog
            .agents()
            .iter()
            .map(|agent| AgentRow {
                agent,
                probe: probe.and_then(|p| p.agent(&agent.id)),
            })
            .collect();
        rows.sort_by_key(|r| !r.found());
        rows
    }

    /// The host a project lives on.
    pub fn project_host(&self, project: usize) -> &str {
        self.projects
            .get(project)
            .and_then(|p| p.host.as_deref())
            .unwrap_or(LOCAL)
    }

    pub fn task(&self, id: TaskId) -> Option<&TaskRecord> {
        self.tasks.iter().find(|t| t.id == id)
    }

    pub fn selected_task(&self) -> Option<&TaskRecord> {
        self.selected_task.and_then(|id| self.task(id))
    }

    pub fn selected_task_index(&self) -> usize {
        self.selected_task
            .and_then(|id| self.tasks.iter().position(|t| t.id == id))
            .unwrap_or(0)
    }

    /// Puts the tasks in list order: newest first, and with
    /// `attention_first` the ones that need their user before the rest.
    pub fn sort_tasks(&mut self) {
        let first = self.attention_first;
        self.tasks
            .sort_by_key(|t| (!(first && t.needs_user()), std::cmp::Reverse(t.id)));
    }

    /// The selected task's oldest open permission request.
    pub fn selected_approval(&self) -> Option<&PendingApproval> {
        let task = self.selected_task?;
        self.approvals.iter().find(|a| a.task == task)
    }

    pub fn live_tasks(&self) -> usize {
        self.tasks.iter().filter(|t| t.state.is_live()).count()
    }

    pub fn dashboard(&self) -> layout::Dashboard {
        layout::dashboard(self.area, self.projects.len(), self.hosts.len())
    }

    /// The tasks shown in grid mode (a window around the selection) with their cells.
    pub fn grid_cells(&self) -> Vec<(TaskId, Rect)> {
        let capacity = layout::grid_capacity(self.area).max(1);
        let n = self.tasks.len().min(capacity);
        let first = (self.selected_task_index() / capacity) * capacity;
        let shown = &self.tasks[first.min(self.tasks.len())..];
        let (cells, _) = layout::grid(self.area, n.min(shown.len()).max(1));
        shown.iter().map(|t| t.id).zip(cells).collect()
    }

    /// Every pane on screen now, with its inner area.
    pub fn visible_panes(&self) -> Vec<(TaskId, Rect)> {
        if layout::too_small(self.area) {
            return Vec::new();
        }
        match self.view {
            View::Dashboard => self
                .selected_task
                .map(|id| vec![(id, self.dashboard().pane_inner)])
                .unwrap_or_default(),
            View::Grid => self
                .grid_cells()
                .into_iter()
                .map(|(id, r)| (id, layout::inner(r)))
                .collect(),
        }
    }

    pub fn notify(&mut self, level: Level, text: impl Into<String>) {
        self.notice = Some(Notice {
            level,
            text: text.into(),
            at_ms: self.now_ms,
        });
    }
}
