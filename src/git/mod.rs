//! The git layer: per-task worktrees, the live diff of a worktree against its
//! base, partial selection of that diff, and applying it to the main tree.
//!
//! Everything runs the `git` CLI (and, for a few file operations, `sh`)
//! through [`Host`], so the same code drives a local repository and one on an
//! SSH host. Nothing here touches the repository with `std::fs` or
//! `std::process`. Every path travels as its own argv element or as a
//! positional parameter of a fixed `sh` script, never spliced into a command
//! line.

mod apply;
mod diff;
mod journal;
mod parse;
#[cfg(test)]
mod parse_tests;
mod quote;
mod recover;
mod select;
mod worktree;

use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::host::{Host, HostError, RunOutput, RunSpec};

pub use apply::{ApplyOutcome, ApplyRequest, Strategy, apply};
pub use diff::{DiffLine, DiffStat, FileDiff, FileStatus, Hunk, LineKind, diff_worktree, stat};
pub use journal::{Completed, complete_interrupted_apply};
pub use parse::parse_unified_diff;
pub use recover::recover;
pub use select::{Acceptance, AppliedStatus, Selection, applied_status, build_patch};
pub use worktree::{
    LossReport, Worktree, WorktreeRequest, create_worktree, loss_report, remove_worktree, slug,
};

/// Generous: `git add -A` over a large tree or a merge can take a while, but a
/// git that hangs (a credential prompt, a stuck filesystem) must not hang a
/// task forever.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// What went wrong in the git layer. Command failures carry the command line
/// and git's own stderr, which is usually the best explanation there is.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The project is not inside a git working tree; the caller can offer to
    /// run the task in place instead.
    #[error("{} is not a git repository ({detail}); run the task in place instead", path.display())]
    NotARepo { path: PathBuf, detail: String },
    #[error(
        "the repository at {} has no commits yet; make a first commit before giving a task its own worktree",
        path.display()
    )]
    NoCommits { path: PathBuf },
    #[error("base `{base}` is not a branch, tag or commit of this repository")]
    BaseNotFound { base: String },
    #[error(
        "the main tree is on a detached HEAD, so there is no branch to {action}; check out a branch, or apply as uncommitted changes"
    )]
    DetachedHead { action: &'static str },
    #[error("nothing to apply: every file and hunk of the change is rejected")]
    NothingSelected,
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("cannot run `{command}`: {source}")]
    Host {
        command: String,
        #[source]
        source: HostError,
    },
    #[error("unexpected output from `{command}`: {detail}")]
    Unexpected { command: String, detail: String },
    #[error("{0}")]
    Invalid(String),
}

/// Runs git in one directory on one host, with the environment every
/// flightdeck git command needs: never prompt, never take optional locks,
/// untranslated messages.
#[derive(Clone)]
pub struct Git<'a> {
    host: &'a dyn Host,
    dir: PathBuf,
    config: Vec<String>,
    env: Vec<(String, String)>,
    timeout: Duration,
}

impl<'a> Git<'a> {
    pub fn new(host: &'a dyn Host, dir: impl Into<PathBuf>) -> Self {
        Git {
            host,
            dir: dir.into(),
            config: Vec::new(),
            env: vec![
                ("GIT_TERMINAL_PROMPT".into(), "0".into()),
                // Read-only commands (status, diff) would otherwise refresh
                // and rewrite the index opportunistically; it only relaxes
                // optional locks, so writing commands are unaffected.
                ("GIT_OPTIONAL_LOCKS".into(), "0".into()),
                // Messages we sometimes parse must not be translated.
                ("LC_ALL".into(), "C".into()),
                ("GIT_EDITOR".into(), ":".into()),
            ],
            timeout: DEFAULT_TIMEOUT,
        }
    }

