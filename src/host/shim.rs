//! Keepers: a local task's PTY is held by a small process of its own
//! (`flightdeck shim`), not by the daemon. The keeper logs every byte the
//! agent prints and serves a Unix socket; the daemon attaches to it. If the
//! daemon dies — even `kill -9` — the keeper and its agent carry on, and the
//! next daemon attaches again (re-adoption). If the agent ends while no
//! daemon is there, the keeper writes its exit status to a file beside the
//! socket for the next daemon to read.
//!
//! Wire format, both ways: `[kind: u8][len: u32 BE][payload]`.

use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};

use super::local::{open_pty, portable_size};
use super::{HostError, Keeper, PtyControl, PtyProcess, PtySize, PtySpec, StopSignal};
use crate::host::ExitInfo;

const OUTPUT: u8 = 1;
const EXIT: u8 = 2;
const HELLO: u8 = 3;
const INPUT: u8 = 11;
const RESIZE: u8 = 12;

/// After the agent exits, how long its output may take to drain.
const DRAIN: Duration = Duration::from_secs(2);
/// How long an ended task's keeper waits for a daemon to collect its exit.
const KEEP_EXITED: Duration = Duration::from_secs(3600);
const ATTACH_TIMEOUT: Duration = Duration::from_secs(5);

/// What the daemon hands a new keeper on its stdin.
#[derive(Debug, Serialize, Deserialize)]
struct ShimSpec {
    argv: Vec<String>,
    cwd: PathBuf,
    env: Vec<(String, String)>,
    size: PtySize,
    socket: PathBuf,
    log: PathBuf,
    #[serde(default)]
    meta: String,
}

/// The keeper's greeting to each daemon that attaches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub pid: u32,
    /// Bytes in the log when this daemon's stream starts: the screen is the
    /// log up to here, then the stream.
    pub log_len: u64,
    /// The agent already ended (while no daemon was attached).
    #[serde(default)]
    pub exit: Option<ExitInfo>,
    /// What the daemon that started the task gave the keeper to keep.
    #[serde(default)]
    pub meta: String,
}

/// Where an ended task's exit status waits for a daemon.
pub fn exit_file(socket: &Path) -> PathBuf {
    socket.with_extension("exit")
}

fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.push(kind);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn read_frame(reader: &mut impl Read) -> io::Result<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    reader.read_exact(&mut head)?;
    let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
    if len > 16 << 20 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut payload = vec![0u8; len];
    reader.read_exact(&mut payload)?;
    Ok((head[0], payload))
}

// ---- the keeper process ------------------------------------------------------

#[derive(Default)]
struct Shared {
    /// The attached daemon, if any, and which attachment it is.
    conn: Option<UnixStream>,
    attachment: u64,
    /// The log, and how much was written to it.
    log: Option<BufWriter<fs::File>>,
    log_len: u64,
    exit: Option<ExitInfo>,
    exited_at: Option<Instant>,
    /// The PTY reached EOF: everything the agent printed is logged.
    drained: bool,
}

type Sync = Arc<(Mutex<Shared>, Condvar)>;

/// `flightdeck shim`: reads its spec from stdin, starts the agent, answers
/// "ready PID" (or "error …") on stdout, then keeps the PTY until the agent
/// has ended and a daemon has heard of it.
pub fn run_keeper() -> io::Result<()> {
    let spec: ShimSpec = serde_json::from_reader(io::stdin().lock())?;
    // A session of its own: nothing that happens to the daemon reaches it.
    let _ = nix::unistd::setsid();
    let mut stdout = io::stdout().lock();
    let started = start(&spec);
    let (listener, opened) = match started {
        Ok(started) => started,
        Err(e) => {
            writeln!(stdout, "error {e}")?;
            return Ok(());
        }
    };
    let pid = opened.pid.unwrap_or(0);
    // The daemon that started us may have died since; the agent runs
    // anyway and the next daemon adopts it from the socket.
    let _ = writeln!(stdout, "ready {pid}").and_then(|_| stdout.flush());
    drop(stdout);

    let sync: Sync = Arc::default();
    let master = Arc::new(Mutex::new(opened.master));
    let input = Arc::new(Mutex::new(opened.writer));
    let log = crate::private::open_append(&spec.log)?;
    sync.0.lock().unwrap().log = Some(BufWriter::with_capacity(64 * 1024, log));
    log_output(opened.reader, sync.clone());
    wait_for_exit(opened.waiter, exit_file(&spec.socket), sync.clone());
    deliver_exit(spec.socket.clone(), sync.clone());
    for stream in listener.incoming().flatten() {
        // Only our own user's daemon may drive the agent.
        if crate::private::check_peer(&stream).is_ok() {
            attach_daemon(stream, pid, &spec.meta, &sync, &master, &input);
        }
    }
    Ok(())
}

