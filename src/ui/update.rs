//! `update(state, action)`: the only place the dashboard's state changes.
//! It returns effects for the runtime to carry out (commands to the
//! supervisor, probes, attach) and never does I/O itself.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind};
use ratatui::layout::Rect;

use super::action::{Action, Effect};
use super::dispatch::DispatchForm;
use super::layout;
use super::state::{Focus, Modal, State, View};
use super::view::modal;
use super::{add_host, add_project, attention, events, hosts_actions, mouse};
use crate::host::PtySize;
use crate::keymap::Command as Key;
use crate::protocol::wire::Watch;
use crate::protocol::{Command, Level};

/// How long a notice stays in the status bar.
const NOTICE_MS: u64 = 6_000;

pub fn update(state: &mut State, action: Action) -> Vec<Effect> {
    let mut effects = Vec::new();
    match action {
        // Per frame, so nothing more: the panes on screen stay the same.
        Action::Frame { id, history } => {
            state.history.insert(id, history);
            return effects;
        }
        Action::Key(key) if key.kind != KeyEventKind::Release => on_key(state, key, &mut effects),
        Action::Key(_) => {}
        Action::Paste(text) => {
            if let Some(Modal::Dispatch(form)) = &mut state.modal {
                form.paste(&text);
            }
        }
        Action::Mouse(mouse) => mouse::on_mouse(state, mouse),
        Action::Resize { width, height } => {
            state.area = Rect::new(0, 0, width, height);
            if let Some(Modal::Review(review)) = &mut state.modal {
                review.page = super::review::view::diff_rows(state.area).max(1);
            }
        }
        Action::Tick(now) => {
            state.now_ms = now;
            if state
                .notice
                .as_ref()
                .is_some_and(|n| now.saturating_sub(n.at_ms) > NOTICE_MS)
            {
                state.notice = None;
            }
            attention::flush_alerts(state, &mut effects);
        }
        Action::Focus(focused) => state.focused = focused,
        Action::Supervisor(event) => events::on_event(state, event, &mut effects),
        Action::ProjectsChecked(status) => state.project_status = status,
        Action::ProjectSaved(Ok(project)) => {
            state.notify(Level::Info, format!("added project {}", project.name));
        }
        Action::ProjectSaved(Err(e)) => state.notify(Level::Error, e),
        Action::HostSaved(Ok(name)) => {
            state.notify(Level::Info, format!("added host {name}; connecting…"));
            if let Some(i) = state.hosts.iter().position(|h| h.name == name) {
                state.selected_host = i;
            }
            effects.push(Effect::Send(Command::Connect { host: name.clone() }));
            hosts_actions::probe(state, Some(name), &mut effects);
        }
        Action::HostSaved(Err(e)) => state.notify(Level::Error, e),
        Action::ConfigReloaded(Ok(config)) => {
            events::adopt_config(state, &config);
            let message = format!(
                "config reloaded: {} project(s), {} agent(s), {} host(s)",
                config.projects.len(),
                config.catalog.agents().len(),
                config.hosts.len()
            );
            state.notify(Level::Info, message);
            hosts_actions::probe(state, None, &mut effects);
        }
        Action::ConfigReloaded(Err(e)) => {
            state.notify(Level::Error, format!("config not reloaded: {e}"));
        }
        Action::DaemonLost => state.notify(Level::Error, "lost the daemon; reconnecting…"),
        Action::DaemonBack => {
            // A new daemon knows nothing of this client: watch and size again.
            state.watching.clear();
            state.sizes.clear();
            state.notify(Level::Info, "reconnected to the daemon");
        }
    }
    sync_panes(state, &mut effects);
    effects
}

