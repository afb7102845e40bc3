//! The Merge and Squash strategies: commit graphs, refusals that leave the
//! main tree untouched, and detached HEADs.

mod git_common;

use flightdeck::git::{
    ApplyOutcome, ApplyRequest, FileDiff, GitError, Selection, Strategy, Worktree, apply,
    loss_report,
};
use git_common::{Fixture, commit_all, git, host, numbered, replace_line, write};

async fn apply_with(
    fx: &Fixture,
    wt: &Worktree,
    files: &[FileDiff],
    selection: &Selection,
    strategy: Strategy,
) -> Result<ApplyOutcome, GitError> {
    let req = ApplyRequest {
        repo: fx.repo.clone(),
        worktree: wt,
        files,
        selection,
        strategy,
    };
    apply(&host(), &req).await
}

/// A merge titled the default way (the worktree's slug).
fn merge() -> Strategy {
    Strategy::Merge { message: None }
}

fn squash(message: &str) -> Strategy {
    Strategy::Squash {
        message: message.into(),
    }
}

/// `git log` lines "<parents> | <subject>" from HEAD, first parents only.
fn graph(fx: &Fixture, n: usize) -> Vec<String> {
    fx.git(&[
        "log",
        "--first-parent",
        &format!("-{n}"),
        "--format=%P | %s",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

/// A message the user wrote (or the prompt's first line, which the daemon
/// passes) titles the task's commit, and the merge after its first line.
#[tokio::test]
async fn a_merge_message_titles_both_commits() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(5, "fix the login form").await;
    write(&wt.path, "a.txt", "changed\n");
    let files = fx.diff(&wt).await;
    let strategy = Strategy::Merge {
        message: Some("Fix the login form\n\nIt lost the password field.".into()),
    };
    let outcome = apply_with(&fx, &wt, &files, &Selection::default(), strategy)
        .await
        .unwrap();
    let ApplyOutcome::Applied { commit, .. } = outcome else {
        panic!("{outcome:?}");
    };
    let merge = commit.unwrap();
    assert_eq!(
        fx.git(&["log", "-1", "--format=%s", &merge]).trim(),
        "Merge flightdeck task 5: Fix the login form"
    );
    let task_commit = format!("{merge}^2");
    assert_eq!(
        fx.git(&["log", "-1", "--format=%B", &task_commit]).trim(),
        "Fix the login form\n\nIt lost the password field."
    );
}

#[tokio::test]
async fn merge_commits_on_the_task_branch_and_merges_it() {
    let fx = Fixture::new(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let wt = fx.worktree(4, "merge me").await;
    write(&wt.path, "a.txt", "agent committed\n");
    let agent_commit = commit_all(&wt.path, "agent commit");
    write(&wt.path, "b.txt", "uncommitted\n");
    write(&wt.path, "c.txt", "new\n");
    fx.write("mine.txt", "unrelated dirty\n");
    let old_head = fx.head();

    let files = fx.diff(&wt).await;
    let outcome = apply_with(&fx, &wt, &files, &Selection::default(), merge())
        .await
        .unwrap();
    let ApplyOutcome::Applied { mut files, commit } = outcome else {
        panic!("{outcome:?}");
    };
    files.sort();
    assert_eq!(files, vec!["a.txt", "b.txt", "c.txt"]);
    let merge = commit.unwrap();
    assert_eq!(fx.head(), merge);
    let parents = fx.git(&["log", "-1", "--format=%P", &merge]);
    let parents: Vec<&str> = parents.split_whitespace().collect();
    assert_eq!(parents.len(), 2);
    assert_eq!(parents[0], old_head);
    assert_eq!(
        fx.git(&["log", "-1", "--format=%s", &merge]).trim(),
        "Merge flightdeck task 4: merge-me"
    );
    // The task commit sits on the agent's commit, and the branch points at it.
    let task_commit = parents[1];
    assert_eq!(
        fx.git(&["rev-parse", &format!("{task_commit}^")]).trim(),
        agent_commit
    );
    assert_eq!(fx.git(&["rev-parse", &wt.branch]).trim(), task_commit);

    assert_eq!(fx.read_str("a.txt"), "agent committed\n");
    assert_eq!(fx.read_str("b.txt"), "uncommitted\n");
    assert_eq!(fx.read_str("c.txt"), "new\n");
    assert_eq!(fx.read_str("mine.txt"), "unrelated dirty\n");
    assert_eq!(fx.git(&["status", "--porcelain"]), "?? mine.txt\n");
    // Nothing is lost by discarding now: every commit is on main.
    let report = loss_report(&host(), &fx.repo, &wt).await.unwrap();
    assert!(report.unmerged_commits.is_empty(), "{report:?}");
}

#[tokio::test]
async fn squash_makes_one_commit_with_the_operators_message() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "squash").await;
    write(&wt.path, "a.txt", "one\n");
    commit_all(&wt.path, "agent 1");
    write(&wt.path, "b.txt", "two\n");
    commit_all(&wt.path, "agent 2");
    let tip = git(&wt.path, &["rev-parse", "HEAD"]);
    let old_head = fx.head();

    let files = fx.diff(&wt).await;
    let outcome = apply_with(
        &fx,
        &wt,
        &files,
        &Selection::default(),
        squash("Add a and b\n\nBody."),
    )
    .await
    .unwrap();
    let ApplyOutcome::Applied { commit, .. } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(fx.head(), commit.unwrap());
    assert_eq!(
        graph(&fx, 2),
        vec![
            format!("{old_head} | Add a and b"),
            " | initial".to_string()
        ]
    );
    assert_eq!(fx.git(&["log", "-1", "--format=%b"]).trim(), "Body.");
    assert_eq!(fx.read_str("b.txt"), "two\n");
    assert_eq!(
        fx.git(&["rev-parse", &wt.branch]),
        tip,
        "task branch unchanged"
    );
    assert_eq!(fx.git(&["status", "--porcelain"]), "");
}

#[tokio::test]
async fn merge_after_the_main_branch_moved_on() {
    let text = numbered(30, "l");
    let fx = Fixture::new(&[("shared.txt", &text)]);
    let wt = fx.worktree(1, "moved").await;
    write(&wt.path, "shared.txt", replace_line(&text, 29, "task"));
    fx.write("shared.txt", replace_line(&text, 2, "upstream"));
    let upstream = fx.commit_all("upstream");

    let files = fx.diff(&wt).await;
    for strategy in [merge(), squash("squashed")] {
        fx.git(&["reset", "-q", "--hard", &upstream]);
        let outcome = apply_with(&fx, &wt, &files, &Selection::default(), strategy)
            .await
            .unwrap();
        assert!(
            matches!(outcome, ApplyOutcome::Applied { .. }),
            "{outcome:?}"
        );
        let expected = replace_line(&replace_line(&text, 2, "upstream"), 29, "task");
        assert_eq!(fx.read_str("shared.txt"), expected);
        assert_eq!(fx.git(&["rev-parse", "HEAD^"]).trim(), upstream);
    }
}

#[tokio::test]
async fn merge_conflicts_are_refused_with_the_tree_untouched() {
    let text = numbered(10, "l");
    let fx = Fixture::new(&[("shared.txt", &text), ("ok.txt", "ok\n")]);
    let wt = fx.worktree(1, "conflict").await;
    write(&wt.path, "shared.txt", replace_line(&text, 5, "task"));
    write(&wt.path, "ok.txt", "task\n");
    let tip = git(&wt.path, &["rev-parse", "HEAD"]);
    fx.write("shared.txt", replace_line(&text, 5, "upstream"));
    fx.commit_all("upstream");
    fx.write("dirty.txt", "mine\n");
    let before = fx.snapshot();

    let files = fx.diff(&wt).await;
    for strategy in [merge(), squash("x")] {
        let outcome = apply_with(&fx, &wt, &files, &Selection::default(), strategy)
            .await
            .unwrap();
        let ApplyOutcome::Conflicted { files, reason } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(files, vec!["shared.txt"]);
        assert!(reason.contains("main"), "{reason}");
        assert_eq!(fx.snapshot(), before);
        assert_eq!(
            git(&wt.path, &["rev-parse", "HEAD"]),
            tip,
            "task branch not moved"
        );
    }
}

#[tokio::test]
async fn overlapping_uncommitted_changes_refuse_merge_and_squash() {
    let fx = Fixture::new(&[("a.txt", "a\n"), ("b.txt", "b\n")]);
    let wt = fx.worktree(1, "dirty").await;
    write(&wt.path, "a.txt", "task\n");
    write(&wt.path, "new.txt", "task\n");
    fx.write("a.txt", "my uncommitted edit\n");
    fx.write("new.txt", "my untracked file\n");
    fx.write("b.txt", "unrelated\n");
    let before = fx.snapshot();

    let files = fx.diff(&wt).await;
    for strategy in [merge(), squash("x")] {
        let outcome = apply_with(&fx, &wt, &files, &Selection::default(), strategy)
            .await
            .unwrap();
        let ApplyOutcome::Conflicted { files, .. } = outcome else {
            panic!("{outcome:?}");
        };
        assert_eq!(files, vec!["a.txt", "new.txt"]);
        assert_eq!(fx.snapshot(), before);
    }
}

#[tokio::test]
async fn partial_squash_commits_only_the_accepted_hunks() {
    let text = numbered(40, "l");
    let fx = Fixture::new(&[("three.txt", &text)]);
    let wt = fx.worktree(1, "partial").await;
    let edited = replace_line(
        &replace_line(&replace_line(&text, 3, "first"), 20, "second"),
        37,
        "third",
    );
    write(&wt.path, "three.txt", &edited);
    write(&wt.path, "rejected.txt", "no\n");
    let files = fx.diff(&wt).await;
    let mut sel = Selection::default();
    sel.toggle_hunk("three.txt", 1);
    sel.toggle_file("rejected.txt");

    let outcome = apply_with(&fx, &wt, &files, &sel, merge()).await.unwrap();
    assert!(
        matches!(outcome, ApplyOutcome::Applied { .. }),
        "{outcome:?}"
    );
    let expected = replace_line(&replace_line(&text, 3, "first"), 37, "third");
    assert_eq!(fx.git(&["show", "HEAD:three.txt"]), expected);
    assert_eq!(fx.read_str("three.txt"), expected);
    assert!(!fx.repo.join("rejected.txt").exists());
    assert_eq!(fx.git(&["status", "--porcelain"]), "");
    // The worktree's files still hold the whole change, rejected parts included.
    let again = fx.diff(&wt).await;
    assert_eq!(again, files);
}

#[tokio::test]
async fn a_detached_main_tree_refuses_merge_and_squash() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "detached").await;
    write(&wt.path, "a.txt", "b\n");
    fx.git(&["switch", "-q", "--detach"]);
    let before = fx.snapshot();
    let files = fx.diff(&wt).await;
    for strategy in [merge(), squash("x")] {
        let err = apply_with(&fx, &wt, &files, &Selection::default(), strategy)
            .await
            .unwrap_err();
        assert!(matches!(err, GitError::DetachedHead { .. }), "{err}");
        assert!(err.to_string().contains("detached HEAD"));
        assert_eq!(fx.snapshot(), before);
    }
}

