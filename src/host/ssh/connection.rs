//! The SSH connection of a host, shared by all its channels: dialled when
//! first needed, redialled (with backoff) when it dropped, watched by a
//! monitor that measures the round-trip time and notices the end. Callers
//! never wait on each other: one dial runs at a time and everyone who needs
//! it waits on the same shared future, each within their own time budget.
//!
//! sshd limits the sessions of one connection (`MaxSessions`, 10 by
//! default), and every task's PTY holds one. When the server refuses another
//! session, an extra connection to the same host is opened (no questions:
//! the host key is known by then and decrypted keys are kept).

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use russh::client::{Handle, Msg};
use russh::{Channel, ChannelOpenFailure, Disconnect};
use tokio::sync::watch;

use super::auth::{AuthContext, KeyCache, authenticate};
use super::client::{HopHandler, open_transport};
use super::config::SshTarget;
use super::error::SshError;
use super::prompt::SshPrompter;
use super::runtime;
use super::{ConnState, SshEnv, SshTimeouts};

/// Connections per host at most (each carries up to the server's MaxSessions).
const MAX_LINKS: usize = 8;

/// A live session to the host, plus the jump hops it is tunnelled through
/// (kept alive with it).
pub struct Link {
    pub handle: Handle<HopHandler>,
    _hops: Vec<Handle<HopHandler>>,
    closed: watch::Receiver<Option<String>>,
}

impl Link {
    pub fn is_open(&self) -> bool {
        !self.handle.is_closed()
            && self.closed.borrow().is_none()
            && self.closed.has_changed().is_ok()
    }

    /// Waits up to `limit` for the session's end to be reported.
    pub async fn wait_closed(&self, limit: Duration) {
        let mut closed = self.closed.clone();
        let _ = tokio::time::timeout(limit, closed.wait_for(|reason| reason.is_some())).await;
    }

    /// Why the session ended (or "closed" when it gave no reason).
    pub fn end_reason(&self) -> String {
        self.closed
            .borrow()
            .clone()
            .unwrap_or_else(|| "the connection closed".into())
    }
}

type Dial = Shared<BoxFuture<'static, Result<Arc<Link>, SshError>>>;

#[derive(Default)]
struct Inner {
    /// Open links; the first is the host's connection, the others extras
    /// for when the server's session limit is reached.
    links: Vec<Arc<Link>>,
    dial: Option<Dial>,
    /// Failed dials in a row, for the backoff.
    failures: u32,
    /// The last failure; one that needs the user stops automatic redials.
    last_error: Option<SshError>,
    /// Bumped by a deliberate disconnect, so monitors of the links it
    /// closed do not report them as lost.
    generation: u64,
}

impl Inner {
    fn open_links(&mut self) -> Vec<Arc<Link>> {
        self.links.retain(|l| l.is_open());
        self.links.clone()
    }
}

pub struct Connection {
    alias: String,
    /// Jump hops first, the host itself last.
    route: Vec<SshTarget>,
    env: SshEnv,
    prompter: Arc<dyn SshPrompter>,
    timeouts: SshTimeouts,
    keys: KeyCache,
    inner: Mutex<Inner>,
    /// One extra connection at a time.
    extra_dial: tokio::sync::Mutex<()>,
    state: watch::Sender<ConnState>,
}

impl Connection {
    pub fn new(
        target: SshTarget,
        jumps: Vec<SshTarget>,
        env: SshEnv,
        prompter: Arc<dyn SshPrompter>,
        timeouts: SshTimeouts,
    ) -> Arc<Self> {
        let alias = target.alias.clone();
        let mut route = jumps;
        route.push(target);
        Arc::new(Connection {
            alias,
            route,
            env,
            prompter,
            timeouts,
            keys: KeyCache::default(),
            inner: Mutex::new(Inner::default()),
            extra_dial: tokio::sync::Mutex::new(()),
            state: watch::channel(ConnState::Disconnected).0,
        })
    }

    pub fn alias(&self) -> &str {
        &self.alias
    }

    pub fn timeouts(&self) -> &SshTimeouts {
        &self.timeouts
    }

