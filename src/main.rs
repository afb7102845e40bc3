use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use color_eyre::Result;
use color_eyre::eyre::{WrapErr, eyre};

use flightdeck::config::{Config, Project};
use flightdeck::host::LocalHost;
use flightdeck::paths::Paths;
use flightdeck::{probe, ui};

/// A terminal dashboard for running AI coding agents.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Probe which agent CLIs are installed and print the result.
    Probe {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> Result<()> {
    ui::tty::install_hooks()?;
    let cli = Cli::parse();
    let paths = Paths::discover()?;
    let config = Config::load(&paths.config_file())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match cli.command {
        Some(Cmd::Probe { json }) => runtime.block_on(run_probe(&config, json)),
        None => {
            paths.ensure_writable()?;
            let _log = init_logging(&paths)?;
            let offer = if config.projects.is_empty() {
                git_toplevel(&std::env::current_dir()?).map(|path| Project {
                    name: path
                        .file_name()
                        .map_or("project".into(), |n| n.to_string_lossy().into_owned()),
                    path,
                })
            } else {
                None
            };
            runtime.block_on(ui::run(config, paths, offer))
        }
    }
}

async fn run_probe(config: &Config, json: bool) -> Result<()> {
    let result =
        probe::probe_host(&LocalHost, &config.catalog, config.settings.probe_timeout).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&[&result])?);
    } else {
        println!("host {} — probed in {} ms", result.host, result.duration_ms);
        for a in &result.agents {
            let status = match (&a.path, &a.version) {
                (Some(path), Some(v)) => format!("{v:<10} {path}"),
                (Some(path), None) => format!("{:<10} {path}", "?"),
                _ => "not found".into(),
            };
            let acp = if a.acp == Some(true) { " acp" } else { "" };
            let err = a
                .error
                .as_deref()
                .map(|e| format!("  ({e})"))
                .unwrap_or_default();
            println!("  {:<14} {status}{acp}{err}", a.id);
        }
    }
    match result.error {
        Some(e) => Err(eyre!(e)),
        None => Ok(()),
    }
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

/// Logs go to a file: stdout belongs to the TUI.
fn init_logging(paths: &Paths) -> Result<tracing_appender::non_blocking::WorkerGuard> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.app_log_file())
        .wrap_err_with(|| format!("cannot open {}", paths.app_log_file().display()))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FLIGHTDECK_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    Ok(guard)
}
