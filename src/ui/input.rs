//! The dashboard's terminal input: crossterm events read on a thread of
//! our own, which gives stdin up while a task is attached.
//!
//! Why not crossterm's `EventStream`: its wake-up thread cannot be joined,
//! so when the attach started reading stdin raw, that thread could still
//! be inside crossterm's reader; stdin is a blocking descriptor, and a
//! read racing ours for the same bytes blocked for good, taking every
//! later key with it. Here one lock says who reads stdin: this thread
//! holds it only while draining what is already there, and the attach
//! holds it for as long as it runs.
//!
//! crossterm is built with `use-dev-tty`, its level-triggered `poll(2)`
//! reader: the default mio reader is edge-triggered and, when a resize
//! and a key arrive in one wake-up, returns the resize and forgets the
//! key's readiness, so typed bytes sat unread until the next key.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{self, Event};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::{Mutex, OwnedMutexGuard};

const DRAIN_WAIT: Duration = Duration::from_millis(1);

pub struct TermInput {
    events: UnboundedReceiver<io::Result<Event>>,
    /// crossterm notices a resize only when it is polled, and the thread
    /// polls it only when stdin has bytes: the signal is watched here.
    resized: Signal,
    stdin_owner: Arc<Mutex<()>>,
    /// Closing it (dropping) ends the thread.
    _quit: OwnedFd,
}

impl TermInput {
    pub fn start() -> io::Result<Self> {
        let (quit_rx, quit_tx) = nix::unistd::pipe()?;
        let (tx, events) = unbounded_channel();
        let stdin_owner = Arc::new(Mutex::new(()));
        let owner = stdin_owner.clone();
        std::thread::Builder::new()
            .name("term-input".into())
            .spawn(move || {
                let stdin = io::stdin();
                loop {
                    let mut fds = [
                        PollFd::new(stdin.as_fd(), PollFlags::POLLIN),
                        PollFd::new(quit_rx.as_fd(), PollFlags::POLLIN),
                    ];
                    match poll(&mut fds, PollTimeout::NONE) {
                        Ok(_) => {}
                        Err(nix::errno::Errno::EINTR) => continue,
                        Err(e) => {
                            let _ = tx.send(Err(e.into()));
                            return;
                        }
                    }
                    let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
                    if ready(&fds[1]) {
                        return; // the writing end closed
                    }
                    let stdin_events = fds[0].revents().unwrap_or(PollFlags::empty());
                    if stdin_events
                        .intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL)
                    {
                        let closed =
                            io::Error::new(io::ErrorKind::UnexpectedEof, "the terminal closed");
                        let _ = tx.send(Err(closed));
                        return;
                    }
                    if !ready(&fds[0]) {
                        continue;
                    }
                    // Waits here while an attach owns stdin; what it read
                    // is gone by then, and crossterm finds nothing.
                    let _owner = owner.blocking_lock();
                    loop {
                        // Not ZERO: that reader never looks at the fd for a
                        // zero timeout, only at what it has buffered.
                        match event::poll(DRAIN_WAIT) {
                            Ok(true) => {
                                if tx.send(event::read()).is_err() {
                                    return;
                                }
                            }
                            Ok(false) => break,
                            Err(e) => {
                                let _ = tx.send(Err(e));
                                return;
                            }
                        }
                    }
                }
            })?;
        Ok(TermInput {
            events,
            resized: signal(SignalKind::window_change())?,
            stdin_owner,
            _quit: quit_tx,
        })
    }

    pub async fn next(&mut self) -> Option<io::Result<Event>> {
        tokio::select! {
            event = self.events.recv() => event,
            Some(()) = self.resized.recv() => Some(
                crossterm::terminal::size().map(|(cols, rows)| Event::Resize(cols, rows)),
            ),
        }
    }

    /// Takes stdin from the event thread until the guard is dropped. Events
    /// it had read but nobody handled yet (typed in the instant before)
    /// are dropped with it.
    pub async fn take_stdin(&mut self) -> OwnedMutexGuard<()> {
        let guard = self.stdin_owner.clone().lock_owned().await;
        while self.events.try_recv().is_ok() {}
        guard
    }
}
