//! `flightdeck daemon`: the supervisor behind a Unix socket, so agents
//! outlive the TUI. The TUI starts it on demand; it runs in its own session
//! and logs to a file.

pub mod client;
mod server;

use std::fs::File;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long a client-started daemon waits for a dying one's lock.
const LOCK_WAIT: Duration = Duration::from_secs(3);

use color_eyre::Result;
use color_eyre::eyre::{WrapErr, eyre};
use nix::fcntl::{Flock, FlockArg};
use tokio::net::UnixListener;

use crate::config::Config;
use crate::paths::Paths;
use crate::protocol::Settings;
use crate::supervisor::{self, SupervisorConfig};

/// Starts `flightdeck daemon --detached` in the background and returns at
/// once; the caller waits for the socket.
pub fn start_detached(paths: &Paths) -> Result<()> {
    paths.ensure_writable()?;
    let exe = std::env::current_exe().wrap_err("cannot find the flightdeck executable")?;
    let stderr = crate::private::open_append(&paths.daemon_stderr_file())?;
    std::process::Command::new(exe)
        .args(["daemon", "--detached"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .wrap_err("cannot spawn the daemon")?;
    Ok(())
}

/// The daemon's main: holds the lock, serves the socket, runs the supervisor
/// until it is told to shut down.
pub fn run(paths: Paths, config: Config, detached: bool) -> Result<()> {
    if detached {
        // Our own session: no controlling terminal, so closing the terminal
        // (or losing the SSH session) that started us does not reach us.
        nix::unistd::setsid().wrap_err("setsid")?;
    }
    paths.ensure_writable()?;
    paths.ensure_runtime_dir()?;
    let _lock = take_lock(&paths, detached)?;
    let _log = crate::logging::init(&paths.daemon_log_file())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(paths, config))
}

/// One daemon per runtime dir: whoever holds the lock is it. A daemon
/// started by a client (`wait`) gives the lock a moment: one killed just
/// before may still hold it while it dies.
fn take_lock(paths: &Paths, wait: bool) -> Result<Flock<File>> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .read(true)
        .mode(0o600)
        .open(paths.daemon_lock())
        .wrap_err_with(|| format!("cannot open {}", paths.daemon_lock().display()))?;
    let deadline = Instant::now() + if wait { LOCK_WAIT } else { Duration::ZERO };
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((back, _)) if Instant::now() < deadline => {
                file = back;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => break,
        }
    }
    let pid = std::fs::read_to_string(paths.daemon_pid()).unwrap_or_default();
    Err(eyre!(
        "another flightdeck daemon is already running (pid {}) for {}",
        pid.trim(),
        paths.runtime_dir.display()
    ))
}

async fn serve(paths: Paths, config: Config) -> Result<()> {
    let socket = paths.socket();
    // We hold the lock, so a socket file left here belongs to a dead daemon.
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .wrap_err_with(|| format!("cannot listen on {}", socket.display()))?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    crate::store::write_atomic(
        &paths.daemon_pid(),
        format!("{}\n", std::process::id()).as_bytes(),
    )?;
    tracing::info!(
        "daemon {} listening on {}",
        std::process::id(),
        socket.display()
    );

    let supervisor = supervisor::start(
        SupervisorConfig {
            paths: paths.clone(),
            settings: Settings::from_config(&config),
        },
        Some(crate::host::ssh::SshEnv::from_process()),
    );
    let commands = supervisor.link();
    tokio::spawn(async move {
        // SIGTERM and SIGINT stop the agents cleanly, like `daemon stop`.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        commands.send(crate::protocol::Command::Shutdown);
    });
    server::serve(listener, supervisor, idle_exit()).await;
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(paths.daemon_pid());
    tracing::info!("daemon stopped");
    Ok(())
}

/// How long a daemon with no clients and no live tasks lingers before it
/// exits (`FLIGHTDECK_DAEMON_IDLE_SECS`, default 60).
fn idle_exit() -> std::time::Duration {
    let secs = std::env::var("FLIGHTDECK_DAEMON_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s >= 0.0)
        .unwrap_or(60.0);
    std::time::Duration::from_secs_f64(secs)
}
