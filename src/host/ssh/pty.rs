//! Agents in a remote PTY: pty-req + exec of a small launcher, streamed into
//! the blocking reader/writer/waiter the supervisor's threads expect.
//!
//! Stopping does not use SSH signal requests (OpenSSH ignores them for root
//! logins): the launcher records the pid of the session leader, which is the
//! process group of everything the agent starts, and `kill -s SIG -- -PGID`
//! runs in a separate exec on the same connection.

use std::io::{self, Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use russh::{ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig, client::Msg};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::connection::{Connection, Link};
use super::exec::{control_script, signal_text};
use super::runtime;
use super::script;
use crate::host::ExitInfo;
use crate::host::{HostError, PtyControl, PtyProcess, PtySize, PtySpec, StopSignal};

/// Spawning waits this long for a connection: answering a host key or
/// passphrase question is part of it (every network step has its own bound).
const SPAWN_CONNECT_LIMIT: Duration = Duration::from_secs(300);

type Writer = Arc<ChannelWriteHalf<Msg>>;

pub async fn spawn(connection: Arc<Connection>, spec: PtySpec) -> Result<PtyProcess, HostError> {
    let alias = connection.alias().to_string();
    let program = spec.argv.first().cloned().unwrap_or_default();
    let spawn_err = |reason: String| HostError::Spawn {
        program: program.clone(),
        reason,
    };
    let token = script::new_token();
    let launcher =
        script::pty_launcher(&token, &spec.argv, &spec.cwd, &spec.env).map_err(spawn_err)?;
    let step = connection.timeouts().step;
    // Waiting for the connection may include the user answering a question.
    connection.link(SPAWN_CONNECT_LIMIT).await?;
    let (link, channel) = connection.open_session(step, true).await?;
    let size = spec.size.clamped();
    let requested = async {
        let (cols, rows) = (size.cols.into(), size.rows.into());
        channel
            .request_pty(true, "xterm-256color", cols, rows, 0, 0, &[])
            .await?;
        channel.exec(true, script::login_command(&launcher)).await
    };
    requested
        .await
        .map_err(|e| spawn_err(format!("{alias}: cannot start a PTY session: {e}")))?;
    let (read, write) = channel.split();
    let write: Writer = Arc::new(write);
    let parts = start_pumps(read, write.clone(), link, connection.clone());

    // From here on, a failure must not leave the agent running unseen.
    let hang_up = || {
        let write = write.clone();
        runtime::handle().spawn(async move { write.close().await });
    };
    if let Err(e) = started(parts.started, step, &alias).await {
        hang_up();
        return Err(spawn_err(e));
    }
    let said = match control_script(&connection, &script::read_pid_file(&token), true).await {
        Ok((_, said)) => String::from_utf8_lossy(&said).trim().to_string(),
        Err(e) => {
            hang_up();
            return Err(e.into());
        }
    };
    let pgid = match said.as_str() {
        "nocwd" => {
            return Err(spawn_err(format!(
                "working directory {} does not exist on {alias}",
                spec.cwd.display()
            )));
        }
        "nocmd" => return Err(spawn_err(format!("not found on {alias}"))),
        text => text.parse::<u32>().ok(),
    };
    if pgid.is_none() {
        // It still runs; stopping falls back to closing the channel (hangup).
        tracing::warn!(%alias, "the launcher reported no pid ({said:?})");
    }

    let (resize_tx, resize_rx) = mpsc::unbounded_channel();
    runtime::handle().spawn(apply_resizes(resize_rx, write.clone(), step));
    let control = Arc::new(RemotePtyControl {
        connection,
        write,
        pgid,
        ended: parts.ended,
        resizes: resize_tx,
    });
    let lost = format!("{alias}: the session's reader went away");
    let exit = parts.exit;
    Ok(PtyProcess {
        pid: pgid,
        reader: Box::new(ChannelReader {
            chunks: parts.output,
            chunk: Vec::new(),
            at: 0,
        }),
        writer: Box::new(ChannelWriter { input: parts.input }),
        control,
        waiter: Box::new(move || {
            exit.recv().unwrap_or_else(|_| ExitInfo {
                error: Some(lost),
                ..ExitInfo::default()
            })
        }),
        logs_itself: false,
    })
}

/// The blocking-side ends of a PTY channel's pumps.
struct PumpEnds {
    output: std_mpsc::Receiver<Vec<u8>>,
    input: mpsc::UnboundedSender<Vec<u8>>,
    exit: std_mpsc::Receiver<ExitInfo>,
    started: oneshot::Receiver<Result<(), String>>,
    ended: Arc<AtomicBool>,
}

/// Starts the tasks that move bytes between the channel and the bridges.
fn start_pumps(
    read: ChannelReadHalf,
    write: Writer,
    link: Arc<Link>,
    connection: Arc<Connection>,
) -> PumpEnds {
    let (output_tx, output) = std_mpsc::channel();
    let (exit_tx, exit) = std_mpsc::sync_channel(1);
    let (input, input_rx) = mpsc::unbounded_channel();
    let (started_tx, started) = oneshot::channel();
    let ended = Arc::new(AtomicBool::new(false));
    let input_task = runtime::handle().spawn(pump_input(input_rx, write));
    runtime::handle().spawn(pump_output(OutputPump {
        read,
        output: output_tx,
        exit: exit_tx,
        started: Some(started_tx),
        input_task,
        ended: ended.clone(),
        link,
        connection,
    }));
    PumpEnds {
        output,
        input,
        exit,
        started,
        ended,
    }
}

/// Waits for sshd to accept the PTY and exec requests.
async fn started(
    answer: oneshot::Receiver<Result<(), String>>,
    limit: Duration,
    alias: &str,
) -> Result<(), String> {
    match tokio::time::timeout(limit, answer).await {
        Ok(Ok(Ok(()))) => Ok(()),
        Ok(Ok(Err(reason))) => Err(format!("{alias}: {reason}")),
        Ok(Err(_)) => Err(format!("{alias}: the session ended at once")),
        Err(_) => Err(format!(
            "{alias}: no answer to the PTY request in {limit:?}"
        )),
    }
}

/// Everything the output pump owns.
struct OutputPump {
    read: ChannelReadHalf,
    output: std_mpsc::Sender<Vec<u8>>,
    exit: std_mpsc::SyncSender<ExitInfo>,
    /// Told once the PTY and exec requests are answered.
    started: Option<oneshot::Sender<Result<(), String>>>,
    input_task: JoinHandle<()>,
    ended: Arc<AtomicBool>,
    link: Arc<Link>,
    connection: Arc<Connection>,
}

/// Drains the channel to its end (an unread channel would stall the whole
/// connection), then reports how the agent ended.
async fn pump_output(mut p: OutputPump) {
    let alias = p.connection.alias().to_string();
    let mut answered = 0;
    let mut exit = None;
    let mut server_closed = false;
    while let Some(message) = p.read.wait().await {
        match message {
            ChannelMsg::Data { data } | ChannelMsg::ExtendedData { data, .. } => {
                // A reader that went away must not stop the draining.
                let _ = p.output.send(data.to_vec());
            }
            ChannelMsg::Success => {
                answered += 1;
                if answered == 2
                    && let Some(started) = p.started.take()
                {
                    let _ = started.send(Ok(()));
                }
            }
            ChannelMsg::Failure => {
                if let Some(started) = p.started.take() {
                    let what = if answered == 0 {
                        "a PTY"
                    } else {
                        "the command"
                    };
                    let _ = started.send(Err(format!("the server refused {what}")));
                }
            }
            ChannelMsg::ExitStatus { exit_status } => {
                exit = Some(ExitInfo {
                    code: Some(exit_status as i32),
                    ..ExitInfo::default()
                });
            }
            ChannelMsg::ExitSignal { signal_name, .. } => {
                exit = Some(ExitInfo {
                    signal: Some(signal_text(&signal_name)),
                    ..ExitInfo::default()
                });
            }
            ChannelMsg::Close => server_closed = true,
            _ => {}
        }
    }
    p.input_task.abort();
    p.ended.store(true, Ordering::SeqCst);
    drop(p.output);
    let exit = match exit {
        Some(exit) => exit,
        None if server_closed => ExitInfo {
            error: Some(format!("{alias}: the session ended without an exit status")),
            ..ExitInfo::default()
        },
        None => {
            p.link.wait_closed(Duration::from_millis(500)).await;
            ExitInfo {
                error: Some(format!(
                    "connection to {alias} lost: {}",
                    p.link.end_reason()
                )),
                ..ExitInfo::default()
            }
        }
    };
    if let Some(started) = p.started.take() {
        let _ = started.send(Err(exit
            .error
            .clone()
            .unwrap_or_else(|| "the session ended at once".into())));
    }
    let _ = p.exit.send(exit);
}

/// Keystrokes to the channel, in order; batches what queued up meanwhile.
async fn pump_input(mut input: mpsc::UnboundedReceiver<Vec<u8>>, write: Writer) {
    while let Some(mut bytes) = input.recv().await {
        while let Ok(more) = input.try_recv() {
            bytes.extend_from_slice(&more);
        }
        if write.data_bytes(bytes).await.is_err() {
            break;
        }
    }
}

/// Window changes in order; only the newest of a burst is sent.
async fn apply_resizes(mut sizes: mpsc::UnboundedReceiver<PtySize>, write: Writer, step: Duration) {
    while let Some(mut size) = sizes.recv().await {
        while let Ok(newer) = sizes.try_recv() {
            size = newer;
        }
        let size = size.clamped();
        let change = write.window_change(size.cols.into(), size.rows.into(), 0, 0);
        if !matches!(tokio::time::timeout(step, change).await, Ok(Ok(()))) {
            tracing::debug!("window change not delivered");
        }
    }
}

struct RemotePtyControl {
    connection: Arc<Connection>,
    write: Writer,
    /// The agent's process group on the remote host, if the launcher said.
    pgid: Option<u32>,
    ended: Arc<AtomicBool>,
    resizes: mpsc::UnboundedSender<PtySize>,
}

impl PtyControl for RemotePtyControl {
    fn resize(&self, size: PtySize) -> io::Result<()> {
        self.resizes
            .send(size)
            .map_err(|_| io::Error::other("the remote PTY is gone"))
    }

    /// Sent in the background (the caller may be the supervisor's loop);
    /// failures are logged.
    fn signal_group(&self, signal: StopSignal) -> io::Result<()> {
        let connection = self.connection.clone();
        let write = self.write.clone();
        let pgid = self.pgid;
        runtime::handle().spawn(async move {
            let name = match signal {
                StopSignal::Term => "TERM",
                StopSignal::Kill => "KILL",
            };
            match pgid {
                Some(pgid) => {
                    match control_script(&connection, &script::signal_group(pgid, name), true).await
                    {
                        Ok((Some(0), _)) => {}
                        Ok((code, _)) => tracing::debug!(pgid, ?code, "kill found no such group"),
                        Err(e) => tracing::warn!("cannot signal remote group {pgid}: {e}"),
                    }
                }
                None => {
                    // No group known: ask sshd (works for non-root users) and
                    // hang up the terminal.
                    let sig = if signal == StopSignal::Kill {
                        Sig::KILL
                    } else {
                        Sig::TERM
                    };
                    let _ = write.signal(sig).await;
                    let _ = write.close().await;
                }
            }
        });
        Ok(())
    }

    /// Asks the host, on the current connection only and briefly: a host
    /// that is gone counts as "not alive" rather than blocking the caller.
    fn group_alive(&self) -> bool {
        let Some(pgid) = self.pgid else {
            return !self.ended.load(Ordering::SeqCst);
        };
        let connection = self.connection.clone();
        let limit = connection.timeouts().step.min(Duration::from_secs(5));
        let check = async move {
            let probe = script::signal_group(pgid, "0");
            let alive = control_script(&connection, &probe, false).await;
            matches!(alive, Ok((Some(0), _)))
        };
        runtime::block_on_for(limit + Duration::from_secs(1), check).unwrap_or(false)
    }
}

/// The blocking `Read` side: chunks from the output pump; EOF when it ends.
struct ChannelReader {
    chunks: std_mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.at >= self.chunk.len() {
            match self.chunks.recv() {
                Ok(chunk) => {
                    self.chunk = chunk;
                    self.at = 0;
                }
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The `Write` side: never blocks; the input pump sends in order.
struct ChannelWriter {
    input: mpsc::UnboundedSender<Vec<u8>>,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.input
            .send(buf.to_vec())
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the remote PTY is closed"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
