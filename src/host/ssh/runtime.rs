//! A small tokio runtime of our own for all SSH I/O. The `Host` trait's PTY
//! parts are blocking (reader, waiter, `PtyControl`), and they may be called
//! from a thread of the caller's runtime, even a single-threaded one: waiting
//! there for work scheduled on that same runtime would deadlock. On our own
//! runtime the network keeps moving whoever waits, and dropping russh objects
//! (which spawn tasks) always happens inside a runtime.

use std::future::Future;
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

use tokio::runtime::{Builder, Handle, Runtime};
use tokio::task::JoinHandle;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("flightdeck-ssh")
            .enable_all()
            .build()
            .expect("cannot start the SSH runtime")
    })
}

pub fn handle() -> &'static Handle {
    runtime().handle()
}

/// Runs `future` on the SSH runtime and waits for it from any async context.
/// Dropping the returned future aborts the work.
pub async fn run<F>(future: F) -> Result<F::Output, tokio::task::JoinError>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    AbortOnDrop(handle().spawn(future)).join().await
}

/// Runs `future` on the SSH runtime and blocks this (non-SSH) thread for at
/// most `limit`; `None` if it took longer (the work is then abandoned).
pub fn block_on_for<F>(limit: Duration, future: F) -> Option<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = mpsc::sync_channel(1);
    let task = handle().spawn(async move {
        let _ = tx.send(future.await);
    });
    let out = rx.recv_timeout(limit).ok();
    task.abort();
    out
}

/// Aborts the task when dropped, so cancelled callers leave no work behind.
pub struct AbortOnDrop<T>(pub JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    pub async fn join(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
