//! End to end, issue 4: a real sshd on loopback, a test user as the remote
//! login, and the real binary in a PTY. Trust a new host from the TUI, see
//! its agents, dispatch on a remote project, attach and answer, stop (the
//! remote process tree goes), review and apply; and a host that dies.

mod common;

use std::path::PathBuf;

use common::sshd::{Sshd, TestUser, keygen, public_of, run_ok};
use common::{Sandbox, Tui, fake_agent_bin, wait_for_condition};

const CTRL_S: &str = "\x13";
const DETACH: &str = "\x1d";

struct Remote {
    sshd: Sshd,
    user: TestUser,
    repo: PathBuf,
}

/// sshd, a test user with the fake agent in ~/.local/bin and a git repo in
/// its home, and the sandbox's key authorized.
fn remote(sandbox: &Sandbox) -> Remote {
    let sshd = Sshd::start();
    let user = TestUser::create("/bin/sh");
    let agent = std::fs::read(fake_agent_bin()).unwrap();
    user.install(".local/bin/fake-agent", &agent, 0o755);
    let repo = user.home.join("proj");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("README.md"), "remote project\n").unwrap();
    let git = |args: &[&str]| {
        let mut all = vec!["-C", repo.to_str().unwrap()];
        all.extend_from_slice(args);
        run_ok("git", &all)
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "."]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@t",
        "commit",
        "-qm",
        "init",
    ]);
    user.install(".profile", b"", 0o644); // also hands the repo to the user
    let key = sandbox.home().join(".ssh/id_ed25519");
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    keygen(&key, None);
    sshd.authorize(&public_of(&key));
    Remote { sshd, user, repo }
}

fn config(remote: &Remote) -> String {
    format!(
        "[[host]]\nname = \"box\"\nhostname = \"127.0.0.1\"\nport = {port}\nuser = \"{user}\"\n\n\
         [[project]]\nname = \"remote\"\npath = {repo:?}\nhost = \"box\"\n\n\
         [[agent]]\nid = \"rfake\"\nbinary = \"fake-agent\"\nheadless = [\"-p\", \"{{prompt}}\"]\n",
        port = remote.sshd.port,
        user = remote.user.name,
        repo = remote.repo.display().to_string(),
    )
}

/// Answers the trust question for `box` and waits for its agents.
fn trust_box(tui: &mut Tui, remote: &Remote) {
    tui.wait_for("Unknown host");
    tui.wait_for(&remote.sshd.fingerprint());
    tui.send("y");
    tui.wait_until("box to be probed", |s| {
        s.contents()
            .lines()
            .any(|l| l.contains(" box ") && l.contains(" agent"))
    });
}

fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(marker))
                .unwrap_or(false)
        })
        .count()
}

