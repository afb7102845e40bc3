//! Worktree lifecycle on real repositories: creation, naming, errors,
//! `.worktreeinclude`, concurrency, crash recovery, loss report and removal.

mod git_common;

use std::path::Path;

use flightdeck::git::{
    GitError, WorktreeRequest, create_worktree, loss_report, recover, remove_worktree,
};
use git_common::{Fixture, commit_all, git, host, write};

#[tokio::test]
async fn creates_a_worktree_on_a_new_branch_from_head() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let head = fx.head();
    let wt = fx.worktree(7, "Fix the login bug, please!").await;

    assert_eq!(wt.path, fx.root.join("7"));
    assert_eq!(wt.branch, "flightdeck/7-fix-the-login-bug-please");
    assert_eq!(wt.base_commit, head);
    assert_eq!(wt.task_id, 7);
    assert!(wt.warnings.is_empty(), "{:?}", wt.warnings);
    assert_eq!(
        std::fs::read_to_string(wt.path.join("a.txt")).unwrap(),
        "a\n"
    );
    assert_eq!(git(&wt.path, &["rev-parse", "HEAD"]).trim(), head);
    assert_eq!(
        git(&wt.path, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/flightdeck/7-fix-the-login-bug-please"
    );
    assert_eq!(fx.worktree_paths().len(), 2);
    assert!(!fx.root.join(".7.creating").exists(), "marker removed");
}

#[tokio::test]
async fn base_can_be_a_branch_and_a_detached_head_is_fine() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    fx.git(&["switch", "-q", "-c", "feature"]);
    fx.write("a.txt", "feature\n");
    let feature = fx.commit_all("feature work");
    fx.git(&["switch", "-q", "main"]);

    let mut req = fx.request(1, "on feature");
    req.base = Some("feature".into());
    let wt = create_worktree(&host(), &req).await.unwrap();
    assert_eq!(wt.base_commit, feature);
    assert_eq!(
        std::fs::read_to_string(wt.path.join("a.txt")).unwrap(),
        "feature\n"
    );

    fx.git(&["switch", "-q", "--detach", "main"]);
    let wt2 = fx.worktree(2, "detached").await;
    assert_eq!(wt2.base_commit, fx.head());

    let mut bad = fx.request(3, "nope");
    bad.base = Some("no-such-branch".into());
    let err = create_worktree(&host(), &bad).await.unwrap_err();
    assert!(matches!(err, GitError::BaseNotFound { .. }), "{err}");
    bad.base = Some("--output=/tmp/x".into());
    let err = create_worktree(&host(), &bad).await.unwrap_err();
    assert!(matches!(err, GitError::BaseNotFound { .. }), "{err}");
}

#[tokio::test]
async fn an_existing_branch_name_gets_a_suffix_and_is_left_alone() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let first = fx.head();
    fx.git(&["branch", "flightdeck/1-fix-bug"]);
    fx.write("a.txt", "b\n");
    fx.commit_all("second");

    let wt = fx.worktree(1, "fix bug").await;
    assert_eq!(wt.branch, "flightdeck/1-fix-bug-2");
    assert_eq!(fx.git(&["rev-parse", "flightdeck/1-fix-bug"]).trim(), first);

    fx.git(&["branch", "flightdeck/2-fix-bug"]);
    fx.git(&["branch", "flightdeck/2-fix-bug-2"]);
    let wt2 = fx.worktree(2, "fix bug").await;
    assert_eq!(wt2.branch, "flightdeck/2-fix-bug-3");
}

#[tokio::test]
async fn clear_errors_for_an_empty_repository_and_a_plain_directory() {
    let empty = Fixture::empty();
    let err = create_worktree(&host(), &empty.request(1, "x"))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::NoCommits { .. }), "{err}");
    assert!(err.to_string().contains("no commits"), "{err}");
    assert!(!empty.root.join(".1.creating").exists());

    let plain = tempfile::tempdir().unwrap();
    let req = WorktreeRequest {
        repo: plain.path().to_path_buf(),
        root: plain.path().join("wt"),
        task_id: 1,
        slug: "x".into(),
        base: None,
    };
    let err = create_worktree(&host(), &req).await.unwrap_err();
    assert!(matches!(err, GitError::NotARepo { .. }), "{err}");
    assert!(err.to_string().contains("not a git repository"), "{err}");

    let missing = WorktreeRequest {
        repo: plain.path().join("does-not-exist"),
        ..req
    };
    let err = create_worktree(&host(), &missing).await.unwrap_err();
    assert!(matches!(err, GitError::NotARepo { .. }), "{err}");
}

