//! The daemon: several clients, the scripting CLI, crash safety and the
//! socket's defences (other users, other versions, garbage, stuck clients).

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{Sandbox, wait_for_condition};

const CTRL_S: &str = "\x13";
const DETACH: &str = "\x1d";

fn dispatch_cli(sandbox: &Sandbox, prompt: &str) -> u64 {
    sandbox.dispatch(&["--project", "demo", "--agent", "fake", prompt])
}

fn socket(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox.fd_home().join("run/daemon.sock")
}

/// A frame as the protocol writes it: length, kind 0 (JSON), the JSON.
fn json_frame(json: &str) -> Vec<u8> {
    let mut frame = ((json.len() + 1) as u32).to_be_bytes().to_vec();
    frame.push(0);
    frame.extend_from_slice(json.as_bytes());
    frame
}

fn hello(protocol: u32) -> Vec<u8> {
    json_frame(&format!(
        r#"{{"Hello":{{"protocol":{protocol},"version":"9.9.9"}}}}"#
    ))
}

#[test]
fn cli_dispatch_ls_logs_stop_and_daemon_lifecycle() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[settings]\nstop_grace_secs = 1\n");
    let (code, out, _) = sandbox.cli(&["daemon", "status"]);
    assert_eq!(
        (code, out.trim()),
        (
            3,
            format!("not running (socket {})", socket(&sandbox).display()).as_str()
        )
    );

    // dispatch starts the daemon on demand and prints the new id.
    let id = dispatch_cli(&sandbox, "hello from a script lines=3 idle");
    assert_eq!(id, 1);
    let (code, out, _) = sandbox.cli(&["daemon", "status", "--json"]);
    assert_eq!(code, 0);
    let status: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (status["running"].as_bool(), status["live"].as_u64()),
        (Some(true), Some(1))
    );

    wait_for_condition("the agent's output in its log", || {
        sandbox.log(1).contains("idle: waiting")
    });
    let (code, out, _) = sandbox.cli(&["logs", "1"]);
    assert_eq!(code, 0);
    assert!(out.contains("of 3: the quick brown fox"), "{out}");

    let (code, out, _) = sandbox.cli(&["ls"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("running") && out.contains("hello from a script"),
        "{out}"
    );
    let (_, out, _) = sandbox.cli(&["ls", "--json"]);
    let tasks: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(tasks[0]["id"], 1);
    assert_eq!(tasks[0]["agent"], "fake");
    assert_eq!(tasks[0]["mode"], "interactive");
    assert_eq!(tasks[0]["state"]["state"], "running");

    // Stopping the daemon with a live agent needs --force without a terminal.
    let (code, _, err) = sandbox.cli(&["daemon", "stop"]);
    assert_eq!(code, 1);
    assert!(err.contains("Use --force"), "{err}");

    let (code, out, _) = sandbox.cli(&["stop", "1"]);
    assert_eq!((code, out.trim()), (0, "task #1 stopped TERM"));
    let (code, out, _) = sandbox.cli(&["stop", "1"]);
    assert_eq!((code, out.trim()), (0, "task #1 already stopped TERM"));

    // Usage errors: exit 2 with what is known.
    let (code, _, err) = sandbox.cli(&["dispatch", "--project", "nope", "--agent", "fake", "x"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("no project or directory \"nope\"; configured projects: demo"),
        "{err}"
    );
    let (code, _, err) = sandbox.cli(&["dispatch", "--project", "demo", "--agent", "nope", "x"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown agent \"nope\""), "{err}");
    let (code, _, err) = sandbox.cli(&["stop", "99"]);
    assert_eq!(code, 2);
    assert!(err.contains("no task #99"), "{err}");

    let (code, out, _) = sandbox.cli(&["daemon", "stop"]);
    assert_eq!((code, out.trim()), (0, "daemon stopped"));
    assert!(sandbox.daemon_pid().is_none());
    // Without a daemon, ls still reads the saved state.
    let (code, out, _) = sandbox.cli(&["ls", "--json"]);
    assert_eq!(code, 0);
    assert!(out.contains("\"stopped\""), "{out}");
}

#[test]
fn logs_follow_until_the_task_ends() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    dispatch_cli(&sandbox, "sleep=300 lines=4 exit=5");
    let (code, out, _) = sandbox.cli(&["logs", "-f", "1"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("of 4: the quick brown fox") && out.contains("done."),
        "{out}"
    );
    let (_, out, _) = sandbox.cli(&["ls"]);
    assert!(out.contains("exited 5"), "{out}");
}

#[test]
fn two_clients_see_the_same_tasks_and_either_can_attach() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let mut first = sandbox.spawn(&[], 120, 36, &[]);
    first.wait_for("✓ fake");
    let mut second = sandbox.spawn(&[], 100, 30, &[]);
    second.wait_for("✓ fake");

    first.send("n");
    first.wait_for("New task");
    first.send("shared ask idle");
    first.send(CTRL_S);
    first.wait_for("Proceed with the plan? [y/n]");
    second.wait_for("#1 fake · demo · running");
    second.wait_for("Proceed with the plan? [y/n]");

    // Answer from the second; the first sees the answer live.
    second.send("\r");
    second.wait_for("attached to #1");
    second.send("from two\r");
    second.wait_for("answer: from two");
    first.wait_for("answer: from two");
    second.send(DETACH);
    second.wait_for("detached from #1");

    // `flightdeck attach` from a plain terminal works the same way.
    let mut plain = sandbox.spawn(&["attach", "1"], 90, 25, &[]);
    plain.wait_for("attached to #1");
    plain.wait_for("idle: waiting");
    plain.send(DETACH);
    assert_eq!(plain.wait_exit(), 0);
}

