//! The command line: the TUI by default, plus scripting commands that talk
//! to the same daemon. Exit codes: 0 success, 1 failure, 2 usage error
//! (unknown project, agent or task; bad arguments), 3 daemon not running
//! (for `daemon status`).

mod attention;
mod daemon_cmd;
mod projects;
mod remote;
mod tasks;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use color_eyre::Result;

use crate::config::{Config, Project};
use crate::paths::Paths;
use crate::protocol::task::TaskId;

/// A terminal dashboard for running AI coding agents.
#[derive(Parser)]
#[command(name = "flightdeck", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// Run the dashboard against the daemon on this SSH host (which needs
    /// flightdeck installed): its agents survive the network dropping.
    #[arg(long, value_name = "HOST")]
    remote: Option<String>,
    /// What to run on the remote host to reach its daemon.
    #[arg(long, value_name = "CMD", default_value = remote::DEFAULT_PROXY, requires = "remote")]
    remote_command: String,
}

#[derive(Subcommand)]
enum Cmd {
    /// Probe which agent CLIs are installed and print the result.
    Probe {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Probe only this host ("local", a configured host or a ~/.ssh/config alias).
        #[arg(long)]
        host: Option<String>,
    },
    /// List tasks.
    Ls {
        /// Print JSON (an array of task records; see the README).
        #[arg(long)]
        json: bool,
    },
    /// Start an agent on a project; prints the new task's id.
    Dispatch {
        /// A configured project's name, or a directory (the git repository
        /// around it). Default: the repository around the current directory.
        #[arg(long)]
        project: Option<String>,
        /// The agent's id from the catalog (`flightdeck probe` lists them).
        #[arg(long)]
        agent: String,
        /// Run the agent's one-shot mode instead of its interactive one.
        #[arg(long)]
        headless: bool,
        /// Run in the project directory instead of a new worktree.
        #[arg(long)]
        in_place: bool,
        /// Branch, tag or commit the task's worktree starts from (default: HEAD).
        #[arg(long, conflicts_with = "in_place")]
        base: Option<String>,
        /// The prompt, passed to the agent as one argument.
        prompt: Option<String>,
    },
    /// Attach this terminal to a running task (the detach key returns).
    Attach { id: TaskId },
    /// Print a task's output log.
    Logs {
        id: TaskId,
        /// Keep printing as the task writes, until it ends.
        #[arg(short, long)]
        follow: bool,
    },
    /// Stop a task: SIGTERM to its process group, SIGKILL after the grace period.
    Stop { id: TaskId },
    /// Wait until a task needs its user, is idle, works or has ended;
    /// prints its state and why. Exit 1 on timeout or when it ended first.
    Wait {
        id: TaskId,
        #[arg(long = "for", value_enum)]
        until: attention::WaitFor,
        /// Give up after this many seconds.
        #[arg(long, value_name = "SECS")]
        timeout: Option<f64>,
    },
    /// Allow what a task's agent asks permission for (its oldest request).
    Approve {
        id: TaskId,
        /// Allow this tool for the rest of the task without asking.
        #[arg(long)]
        always: bool,
        /// With no request open, wait this long for one.
        #[arg(long, value_name = "SECS")]
        wait: Option<f64>,
    },
    /// Deny what a task's agent asks permission for (its oldest request).
    Deny {
        id: TaskId,
        /// With no request open, wait this long for one.
        #[arg(long, value_name = "SECS")]
        wait: Option<f64>,
    },
    /// Report a task's state to the daemon: what agent hooks run
    /// (`claude` reads the event on stdin, `codex` takes it as an argument,
    /// `state working|waiting|idle [REASON]` for any program). Prints
    /// nothing and always exits 0.
    #[command(hide = true)]
    Hook {
        kind: String,
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print a task's changes (its worktree against its base) as a patch.
    Diff { id: TaskId },
    /// Apply all of a task's changes to its project.
    Apply {
        id: TaskId,
        #[arg(long, value_enum, default_value = "uncommitted")]
        strategy: StrategyArg,
        /// Commit message (squash only).
        #[arg(long, short)]
        message: Option<String>,
    },
    /// Run or control the daemon that owns the agents.
    Daemon {
        #[command(subcommand)]
        action: Option<DaemonCmd>,
        /// Started by a client: detach into a session of its own.
        #[arg(long, hide = true)]
        detached: bool,
    },
    /// List, add or remove projects in config.toml.
    Project {
        #[command(subcommand)]
        action: projects::ProjectCmd,
    },
    /// List, add or remove SSH hosts in config.toml.
    Host {
        #[command(subcommand)]
        action: projects::HostCmd,
    },
    /// Bridge stdin/stdout to this machine's daemon (what `--remote` runs
    /// over SSH).
    Proxy,
    /// Keep one task's PTY (started by the daemon).
    #[command(hide = true)]
    Keeper,
    /// Print shell completions (bash, zsh, fish, elvish, powershell).
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff).
    Man,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StrategyArg {
    /// Uncommitted changes in the project's working tree.
    Uncommitted,
    /// A commit on the task branch, merged into the current branch.
    Merge,
    /// One commit on the current branch (needs --message).
    Squash,
}

#[derive(Subcommand)]
enum DaemonCmd {
    /// Is the daemon running? Exit 0 if so, 3 if not.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Stop the daemon and every agent it runs.
    Stop {
        /// Do not ask, even with agents running.
        #[arg(long)]
        force: bool,
    },
}

/// A failure with its exit code.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Failure {
            code: 1,
            message: message.into(),
        }
    }
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::failed(e.to_string())
    }
}

