//! Dialogs drawn over the dashboard: dispatch, help, confirmations.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::theme;
use crate::protocol::Question;
use crate::ui::form::{DispatchForm, Field};
use crate::ui::layout;
use crate::ui::state::{Prompt, State};

fn frame_box(frame: &mut Frame, area: Rect, title: &str) -> Rect {
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Span::styled(format!(" {title} "), theme::title(true)));
    frame.render_widget(block, area);
    layout::inner(area)
}

pub fn dispatch(frame: &mut Frame, area: Rect, state: &State, form: &DispatchForm) {
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

pub fn help(frame: &mut Frame, area: Rect, state: &State) {
    let rows = state.keymap.help_rows();
    let mut lines: Vec<Line> = rows
        .iter()
        .filter(|(keys, _)| !keys.is_empty())
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!(" {keys:>14} "), Style::default().fg(theme::ACCENT)),
                Span::raw(format!(" {what}")),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(
            format!(" {:>14} ", state.settings.detach_key.to_string()),
            Style::default().fg(theme::ACCENT),
        ),
        Span::raw(" detach from an attached task (it keeps running)"),
    ]));
    lines.push(Line::from(vec![
        Span::styled(
            format!(" {:>14} ", "mouse"),
            Style::default().fg(theme::ACCENT),
        ),
        Span::raw(" click selects · wheel scrolls a pane"),
    ]));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        " Keys are set under [keys] in config.toml. Any key closes this.",
        theme::dim(),
    ));
    let height = lines.len() as u16 + 2;
    let inner = frame_box(frame, layout::centered(area, 70, height), "Help");
    frame.render_widget(Paragraph::new(lines), inner);
}

/// A question with key choices, e.g. `[("y", "yes"), ("n", "no")]`.
pub fn confirm(
    frame: &mut Frame,
    area: Rect,
    title: &str,
    question: &str,
    detail: &str,
    choices: &[(&str, &str)],
) {
    let width =
        (question.chars().count().max(detail.chars().count()) as u16 + 6).clamp(40, area.width);
    let inner = frame_box(frame, layout::centered(area, width, 7), title);
    let mut keys = Vec::new();
    for (key, what) in choices {
        keys.push(Span::styled(format!(" {key} "), theme::key()));
        keys.push(Span::raw(format!(" {what}   ")));
    }
    let lines = vec![
        Line::styled(
            question.to_string(),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Line::styled(detail.to_string(), theme::dim()),
        Line::raw(""),
        Line::from(keys),
    ];
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }),
        inner.inner(ratatui::layout::Margin::new(1, 0)),
    );
}

/// A question from the daemon: trust a new host key, or a passphrase.
pub fn prompt(frame: &mut Frame, area: Rect, prompt: &Prompt) {
    let (title, lines, keys): (&str, Vec<Line>, &[(&str, &str)]) = match &prompt.question {
        Question::TrustHostKey {
            alias,
            host,
            key_type,
            fingerprint,
            known_hosts_file,
        } => (
            "Unknown host",
            vec![
                Line::styled(
                    format!("{alias} ({host}) is not in your known hosts."),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Line::raw(format!("Its {key_type} key fingerprint is")),
                Line::styled(fingerprint.clone(), Style::default().fg(theme::ACCENT)),
                Line::styled(
                    format!("Trust it and record it in {}?", known_hosts_file.display()),
                    theme::dim(),
                ),
            ],
            &[("y", "trust"), ("n", "refuse")],
        ),
        Question::Passphrase {
            alias,
            key,
            attempt,
        } => (
            "Passphrase",
            vec![
                Line::styled(
                    format!("{} needs its passphrase (for {alias})", key.display()),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Line::styled(
                    if *attempt > 1 {
                        format!("attempt {attempt} of 3: the last one was wrong")
                    } else {
                        String::new()
                    },
                    theme::error(),
                ),
                Line::raw(format!(
                    "passphrase: {}",
                    "•".repeat(prompt.input.chars().count())
                )),
                Line::styled("It is used once and never written anywhere.", theme::dim()),
            ],
            &[("Enter", "unlock"), ("Esc", "skip this key")],
        ),
    };
    let inner = frame_box(frame, layout::centered(area, 76, 9), title);
    let mut lines = lines;
    let mut spans = Vec::new();
    for (key, what) in keys {
        spans.push(Span::styled(format!(" {key} "), theme::key()));
        spans.push(Span::raw(format!(" {what}   ")));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(spans));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }),
        inner.inner(ratatui::layout::Margin::new(1, 0)),
    );
}

pub fn add_host(frame: &mut Frame, area: Rect, input: &str, error: Option<&str>) {
    let inner = frame_box(frame, layout::centered(area, 70, 7), "Add host");
    let lines = vec![
        Line::raw("An alias from ~/.ssh/config, or user@host:port"),
        Line::from(vec![
            Span::styled("host: ", theme::dim()),
            Span::styled(
                format!("{input}▏"),
                Style::default().add_modifier(Modifier::BOLD),
            ),
        ]),
        Line::styled(error.unwrap_or("").to_string(), theme::error()),
        Line::from(vec![
            Span::styled(" Enter ", theme::key()),
            Span::raw(" add and connect   "),
            Span::styled(" Esc ", theme::key()),
            Span::raw(" cancel"),
        ]),
    ];
    frame.render_widget(
        Paragraph::new(lines),
        inner.inner(ratatui::layout::Margin::new(1, 0)),
    );
}

pub fn message(frame: &mut Frame, area: Rect, title: &str, text: &str) {
    let inner = frame_box(frame, layout::centered(area, 40, 3), title);
    frame.render_widget(Paragraph::new(Line::raw(text.to_string())), inner);
}