fn on_key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) {
    if state.shutting_down || super::prompt::on_key(state, key, effects) {
        return;
    }
    match state.modal.take() {
        Some(Modal::Dispatch(form)) => super::dispatch::actions::on_key(state, form, key, effects),
        Some(Modal::Help { top }) => {
            // Keys that scroll keep it open; any other closes it.
            let page = modal::help_page(state.area).max(1);
            let last = modal::help_lines(state).len().saturating_sub(page);
            let top = match key.code {
                KeyCode::Down | KeyCode::Char('j') => Some(top + 1),
                KeyCode::Up | KeyCode::Char('k') => Some(top.saturating_sub(1)),
                KeyCode::PageDown | KeyCode::Char(' ') => Some(top + page),
                KeyCode::PageUp => Some(top.saturating_sub(page)),
                KeyCode::Home | KeyCode::Char('g') => Some(0),
                KeyCode::End | KeyCode::Char('G') => Some(last),
                _ => None,
            };
            if let Some(top) = top.filter(|_| last > 0) {
                state.modal = Some(Modal::Help { top: top.min(last) });
            }
        }
        Some(Modal::Review(review)) => super::review::actions::on_key(state, review, key, effects),
        Some(Modal::AddProject(mut dialog)) => {
            let taken: Vec<String> = state.projects.iter().map(|p| p.name.clone()).collect();
            match dialog.on_key(key, &taken) {
                add_project::Outcome::Continue => state.modal = Some(Modal::AddProject(dialog)),
                add_project::Outcome::Cancel => {}
                add_project::Outcome::Save(project) => add_project(state, project, effects),
            }
        }
        Some(Modal::AddHost(mut dialog)) => match dialog.on_key(key) {
            add_host::Outcome::Continue => state.modal = Some(Modal::AddHost(dialog)),
            add_host::Outcome::Cancel => {}
            add_host::Outcome::Save(host) => effects.push(Effect::SaveHost(host)),
        },
        Some(Modal::ConfirmDiscard { id, .. }) => {
            if confirmed(key) {
                effects.push(Effect::Send(Command::Discard { id, force: true }));
            }
        }
        Some(Modal::ConfirmStop(id)) => {
            if confirmed(key) {
                effects.push(Effect::Send(Command::Stop { id }));
            }
        }
        Some(Modal::ConfirmQuit { .. }) => match key.code {
            // Agents keep running in the daemon.
            KeyCode::Char('y' | 'Y') | KeyCode::Enter => effects.push(Effect::Exit),
            KeyCode::Char('s' | 'S') => begin_shutdown(state, effects),
            _ => {}
        },
        Some(Modal::OfferProject(project)) => {
            if confirmed(key) {
                add_project(state, project, effects);
            }
        }
        None => {
            if attention::on_approval_key(state, key, effects) {
                return;
            }
            if let Some(command) = state.keymap.lookup(&key) {
                on_command(state, command, effects);
            }
        }
    }
}

/// A project the user added: listed and selected at once, saved to the
/// config, its directory checked.
fn add_project(state: &mut State, project: crate::config::Project, effects: &mut Vec<Effect>) {
    state.projects.push(project.clone());
    state.project_status.push(super::state::ProjectStatus {
        exists: true,
        git: false,
    });
    state.selected_project = state.projects.len() - 1;
    effects.push(Effect::SaveProject(project));
    effects.push(Effect::Probe(None));
}

fn confirmed(key: KeyEvent) -> bool {
    matches!(key.code, KeyCode::Char('y' | 'Y') | KeyCode::Enter)
}

fn on_command(state: &mut State, command: Key, effects: &mut Vec<Effect>) {
    match command {
        Key::NewTask => {
            if state.projects.is_empty() {
                state.notify(
                    Level::Error,
                    "no projects yet: add [[project]] name/path to config.toml",
                );
            } else {
                let project = state.selected_project.min(state.projects.len() - 1);
                let form = DispatchForm::new(state, project, state.selected_agent);
                state.modal = Some(Modal::Dispatch(Box::new(form)));
            }
        }
        Key::Attach => match state.selected_task() {
            Some(task) if task.state.is_live() => effects.push(Effect::Attach(task.id)),
            Some(task) => {
                let msg = format!(
                    "task #{} has {}; nothing to attach to",
                    task.id,
                    task.state.label()
                );
                state.notify(Level::Info, msg);
            }
            None => state.notify(Level::Info, "no task selected"),
        },
        Key::Stop => match state.selected_task() {
            Some(task) if task.state.is_live() => state.modal = Some(Modal::ConfirmStop(task.id)),
            Some(task) => {
                let msg = format!("task #{} is not running ({})", task.id, task.state.label());
                state.notify(Level::Info, msg);
            }
            None => state.notify(Level::Info, "no task selected"),
        },
        Key::Reprobe => {
            let host = (state.focus == Focus::Hosts).then(|| state.host().to_string());
            hosts_actions::probe(state, host, effects);
        }
        Key::Install => hosts_actions::install(state, effects),
        Key::AddHost => state.modal = Some(Modal::AddHost(Default::default())),
        Key::AddProject if state.remote.is_some() => state.notify(
            Level::Info,
            "this dashboard shows another host's daemon: add projects there (flightdeck project add)",
        ),
        Key::AddProject => {
            let dialog = add_project::AddProject::at(std::path::Path::new("~"));
            state.modal = Some(Modal::AddProject(dialog));
        }
        Key::Connect => hosts_actions::connect(state, effects),
        Key::Grid => {
            state.view = match state.view {
                View::Dashboard => View::Grid,
                View::Grid => View::Dashboard,
            }
        }
        Key::Help => state.modal = Some(Modal::Help { top: 0 }),
        Key::NextWaiting => attention::next_waiting(state),
        Key::AttentionFirst => attention::toggle_first(state),
        Key::Review => super::review::actions::open(state, effects),
        Key::Discard => super::review::actions::discard(state, effects),
        Key::Quit => {
            let live = state.live_tasks();
            if live > 0 {
                state.modal = Some(Modal::ConfirmQuit { live });
            } else {
                effects.push(Effect::Exit);
            }
        }
        Key::FocusNext | Key::FocusPrev => {
            let order = [Focus::Projects, Focus::Hosts, Focus::Agents, Focus::Tasks];
            let i = order.iter().position(|f| *f == state.focus).unwrap_or(0);
            let delta = if command == Key::FocusNext {
                1
            } else {
                order.len() - 1
            };
            state.focus = order[(i + delta) % order.len()];
        }
        Key::Up | Key::Down | Key::Left | Key::Right => move_selection(state, command),
        Key::ScrollUp | Key::ScrollDown | Key::ScrollBottom | Key::ScrollTop => {
            if let Some(id) = state.selected_task {
                let page = state.dashboard().pane_inner.height.max(2) as usize / 2;
                let delta = match command {
                    Key::ScrollUp => page as isize,
                    Key::ScrollDown => -(page as isize),
                    Key::ScrollTop => isize::MAX / 2,
                    _ => isize::MIN / 2,
                };
                state.scroll_by(id, delta);
            }
        }
    }
}

