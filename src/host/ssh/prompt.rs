//! The questions only the user can answer, asked through a trait the UI
//! implements. The SSH layer waits for the answer without a time limit: the
//! user may be away.

use std::path::PathBuf;

use async_trait::async_trait;

/// An unknown host presents a key: trust it?
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKeyQuestion {
    /// The flightdeck host this connection is for (a jump host may be asked about).
    pub alias: String,
    /// The name checked in known_hosts: "host" or "[host]:port".
    pub host: String,
    /// e.g. "ssh-ed25519".
    pub key_type: String,
    /// "SHA256:…", as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// Where the key is recorded if trusted.
    pub known_hosts_file: PathBuf,
}

/// An encrypted private key needs its passphrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassphraseQuestion {
    pub alias: String,
    pub key: PathBuf,
    /// 1 the first time; 2 and 3 after a wrong passphrase.
    pub attempt: u32,
}

#[async_trait]
pub trait SshPrompter: Send + Sync {
    /// True to trust the key; it is then appended to `known_hosts_file`.
    async fn trust_host_key(&self, question: &HostKeyQuestion) -> bool;
    /// The passphrase, or `None` to skip this key. Never logged or kept;
    /// the decrypted key stays in memory for reconnects.
    async fn passphrase(&self, question: &PassphraseQuestion) -> Option<String>;
}

/// For non-interactive use (`flightdeck probe`): trusts no new host and
/// knows no passphrase, so only known hosts and usable keys work.
#[derive(Debug, Default, Clone, Copy)]
pub struct RefusingPrompter;

#[async_trait]
impl SshPrompter for RefusingPrompter {
    async fn trust_host_key(&self, _question: &HostKeyQuestion) -> bool {
        false
    }

    async fn passphrase(&self, _question: &PassphraseQuestion) -> Option<String> {
        None
    }
}
