//! The dispatch dialog's state and input handling: project, agent, mode and
//! a multi-line prompt editor.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Modifier, Style};
use ratatui_textarea::TextArea;

use crate::catalog::RunMode;
use crate::dispatch::{self, TaskSpec};
use crate::host::PtySize;
use crate::supervisor::DispatchRequest;

use super::state::State;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Project,
    Agent,
    Mode,
    Prompt,
}

const FIELDS: [Field; 4] = [Field::Project, Field::Agent, Field::Mode, Field::Prompt];

pub struct DispatchForm {
    pub field: Field,
    pub project: usize,
    /// Index into `State::agent_rows()`.
    pub agent: usize,
    pub mode: RunMode,
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
    pub fn new(project: usize, agent: usize) -> Self {
        let mut prompt = TextArea::default();
        prompt.set_placeholder_text("What should the agent do? (Enter for a new line)");
        prompt.set_cursor_line_style(Style::default());
        prompt.set_cursor_style(Style::default().add_modifier(Modifier::REVERSED));
        prompt.set_placeholder_style(Style::default().fg(Color::DarkGray));
        DispatchForm {
            field: Field::Prompt,
            project,
            agent,
            mode: RunMode::Interactive,
            prompt,
            error: None,
        }
    }

    pub fn prompt_text(&self) -> String {
        self.prompt.lines().join("\n")
    }

    pub fn handle_key(&mut self, key: KeyEvent, projects: usize, agents: usize) -> FormOutcome {
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
            KeyCode::Enter if self.field != Field::Prompt => self.move_field(1),
            KeyCode::Down | KeyCode::Char('j') => self.move_field(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_field(-1),
            KeyCode::Left | KeyCode::Char('h') => self.cycle(-1, projects, agents),
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Char(' ') => {
                self.cycle(1, projects, agents)
            }
            _ => {}
        }
        FormOutcome::Continue
    }

    pub fn paste(&mut self, text: &str) {
        if self.field == Field::Prompt {
            // Terminals send pasted newlines as \r.
            self.prompt
                .insert_str(text.replace("\r\n", "\n").replace('\r', "\n"));
        }
    }

    fn move_field(&mut self, delta: isize) {
        let i = FIELDS.iter().position(|f| *f == self.field).unwrap_or(0) as isize;
        self.field = FIELDS[(i + delta).rem_euclid(FIELDS.len() as isize) as usize];
    }

    fn cycle(&mut self, delta: isize, projects: usize, agents: usize) {
        let step = |i: usize, n: usize| (i as isize + delta).rem_euclid(n.max(1) as isize) as usize;
        match self.field {
            Field::Project => self.project = step(self.project, projects),
            Field::Agent => self.agent = step(self.agent, agents),
            Field::Mode => {
                self.mode = match self.mode {
                    RunMode::Interactive => RunMode::Headless,
                    RunMode::Headless => RunMode::Interactive,
                }
            }
            Field::Prompt => {}
        }
        self.error = None;
    }
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
    let rows = state.agent_rows();
    let agent = rows.get(form.agent).ok_or("no agent selected")?.agent;
    let task = TaskSpec {
        project,
        agent,
        mode: form.mode,
        prompt: form.prompt_text(),
    };
    dispatch::request(&task, state.probe.as_ref(), size)
}
