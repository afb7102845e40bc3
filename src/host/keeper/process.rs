//! The keeper process (`flightdeck keeper`, or the small
//! `flightdeck-keeper` binary): starts the agent in a PTY, logs every byte
//! it prints, and serves the daemon over a Unix socket until the agent has
//! ended and a daemon has heard of it.

use std::fs;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::wire::{
    EXIT, HELLO, Hello, INPUT, KeeperSpec, OUTPUT, RESIZE, exit_file, frame, read_frame,
};
use crate::host::local::pty::{OpenedPty, open_pty, portable_size};
use crate::host::{ExitInfo, PtySize, PtySpec};

/// After the agent exits, how long its output may take to drain.
const DRAIN: Duration = Duration::from_secs(2);
/// How long an ended task's keeper waits for a daemon to collect its exit.
const KEEP_EXITED: Duration = Duration::from_secs(3600);

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

/// `flightdeck keeper`: reads its spec from stdin, starts the agent, answers
/// "ready PID" (or "error …") on stdout, then keeps the PTY until the agent
/// has ended and a daemon has heard of it.
pub fn run() -> io::Result<()> {
    let spec: KeeperSpec = serde_json::from_reader(io::stdin().lock())?;
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

fn start(spec: &KeeperSpec) -> Result<(UnixListener, OpenedPty), String> {
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
        keep: None,
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
