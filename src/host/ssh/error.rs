//! What can go wrong on the way to an SSH host, worded for the user: every
//! message names the host (and user, file or line) it is about.

use std::path::PathBuf;
use std::time::Duration;

/// A host definition or typed host that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "unknown host alias {alias:?}: not in flightdeck's config or ~/.ssh/config \
         (for a new host type user@host or host:port)"
    )]
    UnknownAlias { alias: String },
    #[error("cannot understand host {input:?}: {reason}")]
    BadInput { input: String, reason: String },
    #[error("cannot read {file}: {reason}")]
    SshConfig { file: PathBuf, reason: String },
    #[error("ProxyJump of {alias} is circular or deeper than {max} hops")]
    JumpLoop { alias: String, max: usize },
}

/// Connecting, authenticating or talking to an SSH host failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SshError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{alias}: cannot connect to {addr}: {reason}")]
    Connect {
        alias: String,
        addr: String,
        reason: String,
    },
    #[error("{alias}: {what} timed out after {after:?}")]
    Timeout {
        alias: String,
        what: String,
        after: Duration,
    },
    #[error(
        "{alias}: the host key of {host} is not trusted ({key_type} {fingerprint}); not connecting"
    )]
    HostKeyNotTrusted {
        alias: String,
        host: String,
        key_type: String,
        fingerprint: String,
    },
    /// Boxed: by far the largest variant.
    #[error("{0}")]
    HostKeyChanged(Box<HostKeyChange>),
    #[error("{alias}: the host key of {host} ({fingerprint}) is revoked in {file}:{line}")]
    HostKeyRevoked {
        alias: String,
        host: String,
        file: PathBuf,
        line: usize,
        fingerprint: String,
    },
    #[error("{alias}: cannot use known hosts file {file}: {reason}")]
    KnownHosts {
        alias: String,
        file: PathBuf,
        reason: String,
    },
    #[error("{alias}: no usable key to log in as {user}@{host}: {detail}")]
    NoUsableKey {
        alias: String,
        user: String,
        host: String,
        detail: String,
    },
    #[error(
        "{alias}: {user}@{host} refused every key offered ({offered}): wrong user, or the key is \
         not in that user's authorized_keys"
    )]
    AuthRejected {
        alias: String,
        user: String,
        host: String,
        offered: String,
    },
    #[error("{alias}: wrong passphrase for {key}")]
    WrongPassphrase { alias: String, key: PathBuf },
    #[error("{alias}: no user to log in as (set User in the host's config)")]
    NoUser { alias: String },
    #[error("{alias}: connection lost: {reason}")]
    ConnectionLost { alias: String, reason: String },
    #[error("{alias}: {reason}")]
    Protocol { alias: String, reason: String },
}

/// The server shows another key than known_hosts records for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{alias}: THE HOST KEY OF {host} HAS CHANGED. {file}:{line} records another {key_type} key \
     ({recorded}); the server now shows {fingerprint}. Someone may be intercepting the \
     connection. If the change is expected, delete line {line} of {file} and connect again",
    file = .file.display()
)]
pub struct HostKeyChange {
    pub alias: String,
    pub host: String,
    pub file: PathBuf,
    pub line: usize,
    pub key_type: String,
    pub recorded: String,
    pub fingerprint: String,
}

impl SshError {
    /// Answers the user gave (or problems only the user can fix): retrying on
    /// our own would only ask again, so automatic reconnects stop.
    pub fn needs_user(&self) -> bool {
        matches!(
            self,
            SshError::HostKeyNotTrusted { .. }
                | SshError::HostKeyChanged(_)
                | SshError::HostKeyRevoked { .. }
                | SshError::WrongPassphrase { .. }
                | SshError::Config(_)
                | SshError::NoUser { .. }
        )
    }
}

/// The handler's error type must absorb russh errors; the context (which
/// host, which step) is added where they surface.
impl From<russh::Error> for SshError {
    fn from(e: russh::Error) -> Self {
        SshError::Protocol {
            alias: String::new(),
            reason: e.to_string(),
        }
    }
}

impl SshError {
    /// Fills in the alias of errors that came out of russh without one.
    pub(crate) fn for_alias(self, alias: &str) -> Self {
        match self {
            SshError::Protocol { alias: a, reason } if a.is_empty() => SshError::Protocol {
                alias: alias.to_string(),
                reason,
            },
            other => other,
        }
    }
}

impl From<SshError> for crate::host::HostError {
    fn from(e: SshError) -> Self {
        match e {
            SshError::Timeout { after, .. } => crate::host::HostError::Timeout(after),
            other => crate::host::HostError::Io(std::io::Error::other(other)),
        }
    }
}