#[test]
fn a_frozen_client_does_not_slow_an_agent() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let id = dispatch_cli(&sandbox, "idle");
    // A client that says hello, watches the task, then never reads again.
    let mut frozen = UnixStream::connect(socket(&sandbox)).unwrap();
    frozen
        .write_all(&hello(flightdeck::protocol::wire::PROTOCOL))
        .unwrap();
    let watch =
        format!(r#"{{"Watch":[{{"id":{id},"scroll":0,"size":{{"rows":40,"cols":120}}}}]}}"#);
    frozen.write_all(&json_frame(&watch)).unwrap();
    // Meanwhile a second agent floods 16 MiB; it must finish.
    let flood = dispatch_cli(&sandbox, "flood=16M");
    let flood_frozen =
        format!(r#"{{"Watch":[{{"id":{flood},"scroll":0,"size":{{"rows":40,"cols":120}}}}]}}"#);
    frozen.write_all(&json_frame(&flood_frozen)).unwrap();
    wait_for_condition("the flood to finish", || {
        let (_, out, _) = sandbox.cli(&["ls", "--json"]);
        out.contains("\"exited\"")
    });
    assert!(sandbox.log(flood).contains("flood done"));
    drop(frozen);
}

#[test]
fn the_socket_refuses_other_versions_and_survives_garbage() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    dispatch_cli(&sandbox, "idle");

    let mut old = UnixStream::connect(socket(&sandbox)).unwrap();
    old.write_all(&hello(999)).unwrap();
    let mut answer = Vec::new();
    old.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = old.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.contains("Refused") && answer.contains("protocol 999"),
        "{answer}"
    );
    assert!(answer.contains("flightdeck daemon stop"), "{answer}");

    for garbage in [
        vec![0xff; 64],
        vec![0, 0, 0, 5, 0, b'{', b'x', b'y', b'z'],
        vec![0x7f, 0xff, 0xff, 0xff],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ] {
        let mut raw = UnixStream::connect(socket(&sandbox)).unwrap();
        let _ = raw.write_all(&garbage);
        drop(raw);
    }
    // Still serving.
    let (code, out, _) = sandbox.cli(&["ls"]);
    assert_eq!(code, 0);
    assert!(out.contains("running"), "{out}");
}

#[test]
fn only_one_daemon_and_the_runtime_dir_is_private() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    dispatch_cli(&sandbox, "idle");
    let (code, _, err) = sandbox.cli(&["daemon"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("another flightdeck daemon is already running"),
        "{err}"
    );

    use std::os::unix::fs::PermissionsExt;
    let run = sandbox.fd_home().join("run");
    assert_eq!(
        std::fs::metadata(&run).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let sock = std::fs::metadata(socket(&sandbox))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(sock, 0o600);

    // Another user cannot reach the socket at all.
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(common::flightdeck_bin())
        .arg("ls")
        .env("FLIGHTDECK_HOME", sandbox.fd_home())
        .env("HOME", "/nonexistent")
        .output()
        .expect("setpriv (util-linux) runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("permission denied"), "{err}");
}

#[test]
fn completions_and_man_page() {
    let sandbox = Sandbox::new();
    let (code, out, _) = sandbox.cli(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(out.contains("flightdeck") && out.contains("dispatch"));
    let (code, out, _) = sandbox.cli(&["man"]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH flightdeck"),
        "{}",
        &out[..out.len().min(200)]
    );
}

#[test]
fn lost_state_never_reuses_an_id_still_on_disk_and_stale_worktrees_are_pruned() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let args = ["--project", "demo", "--agent", "fake", "exit=0"];
    let ended = |n: usize| {
        wait_for_condition(&format!("{n} ended task(s)"), || {
            sandbox
                .cli(&["ls", "--json"])
                .1
                .matches("\"exited\"")
                .count()
                == n
        })
    };
    assert_eq!(sandbox.dispatch(&args), 1);
    ended(1);
    assert_eq!(sandbox.cli(&["daemon", "stop", "--force"]).0, 0);

    // The state file goes; task 1's log and worktree stay, and so does its id.
    std::fs::remove_file(sandbox.fd_home().join("state/tasks.json")).unwrap();
    let old_log = sandbox.log(1);
    assert_eq!(sandbox.dispatch(&args), 2);
    ended(1);
    assert_eq!(sandbox.log(1), old_log);
    assert_eq!(sandbox.cli(&["daemon", "stop", "--force"]).0, 0);

    // State and data go: the repository still lists the worktrees (their
    // directories gone) and keeps the branches. Id 1 is free again; the stale
    // entry is pruned, the old branch kept and a new one made.
    std::fs::remove_dir_all(sandbox.fd_home().join("state")).unwrap();
    std::fs::remove_dir_all(sandbox.fd_home().join("data")).unwrap();
    assert_eq!(sandbox.dispatch(&args), 1);
    ended(1);
    let branches = common::git(&sandbox.repo(), &["branch", "--list", "flightdeck/1-*"]);
    assert_eq!(branches.lines().count(), 2, "{branches}");
}
