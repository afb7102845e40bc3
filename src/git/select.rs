//! Which files and hunks of a task's diff the operator accepts, and the
//! patch made of just those.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::diff::{FileDiff, FileStatus, Hunk, LineKind};
use super::quote::quote_path;

/// The operator's choices in the review view. Everything is accepted by
/// default; only rejections are stored, so a diff that grows after review
/// brings its new files and hunks in accepted. Hunks are identified by their
/// index within the file's hunk list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub rejected_files: BTreeSet<String>,
    pub rejected_hunks: BTreeSet<(String, usize)>,
}

/// How much of one file is accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Acceptance {
    /// The whole file change.
    Whole,
    /// Only these hunks (indices, ascending), and at least one is left out.
    Partial(Vec<usize>),
    Rejected,
}

/// What a task shows after a successful apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppliedStatus {
    Applied,
    PartiallyApplied,
}

impl Selection {
    /// Accepts everything again.
    pub fn accept_all(&mut self) {
        self.rejected_files.clear();
        self.rejected_hunks.clear();
    }

    /// Flips a whole file. Accepting a file also clears its hunk rejections,
    /// so "accept" means all of it.
    pub fn toggle_file(&mut self, path: &str) {
        if !self.rejected_files.remove(path) {
            self.rejected_files.insert(path.to_string());
        } else {
            self.rejected_hunks.retain(|(p, _)| p != path);
        }
    }

    /// Flips one hunk. Ignored by [`Selection::acceptance`] for files whose
    /// hunks can't be chosen singly (see [`FileDiff::hunks_selectable`]).
    pub fn toggle_hunk(&mut self, path: &str, hunk: usize) {
        let key = (path.to_string(), hunk);
        if !self.rejected_hunks.remove(&key) {
            self.rejected_hunks.insert(key);
        }
    }

    /// Whether the file is accepted at all (wholly or in part).
    pub fn is_accepted(&self, path: &str) -> bool {
        !self.rejected_files.contains(path)
    }

    pub fn is_hunk_accepted(&self, path: &str, hunk: usize) -> bool {
        self.is_accepted(path) && !self.rejected_hunks.contains(&(path.to_string(), hunk))
    }

    /// How much of `file` goes into an apply.
    pub fn acceptance(&self, file: &FileDiff) -> Acceptance {
        if !self.is_accepted(&file.path) {
            return Acceptance::Rejected;
        }
        if !file.hunks_selectable() {
            return Acceptance::Whole;
        }
        let kept: Vec<usize> = (0..file.hunks.len())
            .filter(|i| self.is_hunk_accepted(&file.path, *i))
            .collect();
        match kept.len() {
            0 => Acceptance::Rejected,
            n if n == file.hunks.len() => Acceptance::Whole,
            _ => Acceptance::Partial(kept),
        }
    }
}

/// Applied when every file was accepted whole, partially otherwise.
pub fn applied_status(files: &[FileDiff], selection: &Selection) -> AppliedStatus {
    if files
        .iter()
        .all(|f| selection.acceptance(f) == Acceptance::Whole)
    {
        AppliedStatus::Applied
    } else {
        AppliedStatus::PartiallyApplied
    }
}

/// A git-format patch of the accepted files and hunks, for `git apply`.
///
/// Kept hunks are copied as they are, except that `new_start` moves by the
/// line delta of the dropped hunks before them, so the header stays exact.
/// A binary file is emitted as `index <old>..<new>` plus `Binary files …
/// differ` without data: `git apply` then takes the postimage blob from the
/// object store, where [`super::diff_worktree`] put it (so this works in
/// the task's own repository, with a diff made with `--full-index`).
pub fn build_patch(files: &[FileDiff], selection: &Selection) -> String {
    let mut out = String::new();
    for file in files {
        match selection.acceptance(file) {
            Acceptance::Rejected => {}
            Acceptance::Whole => {
                let all: Vec<usize> = (0..file.hunks.len()).collect();
                write_file(&mut out, file, &all);
            }
            Acceptance::Partial(kept) => write_file(&mut out, file, &kept),
        }
    }
    out
}

