//! The approval card: an agent's permission request, over the lower part of
//! its task's pane, with the keys that answer it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::theme;
use crate::attention::ActivityState;
use crate::attention::approval::PendingApproval;
use crate::clock::format_duration;
use crate::protocol::task::TaskRecord;

const KEYS: &[(&str, &str)] = &[
    ("1", "allow"),
    ("2", "allow this tool for the rest of the task"),
    ("3", "deny"),
];

pub fn card(
    frame: &mut Frame,
    pane: Rect,
    pending: &PendingApproval,
    task: &TaskRecord,
    now_ms: u64,
) {
    let inner_width = pane.width.saturating_sub(4).max(1) as usize;
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("#{} {} wants to use ", task.id, task.spec.agent),
            theme::title(true),
        ),
        Span::styled(
            pending.request.tool.clone(),
            theme::activity(ActivityState::Waiting),
        ),
        Span::styled(
            format!(
                " · in {} · asked {} ago",
                pending.request.cwd,
                format_duration(now_ms.saturating_sub(pending.since_ms))
            ),
            theme::dim(),
        ),
    ])];
    lines.push(Line::raw(""));
    lines.extend(
        pending
            .request
            .input
            .lines()
            .map(|l| Line::raw(l.to_string())),
    );
    lines.push(Line::raw(""));
    let mut keys = Vec::new();
    for (key, what) in KEYS {
        keys.push(Span::styled(format!(" {key} "), theme::key()));
        keys.push(Span::raw(format!(" {what}   ")));
    }
    lines.push(Line::from(keys));
    // Wrapped lines need room too; at most two thirds of the pane.
    let wanted: usize = lines
        .iter()
        .map(|l| l.width().div_ceil(inner_width).max(1))
        .sum::<usize>()
        + 2;
    let height = (wanted as u16)
        .min(pane.height * 2 / 3)
        .max(5.min(pane.height));
    let area = Rect {
        x: pane.x + 1,
        y: pane.bottom().saturating_sub(height + 1),
        width: pane.width.saturating_sub(2),
        height,
    };
    frame.render_widget(Clear, area);
    let block = Block::bordered()
        .border_style(theme::activity(ActivityState::Waiting))
        .title(Line::styled(
            " Permission request ",
            theme::activity(ActivityState::Waiting),
        ));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
