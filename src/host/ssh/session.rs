//! [`SshHost`]: the `Host` trait over one shared SSH connection.

use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::watch;

use super::config::{SshDirectory, SshTarget};
use super::connection::Connection;
use super::error::{ConfigError, SshError};
use super::prompt::SshPrompter;
use super::{ConnState, SshEnv, SshTimeouts, exec, pty, runtime};
use crate::host::{Host, HostError, PtyProcess, PtySpec, RunOutput, RunSpec};

/// What every SSH host shares: the local environment it may read, who
/// answers questions, and the time limits.
#[derive(Clone)]
pub struct SshContext {
    pub env: SshEnv,
    pub prompter: Arc<dyn SshPrompter>,
    pub timeouts: SshTimeouts,
}

impl SshContext {
    pub fn new(env: SshEnv, prompter: Arc<dyn SshPrompter>) -> Self {
        SshContext {
            env,
            prompter,
            timeouts: SshTimeouts::default(),
        }
    }
}

/// A host reached over SSH. Cheap to share (`Arc<dyn Host>`); connects on
/// first use and reconnects by itself.
pub struct SshHost {
    target: SshTarget,
    connection: Arc<Connection>,
}

impl SshHost {
    /// `jumps`: the ProxyJump hops, outermost first (see
    /// [`SshDirectory::jump_chain`]).
    pub fn new(target: SshTarget, jumps: Vec<SshTarget>, context: SshContext) -> Self {
        let connection = Connection::new(
            target.clone(),
            jumps,
            context.env,
            context.prompter,
            context.timeouts,
        );
        SshHost { target, connection }
    }

    /// The host for an alias or typed "user@host:port", jump hops resolved.
    pub fn from_directory(
        directory: &SshDirectory,
        input: &str,
        context: SshContext,
    ) -> Result<Self, ConfigError> {
        let target = directory.parse_input(input)?;
        let jumps = directory.jump_chain(&target)?;
        Ok(Self::new(target, jumps, context))
    }

    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    /// Connection state changes, for the UI to watch.
    pub fn state(&self) -> watch::Receiver<ConnState> {
        self.connection.watch()
    }

    /// Connects now (if not connected), skipping any backoff: what a user's
    /// "connect"/"retry" does. Questions (host key, passphrase) are asked
    /// again even if refused before.
    pub async fn connect(&self) -> Result<(), SshError> {
        let connection = self.connection.clone();
        runtime::run(async move { connection.connect_now().await.map(drop) })
            .await
            .map_err(|e| SshError::Protocol {
                alias: self.target.alias.clone(),
                reason: e.to_string(),
            })?
    }

    /// Runs `command` (for the remote login shell) on a plain exec channel
    /// and hands back its stdin/stdout as one byte stream: for protocols
    /// spoken over SSH, such as a remote daemon behind `flightdeck proxy`.
    pub async fn exec_stream(
        &self,
        command: String,
    ) -> Result<russh::ChannelStream<russh::client::Msg>, SshError> {
        let connection = self.connection.clone();
        let alias = self.target.alias.clone();
        let budget = connection.timeouts().connect + connection.timeouts().step;
        runtime::run(async move {
            let (link, channel) = connection.open_session(budget, true).await?;
            channel
                .exec(true, command)
                .await
                .map_err(|_| SshError::ConnectionLost {
                    alias: alias.clone(),
                    reason: link.end_reason(),
                })?;
            Ok(channel.into_stream())
        })
        .await
        .map_err(|e| SshError::Protocol {
            alias: self.target.alias.clone(),
            reason: e.to_string(),
        })?
    }

    /// Closes the connection; running PTY tasks on it end as "connection lost".
    pub async fn disconnect(&self) {
        let connection = self.connection.clone();
        let _ = runtime::run(async move { connection.disconnect().await }).await;
    }
}

fn join_error(e: tokio::task::JoinError) -> HostError {
    HostError::Io(std::io::Error::other(e))
}

#[async_trait]
impl Host for SshHost {
    fn name(&self) -> &str {
        &self.target.alias
    }

    async fn run(&self, spec: RunSpec) -> Result<RunOutput, HostError> {
        let connection = self.connection.clone();
        runtime::run(async move { exec::run(&connection, spec).await })
            .await
            .map_err(join_error)?
    }

    async fn spawn_pty(&self, spec: PtySpec) -> Result<PtyProcess, HostError> {
        let connection = self.connection.clone();
        runtime::run(pty::spawn(connection, spec))
            .await
            .map_err(join_error)?
    }

    /// Under the remote user's `~/.local/share/flightdeck/worktrees`.
    async fn worktrees_dir(&self) -> Result<std::path::PathBuf, HostError> {
        let spec = RunSpec::new(
            ["sh", "-c", "printf '%s' \"$HOME\""],
            std::time::Duration::from_secs(30),
        );
        let out = self.run(spec).await?;
        let home = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !home.starts_with('/') {
            return Err(HostError::Io(std::io::Error::other(format!(
                "it reports no usable $HOME ({home:?})"
            ))));
        }
        Ok(std::path::PathBuf::from(home).join(".local/share/flightdeck/worktrees"))
    }
}
