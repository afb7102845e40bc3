//! The live screens of tasks, shared between the threads that feed them and
//! the views that draw them. Only a "task N changed" message crosses the
//! channel; nobody copies byte streams around per frame.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use super::task::TaskId;
use crate::term::Emulator;

pub struct TaskScreen {
    emulator: Mutex<Box<dyn Emulator>>,
    /// Set by the feeder, cleared by the drawer; a change is announced only
    /// when the flag goes from clear to set, so a flood is one message per frame.
    dirty: AtomicBool,
}

impl TaskScreen {
    pub fn new(emulator: Box<dyn Emulator>) -> Arc<Self> {
        Arc::new(TaskScreen {
            emulator: Mutex::new(emulator),
            dirty: AtomicBool::new(false),
        })
    }

    pub fn lock(&self) -> MutexGuard<'_, Box<dyn Emulator>> {
        self.emulator.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the screen changed; true when the change needs announcing.
    pub fn mark_dirty(&self) -> bool {
        !self.dirty.swap(true, Ordering::AcqRel)
    }

    /// Clears the changed flag before drawing.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }
}

#[derive(Clone, Default)]
pub struct Screens(Arc<RwLock<HashMap<TaskId, Arc<TaskScreen>>>>);

impl Screens {
    pub fn get(&self, id: TaskId) -> Option<Arc<TaskScreen>> {
        self.0.read().unwrap().get(&id).cloned()
    }

    pub fn insert(&self, id: TaskId, screen: Arc<TaskScreen>) {
        self.0.write().unwrap().insert(id, screen);
    }

    pub fn remove(&self, id: TaskId) {
        self.0.write().unwrap().remove(&id);
    }
}
