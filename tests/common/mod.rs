//! Test harness: the real `flightdeck` binary in a real PTY, its screen
//! parsed by an independent emulator (vt100), and waits on screen conditions
//! with timeouts instead of sleeps.

#![allow(dead_code)]

pub mod sshd;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const TIMEOUT: Duration = Duration::from_secs(30);

pub fn flightdeck_bin() -> &'static str {
    env!("CARGO_BIN_EXE_flightdeck")
}

pub fn fake_agent_bin() -> &'static str {
    env!("CARGO_BIN_EXE_fake-agent")
}

/// A throwaway FLIGHTDECK_HOME with a HOME beside it and a git project.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_daemon();
        if std::env::var_os("KEEP_SANDBOX").is_some() {
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
            let _ = dir.keep();
        }
    }
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::create_dir_all(dir.path().join("fd/config")).unwrap();
        let sandbox = Sandbox { dir };
        sandbox.make_repo("repo");
        sandbox
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn fd_home(&self) -> PathBuf {
        self.path().join("fd")
    }

    pub fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    pub fn repo(&self) -> PathBuf {
        self.path().join("repo")
    }

    pub fn make_repo(&self, name: &str) -> PathBuf {
        let repo = self.path().join(name);
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::write(repo.join("README.md"), "# demo\n").unwrap();
        for args in [
            &["init", "-q", "-b", "main"][..],
            &["add", "."],
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "init",
            ],
        ] {
            let ok = std::process::Command::new("git")
                .args(args)
                .current_dir(&repo)
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        }
        repo
    }

    /// Writes config.toml: the repo as project "demo", the fake agent as "fake",
    /// plus `extra` TOML.
    pub fn write_config(&self, extra: &str) {
        let mut config = format!(
            "{extra}\n[[project]]\nname = \"demo\"\npath = {repo:?}\n\n\
             [[agent]]\nid = \"fake\"\nname = \"Fake agent\"\nbinary = {bin:?}\n\
             headless = [\"-p\", \"{{prompt}}\"]\nacp_check = [\"acp\", \"--help\"]\n",
            repo = self.repo().display().to_string(),
            bin = fake_agent_bin(),
        );
        // A real agent CLI installed on this machine (claude in /usr/bin)
        // must never be what a test dispatches: the built-in agents point
        // nowhere, and the fake one is the only agent found.
        for agent in flightdeck::catalog::Catalog::builtin().agents() {
            config.push_str(&format!(
                "\n[[agent]]\nid = {:?}\nbinary = \"/nonexistent/{}\"\n",
                agent.id, agent.binary
            ));
        }
        std::fs::write(self.fd_home().join("config/config.toml"), config).unwrap();
    }

    /// Task `id` as `flightdeck ls --json` shows it.
    pub fn task_json(&self, id: u64) -> serde_json::Value {
        let (_, out, _) = self.cli(&["ls", "--json"]);
        let tasks: serde_json::Value = serde_json::from_str(&out).unwrap();
        tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no task #{id} in {out}"))
    }

    pub fn tasks_json(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.fd_home().join("state/tasks.json")).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    pub fn log(&self, id: u64) -> String {
        let bytes = std::fs::read(self.fd_home().join(format!("data/logs/task-{id}.log"))).unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The daemon's pid, if one is running for this sandbox.
    pub fn daemon_pid(&self) -> Option<u32> {
        let pid = std::fs::read_to_string(self.fd_home().join("run/daemon.pid")).ok()?;
        let pid = pid.trim().parse().ok()?;
        process_alive(pid).then_some(pid)
    }

    /// Stops the sandbox's daemon (and so its agents) and waits until it is gone.
    pub fn stop_daemon(&self) {
        if let Some(pid) = self.daemon_pid() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            wait_for_condition("the daemon to exit", || !process_alive(pid));
        }
    }

    /// `flightdeck dispatch ARGS…` (`--project`, `--agent`, flags, prompt);
    /// the new task's id.
    pub fn dispatch(&self, args: &[&str]) -> u64 {
        let mut all = vec!["dispatch"];
        all.extend_from_slice(args);
        let (code, out, err) = self.cli(&all);
        assert_eq!(code, 0, "dispatch failed: {err}");
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("not a task id: {out:?}"))
    }

    /// Waits until `flightdeck ls --json` shows some task in `state`.
    pub fn wait_for_state(&self, state: &str) {
        let needle = format!("\"state\": \"{state}\"");
        wait_for_condition(&format!("a task to be {state}"), || {
            self.cli(&["ls", "--json"]).1.contains(&needle)
        });
    }

    /// Runs the CLI in this sandbox; returns (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        self.cli_of(Path::new(flightdeck_bin()), args)
    }

    /// The same, with the flightdeck binary at `bin`.
    pub fn cli_of(&self, bin: &Path, args: &[&str]) -> (i32, String, String) {
        let out = std::process::Command::new(bin)
            .args(args)
            .current_dir(self.repo())
            .env("FLIGHTDECK_HOME", self.fd_home())
            .env("HOME", self.home())
            .env("SHELL", "/bin/sh")
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Starts flightdeck in a PTY of `cols`×`rows` in this sandbox.
    pub fn spawn(&self, args: &[&str], cols: u16, rows: u16, env: &[(&str, &str)]) -> Tui {
        Tui::spawn(self, args, cols, rows, env)
    }
}