#[test]
fn trust_dispatch_attach_stop_and_apply_on_a_remote_host() {
    let sandbox = Sandbox::new();
    let remote = remote(&sandbox);
    sandbox.write_config(&config(&remote));
    let mut tui = sandbox.spawn(&[], 140, 42, &[]);
    trust_box(&mut tui, &remote);
    let known = std::fs::read_to_string(sandbox.home().join(".ssh/known_hosts")).unwrap();
    assert!(
        known.contains(&format!("[127.0.0.1]:{}", remote.sshd.port)),
        "{known}"
    );

    // Dispatch on the remote project, with the agent found on the remote PATH.
    tui.send("n");
    tui.wait_for("New task");
    tui.send("\t"); // prompt → project
    tui.cycle_to("Project", "remote");
    tui.send("\t"); // → agent
    tui.cycle_to("Agent", "rfake");
    tui.send("\x1b[Z\x1b[Z"); // back to the prompt
    tui.send("ask write:remote.txt=hello idle sshmarker");
    tui.send(CTRL_S);
    tui.wait_for("Proceed with the plan? [y/n]");
    tui.wait_for("#1 rfake · remote · running");
    let worktree = remote
        .user
        .home
        .join(".local/share/flightdeck/worktrees/remote/1");
    tui.wait_for(&format!("cwd: {}", worktree.display()));

    // Attach, type into the remote agent, detach.
    tui.send("\r");
    tui.wait_for("attached to #1");
    tui.send("over ssh\r");
    tui.wait_for("answer: over ssh");
    tui.send(DETACH);
    tui.wait_for("detached from #1");
    assert!(processes_with("sshmarker") > 0);

    // Stop: the whole remote process tree goes.
    tui.send("x");
    tui.wait_for("Stop task #1");
    tui.send("y");
    tui.wait_for("stopped");
    wait_for_condition("the remote agent to be gone", || {
        processes_with("sshmarker") == 0
    });

    // Review and apply, git running on the host.
    let (code, diff, err) = sandbox.cli(&["diff", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        diff.contains("+++ b/remote.txt") && diff.contains("+hello"),
        "{diff}"
    );
    let (code, out, err) = sandbox.cli(&["apply", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("applied 1 file(s)"), "{out}");
    assert_eq!(
        std::fs::read_to_string(remote.repo.join("remote.txt")).unwrap(),
        "hello"
    );
}

#[test]
fn a_host_that_dies_mid_task_shows_and_the_ui_stays_responsive() {
    let sandbox = Sandbox::new();
    let mut remote = remote(&sandbox);
    // Known already: no question this time.
    let known = format!("{}\n", remote.sshd.known_hosts_line());
    std::fs::write(sandbox.home().join(".ssh/known_hosts"), known).unwrap();
    sandbox.write_config(&config(&remote));
    let id = sandbox.dispatch(&[
        "--project",
        "remote",
        "--agent",
        "rfake",
        "--in-place",
        "lines=2 idle",
    ]);
    let mut tui = sandbox.spawn(&[], 140, 42, &[]);
    tui.wait_for("idle: waiting");
    remote.sshd.kill();
    tui.wait_until("the task to show the lost connection", |s| {
        let text = s.contents();
        text.contains(&format!("#{id} rfake · remote · failed")) && text.contains("lost")
    });
    tui.wait_until("box to show as failed", |s| {
        s.contents().lines().any(|l| l.contains("✗ box"))
    });
    tui.send("?");
    tui.wait_for("Help");
}

#[test]
fn add_a_host_install_an_agent_there_and_probe_it_from_the_cli() {
    let sandbox = Sandbox::new();
    let remote = remote(&sandbox);
    // An agent that is missing on the host, with an install recipe.
    sandbox.write_config(
        "[[agent]]\nid = \"tool\"\nbinary = \"fd-tool\"\n\
         install = [\"sh\", \"-c\", \"cp ~/.local/bin/fake-agent ~/.local/bin/fd-tool && echo tool installed\"]\n",
    );
    let mut tui = sandbox.spawn(&[], 140, 44, &[]);
    tui.wait_for("✓ fake");

    // Add the host by typing user@host:port; it connects and asks to trust it.
    tui.send("a");
    tui.wait_for("Add host");
    tui.send(format!(
        "{}@127.0.0.1:{}\r",
        remote.user.name, remote.sshd.port
    ));
    tui.wait_for("Unknown host");
    tui.send("y");
    tui.wait_until("the new host to be probed", |s| {
        s.contents()
            .lines()
            .any(|l| l.contains("127.0.0.1") && l.contains(" agent"))
    });
    let config = std::fs::read_to_string(sandbox.fd_home().join("config/config.toml")).unwrap();
    assert!(
        config.contains("[[host]]\nname = \"127.0.0.1\""),
        "{config}"
    );

    // Its agent matrix: pick the host, then the missing agent, then install.
    tui.click("127.0.0.1");
    tui.wait_for("Agents on 127.0.0.1");
    tui.wait_for("· tool         not found");
    tui.click("· tool");
    tui.send("i");
    tui.wait_for("tool installed");
    tui.wait_until("tool to be found after the re-probe", |s| {
        s.contents().contains("✓ tool")
    });

    // The CLI probes the host too (known now, so no question is needed).
    let (code, out, err) = sandbox.cli(&["probe", "--json", "--host", "127.0.0.1"]);
    assert_eq!(code, 0, "{err}");
    let probes: serde_json::Value = serde_json::from_str(&out).unwrap();
    let tool = probes[0]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "tool")
        .unwrap()
        .clone();
    assert_eq!(tool["version"], "1.2.3", "{tool}");
    assert!(
        tool["path"]
            .as_str()
            .unwrap()
            .ends_with("/.local/bin/fd-tool")
    );
}

#[test]
fn a_dashboard_on_a_remote_daemon_outlives_the_link() {
    let sandbox = Sandbox::new();
    let remote = remote(&sandbox);
    // flightdeck installed on the host, with that host's own config.
    let binary = std::fs::read(common::flightdeck_bin()).unwrap();
    remote.user.install(".local/bin/flightdeck", &binary, 0o755);
    let theirs = format!(
        "[[project]]\nname = \"there\"\npath = {repo:?}\n\n\
         [[agent]]\nid = \"rfake\"\nbinary = \"fake-agent\"\nheadless = [\"-p\", \"{{prompt}}\"]\n",
        repo = remote.repo.display().to_string()
    );
    remote
        .user
        .install(".config/flightdeck/config.toml", theirs.as_bytes(), 0o644);
    let known = format!("{}\n", remote.sshd.known_hosts_line());
    std::fs::write(sandbox.home().join(".ssh/known_hosts"), known).unwrap();
    sandbox.write_config(&config(&remote));

    let mut tui = sandbox.spawn(&["--remote", "box"], 140, 42, &[]);
    // The remote daemon's projects and agents, not ours.
    tui.wait_for("there");
    tui.send("n");
    tui.wait_for("New task");
    tui.send("\t");
    tui.cycle_to("Project", "there");
    tui.send("\t");
    tui.cycle_to("Agent", "rfake");
    tui.send("\x1b[Z\x1b[Z");
    tui.send("lines=3 ask idle remotemarker");
    tui.send(CTRL_S);
    tui.wait_for("Proceed with the plan? [y/n]");

    // The link drops (the dashboard dies with it); the agent lives on there.
    let pid = tui.pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    tui.wait_exit();
    drop(tui);
    assert!(processes_with("remotemarker") > 0);

    let mut tui = sandbox.spawn(&["--remote", "box"], 140, 42, &[]);
    tui.wait_for("rfake · there · running");
    tui.wait_for("Proceed with the plan? [y/n]");
    tui.send("\r");
    tui.wait_for("attached to #1");
    tui.send("still here\r");
    tui.wait_for("answer: still here");
    tui.send(DETACH);
    tui.wait_for("detached from #1");
    // This machine ran nothing.
    assert!(!sandbox.fd_home().join("state/tasks.json").exists());
    let _ = std::fs::remove_dir_all(format!("/tmp/flightdeck-{}", uid_of(&remote.user.name)));
}

fn uid_of(user: &str) -> String {
    run_ok("id", &["-u", user]).trim().to_string()
}
