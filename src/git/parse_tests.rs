//! Unit tests of the diff parser and of patch building, on handcrafted input.

use super::quote::{quote_path, unquote};
use super::*;

const MODIFY: &str = "\
diff --git a/src/main.rs b/src/main.rs
index 1111111111111111111111111111111111111111..2222222222222222222222222222222222222222 100644
--- a/src/main.rs
+++ b/src/main.rs
@@ -1,4 +1,5 @@ fn main() {
 one
-two
+TWO
+two and a half
 three
 four
";

#[test]
fn parses_a_modification_with_line_numbers() {
    let files = parse_unified_diff(MODIFY);
    assert_eq!(files.len(), 1);
    let f = &files[0];
    assert_eq!(f.path, "src/main.rs");
    assert_eq!(f.status, FileStatus::Modified);
    assert_eq!((f.added, f.removed), (2, 1));
    assert_eq!(f.old_mode.as_deref(), Some("100644"));
    assert_eq!(
        f.new_oid.as_deref(),
        Some("2222222222222222222222222222222222222222")
    );
    let h = &f.hunks[0];
    assert_eq!(
        (h.old_start, h.old_lines, h.new_start, h.new_lines),
        (1, 4, 1, 5)
    );
    assert_eq!(h.header, "fn main() {");
    let numbered: Vec<_> = h
        .lines
        .iter()
        .map(|l| (l.kind, l.text.as_str(), l.old_no, l.new_no))
        .collect();
    assert_eq!(
        numbered,
        vec![
            (LineKind::Context, "one", Some(1), Some(1)),
            (LineKind::Removed, "two", Some(2), None),
            (LineKind::Added, "TWO", None, Some(2)),
            (LineKind::Added, "two and a half", None, Some(3)),
            (LineKind::Context, "three", Some(3), Some(4)),
            (LineKind::Context, "four", Some(4), Some(5)),
        ]
    );
}

#[test]
fn quoted_paths_with_escapes() {
    let text = "\
diff --git \"a/sp\\303\\244ce \\\"q\\\".txt\" \"b/sp\\303\\244ce \\\"q\\\".txt\"
index 1..2 100644
--- \"a/sp\\303\\244ce \\\"q\\\".txt\"
+++ \"b/sp\\303\\244ce \\\"q\\\".txt\"
@@ -1 +1 @@
-a
+b
";
    let files = parse_unified_diff(text);
    assert_eq!(files[0].path, "späce \"q\".txt");
    assert_eq!(
        unquote("\"tab\\there\\n\"").map(|(s, _)| s).as_deref(),
        Some("tab\there\n")
    );
    assert_eq!(
        quote_path("a/", "späce \"q\".txt"),
        "\"a/sp\\303\\244ce \\\"q\\\".txt\""
    );
    assert_eq!(quote_path("b/", "plain name.txt"), "b/plain name.txt");
}

#[test]
fn unquoted_paths_with_spaces_and_trailing_tabs() {
    let text = "\
diff --git a/my file b/x.txt b/my file b/x.txt
index 1..2 100644
--- a/my file b/x.txt\t
+++ b/my file b/x.txt\t
@@ -1 +1 @@
-a
+b
diff --git a/only header b/only header
old mode 100644
new mode 100755
";
    let files = parse_unified_diff(text);
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].path, "my file b/x.txt");
    assert_eq!(files[1].path, "only header");
    assert_eq!(files[1].status, FileStatus::Modified);
    assert_eq!(files[1].old_mode.as_deref(), Some("100644"));
    assert_eq!(files[1].new_mode.as_deref(), Some("100755"));
    assert!(files[1].hunks.is_empty());
}

#[test]
fn no_newline_markers_belong_to_the_line_before() {
    let text = "\
diff --git a/f b/f
index 1..2 100644
--- a/f
+++ b/f
@@ -1,2 +1,2 @@
 keep
-old
\\ No newline at end of file
+new
\\ No newline at end of file
";
    let files = parse_unified_diff(text);
    let lines = &files[0].hunks[0].lines;
    assert_eq!(lines.len(), 3);
    assert!(!lines[0].no_newline_at_end);
    assert!(lines[1].no_newline_at_end && lines[1].text == "old");
    assert!(lines[2].no_newline_at_end && lines[2].text == "new");
}

