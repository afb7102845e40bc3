//! The live screens of tasks, shared between the threads that feed them and
//! the clients that watch them. A watcher is told "task N changed" (a flag
//! and a wake-up, never a copy of the bytes); it renders a frame from the
//! screen when it is ready for one, so a slow watcher only ever costs itself.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};

use tokio::sync::Notify;

use super::history::{LIVE_HISTORY, LogHistory, REPLAY_BYTES, read_tail, read_tail_upto};
use crate::host::PtySize;
use crate::protocol::task::TaskId;
use crate::term::new_emulator;
use crate::term::{Emulator, ScreenFrame};
use std::path::Path;

/// One client's interest in screens: which changed since it last looked.
#[derive(Default)]
pub struct Watcher {
    changed: Mutex<HashSet<TaskId>>,
    pub wake: Notify,
    /// The client just typed: its next frame (the echo) goes out at once.
    pub urgent: AtomicBool,
}

impl Watcher {
    pub fn mark(&self, id: TaskId) {
        self.changed.lock().unwrap().insert(id);
        self.wake.notify_one();
    }

    /// The tasks that changed since the last call.
    pub fn take_changed(&self) -> HashSet<TaskId> {
        std::mem::take(&mut *self.changed.lock().unwrap())
    }
}

pub struct TaskScreen {
    emulator: Mutex<Box<dyn Emulator>>,
    /// Scrollback beyond the live emulator's, from the log (if it has one).
    history: Option<LogHistory>,
    watchers: Mutex<Vec<Weak<Watcher>>>,
    /// Output since the supervisor last looked: the agent is working, so
    /// its diff may have grown.
    touched: AtomicBool,
    /// When the program last printed (ms since the epoch; 0: not yet).
    printed_ms: AtomicU64,
}

impl TaskScreen {
    pub fn new(emulator: Box<dyn Emulator>) -> Arc<Self> {
        Self::build(emulator, None)
    }

