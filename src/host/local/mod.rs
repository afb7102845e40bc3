//! The machine flightdeck runs on: tokio processes for commands,
//! portable-pty for agents (held by a keeper process when the task must
//! outlive the daemon).

pub(crate) mod pty;

use std::io;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use async_trait::async_trait;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncWriteExt;

use super::{
    Host, HostError, Kept, PtyControl, PtyProcess, PtySpec, Reattached, RunOutput, RunSpec,
    TASK_ID_ENV,
};
use crate::host::ExitInfo;
use crate::paths::Paths;

/// This machine. With flightdeck's directories (the daemon's), tasks asked
/// to be kept get a keeper process each; without (probes, the CLI, tests),
/// a PTY ends with the process that opened it.
#[derive(Debug, Default, Clone)]
pub struct LocalHost {
    paths: Option<Paths>,
}

pub const LOCAL: &str = "local";

impl LocalHost {
    pub fn with_state(paths: Paths) -> Self {
        LocalHost { paths: Some(paths) }
    }
}

impl LocalHost {
    /// Where task `task`'s keeper leaves word of its end.
    fn end_file(&self, task: u64) -> Option<PathBuf> {
        let paths = self.paths.as_ref()?;
        Some(crate::host::keeper::exit_file(&paths.keeper_socket(task)))
    }
}

/// Whether `name` is this machine's (a name no SSH host may take).
pub fn is_local(name: &str) -> bool {
    name == LOCAL
}

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

    async fn spawn_pty(&self, mut spec: PtySpec) -> Result<PtyProcess, HostError> {
        let keeper = match (spec.keep.clone(), &self.paths) {
            (Some(keep), Some(paths)) => {
                // The mark that tells this task's processes from others
                // once nothing holds them (see `stray`).
                spec.env.retain(|(k, _)| k != TASK_ID_ENV);
                spec.env.push((TASK_ID_ENV.into(), keep.task.to_string()));
                Some((paths.keeper_socket(keep.task), keep))
            }
            _ => None,
        };
        tokio::task::spawn_blocking(move || match keeper {
            Some((socket, keep)) => crate::host::keeper::spawn(spec, &socket, keep),
            None => pty::spawn_direct(spec),
        })
        .await
        .map_err(|e| HostError::Io(io::Error::other(e)))?
    }

    async fn worktrees_dir(&self) -> Result<PathBuf, HostError> {
        self.paths
            .as_ref()
            .map(Paths::worktrees_dir)
            .ok_or_else(|| {
                HostError::Io(io::Error::other(
                    "flightdeck's data directory is not known here",
                ))
            })
    }

    fn reattach(&self, task: u64) -> Reattached {
        let Some(paths) = &self.paths else {
            return Reattached::Gone;
        };
        let socket = paths.keeper_socket(task);
        if let Ok((process, hello)) = crate::host::keeper::attach(&socket) {
            let kept = Kept {
                pid: hello.pid,
                log_len: hello.log_len,
                exit: hello.exit,
                meta: hello.meta,
            };
            return Reattached::Running { process, kept };
        }
        std::fs::read(crate::host::keeper::exit_file(&socket))
            .ok()
            .and_then(|json| serde_json::from_slice::<ExitInfo>(&json).ok())
            .map_or(Reattached::Gone, Reattached::Ended)
    }

    fn kept_tasks(&self) -> Vec<u64> {
        self.paths
            .as_ref()
            .map(Paths::keeper_ids)
            .unwrap_or_default()
    }

    fn holds_end(&self, task: u64) -> bool {
        self.end_file(task).is_some_and(|file| file.exists())
    }

    fn forget_end(&self, task: u64) {
        if let Some(file) = self.end_file(task) {
            let _ = std::fs::remove_file(file);
        }
    }

    fn stray(&self, task: u64, pid: u32) -> Option<Arc<dyn PtyControl>> {
        let mark = format!("{TASK_ID_ENV}={task}");
        process_has_env(pid, &mark)
            .then(|| Arc::new(pty::GroupControl { pid }) as Arc<dyn PtyControl>)
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
fn process_has_env(pid: u32, var: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|environ| environ.split(|b| *b == 0).any(|v| v == var.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{PtySize, StopSignal};
    use std::io::Read;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn run_collects_output_and_exit_code() {
        let out = LocalHost::default()
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
        let err = LocalHost::default()
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
        let err = LocalHost::default()
            .run(RunSpec::new(["/no/such/prog"], Duration::from_secs(5)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("/no/such/prog"), "{err}");
    }

    #[tokio::test]
    async fn pty_process_runs_and_reports_signal() {
        let proc = LocalHost::default()
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
                keep: None,
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
        let err = LocalHost::default()
            .spawn_pty(PtySpec {
                argv: vec!["true".into()],
                cwd: "/no/such/dir".into(),
                env: vec![],
                size: PtySize { rows: 10, cols: 10 },
                keep: None,
            })
            .await
            .err()
            .unwrap();
        assert!(err.to_string().contains("/no/such/dir"), "{err}");
    }
}
