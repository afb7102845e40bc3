//! Public key authentication, as OpenSSH does it: ssh-agent keys first, then
//! key files (the configured ones, else the default names), with the user
//! asked for passphrases. Everything is tried on one connection with one user
//! name: OpenSSH drops a connection whose user name changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::MethodKind;
use russh::client::{AuthResult, Handle};
use russh::keys::agent::AgentIdentity;
use russh::keys::agent::client::AgentClient;
use russh::keys::ssh_key::public::KeyData;
use russh::keys::{self, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};

use super::client::HopHandler;
use super::config::SshTarget;
use super::error::SshError;
use super::known_hosts::fingerprint;
use super::prompt::{PassphraseQuestion, SshPrompter};
use super::{SshEnv, SshTimeouts};

/// How many passphrases the user may try per key.
const PASSPHRASE_ATTEMPTS: u32 = 3;

/// Decrypted keys, kept so a reconnect does not ask for the passphrase again
/// (as an ssh-agent would). The passphrase itself is never kept.
#[derive(Default)]
pub struct KeyCache {
    keys: Mutex<HashMap<PathBuf, Arc<PrivateKey>>>,
}

impl KeyCache {
    fn get(&self, path: &Path) -> Option<Arc<PrivateKey>> {
        self.keys.lock().ok()?.get(path).cloned()
    }

    fn put(&self, path: &Path, key: Arc<PrivateKey>) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.insert(path.to_path_buf(), key);
        }
    }
}

/// Everything one authentication needs.
pub struct AuthContext<'a> {
    pub alias: &'a str,
    pub hop: &'a SshTarget,
    pub env: &'a SshEnv,
    pub prompter: &'a dyn SshPrompter,
    pub keys: &'a KeyCache,
    pub timeouts: &'a SshTimeouts,
}

/// What was tried, for the error message when nothing worked.
#[derive(Default)]
struct Attempts {
    offered: Vec<String>,
    tried: Vec<KeyData>,
    wrong_passphrase: Vec<PathBuf>,
    notes: Vec<String>,
}

enum Outcome {
    Accepted,
    Rejected,
}

pub async fn authenticate(
    handle: &mut Handle<HopHandler>,
    cx: &AuthContext<'_>,
) -> Result<(), SshError> {
    let user = cx
        .hop
        .login_user(cx.env)
        .ok_or_else(|| SshError::NoUser {
            alias: cx.alias.to_string(),
        })?
        .to_string();
    let rsa_hash = step(
        cx,
        "asking for RSA signature support",
        handle.best_supported_rsa_hash(),
    )
    .await?
    .map_err(|e| SshError::from(e).for_alias(cx.alias))?
    .flatten();
    let files = cx.hop.identity_files_or_default(cx.env);
    let mut attempts = Attempts::default();
    if let Some(sock) = &cx.env.auth_sock {
        let wanted = if cx.hop.identities_only {
            Some(
                files
                    .iter()
                    .filter_map(|f| public_key_of(f))
                    .collect::<Vec<_>>(),
            )
        } else {
            None
        };
        let outcome = try_agent(
            handle,
            cx,
            &user,
            sock,
            wanted.as_deref(),
            rsa_hash,
            &mut attempts,
        )
        .await?;
        if let Outcome::Accepted = outcome {
            return Ok(());
        }
    } else {
        attempts
            .notes
            .push("no ssh-agent (SSH_AUTH_SOCK is not set)".into());
    }
    for file in &files {
        let outcome = try_key_file(handle, cx, &user, file, rsa_hash, &mut attempts).await?;
        if let Outcome::Accepted = outcome {
            return Ok(());
        }
    }
    Err(failure(cx, &user, &files, attempts))
}

