//! The dispatch dialog's part of `update`: its keys, and the request it
//! sends.

use crossterm::event::KeyEvent;

use super::{DispatchForm, FormOutcome, build_request};
use crate::host::PtySize;
use crate::protocol::Command;
use crate::ui::action::Effect;
use crate::ui::layout;
use crate::ui::state::{Modal, State, View};

/// Keys while the dialog is open: Ctrl-S sends the request, Esc cancels.
pub fn on_key(
    state: &mut State,
    mut form: Box<DispatchForm>,
    key: KeyEvent,
    effects: &mut Vec<Effect>,
) {
    match form.handle_key(key, state) {
        FormOutcome::Cancel => {}
        FormOutcome::Continue => state.modal = Some(Modal::Dispatch(form)),
        FormOutcome::Submit => match build_request(state, &form, new_pane_size(state)) {
            Ok(request) => {
                state.selected_project = form.project;
                effects.push(Effect::Send(Command::Dispatch(request)));
            }
            Err(e) => {
                form.error = Some(e);
                state.modal = Some(Modal::Dispatch(form));
            }
        },
    }
}

/// The size a new task's PTY starts with: the pane it will appear in.
fn new_pane_size(state: &State) -> PtySize {
    let inner = match state.view {
        View::Dashboard => state.dashboard().pane_inner,
        View::Grid => {
            let (cells, _) = layout::grid(
                state.area,
                (state.tasks.len() + 1).min(layout::grid_capacity(state.area)),
            );
            cells.last().map(|c| layout::inner(*c)).unwrap_or_default()
        }
    };
    PtySize {
        rows: inner.height,
        cols: inner.width,
    }
}