#[tokio::test]
async fn worktreeinclude_copies_ignored_files() {
    let fx = Fixture::new(&[
        (".gitignore", ".env\nconfig/local/\n*.secret\n"),
        (".worktreeinclude", "# local setup\n.env\nconfig/local/\n"),
        ("tracked.txt", "tracked\n"),
    ]);
    fx.write(".env", "TOKEN=abc\n");
    fx.write("config/local/settings.json", "{\"debug\": true}\n");
    fx.write("config/local/deep/x.txt", "x\n");
    fx.write("other.secret", "not listed\n");
    fx.write("tracked.txt", "dirty in main\n");
    git_common::set_executable(&fx.repo.join(".env"));

    let wt = fx.worktree(1, "include").await;
    let read = |p: &str| std::fs::read_to_string(wt.path.join(p)).ok();
    assert_eq!(read(".env").as_deref(), Some("TOKEN=abc\n"));
    assert_eq!(
        read("config/local/settings.json").as_deref(),
        Some("{\"debug\": true}\n")
    );
    assert_eq!(read("config/local/deep/x.txt").as_deref(), Some("x\n"));
    assert_eq!(read("other.secret"), None, "not in .worktreeinclude");
    assert_eq!(
        read("tracked.txt").as_deref(),
        Some("tracked\n"),
        "from the base commit"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(wt.path.join(".env"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "cp -p keeps the mode");
    // The copies are ignored in the worktree too, so they never show in a diff.
    assert!(fx.diff(&wt).await.is_empty());
}

#[tokio::test]
async fn two_worktrees_created_at_once_on_one_repo() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let (h1, h2) = (host(), host());
    let (r1, r2) = (fx.request(1, "same words"), fx.request(2, "same words"));
    let (a, b) = tokio::join!(create_worktree(&h1, &r1), create_worktree(&h2, &r2));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.branch, b.branch);
    assert_ne!(a.path, b.path);
    assert_eq!(fx.worktree_paths().len(), 3);
    let mut branches = fx.branches();
    branches.sort();
    assert_eq!(
        branches,
        vec!["flightdeck/1-same-words", "flightdeck/2-same-words", "main"]
    );
}

#[tokio::test]
async fn submodules_are_reported_as_not_initialised() {
    let sub = Fixture::new(&[("lib.txt", "lib\n")]);
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let sub_path = sub.repo.to_string_lossy().into_owned();
    fx.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &sub_path,
        "vendor/lib",
    ]);
    fx.commit_all("add submodule");
    let wt = fx.worktree(1, "with submodule").await;
    assert_eq!(wt.warnings.len(), 1, "{:?}", wt.warnings);
    assert!(wt.warnings[0].contains("submodule"));
    assert!(fx.diff(&wt).await.is_empty());
}

#[tokio::test]
async fn recover_cleans_up_after_a_crash_and_spares_live_worktrees() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let base = fx.head();
    let live = fx.worktree(1, "live").await;
    write(&live.path, "agent-notes.txt", "untracked work\n");
    let vanished = fx.worktree(2, "vanished").await;
    std::fs::remove_dir_all(&vanished.path).unwrap();

    // Crash before `worktree add`: a marker and a half-made directory.
    write(
        &fx.root,
        ".3.creating",
        format!("branch=flightdeck/3-x\nbase={base}\n"),
    );
    write(&fx.root, "3/partial.txt", "half\n");
    // Crash after `worktree add`: registered, with its branch, marker still there.
    let four = fx.root.join("4").to_string_lossy().into_owned();
    fx.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "flightdeck/4-y",
        &four,
        &base,
    ]);
    write(
        &fx.root,
        ".4.creating",
        format!("branch=flightdeck/4-y\nbase={base}\n"),
    );
    // A leftover directory git does not know.
    write(&fx.root, "5/junk.txt", "junk\n");
    // Not ours: never touched.
    write(&fx.root, "notes/keep.txt", "keep\n");

    let report = recover(&host(), &fx.repo, &fx.root).await.unwrap();
    let text = report.join("\n");
    for needle in [
        "task 2:",
        "branch flightdeck/2-vanished is kept",
        "task 3:",
        "task 4:",
        "task 5:",
        "flightdeck/4-y",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    assert!(!text.contains("task 1:"), "{text}");

    assert!(
        live.path.join("agent-notes.txt").exists(),
        "live worktree untouched"
    );
    for gone in ["3", "4", "5", ".3.creating", ".4.creating"] {
        assert!(!fx.root.join(gone).exists(), "{gone} still there");
    }
    assert!(fx.root.join("notes/keep.txt").exists());
    let paths = fx.worktree_paths();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths[1].ends_with("/1"));
    let branches = fx.branches();
    assert!(
        branches.contains(&"flightdeck/2-vanished".to_string()),
        "kept: may hold commits"
    );
    assert!(
        !branches.contains(&"flightdeck/4-y".to_string()),
        "unused branch deleted"
    );

    assert!(
        recover(&host(), &fx.repo, &fx.root)
            .await
            .unwrap()
            .is_empty()
    );
    let missing_root = fx.dir.path().join("nowhere");
    assert!(
        recover(&host(), &fx.repo, &missing_root)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn recover_keeps_a_branch_that_gained_commits() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let base = fx.head();
    fx.git(&["branch", "flightdeck/3-z"]);
    fx.git(&["switch", "-q", "flightdeck/3-z"]);
    fx.write("a.txt", "moved\n");
    fx.commit_all("moved on");
    fx.git(&["switch", "-q", "main"]);
    write(
        &fx.root,
        ".3.creating",
        format!("branch=flightdeck/3-z\nbase={base}\n"),
    );

    let report = recover(&host(), &fx.repo, &fx.root).await.unwrap();
    assert!(
        report.join("\n").contains("kept branch flightdeck/3-z"),
        "{report:?}"
    );
    assert!(fx.branches().contains(&"flightdeck/3-z".to_string()));
}

