//! The threads behind one running task. PTY I/O is blocking, so each task
//! gets a reader (PTY → log + emulator), a writer (input → PTY; a program
//! that never reads stdin blocks only this thread) and a waiter (exit status).

use std::fs::File;
use std::io::{BufWriter, ErrorKind, Read, Write};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;

use super::screens::TaskScreen;
use crate::clock::now_ms;
use crate::host::ExitInfo;
use crate::protocol::task::TaskId;
use crate::term::TermSignal;

/// What a task's threads tell the supervisor.
pub enum PumpEvent {
    /// A bell or notification in the task's output.
    Signal {
        id: TaskId,
        signal: TermSignal,
    },
    /// Everything the task printed is read.
    OutputClosed {
        id: TaskId,
    },
    Exited {
        id: TaskId,
        exit: ExitInfo,
    },
}

/// Where the threads send their [`PumpEvent`]s.
pub type Report = Arc<dyn Fn(PumpEvent) + Send + Sync>;

/// A read shorter than this means the agent paused: flush the log.
const FLUSH_BELOW: usize = 2048;

pub fn spawn_reader(
    id: TaskId,
    mut reader: Box<dyn Read + Send>,
    screen: Arc<TaskScreen>,
    log: Option<File>,
    input: std_mpsc::Sender<Vec<u8>>,
    report: Report,
) {
    std::thread::Builder::new()
        .name(format!("task-{id}-read"))
        .spawn(move || {
            // Absent when a keeper process logs the output itself.
            let mut log = log.map(|log| BufWriter::with_capacity(64 * 1024, log));
            let mut buf = vec![0u8; 64 * 1024];
            let mut signal_gate = SignalGate::default();
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    // EIO: every process holding the PTY has gone.
                    Err(_) => break,
                };
                let chunk = &buf[..n];
                // Buffered while the agent floods (full reads), written out
                // as soon as it pauses.
                if let Some(log) = log.as_mut()
                    && let Err(e) = log
                        .write_all(chunk)
                        .and_then(|_| if n < FLUSH_BELOW { log.flush() } else { Ok(()) })
                {
                    tracing::warn!(task = id, "log write failed: {e}");
                }
                let (replies, signals) = {
                    let mut emulator = screen.lock();
                    emulator.feed(chunk);
                    (emulator.take_replies(), emulator.take_signals())
                };
                if !replies.is_empty() {
                    let _ = input.send(replies);
                }
                let now = now_ms();
                screen.printed(now);
                screen.changed(id);
                if let Some(signal) = signals.into_iter().last()
                    && signal_gate.admits(&signal, now)
                {
                    report(PumpEvent::Signal { id, signal });
                }
            }
            if let Some(log) = log.as_mut() {
                let _ = log.flush();
            }
            report(PumpEvent::OutputClosed { id });
        })
        .expect("spawn reader thread");
}

/// Lets the same signal through at most once a second: an agent ringing
/// its bell in a loop must not flood the supervisor.
#[derive(Default)]
struct SignalGate {
    last: Option<(TermSignal, u64)>,
}

impl SignalGate {
    const EVERY_MS: u64 = 1_000;

    fn admits(&mut self, signal: &TermSignal, now: u64) -> bool {
        if let Some((last, at)) = &self.last
            && last == signal
            && now < at + Self::EVERY_MS
        {
            return false;
        }
        self.last = Some((signal.clone(), now));
        true
    }
}

pub fn spawn_writer(id: TaskId, mut writer: Box<dyn Write + Send>) -> std_mpsc::Sender<Vec<u8>> {
    let (tx, rx) = std_mpsc::channel::<Vec<u8>>();
    std::thread::Builder::new()
        .name(format!("task-{id}-write"))
        .spawn(move || {
            for bytes in rx {
                if writer
                    .write_all(&bytes)
                    .and_then(|_| writer.flush())
                    .is_err()
                {
                    break;
                }
            }
        })
        .expect("spawn writer thread");
    tx
}

pub fn spawn_waiter(id: TaskId, waiter: Box<dyn FnOnce() -> ExitInfo + Send>, report: Report) {
    std::thread::Builder::new()
        .name(format!("task-{id}-wait"))
        .spawn(move || {
            let exit = waiter();
            report(PumpEvent::Exited { id, exit });
        })
        .expect("spawn waiter thread");
}
