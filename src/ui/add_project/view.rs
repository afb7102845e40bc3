//! The add-project dialog's drawing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::AddProject;
use crate::ui::layout;
use crate::ui::view::modal::frame_box;
use crate::ui::view::theme;

pub fn draw(frame: &mut Frame, area: Rect, dialog: &AddProject) {
    let inner = frame_box(frame, layout::centered(area, 76, 8), "Add project");
    let candidates = crate::text::one_line(&dialog.candidates.join("  "), 200);
    let lines = vec![
        Line::raw("A directory (a git repository gets a worktree per task)"),
        Line::from(vec![
            Span::styled("path: ", theme::dim()),
            Span::styled(
                format!("{}▏", dialog.input),
                Style::default().add_modifier(Modifier::BOLD),
            ),
        ]),
        Line::styled(candidates, theme::dim()),
        Line::styled(dialog.error.clone().unwrap_or_default(), theme::error()),
        theme::key_hints(&[("Tab", "complete"), ("Enter", "add"), ("Esc", "cancel")]),
    ];
    frame.render_widget(
        Paragraph::new(lines),
        inner.inner(ratatui::layout::Margin::new(1, 0)),
    );
}
