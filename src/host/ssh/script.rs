//! The POSIX `sh` text sent to a remote host. sshd hands an exec request to
//! the user's login shell, so every command is `exec sh -c '<script>'` and
//! every word inside the script is quoted with [`crate::shell::quote`].
//!
//! A run prints a marker line with a random token first, on stdout and on
//! stderr (with its pid): whatever a chatty login shell printed before it
//! (rc files, banners) is dropped, and the pid lets a timeout kill it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::shell::{is_valid_env_name, join, quote};

/// What the login shell is asked to run: `script` under a POSIX sh.
pub fn login_command(script: &str) -> String {
    format!("exec sh -c {}", quote(script))
}

/// A token no output will contain by chance (unique, not secret).
pub fn new_token() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("{:016x}", hasher.finish())
}

/// Why a remote command could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartFailure {
    NoDirectory,
    NoCommand,
}

/// The shell lines that enter `cwd`, export `env` (on top of what sshd sets
/// up; nothing of ours leaks) and replace the shell with `argv`. `fail` is a
/// shell command reporting a [`StartFailure`] by name, `ready` runs once
/// everything checked out.
fn exec_lines(
    argv: &[String],
    cwd: Option<&Path>,
    env: &[(String, String)],
    fail: impl Fn(&str) -> String,
    ready: &str,
) -> Result<String, String> {
    let program = argv.first().ok_or("empty command")?;
    if program.is_empty() || program.starts_with('-') {
        return Err(format!("invalid program name {program:?}"));
    }
    let mut s = String::new();
    if let Some(dir) = cwd {
        let dir = dir.to_str().ok_or("working directory is not UTF-8")?;
        s.push_str(&format!(
            "cd -- {d} 2>/dev/null || {{ {f}; printf 'flightdeck: no directory %s on this host\\n' {d} >&2; exit 126; }}\n",
            d = quote(dir),
            f = fail("nocwd"),
        ));
    }
    // Before the lookup: the task's env may set PATH.
    for (name, value) in env {
        if !is_valid_env_name(name) {
            return Err(format!("invalid environment variable name {name:?}"));
        }
        s.push_str(&format!("export {name}={}\n", quote(value)));
    }
    s.push_str(&format!(
        "command -v {p} >/dev/null 2>&1 || {{ {f}; printf 'flightdeck: %s: command not found on this host\\n' {p} >&2; exit 127; }}\n",
        p = quote(program),
        f = fail("nocmd"),
    ));
    s.push_str(ready);
    s.push_str(&format!("exec {}\n", join(argv)));
    Ok(s)
}

/// Output markers of one run.
#[derive(Debug, Clone)]
pub struct Markers {
    token: String,
}

impl Markers {
    pub fn new(token: String) -> Self {
        Markers { token }
    }

    fn stdout_line(&self) -> String {
        format!("@@fd:{}\n", self.token)
    }

    fn stderr_prefix(&self) -> String {
        format!("@@fd:{}:", self.token)
    }

    /// The script for `RunSpec`-like input: markers, cwd, env, exec.
    pub fn run_script(
        &self,
        argv: &[String],
        cwd: Option<&Path>,
        env: &[(String, String)],
    ) -> Result<String, String> {
        let prefix = quote(&self.stderr_prefix());
        let fail = |what: &str| format!("printf '%s%s\\n' {prefix} {what} >&2");
        Ok(format!(
            "printf '%s' {out}\nprintf '%spid=%s\\n' {prefix} \"$$\" >&2\n{body}",
            out = quote(&self.stdout_line()),
            body = exec_lines(argv, cwd, env, fail, "")?,
        ))
    }

    /// Drops what came before the start marker (login shell chatter). Without
    /// a marker the script never ran; the output is kept to show why.
    pub fn clean_stdout(&self, stdout: &[u8]) -> Vec<u8> {
        match find(stdout, self.stdout_line().as_bytes()) {
            Some(at) => stdout[at + self.stdout_line().len()..].to_vec(),
            None => stdout.to_vec(),
        }
    }

