//! What the supervisor finds when it starts: the saved task records, the
//! keepers of tasks that were running (re-adopted), the agents of lost tasks
//! that outlived their keepers (stopped), and the saver that writes records
//! back atomically.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use super::{Internal, SHUTDOWN_SLACK, Supervisor};
use crate::clock::now_ms;
use crate::host::{ExitInfo, Kept, PtyControl, PtyProcess, PtySize, Reattached, StopSignal};
use crate::protocol::task::{INTERRUPTED_START, TaskEvent, TaskId, TaskRecord, TaskState};
use crate::protocol::{Event, Level};
use crate::store;
use crate::supervisor::screens::TaskScreen;

impl Supervisor {
    /// Loads the saved records, re-adopts what still runs (also keepers the
    /// state file does not list), and saves the result at once: from here
    /// on the file on disk is the daemon's full knowledge, so a second
    /// crash loses nothing.
    pub(super) fn load(&mut self) {
        self.load_records();
        self.adopt_strays();
        let records = self.records.values().cloned().collect();
        if let Err(e) = self.saver.save_now(records) {
            return self.notice(Level::Error, format!("cannot save task state: {e}"));
        }
        // Ends learnt from what hosts kept are saved: they can forget them.
        let ended: Vec<(TaskId, String)> = (self.records.values())
            .filter(|r| !r.state.is_live())
            .map(|r| (r.id, r.spec.host.clone()))
            .collect();
        for (id, host) in ended {
            if let Ok(host) = self.hosts.get(&host) {
                host.forget_end(id);
            }
        }
    }

    fn load_records(&mut self) {
        // Ids whose records were lost (a state file deleted or moved aside)
        // stay taken while their logs or worktrees are there: a new task 1
        // must not write into an old task 1's log or worktree.
        self.next_id = self
            .next_id
            .max(self.config.paths.highest_task_id_on_disk() + 1);
        let path = self.config.paths.tasks_file();
        match store::load_json::<Vec<TaskRecord>>(&path) {
            Ok(records) => {
                let now = now_ms();
                for record in records.unwrap_or_default() {
                    self.next_id = self.next_id.max(record.id + 1);
                    let (id, live) = (record.id, record.state.is_live());
                    self.records.insert(id, record);
                    if live {
                        self.readopt(id, now);
                    }
                }
            }
            Err(e) => {
                // Keep the unreadable file for the user instead of overwriting it.
                let backup = path.with_extension("json.corrupt");
                let _ = std::fs::rename(&path, &backup);
                self.notice(
                    Level::Error,
                    format!("{e}; moved aside to {}", backup.display()),
                );
            }
        }
    }

    /// A task that was live when the last daemon ended: attach to its
    /// keeper if it still runs, take its exit status if it ended meanwhile,
    /// else it is honestly lost.
    fn readopt(&mut self, id: TaskId, now: u64) {
        let found = match self.hosts.get(&self.records[&id].spec.host.clone()) {
            Ok(host) => host.reattach(id),
            Err(_) => Reattached::Gone,
        };
        let exit = match found {
            Reattached::Running { process, kept } => return self.adopt(id, process, kept, now),
            Reattached::Ended(exit) => Some(exit),
            Reattached::Gone => None,
        };
        let record = self.records.get_mut(&id).expect("inserted");
        match exit {
            // It ended while no daemon was there; its keeper left word.
            Some(exit) => {
                record.apply(TaskEvent::Spawned { pid: record.pid }, now);
                record.apply(TaskEvent::Exited(exit), now);
            }
            // The daemon died while starting it, before a keeper held it.
            None if record.state == TaskState::Starting => {
                record.apply(TaskEvent::SpawnFailed(INTERRUPTED_START.into()), now);
            }
            None => {
                record.apply(TaskEvent::Orphaned, now);
            }
        }
    }

    /// Keepers whose task the state file does not list (it was lost,
    /// corrupt, or older than the dispatch): each keeps the record its
    /// daemon gave it, so the task is known again instead of running on
    /// unseen.
    fn adopt_strays(&mut self) {
        let now = now_ms();
        let kept = (self.hosts.in_use().into_iter()).flat_map(|host| {
            host.kept_tasks()
                .into_iter()
                .map(move |id| (id, host.clone()))
        });
        let strays: Vec<_> = kept
            .filter(|(id, _)| !self.records.contains_key(id))
            .collect();
        for (id, host) in strays {
            let Reattached::Running { process, kept } = host.reattach(id) else {
                continue;
            };
            match serde_json::from_str::<TaskRecord>(&kept.meta) {
                Ok(record) if record.id == id => {
                    self.next_id = self.next_id.max(id + 1);
                    self.records.insert(id, record);
                    self.adopt(id, process, kept, now);
                    tracing::warn!(
                        task = id,
                        "recovered from its keeper: the state file did not list it"
                    );
                    self.notice(
                        Level::Info,
                        format!("task #{id} was missing from the saved state; recovered it from its keeper"),
                    );
                }
                _ => tracing::warn!(task = id, "a kept task has no readable record; leaving it"),
            }
        }
    }

