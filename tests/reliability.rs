//! Nothing lost, nobody in: the state file after repeated hard kills, tasks
//! recovered from their keepers when the state is gone, private files
//! whatever the umask, and clients that talk only to their own user's
//! daemon.

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Sandbox, kill_hard, process_alive, wait_for_condition};

fn dispatch_idle(sandbox: &Sandbox) -> u64 {
    sandbox.dispatch(&["--project", "demo", "--agent", "fake", "lines=2 idle"])
}

fn ls(sandbox: &Sandbox) -> serde_json::Value {
    let (code, out, err) = sandbox.cli(&["ls", "--json"]);
    assert_eq!(code, 0, "ls failed: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out:?}"))
}

fn state_of(tasks: &serde_json::Value, id: u64) -> String {
    let task = tasks.as_array().unwrap().iter().find(|t| t["id"] == id);
    let task = task.unwrap_or_else(|| panic!("no task {id} in {tasks:#}"));
    task["state"]["state"].as_str().unwrap().to_string()
}

fn ids_on_disk(sandbox: &Sandbox) -> Vec<u64> {
    let tasks = sandbox.tasks_json();
    let ids = tasks.as_array().unwrap().iter();
    ids.map(|t| t["id"].as_u64().unwrap()).collect()
}

#[test]
fn the_state_file_survives_repeated_hard_kills() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let ended = sandbox.dispatch(&["--project", "demo", "--agent", "fake", "exit=0"]);
    let running = dispatch_idle(&sandbox);
    wait_for_condition("the first task to end", || {
        state_of(&ls(&sandbox), ended) == "exited"
    });
    for round in 0..3 {
        let daemon = sandbox.daemon_pid().expect("a daemon runs");
        kill_hard(daemon);
        // `ls` starts a new daemon, which re-adopts the running task…
        let tasks = ls(&sandbox);
        assert_eq!(state_of(&tasks, running), "running", "round {round}");
        assert_eq!(state_of(&tasks, ended), "exited", "round {round}");
        // …and the file on disk already says so: nothing has changed since,
        // and the next kill must not lose it.
        assert_eq!(ids_on_disk(&sandbox), [ended, running], "round {round}");
    }
}

#[test]
fn tasks_are_recovered_from_their_keepers_when_the_state_file_is_lost() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let id = dispatch_idle(&sandbox);
    let agent = ls(&sandbox)[0]["pid"].as_u64().unwrap() as u32;
    wait_for_condition("the agent's output in its log", || {
        sandbox.log(id).contains("idle: waiting")
    });
    kill_hard(sandbox.daemon_pid().unwrap());
    std::fs::remove_file(sandbox.fd_home().join("state/tasks.json")).unwrap();

    // The keeper still listens, so `ls` starts a daemon, which adopts it.
    let tasks = ls(&sandbox);
    let task = &tasks[0];
    assert_eq!(task["id"], id, "{tasks:#}");
    assert_eq!(task["project"], "demo");
    assert_eq!(task["agent"], "fake");
    assert_eq!(task["pid"].as_u64(), Some(agent as u64));
    assert!(
        task["workspace"]["worktree"]["path"].is_string(),
        "{task:#}"
    );
    assert_eq!(ids_on_disk(&sandbox), [id]);
    // The agent is ours again: stop reaches it.
    assert_eq!(sandbox.cli(&["stop", &id.to_string()]).0, 0);
    wait_for_condition("the agent to end", || !process_alive(agent));
}

/// Runs the CLI with umask 000, as a careless login might have.
fn cli_with_open_umask(sandbox: &Sandbox, args: &[&str]) -> (i32, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" \"$@\"")
        .arg(common::flightdeck_bin())
        .args(args)
        .current_dir(sandbox.repo())
        .env("FLIGHTDECK_HOME", sandbox.fd_home())
        .env("HOME", sandbox.home())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().mode() & 0o777
}

