//! Commands run to completion on an exec channel (no PTY): `Host::run`, and
//! the small control scripts (signals, pid files) on the same connection.

use std::sync::Arc;
use std::time::Duration;

use russh::client::Msg;
use russh::{Channel, ChannelMsg, ChannelReadHalf, ChannelWriteHalf, Sig};
use tokio::time::Instant;

use super::connection::{Connection, Link};
use super::error::SshError;
use super::runtime::AbortOnDrop;
use super::script::{self, Markers, StartFailure};
use crate::host::ExitInfo;
use crate::host::{HostError, RunOutput, RunSpec};

/// Everything an exec channel produced so far.
#[derive(Debug, Default)]
pub struct ChannelOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit: Option<ExitInfo>,
}

/// A command running on an exec channel: its output is collected by
/// reading every message until the channel closes (an unread channel
/// stalls the whole connection).
pub struct ExecChannel {
    alias: String,
    link: Arc<Link>,
    read: ChannelReadHalf,
    write: Arc<ChannelWriteHalf<Msg>>,
    _feeder: AbortOnDrop<()>,
    pub out: ChannelOutput,
    server_closed: bool,
    ended: bool,
}

impl ExecChannel {
    /// Runs `command` (for the login shell) on `channel`, feeding `stdin`
    /// then EOF.
    pub async fn start(
        link: Arc<Link>,
        channel: Channel<Msg>,
        alias: &str,
        command: String,
        stdin: Option<Vec<u8>>,
    ) -> Result<Self, SshError> {
        let lost = |link: &Link| SshError::ConnectionLost {
            alias: alias.to_string(),
            reason: link.end_reason(),
        };
        channel.exec(true, command).await.map_err(|_| lost(&link))?;
        let (read, write) = channel.split();
        let write = Arc::new(write);
        let feeder = {
            let write = write.clone();
            AbortOnDrop(tokio::spawn(async move {
                if let Some(bytes) = stdin {
                    let _ = write.data_bytes(bytes).await;
                }
                let _ = write.eof().await;
            }))
        };
        Ok(ExecChannel {
            alias: alias.to_string(),
            link,
            read,
            write,
            _feeder: feeder,
            out: ChannelOutput::default(),
            server_closed: false,
            ended: false,
        })
    }

    /// Reads until the channel ends (`Ok(true)`) or `deadline` passes
    /// (`Ok(false)`, the channel stays open).
    pub async fn read_until(&mut self, deadline: Instant) -> Result<bool, SshError> {
        while !self.ended {
            match tokio::time::timeout_at(deadline, self.read.wait()).await {
                Ok(Some(message)) => self.take(message)?,
                Ok(None) => self.ended = true,
                Err(_) => return Ok(false),
            }
        }
        if !self.server_closed {
            return Err(SshError::ConnectionLost {
                alias: self.alias.clone(),
                reason: self.link.end_reason(),
            });
        }
        Ok(true)
    }

    /// Reads until `found` holds for the output, the channel ends or
    /// `deadline` passes.
    pub async fn read_while(&mut self, deadline: Instant, found: impl Fn(&ChannelOutput) -> bool) {
        while !self.ended && !found(&self.out) {
            match tokio::time::timeout_at(deadline, self.read.wait()).await {
                Ok(Some(message)) => {
                    if self.take(message).is_err() {
                        return;
                    }
                }
                Ok(None) => self.ended = true,
                Err(_) => return,
            }
        }
    }

    fn take(&mut self, message: ChannelMsg) -> Result<(), SshError> {
        match message {
            ChannelMsg::Data { data } => self.out.stdout.extend_from_slice(&data),
            ChannelMsg::ExtendedData { data, .. } => self.out.stderr.extend_from_slice(&data),
            ChannelMsg::ExitStatus { exit_status } => {
                self.out.exit = Some(ExitInfo {
                    code: Some(exit_status as i32),
                    ..ExitInfo::default()
                });
            }
            ChannelMsg::ExitSignal { signal_name, .. } => {
                self.out.exit = Some(ExitInfo {
                    signal: Some(signal_text(&signal_name)),
                    ..ExitInfo::default()
                });
            }
            ChannelMsg::Failure => {
                return Err(SshError::Protocol {
                    alias: self.alias.clone(),
                    reason: "the server refused to run a command (exec request denied)".into(),
                });
            }
            ChannelMsg::Close => self.server_closed = true,
            _ => {}
        }
        Ok(())
    }

    /// Closes our side; the server closes its side in answer.
    pub async fn close(&self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.write.close()).await;
    }
}

