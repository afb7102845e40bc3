//! The dashboard: terminal setup, the event loop that turns input and daemon
//! messages into actions, and the effects `update` asks for. All task state
//! lives in the daemon; this is one of its clients.

pub mod action;
mod add_host;
mod add_project;
mod attach;
mod attention;
pub mod dispatch;
mod events;
mod hosts_actions;
mod input;
pub mod layout;
mod mouse;
mod notify;
mod prompt;
pub mod review;
pub mod state;
pub mod tty;
pub mod update;
pub mod view;

use std::time::{Duration, Instant};

use color_eyre::Result;
use crossterm::event::Event as TermEvent;
use ratatui::layout::Rect;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use crate::clock::now_ms;
use crate::config::{Config, Project};
use crate::daemon::client::DaemonClient;
use crate::paths::Paths;
use crate::protocol::{Command, Level, Settings};
use action::{Action, Effect};
use state::{Modal, ProjectStatus, State};
use tty::Tui;

/// At most one frame per this interval (~60 fps).
const FRAME: Duration = Duration::from_millis(16);
const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// Which daemon the dashboard talks to.
pub enum Link {
    /// This machine's (started on demand).
    Local(Paths),
    /// Another machine's, through `command` (`flightdeck proxy`) over SSH:
    /// its agents survive the network between here and there.
    Remote {
        host: std::sync::Arc<crate::host::ssh::SshHost>,
        command: String,
    },
}

impl Link {
    async fn connect(&self) -> Result<DaemonClient, crate::daemon::client::ConnectError> {
        match self {
            Link::Local(paths) => DaemonClient::connect_or_start(paths).await,
            Link::Remote { host, command } => DaemonClient::connect_remote(host, command).await,
        }
    }
}

/// Connects to (or starts) the daemon, then runs the dashboard. Connection
/// errors are reported before the terminal is taken over.
pub async fn run(config: Config, link: Link, offer: Option<Project>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let client = link.connect().await?;
    // A signal that ends us gives the terminal back first (the agents are
    // the daemon's and keep running).
    let mut term = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let mut quit = signal(SignalKind::quit())?;
    let mut terminal = tty::enter()?;
    let result = match App::new(config, link, client, &terminal) {
        Ok(app) => tokio::select! {
            result = app.run(&mut terminal, offer) => result,
            _ = term.recv() => Err(color_eyre::eyre::eyre!("terminated (SIGTERM)")),
            _ = hangup.recv() => Err(color_eyre::eyre::eyre!("the terminal hung up (SIGHUP)")),
            _ = quit.recv() => Err(color_eyre::eyre::eyre!("quit (SIGQUIT)")),
        },
        Err(e) => Err(e),
    };
    tty::restore();
    result
}

struct App {
    config: Config,
    link: Link,
    state: State,
    client: DaemonClient,
    actions: UnboundedSender<Action>,
    actions_rx: tokio::sync::mpsc::UnboundedReceiver<Action>,
    connected: bool,
    /// When the config file was last read (or written by us).
    config_mtime: Option<std::time::SystemTime>,
}

impl App {
    fn new(config: Config, link: Link, client: DaemonClient, terminal: &Tui) -> Result<Self> {
        let size = terminal.size()?;
        let mut state = State::new(&config, Rect::new(0, 0, size.width, size.height), now_ms());
        if let Link::Remote { host, .. } = &link {
            state.remote = Some(host.target().alias.clone());
            state.projects.clear();
        }
        let (actions, actions_rx) = unbounded_channel();
        let app = App {
            config,
            link,
            state,
            client,
            actions,
            actions_rx,
            connected: true,
            config_mtime: None,
        };
        let mut app = app;
        app.config_mtime = app.config_file_mtime();
        app.configure_daemon();
        Ok(app)
    }

    fn config_file_mtime(&self) -> Option<std::time::SystemTime> {
        std::fs::metadata(&self.config.path)
            .and_then(|m| m.modified())
            .ok()
    }

