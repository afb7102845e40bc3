//! `flightdeck daemon`: the supervisor behind a Unix socket, so agents
//! outlive the TUI. The TUI starts it on demand; it runs in its own session
//! and logs to a file.

pub mod client;
pub mod protocol;
mod server;

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::Stdio;

use color_eyre::Result;
use color_eyre::eyre::{WrapErr, eyre};
use nix::fcntl::{Flock, FlockArg};
use tokio::net::UnixListener;

use crate::config::Config;
use crate::paths::Paths;
use crate::supervisor::{self, Settings, SupervisorConfig};

/// Starts `flightdeck daemon --detached` in the background and returns at
/// once; the caller waits for the socket.
pub fn start_detached(paths: &Paths) -> Result<()> {
    paths.ensure_writable()?;
    let exe = std::env::current_exe().wrap_err("cannot find the flightdeck executable")?;
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.data_dir.join("daemon.stderr"))?;
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
    let _lock = take_lock(&paths)?;
    let _log = init_logging(&paths)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(paths, config))
}

/// One daemon per runtime dir: whoever holds the lock is it.
fn take_lock(paths: &Paths) -> Result<Flock<File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .read(true)
        .open(paths.daemon_lock())
        .wrap_err_with(|| format!("cannot open {}", paths.daemon_lock().display()))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err(_) => {
            let pid = std::fs::read_to_string(paths.daemon_pid()).unwrap_or_default();
            Err(eyre!(
                "another flightdeck daemon is already running (pid {}) for {}",
                pid.trim(),
                paths.runtime_dir.display()
            ))
        }
    }
}

async fn serve(paths: Paths, config: Config) -> Result<()> {
    let socket = paths.socket();
    // We hold the lock, so a socket file left here belongs to a dead daemon.
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .wrap_err_with(|| format!("cannot listen on {}", socket.display()))?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    let mut pid = File::create(paths.daemon_pid())?;
    writeln!(pid, "{}", std::process::id())?;
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
    let commands = supervisor.commands.clone();
    tokio::spawn(async move {
        // SIGTERM and SIGINT stop the agents cleanly, like `daemon stop`.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        let _ = commands.send(supervisor::Command::Shutdown);
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

fn init_logging(paths: &Paths) -> Result<tracing_appender::non_blocking::WorkerGuard> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.daemon_log_file())
        .wrap_err_with(|| format!("cannot open {}", paths.daemon_log_file().display()))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FLIGHTDECK_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    Ok(guard)
}
