//! A flightdeck sandbox: a temp `FLIGHTDECK_HOME` (config, data, state,
//! socket) with a HOME beside it and a git repo as project "demo"; its CLI,
//! its dashboard in a PTY, and its daemon (stopped on drop).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use flightdeck::paths::Paths;
use portable_pty::CommandBuilder;

use super::{
    Bins, PtyProc, Res, Until, WAIT, alive, find_processes, kill, reap, run_with_timeout,
    wait_until,
};
use crate::report::{Samples, ms};

pub struct Sandbox {
    dir: tempfile::TempDir,
    pub bins: Bins,
    /// Daemons we started ourselves (reaped on drop).
    daemons: Mutex<Vec<Child>>,
}

impl Sandbox {
    pub fn new(bins: &Bins) -> Res<Self> {
        let dir = tempfile::Builder::new()
            .prefix("fdbench")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let sandbox = Sandbox {
            dir,
            bins: bins.clone(),
            daemons: Mutex::default(),
        };
        std::fs::create_dir_all(sandbox.home()).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(sandbox.fd_home().join("config")).map_err(|e| e.to_string())?;
        let repo = sandbox.repo();
        std::fs::create_dir_all(&repo).map_err(|e| e.to_string())?;
        std::fs::write(repo.join("README.md"), "# demo\n").map_err(|e| e.to_string())?;
        for args in [
            &["init", "-q", "-b", "main"][..],
            &["add", "."],
            &[
                "-c",
                "user.name=b",
                "-c",
                "user.email=b@b",
                "commit",
                "-qm",
                "init",
            ],
        ] {
            let out = run_with_timeout(Command::new("git").args(args).current_dir(&repo), WAIT)?;
            if !out.status.success() {
                return Err(format!("git {args:?} failed"));
            }
        }
        // Same shape as tests/common/mod.rs `write_config`; a short stop grace
        // so tearing down 100 agents is quick.
        let config = format!(
            "[settings]\nstop_grace_secs = 1\nscrollback_lines = 10000\n\n\
             [[project]]\nname = \"demo\"\npath = {repo:?}\n\n\
             [[agent]]\nid = \"fake\"\nname = \"Fake agent\"\nbinary = {bin:?}\n\
             headless = [\"-p\", \"{{prompt}}\"]\nacp_check = [\"acp\", \"--help\"]\n",
            repo = repo.display().to_string(),
            bin = bins.fake.display().to_string(),
        );
        sandbox.write_config(&config)?;
        Ok(sandbox)
    }

    /// Replaces `config/config.toml`.
    pub fn write_config(&self, text: &str) -> Res<()> {
        std::fs::write(self.fd_home().join("config/config.toml"), text).map_err(|e| e.to_string())
    }

    /// The temp directory everything lives in (scratch files may go there too).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
    pub fn fd_home(&self) -> PathBuf {
        self.dir().join("fd")
    }
    pub fn home(&self) -> PathBuf {
        self.dir().join("home")
    }
    pub fn repo(&self) -> PathBuf {
        self.dir().join("repo")
    }
    pub fn paths(&self) -> Paths {
        Paths::under(&self.fd_home())
    }

    /// The environment every flightdeck process of this sandbox gets.
    fn env(&self) -> [(&'static str, PathBuf); 3] {
        [
            ("FLIGHTDECK_HOME", self.fd_home()),
            ("HOME", self.home()),
            ("SHELL", "/bin/sh".into()),
        ]
    }

    /// `flightdeck` (the CLI) in the repo, with the sandbox's environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bins.flightdeck);
        cmd.current_dir(self.repo())
            .envs(self.env())
            .env_remove("TMUX");
        cmd
    }

