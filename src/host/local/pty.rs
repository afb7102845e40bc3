//! Agents in pseudo-terminals on this machine (portable-pty): opened here
//! for a task held by the daemon itself, or by a keeper process.

use std::io;
use std::sync::{Arc, Mutex};

use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::Pid;
use portable_pty::{CommandBuilder, MasterPty, native_pty_system};

use super::signal_name;
use crate::host::{ExitInfo, HostError, PtyControl, PtyProcess, PtySize, PtySpec, StopSignal};

/// A program started in a new PTY on this machine.
pub(crate) struct OpenedPty {
    pub pid: Option<u32>,
    pub reader: Box<dyn io::Read + Send>,
    pub writer: Box<dyn io::Write + Send>,
    pub master: Box<dyn MasterPty + Send>,
    pub waiter: Box<dyn FnOnce() -> ExitInfo + Send>,
}

/// Opens a PTY of `spec.size` and starts `spec.argv` in it (a session of its
/// own, so its pid is its process group).
pub(crate) fn open_pty(spec: &PtySpec) -> Result<OpenedPty, HostError> {
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

/// An agent whose PTY this process holds: it ends with the daemon.
pub(super) fn spawn_direct(spec: PtySpec) -> Result<PtyProcess, HostError> {
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

pub(crate) fn portable_size(size: PtySize) -> portable_pty::PtySize {
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
        GroupControl { pid }.signal_group(signal)
    }

    fn group_alive(&self) -> bool {
        self.pid
            .is_some_and(|pid| GroupControl { pid }.group_alive())
    }
}

/// The process group of an agent on this machine, by its leader's pid (an
/// agent runs as a session leader, so its pid is its group's id).
pub(crate) struct GroupControl {
    pub pid: u32,
}

impl PtyControl for GroupControl {
    fn resize(&self, _: PtySize) -> io::Result<()> {
        Err(io::Error::other("no terminal is held for this process"))
    }

    fn signal_group(&self, signal: StopSignal) -> io::Result<()> {
        let sig = match signal {
            StopSignal::Term => Signal::SIGTERM,
            StopSignal::Kill => Signal::SIGKILL,
        };
        killpg(Pid::from_raw(self.pid as i32), sig).map_err(io::Error::from)
    }

    fn group_alive(&self) -> bool {
        killpg(Pid::from_raw(self.pid as i32), None).is_ok()
    }
}