fn start(spec: &ShimSpec) -> Result<(UnixListener, super::local::OpenedPty), String> {
    if let Some(dir) = spec.socket.parent() {
        crate::private::create_dir(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let _ = fs::remove_file(&spec.socket);
    let _ = fs::remove_file(exit_file(&spec.socket));
    let listener = UnixListener::bind(&spec.socket)
        .map_err(|e| format!("cannot listen on {}: {e}", spec.socket.display()))?;
    let _ = fs::set_permissions(&spec.socket, fs::Permissions::from_mode(0o600));
    let pty = PtySpec {
        argv: spec.argv.clone(),
        cwd: spec.cwd.clone(),
        env: spec.env.clone(),
        size: spec.size,
        keeper: None,
    };
    let opened = open_pty(&pty).map_err(|e| {
        let _ = fs::remove_file(&spec.socket);
        e.to_string()
    })?;
    Ok((listener, opened))
}

/// PTY → log (and to the attached daemon). Never blocks on a daemon that is
/// not there: the agent is always drained.
fn log_output(mut reader: Box<dyn Read + Send>, sync: Sync) {
    std::thread::spawn(move || {
        // Nothing is read until the daemon that started us has attached, so
        // it sees (and can answer) the agent's first bytes; the PTY holds
        // them meanwhile.
        {
            let (lock, cvar) = &*sync;
            let mut shared = lock.lock().unwrap();
            while shared.attachment == 0 {
                shared = cvar.wait(shared).unwrap();
            }
        }
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let (lock, _) = &*sync;
            let mut shared = lock.lock().unwrap();
            if let Some(log) = shared.log.as_mut() {
                let _ = log.write_all(&buf[..n]);
                if n < 2048 {
                    let _ = log.flush();
                }
            }
            shared.log_len += n as u64;
            if let Some(conn) = shared.conn.as_mut()
                && conn.write_all(&frame(OUTPUT, &buf[..n])).is_err()
            {
                shared.conn = None;
            }
        }
        let (lock, cvar) = &*sync;
        let mut shared = lock.lock().unwrap();
        if let Some(log) = shared.log.as_mut() {
            let _ = log.flush();
        }
        shared.drained = true;
        cvar.notify_all();
    });
}

fn wait_for_exit(waiter: Box<dyn FnOnce() -> ExitInfo + Send>, file: PathBuf, sync: Sync) {
    std::thread::spawn(move || {
        let exit = waiter();
        if let Ok(json) = serde_json::to_vec(&exit) {
            let _ = crate::store::write_atomic(&file, &json);
        }
        let (lock, cvar) = &*sync;
        let mut shared = lock.lock().unwrap();
        shared.exit = Some(exit);
        shared.exited_at = Some(Instant::now());
        cvar.notify_all();
    });
}

/// Once the agent has ended and its output drained (or a moment passed),
/// tells the attached daemon and leaves; with no daemon, waits for one.
fn deliver_exit(socket: PathBuf, sync: Sync) {
    std::thread::spawn(move || {
        let (lock, cvar) = &*sync;
        let mut shared = lock.lock().unwrap();
        loop {
            let ready = match shared.exited_at {
                Some(at) => shared.drained || at.elapsed() >= DRAIN,
                None => false,
            };
            let exit = serde_json::to_vec(&shared.exit).unwrap_or_default();
            if ready && let Some(conn) = shared.conn.as_mut() {
                if conn.write_all(&frame(EXIT, &exit)).is_ok() {
                    let _ = conn.flush();
                    finish(&socket);
                }
                shared.conn = None;
            }
            if shared
                .exited_at
                .is_some_and(|at| at.elapsed() > KEEP_EXITED)
            {
                // Nobody came; the exit file tells the next daemon.
                let _ = fs::remove_file(&socket);
                std::process::exit(0);
            }
            // While the agent runs nothing changes here until its exit is
            // signalled: no polling (a hundred idle keepers stay asleep).
            shared = match shared.exited_at {
                None => cvar.wait(shared).unwrap(),
                Some(_) => {
                    cvar.wait_timeout(shared, Duration::from_millis(200))
                        .unwrap()
                        .0
                }
            };
        }
    });
}

/// The exit is delivered: nothing is left to keep. The exit file stays
/// until the daemon has saved the task's end (it removes it then): a
/// daemon killed between reading the exit and saving it leaves the next
/// one this file to learn it from.
fn finish(socket: &Path) -> ! {
    let _ = fs::remove_file(socket);
    std::process::exit(0);
}

fn attach_daemon(
    mut stream: UnixStream,
    pid: u32,
    meta: &str,
    sync: &Sync,
    master: &Arc<Mutex<Box<dyn portable_pty::MasterPty + Send>>>,
    input: &Arc<Mutex<Box<dyn Write + Send>>>,
) {
    let (lock, cvar) = &**sync;
    let attachment = {
        let mut shared = lock.lock().unwrap();
        // The daemon reads the log up to `log_len`: all of it must be on disk.
        if let Some(log) = shared.log.as_mut() {
            let _ = log.flush();
        }
        let hello = serde_json::to_vec(&Hello {
            pid,
            log_len: shared.log_len,
            exit: shared.exit.clone(),
            meta: meta.to_string(),
        })
        .unwrap_or_default();
        if stream.write_all(&frame(HELLO, &hello)).is_err() {
            return;
        }
        // The newest daemon wins; an older connection is left to close.
        shared.conn = stream.try_clone().ok();
        shared.attachment += 1;
        cvar.notify_all();
        shared.attachment
    };
    let master = master.clone();
    let input = input.clone();
    let sync = sync.clone();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        while let Ok((kind, payload)) = read_frame(&mut reader) {
            match kind {
                INPUT => {
                    let mut input = input.lock().unwrap();
                    if input
                        .write_all(&payload)
                        .and_then(|_| input.flush())
                        .is_err()
                    {
                        break;
                    }
                }
                RESIZE if payload.len() == 4 => {
                    let size = PtySize {
                        rows: u16::from_be_bytes([payload[0], payload[1]]),
                        cols: u16::from_be_bytes([payload[2], payload[3]]),
                    };
                    let _ = master.lock().unwrap().resize(portable_size(size.clamped()));
                }
                _ => {}
            }
        }
        // This daemon went away; keep logging for the next one.
        let (lock, _) = &*sync;
        let mut shared = lock.lock().unwrap();
        if shared.attachment == attachment {
            shared.conn = None;
        }
    });
}

