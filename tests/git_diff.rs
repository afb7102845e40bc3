//! The live diff of a worktree against its base, on real repositories.

mod git_common;

use std::os::unix::fs::MetadataExt;

use flightdeck::git::{DiffStat, FileDiff, FileStatus, LineKind, diff_worktree, stat};
use git_common::{Fixture, commit_all, git, host, numbered, write};

fn find<'a>(files: &'a [FileDiff], path: &str) -> &'a FileDiff {
    files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} not in diff: {:?}", paths(files)))
}

fn paths(files: &[FileDiff]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

/// Deterministic bytes with NULs, so git calls them binary.
fn binary(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn diff_reports_every_kind_of_change() {
    let long = numbered(30, "line ");
    let fx = Fixture::new(&[
        (".gitignore", "*.log\n"),
        ("keep.txt", "same\n"),
        ("modify.txt", "one\ntwo\nthree\n"),
        ("delete.txt", "bye\n"),
        ("rename-me.txt", &long),
        ("exec.sh", "#!/bin/sh\n"),
    ]);
    fx.write("image.bin", binary(4096, 1));
    fx.commit_all("binary");
    let wt = fx.worktree(1, "every kind").await;
    let w = &wt.path;

    write(w, "modify.txt", "one\nTWO\nthree\n");
    std::fs::remove_file(w.join("delete.txt")).unwrap();
    std::fs::rename(w.join("rename-me.txt"), w.join("renamed.txt")).unwrap();
    write(w, "renamed.txt", long.replace("line 30\n", "line thirty\n"));
    write(w, "image.bin", binary(4096, 2));
    write(w, "dir with space/new \"file\".txt", "fresh\nlines\n");
    write(w, "debug.log", "ignored\n");
    git_common::set_executable(&w.join("exec.sh"));
    // The agent also commits on its branch.
    write(w, "committed.txt", "agent commit\n");
    git(w, &["add", "committed.txt"]);
    git(w, &["commit", "-q", "-m", "agent work"]);

    let files = diff_worktree(&host(), w, &wt.base_commit).await.unwrap();
    let mut listed = paths(&files);
    listed.sort();
    assert_eq!(
        listed,
        vec![
            "committed.txt",
            "delete.txt",
            "dir with space/new \"file\".txt",
            "exec.sh",
            "image.bin",
            "modify.txt",
            "renamed.txt",
        ]
    );

    let m = find(&files, "modify.txt");
    assert_eq!((m.status, m.added, m.removed), (FileStatus::Modified, 1, 1));
    let kinds: Vec<_> = m.hunks[0]
        .lines
        .iter()
        .map(|l| (l.kind, l.text.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (LineKind::Context, "one"),
            (LineKind::Removed, "two"),
            (LineKind::Added, "TWO"),
            (LineKind::Context, "three"),
        ]
    );
    assert_eq!(find(&files, "delete.txt").status, FileStatus::Deleted);
    let r = find(&files, "renamed.txt");
    assert!(matches!(r.status, FileStatus::Renamed { similarity } if similarity >= 90));
    assert_eq!(r.old_path.as_deref(), Some("rename-me.txt"));
    assert_eq!((r.added, r.removed), (1, 1));
    let b = find(&files, "image.bin");
    assert!(b.binary && b.hunks.is_empty() && b.added == 0);
    assert_eq!(b.new_oid.as_ref().map(String::len), Some(40), "full index");
    let n = find(&files, "dir with space/new \"file\".txt");
    assert_eq!((n.status, n.added), (FileStatus::Added, 2));
    let x = find(&files, "exec.sh");
    assert_eq!(x.old_mode.as_deref(), Some("100644"));
    assert_eq!(x.new_mode.as_deref(), Some("100755"));
    assert_eq!(find(&files, "committed.txt").status, FileStatus::Added);

    assert_eq!(
        stat(&files),
        DiffStat {
            files: 7,
            added: 5,
            removed: 3
        }
    );
}

#[tokio::test]
async fn a_diff_never_writes_the_worktree_index() {
    let fx = Fixture::new(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let wt = fx.worktree(1, "index").await;
    let w = &wt.path;
    write(w, "a.txt", "staged\n");
    git(w, &["add", "a.txt"]);
    write(w, "a.txt", "staged then edited\n");
    write(w, "b.txt", "unstaged\n");
    write(w, "new.txt", "untracked\n");

    let git_dir = git(w, &["rev-parse", "--absolute-git-dir"])
        .trim()
        .to_string();
    let index = std::path::Path::new(&git_dir).join("index");
    let before = std::fs::read(&index).unwrap();
    let meta = std::fs::metadata(&index).unwrap();
    let status_before = git(w, &["status", "--porcelain"]);

    for _ in 0..2 {
        let files = diff_worktree(&host(), w, &wt.base_commit).await.unwrap();
        assert_eq!(paths(&files), vec!["a.txt", "b.txt", "new.txt"]);
        let a = find(&files, "a.txt");
        assert_eq!(
            a.hunks[0].lines[1].text, "staged then edited",
            "the file, not the index"
        );
    }

    assert_eq!(std::fs::read(&index).unwrap(), before);
    let after = std::fs::metadata(&index).unwrap();
    assert_eq!(
        (after.mtime(), after.mtime_nsec()),
        (meta.mtime(), meta.mtime_nsec())
    );
    assert_eq!(git(w, &["status", "--porcelain"]), status_before);
    let leftovers: Vec<_> = std::fs::read_dir(&git_dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("flightdeck-"))
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");
}

#[tokio::test]
async fn an_untouched_worktree_has_an_empty_diff() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "nothing").await;
    assert!(fx.diff(&wt).await.is_empty());
    // A change that is undone again leaves nothing either.
    write(&wt.path, "a.txt", "b\n");
    commit_all(&wt.path, "change");
    write(&wt.path, "a.txt", "a\n");
    assert!(fx.diff(&wt).await.is_empty());
}

#[tokio::test]
async fn a_huge_binary_and_a_fifty_thousand_line_file() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "big").await;
    write(&wt.path, "huge.bin", binary(24 * 1024 * 1024, 7));
    write(&wt.path, "big.txt", numbered(50_000, "row "));

    let files = fx.diff(&wt).await;
    let huge = find(&files, "huge.bin");
    assert!(huge.binary && huge.hunks.is_empty());
    let big = find(&files, "big.txt");
    assert_eq!(big.added, 50_000);
    let lines: usize = big.hunks.iter().map(|h| h.lines.len()).sum();
    assert_eq!(lines, 50_000);
    let last = big.hunks.last().and_then(|h| h.lines.last()).unwrap();
    assert_eq!(
        (last.text.as_str(), last.new_no),
        ("row 50000", Some(50_000))
    );
}

#[tokio::test]
async fn unicode_paths_and_files_without_a_final_newline() {
    let fx = Fixture::new(&[("späce ü.txt", "last line without newline")]);
    let wt = fx.worktree(1, "unicode").await;
    write(
        &wt.path,
        "späce ü.txt",
        "last line without newline, changed",
    );
    let files = fx.diff(&wt).await;
    assert_eq!(paths(&files), vec!["späce ü.txt"]);
    let lines = &files[0].hunks[0].lines;
    assert!(lines.iter().all(|l| l.no_newline_at_end));
}

#[tokio::test]
async fn a_bad_base_is_an_error_not_a_panic() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "bad base").await;
    assert!(
        diff_worktree(
            &host(),
            &wt.path,
            "0123456789abcdef0123456789abcdef01234567"
        )
        .await
        .is_err()
    );
    assert!(
        diff_worktree(&host(), &wt.path, "--output=/tmp/pwned")
            .await
            .is_err()
    );
    assert!(
        diff_worktree(&host(), &fx.dir.path().join("nope"), &wt.base_commit)
            .await
            .is_err()
    );
}