#[tokio::test]
async fn loss_report_names_uncommitted_files_and_unmerged_commits() {
    let fx = Fixture::new(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let wt = fx.worktree(1, "lossy").await;
    assert!(
        loss_report(&host(), &fx.repo, &wt)
            .await
            .unwrap()
            .is_empty()
    );

    write(&wt.path, "a.txt", "agent\n");
    commit_all(&wt.path, "agent commit");
    write(&wt.path, "b.txt", "edited\n");
    write(&wt.path, "new dir/new file.txt", "new\n");
    write(&wt.path, "ignored.log", "x\n");
    write(&wt.path, ".gitignore", "*.log\n");

    let report = loss_report(&host(), &fx.repo, &wt).await.unwrap();
    let mut files = report.changed_files.clone();
    files.sort();
    assert_eq!(files, vec![".gitignore", "b.txt", "new dir/new file.txt"]);
    assert_eq!(report.unmerged_commits.len(), 1, "{report:?}");
    assert!(report.unmerged_commits[0].ends_with(" agent commit"));

    // Commits also reachable from another branch are not lost.
    let tip = git(&wt.path, &["rev-parse", "HEAD"]);
    fx.git(&["branch", "keep", tip.trim()]);
    let report = loss_report(&host(), &fx.repo, &wt).await.unwrap();
    assert!(report.unmerged_commits.is_empty(), "{report:?}");
}

#[tokio::test]
async fn remove_worktree_leaves_no_worktree_or_branch_behind() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "remove me").await;
    write(&wt.path, "untracked.txt", "agent leftovers\n");
    write(&wt.path, "a.txt", "dirty\n");
    let kept = fx.worktree(2, "keep branch").await;

    remove_worktree(&host(), &fx.repo, &wt, true).await.unwrap();
    assert!(!wt.path.exists());
    assert_eq!(fx.worktree_paths().len(), 2);
    assert!(!fx.branches().contains(&wt.branch));

    remove_worktree(&host(), &fx.repo, &kept, false)
        .await
        .unwrap();
    assert_eq!(fx.worktree_paths().len(), 1);
    assert!(fx.branches().contains(&kept.branch));
    assert_eq!(fx.read_str("a.txt"), "a\n", "main tree untouched");
}

#[tokio::test]
async fn remove_worktree_works_after_the_directory_was_deleted_by_hand() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "gone").await;
    std::fs::remove_dir_all(&wt.path).unwrap();
    let report = loss_report(&host(), &fx.repo, &wt).await.unwrap();
    assert!(report.is_empty(), "{report:?}");
    remove_worktree(&host(), &fx.repo, &wt, true).await.unwrap();
    assert_eq!(fx.worktree_paths().len(), 1);
    assert_eq!(fx.branches(), vec!["main"]);
    // Removing twice is harmless.
    remove_worktree(&host(), &fx.repo, &wt, true).await.unwrap();
}

#[tokio::test]
async fn worktree_root_may_be_reached_through_a_symlink() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let real = fx.dir.path().join("real-data");
    std::fs::create_dir_all(&real).unwrap();
    let link = fx.dir.path().join("link-data");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut req = fx.request(1, "linked");
    req.root = link.clone();
    let wt = create_worktree(&host(), &req).await.unwrap();
    assert!(recover(&host(), &fx.repo, &link).await.unwrap().is_empty());
    assert!(
        wt.path.exists(),
        "a live worktree behind a symlink is not a leftover"
    );
    remove_worktree(&host(), &fx.repo, &wt, true).await.unwrap();
    assert!(!Path::new(&real).join("1").exists());
    assert_eq!(fx.worktree_paths().len(), 1);
}

#[tokio::test]
async fn an_existing_worktree_for_the_task_id_is_never_reused_or_removed() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "first").await;
    write(&wt.path, "work.txt", "agent work\n");
    let err = create_worktree(&host(), &fx.request(1, "again"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
    assert!(wt.path.join("work.txt").exists());

    // A plain directory in the way: git refuses, and nothing of it is touched.
    write(&fx.root, "2/precious.txt", "keep\n");
    assert!(
        create_worktree(&host(), &fx.request(2, "blocked"))
            .await
            .is_err()
    );
    assert!(fx.root.join("2/precious.txt").exists());
    assert!(!fx.root.join(".2.creating").exists());
    assert!(!fx.branches().iter().any(|b| b.starts_with("flightdeck/2-")));
}
