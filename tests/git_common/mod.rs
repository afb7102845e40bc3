//! Shared fixtures for the git layer's tests: real repositories in temp
//! dirs, a host that isolates git from the machine's global configuration,
//! and exact snapshots of a main tree (files, modes, mtimes, index, refs).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use async_trait::async_trait;
use flightdeck::git::{FileDiff, Worktree, WorktreeRequest, create_worktree, diff_worktree};
use flightdeck::host::{Host, HostError, LocalHost, PtyProcess, PtySpec, RunOutput, RunSpec};

/// Environment that keeps the machine's own git configuration out of tests.
const ISOLATION: [(&str, &str); 3] = [
    ("GIT_CONFIG_GLOBAL", "/dev/null"),
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_OPTIONAL_LOCKS", "0"),
];

/// [`LocalHost`] with git isolated from the user's global configuration.
pub struct TestHost(LocalHost);

#[async_trait]
impl Host for TestHost {
    fn name(&self) -> &str {
        self.0.name()
    }

    async fn run(&self, mut spec: RunSpec) -> Result<RunOutput, HostError> {
        spec.env.extend(
            ISOLATION
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        self.0.run(spec).await
    }

    async fn spawn_pty(&self, spec: PtySpec) -> Result<PtyProcess, HostError> {
        self.0.spawn_pty(spec).await
    }

    async fn worktrees_dir(&self) -> Result<std::path::PathBuf, HostError> {
        self.0.worktrees_dir().await
    }
}

pub fn host() -> TestHost {
    TestHost(LocalHost::default())
}

/// Runs git synchronously for test setup; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .envs(ISOLATION)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A temp dir holding a main tree (`repo/`) and a data dir for worktrees.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub repo: PathBuf,
    pub root: PathBuf,
}

impl Fixture {
    /// A repository on branch `main` with one commit of `files`.
    pub fn new(files: &[(&str, &str)]) -> Self {
        let fx = Fixture::empty();
        fx.identity();
        for (path, content) in files {
            fx.write(path, content);
        }
        if files.is_empty() {
            fx.write("README.md", "hello\n");
        }
        fx.commit_all("initial");
        fx
    }

    /// `git init` only: no identity, no commits.
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&repo, &["init", "-q", "-b", "main"]);
        let root = dir.path().join("data/worktrees/repo");
        Fixture { dir, repo, root }
    }

    pub fn identity(&self) {
        git(&self.repo, &["config", "user.name", "Test User"]);
        git(&self.repo, &["config", "user.email", "test@example.com"]);
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.repo, args)
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        write(&self.repo, rel, content);
    }

    pub fn read(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.repo.join(rel)).unwrap()
    }

    pub fn read_str(&self, rel: &str) -> String {
        String::from_utf8(self.read(rel)).unwrap()
    }

    pub fn commit_all(&self, message: &str) -> String {
        commit_all(&self.repo, message)
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).trim().to_string()
    }

    pub fn request(&self, task_id: u64, words: &str) -> WorktreeRequest {
        WorktreeRequest {
            repo: self.repo.clone(),
            root: self.root.clone(),
            task_id,
            slug: words.to_string(),
            base: None,
        }
    }

    pub async fn worktree(&self, task_id: u64, words: &str) -> Worktree {
        create_worktree(&host(), &self.request(task_id, words))
            .await
            .expect("worktree created")
    }

    pub async fn diff(&self, wt: &Worktree) -> Vec<FileDiff> {
        diff_worktree(&host(), &wt.path, &wt.base_commit)
            .await
            .expect("diff")
    }

    pub fn snapshot(&self) -> Snapshot {
        snapshot(&self.repo)
    }

    pub fn branches(&self) -> Vec<String> {
        self.git(&["for-each-ref", "--format=%(refname:short)", "refs/heads/"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn worktree_paths(&self) -> Vec<String> {
        self.git(&["worktree", "list", "--porcelain"])
            .lines()
            .filter_map(|l| l.strip_prefix("worktree "))
            .map(str::to_string)
            .collect()
    }
}

pub fn write(dir: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

pub fn commit_all(dir: &Path, message: &str) -> String {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "--no-verify", "-m", message]);
    git(dir, &["rev-parse", "HEAD"]).trim().to_string()
}

pub fn set_executable(path: &Path) {
    let mut perms = std::fs::metadata(path).unwrap().permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms).unwrap();
}

/// Every file of a working tree (outside `.git`) with its mode, content and
/// mtime, plus the index file's bytes and mtime, HEAD and all refs: equal
/// snapshots mean nothing a user could see was touched.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub files: BTreeMap<String, (u32, Vec<u8>, i64, i64)>,
    pub index: (Vec<u8>, i64, i64),
    pub head: String,
    pub refs: String,
}

pub fn snapshot(repo: &Path) -> Snapshot {
    let mut files = BTreeMap::new();
    walk(repo, repo, &mut files);
    let index_path = repo.join(".git/index");
    let meta = std::fs::metadata(&index_path).unwrap();
    Snapshot {
        files,
        index: (
            std::fs::read(&index_path).unwrap(),
            meta.mtime(),
            meta.mtime_nsec(),
        ),
        head: std::fs::read_to_string(repo.join(".git/HEAD")).unwrap(),
        refs: git(repo, &["show-ref", "--head"]),
    }
}

fn walk(top: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, Vec<u8>, i64, i64)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let rel = path
            .strip_prefix(top)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == ".git" {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            out.insert(format!("{rel}/"), (meta.mode(), Vec::new(), 0, 0));
            walk(top, &path, out);
        } else {
            let content = if meta.file_type().is_symlink() {
                std::fs::read_link(&path)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
                    .into_bytes()
            } else {
                std::fs::read(&path).unwrap()
            };
            out.insert(rel, (meta.mode(), content, meta.mtime(), meta.mtime_nsec()));
        }
    }
}

/// Lines `1..=n` as text, `prefix` on each, for files with separable hunks.
pub fn numbered(n: usize, prefix: &str) -> String {
    (1..=n).map(|i| format!("{prefix}{i}\n")).collect()
}

/// Replaces line `line` (1-based) of `text`.
pub fn replace_line(text: &str, line: usize, with: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == line {
                format!("{with}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}
