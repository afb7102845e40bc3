//! Mouse: the wheel scrolls the pane under it, a click selects a pane or
//! a list row.

use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::layout;
use super::state::{Focus, State, View};

/// Lines one wheel notch scrolls.
const WHEEL_LINES: usize = 3;

pub(super) fn on_mouse(state: &mut State, mouse: MouseEvent) {
    if state.modal.is_some() || layout::too_small(state.area) {
        return;
    }
    let at = Position::new(mouse.column, mouse.row);
    let pane_under = state
        .visible_panes()
        .into_iter()
        .find(|(_, r)| layout_outer(*r).contains(at));
    match mouse.kind {
        MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
            if let Some((id, _)) = pane_under {
                let delta = if mouse.kind == MouseEventKind::ScrollUp {
                    WHEEL_LINES as isize
                } else {
                    -(WHEEL_LINES as isize)
                };
                state.scroll_by(id, delta);
            }
        }
        MouseEventKind::Down(MouseButton::Left) => {
            if let Some((id, _)) = pane_under {
                state.selected_task = Some(id);
                return;
            }
            if state.view != View::Dashboard {
                return;
            }
            let d = state.dashboard();
            let lists = [
                (
                    Focus::Projects,
                    d.projects,
                    state.projects.len(),
                    state.selected_project,
                ),
                (
                    Focus::Hosts,
                    d.hosts,
                    state.hosts.len(),
                    state.selected_host,
                ),
                (
                    Focus::Agents,
                    d.agents,
                    state.catalog.agents().len(),
                    state.selected_agent,
                ),
                (
                    Focus::Tasks,
                    d.tasks,
                    state.tasks.len(),
                    state.selected_task_index(),
                ),
            ];
            for (focus, area, len, selected) in lists {
                let inner = layout::inner(area);
                if !inner.contains(at) {
                    continue;
                }
                state.focus = focus;
                let row =
                    layout::list_offset(selected, len, inner.height) + (at.y - inner.y) as usize;
                if row < len {
                    match focus {
                        Focus::Projects => state.selected_project = row,
                        Focus::Hosts => state.selected_host = row,
                        Focus::Agents => state.selected_agent = row,
                        Focus::Tasks => state.selected_task = Some(state.tasks[row].id),
                    }
                }
            }
        }
        _ => {}
    }
}

/// The frame around a pane's inner area.
fn layout_outer(inner: Rect) -> Rect {
    Rect::new(
        inner.x.saturating_sub(1),
        inner.y.saturating_sub(1),
        inner.width + 2,
        inner.height + 2,
    )
}