async fn try_agent(
    handle: &mut Handle<HopHandler>,
    cx: &AuthContext<'_>,
    user: &str,
    sock: &Path,
    wanted: Option<&[PublicKey]>,
    rsa_hash: Option<HashAlg>,
    attempts: &mut Attempts,
) -> Result<Outcome, SshError> {
    let agent_note = |e: &dyn std::fmt::Display| format!("ssh-agent at {}: {e}", sock.display());
    let mut agent = match step(
        cx,
        "connecting to ssh-agent",
        AgentClient::connect_uds(sock),
    )
    .await?
    {
        Ok(agent) => agent,
        Err(e) => {
            attempts.notes.push(agent_note(&e));
            return Ok(Outcome::Rejected);
        }
    };
    let identities = match step(cx, "listing ssh-agent keys", agent.request_identities()).await? {
        Ok(ids) => ids,
        Err(e) => {
            attempts.notes.push(agent_note(&e));
            return Ok(Outcome::Rejected);
        }
    };
    if identities.is_empty() {
        attempts
            .notes
            .push(format!("the ssh-agent at {} holds no keys", sock.display()));
    }
    for identity in identities {
        let AgentIdentity::PublicKey { key, .. } = identity else {
            continue;
        };
        let allowed = wanted.is_none_or(|w| w.iter().any(|k| k.key_data() == key.key_data()));
        if !allowed || attempts.tried.contains(key.key_data()) {
            continue;
        }
        attempts.tried.push(key.key_data().clone());
        attempts
            .offered
            .push(format!("agent key {}", fingerprint(&key)));
        let signed = step(
            cx,
            "authenticating",
            handle.authenticate_publickey_with(user, key, rsa_hash, &mut agent),
        )
        .await?;
        match signed {
            Ok(result) => {
                if let Some(outcome) = judge(handle, cx, result)? {
                    return Ok(outcome);
                }
            }
            Err(e) => attempts.notes.push(agent_note(&e)),
        }
    }
    Ok(Outcome::Rejected)
}

async fn try_key_file(
    handle: &mut Handle<HopHandler>,
    cx: &AuthContext<'_>,
    user: &str,
    file: &Path,
    rsa_hash: Option<HashAlg>,
    attempts: &mut Attempts,
) -> Result<Outcome, SshError> {
    if !file.exists() {
        return Ok(Outcome::Rejected);
    }
    // A key the agent already offered is not worth a passphrase question.
    if let Some(public) = public_key_of(file)
        && attempts.tried.contains(public.key_data())
    {
        return Ok(Outcome::Rejected);
    }
    let Some(key) = load_key(cx, file, attempts).await? else {
        return Ok(Outcome::Rejected);
    };
    if attempts.tried.contains(key.public_key().key_data()) {
        return Ok(Outcome::Rejected);
    }
    attempts.tried.push(key.public_key().key_data().clone());
    attempts.offered.push(file.display().to_string());
    let key = PrivateKeyWithHashAlg::new(key, rsa_hash);
    let result = step(
        cx,
        "authenticating",
        handle.authenticate_publickey(user, key),
    )
    .await?
    .map_err(|e| SshError::from(e).for_alias(cx.alias))?;
    Ok(judge(handle, cx, result)?.unwrap_or(Outcome::Rejected))
}

