//! The client side of the daemon connection, used by the TUI and the CLI:
//! connect (starting the daemon if none runs), send commands and watches,
//! receive events and screen frames.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::UnixStream;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::paths::Paths;
use crate::protocol::task::TaskId;
use crate::protocol::wire::{
    ClientMsg, Frame, Hello, PROTOCOL, ServerMsg, Watch, read_frame, write_frame,
};
use crate::protocol::{Command, Event, Level};
use crate::term::ScreenFrame;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a freshly started daemon gets to open its socket.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection is retried while a daemon is ending.
const VANISH_WAIT: Duration = Duration::from_secs(2);

/// The latest frame of every watched task.
#[derive(Clone, Default)]
pub struct Frames(Arc<RwLock<HashMap<TaskId, Arc<ScreenFrame>>>>);

impl Frames {
    pub fn get(&self, id: TaskId) -> Option<Arc<ScreenFrame>> {
        self.0.read().unwrap().get(&id).cloned()
    }

    pub fn insert(&self, id: TaskId, frame: ScreenFrame) {
        self.0.write().unwrap().insert(id, Arc::new(frame));
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("no daemon is running (socket {0})")]
    NotRunning(String),
    #[error("the daemon refused the connection: {0}")]
    Refused(String),
    /// The daemon closed the connection before answering: it was ending.
    #[error("the daemon went away while connecting: {0}")]
    Vanished(String),
    /// The socket's directory or the process behind it is not ours.
    #[error("not connecting to the daemon: {0}")]
    Untrusted(String),
    #[error("{0}")]
    Other(String),
}

pub struct DaemonClient {
    outgoing: UnboundedSender<ClientMsg>,
    pub events: UnboundedReceiver<Event>,
    /// A watched task whose new frame is now in `frames`; client-side only,
    /// so it is not an [`Event`].
    pub frame_updates: UnboundedReceiver<TaskId>,
    pub frames: Frames,
}

impl DaemonClient {
    pub fn send(&self, command: Command) {
        let _ = self.outgoing.send(ClientMsg::Command(Box::new(command)));
    }

    pub fn watch(&self, watches: Vec<Watch>) {
        let _ = self.outgoing.send(ClientMsg::Watch(watches));
    }