    /// A task's screen: the tail of its log (its first `upto` bytes, when
    /// a live stream continues from there) replayed into a fresh emulator
    /// of `size`, with deeper scrollback replayed from the log on demand.
    /// A log not written yet is an empty screen; one that cannot be read
    /// says so on the screen.
    pub fn from_log(log: &Path, upto: Option<u64>, size: PtySize, depth: usize) -> Arc<Self> {
        let mut emulator = new_emulator(size, LIVE_HISTORY.min(depth));
        let tail = match upto {
            Some(end) => read_tail_upto(log, end, REPLAY_BYTES),
            None => read_tail(log, REPLAY_BYTES),
        };
        match tail {
            Ok(bytes) => emulator.feed(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => emulator.feed(
                format!(
                    "\x1b[31mflightdeck: cannot read {}: {e}\x1b[0m\r\n",
                    log.display()
                )
                .as_bytes(),
            ),
        }
        Self::build(emulator, Some(LogHistory::new(log.to_path_buf(), depth)))
    }

    fn build(emulator: Box<dyn Emulator>, history: Option<LogHistory>) -> Arc<Self> {
        Arc::new(TaskScreen {
            emulator: Mutex::new(emulator),
            history,
            watchers: Mutex::default(),
            touched: AtomicBool::new(false),
            printed_ms: AtomicU64::new(0),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Box<dyn Emulator>> {
        self.emulator.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What a viewer sees `scroll` lines back.
    pub fn frame(&self, scroll: usize) -> ScreenFrame {
        let live = self.lock();
        match &self.history {
            Some(history) => history.frame(live.as_ref(), scroll),
            None => live.frame(scroll),
        }
    }

    /// Whether there was output since the last call.
    pub fn take_touched(&self) -> bool {
        self.touched.swap(false, Ordering::Relaxed)
    }

    /// The program printed (what the screen changed for, unlike a resize).
    pub fn printed(&self, at_ms: u64) {
        self.printed_ms.store(at_ms, Ordering::Relaxed);
    }

    /// When the program last printed; `None` before it has.
    pub fn printed_ms(&self) -> Option<u64> {
        Some(self.printed_ms.load(Ordering::Relaxed)).filter(|&ms| ms > 0)
    }

    /// Tells every watcher that task `id`'s screen changed.
    pub fn changed(&self, id: TaskId) {
        self.touched.store(true, Ordering::Relaxed);
        self.watchers.lock().unwrap().retain(|w| match w.upgrade() {
            Some(watcher) => {
                watcher.mark(id);
                true
            }
            None => false,
        });
    }

    fn add_watcher(&self, watcher: &Arc<Watcher>) {
        let mut watchers = self.watchers.lock().unwrap();
        if !watchers.iter().any(|w| w.as_ptr() == Arc::as_ptr(watcher)) {
            watchers.push(Arc::downgrade(watcher));
        }
    }

    fn remove_watcher(&self, watcher: &Arc<Watcher>) {
        self.watchers
            .lock()
            .unwrap()
            .retain(|w| w.as_ptr() != Arc::as_ptr(watcher) && w.strong_count() > 0);
    }
}

#[derive(Default)]
struct Registry {
    screens: HashMap<TaskId, Arc<TaskScreen>>,
    /// Where a running task's input goes (its writer thread); clients type
    /// straight into it, without a trip through the supervisor loop.
    inputs: HashMap<TaskId, std::sync::mpsc::Sender<Vec<u8>>>,
    /// Watchers of tasks whose screen does not exist (yet): an ended task
    /// whose log is being replayed, or one being dispatched.
    waiting: HashMap<TaskId, Vec<Weak<Watcher>>>,
}

#[derive(Clone, Default)]
pub struct Screens(Arc<RwLock<Registry>>);

impl Screens {
    pub fn get(&self, id: TaskId) -> Option<Arc<TaskScreen>> {
        self.0.read().unwrap().screens.get(&id).cloned()
    }

    /// Adds a screen; watchers that were waiting for it are attached and told.
    pub fn insert(&self, id: TaskId, screen: Arc<TaskScreen>) {
        let waiting = {
            let mut registry = self.0.write().unwrap();
            registry.screens.insert(id, screen.clone());
            registry.waiting.remove(&id).unwrap_or_default()
        };
        for watcher in waiting.iter().filter_map(Weak::upgrade) {
            screen.add_watcher(&watcher);
        }
        screen.changed(id);
    }

    /// Starts telling `watcher` about task `id`, and marks it changed so the
    /// watcher draws it at once. False when the task has no screen yet.
    pub fn watch(&self, id: TaskId, watcher: &Arc<Watcher>) -> bool {
        let mut registry = self.0.write().unwrap();
        match registry.screens.get(&id) {
            Some(screen) => {
                screen.add_watcher(watcher);
                watcher.mark(id);
                true
            }
            None => {
                let list = registry.waiting.entry(id).or_default();
                list.retain(|w| w.strong_count() > 0 && w.as_ptr() != Arc::as_ptr(watcher));
                list.push(Arc::downgrade(watcher));
                false
            }
        }
    }

    pub fn remove(&self, id: TaskId) {
        let mut registry = self.0.write().unwrap();
        registry.screens.remove(&id);
        registry.inputs.remove(&id);
    }

    /// Sets (or, with `None`, closes) the task's input; closing it ends the
    /// writer thread once nothing else holds it.
    pub fn set_input(&self, id: TaskId, input: Option<std::sync::mpsc::Sender<Vec<u8>>>) {
        let mut registry = self.0.write().unwrap();
        match input {
            Some(input) => registry.inputs.insert(id, input),
            None => registry.inputs.remove(&id),
        };
    }

    /// Types `bytes` into a running task. False when it takes no input.
    pub fn send_input(&self, id: TaskId, bytes: Vec<u8>) -> bool {
        let registry = self.0.read().unwrap();
        registry
            .inputs
            .get(&id)
            .is_some_and(|input| input.send(bytes).is_ok())
    }

    pub fn unwatch(&self, id: TaskId, watcher: &Arc<Watcher>) {
        let mut registry = self.0.write().unwrap();
        if let Some(screen) = registry.screens.get(&id) {
            screen.remove_watcher(watcher);
        }
        if let Some(list) = registry.waiting.get_mut(&id) {
            list.retain(|w| w.as_ptr() != Arc::as_ptr(watcher));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::PtySize;
    use crate::term::new_emulator;

    fn screen() -> Arc<TaskScreen> {
        TaskScreen::new(new_emulator(PtySize { rows: 5, cols: 20 }, 10))
    }

    #[test]
    fn watchers_hear_changes_of_what_they_watch() {
        let screens = Screens::default();
        let a = Arc::new(Watcher::default());
        let b = Arc::new(Watcher::default());
        screens.insert(1, screen());
        assert!(screens.watch(1, &a));
        assert_eq!(
            a.take_changed(),
            HashSet::from([1]),
            "watching draws at once"
        );
        screens.get(1).unwrap().changed(1);
        assert_eq!(a.take_changed(), HashSet::from([1]));
        assert!(b.take_changed().is_empty());
        screens.unwatch(1, &a);
        screens.get(1).unwrap().changed(1);
        assert!(a.take_changed().is_empty());
    }

    #[test]
    fn watching_a_missing_screen_waits_for_it() {
        let screens = Screens::default();
        let a = Arc::new(Watcher::default());
        assert!(!screens.watch(9, &a));
        assert!(a.take_changed().is_empty());
        screens.insert(9, screen());
        assert_eq!(a.take_changed(), HashSet::from([9]));
        screens.get(9).unwrap().changed(9);
        assert_eq!(a.take_changed(), HashSet::from([9]));
    }

    #[test]
    fn dropped_watchers_are_forgotten() {
        let screens = Screens::default();
        screens.insert(1, screen());
        let a = Arc::new(Watcher::default());
        screens.watch(1, &a);
        drop(a);
        screens.get(1).unwrap().changed(1);
        assert!(screens.get(1).unwrap().watchers.lock().unwrap().is_empty());
    }
}