    /// Drops chatter before the first marker and the marker lines; returns
    /// what they reported.
    pub fn clean_stderr(&self, stderr: &[u8]) -> (Vec<u8>, StartReport) {
        let prefix = self.stderr_prefix();
        let prefix = prefix.as_bytes();
        let mut report = StartReport::default();
        let Some(first) = find(stderr, prefix) else {
            return (stderr.to_vec(), report);
        };
        report.started = true;
        let mut clean = Vec::with_capacity(stderr.len());
        let mut rest = &stderr[first..];
        while let Some(at) = find(rest, prefix) {
            clean.extend_from_slice(&rest[..at]);
            let line_end = rest[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |n| at + n + 1);
            let value = String::from_utf8_lossy(&rest[at + prefix.len()..line_end]);
            match value.trim_end() {
                "nocwd" => report.failure = Some(StartFailure::NoDirectory),
                "nocmd" => report.failure = Some(StartFailure::NoCommand),
                other => {
                    if let Some(pid) = other.strip_prefix("pid=") {
                        report.pid = pid.parse().ok();
                    }
                }
            }
            rest = &rest[line_end..];
        }
        clean.extend_from_slice(rest);
        (clean, report)
    }
}

/// What a run's markers said.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartReport {
    /// Our script ran (the login shell got that far).
    pub started: bool,
    /// The remote shell's pid, which is also its process group (sshd starts
    /// every session in a new session).
    pub pid: Option<u32>,
    pub failure: Option<StartFailure>,
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The per-user directory for pid files on the remote side.
const RUNTIME_DIR: &str = "fd_dir=${XDG_RUNTIME_DIR:-/tmp}/flightdeck-$(id -u)\n";

fn pid_file(token: &str) -> String {
    format!("\"$fd_dir\"/{}.pid", quote(token))
}

/// The PTY launcher: records its pid (the session leader's, so the process
/// group of everything the agent starts) in a pid file, then becomes the agent.
/// The pid file says `nocwd` or `nocmd` instead when the agent cannot start.
pub fn pty_launcher(
    token: &str,
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
) -> Result<String, String> {
    let file = pid_file(token);
    let fail = |what: &str| format!("echo {what} >{file}");
    let mut env = env.to_vec();
    env.insert(0, ("COLORTERM".into(), "truecolor".into()));
    Ok(format!(
        "{RUNTIME_DIR}mkdir -p -m 700 \"$fd_dir\" 2>/dev/null\n\
         if [ ! -d \"$fd_dir\" ] || [ -L \"$fd_dir\" ] || [ ! -O \"$fd_dir\" ]; then\n\
         printf 'flightdeck: cannot use %s for pid files\\n' \"$fd_dir\" >&2; exit 126; fi\n\
         {body}",
        body = exec_lines(
            argv,
            Some(cwd),
            &env,
            fail,
            &format!("echo \"$$\" >{file}\n")
        )?,
    ))
}

/// Waits (bounded) for the launcher's pid file, prints and removes it (the
/// group id is kept in memory from then on).
pub fn read_pid_file(token: &str) -> String {
    let file = pid_file(token);
    format!(
        "{RUNTIME_DIR}i=0\nwhile [ ! -s {file} ]; do\n\
         i=$((i+1)); if [ \"$i\" -gt 60 ]; then echo missing; exit 0; fi\n\
         sleep 0.05 2>/dev/null || sleep 1\ndone\ncat {file}\nrm -f {file}\n"
    )
}

