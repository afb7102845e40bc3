//! Attention end to end: the fake agent's hooks (called as claude and codex
//! call theirs), terminal signals and screen rules reach the daemon and show
//! in `ls --json` and `wait`; a hook never holds its agent up.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use common::{Sandbox, fake_agent_bin, flightdeck_bin, wait_for_condition};

/// The fake agent as claude (hooks through `--settings`) and as codex
/// (`-c notify=…`).
fn hooked_config() -> String {
    format!(
        "[[agent]]\nid = \"fakeclaude\"\nname = \"Fake claude\"\nbinary = {bin:?}\nhooks = \"claude\"\n\n\
         [[agent]]\nid = \"fakecodex\"\nname = \"Fake codex\"\nbinary = {bin:?}\nhooks = \"codex\"\n",
        bin = fake_agent_bin()
    )
}

fn dispatch(sandbox: &Sandbox, agent: &str, prompt: &str) -> u64 {
    sandbox.dispatch(&["--project", "demo", "--agent", agent, prompt])
}

/// `flightdeck wait ID --for STATE`: (exit code, what it printed).
fn wait(sandbox: &Sandbox, id: u64, state: &str, timeout: &str) -> (i32, String) {
    let (code, out, err) = sandbox.cli(&[
        "wait",
        &id.to_string(),
        "--for",
        state,
        "--timeout",
        timeout,
    ]);
    (code, format!("{out}{err}"))
}

fn activity(sandbox: &Sandbox, id: u64) -> serde_json::Value {
    sandbox.task_json(id)["activity"].clone()
}

#[test]
fn claude_style_hooks_say_working_waiting_and_idle() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&hooked_config());
    let id = dispatch(
        &sandbox,
        "fakeclaude",
        "hook=UserPromptSubmit hook=PreToolUse:Bash:cargo\\sbuild hook=Notification idle",
    );
    let (code, out) = wait(&sandbox, id, "waiting", "20");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("waiting") && out.contains("hook: Notification Claude needs your permission"),
        "{out}"
    );
    let a = activity(&sandbox, id);
    assert_eq!(
        (a["state"].as_str(), a["source"].as_str()),
        (Some("waiting"), Some("hook"))
    );
    assert!(a["since_ms"].as_u64().unwrap() > 0);
    // Each hook ran and exited 0, saying nothing (claude reads stdout).
    wait_for_condition("the hooks' results in the log", || {
        sandbox.log(id).contains("hook Notification: exit 0")
    });
    let log = sandbox.log(id);
    assert!(log.contains("hook PreToolUse: exit 0"), "{log}");
    assert!(!log.contains("said"), "a hook printed something: {log}");

    // The wiring lives outside the worktree, private, and is not in its diff.
    let settings = sandbox
        .fd_home()
        .join(format!("state/hooks/task-{id}.json"));
    let mode = std::fs::metadata(&settings).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (_, diff, _) = sandbox.cli(&["diff", &id.to_string()]);
    assert!(diff.trim().is_empty(), "the task's diff: {diff}");

    // A second task: its turn ends.
    let id = dispatch(
        &sandbox,
        "fakeclaude",
        "hook=UserPromptSubmit hook=Stop idle",
    );
    let (code, out) = wait(&sandbox, id, "idle", "20");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hook: Stop"), "{out}");
}

#[test]
fn codex_style_notify_says_idle_until_the_agent_prints_again() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&hooked_config());
    let id = dispatch(&sandbox, "fakecodex", "turn-end idle");
    let (code, out) = wait(&sandbox, id, "idle", "20");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hook: agent-turn-complete"), "{out}");
    let (_, out, _) = sandbox.cli(&["ls", "--json"]);
    assert!(
        out.contains("notify=[\\\""),
        "codex got -c notify=[…]: {out}"
    );
}

#[test]
fn screen_rules_signals_and_quiet_without_hooks() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    // A y/n question on the screen.
    let ask = dispatch(&sandbox, "fake", "ask");
    let (code, out) = wait(&sandbox, ask, "waiting", "20");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("screen: \"Proceed with the plan? [y/n]\""),
        "{out}"
    );
    // A selection menu.
    let menu = dispatch(&sandbox, "fake", "menu");
    let (code, out) = wait(&sandbox, menu, "waiting", "20");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("screen: \"❯ 1. Yes\""), "{out}");
    // A spinner is work; once it stops and the agent is quiet, idle.
    let spin = dispatch(&sandbox, "fake", "spinner=60000");
    let (code, out) = wait(&sandbox, spin, "working", "20");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("esc to interrupt"), "{out}");
    let quiet = dispatch(&sandbox, "fake", "idle");
    let (code, out) = wait(&sandbox, quiet, "idle", "20");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(quiet"), "{out}");
    // A bell and a desktop notification.
    let bell = dispatch(&sandbox, "fake", "bell idle");
    let (code, out) = wait(&sandbox, bell, "waiting", "20");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("signal: bell"), "{out}");
    let notify = dispatch(&sandbox, "fake", "notify=Build\\sdone idle");
    let (code, out) = wait(&sandbox, notify, "waiting", "20");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("signal: notification \"Build done\""), "{out}");

    // wait gives up when told, and fails for a task that ended first.
    let (code, out) = wait(&sandbox, quiet, "waiting", "0.5");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("timed out: task #"), "{out}");
    let done = dispatch(&sandbox, "fake", "exit=0");
    let (code, out) = wait(&sandbox, done, "exit", "20");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("exited 0"), "{out}");
    let (code, out) = wait(&sandbox, done, "waiting", "20");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("exited 0 before it was waiting"), "{out}");
    let (code, out) = wait(&sandbox, 99, "idle", "1");
    assert_eq!(code, 2, "{out}");
}

