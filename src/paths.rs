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
        let runtime_dir = match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir).join("flightdeck"),
            None => std::env::temp_dir().join(format!("flightdeck-{}", nix::unistd::geteuid())),
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

    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    pub fn app_log_file(&self) -> PathBuf {
        self.data_dir.join("flightdeck.log")
    }

    pub fn daemon_log_file(&self) -> PathBuf {
        self.data_dir.join("daemon.log")
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
    /// must be ours, and nobody else may have any access to it.
    pub fn ensure_runtime_dir(&self) -> Result<()> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = &self.runtime_dir;
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("cannot create runtime directory {}", dir.display()))?;
        let meta = std::fs::metadata(dir)
            .wrap_err_with(|| format!("cannot inspect runtime directory {}", dir.display()))?;
        let me = nix::unistd::geteuid().as_raw();
        if meta.uid() != me {
            return Err(eyre!(
                "runtime directory {} belongs to uid {}, not to you (uid {me}); refusing to use it",
                dir.display(),
                meta.uid()
            ));
        }
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).wrap_err_with(
                || {
                    format!(
                        "runtime directory {} is open to others and cannot be fixed",
                        dir.display()
                    )
                },
            )?;
        }
        Ok(())
    }

    /// Creates the data and state directories, with an error that names the
    /// directory when it cannot be written.
    pub fn ensure_writable(&self) -> Result<()> {
        for dir in [&self.data_dir, &self.state_dir, &self.logs_dir()] {
            std::fs::create_dir_all(dir)
                .wrap_err_with(|| format!("cannot create directory {}", dir.display()))?;
            let probe = dir.join(".flightdeck-write-test");
            std::fs::write(&probe, b"")
                .wrap_err_with(|| format!("directory {} is not writable", dir.display()))?;
            let _ = std::fs::remove_file(probe);
        }
        Ok(())
    }
}
