//! Reaching another machine's daemon: `flightdeck proxy` (run there, by
//! SSH) bridges stdio to that machine's socket; `flightdeck --remote HOST`
//! runs the dashboard against it.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Failure;
use crate::config::Config;
use crate::daemon::client::socket_or_start;
use crate::host::ssh::{
    HostKeyQuestion, PassphraseQuestion, SshContext, SshEnv, SshHost, SshPrompter,
};
use crate::paths::Paths;
use crate::supervisor::HostRegistry;

/// What runs on the remote host by default: its login shell may not have
/// `~/.local/bin` or `~/.cargo/bin` (where flightdeck is usually installed)
/// on PATH.
pub const DEFAULT_PROXY: &str =
    "PATH=\"$HOME/.local/bin:$HOME/.cargo/bin:$PATH\" exec flightdeck proxy";

/// `flightdeck proxy`: stdin → the daemon's socket, the socket → stdout,
/// until either side closes. Starts the daemon if none runs.
pub async fn proxy(paths: &Paths) -> Result<(), Failure> {
    let socket = socket_or_start(paths).await?;
    let (mut from_daemon, mut to_daemon) = socket.into_split();
    let upstream = async move {
        let mut stdin = tokio::io::stdin();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = stdin.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            to_daemon.write_all(&buf[..n]).await?;
        }
        to_daemon.shutdown().await
    };
    let downstream = async move {
        let mut stdout = tokio::io::stdout();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = from_daemon.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            // Frames must go out now, not when a buffer fills.
            stdout.write_all(&buf[..n]).await?;
            stdout.flush().await?;
        }
        Ok::<_, std::io::Error>(())
    };
    tokio::select! {
        r = upstream => r?,
        r = downstream => r?,
    }
    Ok(())
}

/// The SSH host `name` (from the config or `~/.ssh/config`), asking any
/// question on this terminal: the dashboard is not up yet.
pub fn host(config: &Config, name: &str) -> Result<Arc<SshHost>, Failure> {
    let prompter = Arc::new(TerminalPrompter::default());
    let context = SshContext::new(SshEnv::from_process(), prompter);
    let (events, _ignored) = tokio::sync::mpsc::unbounded_channel();
    let mut registry = HostRegistry::new(context, crate::host::LocalHost::default(), events);
    registry.configure(&config.hosts);
    registry.ssh_host(name).map_err(Failure::usage)
}

/// Asks on the terminal, before the dashboard takes it over. Once the
/// dashboard runs (reconnects), it refuses: a question printed over the
/// dashboard could not be answered.
#[derive(Default)]
pub struct TerminalPrompter {
    quiet: AtomicBool,
}

impl TerminalPrompter {
    fn ask(&self, question: &str, secret: bool) -> Option<String> {
        if self.quiet.load(Ordering::Relaxed) {
            return None;
        }
        eprint!("{question}");
        let _ = std::io::stderr().flush();
        let stdin = std::io::stdin();
        let echo = (secret).then(|| disable_echo(&stdin)).flatten();
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        if let Some(original) = echo {
            let _ =
                nix::sys::termios::tcsetattr(&stdin, nix::sys::termios::SetArg::TCSANOW, &original);
            eprintln!();
        }
        read.ok().filter(|n| *n > 0)?;
        Some(line.trim_end_matches(['\r', '\n']).to_string())
    }
}

fn disable_echo(stdin: &std::io::Stdin) -> Option<nix::sys::termios::Termios> {
    use nix::sys::termios::{LocalFlags, SetArg, tcgetattr, tcsetattr};
    let original = tcgetattr(stdin).ok()?;
    let mut quiet = original.clone();
    quiet.local_flags.remove(LocalFlags::ECHO);
    tcsetattr(stdin, SetArg::TCSANOW, &quiet).ok()?;
    Some(original)
}

#[async_trait]
impl SshPrompter for TerminalPrompter {
    async fn trust_host_key(&self, q: &HostKeyQuestion) -> bool {
        let question = format!(
            "{} ({}) is not in {}.\nIts {} key fingerprint is {}.\nTrust it and record it? [y/N] ",
            q.alias,
            q.host,
            q.known_hosts_file.display(),
            q.key_type,
            q.fingerprint
        );
        let answer = self.ask(&question, false);
        matches!(answer.as_deref(), Some("y" | "Y" | "yes"))
    }

    async fn passphrase(&self, q: &PassphraseQuestion) -> Option<String> {
        let retry = if q.attempt > 1 {
            " (that was wrong)"
        } else {
            ""
        };
        let question = format!("Passphrase for {} ({}){retry}: ", q.key.display(), q.alias);
        self.ask(&question, true).filter(|p| !p.is_empty())
    }
}

impl Drop for TerminalPrompter {
    fn drop(&mut self) {
        self.quiet.store(true, Ordering::Relaxed);
    }
}
