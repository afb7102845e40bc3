//! The add-host dialog's drawing.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::AddHost;
use crate::ui::layout;
use crate::ui::view::modal::frame_box;
use crate::ui::view::theme;

pub fn draw(frame: &mut Frame, area: Rect, dialog: &AddHost) {
    let (input, error) = (dialog.input.as_str(), dialog.error.as_deref());
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
        theme::key_hints(&[("Enter", "add and connect"), ("Esc", "cancel")]),
    ];
    frame.render_widget(
        Paragraph::new(lines),
        inner.inner(ratatui::layout::Margin::new(1, 0)),
    );
}
