//! Task lifetimes from the daemon's socket: a `DaemonClient` that
//! timestamps every task event as it arrives.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use flightdeck::daemon::client::DaemonClient;
use flightdeck::protocol::Event;
use flightdeck::protocol::task::{TaskRecord, TaskState};

use super::{Res, Sandbox, WAIT};

#[derive(Default)]
pub struct Seen {
    records: HashMap<u64, TaskRecord>,
    running: HashMap<u64, Instant>,
    ended: HashMap<u64, Instant>,
    closed: bool,
}

pub struct Monitor {
    shared: Arc<(Mutex<Seen>, Condvar)>,
    task: tokio::task::JoinHandle<()>,
}

impl Monitor {
    pub fn connect(rt: &tokio::runtime::Runtime, sandbox: &Sandbox) -> Res<Self> {
        let socket = sandbox.paths().socket();
        let client = rt.block_on(async {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                match DaemonClient::connect(&socket).await {
                    Ok(c) => return Ok(c),
                    Err(e) if tokio::time::Instant::now() > deadline => return Err(e.to_string()),
                    Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        })?;
        let shared = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
        let s = shared.clone();
        let task = rt.spawn(async move {
            // Own the whole client: dropping its command sender would close
            // the connection.
            let mut client = client;
            while let Some(event) = client.events.recv().await {
                let now = Instant::now();
                let records = match event {
                    Event::Snapshot { tasks, .. } => tasks,
                    Event::Task(record) => vec![*record],
                    _ => continue,
                };
                let mut seen = s.0.lock().unwrap();
                for r in records {
                    if matches!(r.state, TaskState::Running | TaskState::Stopping) {
                        seen.running.entry(r.id).or_insert(now);
                    }
                    if !r.state.is_live() {
                        seen.ended.entry(r.id).or_insert(now);
                    }
                    seen.records.insert(r.id, r);
                }
                s.1.notify_all();
            }
            s.0.lock().unwrap().closed = true;
            s.1.notify_all();
        });
        Ok(Monitor { shared, task })
    }

    /// Waits until `f` returns something.
    fn wait<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut f: impl FnMut(&Seen) -> Option<T>,
    ) -> Res<T> {
        let deadline = Instant::now() + timeout;
        let mut seen = self.shared.0.lock().unwrap();
        loop {
            if let Some(v) = f(&seen) {
                return Ok(v);
            }
            if seen.closed {
                return Err(format!(
                    "the daemon connection closed while waiting for {what}"
                ));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("timed out after {timeout:?} waiting for {what}"));
            }
            seen = self.shared.1.wait_timeout(seen, deadline - now).unwrap().0;
        }
    }

    /// (running since, ended at, final record)
    pub fn wait_ended(&self, id: u64, timeout: Duration) -> Res<(Instant, Instant, TaskRecord)> {
        self.wait(&format!("task #{id} to end"), timeout, |s| {
            Some((
                *s.running.get(&id)?,
                *s.ended.get(&id)?,
                s.records.get(&id)?.clone(),
            ))
        })
    }

    pub fn wait_running(&self, ids: &[u64], timeout: Duration) -> Res<()> {
        self.wait("tasks to run", timeout, |s| {
            ids.iter()
                .all(|id| s.running.contains_key(id))
                .then_some(())
        })
    }

    /// The task's process, once the daemon reported it.
    pub fn pid(&self, id: u64) -> Option<u32> {
        let seen = self.shared.0.lock().unwrap();
        seen.records.get(&id)?.pid
    }

    pub fn live(&self, id: u64) -> bool {
        let seen = self.shared.0.lock().unwrap();
        seen.records.get(&id).is_some_and(|r| r.state.is_live())
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.task.abort();
    }
}
