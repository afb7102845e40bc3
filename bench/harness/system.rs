//! The machine: what it is, `/proc` readings of processes (CPU ticks,
//! memory), signals, and waiting for things with a deadline.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::Res;

/// The trimmed stdout of a command that succeeded.
pub fn output_of(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// "2 cores (CPU model), 23.5 GiB RAM, Linux 6.x, tmux 3.3a".
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cores = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU")
        .to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    let kernel = output_of(Command::new("uname").arg("-r")).unwrap_or_default();
    let tmux = output_of(Command::new("tmux").arg("-V")).unwrap_or_else(|| "tmux missing".into());
    format!(
        "{cores} cores ({model}), {:.1} GiB RAM, Linux {kernel}, {tmux}",
        mem_kib / 1024.0 / 1024.0
    )
}

/// The short hash of HEAD, marked when tracked files have changes.
pub fn commit(root: &Path) -> String {
    let git = |args: &[&str]| output_of(Command::new("git").arg("-C").arg(root).args(args));
    let hash = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{hash} (+ uncommitted changes)")
    } else {
        hash
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

pub fn clk_tck() -> f64 {
    output_of(Command::new("getconf").arg("CLK_TCK"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let f = stat_fields(pid)?;
    // Fields after the name start at field 3 (state); utime is 14, stime 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// cutime + cstime: CPU of children the process waited for (e.g. the git
/// runs the daemon makes), in clock ticks.
pub fn child_ticks(pid: u32) -> Option<u64> {
    let f = stat_fields(pid)?;
    Some(f.get(13)?.parse::<u64>().ok()? + f.get(14)?.parse::<u64>().ok()?)
}

/// `ticks` over `secs` as a percentage of one core.
pub fn cpu_pct(ticks: u64, secs: f64, tck: f64) -> f64 {
    ticks as f64 / tck / secs * 100.0
}

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub fn rss_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmRSS:").map(|k| k as f64 / 1024.0)
}

/// Peak RSS.
pub fn hwm_mib(pid: u32) -> Option<f64> {
    status_kib(pid, "VmHWM:").map(|k| k as f64 / 1024.0)
}

/// Proportional set size: RSS with shared pages split among their sharers
/// (what one of many processes of the same binary costs).
pub fn pss_mib(pid: u32) -> Option<f64> {
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let kib: f64 = rollup
        .lines()
        .find(|l| l.starts_with("Pss:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Every process whose argv is `argv` and whose environment holds `var`
/// ("NAME=value").
pub fn find_processes(argv: &[&str], var: &str) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let nul_separated = |pid: u32, file: &str| -> Vec<String> {
        std::fs::read(format!("/proc/{pid}/{file}"))
            .unwrap_or_default()
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect()
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| nul_separated(*pid, "cmdline") == argv)
        .filter(|pid| nul_separated(*pid, "environ").iter().any(|v| v == var))
        .collect()
}

/// The process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z ")
}

/// The process is blocked in `read(0, …)`: e.g. an agent that has written
/// everything and waits for input.
pub fn reading_stdin(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall")).is_ok_and(|s| s.starts_with("0 0x0 "))
}

pub fn kill(pid: u32, signal: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
}

/// Polls `check` every 5 ms until it holds, or fails after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) -> Res<()> {
    let deadline = Instant::now() + timeout;
    while !check() {
        if Instant::now() > deadline {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

/// Waits up to `timeout` for `child` to exit, then kills it; always reaps it.
/// True if it exited by itself.
pub fn reap(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Runs a command to completion with a timeout (killed when it runs over).
/// It is waited for, not polled, so short commands are timed exactly.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Res<Output> {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            let _ = pipe.read_to_end(&mut b);
            b
        })
    };
    let out_t = drain(Box::new(child.stdout.take().unwrap()));
    let err_t = drain(Box::new(child.stderr.take().unwrap()));
    let pid = child.id();
    let exited = Arc::new((Mutex::new(false), Condvar::new()));
    let watchdog = {
        let exited = exited.clone();
        std::thread::spawn(move || {
            let (lock, cond) = &*exited;
            let guard = lock.lock().unwrap();
            let (_guard, wait) = cond.wait_timeout_while(guard, timeout, |e| !*e).unwrap();
            if wait.timed_out() {
                kill(pid, nix::sys::signal::Signal::SIGKILL);
            }
            wait.timed_out()
        })
    };
    // Wait for the exit without reaping: until `child.wait()` the pid stays
    // the child's, so the watchdog can never signal a stranger.
    let id = || Id::Pid(nix::unistd::Pid::from_raw(pid as i32));
    while let Err(nix::errno::Errno::EINTR) =
        waitid(id(), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT)
    {}
    *exited.0.lock().unwrap() = true;
    exited.1.notify_all();
    let timed_out = watchdog.join().unwrap_or(false);
    let status = child.wait().map_err(|e| e.to_string())?;
    if timed_out {
        return Err(format!("{cmd:?} did not finish within {timeout:?}"));
    }
    Ok(Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    })
}

/// Microseconds since the Unix epoch (the clock of FLIGHTDECK_FRAME_LOG).
pub fn epoch_us() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}
