//! Deep scrollback from the task's log. A live emulator keeps only the
//! last [`LIVE_HISTORY`] lines (a 120-column row costs about 2.9 KB in
//! memory, so 10,000 lines per agent would be ~28 MiB); when a viewer
//! scrolls further back, the tail of the log — which holds every byte the
//! task printed — is replayed into a temporary emulator with the full
//! configured scrollback, kept while someone reads it.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::host::PtySize;
use crate::term::{Emulator, ScreenFrame, new_emulator};

/// How much of a log is replayed to rebuild a screen.
pub const REPLAY_BYTES: u64 = 512 * 1024;
/// Lines of history a live emulator keeps in memory.
pub const LIVE_HISTORY: usize = 200;
/// How much log a deep view replays (enough for 10,000 long lines).
const DEEP_BYTES: u64 = 16 << 20;
/// A deep view nobody scrolled in for this long is dropped.
const DEEP_IDLE: Duration = Duration::from_secs(30);
/// A deep view is rebuilt when the log grew by this much since.
const DEEP_STALE_BYTES: u64 = 1 << 20;

struct Deep {
    emulator: Box<dyn Emulator>,
    size: PtySize,
    log_len: u64,
    used: Instant,
}

pub struct LogHistory {
    log: PathBuf,
    /// The configured scrollback (lines) a viewer may scroll through.
    depth: usize,
    deep: Mutex<Option<Deep>>,
}

impl LogHistory {
    pub fn new(log: PathBuf, depth: usize) -> Self {
        LogHistory {
            log,
            depth,
            deep: Mutex::new(None),
        }
    }

    /// The frame `scroll` lines back, from the live emulator when it holds
    /// that far, else from the deep view.
    pub fn frame(&self, live: &dyn Emulator, scroll: usize) -> ScreenFrame {
        let live_history = live.history_len();
        // Older lines exist only once the live history is full.
        let more = live_history >= LIVE_HISTORY.min(self.depth) && self.depth > live_history;
        if scroll <= live_history || !more {
            self.forget_if_idle();
            let mut frame = live.frame(scroll);
            if more {
                // Tell the viewer it may scroll on; the deep view says how far.
                frame.history = self.depth as u32;
            }
            return frame;
        }
        let size = live.size();
        let mut deep = self.deep.lock().unwrap_or_else(|e| e.into_inner());
        let log_len = std::fs::metadata(&self.log).map_or(0, |m| m.len());
        let fresh = deep.as_ref().is_some_and(|d| {
            d.size == size && log_len.saturating_sub(d.log_len) < DEEP_STALE_BYTES
        });
        if !fresh {
            *deep = Some(self.build(size, log_len));
        }
        let deep = deep.as_mut().expect("built above");
        deep.used = Instant::now();
        deep.emulator.frame(scroll)
    }

    fn build(&self, size: PtySize, log_len: u64) -> Deep {
        let mut emulator = new_emulator(size, self.depth);
        match read_tail(&self.log, DEEP_BYTES) {
            Ok(bytes) => emulator.feed(&bytes),
            Err(e) => emulator.feed(
                format!("flightdeck: cannot read {}: {e}\r\n", self.log.display()).as_bytes(),
            ),
        }
        Deep {
            emulator,
            size,
            log_len,
            used: Instant::now(),
        }
    }

    fn forget_if_idle(&self) {
        let mut deep = self.deep.lock().unwrap_or_else(|e| e.into_inner());
        if deep.as_ref().is_some_and(|d| d.used.elapsed() > DEEP_IDLE) {
            *deep = None;
            crate::memory::note_freed();
        }
    }
}

/// The last `max` bytes of a file's first `end` bytes.
pub fn read_tail_upto(path: &Path, end: u64, max: u64) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let end = end.min(file.metadata()?.len());
    file.seek(SeekFrom::Start(end.saturating_sub(max)))?;
    let mut bytes = Vec::new();
    file.take(end.min(max)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The last `max` bytes of a file.
pub fn read_tail(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_scroll_comes_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("task.log");
        let size = PtySize { rows: 5, cols: 30 };
        let mut live = new_emulator(size, LIVE_HISTORY);
        let mut bytes = Vec::new();
        for i in 0..2_000 {
            bytes.extend_from_slice(format!("line {i}\r\n").as_bytes());
        }
        live.feed(&bytes);
        std::fs::write(&log, &bytes).unwrap();
        let history = LogHistory::new(log, 10_000);

        // Within the live history: the live emulator, offering more.
        let frame = history.frame(live.as_ref(), 10);
        assert_eq!(frame.text()[0], "line 1986");
        assert_eq!(frame.history, 10_000);
        // Beyond it: the deep view, with the real depth.
        let frame = history.frame(live.as_ref(), 1_500);
        assert_eq!(frame.text()[0], "line 496");
        assert_eq!(frame.history, 1_996);
        assert!(history.deep.lock().unwrap().is_some());
    }

    #[test]
    fn short_output_never_builds_a_deep_view() {
        let dir = tempfile::tempdir().unwrap();
        let mut live = new_emulator(PtySize { rows: 5, cols: 30 }, LIVE_HISTORY);
        live.feed(b"a\r\nb\r\nc\r\nd\r\ne\r\nf\r\n");
        let history = LogHistory::new(dir.path().join("none.log"), 10_000);
        let frame = history.frame(live.as_ref(), 99);
        assert_eq!(frame.history, 2);
        assert!(history.deep.lock().unwrap().is_none());
    }
}