    pub fn watch(&self) -> watch::Receiver<ConnState> {
        self.state.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain data behind; keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The host's live link, dialling (after the backoff) if there is none,
    /// waiting at most `budget`. A failure that needs the user is returned
    /// at once until [`Connection::connect_now`] is called.
    pub async fn link(self: &Arc<Self>, budget: Duration) -> Result<Arc<Link>, SshError> {
        let dial = {
            let mut inner = self.lock();
            if let Some(link) = inner.open_links().into_iter().next() {
                return Ok(link);
            }
            if let Some(e) = inner.last_error.as_ref().filter(|e| e.needs_user()) {
                return Err(e.clone());
            }
            self.dial(&mut inner)
        };
        tokio::time::timeout(budget, dial)
            .await
            .map_err(|_| self.timeout("connecting", budget))?
    }

    /// A new session channel on any link with room, dialling when there is
    /// no link (if `may_dial`) or every link is full. Within `budget`.
    pub async fn open_session(
        self: &Arc<Self>,
        budget: Duration,
        may_dial: bool,
    ) -> Result<(Arc<Link>, Channel<Msg>), SshError> {
        let deadline = tokio::time::Instant::now() + budget;
        let mut full: Vec<Arc<Link>> = Vec::new();
        loop {
            let open = self.lock().open_links();
            let links = match open {
                links if !links.is_empty() => links,
                _ if may_dial => {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    vec![self.link(left).await?]
                }
                _ => return Err(self.lost("not connected")),
            };
            let untried: Vec<Arc<Link>> = links
                .into_iter()
                .filter(|l| !full.iter().any(|f| Arc::ptr_eq(f, l)))
                .collect();
            for link in untried {
                let opened = tokio::time::timeout_at(deadline, link.handle.channel_open_session())
                    .await
                    .map_err(|_| self.timeout("opening a channel", budget))?;
                match opened {
                    Ok(channel) => return Ok((link, channel)),
                    Err(russh::Error::ChannelOpenFailure(
                        ChannelOpenFailure::ConnectFailed
                        | ChannelOpenFailure::AdministrativelyProhibited
                        | ChannelOpenFailure::ResourceShortage,
                    )) if link.is_open() => full.push(link),
                    Err(e) if link.is_open() => {
                        return Err(SshError::Protocol {
                            alias: self.alias.clone(),
                            reason: format!("cannot open a channel: {e}"),
                        });
                    }
                    Err(_) => return Err(self.lost(&link.end_reason())),
                }
            }
            if !may_dial {
                return Err(self.lost("every connection is busy"));
            }
            tokio::time::timeout_at(deadline, self.add_link(full.len()))
                .await
                .map_err(|_| self.timeout("opening another connection", budget))??;
        }
    }

    /// Opens an extra link unless another caller did since `full` links
    /// were found full.
    async fn add_link(self: &Arc<Self>, full: usize) -> Result<(), SshError> {
        let _one_at_a_time = self.extra_dial.lock().await;
        let open = self.lock().open_links().len();
        if open > full {
            return Ok(());
        }
        if open >= MAX_LINKS {
            return Err(SshError::Protocol {
                alias: self.alias.clone(),
                reason: format!(
                    "the server refuses more sessions ({open} connections in use; see MaxSessions in its sshd_config)"
                ),
            });
        }
        let link = self.dial_route().await?;
        tracing::info!(alias = %self.alias, links = open + 1, "extra connection for more sessions");
        let generation = {
            let mut inner = self.lock();
            inner.links.push(link.clone());
            inner.generation
        };
        runtime::handle().spawn(monitor(Arc::downgrade(self), link, generation));
        Ok(())
    }

    /// Dials now, without backoff, even after a failure that needed the
    /// user (they asked for it); waits until the dial ends.
    pub async fn connect_now(self: &Arc<Self>) -> Result<Arc<Link>, SshError> {
        let dial = {
            let mut inner = self.lock();
            if let Some(link) = inner.open_links().into_iter().next() {
                return Ok(link);
            }
            inner.last_error = None;
            inner.failures = 0;
            self.dial(&mut inner)
        };
        dial.await
    }

    /// Closes every link on purpose; the next operation dials again.
    pub async fn disconnect(&self) {
        let links = {
            let mut inner = self.lock();
            inner.failures = 0;
            inner.generation += 1;
            std::mem::take(&mut inner.links)
        };
        self.state.send_replace(ConnState::Disconnected);
        for link in links {
            let bye = link.handle.disconnect(Disconnect::ByApplication, "", "en");
            let _ = tokio::time::timeout(self.timeouts.step, bye).await;
        }
    }

    /// The dial in progress, or a new one.
    fn dial(self: &Arc<Self>, inner: &mut Inner) -> Dial {
        if let Some(dial) = &inner.dial {
            return dial.clone();
        }
        let delay = backoff(inner.failures, self.timeouts.max_backoff);
        let this = Arc::clone(self);
        let task = runtime::handle().spawn(async move {
            tokio::time::sleep(delay).await;
            this.state.send_replace(ConnState::Connecting);
            let result = this.dial_route().await;
            let rtt = match &result {
                Ok(link) => round_trip(link, this.timeouts.step).await,
                Err(_) => None,
            };
            this.finish_dial(result.clone(), rtt);
            result
        });
        let alias = self.alias.clone();
        let dial = async move {
            task.await.unwrap_or_else(|e| {
                Err(SshError::Protocol {
                    alias,
                    reason: format!("the connect task failed: {e}"),
                })
            })
        }
        .boxed()
        .shared();
        inner.dial = Some(dial.clone());
        dial
    }

    async fn dial_route(&self) -> Result<Arc<Link>, SshError> {
        let mut hops: Vec<Handle<HopHandler>> = Vec::with_capacity(self.route.len());
        let mut closed = None;
        for hop in &self.route {
            let transport = open_transport(
                hop,
                &self.alias,
                hops.last(),
                &self.env,
                self.prompter.clone(),
                &self.timeouts,
            )
            .await?;
            let mut handle = transport.handle;
            let cx = AuthContext {
                alias: &self.alias,
                hop,
                env: &self.env,
                prompter: self.prompter.as_ref(),
                keys: &self.keys,
                timeouts: &self.timeouts,
            };
            authenticate(&mut handle, &cx).await?;
            hops.push(handle);
            closed = Some(transport.closed);
        }
        let (Some(handle), Some(closed)) = (hops.pop(), closed) else {
            return Err(SshError::Protocol {
                alias: self.alias.clone(),
                reason: "no host to connect to".into(),
            });
        };
        Ok(Arc::new(Link {
            handle,
            _hops: hops,
            closed,
        }))
    }

    fn finish_dial(self: &Arc<Self>, result: Result<Arc<Link>, SshError>, rtt: Option<Duration>) {
        let mut inner = self.lock();
        inner.dial = None;
        match result {
            Ok(link) => {
                inner.failures = 0;
                inner.last_error = None;
                inner.links.insert(0, link.clone());
                let generation = inner.generation;
                drop(inner);
                tracing::info!(alias = %self.alias, ?rtt, "connected");
                self.state.send_replace(ConnState::Connected {
                    rtt: rtt.unwrap_or_default(),
                });
                runtime::handle().spawn(monitor(Arc::downgrade(self), link, generation));
            }
            Err(e) => {
                inner.failures = inner.failures.saturating_add(1);
                inner.last_error = Some(e.clone());
                drop(inner);
                tracing::warn!(alias = %self.alias, "connect failed: {e}");
                self.state.send_replace(ConnState::Failed(e.to_string()));
            }
        }
    }

    /// `link` ended (or stopped answering): forget it; when it was the last
    /// one (and nobody closed it on purpose or is dialling), say why.
    fn link_lost(&self, link: &Arc<Link>, generation: u64, reason: String) {
        let mut inner = self.lock();
        inner.links.retain(|l| !Arc::ptr_eq(l, link));
        let superseded = inner.generation != generation || inner.dial.is_some();
        if superseded || !inner.open_links().is_empty() {
            return;
        }
        drop(inner);
        tracing::warn!(alias = %self.alias, "connection lost: {reason}");
        self.state
            .send_replace(ConnState::Failed(format!("connection lost: {reason}")));
    }

    /// Whether `link` is the host's main connection (whose RTT is shown).
    fn is_primary(&self, link: &Arc<Link>) -> bool {
        self.lock()
            .links
            .first()
            .is_some_and(|l| Arc::ptr_eq(l, link))
    }

    fn timeout(&self, what: &str, after: Duration) -> SshError {
        SshError::Timeout {
            alias: self.alias.clone(),
            what: what.into(),
            after,
        }
    }

    fn lost(&self, reason: &str) -> SshError {
        SshError::ConnectionLost {
            alias: self.alias.clone(),
            reason: reason.into(),
        }
    }
}

/// A keepalive answered, timed; `None` if none came within `limit`.
async fn round_trip(link: &Link, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    match tokio::time::timeout(limit, link.handle.send_ping()).await {
        Ok(Ok(())) if link.is_open() => Some(started.elapsed()),
        _ => None,
    }
}

/// No wait after a link that worked; then 1 s, 2 s, 4 s … up to `max`.
fn backoff(failures: u32, max: Duration) -> Duration {
    match failures {
        0 => Duration::ZERO,
        n => Duration::from_secs(1u64 << (n - 1).min(16)).min(max),
    }
}

/// Measures the round trip (a keepalive answered) every `rtt_every` and
/// notices the end of the session. Holds the host's `Connection` weakly and
/// stops once it is gone, so it never keeps a connection open by itself.
async fn monitor(connection: Weak<Connection>, link: Arc<Link>, generation: u64) {
    let mut closed = link.closed.clone();
    loop {
        let (step, every) = match connection.upgrade() {
            Some(c) => (c.timeouts.step, c.timeouts.rtt_every),
            None => return,
        };
        tokio::select! {
            _ = closed.changed() => break,
            _ = tokio::time::sleep(every) => {}
        }
        let answered = round_trip(&link, step).await;
        let Some(connection) = connection.upgrade() else {
            return;
        };
        match answered {
            Some(rtt) => {
                if connection.is_primary(&link) {
                    connection.state.send_replace(ConnState::Connected { rtt });
                }
            }
            None if !link.is_open() => break,
            None => {
                // Silent for a whole step: treat it as gone rather than
                // leaving every user of this host waiting on it.
                connection.link_lost(&link, generation, format!("no answer for {step:?}"));
                let bye = link.handle.disconnect(Disconnect::ByApplication, "", "en");
                let _ = tokio::time::timeout(step, bye).await;
                return;
            }
        }
    }
    // Give the handler a moment to report why.
    link.wait_closed(Duration::from_millis(200)).await;
    if let Some(connection) = connection.upgrade() {
        connection.link_lost(&link, generation, link.end_reason());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let max = Duration::from_secs(30);
        let waits: Vec<u64> = (0..8).map(|n| backoff(n, max).as_secs()).collect();
        assert_eq!(waits, [0, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff(u32::MAX, max), max);
    }
}
