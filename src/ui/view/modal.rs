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

/// Every line of the help: the keys, then where they are set.
pub fn help_lines(state: &State) -> Vec<Line<'static>> {
    let key = |keys: String, what: String| {
        Line::from(vec![
            Span::styled(format!(" {keys:>14} "), Style::default().fg(theme::ACCENT)),
            Span::raw(format!(" {what}")),
        ])
    };
    let rows = state.keymap.help_rows();
    let mut lines: Vec<Line> = rows
        .iter()
        .filter(|(keys, _)| !keys.is_empty())
        .map(|(keys, what)| key(keys.to_string(), what.to_string()))
        .collect();
    lines.push(Line::raw(""));
    lines.push(key(
        state.settings.detach_key.to_string(),
        "detach from an attached task (it keeps running)".into(),
    ));
    lines.push(key(
        "mouse".into(),
        "click selects · wheel scrolls a pane".into(),
    ));
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(" Config: {}", state.config_path.display()),
        theme::dim(),
    ));
    lines.push(Line::styled(
        " Keys are set under [keys] there. Any other key closes this.",
        theme::dim(),
    ));
    lines
}

/// How many help lines fit on a terminal of `area`.
pub fn help_page(area: Rect) -> usize {
    area.height.saturating_sub(2) as usize
}

/// The help, from line `top` when it does not fit: j/k, PgUp/PgDn, g/G.
pub fn help(frame: &mut Frame, area: Rect, state: &State, top: usize) {
    let lines = help_lines(state);
    let total = lines.len();
    let page = help_page(area).min(total);
    let top = top.min(total - page);
    let title = if page < total {
        format!("Help {}–{} of {total} · j/k scroll", top + 1, top + page)
    } else {
        "Help".to_string()
    };
    let inner = frame_box(frame, layout::centered(area, 70, page as u16 + 2), &title);
    frame.render_widget(Paragraph::new(lines).scroll((top as u16, 0)), inner);
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
