//! A task's live pane: its emulator screen inside a titled frame.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};

use super::theme;
use crate::attention::Source;
use crate::clock::format_duration;
use crate::daemon::client::Frames;
use crate::protocol::task::{TaskRecord, TaskState};
use crate::ui::layout;
use crate::ui::state::State;

pub fn task_pane(
    frame: &mut Frame,
    area: Rect,
    task: &TaskRecord,
    state: &State,
    frames: &Frames,
    selected: bool,
) {
    let scroll = state.scroll.get(&task.id).copied().unwrap_or(0);
    let mut title = vec![
        Span::styled(format!(" #{} ", task.id), theme::title(selected)),
        Span::raw(format!("{} · {} · ", task.spec.agent, task.spec.project)),
        Span::styled(task.state.label(), theme::state(&task.state)),
    ];
    if let Some(ms) = task.duration_ms(state.now_ms) {
        title.push(Span::styled(
            format!(" {}", format_duration(ms)),
            theme::dim(),
        ));
    }
    if let TaskState::Failed { reason } = &task.state {
        title.push(Span::styled(format!(" {reason}"), theme::error()));
    }
    let activity = task.live_activity();
    if let Some(a) = activity {
        let (glyph, style) = theme::task_glyph(task);
        let since = format_duration(state.now_ms.saturating_sub(a.since_ms));
        title.push(Span::raw(" · "));
        title.push(Span::styled(
            format!("{glyph} {} {since}", a.state.label()),
            style,
        ));
    }
    title.push(Span::raw(" "));
    let screen = frames.get(task.id);
    // How far back the frame on screen is: the daemon's word (a deep view
    // knows the log's real length; what was offered before it was built
    // is only the configured depth), the asked-for scroll until it comes.
    let scroll = match &screen {
        Some(s) if s.scroll > 0 => s.scroll as usize,
        Some(s) => scroll.min(s.history as usize),
        None => scroll,
    };
    let mut block = Block::bordered()
        .border_style(theme::border(selected))
        .title(Line::from(title));
    // Why it is doing what it does, on the bottom border: it needs the room.
    if let Some(a) = activity.filter(|a| a.source != Source::Quiet) {
        block = block.title_bottom(Line::styled(
            format!(" {} ", a.describe(state.now_ms)),
            theme::activity(a.state),
        ));
    }
    // The program's own window title (as the agent sets it), on the right.
    if let Some(program_title) = screen.as_ref().and_then(|s| s.title.as_deref()) {
        block =
            block.title(Line::styled(format!(" {program_title} "), theme::dim()).right_aligned());
    }
    if scroll > 0 {
        block = block.title_bottom(
            Line::styled(
                format!(" ↑ {scroll} lines back · End for live "),
                theme::key(),
            )
            .right_aligned(),
        );
    }
    frame.render_widget(block, area);
    let inner = layout::inner(area);
    match screen {
        Some(screen) => screen.render(inner, frame.buffer_mut()),
        None => frame.render_widget(
            Paragraph::new(Line::styled("loading…", theme::dim())),
            inner,
        ),
    }
}

/// What the pane shows before there is any task.
pub fn welcome(frame: &mut Frame, area: Rect, state: &State) {
    let key = |cmd| state.keymap.label(cmd);
    use crate::keymap::Command::*;
    let text = vec![
        Line::styled("flightdeck", theme::title(true)),
        Line::raw(""),
        Line::raw(format!("{}  dispatch an agent on a project", key(NewTask))),
        Line::raw(format!(
            "{}  attach to the selected task (detach: {})",
            key(Attach),
            state.settings.detach_key
        )),
        Line::raw(format!(
            "{}  stop it · {} grid of live panes · {} help",
            key(Stop),
            key(Grid),
            key(Help)
        )),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().border_style(theme::border(false))),
        area,
    );
}
