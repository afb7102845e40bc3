//! Applying a task's accepted changes to the main tree as uncommitted
//! changes: clean trees, dirty trees, a base that moved on, partial
//! selections, and refusals that leave everything byte-identical.

mod git_common;

use flightdeck::git::{
    AppliedStatus, ApplyOutcome, ApplyRequest, FileDiff, GitError, Selection, Strategy, Worktree,
    applied_status, apply, build_patch,
};
use git_common::{Fixture, commit_all, git, host, numbered, replace_line, write};

async fn apply_with(
    fx: &Fixture,
    wt: &Worktree,
    files: &[FileDiff],
    selection: &Selection,
) -> Result<ApplyOutcome, GitError> {
    let req = ApplyRequest {
        repo: fx.repo.clone(),
        worktree: wt,
        files,
        selection,
        strategy: Strategy::Uncommitted,
    };
    apply(&host(), &req).await
}

fn applied_files(outcome: ApplyOutcome) -> Vec<String> {
    match outcome {
        ApplyOutcome::Applied { files, commit } => {
            assert_eq!(commit, None);
            files
        }
        other => panic!("expected Applied, got {other:?}"),
    }
}

fn conflicted_files(outcome: ApplyOutcome) -> Vec<String> {
    match outcome {
        ApplyOutcome::Conflicted { files, reason } => {
            assert!(!reason.is_empty());
            files
        }
        other => panic!("expected Conflicted, got {other:?}"),
    }
}