/// `kill -s SIG -- -PGID`: the only spelling dash and bash both accept.
pub fn signal_group(pgid: u32, signal: &str) -> String {
    format!("kill -s {signal} -- -{pgid}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sh(script: &str, stdin_junk: &str) -> (Vec<u8>, Vec<u8>, Option<i32>) {
        // A login shell that prints junk first, then runs the command like sshd would.
        let full = format!(
            "echo '{stdin_junk}'; echo 'junk err' >&2; {}",
            login_command(script)
        );
        let out = Command::new("sh").arg("-c").arg(full).output().unwrap();
        (out.stdout, out.stderr, out.status.code())
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn run_script_strips_chatter_and_keeps_bytes() {
        let m = Markers::new(new_token());
        let arg = "it's $(id) `x` \"q\"\nline2 ünï ✓";
        let script = m
            .run_script(
                &argv(&["printf", "%s|%s|%s", arg, "$HOME", ""]),
                Some(Path::new("/tmp")),
                &[("FD_X".into(), "a b'c".into())],
            )
            .unwrap();
        let (out, err, code) = sh(&script, "Welcome!");
        assert_eq!(code, Some(0));
        assert_eq!(m.clean_stdout(&out), format!("{arg}|$HOME|").as_bytes());
        let (clean, report) = m.clean_stderr(&err);
        assert!(clean.is_empty(), "{}", String::from_utf8_lossy(&clean));
        assert!(report.started && report.pid.is_some() && report.failure.is_none());
    }

    #[test]
    fn env_and_cwd_apply() {
        let m = Markers::new(new_token());
        let script = m
            .run_script(
                &argv(&["sh", "-c", "pwd; printf '%s' \"$FD_X\""]),
                Some(Path::new("/")),
                &[("FD_X".into(), "a b'c $y".into())],
            )
            .unwrap();
        let (out, _, _) = sh(&script, "");
        assert_eq!(m.clean_stdout(&out), b"/\na b'c $y");
    }

    #[test]
    fn the_task_path_is_used_to_find_the_program() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("fd-only-here");
        std::fs::write(&program, "#!/bin/sh\necho found\n").unwrap();
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let m = Markers::new(new_token());
        let path = format!("{}:/usr/bin:/bin", dir.path().display());
        let script = m
            .run_script(&argv(&["fd-only-here"]), None, &[("PATH".into(), path)])
            .unwrap();
        let (out, _, code) = sh(&script, "");
        assert_eq!((m.clean_stdout(&out), code), (b"found\n".to_vec(), Some(0)));
    }

    #[test]
    fn missing_directory_and_command_are_reported() {
        let m = Markers::new(new_token());
        let script = m
            .run_script(&argv(&["true"]), Some(Path::new("/no/such dir")), &[])
            .unwrap();
        let (_, err, code) = sh(&script, "");
        assert_eq!(code, Some(126));
        let (clean, report) = m.clean_stderr(&err);
        assert_eq!(report.failure, Some(StartFailure::NoDirectory));
        assert!(String::from_utf8_lossy(&clean).contains("/no/such dir"));

        let script = m
            .run_script(&argv(&["no-such-program-fd"]), None, &[])
            .unwrap();
        let (_, err, code) = sh(&script, "");
        assert_eq!(code, Some(127));
        assert_eq!(
            m.clean_stderr(&err).1.failure,
            Some(StartFailure::NoCommand)
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let m = Markers::new(new_token());
        assert!(m.run_script(&[], None, &[]).is_err());
        assert!(m.run_script(&argv(&["-x"]), None, &[]).is_err());
        let bad_env = [("A-B".to_string(), "v".to_string())];
        assert!(m.run_script(&argv(&["true"]), None, &bad_env).is_err());
    }

    #[test]
    fn no_marker_keeps_everything() {
        let m = Markers::new(new_token());
        assert_eq!(m.clean_stdout(b"shell refused"), b"shell refused");
        let (clean, report) = m.clean_stderr(b"This account is not available\n");
        assert_eq!(clean, b"This account is not available\n");
        assert!(!report.started);
    }

    #[test]
    fn launcher_writes_its_pid_then_execs() {
        let token = new_token();
        let dir = tempfile::tempdir().unwrap();
        let runtime = dir.path().to_str().unwrap();
        let launcher = pty_launcher(
            &token,
            &argv(&["sh", "-c", "echo \"$$ $COLORTERM $FD_Y\""]),
            Path::new("/"),
            &[("FD_Y".into(), "y".into())],
        )
        .unwrap();
        let out = Command::new("sh")
            .arg("-c")
            .arg(login_command(&launcher))
            .env("XDG_RUNTIME_DIR", runtime)
            .output()
            .unwrap();
        let printed = String::from_utf8(out.stdout).unwrap();
        let read = Command::new("sh")
            .arg("-c")
            .arg(read_pid_file(&token))
            .env("XDG_RUNTIME_DIR", runtime)
            .output()
            .unwrap();
        let pid = String::from_utf8(read.stdout).unwrap();
        assert_eq!(printed, format!("{} truecolor y\n", pid.trim()));
    }
}
