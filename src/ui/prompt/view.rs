//! A daemon's question, drawn.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};

use super::Prompt;
use crate::protocol::Question;
use crate::ui::layout;
use crate::ui::view::modal::frame_box;
use crate::ui::view::theme;

/// A question from the daemon: trust a new host key, or a passphrase.
pub fn draw(frame: &mut Frame, area: Rect, prompt: &Prompt) {
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
    lines.push(Line::raw(""));
    lines.push(theme::key_hints(keys));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: true }),
        inner.inner(ratatui::layout::Margin::new(1, 0)),
    );
}