#[tokio::test]
async fn apply_on_a_clean_tree_reproduces_the_worktree() {
    let long = numbered(20, "line ");
    let fx = Fixture::new(&[
        ("modify.txt", "one\ntwo\n"),
        ("delete.txt", "bye\n"),
        ("old/name.txt", &long),
        ("run.sh", "#!/bin/sh\n"),
    ]);
    fx.write("image.bin", [0u8, 1, 2, 3, 0, 255]);
    fx.commit_all("binary");
    let wt = fx.worktree(1, "clean apply").await;
    let w = &wt.path;
    write(w, "modify.txt", "one\nTWO\n");
    std::fs::remove_file(w.join("delete.txt")).unwrap();
    std::fs::remove_dir_all(w.join("old")).unwrap();
    write(w, "new/name.txt", long.replace("line 20", "line twenty"));
    write(w, "image.bin", [9u8, 0, 8, 0, 7]);
    write(w, "spä ce/\"quoted\".txt", "new file\n");
    git_common::set_executable(&w.join("run.sh"));
    let index_before = std::fs::read(fx.repo.join(".git/index")).unwrap();
    let head_before = fx.head();

    let files = fx.diff(&wt).await;
    let outcome = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    let mut touched = applied_files(outcome);
    touched.sort();
    assert_eq!(
        touched,
        vec![
            "delete.txt",
            "image.bin",
            "modify.txt",
            "new/name.txt",
            "old/name.txt",
            "run.sh",
            "spä ce/\"quoted\".txt"
        ]
    );

    for path in [
        "modify.txt",
        "new/name.txt",
        "image.bin",
        "spä ce/\"quoted\".txt",
        "run.sh",
    ] {
        assert_eq!(
            fx.read(path),
            std::fs::read(w.join(path)).unwrap(),
            "{path}"
        );
    }
    assert!(!fx.repo.join("delete.txt").exists());
    assert!(!fx.repo.join("old").exists(), "emptied directory removed");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(fx.repo.join("run.sh"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111);
    assert_eq!(
        std::fs::read(fx.repo.join(".git/index")).unwrap(),
        index_before
    );
    assert_eq!(fx.head(), head_before);
    assert_eq!(
        applied_status(&files, &Selection::default()),
        AppliedStatus::Applied
    );

    // The worktree's diff still reports the full change afterwards.
    assert_eq!(fx.diff(&wt).await, files);
    // Applying again is a no-op: the main tree already has it all.
    let again = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    assert!(applied_files(again).is_empty());
}

#[tokio::test]
async fn unrelated_dirty_and_untracked_files_are_kept_byte_identical() {
    let fx = Fixture::new(&[("task.txt", "task\n"), ("mine.txt", "mine\n")]);
    let wt = fx.worktree(1, "unrelated").await;
    write(&wt.path, "task.txt", "task changed\n");
    fx.write("mine.txt", "my own edit\n");
    fx.write("scratch.txt", "untracked notes\n");
    fx.git(&["add", "mine.txt"]);
    fx.write("mine.txt", "my own edit, edited again\n");
    let before = fx.snapshot();

    let files = fx.diff(&wt).await;
    let outcome = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    assert_eq!(applied_files(outcome), vec!["task.txt"]);
    let after = fx.snapshot();
    assert_eq!(fx.read_str("task.txt"), "task changed\n");
    for path in ["mine.txt", "scratch.txt"] {
        assert_eq!(
            after.files.get(path),
            before.files.get(path),
            "{path} touched"
        );
    }
    assert_eq!(after.index, before.index, "index untouched");
    assert_eq!(fx.git(&["diff", "--cached", "--name-only"]), "mine.txt\n");
}

#[tokio::test]
async fn conflicting_dirty_files_refuse_and_leave_everything_identical() {
    let text = numbered(10, "l");
    let fx = Fixture::new(&[("shared.txt", &text), ("other.txt", "o\n")]);
    let wt = fx.worktree(1, "conflict").await;
    write(
        &wt.path,
        "shared.txt",
        replace_line(&text, 5, "task's line 5"),
    );
    write(&wt.path, "other.txt", "task\n");
    fx.write("shared.txt", replace_line(&text, 5, "my line 5"));
    fx.write("untracked.txt", "mine\n");
    fx.git(&["add", "untracked.txt"]);
    fx.write("untracked.txt", "mine, changed\n");
    fx.write("really-untracked.txt", "x\n");
    let before = fx.snapshot();

    let files = fx.diff(&wt).await;
    let outcome = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    assert_eq!(conflicted_files(outcome), vec!["shared.txt"]);
    assert_eq!(fx.snapshot(), before);
}

#[tokio::test]
async fn dirty_changes_elsewhere_in_the_same_file_merge_three_ways() {
    let text = numbered(30, "l");
    let fx = Fixture::new(&[("shared.txt", &text)]);
    let wt = fx.worktree(1, "merge").await;
    write(&wt.path, "shared.txt", replace_line(&text, 25, "task"));
    fx.write("shared.txt", replace_line(&text, 3, "mine"));

    let files = fx.diff(&wt).await;
    let outcome = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    assert_eq!(applied_files(outcome), vec!["shared.txt"]);
    let expected = replace_line(&replace_line(&text, 3, "mine"), 25, "task");
    assert_eq!(fx.read_str("shared.txt"), expected);
}

#[tokio::test]
async fn base_moved_on_without_overlap_merges() {
    let text = numbered(30, "l");
    let fx = Fixture::new(&[("shared.txt", &text), ("gone.txt", "g\n")]);
    let wt = fx.worktree(1, "moved").await;
    write(&wt.path, "shared.txt", replace_line(&text, 28, "task"));
    std::fs::remove_file(wt.path.join("gone.txt")).unwrap();
    fx.write("shared.txt", replace_line(&text, 2, "upstream"));
    fx.write("added-upstream.txt", "u\n");
    fx.commit_all("upstream work");

    let files = fx.diff(&wt).await;
    let outcome = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    let mut touched = applied_files(outcome);
    touched.sort();
    assert_eq!(touched, vec!["gone.txt", "shared.txt"]);
    let expected = replace_line(&replace_line(&text, 2, "upstream"), 28, "task");
    assert_eq!(fx.read_str("shared.txt"), expected);
    assert!(!fx.repo.join("gone.txt").exists());
    assert_eq!(fx.read_str("added-upstream.txt"), "u\n");
}

#[tokio::test]
async fn base_moved_on_with_overlap_lists_conflicts_and_changes_nothing() {
    let text = numbered(10, "l");
    let fx = Fixture::new(&[
        ("shared.txt", &text),
        ("fine.txt", "f\n"),
        ("del.txt", "d\n"),
    ]);
    let wt = fx.worktree(1, "overlap").await;
    write(&wt.path, "shared.txt", replace_line(&text, 4, "task"));
    write(&wt.path, "fine.txt", "task\n");
    std::fs::remove_file(wt.path.join("del.txt")).unwrap();
    write(&wt.path, "added.txt", "task's version\n");
    fx.write("shared.txt", replace_line(&text, 4, "upstream"));
    fx.write("del.txt", "changed upstream\n");
    fx.write("added.txt", "upstream's version\n");
    fx.commit_all("upstream");
    let before = fx.snapshot();

    let files = fx.diff(&wt).await;
    let outcome = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    assert_eq!(
        conflicted_files(outcome),
        vec!["added.txt", "del.txt", "shared.txt"]
    );
    assert_eq!(fx.snapshot(), before);
}

#[tokio::test]
async fn partial_apply_takes_exactly_the_chosen_hunks() {
    let text = numbered(40, "l");
    let fx = Fixture::new(&[("three.txt", &text), ("skip.txt", "s\n")]);
    let wt = fx.worktree(1, "partial").await;
    let edited = replace_line(
        &replace_line(&replace_line(&text, 3, "first"), 20, "second"),
        37,
        "third",
    );
    write(&wt.path, "three.txt", &edited);
    write(&wt.path, "skip.txt", "rejected\n");

    let files = fx.diff(&wt).await;
    let three = files.iter().find(|f| f.path == "three.txt").unwrap();
    assert_eq!(three.hunks.len(), 3);
    let mut sel = Selection::default();
    sel.toggle_hunk("three.txt", 1);
    sel.toggle_file("skip.txt");
    assert!(!build_patch(&files, &sel).contains("second"));

    let outcome = apply_with(&fx, &wt, &files, &sel).await.unwrap();
    assert_eq!(applied_files(outcome), vec!["three.txt"]);
    let expected = replace_line(&replace_line(&text, 3, "first"), 37, "third");
    assert_eq!(fx.read_str("three.txt"), expected);
    assert_eq!(fx.read_str("skip.txt"), "s\n");
    assert_eq!(
        applied_status(&files, &sel),
        AppliedStatus::PartiallyApplied
    );
}

#[tokio::test]
async fn the_reviewed_content_is_applied_not_later_edits() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    fx.write("b.bin", [0u8, 1, 2]);
    fx.commit_all("bin");
    let wt = fx.worktree(1, "reviewed").await;
    write(&wt.path, "a.txt", "reviewed\n");
    write(&wt.path, "b.bin", [0u8, 4, 5]);
    write(&wt.path, "c.txt", "new\n");
    let files = fx.diff(&wt).await;
    // The agent keeps going after the review.
    write(&wt.path, "a.txt", "written after review\n");
    write(&wt.path, "b.bin", [0u8, 9, 9]);
    commit_all(&wt.path, "later");

    apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    assert_eq!(fx.read_str("a.txt"), "reviewed\n");
    assert_eq!(fx.read("b.bin"), vec![0u8, 4, 5]);
    assert_eq!(fx.read_str("c.txt"), "new\n");
}

