//! A private tmux server for the comparisons: `tmux -L NAME -f CONF` with
//! no user config, the same scrollback as flightdeck and no status line;
//! killed on drop.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use portable_pty::CommandBuilder;

use super::{Res, run_with_timeout};

pub struct Tmux {
    socket: String,
    conf: PathBuf,
    _dir: tempfile::TempDir,
}

static SERIAL: AtomicU64 = AtomicU64::new(0);

impl Tmux {
    pub fn new() -> Res<Self> {
        let dir = tempfile::Builder::new()
            .prefix("fdbench-tmux")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let conf = dir.path().join("tmux.conf");
        // No status line, so the pane is the whole 120×40 window.
        std::fs::write(
            &conf,
            "set -g history-limit 10000\nset -g status off\nset -sg escape-time 0\n",
        )
        .map_err(|e| e.to_string())?;
        let socket = format!(
            "fdbench-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::SeqCst)
        );
        Ok(Tmux {
            socket,
            conf,
            _dir: dir,
        })
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("tmux");
        cmd.arg("-L").arg(&self.socket).arg("-f").arg(&self.conf);
        cmd.env_remove("TMUX").env("TERM", "xterm-256color");
        cmd
    }

    /// `tmux ARGS` for a PTY (a client).
    pub fn pty_cmd(&self, args: &[&str]) -> CommandBuilder {
        let mut cmd = CommandBuilder::new("tmux");
        cmd.args(["-L", &self.socket, "-f"]);
        cmd.arg(&self.conf);
        cmd.args(args);
        cmd.env_remove("TMUX");
        cmd.env("TERM", "xterm-256color");
        cmd
    }

    /// Runs `tmux ARGS`; its trimmed stdout.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Res<String> {
        let out = run_with_timeout(self.cmd().args(args), timeout)?;
        if !out.status.success() {
            return Err(format!(
                "tmux {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// A detached 120×40 session running the shell command `cmd`.
    pub fn new_session(&self, cmd: &str, timeout: Duration) -> Res<()> {
        self.run(
            &["new-session", "-d", "-x", "120", "-y", "40", cmd],
            timeout,
        )
        .map(drop)
    }

    pub fn server_pid(&self) -> Option<u32> {
        self.run(
            &["display-message", "-p", "#{pid}"],
            Duration::from_secs(10),
        )
        .ok()?
        .parse()
        .ok()
    }

    /// `CMD; tmux wait-for -S done` as a shell command line.
    pub fn signalling(&self, cmd: &str) -> String {
        format!("{cmd}; tmux -L {} wait-for -S done", self.socket)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = run_with_timeout(self.cmd().arg("kill-server"), Duration::from_secs(10));
        // A server that ended with its last session leaves its socket file.
        let dir = std::env::var_os("TMUX_TMPDIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/tmp"))
            .join(format!("tmux-{}", nix::unistd::getuid()));
        let _ = std::fs::remove_file(dir.join(&self.socket));
    }
}

/// `s` single-quoted for sh.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
