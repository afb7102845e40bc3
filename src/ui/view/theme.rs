//! Colours and styles, in one place so views stay consistent.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use crate::attention::ActivityState;
use crate::protocol::task::{TaskRecord, TaskState};

pub const ACCENT: Color = Color::Cyan;

pub fn border(focused: bool) -> Style {
    if focused {
        Style::default().fg(ACCENT)
    } else {
        Style::default().fg(Color::DarkGray)
    }
}

pub fn title(focused: bool) -> Style {
    let style = Style::default().add_modifier(Modifier::BOLD);
    if focused { style.fg(ACCENT) } else { style }
}

/// The selected row. The foreground is set too, so dim or coloured text on
/// the row stays readable against the highlight.
pub fn selected(focused: bool) -> Style {
    if focused {
        Style::default().bg(Color::Cyan).fg(Color::Black)
    } else {
        Style::default().bg(Color::Indexed(238)).fg(Color::White)
    }
}

pub fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

pub fn key() -> Style {
    Style::default().fg(Color::Black).bg(Color::Gray)
}

/// A dialog's last line: each key, then what it does.
pub fn key_hints(keys: &[(&str, &str)]) -> Line<'static> {
    let spans = keys.iter().flat_map(|(key, what)| {
        [
            Span::styled(format!(" {key} "), self::key()),
            Span::raw(format!(" {what}   ")),
        ]
    });
    Line::from(spans.collect::<Vec<_>>())
}

pub fn error() -> Style {
    Style::default().fg(Color::Red)
}

pub fn ok() -> Style {
    Style::default().fg(Color::Green)
}

/// A task's glyph and its style: what it is doing while it runs, its end
/// state once it has ended.
pub fn task_glyph(task: &TaskRecord) -> (&'static str, Style) {
    match task.live_activity() {
        Some(a) => (activity_glyph(a.state), activity(a.state)),
        None => ("●", state(&task.state)),
    }
}

fn activity_glyph(state: ActivityState) -> &'static str {
    match state {
        ActivityState::Working => "●",
        ActivityState::Waiting => "◆",
        ActivityState::Idle => "○",
    }
}

pub fn activity(state: ActivityState) -> Style {
    match state {
        ActivityState::Working => Style::default().fg(Color::Green),
        ActivityState::Waiting => Style::default()
            .fg(Color::Yellow)
            .add_modifier(Modifier::BOLD),
        ActivityState::Idle => Style::default().fg(Color::Blue),
    }
}

pub fn state(state: &TaskState) -> Style {
    let color = match state {
        TaskState::Starting | TaskState::Stopping => Color::Yellow,
        TaskState::Running => Color::Green,
        TaskState::Exited { code: 0 } => Color::Blue,
        TaskState::Exited { .. } | TaskState::Failed { .. } => Color::Red,
        TaskState::Stopped { .. } => Color::Magenta,
        TaskState::Lost => Color::DarkGray,
    };
    Style::default().fg(color)
}
