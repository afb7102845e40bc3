//! Views: pure functions from state (and the task screens) to a frame.

mod approval;
mod lists;
pub mod modal;
mod pane;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};

use super::layout::{self, MIN_HEIGHT, MIN_WIDTH};
use super::state::{Focus, Modal, State, View};
use crate::daemon::client::Frames;
use crate::keymap::Command;
use crate::protocol::Level;

const YES_NO: &[(&str, &str)] = &[("y", "yes"), ("n", "no")];

pub fn draw(frame: &mut Frame, state: &State, frames: &Frames) {
    let area = frame.area();
    if layout::too_small(area) {
        return too_small(frame, area);
    }
    let status = match state.view {
        View::Dashboard => {
            let d = state.dashboard();
            lists::projects(frame, d.projects, state);
            lists::hosts(frame, d.hosts, state);
            lists::agents(frame, d.agents, state);
            lists::tasks(frame, d.tasks, state);
            match state.selected_task() {
                Some(task) => {
                    pane::task_pane(frame, d.pane, task, state, frames, true);
                    if let Some(pending) = state.selected_approval() {
                        approval::card(frame, d.pane, pending, task, state.now_ms);
                    }
                }
                None => pane::welcome(frame, d.pane, state),
            }
            d.status
        }
        View::Grid => {
            let (_, status) = layout::grid(area, 1);
            let cells = state.grid_cells();
            if state.tasks.is_empty() {
                let [main, _] = [
                    Rect {
                        height: area.height - 1,
                        ..area
                    },
                    status,
                ];
                pane::welcome(frame, main, state);
            }
            for (id, cell) in cells {
                if let Some(task) = state.task(id) {
                    let selected = state.selected_task == Some(id);
                    pane::task_pane(frame, cell, task, state, frames, selected);
                    if let Some(pending) = state.selected_approval().filter(|_| selected) {
                        approval::card(frame, cell, pending, task, state.now_ms);
                    }
                }
            }
            status
        }
    };
    status_bar(frame, status, state);
    toast(frame, area, status, state);
    match &state.modal {
        Some(Modal::Dispatch(form)) => crate::ui::dispatch::view::draw(frame, area, state, form),
        Some(Modal::Help { top }) => modal::help(frame, area, state, *top),
        Some(Modal::AddHost(dialog)) => crate::ui::add_host::view::draw(frame, area, dialog),
        Some(Modal::AddProject(dialog)) => crate::ui::add_project::view::draw(frame, area, dialog),
        Some(Modal::Review(review)) => {
            let title = match state.task(review.task) {
                Some(t) => format!("Review #{} · {} · {}", t.id, t.spec.agent, t.spec.project),
                None => format!("Review #{}", review.task),
            };
            crate::ui::review::view::draw(frame, area, review, &title);
        }
        Some(Modal::ConfirmDiscard { id, loss }) => {
            let mut lost = Vec::new();
            if !loss.changed_files.is_empty() {
                lost.push(format!(
                    "{} changed file(s): {}",
                    loss.changed_files.len(),
                    loss.changed_files.join(", ")
                ));
            }
            if !loss.unmerged_commits.is_empty() {
                lost.push(format!(
                    "commits only on its branch: {}",
                    loss.unmerged_commits.join("; ")
                ));
            }
            modal::confirm(
                frame,
                area,
                "Discard task",
                &format!("Discard task #{id}? This would lose work:"),
                &lost.join(" · "),
                &[("y", "discard it all"), ("n", "keep it")],
            );
        }
        Some(Modal::ConfirmStop(id)) => {
            let what = state
                .task(*id)
                .map(|t| {
                    format!(
                        "Stop task #{} ({} in {})?",
                        t.id, t.spec.agent, t.spec.project
                    )
                })
                .unwrap_or_else(|| format!("Stop task #{id}?"));
            let detail = format!(
                "SIGTERM to its process group, SIGKILL after {}s.",
                state.settings.stop_grace.as_secs_f64()
            );
            modal::confirm(frame, area, "Stop task", &what, &detail, YES_NO);
        }
        Some(Modal::ConfirmQuit { live }) => modal::confirm(
            frame,
            area,
            "Quit",
            &format!("{live} task(s) running. Quit and leave them running?"),
            "They keep running in the daemon; `flightdeck` shows them again.",
            &[("y", "quit"), ("s", "stop them and quit"), ("n", "cancel")],
        ),
        Some(Modal::OfferProject(project)) => modal::confirm(
            frame,
            area,
            "Add project",
            &format!(
                "Add {} as project \"{}\"?",
                project.path.display(),
                project.name
            ),
            "It is saved to config.toml.",
            YES_NO,
        ),
        None => {}
    }
    if let Some(prompt) = state.prompts.first() {
        crate::ui::prompt::view::draw(frame, area, prompt);
    }
    if state.shutting_down {
        let n = state.live_tasks();
        modal::message(frame, area, "Quitting", &format!("stopping {n} task(s)…"));
    }
}

