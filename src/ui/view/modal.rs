//! Dialogs of a few lines drawn over the dashboard (help, confirmations,
//! messages), and the box every dialog is drawn in. Dialogs with a state
//! of their own draw in their own folder (`ui/dispatch/view.rs`, …).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::theme;
use crate::ui::layout;
use crate::ui::state::State;

/// A cleared, bordered box titled `title`; returns its inside.
pub fn frame_box(frame: &mut Frame, area: Rect, title: &str) -> Rect {
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Span::styled(format!(" {title} "), theme::title(true)));
    frame.render_widget(block, area);
    layout::inner(area)
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

pub fn message(frame: &mut Frame, area: Rect, title: &str, text: &str) {
    let inner = frame_box(frame, layout::centered(area, 40, 3), title);
    frame.render_widget(Paragraph::new(Line::raw(text.to_string())), inner);
}
