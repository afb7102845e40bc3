//! The dispatch dialog's state and input handling: project, agent, mode,
//! workspace (a new worktree from a base, or in place) and a multi-line
//! prompt editor.

pub mod actions;
pub mod view;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier, Style};
use ratatui_textarea::{TextArea, WrapMode};

use crate::catalog::RunMode;
use crate::dispatch::{self, TaskSpec};
use crate::host::PtySize;
use crate::protocol::{DispatchRequest, WorkspaceChoice};

use super::state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Project,
    Agent,
    Mode,
    Workspace,
    Base,
    Prompt,
}

const FIELDS: [Field; 6] = [
    Field::Project,
    Field::Agent,
    Field::Mode,
    Field::Workspace,
    Field::Base,
    Field::Prompt,
];

pub struct DispatchForm {
    pub field: Field,
    pub project: usize,
    /// The chosen agent's id (not a position: the list reorders when a
    /// probe finds more agents).
    pub agent: String,
    pub mode: RunMode,
    /// A new worktree (true) or in place; only git projects can have one.
    pub worktree: bool,
    /// Branch, tag or commit the worktree starts from; empty = HEAD.
    pub base: String,
    pub prompt: TextArea<'static>,
    pub error: Option<String>,
}

/// What a key did to the form.
pub enum FormOutcome {
    Continue,
    Cancel,
    Submit,
}

impl DispatchForm {
    /// `agent`: a position in the agents list the dashboard shows.
    pub fn new(state: &State, project: usize, agent: usize) -> Self {
        let (agent, mode) = match last_choice(state, project) {
            Some(choice) => choice,
            None => (
                state
                    .agent_rows_on(state.project_host(project))
                    .get(agent)
                    .map(|r| r.agent.id.clone())
                    .unwrap_or_default(),
                RunMode::Interactive,
            ),
        };
        let mut prompt = TextArea::default();
        prompt.set_placeholder_text("What should the agent do? (Enter for a new line)");
        prompt.set_cursor_line_style(Style::default());
        prompt.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
        prompt.set_placeholder_style(Style::default().fg(Color::DarkGray));
        // Long prompts wrap instead of scrolling sideways out of view.
        prompt.set_wrap_mode(WrapMode::WordOrGlyph);
        let mut form = DispatchForm {
            field: Field::Prompt,
            project,
            agent,
            mode,
            worktree: false,
            base: String::new(),
            prompt,
            error: None,
        };
        form.worktree = form.worktree_possible(state);
        form
    }

    /// Whether the selected project can give the task a worktree.
    pub fn worktree_possible(&self, state: &State) -> bool {
        let git = state
            .project_status
            .get(self.project)
            .is_some_and(|s| s.git);
        let wanted = state.projects.get(self.project).is_some_and(|p| p.worktree);
        git && wanted
    }

    pub fn prompt_text(&self) -> String {
        self.prompt.lines().join("\n")
    }

    pub fn handle_key(&mut self, key: KeyEvent, state: &State) -> FormOutcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        match key.code {
            KeyCode::Esc => return FormOutcome::Cancel,
            KeyCode::Char('s') if ctrl => return FormOutcome::Submit,
            KeyCode::Enter if ctrl || alt => return FormOutcome::Submit,
            KeyCode::Tab => self.move_field(1),
            KeyCode::BackTab => self.move_field(-1),
            _ if self.field == Field::Prompt => {
                self.prompt.input(key);
                self.error = None;
            }
            _ if self.field == Field::Base && self.edit_base(key) => {}
            KeyCode::Enter | KeyCode::Down => self.move_field(1),
            KeyCode::Up => self.move_field(-1),
            KeyCode::Char('j') if self.field != Field::Base => self.move_field(1),
            KeyCode::Char('k') if self.field != Field::Base => self.move_field(-1),
            KeyCode::Left | KeyCode::Char('h') => self.cycle(-1, state),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(' ') => self.cycle(1, state),
            _ => {}
        }
        FormOutcome::Continue
    }

    /// Typing into the base field; false for keys it does not take.
    fn edit_base(&mut self, key: KeyEvent) -> bool {
        match key.code {
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.base.push(c);
                self.worktree = true;
            }
            KeyCode::Backspace => {
                self.base.pop();
            }
            _ => return false,
        }
        self.error = None;
        true
    }

    pub fn paste(&mut self, text: &str) {
        match self.field {
            // Terminals send pasted newlines as \r.
            Field::Prompt => {
                self.prompt
                    .insert_str(text.replace("\r\n", "\n").replace('\r', "\n"));
            }
            Field::Base => self.base.push_str(text.trim()),
            _ => {}
        }
    }

    fn move_field(&mut self, delta: isize) {
        let i = FIELDS.iter().position(|f| *f == self.field).unwrap_or(0) as isize;
        self.field = FIELDS[(i + delta).rem_euclid(FIELDS.len() as isize) as usize];
    }

    fn cycle(&mut self, delta: isize, state: &State) {
        let step = |i: usize, n: usize| (i as isize + delta).rem_euclid(n.max(1) as isize) as usize;
        match self.field {
            Field::Project => {
                self.project = step(self.project, state.projects.len());
                self.worktree = self.worktree_possible(state);
                // What was last run there; else the first agent its host has.
                (self.agent, self.mode) = last_choice(state, self.project)
                    .unwrap_or_else(|| (first_agent(state, self.project), self.mode));
            }
            Field::Agent => {
                let rows = state.agent_rows_on(state.project_host(self.project));
                let at = rows
                    .iter()
                    .position(|r| r.agent.id == self.agent)
                    .unwrap_or(0);
                if let Some(row) = rows.get(step(at, rows.len())) {
                    self.agent = row.agent.id.clone();
                }
            }
            Field::Mode => {
                self.mode = match self.mode {
                    RunMode::Interactive => RunMode::Headless,
                    RunMode::Headless => RunMode::Interactive,
                }
            }
            Field::Workspace => self.worktree = !self.worktree && self.worktree_possible(state),
            Field::Base | Field::Prompt => {}
        }
        self.error = None;
    }
}

