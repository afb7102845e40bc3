//! `perf record` of some processes while a measurement runs (`--perf DIR`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{kill, reap};

/// `perf record` attached to some pids until dropped (SIGINT, then waited).
pub struct Perf(Option<Child>);

impl Perf {
    /// Records `pids` into `DIR/NAME.data`; does nothing without a `dir`.
    pub fn start(dir: Option<&Path>, name: &str, pids: &[u32]) -> Perf {
        let Some(dir) = dir else { return Perf(None) };
        let _ = std::fs::create_dir_all(dir);
        let pids: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
        let child = Command::new("perf")
            .args(["record", "-q", "-e", "cpu-clock", "-F", "999", "-g", "-o"])
            .arg(dir.join(format!("{name}.data")))
            .args(["-p", &pids.join(",")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match child {
            Ok(c) => {
                std::thread::sleep(Duration::from_millis(200));
                Perf(Some(c))
            }
            Err(e) => {
                eprintln!("warning: cannot run perf: {e}");
                Perf(None)
            }
        }
    }
}

impl Drop for Perf {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            kill(child.id(), nix::sys::signal::Signal::SIGINT);
            reap(&mut child, Duration::from_secs(30));
        }
    }
}
