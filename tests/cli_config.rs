//! The CLI without a configured project name: dispatch by path or from
//! inside a repository, and `project` / `host` add, ls and rm editing
//! config.toml without losing what else is written there.

mod common;

use common::Sandbox;

fn task_field(sandbox: &Sandbox, id: u64, field: &str) -> serde_json::Value {
    sandbox.task_json(id)[field].clone()
}

#[test]
fn dispatch_takes_a_path_or_the_repository_around_the_current_directory() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    // The CLI runs in the sandbox's repo, which is project "demo".
    let here = sandbox.dispatch(&["--agent", "fake", "idle"]);
    assert_eq!(task_field(&sandbox, here, "project"), "demo");
    let repo = sandbox.repo().join("."); // the same directory, spelled otherwise
    let by_path = sandbox.dispatch(&[
        "--project",
        repo.to_str().unwrap(),
        "--agent",
        "fake",
        "idle",
    ]);
    assert_eq!(task_field(&sandbox, by_path, "project"), "demo");
    // A repository nobody configured: a project of its own, named after it.
    let other = sandbox.make_repo("widgets");
    let adhoc = sandbox.dispatch(&[
        "--project",
        other.to_str().unwrap(),
        "--agent",
        "fake",
        "idle",
    ]);
    assert_eq!(task_field(&sandbox, adhoc, "project"), "widgets");
    let cwd = task_field(&sandbox, adhoc, "cwd");
    assert!(
        cwd.as_str().unwrap().contains("worktrees/widgets/"),
        "{cwd}"
    );
    // A path that is nothing.
    let (code, _, err) = sandbox.cli(&[
        "dispatch",
        "--project",
        "/no/such/dir",
        "--agent",
        "fake",
        "x",
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no project or directory \"/no/such/dir\"; configured projects: demo"),
        "{err}"
    );
    // --help says what the flags take.
    let (_, help, _) = sandbox.cli(&["dispatch", "--help"]);
    assert!(help.contains("or a directory"), "{help}");
}

#[test]
fn projects_and_hosts_are_added_listed_and_removed_keeping_the_rest() {
    let sandbox = Sandbox::new();
    sandbox.write_config("# my settings, keep me\n[settings]\nstop_grace_secs = 2 # short\n");
    let config = sandbox.fd_home().join("config/config.toml");
    let other = sandbox.make_repo("widgets");
    let (code, out, err) = sandbox.cli(&["project", "add", other.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        format!("added project widgets ({})", other.display())
    );
    let (code, _, err) = sandbox.cli(&["project", "add", other.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("is project \"widgets\" already"), "{err}");
    let (_, out, _) = sandbox.cli(&["project", "ls"]);
    assert!(out.contains("demo") && out.contains("widgets"), "{out}");

    let (code, out, err) = sandbox.cli(&["host", "add", "me@10.0.0.5:2222"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "added host 10.0.0.5");
    let (_, out, _) = sandbox.cli(&["host", "ls"]);
    assert!(out.contains("me@10.0.0.5:2222"), "{out}");
    let (code, _, err) = sandbox.cli(&["host", "add", "me@box:0"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a port"), "{err}");

    let (code, out, _) = sandbox.cli(&["project", "rm", "widgets"]);
    assert_eq!((code, out.trim()), (0, "removed project widgets"));
    let (code, out, _) = sandbox.cli(&["host", "rm", "10.0.0.5"]);
    assert_eq!((code, out.trim()), (0, "removed host 10.0.0.5"));
    let (code, _, err) = sandbox.cli(&["project", "rm", "widgets"]);
    assert_eq!(code, 2);
    assert!(err.contains("no project \"widgets\""), "{err}");
    // What the user wrote is still there, and the file still loads.
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("# my settings, keep me") && text.contains("stop_grace_secs = 2 # short"),
        "{text}"
    );
    assert!(
        !text.contains("widgets") && !text.contains("10.0.0.5"),
        "{text}"
    );
    let (_, out, _) = sandbox.cli(&["project", "ls", "--json"]);
    let projects: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(projects.as_array().unwrap().len(), 1);
}