#[test]
fn everything_flightdeck_writes_is_private_whatever_the_umask() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let home = sandbox.fd_home();
    // A file an older version left readable, in an open directory.
    std::fs::set_permissions(home.join("config"), PermissionsExt::from_mode(0o755)).unwrap();
    let config = home.join("config/config.toml");
    std::fs::set_permissions(&config, PermissionsExt::from_mode(0o644)).unwrap();

    let (code, err) = cli_with_open_umask(
        &sandbox,
        &["dispatch", "--project", "demo", "--agent", "fake", "exit=0"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("made 2 of its files and directories private"),
        "{err}"
    );
    wait_for_condition("the task to end", || {
        sandbox.cli(&["ls"]).1.contains("exited")
    });
    sandbox.stop_daemon();
    for dir in ["config", "data", "data/logs", "state", "run", "run/tasks"] {
        assert_eq!(mode(&home.join(dir)), 0o700, "{dir}");
    }
    for file in [
        "config/config.toml",
        "state/tasks.json",
        "data/logs/task-1.log",
        "data/daemon.log",
        "data/daemon.stderr",
    ] {
        assert_eq!(mode(&home.join(file)), 0o600, "{file}");
    }
    // Another user, with the way to flightdeck's home open, still reads
    // nothing: not a log, not the state.
    std::fs::set_permissions(sandbox.path(), PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&home, PermissionsExt::from_mode(0o755)).unwrap();
    for file in [
        "data/logs/task-1.log",
        "state/tasks.json",
        "config/config.toml",
    ] {
        let out = Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
                "cat",
            ])
            .arg(home.join(file))
            .output()
            .expect("setpriv (util-linux) runs");
        assert!(!out.status.success(), "nobody read {file}");
        let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
        assert!(err.contains("permission denied"), "{file}: {err}");
    }
    std::fs::set_permissions(&home, PermissionsExt::from_mode(0o700)).unwrap();
    // Said once: the next run finds nothing to fix.
    let (_, err) = cli_with_open_umask(&sandbox, &["ls"]);
    assert!(!err.contains("private"), "{err}");
}

const NOBODY: u32 = 65534;

/// A listener on `socket` that runs as another user and reports, when
/// it is killed, how many bytes anyone sent it: python binds as root and
/// then drops to `uid`, so the socket's peer credentials are that user's.
fn impostor(socket: &Path, uid: u32) -> std::process::Child {
    let script = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)
uid = int(sys.argv[2])
os.setgid(uid); os.setuid(uid)
s.listen(16)
print("listening", flush=True)
while True:
    c, _ = s.accept()
    c.settimeout(2)
    try:
        data = c.recv(65536)
    except Exception:
        data = b""
    print("got", len(data), flush=True)
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .arg(socket)
        .arg(uid.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "listening");
    child
}

fn impostor_heard(mut child: std::process::Child) -> String {
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_client_sends_nothing_to_a_socket_another_user_controls() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let run = sandbox.fd_home().join("run");

    // 1. Another user created the runtime directory first.
    std::fs::create_dir_all(&run).unwrap();
    std::os::unix::fs::chown(&run, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&run, PermissionsExt::from_mode(0o755)).unwrap();
    let listener = impostor(&run.join("daemon.sock"), NOBODY);
    let (code, _, err) =
        sandbox.cli(&["dispatch", "--project", "demo", "--agent", "fake", "secret"]);
    assert_ne!(code, 0);
    assert!(err.contains("belongs to uid 65534"), "{err}");
    assert!(
        !impostor_heard(listener).contains("got"),
        "a client connected"
    );

    // 2. The directory is ours, but the process listening is not.
    std::fs::remove_dir_all(&run).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    std::fs::set_permissions(&run, PermissionsExt::from_mode(0o700)).unwrap();
    // The impostor needs to bind in it: open it for the moment it takes.
    let listener = impostor(&run.join("daemon.sock"), NOBODY);
    let (code, _, err) =
        sandbox.cli(&["dispatch", "--project", "demo", "--agent", "fake", "secret"]);
    assert_ne!(code, 0);
    assert!(err.contains("runs as uid 65534"), "{err}");
    let heard = impostor_heard(listener);
    assert!(!heard.contains("got") || heard.contains("got 0"), "{heard}");

    // 3. A symlinked runtime directory is not followed.
    std::fs::remove_dir_all(&run).unwrap();
    let elsewhere = sandbox.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::set_permissions(&elsewhere, PermissionsExt::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &run).unwrap();
    let (code, _, err) = sandbox.cli(&["dispatch", "--project", "demo", "--agent", "fake", "x"]);
    assert_ne!(code, 0);
    assert!(err.contains("symlink"), "{err}");
}

