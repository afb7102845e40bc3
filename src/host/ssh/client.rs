//! Opening the SSH transport to one hop: TCP (or a tunnel through the hop
//! before), key exchange, and the host key check against known_hosts with
//! the user asked about unknown hosts.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::client::{self, DisconnectReason, Handle};
use russh::keys::{PublicKey, PublicKeyOrCertificate};
use tokio::sync::watch;

use super::config::SshTarget;
use super::error::{HostKeyChange, SshError};
use super::known_hosts::{self, HostKeyStatus};
use super::prompt::{HostKeyQuestion, SshPrompter};
use super::{SshEnv, SshTimeouts};

/// russh's callbacks for one hop.
pub struct HopHandler {
    alias: String,
    hostname: String,
    port: u16,
    known_hosts: Vec<PathBuf>,
    prompter: Arc<dyn SshPrompter>,
    asking: Arc<AskClock>,
    /// Set once when the session ends, with the reason.
    closed: watch::Sender<Option<String>>,
}

/// Tracks time spent waiting for the user, which the connect timeout excludes.
#[derive(Default)]
pub struct AskClock {
    state: Mutex<(bool, Option<Instant>)>,
}

impl AskClock {
    fn set(&self, asking: bool) {
        if let Ok(mut state) = self.state.lock() {
            *state = (asking, (!asking).then(Instant::now));
        }
    }

    /// True while asking, or when the answer came less than `grace` ago.
    fn excuses(&self, grace: Duration) -> bool {
        self.state.lock().is_ok_and(|state| {
            state.0 || state.1.is_some_and(|answered| answered.elapsed() < grace)
        })
    }
}

impl client::Handler for HopHandler {
    type Error = SshError;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, SshError> {
        // For a host certificate this is the key inside it; checked like a plain key.
        let key: PublicKey = key.public_key();
        let host = known_hosts::host_port_name(&self.hostname, self.port);
        let status = known_hosts::check(&self.known_hosts, &self.hostname, self.port, &key)
            .map_err(|e| SshError::KnownHosts {
                alias: self.alias.clone(),
                file: self.known_hosts.first().cloned().unwrap_or_default(),
                reason: e.to_string(),
            })?;
        let key_type = key.algorithm().to_string();
        match status {
            HostKeyStatus::Known { .. } => Ok(true),
            HostKeyStatus::Changed {
                file,
                line,
                recorded_fingerprint,
                fingerprint,
            } => Err(SshError::HostKeyChanged(Box::new(HostKeyChange {
                alias: self.alias.clone(),
                host,
                file,
                line,
                key_type,
                recorded: recorded_fingerprint,
                fingerprint,
            }))),
            HostKeyStatus::Revoked {
                file,
                line,
                fingerprint,
            } => Err(SshError::HostKeyRevoked {
                alias: self.alias.clone(),
                host,
                file,
                line,
                fingerprint,
            }),
            HostKeyStatus::Unknown { fingerprint } => {
                let Some(file) = self.known_hosts.first().cloned() else {
                    return Err(SshError::KnownHosts {
                        alias: self.alias.clone(),
                        file: PathBuf::new(),
                        reason: "no known_hosts file configured".into(),
                    });
                };
                let question = HostKeyQuestion {
                    alias: self.alias.clone(),
                    host: host.clone(),
                    key_type: key_type.clone(),
                    fingerprint: fingerprint.clone(),
                    known_hosts_file: file.clone(),
                };
                self.asking.set(true);
                let trusted = self.prompter.trust_host_key(&question).await;
                self.asking.set(false);
                if !trusted {
                    return Err(SshError::HostKeyNotTrusted {
                        alias: self.alias.clone(),
                        host,
                        key_type,
                        fingerprint,
                    });
                }
                known_hosts::learn(&file, &self.hostname, self.port, &key).map_err(|e| {
                    SshError::KnownHosts {
                        alias: self.alias.clone(),
                        file: file.clone(),
                        reason: e.to_string(),
                    }
                })?;
                tracing::info!(alias = %self.alias, %host, %fingerprint, "host key trusted and recorded");
                Ok(true)
            }
        }
    }

