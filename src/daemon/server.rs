//! The daemon's socket server: accepts clients (same uid only), relays their
//! commands to the supervisor, broadcasts supervisor events to all of them,
//! and sends each one frames of the screens it watches.
//!
//! Nothing a client does can slow an agent: events go through a bounded
//! queue per client (a client that lets it fill up is dropped, and gets a
//! fresh snapshot when it reconnects), and frames are rendered only when the
//! client's writer is ready for them, from the latest screen.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::UnixListener;
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::protocol::task::TaskId;
use crate::protocol::wire::{
    ClientMsg, Frame, Hello, PROTOCOL, ServerMsg, Watch, read_frame, write_frame,
};
use crate::protocol::{Command, Event};
use crate::supervisor::screens::Watcher;
use crate::supervisor::{SupervisorHandle, SupervisorLink};

/// Events queued for one client before it counts as stuck and is dropped.
const CLIENT_QUEUE: usize = 4096;
/// Frames of one task go to one client at most this often.
const MIN_FRAME_INTERVAL: Duration = Duration::from_millis(8);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long accepting pauses after a failed accept (e.g. out of descriptors).
const ACCEPT_PAUSE: Duration = Duration::from_millis(250);

struct Client {
    events: mpsc::Sender<ServerMsg>,
    /// It has its snapshot: every event from here on is news to it. Events
    /// before that are not sent (the snapshot includes them).
    ready: bool,
}

/// Serves until the supervisor has shut down. With no clients and no live
/// task for `idle_exit`, it shuts down by itself.
pub async fn serve(listener: UnixListener, mut supervisor: SupervisorHandle, idle_exit: Duration) {
    let mut clients: HashMap<u64, Client> = HashMap::new();
    let mut next_client = 0u64;
    let me = nix::unistd::geteuid().as_raw();
    let mut idle_since = Instant::now();
    let mut accept_paused_until = Instant::now();
    let mut idle_check = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = idle_check.tick() => {
                clients.retain(|_, c| !c.events.is_closed());
                let busy = !clients.is_empty()
                    || supervisor.tasks.borrow().iter().any(|t| t.state.is_live());
                if busy {
                    idle_since = Instant::now();
                } else if idle_since.elapsed() >= idle_exit {
                    tracing::info!("idle for {idle_exit:?} with no clients: exiting");
                    supervisor.send(Command::Shutdown);
                    idle_since = Instant::now() + Duration::from_secs(3600);
                }
            }
            // A client let in while the state still loads gets its snapshot
            // once it is loaded: the supervisor answers after loading.
            accepted = listener.accept(), if Instant::now() >= accept_paused_until => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors (EMFILE) or the like: the
                        // pending connection stays in the backlog, so
                        // accepting again at once would spin. Pause, and say
                        // why (once per pause).
                        tracing::warn!("cannot accept a client: {e}; pausing accepts for {ACCEPT_PAUSE:?}");
                        accept_paused_until = Instant::now() + ACCEPT_PAUSE;
                        continue;
                    }
                };
                match stream.peer_cred() {
                    Ok(cred) if cred.uid() == me => {}
                    Ok(cred) => {
                        tracing::warn!("refused a client of uid {}", cred.uid());
                        tokio::spawn(refuse(stream, format!("this daemon belongs to uid {me}")));
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!("cannot check a client's credentials: {e}");
                        continue;
                    }
                }
                next_client += 1;
                let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
                clients.insert(next_client, Client { events: tx, ready: false });
                supervisor.request_snapshot();
                let link = supervisor.link();
                tokio::spawn(async move {
                    if let Err(e) = handle(stream, rx, link).await {
                        tracing::info!("client {next_client} left: {e}");
                    }
                });
            }
            event = supervisor.events.recv() => {
                let Some(event) = event else { break };
                let last = matches!(event, Event::ShutDown);
                let snapshot = matches!(event, Event::Snapshot { .. });
                clients.retain(|id, client| {
                    if client.events.is_closed() {
                        return false;
                    }
                    // A snapshot goes to those waiting for one; the rest
                    // of the stream to those that have theirs.
                    let wanted = if snapshot { !client.ready } else { client.ready || last };
                    if !wanted {
                        return true;
                    }
                    client.ready = true;
                    let sent = client.events.try_send(ServerMsg::Event(event.clone())).is_ok();
                    if !sent {
                        tracing::warn!("client {id} is not reading; dropping it");
                    }
                    sent
                });
                if last {
                    break;
                }
            }
        }
    }
    // Let clients read the shutdown before the process ends.
    let deadline = Instant::now() + Duration::from_secs(1);
    while clients
        .values()
        .any(|c| c.events.capacity() < CLIENT_QUEUE && !c.events.is_closed())
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn refuse(stream: UnixStream, reason: String) {
    let (_, mut writer) = stream.into_split();
    let _ = write_frame(&mut writer, &Frame::Message(ServerMsg::Refused(reason))).await;
}