    /// The config file changed since it was read: read it again. A good
    /// one replaces the dashboard's config and the daemon's settings; a bad
    /// one is reported and the running config kept.
    fn config_changed(&mut self) -> Option<Action> {
        let mtime = self.config_file_mtime();
        if mtime == self.config_mtime {
            return None;
        }
        self.config_mtime = mtime;
        Some(Action::ConfigReloaded(
            match Config::load(&self.config.path) {
                Ok(config) => {
                    self.config = config.clone();
                    self.configure_daemon();
                    Ok(Box::new(config))
                }
                Err(e) => Err(e.to_string()),
            },
        ))
    }

    /// The daemon runs with the settings of the newest client's config (a
    /// remote daemon keeps its own host's).
    fn configure_daemon(&self) {
        // A dashboard shows approval cards: agents' permission requests wait
        // for it instead of going straight back to the agent's own prompt.
        self.client.send(Command::Approver { present: true });
        if matches!(self.link, Link::Local(_)) {
            self.client
                .send(Command::Configure(Settings::from_config(&self.config)));
        }
    }

    async fn run(mut self, terminal: &mut Tui, offer: Option<Project>) -> Result<()> {
        if let Some(project) = offer {
            self.state.modal = Some(Modal::OfferProject(project));
        }
        let mut first = Vec::new();
        hosts_actions::probe(&mut self.state, None, &mut first);
        for effect in first {
            self.perform(effect);
        }

        // The daemon's snapshot arrives within a few ms: wait for it, so the
        // first frame shows the tasks instead of an empty list.
        if let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(50), self.client.events.recv()).await
        {
            self.perform_all(Action::Supervisor(event));
        }
        let mut input = input::TermInput::start()?;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut reconnect = tokio::time::interval(RECONNECT_EVERY);
        let mut dirty = true;
        let mut last_draw = Instant::now() - FRAME;
        let mut frame_log = FrameLog::from_env();
        loop {
            if dirty && last_draw.elapsed() >= FRAME {
                last_draw = Instant::now();
                terminal.draw(|frame| view::draw(frame, &self.state, &self.client.frames))?;
                frame_log.record(last_draw);
                dirty = false;
            }
            let frame_due = tokio::time::Instant::from_std(last_draw + FRAME);
            let action = tokio::select! {
                Some(event) = input.next() => match event? {
                    TermEvent::Key(key) => Action::Key(key),
                    TermEvent::Paste(text) => Action::Paste(text),
                    TermEvent::Mouse(mouse) => Action::Mouse(mouse),
                    TermEvent::Resize(width, height) => Action::Resize { width, height },
                    TermEvent::FocusGained => Action::Focus(true),
                    TermEvent::FocusLost => Action::Focus(false),
                },
                Some(id) = self.client.frame_updates.recv(), if self.connected => {
                    let history = self.client.frames.get(id).map_or(0, |f| f.history as usize);
                    update::update(&mut self.state, Action::Frame { id, history });
                    // Only redraw for what is on screen.
                    dirty |= self.state.visible_panes().iter().any(|(v, _)| *v == id);
                    continue;
                }
                event = self.client.events.recv(), if self.connected => match event {
                    Some(event) => Action::Supervisor(event),
                    None => {
                        self.connected = false;
                        Action::DaemonLost
                    }
                },
                _ = reconnect.tick(), if !self.connected => {
                    match self.link.connect().await {
                        Ok(client) => {
                            self.client = client;
                            self.connected = true;
                            self.configure_daemon();
                            Action::DaemonBack
                        }
                        Err(_) => continue,
                    }
                }
                Some(action) = self.actions_rx.recv() => action,
                _ = tick.tick() => match self.config_changed() {
                    Some(reloaded) => reloaded,
                    None => Action::Tick(now_ms()),
                },
                _ = tokio::time::sleep_until(frame_due), if dirty => continue,
            };
            dirty = true;
            let effects = update::update(&mut self.state, action);
            for effect in effects {
                match effect {
                    Effect::Exit => return Ok(()),
                    Effect::Attach(id) => {
                        let stdin = input.take_stdin().await; // read raw meanwhile
                        let outcome = attach::run(
                            terminal,
                            &mut self.client,
                            id,
                            self.state.settings.detach_key,
                        )
                        .await;
                        drop(stdin);
                        self.after_attach(id, outcome?);
                    }
                    other => self.perform(other),
                }
            }
        }
    }

    fn after_attach(&mut self, id: u64, outcome: attach::Outcome) {
        // The attach changed the PTY size and what is watched: sync again.
        self.state.sizes.remove(&id);
        self.state.watching.clear();
        for event in outcome.events {
            self.perform_all(Action::Supervisor(event));
        }
        let message = match outcome.reason {
            Some(reason) => format!("detached: {reason}"),
            None => format!("detached from #{id}; it keeps running"),
        };
        self.state.notify(Level::Info, message);
        self.perform_all(Action::Tick(now_ms()));
    }

    fn perform_all(&mut self, action: Action) {
        for effect in update::update(&mut self.state, action) {
            self.perform(effect);
        }
    }

    /// Carries out an effect that does not need the terminal.
    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::SaveProject(_) | Effect::SaveHost(_) if self.state.remote.is_some() => {
                let message =
                    "this dashboard shows another machine's daemon: edit the config there";
                self.state.notify(Level::Error, message);
            }

            Effect::Send(command) => self.client.send(command),
            Effect::Watch(watches) => self.client.watch(watches),
            Effect::Probe(host) => {
                let everything = host.is_none() && matches!(self.link, Link::Local(_));
                self.client.send(Command::Probe { host });
                if everything {
                    let projects = self.state.projects.clone();
                    let tx = self.actions.clone();
                    tokio::task::spawn_blocking(move || {
                        let _ = tx.send(Action::ProjectsChecked(check_projects(&projects)));
                    });
                }
            }
            Effect::SaveHost(host) => {
                let name = host.name.clone();
                let saved = self
                    .config
                    .add_host(host)
                    .map(|_| name.clone())
                    .map_err(|e| format!("cannot save {}: {e}", self.config.path.display()));
                if saved.is_ok() {
                    self.config_mtime = self.config_file_mtime();
                    self.configure_daemon();
                }
                let _ = self.actions.send(Action::HostSaved(saved));
            }
            Effect::SaveProject(project) => {
                let saved = self
                    .config
                    .add_project(project.clone())
                    .map(|_| project)
                    .map_err(|e| format!("cannot save {}: {e}", self.config.path.display()));
                self.config_mtime = self.config_file_mtime();
                let _ = self.actions.send(Action::ProjectSaved(saved));
            }
            Effect::Alert(alerts) => notify::alert(&self.state.settings.notify, &alerts),
            Effect::Attach(_) | Effect::Exit => unreachable!("handled by the loop"),
        }
    }
}

