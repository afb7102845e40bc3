//! What the measurements drive: the release binaries, programs in PTYs,
//! flightdeck sandboxes (a temp `FLIGHTDECK_HOME` and its daemon), the
//! daemon's socket, private tmux servers, `perf`, and `/proc`. Everything
//! here cleans up after itself on drop, and every wait has a timeout.

mod monitor;
mod perf;
mod pty;
mod sandbox;
mod system;
mod tmux;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub use monitor::Monitor;
pub use perf::Perf;
pub use pty::{PtyProc, Until};
pub use sandbox::{Sandbox, help_roundtrips};
pub use system::*;
pub use tmux::{Tmux, sh_quote};

pub type Res<T> = Result<T, String>;

pub const MIB: f64 = (1u64 << 20) as f64;
/// Generous upper bound for anything that should take seconds.
pub const WAIT: Duration = Duration::from_secs(60);

/// The repository and the release binaries the benchmarks run.
#[derive(Clone)]
pub struct Bins {
    pub root: PathBuf,
    pub flightdeck: PathBuf,
    pub fake: PathBuf,
}

impl Bins {
    /// Builds the binaries (`cargo build --release --bins`) when `build` or
    /// when they are missing; a failed build of existing binaries only warns.
    pub fn locate(build: bool) -> Res<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let target = target_dir(&root);
        let bins = Bins {
            flightdeck: target.join("release/flightdeck"),
            fake: target.join("release/fake-agent"),
            root: root.clone(),
        };
        let missing = !bins.flightdeck.exists() || !bins.fake.exists();
        if build || missing {
            eprintln!("building release binaries (cargo build --release --bins)…");
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--release", "--bins"])
                .current_dir(&root)
                .status()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if !status.success() {
                if missing {
                    return Err("cargo build --release --bins failed".into());
                }
                eprintln!("warning: the build failed; measuring the existing binaries");
            }
        }
        Ok(bins)
    }

    /// The fake agent with `args`, as a shell command line (for tmux).
    pub fn fake_sh(&self, args: &str) -> String {
        format!("{} {args}", sh_quote(&self.fake.display().to_string()))
    }
}

/// `$CARGO_TARGET_DIR`, else `target/` in the repository.
pub fn target_dir(root: &std::path::Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The fake agent's directive that prints `bytes` of agent output.
pub fn flood_arg(bytes: u64) -> String {
    format!("flood={}K", bytes >> 10)
}
