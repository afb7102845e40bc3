//! Hosts as clients see them, and the questions only a person can answer
//! (trust a host key, type a passphrase).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum HostState {
    Local,
    /// Not connected yet (connects on first use).
    Idle,
    Connecting,
    Connected {
        rtt_ms: u64,
    },
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostInfo {
    pub name: String,
    /// "user@host:port", or "this machine".
    pub destination: String,
    /// In flightdeck's config (probed with the others); else only in `~/.ssh/config`.
    pub configured: bool,
    pub state: HostState,
}

/// A secret typed by the user. Never printed: `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Question {
    TrustHostKey {
        alias: String,
        host: String,
        key_type: String,
        fingerprint: String,
        known_hosts_file: PathBuf,
    },
    Passphrase {
        alias: String,
        key: PathBuf,
        attempt: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Answer {
    Yes,
    No,
    Passphrase(Secret),
}