/// Runs `flightdeck hook ARGS` as an agent would; (exit code, stdout).
fn run_hook(sandbox: &Sandbox, env: &[(&str, &str)], args: &[&str], stdin: &str) -> (i32, String) {
    let mut child = Command::new(flightdeck_bin())
        .arg("hook")
        .args(args)
        .env("FLIGHTDECK_HOME", sandbox.fd_home())
        .env("HOME", sandbox.home())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A hook that has nothing to do exits without reading its stdin.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_hook_never_blocks_its_agent_and_bad_reports_change_nothing() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let event = r#"{"hook_event_name":"Notification","message":"hi"}"#;
    // No daemon at all.
    let gone = sandbox.path().join("no-such.sock");
    let gone = gone.to_str().unwrap();
    let env = [("FLIGHTDECK_TASK_ID", "1"), ("FLIGHTDECK_SOCKET", gone)];
    assert_eq!(
        run_hook(&sandbox, &env, &["claude"], event),
        (0, String::new())
    );
    // A socket that accepts and never answers: the hook gives up.
    let silent = sandbox.path().join("silent.sock");
    let listener = std::os::unix::net::UnixListener::bind(&silent).unwrap();
    let held = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let env = [
        ("FLIGHTDECK_TASK_ID", "1"),
        ("FLIGHTDECK_SOCKET", silent.to_str().unwrap()),
    ];
    assert_eq!(
        run_hook(&sandbox, &env, &["claude"], event),
        (0, String::new())
    );
    drop(held);
    // Garbage, unknown styles, no task id: exit 0, nothing printed.
    let env = [("FLIGHTDECK_TASK_ID", "1")];
    assert_eq!(
        run_hook(&sandbox, &env, &["claude"], "{not json"),
        (0, String::new())
    );
    assert_eq!(run_hook(&sandbox, &env, &["bogus"], ""), (0, String::new()));
    assert_eq!(
        run_hook(&sandbox, &[], &["claude"], event),
        (0, String::new())
    );

    // With a daemon: a report for a task that does not exist, or has
    // ended, changes nothing; one for a live task does.
    let id = dispatch(&sandbox, "fake", "idle");
    let (code, _) = wait(&sandbox, id, "idle", "20");
    assert_eq!(code, 0);
    let env = [("FLIGHTDECK_TASK_ID", "42")];
    assert_eq!(
        run_hook(&sandbox, &env, &["state", "waiting", "x"], ""),
        (0, String::new())
    );
    let task = id.to_string();
    let env = [("FLIGHTDECK_TASK_ID", task.as_str())];
    assert_eq!(
        run_hook(
            &sandbox,
            &env,
            &["state", "waiting", "deploy", "approval"],
            ""
        ),
        (0, String::new())
    );
    let (code, out) = wait(&sandbox, id, "waiting", "5");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("hook: deploy approval"), "{out}");
    // A burst of reports is taken in stride.
    for _ in 0..50 {
        run_hook(&sandbox, &env, &["state", "working"], "");
    }
    let (code, out) = wait(&sandbox, id, "working", "5");
    assert_eq!(code, 0, "{out}");
}

/// Bells in `bytes` that are not the end of an OSC sequence.
fn lone_bells(bytes: &[u8]) -> usize {
    let mut count = 0;
    let mut in_osc = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b']' if i > 0 && bytes[i - 1] == 0x1b => in_osc = true,
            0x07 if in_osc => in_osc = false,
            0x07 => count += 1,
            b'\\' if in_osc && i > 0 && bytes[i - 1] == 0x1b => in_osc = false,
            _ => {}
        }
    }
    count
}

#[test]
fn the_dashboard_shows_who_needs_you_and_tells_once() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&hooked_config());
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    // #1 will need its user in a moment; #2 (newest: on screen) idles.
    let first = dispatch(&sandbox, "fakeclaude", "sleep=1500 hook=Notification idle");
    dispatch(&sandbox, "fake", "idle");
    tui.wait_for("#2 fake · demo · running");
    tui.wait_for("1 need you");
    tui.wait_for("◆ fakeclaude waiting");
    // One notification, for #1, through the terminal.
    wait_for_condition("the desktop notification", || {
        let raw = String::from_utf8_lossy(&tui.raw_output()).into_owned();
        raw.contains("\x1b]9;flightdeck: #1 fakeclaude needs you: hook: Notification")
    });
    let raw = String::from_utf8_lossy(&tui.raw_output()).into_owned();
    assert_eq!(raw.matches("\x1b]9;flightdeck:").count(), 1, "{raw:?}");
    // w jumps to it; its pane says why.
    tui.send("w");
    tui.wait_for(&format!("#{first} fakeclaude · demo · running"));
    tui.wait_for("hook: Notification Claude needs your permission");
    // `wait` sees the same.
    let (code, out) = wait(&sandbox, first, "waiting", "5");
    assert_eq!(code, 0, "{out}");
}

