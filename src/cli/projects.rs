//! Projects and hosts from the command line: `dispatch --project` by name or
//! path (default: the git repository around the current directory), and
//! `flightdeck project|host add|ls|rm`, which edit config.toml keeping
//! everything else in it as written.

use std::path::{Path, PathBuf};

use super::Failure;
use crate::config::{Config, HostConfig, Project};

/// The project `arg` names: a configured project's name, or a directory
/// (the repository around it); without `arg`, the current directory's. A
/// directory no project has is used as a project of its own for this
/// dispatch, named after it.
pub fn resolve(config: &Config, arg: Option<&str>) -> Result<Project, Failure> {
    if let Some(found) = arg.and_then(|a| config.projects.iter().find(|p| p.name == a)) {
        return Ok(found.clone());
    }
    let dir = match arg {
        Some(a) => PathBuf::from(a),
        None => std::env::current_dir()?,
    };
    let Ok(dir) = dir.canonicalize() else {
        let known: Vec<&str> = config.projects.iter().map(|p| p.name.as_str()).collect();
        return Err(Failure::usage(format!(
            "no project or directory {:?}; configured projects: {}",
            arg.unwrap_or("."),
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        )));
    };
    let root = super::git_toplevel(&dir).unwrap_or(dir);
    let same =
        |p: &&Project| p.host.is_none() && p.path.canonicalize().is_ok_and(|path| path == root);
    if let Some(found) = config.projects.iter().find(same) {
        return Ok(found.clone());
    }
    if arg.is_none() && !root.join(".git").exists() {
        return Err(Failure::usage(format!(
            "{} is not in a git repository and no --project was given; \
             `flightdeck project ls` lists the configured ones",
            root.display()
        )));
    }
    Ok(Project {
        name: unique_name(config, &root),
        worktree: root.join(".git").exists(),
        path: root,
        ..Project::default()
    })
}

/// The directory's name, made unique among the configured projects.
fn unique_name(config: &Config, dir: &Path) -> String {
    let base = dir
        .file_name()
        .map_or("project".into(), |n| n.to_string_lossy().into_owned());
    let taken = |name: &str| config.projects.iter().any(|p| p.name == name);
    let mut name = base.clone();
    let mut n = 2;
    while taken(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

#[derive(clap::Subcommand)]
pub enum ProjectCmd {
    /// List the configured projects.
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// Add a project: a directory on this machine (default: the git
    /// repository around the current directory), or a path on `--host`.
    Add {
        path: Option<PathBuf>,
        /// Its name (default: the directory's).
        #[arg(long)]
        name: Option<String>,
        /// The SSH host it lives on.
        #[arg(long)]
        host: Option<String>,
    },
    /// Remove a project from the config (its tasks and worktrees stay).
    Rm { name: String },
}

#[derive(clap::Subcommand)]
pub enum HostCmd {
    /// List the configured SSH hosts.
    Ls {
        #[arg(long)]
        json: bool,
    },
    /// Add an SSH host: an alias from ~/.ssh/config, or user@host:port.
    Add { host: String },
    /// Remove a host from the config.
    Rm { name: String },
}

pub fn project(config: &mut Config, cmd: ProjectCmd) -> Result<(), Failure> {
    match cmd {
        ProjectCmd::Ls { json } => {
            if json {
                println!("{}", serde_json::to_string_pretty(&config.projects)?);
            }
            for p in config.projects.iter().filter(|_| !json) {
                let host = p.host.as_deref().unwrap_or(crate::host::local::LOCAL);
                println!("{:<16} {:<10} {}", p.name, host, p.path.display());
            }
            Ok(())
        }
        ProjectCmd::Add { path, name, host } => {
            let mut project = match (&host, &path) {
                (Some(_), None) => {
                    return Err(Failure::usage("--host needs the project's path there"));
                }
                (Some(_), Some(path)) => Project {
                    name: unique_name(config, path),
                    path: path.clone(),
                    ..Project::default()
                },
                (None, _) => {
                    let arg = path.as_ref().map(|p| p.to_string_lossy().into_owned());
                    let found = resolve(config, Some(arg.as_deref().unwrap_or(".")))?;
                    if config.projects.contains(&found) {
                        return Err(Failure::usage(format!(
                            "{} is project {:?} already",
                            found.path.display(),
                            found.name
                        )));
                    }
                    found
                }
            };
            if let Some(host) = host {
                if !config.hosts.iter().any(|h| h.name == host) {
                    return Err(Failure::usage(format!(
                        "no host {host:?}; `flightdeck host add {host}` first"
                    )));
                }
                project.host = Some(host);
            }
            if let Some(name) = name {
                if config.projects.iter().any(|p| p.name == name) {
                    return Err(Failure::usage(format!("project {name:?} exists already")));
                }
                project.name = name;
            }
            let line = format!(
                "added project {} ({})",
                project.name,
                project.path.display()
            );
            config.add_project(project).map_err(|e| {
                Failure::failed(format!("cannot write {}: {e}", config.path.display()))
            })?;
            println!("{line}");
            Ok(())
        }
        ProjectCmd::Rm { name } => remove(config, "project", &name, Config::remove_project),
    }
}

pub fn host(config: &mut Config, cmd: HostCmd) -> Result<(), Failure> {
    match cmd {
        HostCmd::Ls { json } => {
            if json {
                println!("{}", serde_json::to_string_pretty(&config.hosts)?);
            }
            for h in config.hosts.iter().filter(|_| !json) {
                let target = match (&h.user, &h.hostname, h.port) {
                    (None, None, None) => "(from ~/.ssh/config)".to_string(),
                    (user, hostname, port) => format!(
                        "{}{}{}",
                        user.as_ref().map(|u| format!("{u}@")).unwrap_or_default(),
                        hostname.as_deref().unwrap_or(&h.name),
                        port.map(|p| format!(":{p}")).unwrap_or_default()
                    ),
                };
                println!("{:<16} {target}", h.name);
            }
            Ok(())
        }
        HostCmd::Add { host } => {
            let host = HostConfig::typed(&host).map_err(Failure::usage)?;
            if config.hosts.iter().any(|h| h.name == host.name) {
                return Err(Failure::usage(format!(
                    "host {:?} exists already",
                    host.name
                )));
            }
            let name = host.name.clone();
            config.add_host(host).map_err(|e| {
                Failure::failed(format!("cannot write {}: {e}", config.path.display()))
            })?;
            println!("added host {name}");
            Ok(())
        }
        HostCmd::Rm { name } => remove(config, "host", &name, Config::remove_host),
    }
}

fn remove(
    config: &mut Config,
    what: &str,
    name: &str,
    rm: fn(&mut Config, &str) -> std::io::Result<bool>,
) -> Result<(), Failure> {
    let path = config.path.display().to_string();
    match rm(config, name) {
        Ok(true) => {
            println!("removed {what} {name}");
            Ok(())
        }
        Ok(false) => Err(Failure::usage(format!("no {what} {name:?} in {path}"))),
        Err(e) => Err(Failure::failed(format!("cannot edit {path}: {e}"))),
    }
}