pub struct Tui {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
    /// Everything the program wrote, raw.
    raw: Arc<Mutex<Vec<u8>>>,
}

impl Tui {
    fn spawn(sandbox: &Sandbox, args: &[&str], cols: u16, rows: u16, env: &[(&str, &str)]) -> Tui {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(flightdeck_bin());
        cmd.args(args);
        cmd.cwd(sandbox.repo());
        cmd.env("FLIGHTDECK_HOME", sandbox.fd_home());
        cmd.env("HOME", sandbox.home());
        cmd.env("TERM", "xterm-256color");
        cmd.env("SHELL", "/bin/sh");
        cmd.env("RUST_BACKTRACE", "0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap();
        let writer = pair.master.take_writer().unwrap();
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let (p, r) = (parser.clone(), raw.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                p.lock().unwrap().process(&buf[..n]);
                r.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Tui {
            master: pair.master,
            writer,
            child,
            parser,
            raw,
        }
    }

    pub fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    pub fn raw_output(&self) -> Vec<u8> {
        self.raw.lock().unwrap().clone()
    }

    /// Runs `check` on the screen until it holds, or panics with the screen.
    pub fn wait_until(&self, what: &str, check: impl Fn(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            {
                let parser = self.parser.lock().unwrap();
                if check(parser.screen()) {
                    return;
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; screen:\n{}\nthreads of the program:\n{}",
                    self.screen(),
                    threads_of(self.pid())
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn wait_for(&self, text: &str) {
        self.wait_until(&format!("{text:?}"), |s| s.contents().contains(text));
    }

    /// The value shown by a `◂ value ▸` selector on the line starting `label`.
    pub fn selector(&self, label: &str) -> String {
        let screen = self.screen();
        let line = screen
            .lines()
            .find(|l| {
                let at = |needle: &str| l.find(needle);
                matches!((at(&format!(" {label} ")), at("◂")), (Some(a), Some(b)) if a < b)
            })
            .unwrap_or("")
            .to_string();
        line.split('◂')
            .nth(1)
            .and_then(|r| r.split('▸').next())
            .unwrap_or("")
            .trim()
            .to_string()
    }

    /// In the open dispatch dialog, with `label`'s selector focused, cycles
    /// it (→) until it shows `value`.
    pub fn cycle_to(&mut self, label: &str, value: &str) {
        for _ in 0..40 {
            let current = self.selector(label);
            if current == value {
                return;
            }
            self.send("\x1b[C");
            self.wait_until(&format!("{label} to change from {current:?}"), |s| {
                !s.contents().contains(&format!("◂ {current} ▸"))
            });
        }
        panic!("{label} never showed {value}; screen:\n{}", self.screen());
    }

    /// Clicks (left button, SGR mouse encoding) on the first `text` on screen.
    pub fn click(&mut self, text: &str) {
        let screen = self.screen();
        let (row, line) = screen
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(text))
            .unwrap_or_else(|| panic!("{text:?} not on screen:\n{screen}"));
        let col = line[..line.find(text).unwrap()].chars().count();
        let (x, y) = (col + 1, row + 1);
        self.send(format!("\x1b[<0;{x};{y}M\x1b[<0;{x};{y}m"));
    }

    pub fn wait_gone(&self, text: &str) {
        self.wait_until(&format!("{text:?} to disappear"), |s| {
            !s.contents().contains(text)
        });
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.writer.write_all(bytes.as_ref()).unwrap();
        self.writer.flush().unwrap();
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().unwrap()
    }

    /// Waits for the program to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> u32 {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.exit_code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("flightdeck did not exit; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Polls `check` until it holds or the timeout passes.
pub fn wait_for_condition(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + TIMEOUT;
    while !check() {
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn process_alive(pid: u32) -> bool {
    // Signal 0 checks existence; a zombie counts as gone.
    let status = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !status.is_empty() && !status.contains(") Z ")
}

pub fn kill(pid: u32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
}

/// Kills `pid` with SIGKILL and waits until it is gone.
pub fn kill_hard(pid: u32) {
    kill(pid, nix::sys::signal::Signal::SIGKILL);
    wait_for_condition(&format!("pid {pid} to die"), || !process_alive(pid));
}

pub fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = stat.rsplit(')').next().unwrap();
    after_name
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// Runs git in `repo`; its stdout.
pub fn git(repo: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Commits what is staged in `repo`, as a throwaway identity.
pub fn git_commit(repo: &Path, message: &str) {
    let identity = ["-c", "user.name=t", "-c", "user.email=t@t"];
    git(repo, &[&identity[..], &["commit", "-qm", message]].concat());
}

/// Where each thread of `pid` is blocked (name, kernel wait channel and
/// stack), to tell a hang from a slow machine when a wait times out.
fn threads_of(pid: u32) -> String {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return format!("(process {pid} is gone)");
    };
    let mut out = String::new();
    for task in tasks.flatten() {
        let read = |f: &str| std::fs::read_to_string(task.path().join(f)).unwrap_or_default();
        let stack: Vec<String> = read("stack").lines().take(6).map(str::to_string).collect();
        out.push_str(&format!(
            "  {} {} wchan={} {}\n",
            task.file_name().to_string_lossy(),
            read("comm").trim(),
            read("wchan"),
            stack.join(" | ")
        ));
    }
    out
}