#[test]
fn without_a_runtime_dir_the_sockets_live_in_the_users_own_state_dir() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(common::flightdeck_bin())
        .args(["daemon", "status", "--json"])
        .env_remove("FLIGHTDECK_HOME")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_STATE_HOME")
        .env("HOME", home.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let state = home.path().join(".local/state/flightdeck/run/daemon.sock");
    assert!(text.contains(&state.display().to_string()), "{text}");
    assert!(!text.contains("/tmp/flightdeck-"), "{text}");
}

#[test]
fn an_apply_killed_half_way_is_completed_not_left_half_done() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let repo = sandbox.repo();
    for i in 0..40 {
        std::fs::write(repo.join(format!("old-{i}.txt")), "old\n").unwrap();
    }
    common::git(&repo, &["add", "."]);
    common::git_commit(&repo, "old files");
    // Two dispatched tasks: only this one changes things.
    let mut prompt: Vec<String> = (0..40).map(|i| format!("delete:old-{i}.txt")).collect();
    prompt.extend((0..40).map(|i| format!("write:new-{i}.txt=new{i}")));
    prompt.push("exit=0".into());
    let id = sandbox.dispatch(&["--project", "demo", "--agent", "fake", &prompt.join(" ")]);
    wait_for_condition("the task to end", || {
        sandbox.cli(&["ls"]).1.contains("exited")
    });
    sandbox.stop_daemon();

    // The daemon this apply starts dies between the deletions and the writes.
    let out = Command::new(common::flightdeck_bin())
        .args(["apply", &id.to_string()])
        .current_dir(&repo)
        .env("FLIGHTDECK_HOME", sandbox.fd_home())
        .env("HOME", sandbox.home())
        .env("FLIGHTDECK_FAULT", "apply.after-deletes")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("went away during the apply"), "{err}");
    assert!(
        !repo.join("old-0.txt").exists(),
        "the crash came after the deletions"
    );
    assert!(!repo.join("new-0.txt").exists(), "and before the writes");
    assert!(repo.join(".git/flightdeck-apply.journal").exists());

    // The next apply (its daemon starts anew) finishes the first one.
    let (code, out, err) = sandbox.cli(&["apply", &id.to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    for i in 0..40 {
        assert!(!repo.join(format!("old-{i}.txt")).exists());
        let new = std::fs::read_to_string(repo.join(format!("new-{i}.txt"))).unwrap();
        assert_eq!(new, format!("new{i}"));
    }
    assert!(!repo.join(".git/flightdeck-apply.journal").exists());
    let status = common::git(&repo, &["status", "--porcelain"]);
    assert_eq!(status.lines().count(), 80, "{status}");
    assert!(ls(&sandbox)[0]["workspace"]["applied"]["status"] == "applied");
}

#[test]
fn apply_refuses_a_main_tree_in_the_middle_of_a_merge() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let repo = sandbox.repo();
    let id = sandbox.dispatch(&[
        "--project",
        "demo",
        "--agent",
        "fake",
        "write:a.txt=task exit=0",
    ]);
    wait_for_condition("the task to end", || {
        sandbox.cli(&["ls"]).1.contains("exited")
    });
    // A merge with a conflict, left unresolved.
    common::git(&repo, &["checkout", "-q", "-b", "side"]);
    std::fs::write(repo.join("README.md"), "side\n").unwrap();
    common::git(&repo, &["add", "."]);
    common::git_commit(&repo, "side");
    common::git(&repo, &["checkout", "-q", "main"]);
    std::fs::write(repo.join("README.md"), "main\n").unwrap();
    common::git(&repo, &["add", "."]);
    common::git_commit(&repo, "main");
    common::git(
        &repo,
        &["-c", "user.name=t", "-c", "user.email=t@t", "merge", "side"],
    );
    assert!(repo.join(".git/MERGE_HEAD").exists());
    let before = common::git(&repo, &["status", "--porcelain"]);

    let (code, _, err) = sandbox.cli(&["apply", &id.to_string()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("a merge is in progress in the main tree"),
        "{err}"
    );
    assert_eq!(common::git(&repo, &["status", "--porcelain"]), before);
    assert!(!repo.join("a.txt").exists());
}

#[test]
fn cli_errors_are_one_plain_line_and_listings_hide_nothing() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    sandbox.dispatch(&[
        "--project",
        "demo",
        "--agent",
        "fake",
        "exit=0 exe.\u{202E}txt",
    ]);
    let (code, out, _) = sandbox.cli(&["ls"]);
    assert_eq!(code, 0);
    assert!(out.contains("exe.\\u{202e}txt"), "{out}");
    assert!(!out.contains('\u{202E}'), "{out}");
    sandbox.stop_daemon();

    std::fs::write(sandbox.fd_home().join("config/config.toml"), "oops = [\n").unwrap();
    let (code, out, err) = sandbox.cli(&["ls"]);
    assert_ne!(code, 0);
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("config.toml:1:"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
}

#[test]
fn a_dispatch_whose_daemon_dies_is_retried_and_makes_exactly_one_task() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let once = sandbox.path().join("crashed-once");
    // The daemon saves the task, then dies before it can say so.
    let out = Command::new(common::flightdeck_bin())
        .args([
            "dispatch",
            "--project",
            "demo",
            "--agent",
            "fake",
            "lines=1 idle",
        ])
        .current_dir(sandbox.repo())
        .env("FLIGHTDECK_HOME", sandbox.fd_home())
        .env("HOME", sandbox.home())
        .env("FLIGHTDECK_FAULT", "dispatch.after-save")
        .env("FLIGHTDECK_FAULT_ONCE", &once)
        .output()
        .unwrap();
    assert!(once.exists(), "the crash point was reached");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let id: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    let tasks = ls(&sandbox);
    assert_eq!(tasks.as_array().unwrap().len(), 1, "{tasks:#}");
    assert_eq!(state_of(&tasks, id), "running");
    wait_for_condition("the agent's output", || {
        sandbox.log(id).contains("idle: waiting")
    });
}