pub fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    // Before anything that could fail: a hook must never trouble its agent.
    if let Some(Cmd::Hook { kind, args }) = &cli.command {
        attention::hook(kind, args);
        return Ok(ExitCode::SUCCESS);
    }
    let paths = Paths::discover()?;
    if !matches!(cli.command, Some(Cmd::Keeper)) {
        tighten_existing(&paths);
    }
    let mut config = Config::load(&paths.config_file())?;
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    };
    let result: Result<(), Failure> = match cli.command {
        None => {
            paths.ensure_writable()?;
            let _log = crate::logging::init(&paths.app_log_file())?;
            let runtime = runtime()?;
            let (link, offer) = match &cli.remote {
                Some(name) => {
                    let _guard = runtime.enter();
                    let host = match remote::host(&config, name) {
                        Ok(host) => host,
                        Err(failure) => return Ok(fail(failure)),
                    };
                    let command = cli.remote_command.clone();
                    (crate::ui::Link::Remote { host, command }, None)
                }
                None => (
                    crate::ui::Link::Local(paths.clone()),
                    offer_project(&config)?,
                ),
            };
            runtime.block_on(crate::ui::run(config, link, offer))?;
            Ok(())
        }
        Some(Cmd::Proxy) => runtime()?.block_on(remote::proxy(&paths)),
        Some(Cmd::Keeper) => {
            crate::host::keeper::process::run()?;
            Ok(())
        }
        Some(Cmd::Daemon {
            action: None,
            detached,
        }) => {
            crate::daemon::run(paths, config, detached)?;
            Ok(())
        }
        Some(Cmd::Daemon {
            action: Some(DaemonCmd::Status { json }),
            ..
        }) => runtime()?.block_on(daemon_cmd::status(&paths, json)),
        Some(Cmd::Daemon {
            action: Some(DaemonCmd::Stop { force }),
            ..
        }) => runtime()?.block_on(daemon_cmd::stop(&paths, force)),
        Some(Cmd::Probe { json, host }) => runtime()?.block_on(tasks::probe(&config, json, host)),
        Some(Cmd::Ls { json }) => runtime()?.block_on(tasks::ls(&paths, json)),
        Some(Cmd::Dispatch {
            project,
            agent,
            headless,
            in_place,
            base,
            prompt,
        }) => match projects::resolve(&config, project.as_deref()) {
            Ok(project) => runtime()?.block_on(tasks::dispatch(
                &paths,
                &config,
                &project,
                &agent,
                headless,
                (in_place, base),
                prompt.unwrap_or_default(),
            )),
            Err(failure) => Err(failure),
        },
        Some(Cmd::Project { action }) => projects::project(&mut config, action),
        Some(Cmd::Host { action }) => projects::host(&mut config, action),
        Some(Cmd::Attach { id }) => runtime()?.block_on(tasks::attach(&paths, &config, id)),
        Some(Cmd::Logs { id, follow }) => runtime()?.block_on(tasks::logs(&paths, id, follow)),
        Some(Cmd::Stop { id }) => runtime()?.block_on(tasks::stop(&paths, &config, id)),
        Some(Cmd::Wait { id, until, timeout }) => {
            runtime()?.block_on(attention::wait(&paths, id, until, timeout))
        }
        Some(Cmd::Hook { .. }) => Ok(()), // handled first
        Some(Cmd::Approve { id, always, wait }) => {
            let decision = match always {
                true => crate::attention::approval::Decision::AllowAlways,
                false => crate::attention::approval::Decision::Allow,
            };
            runtime()?.block_on(attention::decide(&paths, id, decision, wait))
        }
        Some(Cmd::Deny { id, wait }) => runtime()?.block_on(attention::decide(
            &paths,
            id,
            crate::attention::approval::Decision::Deny,
            wait,
        )),
        Some(Cmd::Diff { id }) => runtime()?.block_on(tasks::diff(&paths, id)),
        Some(Cmd::Apply {
            id,
            strategy,
            message,
        }) => {
            let strategy = match (strategy, message) {
                (StrategyArg::Uncommitted, _) => crate::git::Strategy::Uncommitted,
                (StrategyArg::Merge, message) => crate::git::Strategy::Merge { message },
                (StrategyArg::Squash, Some(message)) => crate::git::Strategy::Squash { message },
                (StrategyArg::Squash, None) => {
                    return Ok(fail(Failure::usage("--strategy squash needs --message")));
                }
            };
            runtime()?.block_on(tasks::apply(&paths, id, strategy))
        }
        Some(Cmd::Completions { shell }) => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "flightdeck",
                &mut std::io::stdout(),
            );
            Ok(())
        }
        Some(Cmd::Man) => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
            Ok(())
        }
    };
    Ok(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => fail(failure),
    })
}

/// Files an older flightdeck (or a loose umask) left open to other users
/// are made private, with one line saying so.
fn tighten_existing(paths: &Paths) {
    match paths.tighten() {
        Ok(0) => {}
        Ok(n) => eprintln!(
            "flightdeck: made {n} of its files and directories private (0600/0700); they were readable by other users"
        ),
        Err(e) => eprintln!("flightdeck: cannot make its files private: {e}"),
    }
}

fn fail(failure: Failure) -> ExitCode {
    eprintln!("flightdeck: {}", failure.message);
    ExitCode::from(failure.code)
}

/// With no projects configured, the git repository we were started in.
fn offer_project(config: &Config) -> Result<Option<Project>> {
    if !config.projects.is_empty() {
        return Ok(None);
    }
    Ok(git_toplevel(&std::env::current_dir()?).map(|path| Project {
        name: path
            .file_name()
            .map_or("project".into(), |n| n.to_string_lossy().into_owned()),
        path,
        setup: None,
        worktree: true,
        host: None,
    }))
}

/// The repository containing `dir`, if any.
fn git_toplevel(dir: &Path) -> Option<PathBuf> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}