#[derive(Debug, thiserror::Error)]
enum ClientError {
    #[error("{0}")]
    Protocol(#[from] crate::protocol::wire::ProtocolError),
    #[error("{0}")]
    Handshake(String),
}

async fn handle(
    stream: UnixStream,
    mut events: mpsc::Receiver<ServerMsg>,
    link: SupervisorLink,
) -> Result<(), ClientError> {
    let screens = link.screens().clone();
    let (mut reader, mut writer) = stream.into_split();
    handshake(&mut reader, &mut writer).await?;
    let watcher = Arc::new(Watcher::default());
    let watched = Arc::new(std::sync::Mutex::new(HashMap::<TaskId, Watch>::new()));
    let approver = Arc::new(AtomicBool::new(false));
    let mut reading = tokio::spawn(read_client(
        reader,
        link.clone(),
        watcher.clone(),
        watched.clone(),
        approver.clone(),
    ));
    let mut last_frames = Instant::now() - MIN_FRAME_INTERVAL;
    let result = loop {
        tokio::select! {
            message = events.recv() => match message {
                Some(message) => write_frame(&mut writer, &Frame::Message(message)).await?,
                None => break Ok(()),
            },
            _ = watcher.wake.notified() => {
                if !watcher.urgent.swap(false, Ordering::Relaxed) {
                    tokio::time::sleep_until(last_frames + MIN_FRAME_INTERVAL).await;
                }
                last_frames = Instant::now();
                for id in watcher.take_changed() {
                    let Some(watch) = watched.lock().unwrap().get(&id).copied() else { continue };
                    let Some(screen) = screens.get(id) else { continue };
                    let frame = screen.frame(watch.scroll);
                    write_frame::<ServerMsg, _>(&mut writer, &Frame::Screen { id, frame }).await?;
                }
            }
            _ = &mut reading => break Ok(()),
        }
    };
    reading.abort();
    for id in watched.lock().unwrap().keys() {
        screens.unwatch(*id, &watcher);
    }
    // A dashboard that left (or died) answers nothing any more.
    if approver.load(Ordering::SeqCst) {
        link.send(Command::Approver { present: false });
    }
    result
}

async fn handshake(
    reader: &mut OwnedReadHalf,
    writer: &mut OwnedWriteHalf,
) -> Result<(), ClientError> {
    let first = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame::<ClientMsg, _>(reader))
        .await
        .map_err(|_| ClientError::Handshake("no hello within 5 s".into()))??;
    let hello = match first {
        Frame::Message(ClientMsg::Hello(hello)) => hello,
        _ => return Err(ClientError::Handshake("first frame was not a hello".into())),
    };
    if hello.protocol != PROTOCOL {
        let ours = Hello::ours();
        let reason = format!(
            "the running daemon is flightdeck {} (protocol {}), this client is {} (protocol {}); \
             stop the daemon with `flightdeck daemon stop` and start again",
            ours.version, ours.protocol, hello.version, hello.protocol
        );
        write_frame(writer, &Frame::Message(ServerMsg::Refused(reason.clone()))).await?;
        return Err(ClientError::Handshake(reason));
    }
    write_frame(writer, &Frame::Message(ServerMsg::Hello(Hello::ours()))).await?;
    Ok(())
}

async fn read_client(
    mut reader: OwnedReadHalf,
    link: SupervisorLink,
    watcher: Arc<Watcher>,
    watched: Arc<std::sync::Mutex<HashMap<TaskId, Watch>>>,
    approver: Arc<AtomicBool>,
) {
    loop {
        match read_frame::<ClientMsg, _>(&mut reader).await {
            // Keystrokes go straight to the task: the shortest path is the
            // lowest latency when attached.
            Ok(Frame::Message(ClientMsg::Command(command))) => match *command {
                Command::Input { id, bytes } => {
                    watcher.urgent.store(true, Ordering::Relaxed);
                    link.input(id, bytes);
                }
                // Counted once per connection, whatever the client repeats.
                Command::Approver { present } => {
                    if approver.swap(present, Ordering::SeqCst) != present {
                        link.send(Command::Approver { present });
                    }
                }
                command => link.send(command),
            },
            Ok(Frame::Message(ClientMsg::Watch(list))) => {
                let new: HashMap<TaskId, Watch> = list.into_iter().map(|w| (w.id, w)).collect();
                let old = std::mem::replace(&mut *watched.lock().unwrap(), new.clone());
                for id in old.keys().filter(|id| !new.contains_key(id)) {
                    link.screens().unwatch(*id, &watcher);
                }
                for watch in new.values() {
                    if !link.screens().watch(watch.id, &watcher) {
                        // No screen: an ended task; rebuild it from its log.
                        link.send(Command::Replay {
                            id: watch.id,
                            size: watch.size,
                        });
                    }
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::debug!("client reader ends: {e}");
                break;
            }
        }
    }
}