#[test]
fn stop_reaches_an_agent_that_outlived_its_keeper() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[settings]\nstop_grace_secs = 1\n");
    let id = sandbox.dispatch(&[
        "--project",
        "demo",
        "--agent",
        "fake",
        "ignore-hup sleep=600000",
    ]);
    wait_for_condition("the agent to ignore SIGHUP", || {
        sandbox.log(id).contains("ignoring SIGHUP")
    });
    let agent = ls(&sandbox)[0]["pid"].as_u64().unwrap() as u32;
    kill_hard(sandbox.daemon_pid().unwrap());
    kill_hard(common::parent_of(agent));
    assert!(process_alive(agent), "the agent survives its keeper");
    assert_eq!(state_of(&ls(&sandbox), id), "lost");

    let (code, out, err) = sandbox.cli(&["stop", &id.to_string()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("stopped"), "{out}");
    wait_for_condition("the agent to end", || !process_alive(agent));
    // A lost task with nothing left to stop says so.
    let (code, out, _) = sandbox.cli(&["stop", &id.to_string()]);
    assert_eq!(code, 0);
    assert!(out.contains("already stopped"), "{out}");
}

/// The daemon's CPU time so far, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    // utime and stime: fields 14 and 15 of stat, 12 and 13 after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

#[test]
fn out_of_descriptors_the_daemon_pauses_accepting_instead_of_spinning() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    dispatch_idle(&sandbox);
    let daemon = sandbox.daemon_pid().unwrap();
    let status = Command::new("prlimit")
        .args(["--pid", &daemon.to_string(), "--nofile=64:64"])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success());
    let socket = sandbox.fd_home().join("run/daemon.sock");
    // Connections that never say hello hold a descriptor each.
    let clients: Vec<_> = (0..100)
        .filter_map(|_| std::os::unix::net::UnixStream::connect(&socket).ok())
        .collect();
    let log = sandbox.fd_home().join("data/daemon.log");
    wait_for_condition("the daemon to run out of descriptors", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("cannot accept a client"))
    });
    // A measurement, not a wait: CPU used over one second while starved.
    let before = cpu_ticks(daemon);
    std::thread::sleep(Duration::from_secs(1));
    let used = cpu_ticks(daemon) - before;
    let hz = 100; // USER_HZ on Linux
    assert!(
        used < hz / 4,
        "the daemon used {used} ticks of {hz} in a second"
    );
    drop(clients);
    // Once the descriptors are back, it serves again.
    wait_for_condition("the daemon to answer again", || sandbox.cli(&["ls"]).0 == 0);
}