    /// `flightdeck ARGS` for a PTY, with `env` on top of the sandbox's.
    pub fn pty_command(&self, args: &[&str], env: &[(&str, &str)]) -> CommandBuilder {
        let mut cmd = CommandBuilder::new(&self.bins.flightdeck);
        cmd.args(args);
        cmd.cwd(self.repo());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        cmd.env("TERM", "xterm-256color");
        cmd.env("RUST_BACKTRACE", "0");
        cmd.env_remove("TMUX");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// The dashboard in a PTY of cols×rows, ready (its first frame drawn).
    pub fn tui(&self, cols: u16, rows: u16, env: &[(&str, &str)]) -> Res<PtyProc> {
        let mut tui = PtyProc::spawn("flightdeck", self.pty_command(&[], env), cols, rows, true)?;
        tui.wait_shows("Tasks", WAIT)?;
        Ok(tui)
    }

    /// Runs `flightdeck ARGS`; its trimmed stdout, or an error with its stderr.
    pub fn cli(&self, args: &[&str]) -> Res<String> {
        let out = run_with_timeout(self.command().args(args), WAIT)?;
        if !out.status.success() {
            return Err(format!(
                "flightdeck {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Dispatches the fake agent on project "demo"; the task's id.
    pub fn dispatch(&self, prompt: &str) -> Res<u64> {
        let out = self.cli(&["dispatch", "--project", "demo", "--agent", "fake", prompt])?;
        out.lines()
            .last()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| format!("dispatch printed {out:?}"))
    }

    /// Dispatches `n` tasks, `parallel` CLIs at a time.
    pub fn dispatch_many(&self, prompt: &str, n: usize, parallel: usize) -> Res<Vec<u64>> {
        let mut ids = Vec::new();
        let mut left = n;
        while left > 0 {
            let batch = left.min(parallel);
            let results: Vec<Res<u64>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..batch)
                    .map(|_| s.spawn(|| self.dispatch(prompt)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err("dispatch panicked".into())))
                    .collect()
            });
            for r in results {
                ids.push(r?);
            }
            left -= batch;
        }
        Ok(ids)
    }

    /// Starts the daemon the way a client does (`flightdeck daemon --detached`)
    /// and waits for its socket; its pid.
    pub fn start_daemon(&self) -> Res<u32> {
        let child = self
            .command()
            .args(["daemon", "--detached"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the daemon: {e}"))?;
        self.daemons.lock().unwrap().push(child);
        let socket = self.paths().socket();
        wait_until("the daemon's socket", WAIT, || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        })?;
        self.wait_daemon_pid()
    }

    /// The pid in the daemon's pid file, if that process is alive.
    pub fn daemon_pid(&self) -> Option<u32> {
        let text = std::fs::read_to_string(self.paths().daemon_pid()).ok()?;
        let pid = text.trim().parse().ok()?;
        alive(pid).then_some(pid)
    }

    pub fn wait_daemon_pid(&self) -> Res<u32> {
        let mut pid = None;
        wait_until("the daemon's pid file", WAIT, || {
            pid = self.daemon_pid();
            pid.is_some()
        })?;
        Ok(pid.unwrap())
    }

    /// `flightdeck daemon stop --force`, then SIGKILL if it does not exit.
    pub fn stop_daemon(&self) {
        if let Some(pid) = self.daemon_pid() {
            let stopped = run_with_timeout(
                self.command().args(["daemon", "stop", "--force"]),
                Duration::from_secs(30),
            );
            let exited = || {
                wait_until("the daemon to exit", Duration::from_secs(15), || {
                    !alive(pid)
                })
            };
            if stopped.is_err() || exited().is_err() {
                eprintln!("warning: the daemon {pid} did not stop; killing it");
                kill(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = wait_until("the daemon to die", Duration::from_secs(5), || !alive(pid));
            }
        }
        for mut child in self.daemons.lock().unwrap().drain(..) {
            reap(&mut child, Duration::from_secs(5));
        }
    }

    /// The keepers (`flightdeck-keeper`, one per local task, holding its
    /// PTY) of this sandbox's tasks.
    pub fn keepers(&self) -> Vec<u32> {
        let program = self.bins.flightdeck.with_file_name("flightdeck-keeper");
        let home = format!("FLIGHTDECK_HOME={}", self.fd_home().display());
        find_processes(&[&program.display().to_string()], &home)
    }

    fn log_path(&self, id: u64) -> PathBuf {
        self.paths().logs_dir().join(format!("task-{id}.log"))
    }

    /// Bytes in the task's log file.
    pub fn log_len(&self, id: u64) -> u64 {
        std::fs::metadata(self.log_path(id))
            .map(|m| m.len())
            .unwrap_or(0)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_daemon();
    }
}

/// `?` opens the dashboard's help overlay, `?` closes it: the times (ms)
/// until "Help" showed, `n` times with `gap` between round trips.
pub fn help_roundtrips(tui: &mut PtyProc, n: usize, gap: Duration) -> Res<Samples> {
    let mut lat = Vec::new();
    for _ in 0..n {
        let (sent, seen) =
            tui.send_and_wait(b"?", Until::Shows("Help".into()), Duration::from_secs(10))?;
        lat.push(ms(seen - sent));
        tui.send_and_wait(b"?", Until::Hides("Help".into()), Duration::from_secs(10))?;
        std::thread::sleep(gap);
    }
    Ok(Samples::new(lat))
}