fn write_file(out: &mut String, file: &FileDiff, kept: &[usize]) {
    write_header(out, file);
    if file.binary {
        let old = if file.status == FileStatus::Added {
            "/dev/null".to_string()
        } else {
            quote_path("a/", file.source_path())
        };
        let new = if file.status == FileStatus::Deleted {
            "/dev/null".to_string()
        } else {
            quote_path("b/", &file.path)
        };
        let _ = writeln!(out, "Binary files {old} and {new} differ");
        return;
    }
    if file.hunks.is_empty() {
        return;
    }
    let minus = match file.status {
        FileStatus::Added => "/dev/null".to_string(),
        _ => quote_path("a/", file.source_path()),
    };
    let plus = match file.status {
        FileStatus::Deleted => "/dev/null".to_string(),
        _ => quote_path("b/", &file.path),
    };
    let _ = writeln!(out, "--- {minus}");
    let _ = writeln!(out, "+++ {plus}");
    // Lines the dropped hunks would have added (negative: removed) before
    // the current one.
    let mut dropped_delta: i64 = 0;
    for (i, hunk) in file.hunks.iter().enumerate() {
        if kept.binary_search(&i).is_ok() {
            write_hunk(out, hunk, dropped_delta);
        } else {
            dropped_delta += i64::from(hunk.new_lines) - i64::from(hunk.old_lines);
        }
    }
}

fn write_header(out: &mut String, file: &FileDiff) {
    let _ = writeln!(
        out,
        "diff --git {} {}",
        quote_path("a/", file.source_path()),
        quote_path("b/", &file.path)
    );
    let mode_line = |out: &mut String, what: &str, mode: &Option<String>| {
        if let Some(m) = mode {
            let _ = writeln!(out, "{what} {m}");
        }
    };
    match file.status {
        FileStatus::Added => mode_line(out, "new file mode", &file.new_mode),
        FileStatus::Deleted => mode_line(out, "deleted file mode", &file.old_mode),
        _ if file.old_mode != file.new_mode => {
            mode_line(out, "old mode", &file.old_mode);
            mode_line(out, "new mode", &file.new_mode);
        }
        _ => {}
    }
    if let FileStatus::Renamed { similarity } | FileStatus::Copied { similarity } = file.status {
        let verb = if matches!(file.status, FileStatus::Copied { .. }) {
            "copy"
        } else {
            "rename"
        };
        let _ = writeln!(out, "similarity index {similarity}%");
        let _ = writeln!(out, "{verb} from {}", quote_path("", file.source_path()));
        let _ = writeln!(out, "{verb} to {}", quote_path("", &file.path));
    }
    if let (Some(old), Some(new)) = (&file.old_oid, &file.new_oid) {
        let same_mode = file.old_mode == file.new_mode;
        match (&file.new_mode, same_mode, file.status) {
            (Some(m), true, FileStatus::Modified | FileStatus::Renamed { .. }) => {
                let _ = writeln!(out, "index {old}..{new} {m}");
            }
            _ => {
                let _ = writeln!(out, "index {old}..{new}");
            }
        }
    }
}

fn write_hunk(out: &mut String, hunk: &Hunk, dropped_delta: i64) {
    let new_start = (i64::from(hunk.new_start) - dropped_delta).max(0);
    let _ = write!(
        out,
        "@@ -{},{} +{},{} @@",
        hunk.old_start, hunk.old_lines, new_start, hunk.new_lines
    );
    if !hunk.header.is_empty() {
        let _ = write!(out, " {}", hunk.header);
    }
    out.push('\n');
    for line in &hunk.lines {
        out.push(match line.kind {
            LineKind::Context => ' ',
            LineKind::Added => '+',
            LineKind::Removed => '-',
        });
        out.push_str(&line.text);
        out.push('\n');
        if line.no_newline_at_end {
            out.push_str("\\ No newline at end of file\n");
        }
    }
}
