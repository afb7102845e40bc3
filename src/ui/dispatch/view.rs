//! The dispatch dialog's drawing.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::{DispatchForm, Field};
use crate::ui::layout;
use crate::ui::state::State;
use crate::ui::view::modal::frame_box;
use crate::ui::view::theme;

pub fn draw(frame: &mut Frame, area: Rect, state: &State, form: &DispatchForm) {
    let outer = layout::centered(area, 84, 22);
    let inner = frame_box(frame, outer, "New task");
    let [
        project,
        agent,
        mode,
        workspace,
        base,
        prompt_label,
        prompt,
        error,
        help,
    ] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner.inner(ratatui::layout::Margin::new(1, 0)));

    let rows = state.agent_rows_on(state.project_host(form.project));
    let project_value = state
        .projects
        .get(form.project)
        .map(|p| (p.name.clone(), p.path.display().to_string()))
        .unwrap_or_default();
    let agent_value = rows
        .iter()
        .find(|r| r.agent.id == form.agent)
        .map(|r| {
            let detail = match r.probe {
                Some(p) if p.found => {
                    format!("{} {}", r.agent.name, p.version.as_deref().unwrap_or(""))
                }
                Some(_) => format!("{} — not installed", r.agent.name),
                None => r.agent.name.clone(),
            };
            (r.agent.id.clone(), detail)
        })
        .unwrap_or_default();
    let selector = |label: &str, field: Field, value: &str, detail: &str| {
        let focused = form.field == field;
        let value_style = if focused {
            theme::selected(true)
        } else {
            Style::default().add_modifier(Modifier::BOLD)
        };
        Line::from(vec![
            Span::styled(format!("{label:<8}"), theme::title(focused)),
            Span::styled(format!("◂ {value} ▸"), value_style),
            Span::styled(format!("  {detail}"), theme::dim()),
        ])
    };
    frame.render_widget(
        selector(
            "Project",
            Field::Project,
            &project_value.0,
            &project_value.1,
        ),
        project,
    );
    frame.render_widget(
        selector("Agent", Field::Agent, &agent_value.0, &agent_value.1),
        agent,
    );
    let mode_detail = match form.mode {
        crate::catalog::RunMode::Interactive => "runs in a PTY you can attach to",
        crate::catalog::RunMode::Headless => "one-shot, prints and exits",
    };
    frame.render_widget(
        selector("Mode", Field::Mode, form.mode.label(), mode_detail),
        mode,
    );
    let missing = state
        .project_status
        .get(form.project)
        .is_some_and(|s| !s.exists);
    let (place, place_detail) = match (form.worktree, form.worktree_possible(state)) {
        (_, false) if missing => ("in place", "the project's directory does not exist"),
        (true, _) => (
            "new worktree",
            "its own checkout and branch; review and apply after",
        ),
        (false, true) => ("in place", "edits the project directory directly"),
        (false, false) => (
            "in place",
            "not a git repository: runs in the project directory",
        ),
    };
    frame.render_widget(
        selector("Where", Field::Workspace, place, place_detail),
        workspace,
    );
    let base_focused = form.field == Field::Base;
    let base_text = if form.base.is_empty() && !base_focused {
        Span::styled("HEAD (type a branch, tag or commit)", theme::dim())
    } else {
        Span::styled(
            format!("{}{}", form.base, if base_focused { "▏" } else { "" }),
            Style::default().add_modifier(Modifier::BOLD),
        )
    };
    let base_line = if form.worktree {
        Line::from(vec![
            Span::styled("Base    ", theme::title(base_focused)),
            base_text,
        ])
    } else {
        Line::styled("Base    —", theme::dim())
    };
    frame.render_widget(base_line, base);
    frame.render_widget(
        Line::styled("Prompt", theme::title(form.field == Field::Prompt)),
        prompt_label,
    );
    let prompt_block = Block::bordered().border_style(theme::border(form.field == Field::Prompt));
    frame.render_widget(prompt_block, prompt);
    frame.render_widget(&form.prompt, layout::inner(prompt));
    if let Some(e) = &form.error {
        frame.render_widget(
            Paragraph::new(Line::styled(e.clone(), theme::error())).wrap(Wrap { trim: true }),
            error,
        );
    }
    let hints = Line::from(vec![
        Span::styled(" Tab ", theme::key()),
        Span::styled(" next field  ", theme::dim()),
        Span::styled(" ←/→ ", theme::key()),
        Span::styled(" change  ", theme::dim()),
        Span::styled(" Ctrl-S ", theme::key()),
        Span::styled(" start  ", theme::dim()),
        Span::styled(" Esc ", theme::key()),
        Span::styled(" cancel", theme::dim()),
    ]);
    frame.render_widget(hints, help);
}