    pub fn host(&self) -> &'a dyn Host {
        self.host
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The same runner in another directory of the same host.
    pub fn at(&self, dir: impl Into<PathBuf>) -> Self {
        Git {
            dir: dir.into(),
            ..self.clone()
        }
    }

    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value.into()));
        self
    }

    /// Points git at another index file, so the real one is never written.
    pub fn with_index(self, index: &str) -> Self {
        self.with_env("GIT_INDEX_FILE", index)
    }

    /// Adds `-c key=value` to every command.
    pub fn with_config(mut self, key: &str, value: &str) -> Self {
        self.config.push(format!("{key}={value}"));
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs git, requires success, returns stdout (lossily decoded).
    pub async fn run<S: AsRef<str>>(&self, args: &[S]) -> Result<String, GitError> {
        let out = self.run_bytes(args, None).await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Like [`Git::run`], feeding `input` on stdin.
    pub async fn run_input<S: AsRef<str>>(
        &self,
        args: &[S],
        input: Vec<u8>,
    ) -> Result<String, GitError> {
        let out = self.run_bytes(args, Some(input)).await?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Runs git, requires success, returns raw stdout.
    pub async fn run_bytes<S: AsRef<str>>(
        &self,
        args: &[S],
        input: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, GitError> {
        let argv = self.argv(args);
        let out = self.exec(&argv, input).await?;
        if out.success() {
            Ok(out.stdout)
        } else {
            Err(failed(&argv, &out))
        }
    }

    /// Runs git and returns its output whatever the exit status, for commands
    /// whose status is an answer (`merge-tree`, `merge-file`, `show-ref`).
    pub async fn output<S: AsRef<str>>(
        &self,
        args: &[S],
        input: Option<Vec<u8>>,
    ) -> Result<RunOutput, GitError> {
        self.exec(&self.argv(args), input).await
    }

    /// Runs a fixed POSIX `sh` script with `args` as its positional
    /// parameters ($1, $2, …), so paths are never parsed by the shell.
    pub async fn sh<S: AsRef<str>>(&self, script: &str, args: &[S]) -> Result<String, GitError> {
        self.sh_with(script, args, None).await
    }

    /// Like [`Git::sh`], feeding `input` on stdin.
    pub async fn sh_input<S: AsRef<str>>(
        &self,
        script: &str,
        args: &[S],
        input: Vec<u8>,
    ) -> Result<String, GitError> {
        self.sh_with(script, args, Some(input)).await
    }

    async fn sh_with<S: AsRef<str>>(
        &self,
        script: &str,
        args: &[S],
        input: Option<Vec<u8>>,
    ) -> Result<String, GitError> {
        let mut argv = vec!["sh".to_string(), "-c".into(), script.into(), "sh".into()];
        argv.extend(args.iter().map(|a| a.as_ref().to_string()));
        let out = self.exec(&argv, input).await?;
        if out.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(failed(&argv, &out))
        }
    }

    /// The argv of a git command: `git -C <dir> [-c k=v]… args…`.
    fn argv<S: AsRef<str>>(&self, args: &[S]) -> Vec<String> {
        let mut argv = vec!["git".to_string(), "-C".into(), path_str(&self.dir)];
        for c in &self.config {
            argv.push("-c".into());
            argv.push(c.clone());
        }
        argv.extend(args.iter().map(|a| a.as_ref().to_string()));
        argv
    }

    async fn exec(&self, argv: &[String], input: Option<Vec<u8>>) -> Result<RunOutput, GitError> {
        let spec = RunSpec {
            argv: argv.to_vec(),
            cwd: None,
            env: self.env.clone(),
            stdin: input,
            timeout: self.timeout,
        };
        tracing::debug!(command = %display_command(argv), "git");
        self.host.run(spec).await.map_err(|source| GitError::Host {
            command: display_command(argv),
            source,
        })
    }
}

/// A failed command as an error, with git's stderr (or stdout when stderr is
/// empty: some commands report there).
fn failed(argv: &[String], out: &RunOutput) -> GitError {
    let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if stderr.is_empty() {
        stderr = String::from_utf8_lossy(&out.stdout).trim().to_string();
    }
    let status = match (&out.exit.code, &out.exit.signal) {
        (Some(code), _) => format!("exit {code}"),
        (None, Some(sig)) => format!("killed by {sig}"),
        (None, None) => "unknown status".into(),
    };
    GitError::Failed {
        command: display_command(argv),
        status,
        stderr,
    }
}

/// A readable, bounded rendering of a command for messages and logs.
fn display_command(argv: &[String]) -> String {
    const MAX: usize = 400;
    let mut s = crate::shell::join(argv);
    if s.len() > MAX {
        let cut = (0..=MAX)
            .rev()
            .find(|i| s.is_char_boundary(*i))
            .unwrap_or(0);
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Paths cross the host boundary as strings; non-UTF-8 paths are not
/// supported (lossy).
pub(crate) fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A name no other flightdeck call (in this or another process) is using.
pub(crate) fn unique_name(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("flightdeck-{tag}-{}-{nanos}-{n}", std::process::id())
}

/// Serializes worktree creation, removal, recovery and applies per
/// repository within this process: `git worktree add` run in parallel on one
/// repository races on git's own lock files, and two applies must not
/// interleave. The key is the host and the repository's common git dir, so a
/// repository reached through different paths (a subdirectory, a worktree)
/// shares one lock.
pub(crate) async fn lock_repo(
    host: &dyn Host,
    common_dir: &str,
) -> tokio::sync::OwnedMutexGuard<()> {
    type Locks = Mutex<HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>>;
    static LOCKS: OnceLock<Locks> = OnceLock::new();
    let lock = {
        let mut map = LOCKS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.entry((host.name().to_string(), common_dir.to_string()))
            .or_default()
            .clone()
    };
    lock.lock_owned().await
}

/// Facts about the repository a path belongs to.
#[derive(Debug, Clone)]
pub(crate) struct RepoInfo {
    /// The top of the working tree.
    pub top: String,
    /// The shared git dir (`.git` of the main worktree), the lock key.
    pub common_dir: String,
    /// This worktree's own git dir, where temp index files go.
    pub git_dir: String,
}

impl RepoInfo {
    /// Resolves `dir`, turning "not a repository" into [`GitError::NotARepo`].
    pub async fn of(git: &Git<'_>) -> Result<RepoInfo, GitError> {
        let args = [
            "rev-parse",
            "--path-format=absolute",
            "--show-toplevel",
            "--git-common-dir",
            "--absolute-git-dir",
        ];
        let out = git.output(&args, None).await?;
        let text = String::from_utf8_lossy(&out.stdout);
        let lines: Vec<&str> = text.lines().collect();
        if !out.success() || lines.len() != 3 || lines[0].is_empty() {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let detail = if stderr.is_empty() {
                "no working tree".to_string()
            } else {
                stderr
            };
            return Err(GitError::NotARepo {
                path: git.dir().to_path_buf(),
                detail,
            });
        }
        Ok(RepoInfo {
            top: lines[0].to_string(),
            common_dir: lines[1].to_string(),
            git_dir: lines[2].to_string(),
        })
    }
}

/// Runs `f` with a runner whose `GIT_INDEX_FILE` is a fresh temporary file in
/// `git_dir` (so it never collides with the real index, and lives on the same
/// host and filesystem), removing the file afterwards whatever happened.
pub(crate) async fn with_temp_index<'a, T, F, Fut>(
    git: &Git<'a>,
    git_dir: &str,
    f: F,
) -> Result<T, GitError>
where
    F: FnOnce(Git<'a>, String) -> Fut,
    Fut: Future<Output = Result<T, GitError>>,
{
    let path = format!("{git_dir}/{}.index", unique_name("index"));
    let result = f(git.clone().with_index(&path), path.clone()).await;
    let lock = format!("{path}.lock");
    if let Err(e) = git.sh("rm -f -- \"$1\" \"$2\"", &[&path, &lock]).await {
        tracing::warn!("cannot remove temporary index {path}: {e}");
    }
    result
}

/// The identity options for commands that create commits: the user's own
/// when configured, flightdeck's only as a fallback, so commits work on a
/// machine where nobody ran `git config user.email`.
pub(crate) async fn with_identity<'a>(git: Git<'a>) -> Result<Git<'a>, GitError> {
    let mut git = git;
    for (key, fallback) in [
        ("user.name", "flightdeck"),
        ("user.email", "flightdeck@localhost"),
    ] {
        let out = git.output(&["config", key], None).await?;
        if String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            git = git.with_config(key, fallback);
        }
    }
    Ok(git)
}

/// Splits NUL-terminated output into its fields, dropping the empty tail.
pub(crate) fn nul_fields(text: &str) -> impl Iterator<Item = &str> {
    text.split('\0').filter(|s| !s.is_empty())
}

/// Paths with staged or unstaged changes, and untracked files (ignored
/// ones not included), as `git status` lists them without rename detection.
pub(crate) async fn dirty_paths(git: &Git<'_>) -> Result<Vec<String>, GitError> {
    let status = git
        .run(&[
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--no-renames",
        ])
        .await?;
    Ok(nul_fields(&status)
        .filter_map(|record| record.get(3..))
        .map(str::to_string)
        .collect())
}

/// A full object id (SHA-1 or SHA-256 hex).
pub(crate) fn is_full_oid(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Refuses a revision that git would read as an option.
pub(crate) fn check_rev(rev: &str) -> Result<(), GitError> {
    if rev.is_empty() || rev.starts_with('-') {
        return Err(GitError::Invalid(format!(
            "`{rev}` is not a valid revision"
        )));
    }
    Ok(())
}
