//! A single-pass parser for `git diff` output (and plain unified diffs).
//!
//! It never panics and never gives up: unknown lines are skipped, a hunk
//! whose line counts lie ends where the next header starts, and malformed
//! headers leave the file without hunks rather than failing the whole diff.
//! Work is linear in the input size, so a 50,000-line diff parses in a blink.

use super::diff::{DiffLine, FileDiff, FileStatus, Hunk, LineKind};
use super::quote::unquote;

/// Parses `git diff` output into files, hunks and numbered lines.
pub fn parse_unified_diff(text: &str) -> Vec<FileDiff> {
    let mut parser = Parser::default();
    let body = text.strip_suffix('\n').unwrap_or(text);
    if !text.is_empty() {
        for line in body.split('\n') {
            parser.line(line);
        }
    }
    parser.finish()
}

/// A file being parsed, with what its headers said so far.
struct Pending {
    diff: FileDiff,
    header_old: Option<String>,
    header_new: Option<String>,
    minus: Option<String>,
    plus: Option<String>,
    rename_from: Option<String>,
    rename_to: Option<String>,
    copy: bool,
    added: bool,
    deleted: bool,
    similarity: Option<u8>,
}

impl Pending {
    fn new() -> Self {
        Pending {
            diff: FileDiff::new(String::new(), FileStatus::Modified),
            header_old: None,
            header_new: None,
            minus: None,
            plus: None,
            rename_from: None,
            rename_to: None,
            copy: false,
            added: false,
            deleted: false,
            similarity: None,
        }
    }

    /// Settles status and paths once every header has been seen.
    fn finish(mut self) -> FileDiff {
        let moved = self.rename_from.is_some() && self.rename_to.is_some();
        let old = self
            .rename_from
            .take()
            .or(self.minus.take())
            .or(self.header_old.take());
        let new = self
            .rename_to
            .take()
            .or(self.plus.take())
            .or(self.header_new.take());
        let similarity = self.similarity.unwrap_or(0);
        let status = if self.deleted {
            FileStatus::Deleted
        } else if self.added {
            FileStatus::Added
        } else if self.copy && moved {
            FileStatus::Copied { similarity }
        } else if moved {
            FileStatus::Renamed { similarity }
        } else {
            FileStatus::Modified
        };
        let mut diff = self.diff;
        diff.status = status;
        match status {
            FileStatus::Deleted => diff.path = old.or(new).unwrap_or_default(),
            FileStatus::Renamed { .. } | FileStatus::Copied { .. } => {
                diff.path = new.unwrap_or_default();
                diff.old_path = old;
            }
            _ => diff.path = new.or(old).unwrap_or_default(),
        }
        diff
    }
}

/// Where in a file's text the parser is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first file, or after an unparseable section.
    Outside,
    /// Between `diff --git` and the first hunk.
    Header,
    /// Inside a hunk; the counts say how many old/new lines are still due.
    Hunk {
        old_left: u32,
        new_left: u32,
        old_no: u32,
        new_no: u32,
    },
    /// Base85 data of a `GIT binary patch`, or a combined diff we don't model.
    Skip,
}

struct Parser {
    files: Vec<FileDiff>,
    cur: Option<Pending>,
    hunk: Option<Hunk>,
    state: State,
}

impl Default for Parser {
    fn default() -> Self {
        Parser {
            files: Vec::new(),
            cur: None,
            hunk: None,
            state: State::Outside,
        }
    }
}

impl Parser {
    fn line(&mut self, line: &str) {
        if let State::Hunk {
            old_left, new_left, ..
        } = self.state
            && (old_left > 0 || new_left > 0)
            && self.body_line(line)
        {
            return;
        }
        self.structural_line(line);
    }

    /// A line of a hunk body; false when the line cannot belong to it (the
    /// hunk header promised more lines than came).
    fn body_line(&mut self, line: &str) -> bool {
        let State::Hunk {
            old_left,
            new_left,
            old_no,
            new_no,
        } = self.state
        else {
            return false;
        };
        let (kind, text) = match line.as_bytes().first() {
            Some(b' ') => (LineKind::Context, &line[1..]),
            None => (LineKind::Context, ""),
            Some(b'+') => (LineKind::Added, &line[1..]),
            Some(b'-') => (LineKind::Removed, &line[1..]),
            Some(b'\\') => {
                self.mark_no_newline();
                return true;
            }
            _ => {
                self.close_hunk();
                return false;
            }
        };
        let (old, new) = match kind {
            LineKind::Context => (Some(old_no), Some(new_no)),
            LineKind::Added => (None, Some(new_no)),
            LineKind::Removed => (Some(old_no), None),
        };
        self.state = State::Hunk {
            old_left: if old.is_some() {
                old_left.saturating_sub(1)
            } else {
                old_left
            },
            new_left: if new.is_some() {
                new_left.saturating_sub(1)
            } else {
                new_left
            },
            old_no: old_no + u32::from(old.is_some()),
            new_no: new_no + u32::from(new.is_some()),
        };
        if let Some(cur) = self.cur.as_mut() {
            match kind {
                LineKind::Added => cur.diff.added += 1,
                LineKind::Removed => cur.diff.removed += 1,
                LineKind::Context => {}
            }
        }
        if let Some(hunk) = self.hunk.as_mut() {
            hunk.lines.push(DiffLine {
                kind,
                text: text.to_string(),
                old_no: old,
                new_no: new,
                no_newline_at_end: false,
            });
        }
        true
    }