// ---- the daemon's side -------------------------------------------------------

/// The keeper program: `flightdeck-keeper` installed next to this
/// executable, else `flightdeck shim`. One keeper runs per task, and the
/// small binary keeps each one light: the whole dashboard's relocated data
/// alone would cost every keeper ~430 KiB of private memory.
fn keeper_command() -> io::Result<Command> {
    let exe = std::env::current_exe()?;
    let small = exe.with_file_name("flightdeck-keeper");
    Ok(if small.is_file() {
        Command::new(small)
    } else {
        let mut command = Command::new(exe);
        command.arg("shim");
        command
    })
}

/// Starts a keeper for `spec` and attaches to it.
pub fn spawn(spec: PtySpec, keeper: Keeper) -> Result<PtyProcess, HostError> {
    let program = spec.argv.first().cloned().unwrap_or_default();
    let spawn_err = |reason: String| HostError::Spawn {
        program: program.clone(),
        reason,
    };
    let mut child = keeper_command()
        .map_err(|e| spawn_err(format!("cannot find flightdeck: {e}")))?
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| spawn_err(format!("cannot start a keeper: {e}")))?;
    let shim = ShimSpec {
        argv: spec.argv,
        cwd: spec.cwd,
        env: spec.env,
        size: spec.size,
        socket: keeper.socket.clone(),
        log: keeper.log,
        meta: keeper.meta,
    };
    let mut stdin = child.stdin.take().expect("piped");
    serde_json::to_writer(&mut stdin, &shim).map_err(|e| spawn_err(e.to_string()))?;
    drop(stdin);
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped");
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| spawn_err(e.to_string()))?;
    // The keeper outlives us if it must; reap it if it ends first.
    std::thread::spawn(move || child.wait());
    match line.trim().split_once(' ') {
        Some(("ready", _)) => attach(&keeper.socket)
            .map(|(process, _)| process)
            .map_err(|e| spawn_err(format!("cannot attach to the keeper: {e}"))),
        Some(("error", reason)) => Err(spawn_err(reason.to_string())),
        _ => Err(spawn_err("the keeper did not start".into())),
    }
}

/// How the attached stream ended.
#[derive(Default)]
struct Ending {
    /// `Some(exit)` from the keeper, `Some(None)` if the stream broke first.
    outcome: Option<Option<ExitInfo>>,
}

type EndingCell = Arc<(Mutex<Ending>, Condvar)>;