    async fn disconnected(
        &mut self,
        reason: DisconnectReason<Self::Error>,
    ) -> Result<(), Self::Error> {
        let text = match &reason {
            DisconnectReason::ReceivedDisconnect(info) if info.message.is_empty() => {
                "the server closed the connection".to_string()
            }
            DisconnectReason::ReceivedDisconnect(info) => {
                format!("the server closed the connection: {}", info.message)
            }
            // Errors out of russh carry no alias yet; the reader of this
            // reason names the host itself.
            DisconnectReason::Error(SshError::Protocol { reason, .. }) => reason.clone(),
            DisconnectReason::Error(e) => e.to_string(),
        };
        self.closed.send_replace(Some(text));
        match reason {
            DisconnectReason::ReceivedDisconnect(_) => Ok(()),
            DisconnectReason::Error(e) => Err(e),
        }
    }
}

/// A connected (not yet authenticated) hop.
pub struct Transport {
    pub handle: Handle<HopHandler>,
    /// Becomes `Some(reason)` when the session ends; a dropped sender means
    /// the same.
    pub closed: watch::Receiver<Option<String>>,
}

fn russh_config(timeouts: &SshTimeouts) -> Arc<client::Config> {
    Arc::new(client::Config {
        keepalive_interval: Some(timeouts.keepalive),
        keepalive_max: timeouts.keepalive_max,
        inactivity_timeout: None,
        nodelay: true,
        ..Default::default()
    })
}

/// Connects to `hop` directly, or through `via` (the previous hop) with a
/// direct-tcpip tunnel, and checks its host key.
pub async fn open_transport(
    hop: &SshTarget,
    alias: &str,
    via: Option<&Handle<HopHandler>>,
    env: &SshEnv,
    prompter: Arc<dyn SshPrompter>,
    timeouts: &SshTimeouts,
) -> Result<Transport, SshError> {
    let (closed_tx, closed) = watch::channel(None);
    let asking = Arc::new(AskClock::default());
    let handler = HopHandler {
        alias: alias.to_string(),
        hostname: hop.hostname.clone(),
        port: hop.port,
        known_hosts: hop.known_hosts_files_or_default(env),
        prompter,
        asking: asking.clone(),
        closed: closed_tx,
    };
    let config = russh_config(timeouts);
    let addr = format!("{}:{}", hop.hostname, hop.port);
    let connect_err = |reason: String| SshError::Connect {
        alias: alias.to_string(),
        addr: addr.clone(),
        reason,
    };
    let attempt = async {
        match via {
            None => {
                let socket = tokio::net::TcpStream::connect((hop.hostname.as_str(), hop.port))
                    .await
                    .map_err(|e| connect_err(e.to_string()))?;
                let _ = socket.set_nodelay(true);
                client::connect_stream(config, socket, handler).await
            }
            Some(previous) => {
                let channel = previous
                    .channel_open_direct_tcpip(
                        hop.hostname.as_str(),
                        u32::from(hop.port),
                        "127.0.0.1",
                        0,
                    )
                    .await
                    .map_err(|e| connect_err(format!("the jump host cannot reach it: {e}")))?;
                client::connect_stream(config, channel.into_stream(), handler).await
            }
        }
    };
    let handle = within_unless_asking(timeouts.connect, &asking, attempt)
        .await
        .ok_or_else(|| SshError::Timeout {
            alias: alias.to_string(),
            what: format!("connecting to {addr}"),
            after: timeouts.connect,
        })?
        .map_err(|e| match e {
            SshError::Protocol { reason, .. } => connect_err(reason),
            other => other,
        })?;
    Ok(Transport { handle, closed })
}

/// Like `tokio::time::timeout`, but time the user spends answering a
/// question (plus `limit` after the answer) does not count.
async fn within_unless_asking<F: Future>(
    limit: Duration,
    asking: &AskClock,
    future: F,
) -> Option<F::Output> {
    tokio::pin!(future);
    loop {
        match tokio::time::timeout(limit, &mut future).await {
            Ok(out) => return Some(out),
            Err(_) if asking.excuses(limit) => continue,
            Err(_) => return None,
        }
    }
}
