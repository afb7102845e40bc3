//! The live diff of a task's worktree against its recorded base commit, and
//! the model it is parsed into (serde, so it can cross a socket).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Git, GitError, RepoInfo, check_rev, parse_unified_diff, with_temp_index};
use crate::host::Host;

/// What happened to a file between the base and the worktree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FileStatus {
    Added,
    Modified,
    Deleted,
    /// `similarity` is git's percentage (100 = content unchanged).
    Renamed {
        similarity: u8,
    },
    Copied {
        similarity: u8,
    },
}

impl FileStatus {
    /// The one-letter code the file list shows (A/M/D/R/C).
    pub fn letter(self) -> char {
        match self {
            FileStatus::Added => 'A',
            FileStatus::Modified => 'M',
            FileStatus::Deleted => 'D',
            FileStatus::Renamed { .. } => 'R',
            FileStatus::Copied { .. } => 'C',
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub kind: LineKind,
    /// The line without its `+`/`-`/space prefix and without the newline (a
    /// CR of a CRLF file stays).
    pub text: String,
    pub old_no: Option<u32>,
    pub new_no: Option<u32>,
    /// Followed by `\ No newline at end of file`.
    pub no_newline_at_end: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hunk {
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
    /// The text after the closing `@@` (usually the enclosing function).
    pub header: String,
    pub lines: Vec<DiffLine>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDiff {
    /// The path in the worktree (the new path of a rename; the old path of a
    /// deletion).
    pub path: String,
    /// The path at the base, for renames and copies.
    pub old_path: Option<String>,
    pub status: FileStatus,
    pub binary: bool,
    pub added: u32,
    pub removed: u32,
    pub hunks: Vec<Hunk>,
    /// File modes as git prints them ("100644", "100755", "120000").
    pub old_mode: Option<String>,
    pub new_mode: Option<String>,
    /// Blob ids from the `index` line (full with `--full-index`). The new
    /// blob is what apply uses for binary files and whole-file changes, so
    /// exactly the reviewed content is applied.
    pub old_oid: Option<String>,
    pub new_oid: Option<String>,
}

impl FileDiff {
    /// An empty entry for `path`, filled in by the parser.
    pub fn new(path: impl Into<String>, status: FileStatus) -> Self {
        FileDiff {
            path: path.into(),
            old_path: None,
            status,
            binary: false,
            added: 0,
            removed: 0,
            hunks: Vec::new(),
            old_mode: None,
            new_mode: None,
            old_oid: None,
            new_oid: None,
        }
    }

    /// Whether single hunks can be accepted or rejected: only for text edits
    /// of a file that keeps its path. Binary files, additions, deletions,
    /// renames and copies go whole.
    pub fn hunks_selectable(&self) -> bool {
        self.status == FileStatus::Modified && !self.binary && !self.hunks.is_empty()
    }

    /// The path before the change (the old path of a rename).
    pub fn source_path(&self) -> &str {
        self.old_path.as_deref().unwrap_or(&self.path)
    }
}

/// Totals for a task's `+N −M` badge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffStat {
    pub files: u32,
    pub added: u32,
    pub removed: u32,
}

pub fn stat(files: &[FileDiff]) -> DiffStat {
    files.iter().fold(DiffStat::default(), |acc, f| DiffStat {
        files: acc.files.saturating_add(1),
        added: acc.added.saturating_add(f.added),
        removed: acc.removed.saturating_add(f.removed),
    })
}

/// The change a worktree holds relative to `base_commit`: the agent's
/// commits, staged and unstaged edits, deletions and new untracked files
/// (.gitignore respected), with rename and binary detection.
///
/// The worktree's real index is only read, never written: a copy of it goes
/// to a temporary `GIT_INDEX_FILE` (the copy keeps stat data, so `git add -A`
/// rehashes only files that changed), `git add -A` brings the copy up to date
/// with the files, and `git diff --cached <base>` compares. Blobs of changed
/// files land in the shared object store, which is what later lets apply use
/// exactly the reviewed content of binary files.
pub async fn diff_worktree(
    host: &dyn Host,
    worktree_path: &Path,
    base_commit: &str,
) -> Result<Vec<FileDiff>, GitError> {
    check_rev(base_commit)?;
    let git = Git::new(host, worktree_path);
    let info = RepoInfo::of(&git).await?;
    let git = git.at(&info.top);
    let real_index = format!("{}/index", info.git_dir);
    let raw = with_temp_index(&git, &info.git_dir, |tmp, tmp_path| async move {
        let copied = tmp
            .sh(
                "if [ -f \"$1\" ]; then cp -p \"$1\" \"$2\" && echo copied; fi",
                &[&real_index, &tmp_path],
            )
            .await?;
        if copied.trim() != "copied" {
            tmp.run(&["read-tree", base_commit]).await?;
        }
        tmp.run(&["add", "-A"]).await?;
        tmp.run_bytes(&diff_args(base_commit), None).await
    })
    .await?;
    Ok(parse_unified_diff(&String::from_utf8_lossy(&raw)))
}

/// `git diff --cached` options that make the output stable whatever the
/// user's configuration: fixed prefixes, no colour, no external diff or
/// textconv (their output would not be a patch), full blob ids.
fn diff_args(base: &str) -> Vec<String> {
    [
        "diff",
        "--cached",
        "-M",
        "--full-index",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-relative",
        "--submodule=short",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        base,
        "--",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