/// `flightdeck attach ID`: the attach view on its own, from a plain terminal.
/// Returns why it ended, when not by the detach key.
pub async fn attach_standalone(
    client: &mut DaemonClient,
    id: crate::protocol::task::TaskId,
    detach_key: crate::keymap::Key,
) -> Result<Option<String>> {
    let mut terminal = tty::enter()?;
    let outcome = attach::run(&mut terminal, client, id, detach_key).await;
    tty::restore();
    Ok(outcome?.reason)
}

/// `FLIGHTDECK_FRAME_LOG=FILE` appends one line per drawn frame — when it
/// started (µs since the Unix epoch) and how long it took (µs) — for the
/// benchmarks. Off unless set.
struct FrameLog(Option<std::io::BufWriter<std::fs::File>>);

impl FrameLog {
    fn from_env() -> Self {
        let file = std::env::var_os("FLIGHTDECK_FRAME_LOG").and_then(|path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()
        });
        FrameLog(file.map(std::io::BufWriter::new))
    }

    fn record(&mut self, started: Instant) {
        use std::io::Write;
        let Some(out) = self.0.as_mut() else { return };
        let took = started.elapsed();
        let start = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .saturating_sub(took);
        let _ = writeln!(out, "{} {}", start.as_micros(), took.as_micros());
        let _ = out.flush();
    }
}

/// What the local file system says about each project (remote ones are
/// checked on their host when a task starts).
pub fn check_projects(projects: &[Project]) -> Vec<ProjectStatus> {
    projects
        .iter()
        .map(|p| match p.host {
            Some(_) => ProjectStatus {
                exists: true,
                git: true,
            },
            None => ProjectStatus {
                exists: p.path.is_dir(),
                git: p.path.join(".git").exists(),
            },
        })
        .collect()
}