/// Attaches to the keeper at `socket`: a new task, or one the previous
/// daemon ran (re-adoption).
pub fn attach(socket: &Path) -> io::Result<(PtyProcess, Hello)> {
    let mut stream = UnixStream::connect(socket)?;
    crate::private::check_peer(&stream)?;
    stream.set_read_timeout(Some(ATTACH_TIMEOUT))?;
    let (kind, payload) = read_frame(&mut stream)?;
    let hello: Hello = match kind {
        HELLO => serde_json::from_slice(&payload).map_err(io::Error::other)?,
        _ => return Err(io::Error::other("the keeper did not say hello")),
    };
    stream.set_read_timeout(None)?;
    let ending: EndingCell = Arc::default();
    let control = Arc::new(KeeperControl {
        stream: Mutex::new(stream.try_clone()?),
        pid: hello.pid,
    });
    let reader = Box::new(KeeperReader {
        stream: BufReader::new(stream.try_clone()?),
        pending: Vec::new(),
        at: 0,
        ending: ending.clone(),
    });
    let writer = Box::new(KeeperWriter(stream));
    let waiter = Box::new(move || {
        let (lock, cvar) = &*ending;
        let mut ending = lock.lock().unwrap();
        while ending.outcome.is_none() {
            ending = cvar.wait(ending).unwrap();
        }
        ending
            .outcome
            .clone()
            .flatten()
            .unwrap_or_else(|| ExitInfo {
                error: Some("the task's keeper process went away".into()),
                ..Default::default()
            })
    });
    let process = PtyProcess {
        pid: Some(hello.pid),
        reader,
        writer,
        control,
        waiter,
        logs_itself: true,
    };
    Ok((process, hello))
}

/// The agent's output, out of the keeper's frames; EOF once it ended.
struct KeeperReader {
    stream: BufReader<UnixStream>,
    pending: Vec<u8>,
    at: usize,
    ending: EndingCell,
}

impl KeeperReader {
    fn end(&self, outcome: Option<ExitInfo>) {
        let (lock, cvar) = &*self.ending;
        let mut ending = lock.lock().unwrap();
        if ending.outcome.is_none() {
            ending.outcome = Some(outcome);
        }
        cvar.notify_all();
    }
}

impl Read for KeeperReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at >= self.pending.len() {
            match read_frame(&mut self.stream) {
                Ok((OUTPUT, bytes)) => {
                    self.pending = bytes;
                    self.at = 0;
                }
                Ok((EXIT, json)) => {
                    self.end(
                        serde_json::from_slice::<Option<ExitInfo>>(&json)
                            .ok()
                            .flatten(),
                    );
                    return Ok(0);
                }
                Ok(_) => {}
                Err(_) => {
                    self.end(None);
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.pending.len() - self.at);
        buf[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

struct KeeperWriter(UnixStream);

impl Write for KeeperWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(&frame(INPUT, buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

struct KeeperControl {
    stream: Mutex<UnixStream>,
    pid: u32,
}

impl PtyControl for KeeperControl {
    fn resize(&self, size: PtySize) -> io::Result<()> {
        let mut payload = size.rows.to_be_bytes().to_vec();
        payload.extend_from_slice(&size.cols.to_be_bytes());
        self.stream
            .lock()
            .unwrap()
            .write_all(&frame(RESIZE, &payload))
    }

    fn signal_group(&self, signal: StopSignal) -> io::Result<()> {
        let sig = match signal {
            StopSignal::Term => Signal::SIGTERM,
            StopSignal::Kill => Signal::SIGKILL,
        };
        // Same machine: signal the agent's group directly.
        killpg(Pid::from_raw(self.pid as i32), sig).map_err(io::Error::from)
    }

    fn group_alive(&self) -> bool {
        killpg(Pid::from_raw(self.pid as i32), None).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_keeper_wire_never_panics_and_round_trips(
            garbage in proptest::collection::vec(any::<u8>(), 0..1024),
            kind in any::<u8>(),
            payload in proptest::collection::vec(any::<u8>(), 0..4096),
        ) {
            let _ = read_frame(&mut garbage.as_slice());
            let wire = frame(kind, &payload);
            let (k, p) = read_frame(&mut wire.as_slice()).unwrap();
            prop_assert_eq!((k, p), (kind, payload));
        }
    }

    #[test]
    fn an_oversized_keeper_frame_is_refused_before_allocating() {
        let mut head = vec![OUTPUT];
        head.extend_from_slice(&u32::MAX.to_be_bytes());
        let err = read_frame(&mut head.as_slice()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