#[test]
fn renames_copies_additions_and_deletions() {
    let text = "\
diff --git a/old name.rs b/new name.rs
similarity index 87%
rename from old name.rs
rename to new name.rs
index 1..2 100644
--- a/old name.rs
+++ b/new name.rs
@@ -3,1 +3,1 @@
-x
+y
diff --git a/same.txt b/moved/same.txt
similarity index 100%
rename from same.txt
rename to moved/same.txt
diff --git a/a.txt b/c.txt
similarity index 90%
copy from a.txt
copy to c.txt
diff --git a/new.txt b/new.txt
new file mode 100755
index 0000000..3333333
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+#!/bin/sh
+echo hi
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
index 4444444..0000000
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/empty b/empty
new file mode 100644
index 0000000..e69de29
";
    let files = parse_unified_diff(text);
    let summary: Vec<_> = files
        .iter()
        .map(|f| {
            (
                f.path.as_str(),
                f.old_path.as_deref(),
                f.status,
                f.added,
                f.removed,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "new name.rs",
                Some("old name.rs"),
                FileStatus::Renamed { similarity: 87 },
                1,
                1
            ),
            (
                "moved/same.txt",
                Some("same.txt"),
                FileStatus::Renamed { similarity: 100 },
                0,
                0
            ),
            (
                "c.txt",
                Some("a.txt"),
                FileStatus::Copied { similarity: 90 },
                0,
                0
            ),
            ("new.txt", None, FileStatus::Added, 2, 0),
            ("gone.txt", None, FileStatus::Deleted, 0, 1),
            ("empty", None, FileStatus::Added, 0, 0),
        ]
    );
    assert_eq!(files[3].new_mode.as_deref(), Some("100755"));
    assert_eq!(files[4].old_mode.as_deref(), Some("100644"));
    assert!(!files[0].hunks_selectable(), "renames go whole");
}

#[test]
fn binary_markers_and_binary_patches() {
    let text = "\
diff --git a/img.png b/img.png
index 5555555555555555555555555555555555555555..6666666666666666666666666666666666666666 100644
Binary files a/img.png and b/img.png differ
diff --git a/blob.bin b/blob.bin
new file mode 100644
index 0000000..7777777
GIT binary patch
literal 5
McmZQzWMXCl00093

literal 0
HcmV?d00001

diff --git a/after.txt b/after.txt
index 1..2 100644
--- a/after.txt
+++ b/after.txt
@@ -1 +1 @@
-a
+b
";
    let files = parse_unified_diff(text);
    assert_eq!(files.len(), 3);
    assert!(files[0].binary && files[0].hunks.is_empty());
    assert_eq!(files[0].status, FileStatus::Modified);
    assert!(files[1].binary && files[1].status == FileStatus::Added);
    assert_eq!(files[2].path, "after.txt");
    assert_eq!((files[2].added, files[2].removed), (1, 1));
}

#[test]
fn a_removed_line_that_looks_like_a_header_stays_a_line() {
    let text = "\
diff --git a/f b/f
--- a/f
+++ b/f
@@ -1,3 +1,1 @@
--- not a header
-+++ nor this
 kept
";
    let files = parse_unified_diff(text);
    assert_eq!(files.len(), 1);
    let texts: Vec<_> = files[0].hunks[0]
        .lines
        .iter()
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(texts, vec!["-- not a header", "+++ nor this", "kept"]);
    assert_eq!(files[0].removed, 2);
}

#[test]
fn crlf_and_short_hunk_headers() {
    let text = "diff --git a/w b/w\n--- a/w\n+++ b/w\n@@ -1 +1 @@\n-a\r\n+b\r\n";
    let files = parse_unified_diff(text);
    let lines = &files[0].hunks[0].lines;
    assert_eq!(lines[0].text, "a\r");
    assert_eq!(lines[1].text, "b\r");
}

#[test]
fn plain_unified_diffs_without_git_headers() {
    let text =
        "--- a/x.txt\t2024-01-01 00:00:00\n+++ b/x.txt\t2024-01-02 00:00:00\n@@ -1 +1 @@\n-a\n+b\n";
    let files = parse_unified_diff(text);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].path, "x.txt");
    assert_eq!(files[0].status, FileStatus::Modified);
}

#[test]
fn odd_input_never_panics() {
    let sample = format!(
        "{MODIFY}diff --git \"a/\\303\\244\" \"b/\\303\\244\"\n@@ -x +y @@\n@@ -1,99 +1,99 @@\n+ä\n\\\n\"\ndiff --cc c\n@@@ -1 -1 +1 @@@\n"
    );
    for end in (0..=sample.len()).filter(|i| sample.is_char_boundary(*i)) {
        let _ = parse_unified_diff(&sample[..end]);
    }
    for junk in [
        "",
        "\n",
        "@@",
        "diff --git",
        "diff --git \"a/",
        "\\",
        "+++ ",
        "--- \"",
        "\"\\",
    ] {
        let _ = parse_unified_diff(junk);
    }
    assert_eq!(unquote("\"\\8\""), Some(("8".to_string(), "")));
    assert_eq!(unquote("\"\\77"), None);
    assert_eq!(unquote("\"\\400\""), None);
}

