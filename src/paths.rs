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
        Ok(Self {
            config_dir: dirs.config_dir().to_path_buf(),
            data_dir: dirs.data_dir().to_path_buf(),
            state_dir,
        })
    }

    /// Everything under one directory (what `FLIGHTDECK_HOME` selects).
    pub fn under(home: &Path) -> Self {
        Self {
            config_dir: home.join("config"),
            data_dir: home.join("data"),
            state_dir: home.join("state"),
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