#[test]
fn an_attached_agents_bell_and_title_reach_the_terminal() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    dispatch(&sandbox, "fake", "ask bell title=Agent\\sbusy idle");
    tui.wait_for("#1 fake · demo · running");
    tui.wait_for("[y/n]");
    tui.send("\r");
    tui.wait_for("attached to #1");
    let before = tui.raw_output().len();
    tui.send("y\r");
    wait_for_condition("the program's title on the terminal", || {
        let raw = tui.raw_output();
        String::from_utf8_lossy(&raw[before..]).contains("\x1b]2;Agent busy\x07")
    });
    assert!(
        lone_bells(&tui.raw_output()[before..]) >= 1,
        "the bell rang"
    );
    tui.send("\x1d");
    tui.wait_for("detached from #1");
    // The pane's border shows the program's title; the user's is back.
    tui.wait_for(" Agent busy ");
    let raw = tui.raw_output();
    assert!(String::from_utf8_lossy(&raw[before..]).contains("\x1b[23;0t"));
}

const ASK_BASH: &str = "hook=PermissionRequest:Bash:rm\\s-rf\\sbuild idle";

#[test]
fn a_permission_request_is_answered_from_the_dashboard() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&hooked_config());
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    let first = dispatch(&sandbox, "fakeclaude", ASK_BASH);
    // The card: who asks for what, with the keys.
    tui.wait_for("Permission request");
    tui.wait_for("#1 fakeclaude wants to use Bash");
    tui.wait_for("\"command\": \"rm -rf build\"");
    tui.wait_for("allow this tool for the rest of the task");
    tui.wait_for("1 need you");
    tui.send("1");
    wait_for_condition("the agent to get the answer", || {
        sandbox.log(first).contains("permission: allow by hook")
    });
    tui.wait_for("task #1: permission allowed");
    tui.wait_gone("Permission request");
    // Denied, on a second task.
    let second = dispatch(&sandbox, "fakeclaude", ASK_BASH);
    tui.wait_for(&format!("#{second} fakeclaude wants to use Bash"));
    tui.send("3");
    wait_for_condition("the denial to reach the agent", || {
        sandbox.log(second).contains("permission: deny by hook")
    });
    let log = sandbox.log(second);
    assert!(!log.contains("own prompt"), "{log}");
}

#[test]
fn without_a_dashboard_or_in_time_the_agent_asks_itself() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "[settings]\napproval_timeout_secs = 1\n{}",
        hooked_config()
    ));
    // Nobody to ask: the hook steps aside at once (the timeout is long
    // past before this test's own would fire if it waited for it).
    let alone = dispatch(&sandbox, "fakeclaude", ASK_BASH);
    wait_for_condition("the agent's own prompt", || {
        sandbox.log(alone).contains("Allow Bash? [y/n]")
    });
    // A dashboard that does not answer: the card shows, then after the
    // second the agent asks in its own UI.
    let tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    let timed = dispatch(&sandbox, "fakeclaude", ASK_BASH);
    tui.wait_for(&format!("#{timed} fakeclaude wants to use Bash"));
    tui.wait_for("Allow Bash? [y/n]");
    tui.wait_gone("Permission request");
    tui.wait_for(&format!(
        "task #{timed}: permission left to the agent's own prompt"
    ));
}

#[test]
fn a_script_approves_and_always_allows_for_the_task() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&hooked_config());
    // Nothing to approve.
    let idle = dispatch(&sandbox, "fake", "idle");
    let (code, _, err) = sandbox.cli(&["approve", &idle.to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains("asks for no permission now"), "{err}");
    // `approve --wait` stands in for a dashboard until the request comes.
    let next = (idle + 1).to_string();
    let approver = {
        let sandbox_home = sandbox.fd_home();
        let home = sandbox.home();
        let next = next.clone();
        std::thread::spawn(move || {
            Command::new(flightdeck_bin())
                .args(["approve", &next, "--always", "--wait", "20"])
                .env("FLIGHTDECK_HOME", sandbox_home)
                .env("HOME", home)
                .output()
                .unwrap()
        })
    };
    // Two requests for Bash: the first approved "always", the second
    // allowed without asking anyone.
    let id = dispatch(
        &sandbox,
        "fakeclaude",
        // (a moment first, for the approver above to be there)
        "sleep=1000 hook=PermissionRequest:Bash:ls hook=PermissionRequest:Bash:make idle",
    );
    assert_eq!(id.to_string(), next);
    let out = approver.join().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert_eq!(
        said.trim(),
        format!("task #{id}: Bash allowed for the rest of the task")
    );
    wait_for_condition("both answers", || {
        sandbox.log(id).matches("permission: allow by hook").count() == 2
    });
}