#[tokio::test]
async fn an_untracked_file_in_the_way_of_an_added_file_conflicts() {
    let fx = Fixture::new(&[(".gitignore", "*.local\n"), ("a.txt", "a\n")]);
    let wt = fx.worktree(1, "in the way").await;
    write(&wt.path, "settings.txt", "task\n");
    git(&wt.path, &["add", "-f", "."]);
    write(&wt.path, "x.local", "task's ignored file\n");
    git(&wt.path, &["add", "-f", "x.local"]);
    git(&wt.path, &["commit", "-q", "-m", "adds"]);
    fx.write("settings.txt", "mine\n");
    fx.write("x.local", "my ignored file\n");
    let before = fx.snapshot();

    let files = fx.diff(&wt).await;
    let outcome = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    assert_eq!(conflicted_files(outcome), vec!["settings.txt", "x.local"]);
    assert_eq!(fx.snapshot(), before);
}

#[tokio::test]
async fn a_detached_main_tree_still_takes_uncommitted_changes() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    fx.git(&["switch", "-q", "--detach"]);
    let wt = fx.worktree(1, "detached").await;
    write(&wt.path, "a.txt", "b\n");
    let files = fx.diff(&wt).await;
    apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    assert_eq!(fx.read_str("a.txt"), "b\n");
}

