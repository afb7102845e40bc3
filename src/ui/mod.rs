//! The dashboard: terminal setup, the event loop that turns input and
//! supervisor messages into actions, and the effects `update` asks for.

pub mod action;
mod attach;
pub mod form;
pub mod layout;
pub mod state;
pub mod tty;
pub mod update;
pub mod view;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use color_eyre::Result;
use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use ratatui::layout::Rect;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::config::{Config, Project};
use crate::host::{Host, LocalHost};
use crate::paths::Paths;
use crate::probe;
use crate::supervisor::task::now_ms;
use crate::supervisor::{self, Event, Level, SupervisorConfig, SupervisorHandle};
use action::{Action, Effect};
use state::{Modal, ProjectStatus, State};
use tty::Tui;

/// At most one frame per this interval (~60 fps).
const FRAME: Duration = Duration::from_millis(16);

pub async fn run(config: Config, paths: Paths, offer: Option<Project>) -> Result<()> {
    let mut terminal = tty::enter()?;
    let result = App::new(config, paths, &terminal)?
        .run(&mut terminal, offer)
        .await;
    tty::restore();
    result
}

struct App {
    config: Config,
    state: State,
    supervisor: SupervisorHandle,
    actions: UnboundedSender<Action>,
    actions_rx: tokio::sync::mpsc::UnboundedReceiver<Action>,
}

impl App {
    fn new(config: Config, paths: Paths, terminal: &Tui) -> Result<Self> {
        let mut hosts: HashMap<String, Arc<dyn Host>> = HashMap::new();
        hosts.insert(crate::host::local::LOCAL.into(), Arc::new(LocalHost));
        let supervisor = supervisor::start(
            SupervisorConfig {
                paths,
                stop_grace: config.settings.stop_grace,
                scrollback_lines: config.settings.scrollback_lines,
            },
            hosts,
        );
        let size = terminal.size()?;
        let state = State::new(&config, Rect::new(0, 0, size.width, size.height), now_ms());
        let (actions, actions_rx) = unbounded_channel();
        Ok(App {
            config,
            state,
            supervisor,
            actions,
            actions_rx,
        })
    }

    async fn run(mut self, terminal: &mut Tui, offer: Option<Project>) -> Result<()> {
        if let Some(project) = offer {
            self.state.modal = Some(Modal::OfferProject(project));
        }
        self.state.probing = true;
        self.perform(Effect::Probe);

        let mut input = Some(EventStream::new());
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut dirty = true;
        let mut last_draw = Instant::now() - FRAME;
        loop {
            if dirty && last_draw.elapsed() >= FRAME {
                self.draw(terminal)?;
                dirty = false;
                last_draw = Instant::now();
            }
            let frame_due = tokio::time::Instant::from_std(last_draw + FRAME);
            let action = tokio::select! {
                Some(event) = next_input(&mut input) => match event? {
                    TermEvent::Key(key) => Action::Key(key),
                    TermEvent::Paste(text) => Action::Paste(text),
                    TermEvent::Mouse(mouse) => Action::Mouse(mouse),
                    TermEvent::Resize(width, height) => Action::Resize { width, height },
                    _ => continue,
                },
                Some(event) = self.supervisor.events.recv() => {
                    if let Event::Output { id } = event {
                        // Only redraw for what is on screen; hidden panes stay
                        // marked dirty and so stay quiet until shown.
                        dirty |= self.state.visible_panes().iter().any(|(v, _)| *v == id);
                        continue;
                    }
                    Action::Supervisor(event)
                }
                Some(action) = self.actions_rx.recv() => action,
                _ = tick.tick() => Action::Tick(now_ms()),
                _ = tokio::time::sleep_until(frame_due), if dirty => continue,
            };
            dirty = true;
            let effects = update::update(&mut self.state, action, &self.supervisor.screens);
            for effect in effects {
                match effect {
                    Effect::Exit => return Ok(()),
                    Effect::Attach(id) => {
                        drop(input.take()); // the attach reads stdin raw meanwhile
                        let outcome = attach::run(
                            terminal,
                            &mut self.supervisor,
                            id,
                            self.state.settings.detach_key,
                        )
                        .await;
                        input = Some(EventStream::new());
                        let outcome = outcome?;
                        self.after_attach(id, outcome);
                    }
                    other => self.perform(other),
                }
            }
        }
    }

    fn after_attach(&mut self, id: u64, outcome: attach::Outcome) {
        // The PTY had the whole terminal; make the next sync size it back.
        self.state.sizes.remove(&id);
        for event in outcome.events {
            if !matches!(event, Event::Output { .. }) {
                self.perform_all(Action::Supervisor(event));
            }
        }
        let message = match outcome.reason {
            Some(reason) => format!("detached: {reason}"),
            None => format!("detached from #{id}; it keeps running"),
        };
        self.state.notify(Level::Info, message);
        self.perform_all(Action::Tick(now_ms()));
    }

    fn perform_all(&mut self, action: Action) {
        for effect in update::update(&mut self.state, action, &self.supervisor.screens) {
            self.perform(effect);
        }
    }

    /// Carries out an effect that does not need the terminal.
    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Send(command) => self.supervisor.send(command),
            Effect::Probe => {
                let catalog = self.state.catalog.clone();
                let timeout = self.state.settings.probe_timeout;
                let projects = self.state.projects.clone();
                let tx = self.actions.clone();
                tokio::spawn(async move {
                    let status = tokio::task::spawn_blocking(move || check_projects(&projects))
                        .await
                        .unwrap_or_default();
                    let _ = tx.send(Action::ProjectsChecked(status));
                    let result = probe::probe_host(&LocalHost, &catalog, timeout).await;
                    let _ = tx.send(Action::ProbeDone(result));
                });
            }
            Effect::SaveProject(project) => {
                let saved = self
                    .config
                    .add_project(project.clone())
                    .map(|_| project)
                    .map_err(|e| format!("cannot save {}: {e}", self.config.path.display()));
                let _ = self.actions.send(Action::ProjectSaved(saved));
            }
            Effect::Attach(_) | Effect::Exit => unreachable!("handled by the loop"),
        }
    }

    fn draw(&mut self, terminal: &mut Tui) -> Result<()> {
        for (id, _) in self.state.visible_panes() {
            if let Some(screen) = self.supervisor.screens.get(id) {
                screen.take_dirty();
            }
        }
        terminal.draw(|frame| view::draw(frame, &self.state, &self.supervisor.screens))?;
        Ok(())
    }
}

async fn next_input(input: &mut Option<EventStream>) -> Option<std::io::Result<TermEvent>> {
    match input {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

pub fn check_projects(projects: &[Project]) -> Vec<ProjectStatus> {
    projects
        .iter()
        .map(|p| ProjectStatus {
            exists: p.path.is_dir(),
            git: p.path.join(".git").exists(),
        })
        .collect()
}
