//! The machine flightdeck runs on: tokio processes for commands,
//! portable-pty for agents.

use std::io;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use portable_pty::{CommandBuilder, MasterPty, native_pty_system};
use tokio::io::AsyncWriteExt;

use super::{
    Host, HostError, PtyControl, PtyProcess, PtySize, PtySpec, RunOutput, RunSpec, StopSignal,
};
use crate::host::ExitInfo;

#[derive(Debug, Default, Clone)]
pub struct LocalHost;

pub const LOCAL: &str = "local";

#[async_trait]
impl Host for LocalHost {
    fn name(&self) -> &str {
        LOCAL
    }

    fn hook_program(&self) -> Option<String> {
        let exe = std::env::current_exe().ok()?;
        exe.to_str().map(str::to_string)
    }

    async fn run(&self, spec: RunSpec) -> Result<RunOutput, HostError> {
        let program = spec.argv.first().cloned().unwrap_or_default();
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(&spec.argv[1..])
            .envs(spec.env.iter().cloned())
            .stdin(if spec.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so a timeout kills what it started too.
            .process_group(0)
            .kill_on_drop(true);
        if let Some(cwd) = &spec.cwd {
            cmd.current_dir(cwd);
        }
        let mut child = cmd.spawn().map_err(|e| HostError::Spawn {
            program: program.clone(),
            reason: e.to_string(),
        })?;
        let pid = child.id();
        if let (Some(input), Some(mut stdin)) = (spec.stdin, child.stdin.take()) {
            tokio::spawn(async move {
                let _ = stdin.write_all(&input).await;
            });
        }
        match tokio::time::timeout(spec.timeout, child.wait_with_output()).await {
            Ok(output) => {
                let output = output?;
                Ok(RunOutput {
                    exit: exit_info_from_std(output.status),
                    stdout: output.stdout,
                    stderr: output.stderr,
                })
            }
            Err(_) => {
                if let Some(pid) = pid {
                    let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
                }
                Err(HostError::Timeout(spec.timeout))
            }
        }
    }

    async fn spawn_pty(&self, spec: PtySpec) -> Result<PtyProcess, HostError> {
        tokio::task::spawn_blocking(move || spawn_local_pty(spec))
            .await
            .map_err(|e| HostError::Io(io::Error::other(e)))?
    }
}

/// A program started in a new PTY on this machine.
pub(super) struct OpenedPty {
    pub pid: Option<u32>,
    pub reader: Box<dyn io::Read + Send>,
    pub writer: Box<dyn io::Write + Send>,
    pub master: Box<dyn MasterPty + Send>,
    pub waiter: Box<dyn FnOnce() -> ExitInfo + Send>,
}

/// Opens a PTY of `spec.size` and starts `spec.argv` in it (a session of its
/// own, so its pid is its process group).
pub(super) fn open_pty(spec: &PtySpec) -> Result<OpenedPty, HostError> {
    let program = spec.argv.first().cloned().unwrap_or_default();
    let spawn_err = |reason: String| HostError::Spawn {
        program: program.clone(),
        reason,
    };
    if !spec.cwd.is_dir() {
        return Err(spawn_err(format!(
            "working directory {} does not exist",
            spec.cwd.display()
        )));
    }
    let size = spec.size.clamped();
    let pair = native_pty_system()
        .openpty(portable_size(size))
        .map_err(|e| spawn_err(format!("cannot open a pty: {e}")))?;
    let mut cmd = CommandBuilder::new(&program);
    cmd.args(&spec.argv[1..]);
    cmd.cwd(&spec.cwd);
    cmd.env("TERM", "xterm-256color");
    cmd.env("COLORTERM", "truecolor");
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    let child = pair
        .slave
        .spawn_command(cmd)
        .map_err(|e| spawn_err(e.to_string()))?;
    drop(pair.slave);
    let pid = child.process_id();
    let reader = pair
        .master
        .try_clone_reader()
        .map_err(|e| spawn_err(e.to_string()))?;
    let writer = pair
        .master
        .take_writer()
        .map_err(|e| spawn_err(e.to_string()))?;
    let waiter = Box::new(move || {
        // Reap by pid so the exact signal is known; the child handle only
        // keeps portable-pty's bookkeeping alive until then.
        let status = pid.map(|p| waitpid(Pid::from_raw(p as i32), None));
        drop(child);
        match status {
            Some(Ok(WaitStatus::Exited(_, code))) => ExitInfo {
                code: Some(code),
                ..Default::default()
            },
            Some(Ok(WaitStatus::Signaled(_, sig, _))) => ExitInfo {
                signal: Some(signal_name(sig)),
                ..Default::default()
            },
            _ => ExitInfo::default(),
        }
    });
    Ok(OpenedPty {
        pid,
        reader,
        writer,
        master: pair.master,
        waiter,
    })
}

fn spawn_local_pty(spec: PtySpec) -> Result<PtyProcess, HostError> {
    if let Some(keeper) = spec.keeper.clone() {
        return super::shim::spawn(spec, keeper);
    }
    let opened = open_pty(&spec)?;
    let control = Arc::new(LocalPtyControl {
        master: Mutex::new(opened.master),
        pid: opened.pid,
    });
    Ok(PtyProcess {
        pid: opened.pid,
        reader: opened.reader,
        writer: opened.writer,
        control,
        waiter: opened.waiter,
        logs_itself: false,
    })
}

pub(super) fn portable_size(size: PtySize) -> portable_pty::PtySize {
    portable_pty::PtySize {
        rows: size.rows,
        cols: size.cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

struct LocalPtyControl {
    master: Mutex<Box<dyn MasterPty + Send>>,
    pid: Option<u32>,
}

impl PtyControl for LocalPtyControl {
    fn resize(&self, size: PtySize) -> io::Result<()> {
        self.master
            .lock()
            .unwrap()
            .resize(portable_size(size.clamped()))
            .map_err(io::Error::other)
    }

    fn signal_group(&self, signal: StopSignal) -> io::Result<()> {
        let pid = self
            .pid
            .ok_or_else(|| io::Error::other("the process id is unknown"))?;
        let sig = match signal {
            StopSignal::Term => Signal::SIGTERM,
            StopSignal::Kill => Signal::SIGKILL,
        };
        // The child is a session leader (setsid), so its pid is its group id.
        killpg(Pid::from_raw(pid as i32), sig).map_err(io::Error::from)
    }

    fn group_alive(&self) -> bool {
        self.pid
            .is_some_and(|pid| killpg(Pid::from_raw(pid as i32), None).is_ok())
    }
}

/// "TERM" for SIGTERM.
pub fn signal_name(sig: Signal) -> String {
    sig.as_str().trim_start_matches("SIG").to_string()
}

pub fn exit_info_from_std(status: std::process::ExitStatus) -> ExitInfo {
    use std::os::unix::process::ExitStatusExt;
    ExitInfo {
        code: status.code(),
        signal: status
            .signal()
            .and_then(|s| Signal::try_from(s).ok())
            .map(signal_name),
        error: None,
    }
}

/// Whether process `pid` on this machine has `var` (`NAME=value`) in its
/// environment: how a process is told to be a given task's after its
/// keeper is gone (a bare pid may have been reused).
pub fn process_has_env(pid: u32, var: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|environ| environ.split(|b| *b == 0).any(|v| v == var.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn run_collects_output_and_exit_code() {
        let out = LocalHost
            .run(RunSpec::new(
                ["sh", "-c", "printf out; printf err >&2; exit 7"],
                Duration::from_secs(10),
            ))
            .await
            .unwrap();
        assert_eq!(
            (out.stdout.as_slice(), out.stderr.as_slice()),
            (&b"out"[..], &b"err"[..])
        );
        assert_eq!(out.exit.code, Some(7));
    }

    #[tokio::test]
    async fn run_times_out_and_kills_the_group() {
        let start = Instant::now();
        let err = LocalHost
            .run(RunSpec::new(
                ["sh", "-c", "sleep 30 & wait"],
                Duration::from_millis(300),
            ))
            .await
            .unwrap_err();
        assert!(matches!(err, HostError::Timeout(_)), "{err}");
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn missing_program_is_a_clear_error() {
        let err = LocalHost
            .run(RunSpec::new(["/no/such/prog"], Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("/no/such/prog"), "{err}");
    }

    #[tokio::test]
    async fn pty_process_runs_and_reports_signal() {
        let proc = LocalHost
            .spawn_pty(PtySpec {
                argv: vec![
                    "sh".into(),
                    "-c".into(),
                    "stty size; echo ready; sleep 30".into(),
                ],
                cwd: "/".into(),
                env: vec![],
                size: PtySize {
                    rows: 33,
                    cols: 101,
                },
                keeper: None,
            })
            .await
            .unwrap();
        let mut reader = proc.reader;
        let mut seen = String::new();
        let mut buf = [0u8; 1024];
        while !seen.contains("ready") {
            let n = reader.read(&mut buf).unwrap();
            assert!(n > 0, "eof before ready: {seen:?}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
        assert!(seen.contains("33 101"), "{seen:?}");
        assert!(proc.control.group_alive());
        proc.control.signal_group(StopSignal::Term).unwrap();
        let exit = (proc.waiter)();
        assert_eq!(exit.signal.as_deref(), Some("TERM"));
    }

    #[tokio::test]
    async fn pty_in_missing_dir_fails_clearly() {
        let err = LocalHost
            .spawn_pty(PtySpec {
                argv: vec!["true".into()],
                cwd: "/no/such/dir".into(),
                env: vec![],
                size: PtySize { rows: 10, cols: 10 },
                keeper: None,
            })
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("/no/such/dir"), "{err}");
    }
}