    /// File headers, hunk headers and markers between hunks.
    fn structural_line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            self.start_file();
            if let Some(cur) = self.cur.as_mut() {
                let (old, new) = split_git_header(rest);
                cur.header_old = old;
                cur.header_new = new;
            }
            self.state = State::Header;
            return;
        }
        if line.starts_with("diff --cc ") || line.starts_with("diff --combined ") {
            self.finish_file();
            self.state = State::Skip;
            return;
        }
        match self.state {
            State::Skip => {}
            State::Header => self.header_line(line),
            State::Outside | State::Hunk { .. } => {
                if line.starts_with("@@ ") && self.cur.is_some() {
                    self.start_hunk(line);
                } else if line.starts_with('\\') {
                    self.mark_no_newline();
                } else if line.starts_with("--- ") {
                    // A plain unified diff has no `diff --git` line.
                    self.start_file();
                    self.state = State::Header;
                    self.header_line(line);
                }
            }
        }
    }

    fn header_line(&mut self, line: &str) {
        if line.starts_with("@@ ") {
            self.start_hunk(line);
            return;
        }
        let Some(cur) = self.cur.as_mut() else {
            return;
        };
        if let Some(m) = line.strip_prefix("old mode ") {
            cur.diff.old_mode = Some(m.trim().to_string());
        } else if let Some(m) = line.strip_prefix("new mode ") {
            cur.diff.new_mode = Some(m.trim().to_string());
        } else if let Some(m) = line.strip_prefix("deleted file mode ") {
            cur.deleted = true;
            cur.diff.old_mode = Some(m.trim().to_string());
        } else if let Some(m) = line.strip_prefix("new file mode ") {
            cur.added = true;
            cur.diff.new_mode = Some(m.trim().to_string());
        } else if let Some(s) = line.strip_prefix("similarity index ") {
            cur.similarity = s.trim().trim_end_matches('%').parse().ok();
        } else if let Some(p) = line.strip_prefix("rename from ") {
            cur.rename_from = Some(plain_or_quoted(p));
        } else if let Some(p) = line.strip_prefix("rename to ") {
            cur.rename_to = Some(plain_or_quoted(p));
        } else if let Some(p) = line.strip_prefix("copy from ") {
            cur.copy = true;
            cur.rename_from = Some(plain_or_quoted(p));
        } else if let Some(p) = line.strip_prefix("copy to ") {
            cur.copy = true;
            cur.rename_to = Some(plain_or_quoted(p));
        } else if let Some(rest) = line.strip_prefix("index ") {
            parse_index_line(&mut cur.diff, rest);
        } else if line.starts_with("Binary files ") && line.ends_with(" differ") {
            cur.diff.binary = true;
        } else if line == "GIT binary patch" {
            cur.diff.binary = true;
            self.state = State::Skip;
        } else if let Some(name) = line.strip_prefix("--- ") {
            match side_name(name, "a/") {
                Some(p) => cur.minus = Some(p),
                None => cur.added = !cur.deleted,
            }
        } else if let Some(name) = line.strip_prefix("+++ ") {
            match side_name(name, "b/") {
                Some(p) => cur.plus = Some(p),
                None => {
                    cur.deleted = true;
                    cur.added = false;
                }
            }
        }
    }

    fn start_hunk(&mut self, line: &str) {
        self.close_hunk();
        let Some((old_start, old_lines, new_start, new_lines, header)) = parse_hunk_header(line)
        else {
            return;
        };
        self.hunk = Some(Hunk {
            old_start,
            old_lines,
            new_start,
            new_lines,
            header,
            lines: Vec::new(),
        });
        self.state = State::Hunk {
            old_left: old_lines,
            new_left: new_lines,
            old_no: old_start,
            new_no: new_start,
        };
    }

    fn mark_no_newline(&mut self) {
        if let Some(last) = self.hunk.as_mut().and_then(|h| h.lines.last_mut()) {
            last.no_newline_at_end = true;
        }
    }

    /// Moves the open hunk into its file. The state keeps saying "after a
    /// hunk" so a following `\` marker still finds its line.
    fn close_hunk(&mut self) {
        if let Some(hunk) = self.hunk.take()
            && let Some(cur) = self.cur.as_mut()
        {
            cur.diff.hunks.push(hunk);
        }
        if let State::Hunk { old_no, new_no, .. } = self.state {
            self.state = State::Hunk {
                old_left: 0,
                new_left: 0,
                old_no,
                new_no,
            };
        }
    }

    fn start_file(&mut self) {
        self.finish_file();
        self.cur = Some(Pending::new());
    }

    fn finish_file(&mut self) {
        // The open hunk stays open while `\` markers may follow; move it now.
        if let Some(hunk) = self.hunk.take()
            && let Some(cur) = self.cur.as_mut()
        {
            cur.diff.hunks.push(hunk);
        }
        if let Some(cur) = self.cur.take() {
            self.files.push(cur.finish());
        }
        self.state = State::Outside;
    }

    fn finish(mut self) -> Vec<FileDiff> {
        self.finish_file();
        self.files
    }
}