#[tokio::test]
async fn rejecting_everything_is_an_error() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "nothing").await;
    write(&wt.path, "a.txt", "b\n");
    let files = fx.diff(&wt).await;
    let mut sel = Selection::default();
    sel.toggle_file("a.txt");
    let err = apply_with(&fx, &wt, &files, &sel).await.unwrap_err();
    assert!(matches!(err, GitError::NothingSelected), "{err}");
    assert_eq!(fx.read_str("a.txt"), "a\n");
}

#[tokio::test]
async fn symlinks_and_type_changes_apply_as_git_would_write_them() {
    let fx = Fixture::new(&[("f", "a regular file\n"), ("target.txt", "t\n")]);
    let wt = fx.worktree(1, "symlinks").await;
    std::fs::remove_file(wt.path.join("f")).unwrap();
    std::os::unix::fs::symlink("target.txt", wt.path.join("f")).unwrap();
    std::os::unix::fs::symlink("target.txt", wt.path.join("link")).unwrap();

    let files = fx.diff(&wt).await;
    assert_eq!(
        files.len(),
        3,
        "a type change is a deletion plus an addition: {files:?}"
    );
    let outcome = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    assert_eq!(applied_files(outcome), vec!["f", "link"]);
    for link in ["f", "link"] {
        let target = std::fs::read_link(fx.repo.join(link)).unwrap();
        assert_eq!(target, std::path::Path::new("target.txt"), "{link}");
    }
}

#[tokio::test]
async fn a_file_replaced_by_a_directory_and_back() {
    let fx = Fixture::new(&[("a", "file a\n"), ("d/x.txt", "x\n")]);
    let wt = fx.worktree(1, "d/f").await;
    std::fs::remove_file(wt.path.join("a")).unwrap();
    write(&wt.path, "a/inner.txt", "now a directory\n");
    std::fs::remove_dir_all(wt.path.join("d")).unwrap();
    write(&wt.path, "d", "now a file\n");

    let files = fx.diff(&wt).await;
    let outcome = apply_with(&fx, &wt, &files, &Selection::default())
        .await
        .unwrap();
    let mut touched = applied_files(outcome);
    touched.sort();
    assert_eq!(touched, vec!["a", "a/inner.txt", "d", "d/x.txt"]);
    assert_eq!(fx.read_str("a/inner.txt"), "now a directory\n");
    assert_eq!(fx.read_str("d"), "now a file\n");
}

#[tokio::test]
async fn build_patch_output_is_accepted_by_git_apply() {
    let text = numbered(40, "l");
    let fx = Fixture::new(&[
        ("three.txt", &text),
        ("old.txt", &numbered(20, "o")),
        ("gone.txt", "g\n"),
    ]);
    fx.write("pic.bin", [0u8, 1, 2, 3]);
    fx.commit_all("bin");
    let wt = fx.worktree(1, "patch").await;
    let edited = replace_line(
        &replace_line(&replace_line(&text, 3, "first"), 20, "second"),
        37,
        "third",
    );
    write(&wt.path, "three.txt", &edited);
    std::fs::rename(wt.path.join("old.txt"), wt.path.join("new name.txt")).unwrap();
    std::fs::remove_file(wt.path.join("gone.txt")).unwrap();
    write(&wt.path, "pic.bin", [0u8, 9, 9, 9]);
    write(&wt.path, "ünï.txt", "added\n");
    let files = fx.diff(&wt).await;

    let mut sel = Selection::default();
    sel.toggle_hunk("three.txt", 1);
    let patch = build_patch(&files, &sel);
    let patch_file = fx.dir.path().join("accepted.patch");
    std::fs::write(&patch_file, &patch).unwrap();
    let patch_path = patch_file.to_string_lossy().into_owned();
    fx.git(&["apply", "--index", &patch_path]);

    assert_eq!(
        fx.read_str("three.txt"),
        replace_line(&replace_line(&text, 3, "first"), 37, "third")
    );
    assert_eq!(fx.read_str("new name.txt"), numbered(20, "o"));
    assert!(!fx.repo.join("old.txt").exists() && !fx.repo.join("gone.txt").exists());
    assert_eq!(fx.read("pic.bin"), vec![0u8, 9, 9, 9]);
    assert_eq!(fx.read_str("ünï.txt"), "added\n");
}