fn too_small(frame: &mut Frame, area: Rect) {
    let text = vec![
        Line::styled(
            "Terminal too small",
            theme::error().add_modifier(Modifier::BOLD),
        ),
        Line::raw(format!("flightdeck needs {MIN_WIDTH}×{MIN_HEIGHT}")),
        Line::raw(format!("this one is {}×{}", area.width, area.height)),
    ];
    let y = area.height.saturating_sub(3) / 2;
    let r = Rect::new(area.x, area.y + y, area.width, area.height.min(3));
    frame.render_widget(
        Paragraph::new(text)
            .alignment(ratatui::layout::Alignment::Center)
            .wrap(Wrap { trim: true }),
        r,
    );
}

/// Key hints for what has focus, generated from the live keymap; a notice
/// (if any) on the right.
fn status_bar(frame: &mut Frame, area: Rect, state: &State) {
    let hints: &[Command] = match (state.view, state.focus) {
        (View::Grid, _) => &[
            Command::Grid,
            Command::NewTask,
            Command::Attach,
            Command::Stop,
            Command::Help,
            Command::Quit,
        ],
        (_, Focus::Hosts) => &[
            Command::Connect,
            Command::Reprobe,
            Command::AddHost,
            Command::FocusNext,
            Command::Help,
            Command::Quit,
        ],
        (_, Focus::Agents) => &[
            Command::Install,
            Command::Reprobe,
            Command::NewTask,
            Command::FocusNext,
            Command::Help,
            Command::Quit,
        ],
        (_, Focus::Projects) => &[
            Command::NewTask,
            Command::FocusNext,
            Command::Help,
            Command::Quit,
        ],
        (_, Focus::Tasks) => &[
            Command::NewTask,
            Command::Attach,
            Command::Stop,
            Command::ScrollUp,
            Command::Grid,
            Command::Help,
            Command::Quit,
        ],
    };
    let mut spans = Vec::new();
    for cmd in hints {
        let keys = state.keymap.label(*cmd);
        if keys.is_empty() {
            continue;
        }
        spans.push(Span::styled(format!(" {keys} "), theme::key()));
        spans.push(Span::styled(
            format!(" {}  ", cmd.description()),
            theme::dim(),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The latest notice, whole, in a box just above the key bar (which keeps
/// its line), at the left; it goes when the notice times out.
fn toast(frame: &mut Frame, screen: Rect, status: Rect, state: &State) {
    let Some(notice) = &state.notice else {
        return;
    };
    let style = match notice.level {
        Level::Error => theme::error().add_modifier(Modifier::BOLD),
        Level::Info => Style::default().fg(theme::ACCENT),
    };
    // From the left; kept within the task list while an approval card (and
    // its keys) is on the pane.
    let tasks = state.dashboard().tasks;
    let card = state.view == View::Dashboard && state.selected_approval().is_some();
    let room = match card {
        true => tasks.width.saturating_sub(2),
        false => screen.width.saturating_sub(2),
    };
    let left = screen.x + 1;
    let text_width = notice.text.chars().count() as u16;
    let width = (text_width + 4).min(room.max(10));
    let lines = text_width
        .div_ceil(width.saturating_sub(4).max(1))
        .clamp(1, 4);
    let height = (lines + 2).min(status.y.saturating_sub(screen.y));
    let area = Rect::new(left, status.y.saturating_sub(height), width, height);
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(Line::styled(notice.text.clone(), style))
            .wrap(Wrap { trim: true })
            .block(
                Block::bordered()
                    .border_style(style)
                    .padding(Padding::horizontal(1)),
            ),
        area,
    );
}