    /// Connects to a running daemon.
    pub async fn connect(socket: &Path) -> Result<Self, ConnectError> {
        let deadline = tokio::time::Instant::now() + VANISH_WAIT;
        loop {
            let (reader, writer) = raw_connect(socket).await?.into_split();
            match Self::over(reader, writer).await {
                // A daemon dying as we connected: the next try finds its
                // socket dead (not running) or its successor.
                Err(ConnectError::Vanished(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(ConnectError::Vanished(_)) => {
                    return Err(ConnectError::NotRunning(socket.display().to_string()));
                }
                other => return other,
            }
        }
    }

    /// Connects, starting a daemon first when none is running.
    pub async fn connect_or_start(paths: &Paths) -> Result<Self, ConnectError> {
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            let (reader, writer) = socket_or_start(paths).await?.into_split();
            match Self::over(reader, writer).await {
                Err(ConnectError::Vanished(e)) if tokio::time::Instant::now() >= deadline => {
                    return Err(ConnectError::Other(e));
                }
                Err(ConnectError::Vanished(_)) => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }

    /// Connects to the daemon on an SSH host, through `flightdeck proxy`
    /// there (which starts that host's daemon if it is not running).
    pub async fn connect_remote(
        host: &crate::host::ssh::SshHost,
        command: &str,
    ) -> Result<Self, ConnectError> {
        let stream = host
            .exec_stream(command.to_string())
            .await
            .map_err(|e| ConnectError::Other(e.to_string()))?;
        let (reader, writer) = tokio::io::split(stream);
        Self::over(reader, writer).await.map_err(|e| match e {
            ConnectError::Other(m) => ConnectError::Other(format!(
                "{m} (is flightdeck installed on {}? this runs `{command}` there)",
                host.target().alias
            )),
            other => other,
        })
    }

    /// Speaks the protocol over any byte stream: a Unix socket, or an SSH
    /// channel to `flightdeck proxy` on another host.
    pub async fn over<R, W>(mut reader: R, mut writer: W) -> Result<Self, ConnectError>
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        use crate::protocol::wire::ProtocolError;
        let other = |e: ProtocolError| match e {
            ProtocolError::Io(_) | ProtocolError::Closed => ConnectError::Vanished(e.to_string()),
            e => ConnectError::Other(e.to_string()),
        };
        write_frame(
            &mut writer,
            &Frame::Message(ClientMsg::Hello(Hello::ours())),
        )
        .await
        .map_err(other)?;
        let answer = tokio::time::timeout(CONNECT_TIMEOUT, read_frame::<ServerMsg, _>(&mut reader))
            .await
            .map_err(|_| ConnectError::Other("the daemon did not answer within 5 s".into()))?
            .map_err(other)?;
        match answer {
            Frame::Message(ServerMsg::Hello(hello)) if hello.protocol == PROTOCOL => {}
            Frame::Message(ServerMsg::Refused(reason)) => {
                return Err(ConnectError::Refused(reason));
            }
            other => {
                return Err(ConnectError::Other(format!(
                    "unexpected answer from the daemon: {other:?}"
                )));
            }
        }

        let (outgoing, mut outgoing_rx) = unbounded_channel::<ClientMsg>();
        let (events_tx, events) = unbounded_channel();
        let (updates_tx, frame_updates) = unbounded_channel();
        let frames = Frames::default();
        tokio::spawn(async move {
            while let Some(message) = outgoing_rx.recv().await {
                if write_frame(&mut writer, &Frame::Message(message))
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        let store = frames.clone();
        tokio::spawn(async move {
            loop {
                match read_frame::<ServerMsg, _>(&mut reader).await {
                    Ok(Frame::Screen { id, frame }) => {
                        store.insert(id, frame);
                        let _ = updates_tx.send(id);
                    }
                    Ok(Frame::Message(ServerMsg::Event(event))) => {
                        let _ = events_tx.send(event);
                    }
                    Ok(Frame::Message(ServerMsg::Refused(reason))) => {
                        let _ = events_tx.send(Event::Notice {
                            level: Level::Error,
                            message: reason,
                        });
                        break;
                    }
                    Ok(Frame::Message(ServerMsg::Hello(_))) => {}
                    Err(e) => {
                        tracing::info!("daemon connection ended: {e}");
                        break;
                    }
                }
            }
            // Dropping the sender closes `events`: the client sees the daemon gone.
        });
        Ok(DaemonClient {
            outgoing,
            events,
            frame_updates,
            frames,
        })
    }
}

/// Connects to the daemon's socket (no protocol yet). Nothing is sent
/// before both its directory (ours, 0700, not a symlink) and the listening
/// process (our uid) are checked: another user who got to the path first
/// would otherwise receive every prompt and the tasks' environment.
pub async fn raw_connect(socket: &Path) -> Result<UnixStream, ConnectError> {
    let dir = socket.parent().unwrap_or(Path::new("/"));
    match crate::private::check_dir(dir) {
        Ok(true) => {}
        Ok(false) => return Err(ConnectError::NotRunning(socket.display().to_string())),
        Err(e) => return Err(ConnectError::Untrusted(e)),
    }
    let deadline = tokio::time::Instant::now() + VANISH_WAIT;
    loop {
        match UnixStream::connect(socket).await {
            Ok(stream) => {
                crate::private::check_peer(&stream)
                    .map_err(|e| ConnectError::Untrusted(format!("{}: {e}", socket.display())))?;
                return Ok(stream);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Err(ConnectError::NotRunning(socket.display().to_string()));
            }
            // The daemon died with our connection in its backlog: soon its
            // socket refuses (not running) or its successor answers.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted
                ) && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => {
                return Err(ConnectError::Other(format!(
                    "cannot connect to {}: {e}",
                    socket.display()
                )));
            }
        }
    }
}

/// The daemon's socket, starting a daemon first when none is running.
pub async fn socket_or_start(paths: &Paths) -> Result<UnixStream, ConnectError> {
    match raw_connect(&paths.socket()).await {
        Err(ConnectError::NotRunning(_)) => {}
        other => return other,
    }
    super::start_detached(paths)
        .map_err(|e| ConnectError::Other(format!("cannot start the daemon: {e}")))?;
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        match raw_connect(&paths.socket()).await {
            Err(ConnectError::NotRunning(_)) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(ConnectError::NotRunning(socket)) => {
                return Err(ConnectError::Other(format!(
                    "the daemon did not open {socket} within {}s; see {}",
                    START_TIMEOUT.as_secs(),
                    paths.daemon_log_file().display()
                )));
            }
            other => return other,
        }
    }
}