/// `@@ -a,b +c,d @@ header` → (a, b, c, d, header); a missing count is 1.
fn parse_hunk_header(line: &str) -> Option<(u32, u32, u32, u32, String)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, header) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let (old_start, old_lines) = parse_range(old)?;
    let (new_start, new_lines) = parse_range(new)?;
    let header = header.strip_prefix(' ').unwrap_or(header).to_string();
    Some((old_start, old_lines, new_start, new_lines, header))
}

fn parse_range(s: &str) -> Option<(u32, u32)> {
    match s.split_once(',') {
        Some((start, len)) => Some((start.parse().ok()?, len.parse().ok()?)),
        None => Some((s.parse().ok()?, 1)),
    }
}

/// `index <old>..<new>[ <mode>]`.
fn parse_index_line(diff: &mut FileDiff, rest: &str) {
    let (ids, mode) = match rest.split_once(' ') {
        Some((ids, mode)) => (ids, Some(mode.trim())),
        None => (rest, None),
    };
    if let Some((old, new)) = ids.split_once("..") {
        diff.old_oid = Some(old.to_string());
        diff.new_oid = Some(new.to_string());
    }
    if let Some(mode) = mode.filter(|m| !m.is_empty()) {
        diff.old_mode.get_or_insert_with(|| mode.to_string());
        diff.new_mode.get_or_insert_with(|| mode.to_string());
    }
}

/// The name on a `---`/`+++` line without its side prefix; None for
/// /dev/null. Unquoted names end at a tab (git appends one to names with
/// spaces; plain diffs put a timestamp after it).
fn side_name(name: &str, prefix: &str) -> Option<String> {
    let raw = if name.starts_with('"') {
        unquote(name).map(|(s, _)| s)?
    } else {
        name.split('\t').next().unwrap_or(name).to_string()
    };
    if raw == "/dev/null" {
        return None;
    }
    Some(strip_side(raw, prefix))
}

fn strip_side(path: String, prefix: &str) -> String {
    match path.strip_prefix(prefix) {
        Some(rest) => rest.to_string(),
        None => path,
    }
}

/// A path after `rename from ` and friends: quoted or verbatim.
fn plain_or_quoted(s: &str) -> String {
    if s.starts_with('"')
        && let Some((path, _)) = unquote(s)
    {
        return path;
    }
    s.to_string()
}

/// The two paths of `diff --git a/X b/Y`. Unquoted paths may contain spaces,
/// so when both halves are equal (the common case) the line is split in the
/// middle; otherwise at the first ` b/`.
fn split_git_header(rest: &str) -> (Option<String>, Option<String>) {
    if rest.starts_with('"') {
        let Some((old, tail)) = unquote(rest) else {
            return (None, None);
        };
        let tail = tail.trim_start();
        let new = if tail.starts_with('"') {
            unquote(tail).map(|(s, _)| s)
        } else {
            Some(tail.to_string())
        };
        return (
            Some(strip_side(old, "a/")),
            new.map(|n| strip_side(n, "b/")),
        );
    }
    if let Some(idx) = rest.find(" \"") {
        let new = unquote(&rest[idx + 1..]).map(|(s, _)| strip_side(s, "b/"));
        return (Some(strip_side(rest[..idx].to_string(), "a/")), new);
    }
    let mid = rest.len() / 2;
    if rest.len() % 2 == 1 && rest.as_bytes().get(mid) == Some(&b' ') {
        let (old, new) = (&rest[..mid], &rest[mid + 1..]);
        if old
            .strip_prefix("a/")
            .is_some_and(|o| Some(o) == new.strip_prefix("b/"))
        {
            return (
                Some(strip_side(old.to_string(), "a/")),
                Some(strip_side(new.to_string(), "b/")),
            );
        }
    }
    match rest.find(" b/") {
        Some(idx) => (
            Some(strip_side(rest[..idx].to_string(), "a/")),
            Some(strip_side(rest[idx + 1..].to_string(), "b/")),
        ),
        None => (None, None),
    }
}