/// The first agent offered for a project: an installed one if any.
/// The agent and mode of the newest task on `project`: what the user chose
/// there last (the task list is the memory, so it survives restarts).
fn last_choice(state: &State, project: usize) -> Option<(String, RunMode)> {
    let name = &state.projects.get(project)?.name;
    let task = state
        .tasks
        .iter()
        .filter(|t| &t.spec.project == name && state.catalog.get(&t.spec.agent).is_some())
        .max_by_key(|t| t.id)?;
    Some((task.spec.agent.clone(), task.spec.mode))
}

fn first_agent(state: &State, project: usize) -> String {
    state
        .agent_rows_on(state.project_host(project))
        .first()
        .map(|r| r.agent.id.clone())
        .unwrap_or_default()
}

/// Checks the form against the state and builds the request, or says
/// precisely what is wrong.
pub fn build_request(
    state: &State,
    form: &DispatchForm,
    size: PtySize,
) -> Result<DispatchRequest, String> {
    let project = state
        .projects
        .get(form.project)
        .ok_or("no project selected; add one under [[project]] in config.toml")?;
    // (Checked for this machine's projects; a remote one is checked there.)
    let missing = state
        .project_status
        .get(form.project)
        .is_some_and(|s| !s.exists);
    if project.host.is_none() && missing {
        return Err(format!(
            "project {}: {} does not exist (fix its path in config.toml)",
            project.name,
            project.path.display()
        ));
    }
    let host = state.project_host(form.project);
    let rows = state.agent_rows_on(host);
    let agent = rows
        .iter()
        .find(|r| r.agent.id == form.agent)
        .ok_or("no agent selected")?
        .agent;
    let workspace = if form.worktree {
        if !form.worktree_possible(state) {
            return Err(format!(
                "{} is not a git repository: the task can only run in place",
                project.name
            ));
        }
        let base = form.base.trim();
        WorkspaceChoice::Worktree {
            base: (!base.is_empty()).then(|| base.to_string()),
        }
    } else {
        WorkspaceChoice::InPlace
    };
    let task = TaskSpec {
        project,
        host,
        agent,
        mode: form.mode,
        prompt: form.prompt_text(),
        workspace,
    };
    dispatch::request(&task, state.probe(host), size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Project};
    use crate::protocol::task::{TaskRecord, TaskState};
    use ratatui::layout::Rect;

    #[test]
    fn the_dialog_offers_what_was_last_run_on_the_project() {
        let mut config = Config::defaults("/c.toml".into());
        config.projects = ["a", "b"]
            .map(|name| Project {
                name: name.into(),
                path: format!("/{name}").into(),
                ..Default::default()
            })
            .to_vec();
        let mut state = State::new(&config, Rect::new(0, 0, 120, 36), 0);
        let fresh = DispatchForm::new(&state, 0, 0);
        assert_eq!(fresh.mode, RunMode::Interactive);
        let mut older = TaskRecord::sample(1, TaskState::Running);
        older.spec.agent = "gemini".into();
        let mut newer = TaskRecord::sample(2, TaskState::Exited { code: 0 });
        newer.spec.agent = "codex".into();
        newer.spec.mode = RunMode::Headless;
        state.tasks = vec![newer, older];
        let form = DispatchForm::new(&state, 0, 0);
        assert_eq!(
            (form.agent.as_str(), form.mode),
            ("codex", RunMode::Headless)
        );
        // Project b has no tasks: the first agent its host has.
        let mut form = form;
        form.field = Field::Project;
        form.handle_key(
            crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Right),
            &state,
        );
        assert_eq!(form.project, 1);
        assert_eq!(form.agent, fresh.agent);
    }

    #[test]
    fn a_missing_project_directory_is_named_as_missing() {
        let mut config = Config::defaults("/c.toml".into());
        config.projects = vec![Project {
            name: "gone".into(),
            path: "/no/such/dir".into(),
            ..Default::default()
        }];
        let mut state = State::new(&config, Rect::new(0, 0, 120, 36), 0);
        state.project_status[0].exists = false;
        let form = DispatchForm::new(&state, 0, 0);
        let size = PtySize { rows: 24, cols: 80 };
        let e = build_request(&state, &form, size).unwrap_err();
        assert_eq!(
            e,
            "project gone: /no/such/dir does not exist (fix its path in config.toml)"
        );
    }
}