/// "TERM" for `Sig::TERM`; custom names as sent.
pub fn signal_text(signal: &Sig) -> String {
    match signal {
        Sig::ABRT => "ABRT",
        Sig::ALRM => "ALRM",
        Sig::FPE => "FPE",
        Sig::HUP => "HUP",
        Sig::ILL => "ILL",
        Sig::INT => "INT",
        Sig::KILL => "KILL",
        Sig::PIPE => "PIPE",
        Sig::QUIT => "QUIT",
        Sig::SEGV => "SEGV",
        Sig::TERM => "TERM",
        Sig::USR1 => "USR1",
        Sig::Custom(name) => name,
    }
    .to_string()
}

/// `Host::run`: argv under `sh`, in `cwd`, with exactly `spec.env` added.
pub async fn run(connection: &Arc<Connection>, spec: RunSpec) -> Result<RunOutput, HostError> {
    let alias = connection.alias().to_string();
    let program = spec.argv.first().cloned().unwrap_or_default();
    let markers = Markers::new(script::new_token());
    let script = markers
        .run_script(&spec.argv, spec.cwd.as_deref(), &spec.env)
        .map_err(|reason| HostError::Spawn {
            program: program.clone(),
            reason,
        })?;
    let deadline = Instant::now() + spec.timeout;
    let (link, channel) = connection
        .open_session(spec.timeout, true)
        .await
        .map_err(|e| as_timeout(e, spec.timeout))?;
    let command = script::login_command(&script);
    let mut exec = ExecChannel::start(link, channel, &alias, command, spec.stdin)
        .await
        .map_err(|e| as_timeout(e, spec.timeout))?;
    if !exec.read_until(deadline).await? {
        super::runtime::handle().spawn(kill_late(connection.clone(), exec, markers));
        return Err(HostError::Timeout(spec.timeout));
    }
    let out = exec.out;
    let (stderr, report) = markers.clean_stderr(&out.stderr);
    match report.failure {
        Some(StartFailure::NoDirectory) => Err(HostError::Spawn {
            program,
            reason: format!(
                "working directory {} does not exist on {alias}",
                spec.cwd.unwrap_or_default().display()
            ),
        }),
        Some(StartFailure::NoCommand) => Err(HostError::Spawn {
            program,
            reason: format!("not found on {alias}"),
        }),
        None => Ok(RunOutput {
            exit: out.exit.unwrap_or_else(|| ExitInfo {
                error: Some(format!("{alias}: the command ended without an exit status")),
                ..ExitInfo::default()
            }),
            stdout: markers.clean_stdout(&out.stdout),
            stderr,
        }),
    }
}

/// After a timeout: closing the channel does not stop a command without a
/// PTY, so kill its group, once its pid has arrived (it may still be starting).
async fn kill_late(connection: Arc<Connection>, mut exec: ExecChannel, markers: Markers) {
    let grace = Instant::now() + connection.timeouts().step;
    let pid_of = |out: &ChannelOutput| markers.clean_stderr(&out.stderr).1.pid;
    exec.read_while(grace, |out| pid_of(out).is_some()).await;
    if let Some(pid) = pid_of(&exec.out) {
        let kill = script::signal_group(pid, "KILL");
        let _ = control_script(&connection, &kill, true).await;
    }
    exec.close().await;
}

/// Our own timeouts (connecting, opening a channel) count as the run's.
fn as_timeout(e: SshError, after: Duration) -> HostError {
    match e {
        SshError::Timeout { .. } => HostError::Timeout(after),
        other => other.into(),
    }
}

/// Runs one of our control scripts (POSIX sh) within the step timeout, on
/// any link (dialling only if `may_dial`); its exit code and cleaned stdout.
pub async fn control_script(
    connection: &Arc<Connection>,
    script: &str,
    may_dial: bool,
) -> Result<(Option<i32>, Vec<u8>), SshError> {
    let limit = connection.timeouts().step;
    let deadline = Instant::now() + limit;
    let markers = Markers::new(script::new_token());
    let wrapped = markers
        .run_script(&["sh".into(), "-c".into(), script.into()], None, &[])
        .map_err(|reason| SshError::Protocol {
            alias: connection.alias().to_string(),
            reason,
        })?;
    let (link, channel) = connection.open_session(limit, may_dial).await?;
    let command = script::login_command(&wrapped);
    let mut exec = ExecChannel::start(link, channel, connection.alias(), command, None).await?;
    if !exec.read_until(deadline).await? {
        exec.close().await;
        return Err(SshError::Timeout {
            alias: connection.alias().to_string(),
            what: "a control command".into(),
            after: limit,
        });
    }
    Ok((
        exec.out.exit.and_then(|e| e.code),
        markers.clean_stdout(&exec.out.stdout),
    ))
}
