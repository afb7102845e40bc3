//! End to end, issue 3: the fake agent edits files in its own worktree; the
//! operator reviews the diff, rejects one hunk, applies the rest, and the
//! main tree has exactly the accepted changes. Then discard cleans up.

mod common;

use common::{Sandbox, git, git_commit, wait_for_condition};

const CTRL_S: &str = "\x13";

fn numbered(changes: &[(usize, &str)]) -> String {
    (1..=30)
        .map(|i| match changes.iter().find(|(n, _)| *n == i) {
            Some((_, text)) => text.to_string(),
            None => format!("line{i:02}"),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn review_reject_one_hunk_apply_then_discard() {
    let sandbox = Sandbox::new();
    let repo = sandbox.repo();
    std::fs::write(repo.join("src.txt"), numbered(&[])).unwrap();
    git(&repo, &["add", "."]);
    git_commit(&repo, "numbers");
    sandbox.write_config("");

    // The agent rewrites three far-apart lines and adds a file.
    let edited = numbered(&[(2, "TWO"), (15, "FIFTEEN"), (28, "TWENTY-EIGHT")]);
    let prompt = format!(
        "write:src.txt={} write:notes.md=new lines=1",
        edited.replace('\n', "\\n")
    );
    let mut tui = sandbox.spawn(&[], 140, 40, &[]);
    tui.wait_for("✓ fake");
    tui.send("n");
    tui.wait_for("New task");
    tui.wait_for("new worktree");
    tui.send(&prompt);
    tui.send(CTRL_S);
    tui.wait_for("exited 0");
    // The live diff shows in the task list.
    tui.wait_for("2f +4 −3");
    // The main tree is untouched so far.
    assert_eq!(
        std::fs::read_to_string(repo.join("src.txt")).unwrap(),
        numbered(&[])
    );

    tui.send("d");
    tui.wait_for("Review #1");
    tui.wait_for("notes.md");
    tui.send("j"); // the second file: src.txt
    tui.wait_for("@@ -1,5 +1,5 @@");
    tui.send("\t"); // into the diff
    tui.send("n"); // the second hunk (line 15)
    tui.send("s"); // reject it
    tui.wait_for("[ ] @@ -12,7 +12,7 @@");
    tui.wait_for("[~] M +3 −3 src.txt");
    tui.send("a");
    tui.wait_for("Apply accepted changes");
    tui.send("\r"); // as uncommitted changes
    tui.wait_for("applied 2 file(s)");
    tui.send("\x1b");
    tui.wait_for("partial 2f");

    assert_eq!(
        std::fs::read_to_string(repo.join("src.txt")).unwrap(),
        numbered(&[(2, "TWO"), (28, "TWENTY-EIGHT")])
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("notes.md")).unwrap(),
        "new"
    );
    // Uncommitted: HEAD and the index did not move.
    assert_eq!(git(&repo, &["log", "--oneline"]).lines().count(), 2);
    assert_eq!(git(&repo, &["diff", "--cached", "--name-only"]), "");

    // Discard asks (the worktree holds changes), then removes worktree and branch.
    tui.send("D");
    tui.wait_for("Discard task #1? This would lose work:");
    tui.wait_for("src.txt");
    tui.send("y");
    tui.wait_for("discarded task #1");
    let worktree = sandbox.fd_home().join("data/worktrees/demo/1");
    wait_for_condition("the worktree to go", || !worktree.exists());
    assert!(!git(&repo, &["branch", "--list", "flightdeck/*"]).contains("flightdeck/"));
    assert_eq!(git(&repo, &["worktree", "list"]).lines().count(), 1);
}

#[test]
fn cli_diff_and_apply_with_merge() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let id = sandbox
        .dispatch(&[
            "--project",
            "demo",
            "--agent",
            "fake",
            "--headless",
            "write:README.md=changed\n write:added.txt=hi",
        ])
        .to_string();
    sandbox.wait_for_state("exited");
    let (code, diff, err) = sandbox.cli(&["diff", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(
        diff.contains("+++ b/added.txt") && diff.contains("+hi"),
        "{diff}"
    );
    let (code, out, err) = sandbox.cli(&["apply", &id, "--strategy", "merge"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 2 file(s)"), "{out}");
    let repo = sandbox.repo();
    assert_eq!(
        std::fs::read_to_string(repo.join("added.txt")).unwrap(),
        "hi"
    );
    let log = git(&repo, &["log", "--oneline", "-1"]);
    assert!(log.contains("Merge flightdeck task 1"), "{log}");
    // Applying again is refused: nothing left that is not already there.
    let (_, out, _) = sandbox.cli(&["ls", "--json"]);
    assert!(out.contains("\"status\": \"applied\""), "{out}");
}

#[test]
fn project_setup_runs_in_the_worktree_before_the_agent() {
    let sandbox = Sandbox::new();
    std::fs::write(sandbox.repo().join(".gitignore"), ".env\n").unwrap();
    std::fs::write(sandbox.repo().join(".env"), "SECRET=1\n").unwrap();
    std::fs::write(sandbox.repo().join(".worktreeinclude"), ".env\n").unwrap();
    git(&sandbox.repo(), &["add", ".gitignore", ".worktreeinclude"]);
    git_commit(&sandbox.repo(), "include");
    // The setup proves it ran in the worktree, with the .env copied in.
    let config =
        "[[project]]\nname = \"setup\"\npath = {repo:?}\nsetup = \"cat .env > setup-ran.txt\"\n";
    let config = config.replace(
        "{repo:?}",
        &format!("{:?}", sandbox.repo().display().to_string()),
    );
    sandbox.write_config(&config);
    let id = sandbox
        .dispatch(&[
            "--project",
            "setup",
            "--agent",
            "fake",
            "--headless",
            "lines=1",
        ])
        .to_string();
    sandbox.wait_for_state("exited");
    let log = sandbox.log(id.parse().unwrap());
    assert!(log.contains("$ cat .env > setup-ran.txt"), "{log}");
    let worktree = sandbox.fd_home().join(format!("data/worktrees/setup/{id}"));
    assert_eq!(
        std::fs::read_to_string(worktree.join("setup-ran.txt")).unwrap(),
        "SECRET=1\n"
    );
    // A failing setup stops the agent from starting.
    let failing = config
        .replace("cat .env > setup-ran.txt", "exit 7")
        .replace("name = \"setup\"", "name = \"broken\"");
    sandbox.write_config(&failing);
    let (_, out, _) = sandbox.cli(&[
        "dispatch",
        "--project",
        "broken",
        "--agent",
        "fake",
        "--headless",
        "lines=1",
    ]);
    let id: u64 = out.trim().parse().unwrap();
    wait_for_condition("the setup to fail", || {
        sandbox.cli(&["ls", "--json"]).1.contains("\"code\": 7")
    });
    let log = sandbox.log(id);
    assert!(
        log.contains("flightdeck: setup failed (exit 7)") && !log.contains("fake-agent 1.2.3"),
        "{log}"
    );
}