#[tokio::test]
async fn commits_work_without_a_configured_identity() {
    let fx = Fixture::empty();
    fx.write("a.txt", "a\n");
    fx.git(&["add", "a.txt"]);
    fx.git(&[
        "-c",
        "user.name=Setup",
        "-c",
        "user.email=setup@example.com",
        "commit",
        "-q",
        "-m",
        "initial",
    ]);
    let wt = fx.worktree(1, "anonymous").await;
    write(&wt.path, "a.txt", "b\n");
    let files = fx.diff(&wt).await;
    let outcome = apply_with(
        &fx,
        &wt,
        &files,
        &Selection::default(),
        squash("no identity"),
    )
    .await
    .unwrap();
    assert!(
        matches!(outcome, ApplyOutcome::Applied { .. }),
        "{outcome:?}"
    );
    assert_eq!(
        fx.git(&["log", "-1", "--format=%an <%ae>"]).trim(),
        "flightdeck <flightdeck@localhost>"
    );
}

#[tokio::test]
async fn the_users_commits_are_never_rewritten() {
    let fx = Fixture::new(&[("a.txt", "a\n")]);
    let wt = fx.worktree(1, "history").await;
    fx.write("mine.txt", "mine\n");
    let mine = fx.commit_all("my commit");
    write(&wt.path, "task.txt", "task\n");
    let files = fx.diff(&wt).await;
    apply_with(&fx, &wt, &files, &Selection::default(), merge())
        .await
        .unwrap();
    let ancestor = fx.git(&["merge-base", "--is-ancestor", &mine, "HEAD"]);
    assert_eq!(ancestor, "");
    assert_eq!(fx.git(&["rev-parse", "HEAD^"]).trim(), mine);
}

#[tokio::test]
async fn changes_already_applied_are_not_lost_by_discarding() {
    let fx = Fixture::new(&[("a.txt", "a\n"), ("gone.txt", "x\n")]);
    let wt = fx.worktree(1, "applied").await;
    write(&wt.path, "a.txt", "changed\n");
    write(&wt.path, "new.txt", "new\n");
    std::fs::remove_file(wt.path.join("gone.txt")).unwrap();
    let report = loss_report(&host(), &fx.repo, &wt).await.unwrap();
    assert_eq!(report.changed_files.len(), 3, "{report:?}");
    let files = fx.diff(&wt).await;
    apply_with(
        &fx,
        &wt,
        &files,
        &Selection::default(),
        Strategy::Uncommitted,
    )
    .await
    .unwrap();
    // Everything is in the main tree now: discarding loses nothing.
    let report = loss_report(&host(), &fx.repo, &wt).await.unwrap();
    assert!(report.is_empty(), "{report:?}");
    // Work the agent did after the apply would be lost.
    write(&wt.path, "a.txt", "changed again\n");
    let report = loss_report(&host(), &fx.repo, &wt).await.unwrap();
    assert_eq!(report.changed_files, ["a.txt"]);
}
