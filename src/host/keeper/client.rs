//! The daemon's side of a keeper: start one for a task, attach to it (a new
//! task, or one a previous daemon ran), and drive it as a [`PtyProcess`].

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::wire::{
    EXIT, HELLO, Hello, INPUT, KeeperSpec, MAX_FRAME, OUTPUT, RESIZE, frame, read_frame,
};
use crate::host::local::pty::GroupControl;
use crate::host::{
    ExitInfo, HostError, Keep, PtyControl, PtyProcess, PtySize, PtySpec, StopSignal,
};

const ATTACH_TIMEOUT: Duration = Duration::from_secs(5);

/// The keeper program: `flightdeck-keeper` installed next to this
/// executable, else `flightdeck keeper`. One keeper runs per task, and the
/// small binary keeps each one light: the whole dashboard's relocated data
/// alone would cost every keeper ~430 KiB of private memory.
fn keeper_command() -> io::Result<Command> {
    let exe = std::env::current_exe()?;
    let small = exe.with_file_name("flightdeck-keeper");
    Ok(if small.is_file() {
        Command::new(small)
    } else {
        let mut command = Command::new(exe);
        command.arg("keeper");
        command
    })
}

/// Starts a keeper for `spec` and attaches to it.
pub fn spawn(spec: PtySpec, socket: &Path, keep: Keep) -> Result<PtyProcess, HostError> {
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
    let keeper_spec = KeeperSpec {
        argv: spec.argv,
        cwd: spec.cwd,
        env: spec.env,
        size: spec.size,
        socket: socket.to_path_buf(),
        log: keep.log,
        meta: keep.meta,
    };
    let mut stdin = child.stdin.take().expect("piped");
    serde_json::to_writer(&mut stdin, &keeper_spec).map_err(|e| spawn_err(e.to_string()))?;
    drop(stdin);
    let mut line = String::new();
    let stdout = child.stdout.take().expect("piped");
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| spawn_err(e.to_string()))?;
    // The keeper outlives us if it must; reap it if it ends first.
    std::thread::spawn(move || child.wait());
    match line.trim().split_once(' ') {
        Some(("ready", _)) => attach(socket)
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
            // Every read of the agent's output comes this way: the frame's
            // body is kept whole and read from past its kind byte, not
            // shifted down.
            match crate::framing::read_body_blocking(&mut self.stream, MAX_FRAME) {
                Ok(body) if body[0] == OUTPUT => {
                    self.pending = body;
                    self.at = 1;
                }
                Ok(body) if body[0] == EXIT => {
                    self.end(
                        serde_json::from_slice::<Option<ExitInfo>>(&body[1..])
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
        // Same machine: signal the agent's group directly.
        GroupControl { pid: self.pid }.signal_group(signal)
    }

    fn group_alive(&self) -> bool {
        GroupControl { pid: self.pid }.group_alive()
    }
}
