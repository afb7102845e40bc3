//! Where flightdeck keeps its files.
//!
//! Normally the platform directories (`directories` crate); `FLIGHTDECK_HOME=DIR`
//! relocates everything under one directory, which tests and demos rely on so
//! that nothing touches the user's real home.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{Result, WrapErr, eyre};

#[derive(Debug, Clone)]
pub struct Paths {
    /// `config.toml` lives here.
    pub config_dir: PathBuf,
    /// Task logs and (later) worktrees.
    pub data_dir: PathBuf,
    /// `tasks.json` and other state that survives restarts.
    pub state_dir: PathBuf,
    /// The daemon's socket, lock and pid file (0700, ours only).
    pub runtime_dir: PathBuf,
}

impl Paths {
    /// Resolves the directories from `FLIGHTDECK_HOME` or the platform defaults.
    pub fn discover() -> Result<Self> {
        if let Some(home) = std::env::var_os("FLIGHTDECK_HOME").filter(|h| !h.is_empty()) {
            return Ok(Self::under(Path::new(&home)));
        }
        let dirs = directories::ProjectDirs::from("dev", "flightdeck", "flightdeck")
            .ok_or_else(|| eyre!("cannot determine a home directory; set FLIGHTDECK_HOME"))?;
        let state_dir = dirs
            .state_dir()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| dirs.data_dir().join("state"));
        // Without a per-user runtime dir (cron, containers, `su`, SSH
        // without logind) the sockets live in our own state dir: a shared
        // `/tmp` path could be created first by another user.
        let runtime_dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir).join("flightdeck"),
            None => state_dir.join("run"),
        };
        Ok(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
            state_dir,
            runtime_dir,
        })
    }

    /// Everything under one directory (what `FLIGHTDECK_HOME` selects).
    pub fn under(home: &Path) -> Self {
        Self {
            config_dir: home.join("config"),
            data_dir: home.join("data"),
            state_dir: home.join("state"),
            runtime_dir: home.join("run"),
        }
    }

    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("config.toml")
    }

    pub fn tasks_file(&self) -> PathBuf {
        self.state_dir.join("tasks.json")
    }

    /// The latest probe of each host, so a restarted daemon knows them.
    pub fn probes_file(&self) -> PathBuf {
        self.state_dir.join("probes.json")
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    pub fn app_log_file(&self) -> PathBuf {
        self.data_dir.join("flightdeck.log")
    }

    pub fn daemon_log_file(&self) -> PathBuf {
        self.data_dir.join("daemon.log")
    }

    /// What a detached daemon prints before its log is open.
    pub fn daemon_stderr_file(&self) -> PathBuf {
        self.data_dir.join("daemon.stderr")
    }

    /// Where each local task's keeper listens (and leaves its exit status).
    pub fn keepers_dir(&self) -> PathBuf {
        self.runtime_dir.join("tasks")
    }

    /// The ids of tasks whose keeper socket is there (running, or ended
    /// and waiting for a daemon).
    pub fn keeper_ids(&self) -> Vec<u64> {
        std::fs::read_dir(self.keepers_dir())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                name.strip_suffix(".sock")?.parse().ok()
            })
            .collect()
    }

    pub fn keeper_socket(&self, id: u64) -> PathBuf {
        self.keepers_dir().join(format!("{id}.sock"))
    }

    /// The highest task id with a log (`logs/task-N.log`) or a local
    /// worktree (`worktrees/PROJECT/N`) on disk; 0 if none.
    pub fn highest_task_id_on_disk(&self) -> u64 {
        let names = |dir: PathBuf| -> Vec<String> {
            std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|entry| entry.file_name().into_string().ok())
                .collect()
        };
        let logs = names(self.logs_dir()).into_iter().filter_map(|name| {
            let id = name.strip_prefix("task-")?.strip_suffix(".log")?;
            id.parse::<u64>().ok()
        });
        let worktrees_dir = self.worktrees_dir();
        let worktrees = names(worktrees_dir.clone())
            .into_iter()
            .flat_map(|project| names(worktrees_dir.join(project)))
            .filter_map(|name| name.parse::<u64>().ok());
        logs.chain(worktrees).max().unwrap_or(0)
    }

    pub fn task_log(&self, id: u64) -> PathBuf {
        self.logs_dir().join(format!("task-{id}.log"))
    }

    /// The settings file that wires a task's agent hooks (claude's
    /// `--settings`): ours, outside the worktree, so nothing shows in its diff.
    pub fn hook_settings(&self, id: u64) -> PathBuf {
        self.state_dir.join("hooks").join(format!("task-{id}.json"))
    }

    pub fn worktrees_dir(&self) -> PathBuf {
        self.data_dir.join("worktrees")
    }

    pub fn socket(&self) -> PathBuf {
        self.runtime_dir.join("daemon.sock")
    }

    pub fn daemon_lock(&self) -> PathBuf {
        self.runtime_dir.join("daemon.lock")
    }

    pub fn daemon_pid(&self) -> PathBuf {
        self.runtime_dir.join("daemon.pid")
    }

    /// Creates the runtime directory (0700) or checks an existing one: it
    /// must be ours, not a symlink, and nobody else may have any access to
    /// it (an existing one open to others is closed, as it holds only what
    /// we put there).
    pub fn ensure_runtime_dir(&self) -> Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = &self.runtime_dir;
        crate::private::create_dir(dir)
            .wrap_err_with(|| format!("cannot create runtime directory {}", dir.display()))?;
        if let Ok(meta) = std::fs::symlink_metadata(dir)
            && meta.is_dir()
            && meta.uid() == crate::private::my_uid()
            && meta.mode() & 0o077 != 0
        {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .wrap_err_with(|| format!("cannot make {} private", dir.display()))?;
        }
        crate::private::check_dir(dir).map_err(|e| eyre!("runtime directory {e}"))?;
        Ok(())
    }

    /// Makes files from earlier versions (or another umask) private: the
    /// config, state and data dirs and the logs. Returns how many changed.
    pub fn tighten(&self) -> std::io::Result<usize> {
        let mut changed = crate::private::tighten(&self.config_dir, &[])?;
        changed += crate::private::tighten(&self.state_dir, &[])?;
        changed += crate::private::tighten(&self.data_dir, &["logs"])?;
        Ok(changed)
    }

    /// Creates the data and state directories, with an error that names the
    /// directory when it cannot be written.
    pub fn ensure_writable(&self) -> Result<()> {
        for dir in [&self.data_dir, &self.state_dir, &self.logs_dir()] {
            crate::private::create_dir(dir)
                .wrap_err_with(|| format!("cannot create directory {}", dir.display()))?;
            let probe = dir.join(".flightdeck-write-test");
            std::fs::write(&probe, b"")
                .wrap_err_with(|| format!("directory {} is not writable", dir.display()))?;
            let _ = std::fs::remove_file(probe);
        }
        Ok(())
    }
}