/// `Some` when the attempt settles the matter: accepted, or the server will
/// not take public keys at all any more.
fn judge(
    handle: &Handle<HopHandler>,
    cx: &AuthContext<'_>,
    result: AuthResult,
) -> Result<Option<Outcome>, SshError> {
    match result {
        AuthResult::Success => Ok(Some(Outcome::Accepted)),
        AuthResult::Failure { .. } if handle.is_closed() => Err(SshError::ConnectionLost {
            alias: cx.alias.to_string(),
            reason: "the server closed the connection during authentication \
                     (too many keys offered?)"
                .into(),
        }),
        AuthResult::Failure {
            remaining_methods, ..
        } if !remaining_methods.is_empty()
            && !remaining_methods.contains(&MethodKind::PublicKey) =>
        {
            Err(SshError::Protocol {
                alias: cx.alias.to_string(),
                reason: format!(
                    "the server does not accept public keys (it offers {})",
                    remaining_methods
                        .iter()
                        .map(<&str>::from)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
        }
        AuthResult::Failure { .. } => Ok(None),
    }
}

/// Loads a key file, asking for the passphrase of an encrypted one; `None`
/// when it cannot be used (noted in `attempts`).
async fn load_key(
    cx: &AuthContext<'_>,
    file: &Path,
    attempts: &mut Attempts,
) -> Result<Option<Arc<PrivateKey>>, SshError> {
    if let Some(key) = cx.keys.get(file) {
        return Ok(Some(key));
    }
    match decrypt(file, None).await {
        Ok(key) => return Ok(Some(Arc::new(key))),
        Err(keys::Error::KeyIsEncrypted) => {}
        Err(e) => {
            attempts.notes.push(format!("{}: {e}", file.display()));
            return Ok(None);
        }
    }
    for attempt in 1..=PASSPHRASE_ATTEMPTS {
        let question = PassphraseQuestion {
            alias: cx.alias.to_string(),
            key: file.to_path_buf(),
            attempt,
        };
        let Some(passphrase) = cx.prompter.passphrase(&question).await else {
            attempts
                .notes
                .push(format!("{}: no passphrase given", file.display()));
            return Ok(None);
        };
        // Any failure with a passphrase is a wrong one: the file was readable
        // a moment ago and known to be encrypted.
        if let Ok(key) = decrypt(file, Some(passphrase)).await {
            let key = Arc::new(key);
            cx.keys.put(file, key.clone());
            return Ok(Some(key));
        }
        tracing::info!(alias = cx.alias, key = %file.display(), attempt, "wrong passphrase");
    }
    attempts.wrong_passphrase.push(file.to_path_buf());
    Ok(None)
}

/// Key derivation is slow on purpose: off the async threads.
async fn decrypt(file: &Path, passphrase: Option<String>) -> Result<PrivateKey, keys::Error> {
    let file = file.to_path_buf();
    tokio::task::spawn_blocking(move || keys::load_secret_key(&file, passphrase.as_deref()))
        .await
        .unwrap_or(Err(keys::Error::CouldNotReadKey))
}

/// The public half of a key file without decrypting it: `<file>.pub`, else
/// the public part stored unencrypted in OpenSSH-format private keys.
fn public_key_of(file: &Path) -> Option<PublicKey> {
    let mut pub_file = file.as_os_str().to_owned();
    pub_file.push(".pub");
    if let Ok(key) = keys::load_public_key(PathBuf::from(pub_file)) {
        return Some(key);
    }
    let text = std::fs::read_to_string(file).ok()?;
    keys::ssh_key::PrivateKey::from_openssh(text.trim())
        .ok()
        .map(|k| k.public_key().clone())
}

fn failure(cx: &AuthContext<'_>, user: &str, files: &[PathBuf], attempts: Attempts) -> SshError {
    let alias = cx.alias.to_string();
    let host = cx.hop.hostname.clone();
    if !attempts.offered.is_empty() {
        return SshError::AuthRejected {
            alias,
            user: user.to_string(),
            host,
            offered: attempts.offered.join(", "),
        };
    }
    if let Some(key) = attempts.wrong_passphrase.into_iter().next() {
        return SshError::WrongPassphrase { alias, key };
    }
    let mut detail = attempts.notes;
    let missing: Vec<String> = files
        .iter()
        .filter(|f| !f.exists())
        .map(|f| f.display().to_string())
        .collect();
    if !missing.is_empty() {
        detail.push(format!("no key file at {}", missing.join(", ")));
    }
    SshError::NoUsableKey {
        alias,
        user: user.to_string(),
        host,
        detail: detail.join("; "),
    }
}

/// One network step under the step timeout.
async fn step<F: std::future::Future>(
    cx: &AuthContext<'_>,
    what: &str,
    future: F,
) -> Result<F::Output, SshError> {
    let limit: Duration = cx.timeouts.step;
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| SshError::Timeout {
            alias: cx.alias.to_string(),
            what: what.to_string(),
            after: limit,
        })
}
