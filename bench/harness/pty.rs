//! A program in a PTY of its own, its output drained by a thread and, when
//! the harness needs to see the screen, parsed by an independent emulator
//! (vt100). Waiting for something on that screen is timestamped by the
//! reader thread at the read that made it appear.

use std::io::{Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::{Res, kill};

/// What to wait for on the screen.
pub enum Until {
    /// `text` is on the screen.
    Shows(String),
    /// `text` is not on the screen.
    Hides(String),
    /// The screen holds more `ch` than it did when the wait began.
    More(char),
}

/// `Until` made concrete when a wait begins.
enum Check {
    Shows(String),
    Hides(String),
    More { ch: char, base: usize },
}

impl Check {
    fn new(until: Until, screen: &str) -> Self {
        match until {
            Until::Shows(t) => Check::Shows(t),
            Until::Hides(t) => Check::Hides(t),
            Until::More(ch) => Check::More {
                ch,
                base: count(screen, ch),
            },
        }
    }

    fn holds(&self, screen: &str) -> bool {
        match self {
            Check::Shows(t) => screen.contains(t.as_str()),
            Check::Hides(t) => !screen.contains(t.as_str()),
            Check::More { ch, base } => count(screen, *ch) > *base,
        }
    }
}

fn count(screen: &str, ch: char) -> usize {
    screen.chars().filter(|c| *c == ch).count()
}

#[derive(Default)]
struct PtyState {
    parser: Option<vt100::Parser>,
    bytes: u64,
    eof: Option<Instant>,
    check: Option<Check>,
    hit: Option<Instant>,
}

struct PtyShared {
    state: Mutex<PtyState>,
    cond: Condvar,
}

/// A child in a PTY of its own; its output is drained by a thread (and parsed
/// by vt100 when `parse`). Killed on drop.
pub struct PtyProc {
    name: String,
    _master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    shared: Arc<PtyShared>,
    pub spawned: Instant,
}

impl PtyProc {
    pub fn spawn(name: &str, cmd: CommandBuilder, cols: u16, rows: u16, parse: bool) -> Res<Self> {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| format!("openpty: {e}"))?;
        let shared = Arc::new(PtyShared {
            state: Mutex::new(PtyState {
                parser: parse.then(|| vt100::Parser::new(rows, cols, 0)),
                ..Default::default()
            }),
            cond: Condvar::new(),
        });
        let reader = pair
            .master
            .try_clone_reader()
            .map_err(|e| format!("pty reader: {e}"))?;
        let writer = pair
            .master
            .take_writer()
            .map_err(|e| format!("pty writer: {e}"))?;
        let spawned = Instant::now();
        let child = pair
            .slave
            .spawn_command(cmd)
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        drop(pair.slave);
        let s = shared.clone();
        std::thread::Builder::new()
            .name(format!("pty-{name}"))
            .spawn(move || drain(reader, &s))
            .map_err(|e| e.to_string())?;
        Ok(PtyProc {
            name: name.into(),
            _master: pair.master,
            writer,
            child,
            shared,
            spawned,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().unwrap_or(0)
    }

    pub fn screen(&self) -> String {
        let st = self.shared.state.lock().unwrap();
        st.parser
            .as_ref()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.shared.state.lock().unwrap().bytes
    }

    /// Stops parsing the output (it is still drained), so a timed run does
    /// not pay for the harness's emulator.
    pub fn stop_parsing(&self) {
        self.shared.state.lock().unwrap().parser = None;
    }

    pub fn send(&mut self, bytes: &[u8]) -> Res<()> {
        self.writer
            .write_all(bytes)
            .and_then(|_| self.writer.flush())
            .map_err(|e| format!("{}: write: {e}", self.name))
    }

    /// Arms `until`, writes `bytes` (if any), and returns (when written, when
    /// the screen first showed it). Time is measured from just before the write.
    pub fn send_and_wait(
        &mut self,
        bytes: &[u8],
        until: Until,
        timeout: Duration,
    ) -> Res<(Instant, Instant)> {
        {
            let mut st = self.shared.state.lock().unwrap();
            let screen = st
                .parser
                .as_ref()
                .ok_or("waiting for the screen of an unparsed pty")?
                .screen()
                .contents();
            let check = Check::new(until, &screen);
            st.hit = None;
            if bytes.is_empty() && check.holds(&screen) {
                st.check = None;
                let now = Instant::now();
                return Ok((now, now));
            }
            st.check = Some(check);
        }
        let sent = Instant::now();
        if !bytes.is_empty() {
            self.send(bytes)?;
        }
        let deadline = sent + timeout;
        let mut st = self.shared.state.lock().unwrap();
        loop {
            if let Some(hit) = st.hit.take() {
                st.check = None;
                return Ok((sent, hit));
            }
            let ended = st.eof.is_some();
            let now = Instant::now();
            if ended || now >= deadline {
                st.check = None;
                drop(st);
                let why = if ended {
                    "ended".to_string()
                } else {
                    format!("timed out after {timeout:?}")
                };
                return Err(format!("{}: {why}; screen:\n{}", self.name, self.screen()));
            }
            st = self.shared.cond.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    /// When `text` showed (now, if it is on the screen already).
    pub fn wait_shows(&mut self, text: &str, timeout: Duration) -> Res<Instant> {
        self.send_and_wait(b"", Until::Shows(text.into()), timeout)
            .map(|(_, hit)| hit)
    }

    /// When the output ended.
    pub fn wait_eof(&self, timeout: Duration) -> Res<Instant> {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.state.lock().unwrap();
        loop {
            if let Some(eof) = st.eof {
                return Ok(eof);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("{}: no EOF within {timeout:?}", self.name));
            }
            st = self.shared.cond.wait_timeout(st, deadline - now).unwrap().0;
        }
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> Res<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("{} did not exit within {timeout:?}", self.name));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// The reader thread: counts, parses, and stamps the read that satisfied the
/// armed check.
fn drain(mut reader: Box<dyn Read + Send>, shared: &PtyShared) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).unwrap_or(0);
        let now = Instant::now();
        let mut st = shared.state.lock().unwrap();
        if n == 0 {
            st.eof = Some(now);
            shared.cond.notify_all();
            break;
        }
        st.bytes += n as u64;
        let PtyState {
            parser, check, hit, ..
        } = &mut *st;
        if let Some(parser) = parser.as_mut() {
            parser.process(&buf[..n]);
            if let Some(c) = check.as_ref()
                && hit.is_none()
                && c.holds(&parser.screen().contents())
            {
                *hit = Some(now);
                shared.cond.notify_all();
            }
        }
    }
}

impl Drop for PtyProc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let pid = self.pid();
        if pid != 0 {
            kill(pid, nix::sys::signal::Signal::SIGTERM);
        }
        if self.wait_exit(Duration::from_secs(2)).is_err() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