#[test]
fn fifty_thousand_lines_parse_with_exact_counts() {
    let mut text = String::from("diff --git a/big.txt b/big.txt\n--- a/big.txt\n+++ b/big.txt\n");
    // 5,000 hunks of 10 lines: 3 context, 2 removed, 2 added, 3 context.
    for h in 0..5_000u32 {
        let old = h * 20 + 1;
        text.push_str(&format!("@@ -{old},8 +{old},8 @@\n"));
        for i in 0..3 {
            text.push_str(&format!(" ctx {h} {i}\n"));
        }
        text.push_str("-gone 1\n-gone 2\n+new 1\n+new 2\n");
        for i in 3..6 {
            text.push_str(&format!(" ctx {h} {i}\n"));
        }
    }
    let files = parse_unified_diff(&text);
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].hunks.len(), 5_000);
    assert_eq!((files[0].added, files[0].removed), (10_000, 10_000));
    let lines: usize = files[0].hunks.iter().map(|h| h.lines.len()).sum();
    assert_eq!(lines, 50_000);
    let last = files[0].hunks.last().and_then(|h| h.lines.last());
    assert_eq!(last.and_then(|l| l.new_no), Some(4_999 * 20 + 8));
    assert_eq!(
        stat(&files),
        DiffStat {
            files: 1,
            added: 10_000,
            removed: 10_000
        }
    );
}

#[test]
fn build_patch_round_trips_whole_files() {
    let text = format!(
        "{MODIFY}diff --git a/new.txt b/new.txt\nnew file mode 100644\nindex 0000000..3333333\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1 @@\n+x\n\\ No newline at end of file\n"
    );
    let files = parse_unified_diff(&text);
    let patch = build_patch(&files, &Selection::default());
    assert_eq!(parse_unified_diff(&patch), files);
    assert!(patch.contains("@@ -0,0 +1,1 @@\n+x\n\\ No newline at end of file\n"));
}

fn three_hunks() -> Vec<FileDiff> {
    let text = "\
diff --git a/f b/f
--- a/f
+++ b/f
@@ -1,3 +1,4 @@
 a
+one
 b
 c
@@ -10,3 +11,5 @@ mid
 j
+two
+two more
 k
 l
@@ -20,3 +23,2 @@
 t
-u
 v
";
    parse_unified_diff(text)
}

#[test]
fn dropping_a_hunk_shifts_the_later_new_starts() {
    let files = three_hunks();
    let mut sel = Selection::default();
    sel.toggle_hunk("f", 1);
    assert_eq!(sel.acceptance(&files[0]), Acceptance::Partial(vec![0, 2]));
    let patch = build_patch(&files, &sel);
    let kept = parse_unified_diff(&patch);
    let starts: Vec<_> = kept[0]
        .hunks
        .iter()
        .map(|h| (h.old_start, h.new_start))
        .collect();
    assert_eq!(starts, vec![(1, 1), (20, 21)]);
    assert!(!patch.contains("two"));
    assert_eq!(
        applied_status(&files, &sel),
        AppliedStatus::PartiallyApplied
    );

    sel.toggle_hunk("f", 0);
    sel.toggle_hunk("f", 2);
    assert_eq!(sel.acceptance(&files[0]), Acceptance::Rejected);
    assert_eq!(build_patch(&files, &sel), "");
    sel.accept_all();
    assert_eq!(applied_status(&files, &sel), AppliedStatus::Applied);
}

#[test]
fn selection_toggles_and_serializes() {
    let files = three_hunks();
    let mut sel = Selection::default();
    sel.toggle_hunk("f", 2);
    sel.toggle_file("f");
    assert!(!sel.is_accepted("f"));
    assert!(!sel.is_hunk_accepted("f", 0));
    assert_eq!(sel.acceptance(&files[0]), Acceptance::Rejected);
    sel.toggle_file("f");
    assert_eq!(
        sel.acceptance(&files[0]),
        Acceptance::Whole,
        "accepting a file takes all of it"
    );
    sel.toggle_hunk("f", 1);
    let json = serde_json::to_string(&sel).unwrap();
    let back: Selection = serde_json::from_str(&json).unwrap();
    assert_eq!(back, sel);
    let files_json = serde_json::to_string(&files).unwrap();
    let files_back: Vec<FileDiff> = serde_json::from_str(&files_json).unwrap();
    assert_eq!(files_back, files);
}

#[test]
fn slugs_are_short_lowercase_and_safe() {
    assert_eq!(slug("Fix the login bug!"), "fix-the-login-bug");
    assert_eq!(
        slug("  --Add ÜNICODE café support--  "),
        "add-nicode-caf-support"
    );
    assert_eq!(
        slug("refactor: split the enormous parser module into smaller pieces please"),
        "refactor-split-the-enormous-parser"
    );
    assert!(slug(&"x".repeat(100)).len() == 40);
    assert_eq!(slug("!!!"), "task");
    assert_eq!(slug(""), "task");
}