/// Stops every task in the daemon, then quits (on [`Event::ShutDown`]).
fn begin_shutdown(state: &mut State, effects: &mut Vec<Effect>) {
    state.shutting_down = true;
    effects.push(Effect::Send(Command::Shutdown));
}

fn move_selection(state: &mut State, command: Key) {
    if state.view == View::Grid {
        let cells = state.grid_cells();
        let (cols, _) = layout::grid_shape(state.area, cells.len());
        let step = match command {
            Key::Left => -1,
            Key::Right => 1,
            Key::Up => -(cols as isize),
            _ => cols as isize,
        };
        select_task_by_offset(state, step);
        return;
    }
    let delta = match command {
        Key::Up => -1,
        Key::Down => 1,
        Key::Left => {
            state.focus = Focus::Projects;
            return;
        }
        _ => {
            state.focus = Focus::Tasks;
            return;
        }
    };
    match state.focus {
        Focus::Projects => {
            state.selected_project = step(state.selected_project, delta, state.projects.len())
        }
        Focus::Hosts => {
            state.selected_host = step(state.selected_host, delta, state.hosts.len());
        }
        Focus::Agents => {
            state.selected_agent = step(state.selected_agent, delta, state.catalog.agents().len())
        }
        Focus::Tasks => select_task_by_offset(state, delta),
    }
}

fn step(i: usize, delta: isize, len: usize) -> usize {
    (i as isize + delta).clamp(0, len.saturating_sub(1) as isize) as usize
}

fn select_task_by_offset(state: &mut State, delta: isize) {
    if state.tasks.is_empty() {
        return;
    }
    let i = step(state.selected_task_index(), delta, state.tasks.len());
    state.selected_task = Some(state.tasks[i].id);
}

