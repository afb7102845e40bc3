//! SSH hosts: the [`Host`](super::Host) trait over one russh connection per
//! host, without shelling out to `ssh`.
//!
//! - [`config`]: targets from flightdeck's config, `~/.ssh/config` and typed input.
//! - [`known_hosts`]: our own OpenSSH-compatible host key check (hashed entries,
//!   wildcards, `@revoked`, correct line numbers) and `learn`.
//! - [`SshPrompter`]: the questions only the user can answer (trust a new host
//!   key, a key's passphrase), implemented by the UI.
//! - [`SshHost`]: the connection (keepalives, reconnect with backoff, a
//!   watchable [`ConnState`]), `run` and `spawn_pty`; built from a target,
//!   its jump hops and an [`SshContext`] (environment, prompter, timeouts).
//!
//! All SSH I/O runs on a small runtime of its own (see `runtime.rs`), so the
//! blocking parts of the `Host` trait (the PTY reader, writer, waiter and
//! control) may be used from any thread without stalling a caller's runtime.

mod auth;
mod client;
pub mod config;
mod connection;
mod error;
mod exec;
pub mod known_hosts;
mod prompt;
mod pty;
mod runtime;
mod script;
mod session;

use std::path::PathBuf;
use std::time::Duration;

pub use config::{Address, SshConfigFile, SshDirectory, SshTarget, parse_address};
pub use error::{ConfigError, HostKeyChange, SshError};
pub use prompt::{HostKeyQuestion, PassphraseQuestion, RefusingPrompter, SshPrompter};
pub use session::{SshContext, SshHost};

/// What flightdeck takes from the local environment to reach SSH hosts. Only
/// these are read; nothing of the local environment is sent to a remote host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshEnv {
    /// Where `~/.ssh` lives.
    pub home: PathBuf,
    /// The ssh-agent socket (`SSH_AUTH_SOCK`), if any.
    pub auth_sock: Option<PathBuf>,
    /// The login name used when a target names no user.
    pub local_user: Option<String>,
}

impl SshEnv {
    /// `$HOME`, `$SSH_AUTH_SOCK` and `$USER` (else the name of our uid).
    pub fn from_process() -> Self {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let local_user = var("USER").and_then(|u| u.into_string().ok()).or_else(|| {
            nix::unistd::User::from_uid(nix::unistd::getuid())
                .ok()
                .flatten()
                .map(|u| u.name)
        });
        SshEnv {
            home: var("HOME").map(PathBuf::from).unwrap_or_else(|| "/".into()),
            auth_sock: var("SSH_AUTH_SOCK").map(PathBuf::from),
            local_user,
        }
    }

    /// `~/.ssh`.
    pub fn ssh_dir(&self) -> PathBuf {
        self.home.join(".ssh")
    }
}

/// How long things may take. Every network step has a bound, so a host that
/// stops answering turns into an error instead of a hang.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SshTimeouts {
    /// TCP connect plus key exchange (time spent waiting for the user's
    /// answer to a host key question does not count).
    pub connect: Duration,
    /// One authentication or channel step, a resize, a signal.
    pub step: Duration,
    /// Silence after which a keepalive is sent; the connection is dropped
    /// after `keepalive_max` unanswered ones.
    pub keepalive: Duration,
    pub keepalive_max: usize,
    /// How often the round-trip time is measured while connected.
    pub rtt_every: Duration,
    /// Longest wait between reconnect attempts after repeated failures.
    pub max_backoff: Duration,
}

impl Default for SshTimeouts {
    fn default() -> Self {
        SshTimeouts {
            connect: Duration::from_secs(10),
            step: Duration::from_secs(10),
            keepalive: Duration::from_secs(15),
            keepalive_max: 3,
            rtt_every: Duration::from_secs(10),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The state of a host's connection, for the UI to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Not connected (never yet, or closed on purpose); the next operation connects.
    Disconnected,
    Connecting,
    /// Connected; `rtt` is the last measured keepalive round trip.
    Connected {
        rtt: Duration,
    },
    /// The last attempt failed or the connection was lost; the text says why.
    /// The next operation tries again (after a backoff).
    Failed(String),
}

impl ConnState {
    pub fn is_connected(&self) -> bool {
        matches!(self, ConnState::Connected { .. })
    }
}
