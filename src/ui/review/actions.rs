//! The review's part of `update`: opening it, its keys, and the daemon's
//! answers (diffs, apply results, discard checks).

use crossterm::event::KeyEvent;

use super::{Review, ReviewOutcome, view};
use crate::git::ApplyOutcome;
use crate::protocol::{Command, Event, Level};
use crate::ui::action::Effect;
use crate::ui::state::{Modal, State};

pub fn open(state: &mut State, effects: &mut Vec<Effect>) {
    let Some(task) = state.selected_task() else {
        return state.notify(Level::Info, "no task selected");
    };
    if task.workspace.worktree.is_none() {
        let msg = format!(
            "task #{} ran in place: there is no worktree to review",
            task.id
        );
        return state.notify(Level::Info, msg);
    }
    let id = task.id;
    let title = crate::text::one_line(task.spec.prompt.lines().next().unwrap_or_default(), 200);
    state.modal = Some(Modal::Review(Box::new(Review::new(
        id,
        view::diff_rows(state.area),
        title,
    ))));
    effects.push(Effect::Send(Command::Diff { id }));
}

pub fn discard(state: &mut State, effects: &mut Vec<Effect>) {
    match state.selected_task() {
        Some(task) if task.state.is_live() => {
            let msg = format!(
                "task #{} is running; stop it (x) before discarding it",
                task.id
            );
            state.notify(Level::Info, msg);
        }
        Some(task) => effects.push(Effect::Send(Command::Discard {
            id: task.id,
            force: false,
        })),
        None => state.notify(Level::Info, "no task selected"),
    }
}

pub fn on_key(
    state: &mut State,
    mut review: Box<Review>,
    key: KeyEvent,
    effects: &mut Vec<Effect>,
) {
    let id = review.task;
    match review.handle_key(key) {
        ReviewOutcome::Close => return,
        ReviewOutcome::Continue => {}
        ReviewOutcome::Refresh => {
            review.status = Some("refreshing…".into());
            effects.push(Effect::Send(Command::Diff { id }));
        }
        ReviewOutcome::Apply(strategy) => {
            review.status = Some("applying…".into());
            effects.push(Effect::Send(Command::Apply {
                id,
                files: review.files.clone().unwrap_or_default(),
                selection: review.selection.clone(),
                strategy,
            }));
        }
        ReviewOutcome::Discard => {
            effects.push(Effect::Send(Command::Discard { id, force: false }));
        }
    }
    state.modal = Some(Modal::Review(review));
}

pub fn on_event(state: &mut State, event: Event) {
    let review = match &mut state.modal {
        Some(Modal::Review(review)) => Some(review),
        _ => None,
    };
    match event {
        Event::Diff { id, result } => {
            let Some(review) = review.filter(|r| r.task == id) else {
                return;
            };
            review.status = None;
            match result {
                Ok(files) => review.set_files(files),
                Err(e) => review.error = Some(format!("cannot diff: {e}")),
            }
        }
        Event::Applied { id, result } => {
            let (level, message) = match result {
                Ok(ApplyOutcome::Applied { files, commit }) => {
                    let commit = commit
                        .map(|c| format!(" as {}", &c[..c.len().min(8)]))
                        .unwrap_or_default();
                    (
                        Level::Info,
                        format!("task #{id}: applied {} file(s){commit}", files.len()),
                    )
                }
                Ok(ApplyOutcome::Conflicted { files, reason }) => (
                    Level::Error,
                    format!("task #{id}: not applied, {reason}: {}", files.join(", ")),
                ),
                Err(e) => (Level::Error, format!("task #{id}: apply failed: {e}")),
            };
            if let Some(review) = review.filter(|r| r.task == id) {
                review.status = Some(message.clone());
            }
            state.notify(level, message);
        }
        Event::DiscardCheck { id, loss } => state.modal = Some(Modal::ConfirmDiscard { id, loss }),
        _ => {}
    }
}