/// Keeps the daemon sending frames of exactly the panes on screen, and
/// PTYs sized to the panes they are shown in.
fn sync_panes(state: &mut State, effects: &mut Vec<Effect>) {
    let mut watches = Vec::new();
    for (id, inner) in state.visible_panes() {
        let size = PtySize {
            rows: inner.height,
            cols: inner.width,
        }
        .clamped();
        let scroll = state.scroll.get(&id).copied().unwrap_or(0);
        watches.push(Watch { id, scroll, size });
        if state.sizes.get(&id) != Some(&size) {
            state.sizes.insert(id, size);
            effects.push(Effect::Send(Command::Resize { id, size }));
        }
    }
    if watches != state.watching {
        state.watching = watches.clone();
        effects.push(Effect::Watch(watches));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Project};
    use crate::protocol::Event;
    use crate::protocol::task::{TaskRecord, TaskState};
    use crossterm::event::{KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

    fn state() -> State {
        let mut config = Config::defaults("/c/config.toml".into());
        config.projects = vec![
            Project {
                name: "a".into(),
                path: "/a".into(),
                ..Default::default()
            },
            Project {
                name: "b".into(),
                path: "/b".into(),
                ..Default::default()
            },
        ];
        State::new(&config, Rect::new(0, 0, 120, 36), 0)
    }

    fn task(id: u64, state: TaskState) -> Box<TaskRecord> {
        Box::new(TaskRecord::sample(id, state))
    }

    fn key(c: char) -> Action {
        Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn run(state: &mut State, action: Action) -> Vec<Effect> {
        update(state, action)
    }

    #[test]
    fn new_tasks_are_selected_and_listed_newest_first() {
        let mut s = state();
        run(
            &mut s,
            Action::Supervisor(Event::Task(task(1, TaskState::Running))),
        );
        run(
            &mut s,
            Action::Supervisor(Event::Task(task(2, TaskState::Running))),
        );
        assert_eq!(s.tasks.iter().map(|t| t.id).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(s.selected_task, Some(2));
        run(
            &mut s,
            Action::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)),
        );
        assert_eq!(s.selected_task, Some(1));
    }

    #[test]
    fn stop_and_quit_ask_first() {
        let mut s = state();
        run(
            &mut s,
            Action::Supervisor(Event::Task(task(7, TaskState::Running))),
        );
        assert!(run(&mut s, key('x')).is_empty());
        assert!(matches!(s.modal, Some(Modal::ConfirmStop(7))));
        let effects = run(&mut s, key('y'));
        assert!(matches!(
            effects[..],
            [Effect::Send(Command::Stop { id: 7 })]
        ));

        run(&mut s, key('q'));
        assert!(matches!(s.modal, Some(Modal::ConfirmQuit { live: 1 })));
        assert!(run(&mut s, key('n')).is_empty());
        assert!(s.modal.is_none() && !s.shutting_down);
        // y quits and leaves the agents running; s stops them first.
        run(&mut s, key('q'));
        assert!(matches!(run(&mut s, key('y'))[..], [Effect::Exit]));
        run(&mut s, key('q'));
        assert!(matches!(
            run(&mut s, key('s'))[..],
            [Effect::Send(Command::Shutdown)]
        ));
        assert!(s.shutting_down);
    }

    #[test]
    fn attach_only_to_live_tasks() {
        let mut s = state();
        run(
            &mut s,
            Action::Supervisor(Event::Task(task(1, TaskState::Exited { code: 0 }))),
        );
        assert!(
            run(
                &mut s,
                Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE))
            )
            .is_empty()
        );
        assert!(
            s.notice
                .as_ref()
                .unwrap()
                .text
                .contains("nothing to attach to")
        );
        run(
            &mut s,
            Action::Supervisor(Event::Task(task(2, TaskState::Running))),
        );
        let effects = run(
            &mut s,
            Action::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        );
        assert!(matches!(effects[..], [Effect::Attach(2)]));
    }

    #[test]
    fn tab_cycles_focus_and_click_selects_rows() {
        let mut s = state();
        assert_eq!(s.focus, Focus::Tasks);
        run(
            &mut s,
            Action::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE)),
        );
        assert_eq!(s.focus, Focus::Projects);
        let projects = layout::inner(s.dashboard().projects);
        let click = MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: projects.x + 2,
            row: projects.y + 1,
            modifiers: KeyModifiers::NONE,
        };
        run(&mut s, Action::Mouse(click));
        assert_eq!(s.selected_project, 1);
        let agents = layout::inner(s.dashboard().agents);
        run(
            &mut s,
            Action::Mouse(MouseEvent {
                column: agents.x,
                row: agents.y + 3,
                ..click
            }),
        );
        assert_eq!((s.focus, s.selected_agent), (Focus::Agents, 3));
    }

    #[test]
    fn visible_panes_are_watched_and_sized_once() {
        let mut s = state();
        let effects = run(
            &mut s,
            Action::Supervisor(Event::Task(task(4, TaskState::Lost))),
        );
        let inner = s.dashboard().pane_inner;
        let size = PtySize {
            rows: inner.height,
            cols: inner.width,
        };
        assert!(
            matches!(
                &effects[..],
                [Effect::Send(Command::Resize { id: 4, size: a }), Effect::Watch(w)]
                    if *a == size && w[..] == [Watch { id: 4, scroll: 0, size }]
            ),
            "{effects:?}"
        );
        // Asked once only.
        assert!(run(&mut s, Action::Tick(1)).is_empty());
    }

    #[test]
    fn dialog_refuses_a_nul_byte_in_the_prompt() {
        let mut s = state();
        run(&mut s, key('n'));
        run(&mut s, Action::Paste("bad\0prompt".into()));
        run(
            &mut s,
            Action::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)),
        );
        match &s.modal {
            Some(Modal::Dispatch(form)) => {
                let error = form.error.as_deref().unwrap();
                assert!(error.contains("NUL"), "{error}");
            }
            _ => panic!("dialog closed"),
        }
    }
}
