//! `flightdeck probe --json` against agents placed on PATH: real processes,
//! a hung `--version`, and an agent that is missing.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::{Sandbox, fake_agent_bin};

fn script(path: &std::path::Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn probe_json_reports_path_version_acp_and_timeouts() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.fd_home().join("config/config.toml"),
        "[settings]\nprobe_timeout_secs = 1\n",
    )
    .unwrap();
    let bin = sandbox.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // claude is the fake agent; codex hangs on --version; opencode speaks ACP.
    std::os::unix::fs::symlink(fake_agent_bin(), bin.join("claude")).unwrap();
    script(&bin.join("codex"), "exec sleep 100");
    script(
        &bin.join("opencode"),
        "case \"$1\" in --version) echo 'opencode v0.15.2';; acp) echo 'acp server';; esac",
    );
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let out = Command::new(common::flightdeck_bin())
        .args(["probe", "--json"])
        .env("FLIGHTDECK_HOME", sandbox.fd_home())
        .env("HOME", sandbox.home())
        .env("SHELL", "/bin/sh")
        .env("PATH", &path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let host = &json[0];
    assert_eq!(host["host"], "local");
    let agent = |id: &str| {
        host["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .unwrap()
            .clone()
    };
    let claude = agent("claude");
    assert_eq!(claude["found"], true);
    assert_eq!(claude["version"], "1.2.3");
    assert_eq!(claude["path"], bin.join("claude").to_str().unwrap());
    let codex = agent("codex");
    assert_eq!(codex["found"], true);
    assert_eq!(codex["version"], serde_json::Value::Null);
    assert!(
        codex["error"].as_str().unwrap().contains("timed out"),
        "{codex}"
    );
    let opencode = agent("opencode");
    assert_eq!(opencode["version"], "0.15.2");
    assert_eq!(opencode["acp"], true);
    let gemini = agent("gemini");
    assert_eq!(gemini["found"], false);
    assert_eq!(gemini["acp"], false);
    // Our PATH comes first in the PATH tasks get.
    assert!(host["path"].as_str().unwrap().starts_with(&path));
}

#[test]
fn unwritable_data_dir_is_a_clear_error() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    // A file where the data directory should be: not even root can write there.
    std::fs::write(sandbox.fd_home().join("data"), "").unwrap();
    let out = Command::new(common::flightdeck_bin())
        .env("FLIGHTDECK_HOME", sandbox.fd_home())
        .env("HOME", sandbox.home())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot create directory") && err.contains("/data"),
        "{err}"
    );
}

/// An agent whose `--version` writes to the terminal and (with HANG) hangs.
fn tty_writing_agent(sandbox: &Sandbox) -> std::path::PathBuf {
    let path = sandbox.path().join("ttyagent");
    script(
        &path,
        "case \"$1\" in --version) echo TTY-LEAK >/dev/tty; echo 'ttyagent 1.0.0'; [ -n \"$HANG\" ] && sleep 1000;; \
         *) echo working; exec sleep 1000;; esac",
    );
    path
}

#[test]
fn probes_run_without_the_terminal_and_never_hold_up_a_dispatch() {
    let sandbox = Sandbox::new();
    let agent = tty_writing_agent(&sandbox);
    sandbox.write_config(&format!(
        "[settings]\nprobe_timeout_secs = 600\n\n[[agent]]\nid = \"tty\"\nbinary = {:?}\ninteractive = []\n",
        agent.display().to_string()
    ));
    // `probe` from a terminal: the version is read, nothing reaches the terminal.
    let mut probe = sandbox.spawn(&["probe"], 100, 30, &[]);
    probe.wait_for("1.0.0");
    assert_eq!(probe.wait_exit(), 0);
    assert!(!probe.screen().contains("TTY-LEAK"), "{}", probe.screen());
    // `dispatch` from a terminal with a `--version` that would hang for the
    // whole 600 s probe timeout: it starts the task at once, and prints
    // nothing of the agent's.
    let mut dispatch = sandbox.spawn(
        &["dispatch", "--project", "demo", "--agent", "tty"],
        100,
        30,
        &[("HANG", "1")],
    );
    assert_eq!(dispatch.wait_exit(), 0, "{}", dispatch.screen());
    assert!(
        !dispatch.screen().contains("TTY-LEAK"),
        "{}",
        dispatch.screen()
    );
    common::wait_for_condition("the task to run", || sandbox.log(1).contains("working"));
}