    /// Takes over a running (or meanwhile ended) task from its keeper.
    fn adopt(&mut self, id: TaskId, process: PtyProcess, hello: Kept, now: u64) {
        {
            let record = &self.records[&id];
            let depth = self.config.settings.scrollback_lines;
            // The screen as of `log_len`, then the keeper's stream from there.
            let size = PtySize {
                rows: 40,
                cols: 120,
            };
            let screen = TaskScreen::from_log(&record.log_path, Some(hello.log_len), size, depth);
            self.screens.insert(id, screen);
            self.run_pumps(id, process, None);
            let record = self.records.get_mut(&id).expect("inserted");
            record.pid = Some(hello.pid);
            if record.state == TaskState::Starting {
                record.apply(
                    TaskEvent::Spawned {
                        pid: Some(hello.pid),
                    },
                    now,
                );
            }
            if let Some(exit) = hello.exit {
                // It ended while no daemon was there: say so from the start.
                record.apply(TaskEvent::Exited(exit), now);
                return;
            }
            if record.state == TaskState::Stopping {
                self.signal_stop(id);
            }
            tracing::info!(task = id, "re-adopted (pid {})", hello.pid);
        }
    }

    /// The agent of a lost task that outlived its keeper (an agent that
    /// ignores SIGHUP does): its pid, if that process is still this task's
    /// — its environment names the task — and ours.
    pub(super) fn stray_agent(&mut self, id: TaskId) -> Option<Arc<dyn PtyControl>> {
        let record = self.records.get(&id)?;
        if record.state != TaskState::Lost {
            return None;
        }
        let pid = record.pid?;
        self.hosts
            .get(&record.spec.host.clone())
            .ok()?
            .stray(id, pid)
    }

    /// TERM to the stray's process group, KILL after the grace period; its
    /// end is reported like any other.
    pub(super) fn stop_stray(&mut self, id: TaskId, group: Arc<dyn PtyControl>) {
        let grace = self.config.settings.stop_grace;
        let tx = self.internal_tx.clone();
        tracing::warn!(task = id, "stopping its agent, which outlived its keeper");
        tokio::task::spawn_blocking(move || {
            let gone = |limit: Duration| {
                let deadline = std::time::Instant::now() + limit;
                while group.group_alive() {
                    if std::time::Instant::now() >= deadline {
                        return false;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                true
            };
            let _ = group.signal_group(StopSignal::Term);
            let signal = if gone(grace) {
                "TERM"
            } else {
                let _ = group.signal_group(StopSignal::Kill);
                gone(SHUTDOWN_SLACK);
                "KILL"
            };
            let exit = ExitInfo {
                signal: Some(signal.into()),
                ..ExitInfo::default()
            };
            let _ = tx.send(Internal::Exited { id, exit });
        });
    }
}

/// Writes the task records to disk. Most changes are saved in the
/// background; `save_now` saves before returning, for moments that must
/// survive a crash right after (a dispatch, the end of shutdown). One lock
/// orders every write and each write takes the newest snapshot under it,
/// so an older snapshot never lands after a newer one.
pub(super) struct RecordSaver {
    latest: watch::Sender<Vec<TaskRecord>>,
    lock: Arc<Mutex<()>>,
    path: PathBuf,
}

impl RecordSaver {
    pub(super) fn new(path: PathBuf) -> Self {
        RecordSaver {
            latest: watch::channel(Vec::new()).0,
            lock: Arc::default(),
            path,
        }
    }

    /// Starts the background writer; it reports failures as notices.
    pub(super) fn start(&self, events: UnboundedSender<Event>) {
        let mut changes = self.latest.subscribe();
        let (lock, path) = (self.lock.clone(), self.path.clone());
        tokio::spawn(async move {
            // What is there now was saved by `load`: write only changes.
            while changes.changed().await.is_ok() {
                changes.borrow_and_update();
                let (latest, lock, path) = (changes.clone(), lock.clone(), path.clone());
                let saved =
                    tokio::task::spawn_blocking(move || write_newest(&lock, &path, &latest))
                        .await
                        .map_err(std::io::Error::other)
                        .and_then(|r| r);
                if let Err(e) = saved {
                    let _ = events.send(Event::Notice {
                        level: Level::Error,
                        message: format!("cannot save task state: {e}"),
                    });
                }
            }
        });
    }

    /// The latest records given to save.
    pub(super) fn watch(&self) -> watch::Receiver<Vec<TaskRecord>> {
        self.latest.subscribe()
    }

    /// Queues `records` for the background writer.
    pub(super) fn update(&self, records: Vec<TaskRecord>) {
        self.latest.send_replace(records);
    }

    /// Saves `records` before returning.
    pub(super) fn save_now(&self, records: Vec<TaskRecord>) -> std::io::Result<()> {
        self.latest.send_replace(records);
        write_newest(&self.lock, &self.path, &self.latest.subscribe())
    }
}

fn write_newest(
    lock: &Mutex<()>,
    path: &Path,
    latest: &watch::Receiver<Vec<TaskRecord>>,
) -> std::io::Result<()> {
    let _order = lock.lock().unwrap_or_else(PoisonError::into_inner);
    let records = latest.borrow().clone();
    store::save_json(path, &records)
}
