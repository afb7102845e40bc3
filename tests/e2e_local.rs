//! End to end: the real binary in a PTY, dispatching the fake agent.

mod common;

use std::path::Path;

use common::{Sandbox, kill, parent_of, process_alive, wait_for_condition};

const CTRL_S: &str = "\x13";
const DETACH: &str = "\x1d";

/// Opens the dispatch dialog, picks `agent` in `mode` (the dialog offers
/// what was last run on the project), types `prompt` and starts it.
fn dispatch_with(tui: &mut common::Tui, agent: &str, mode: &str, prompt: &str) {
    tui.send("n");
    tui.wait_for("New task");
    select_agent(tui, agent);
    tui.send("\t"); // agent → mode
    tui.cycle_to("Mode", mode);
    tui.send("\x1b[Z\x1b[Z\x1b[Z"); // back to the prompt: mode → agent → project → prompt
    tui.send(prompt);
    tui.send(CTRL_S);
    tui.wait_gone("New task");
}

/// Dispatches the fake agent, interactive.
fn dispatch(tui: &mut common::Tui, prompt: &str) {
    dispatch_with(tui, "fake", "interactive", prompt);
}

/// In the open dialog, moves to the agent field and cycles it to `id`.
fn select_agent(tui: &mut common::Tui, id: &str) {
    tui.send("\t\t"); // from the prompt: Tab → project, Tab → agent
    tui.cycle_to("Agent", id);
}

#[test]
fn dispatch_attach_answer_detach_stop_and_persist() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[settings]\nstop_grace_secs = 2\n");
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");

    // A task that asks a question, then idles until its stdin closes.
    dispatch(&mut tui, "first lines=5 ask idle");
    tui.wait_for("Proceed with the plan? [y/n]");
    tui.wait_for("#1 fake · demo · running");

    // Attach, answer, see the answer, detach: still running.
    tui.send("\r");
    tui.wait_for("attached to #1");
    tui.send("yes please\r");
    tui.wait_for("answer: yes please");
    tui.wait_for("idle: waiting");
    tui.send(DETACH);
    tui.wait_for("detached from #1; it keeps running");
    tui.wait_for("#1 fake · demo · running");

    // A second task, stopped from the dashboard.
    dispatch(&mut tui, "second idle");
    tui.wait_for("#2 fake · demo · running");
    tui.send("x");
    tui.wait_for("Stop task #2");
    tui.send("y");
    tui.wait_for("stopped TERM");

    // Quitting with a live task asks; `s` stops it cleanly first.
    tui.send("q");
    tui.wait_for("Quit and leave them running?");
    tui.send("s");
    assert_eq!(tui.wait_exit(), 0);

    let tasks = sandbox.tasks_json();
    let states: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["state"]["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["stopped", "stopped"], "{tasks:#}");
    assert_eq!(tasks[1]["state"]["signal"], "TERM");
    let log = sandbox.log(1);
    assert!(log.contains("Proceed with the plan? [y/n]"), "{log}");
    assert!(log.contains("answer: yes please"), "{log}");
    assert!(log.contains("of 5: the quick brown fox"), "{log}");
}

#[test]
fn prompt_reaches_the_agent_byte_for_byte() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let record = sandbox.path().join("argv.json");
    let mut tui = sandbox.spawn(
        &[],
        120,
        36,
        &[("FAKE_AGENT_RECORD", record.to_str().unwrap())],
    );
    tui.wait_for("✓ fake");
    tui.send("n");
    tui.wait_for("New task");
    // Typed text, a newline typed with Enter, and a bracketed paste.
    tui.send("it's \"quoted\" $(touch /tmp/x) `id` $HOME \\");
    tui.send("\r");
    tui.send("\x1b[200~ünïcødé ✓ 漢字\tTab\x1b[201~");
    tui.send(CTRL_S);
    tui.wait_for("done.");
    wait_for_condition("argv record", || record.exists());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let args: Vec<Vec<u8>> = serde_json::from_value(json["args"].clone()).unwrap();
    let expected = "it's \"quoted\" $(touch /tmp/x) `id` $HOME \\\nünïcødé ✓ 漢字\tTab";
    assert_eq!(args, vec![expected.as_bytes().to_vec()]);
    // A git project: the agent runs in the task's own worktree.
    let worktree = sandbox.fd_home().join("data/worktrees/demo/1");
    assert_eq!(json["cwd"], worktree.to_str().unwrap());
}

#[test]
fn stop_escalates_to_sigkill_and_kills_the_process_group() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[settings]\nstop_grace_secs = 0.5\n");
    let pidfile = sandbox.path().join("child.pid");
    let mut tui = sandbox.spawn(
        &[],
        120,
        36,
        &[("FAKE_AGENT_CHILD_PIDFILE", pidfile.to_str().unwrap())],
    );
    tui.wait_for("✓ fake");
    dispatch(&mut tui, "child ignore-term idle");
    tui.wait_for("idle: waiting");
    let child: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(process_alive(child));
    tui.send("x");
    tui.wait_for("Stop task #1");
    tui.send("y");
    tui.wait_for("stopped KILL");
    // The grandchild in the same process group died with it.
    wait_for_condition("grandchild gone", || !process_alive(child));
}

#[test]
fn exit_codes_and_failures_show_in_the_task_list() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[[agent]]\nid = \"ghost\"\nbinary = \"/nonexistent/ghost-agent\"\n");
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    dispatch(&mut tui, "exit=3");
    tui.wait_for("exited 3");

    // An agent that is not installed is refused in the dialog, by name.
    tui.send("n");
    tui.wait_for("New task");
    select_agent(&mut tui, "ghost");
    tui.wait_for("◂ ghost ▸");
    tui.send(CTRL_S);
    tui.wait_for("is not installed on local");
    tui.send("\x1b");
    tui.wait_gone("New task");
}

#[test]
fn agents_outlive_the_tui_and_a_new_one_sees_what_they_printed() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    dispatch(&mut tui, "ask lines=2 idle");
    tui.wait_for("Proceed with the plan? [y/n]");
    // Kill the TUI outright, as a dropped SSH session would.
    kill(tui.pid(), nix::sys::signal::Signal::SIGKILL);
    tui.wait_exit();
    drop(tui);
    // The agent is still there; answer it from the CLI side of things.
    let (code, out, _) = sandbox.cli(&["ls", "--json"]);
    assert_eq!(code, 0);
    let tasks: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(tasks[0]["state"]["state"], "running");

    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("#1 fake · demo · running");
    tui.wait_for("Proceed with the plan? [y/n]");
    tui.send("\r");
    tui.wait_for("attached to #1");
    tui.send("later\r");
    tui.wait_for("answer: later");
    tui.send(DETACH);
    tui.wait_for("detached from #1");
    tui.wait_for("line 2 of 2");
}

#[test]
fn daemon_killed_hard_readopts_running_agents() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    dispatch(&mut tui, "lines=3 ask idle");
    tui.wait_for("Proceed with the plan? [y/n]");
    let daemon = sandbox.daemon_pid().expect("a daemon runs");
    kill(daemon, nix::sys::signal::Signal::SIGKILL);
    // The TUI starts a new daemon, which re-adopts the agent from its keeper.
    tui.wait_until("a new daemon", |_| {
        sandbox.daemon_pid().is_some_and(|p| p != daemon)
    });
    tui.wait_for("reconnected to the daemon");
    tui.wait_for("#1 fake · demo · running");
    tui.wait_for("Proceed with the plan? [y/n]"); // rebuilt from the log
    // Its PTY survived: it still answers.
    tui.send("\r");
    tui.wait_for("attached to #1");
    tui.send("back again\r");
    tui.wait_for("answer: back again");
    tui.send(DETACH);
    tui.wait_for("detached from #1");
    assert!(sandbox.log(1).contains("of 3: the quick brown fox"));
    // The new daemon knew the probe results the old one saved.
    let screen = tui.screen();
    assert!(
        screen.contains("✓ fake") && !screen.contains("not probed"),
        "{screen}"
    );
}

#[test]
fn tasks_that_end_or_vanish_while_no_daemon_runs_are_reported_honestly() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let ends = sandbox.dispatch(&["--project", "demo", "--agent", "fake", "sleep=1500 exit=4"]);
    let vanishes = sandbox.dispatch(&["--project", "demo", "--agent", "fake", "idle"]);
    let tasks: serde_json::Value = serde_json::from_str(&sandbox.cli(&["ls", "--json"]).1).unwrap();
    let agent_pid = tasks[1]["pid"].as_u64().unwrap() as u32;
    kill(
        sandbox.daemon_pid().unwrap(),
        nix::sys::signal::Signal::SIGKILL,
    );
    // The second task's keeper and agent die too; the first ends on its own.
    kill(parent_of(agent_pid), nix::sys::signal::Signal::SIGKILL);
    kill(agent_pid, nix::sys::signal::Signal::SIGKILL);
    let exit_file = sandbox.fd_home().join(format!("run/tasks/{ends}.exit"));
    wait_for_condition("the first task to end", || exit_file.exists());

    // The next daemon tells it as it is.
    let tasks: serde_json::Value = serde_json::from_str(&sandbox.cli(&["ls", "--json"]).1).unwrap();
    let state = |id: u64| {
        tasks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .unwrap_or_else(|| panic!("no task {id} in {tasks:#}"))["state"]
            .clone()
    };
    assert_eq!(state(ends)["state"], "exited", "{tasks:#}");
    assert_eq!(state(ends)["code"], 4);
    assert_eq!(state(vanishes)["state"], "lost", "{tasks:#}");
    assert!(sandbox.log(ends).contains("done."));
}

fn cmdline(pid: u32) -> Vec<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    raw.split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// The pid of task `id`'s agent, from `ls --json` run with `bin`.
fn agent_pid(sandbox: &Sandbox, bin: &Path, id: u64) -> u32 {
    let (_, out, _) = sandbox.cli_of(bin, &["ls", "--json"]);
    let tasks: serde_json::Value = serde_json::from_str(&out).unwrap();
    let task = tasks.as_array().unwrap().iter().find(|t| t["id"] == id);
    task.and_then(|t| t["pid"].as_u64())
        .unwrap_or_else(|| panic!("no pid for task {id} in {tasks:#}")) as u32
}

#[test]
fn keepers_are_the_small_binary_and_flightdeck_shim_stands_in_without_it() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let bin = Path::new(common::flightdeck_bin());
    let first = sandbox.dispatch(&["--project", "demo", "--agent", "fake", "idle"]);
    let keeper = parent_of(agent_pid(&sandbox, bin, first));
    let small = bin.with_file_name("flightdeck-keeper");
    assert_eq!(cmdline(keeper), [small.display().to_string()]);
    assert_eq!(sandbox.cli(&["daemon", "stop", "--force"]).0, 0);

    // A flightdeck installed without flightdeck-keeper beside it.
    let lone = sandbox.home().join("bin/flightdeck");
    std::fs::create_dir_all(lone.parent().unwrap()).unwrap();
    std::fs::copy(bin, &lone).unwrap();
    let (code, out, err) = sandbox.cli_of(
        &lone,
        &[
            "dispatch",
            "--project",
            "demo",
            "--agent",
            "fake",
            "ask idle",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let second: u64 = out.trim().parse().unwrap();
    let agent = agent_pid(&sandbox, &lone, second);
    assert_eq!(
        cmdline(parent_of(agent)),
        [lone.display().to_string(), "keeper".into()]
    );
    // It keeps the agent through a daemon killed hard, like the small one.
    kill(
        sandbox.daemon_pid().unwrap(),
        nix::sys::signal::Signal::SIGKILL,
    );
    let (_, out, _) = sandbox.cli_of(&lone, &["ls", "--json"]);
    let tasks: serde_json::Value = serde_json::from_str(&out).unwrap();
    let task = tasks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == second)
        .unwrap_or_else(|| panic!("no task {second} in {tasks:#}"));
    assert_eq!(task["state"]["state"], "running", "{tasks:#}");
    assert!(process_alive(agent));
    assert_eq!(sandbox.cli_of(&lone, &["daemon", "stop", "--force"]).0, 0);
}

#[test]
fn too_small_terminal_says_so_and_recovers() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let tui = sandbox.spawn(&[], 50, 12, &[]);
    tui.wait_for("Terminal too small");
    tui.wait_for("this one is 50×12");
    tui.resize(120, 36);
    tui.wait_for("Projects");
}

#[test]
fn invalid_config_is_reported_with_line_and_terminal_untouched() {
    let sandbox = Sandbox::new();
    std::fs::write(
        sandbox.fd_home().join("config/config.toml"),
        "[settings]\nstop_grace_secs = \"soon\"\n",
    )
    .unwrap();
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    assert_ne!(tui.wait_exit(), 0);
    tui.wait_for("config.toml:2:");
    tui.wait_for("invalid type");
    // It never entered the alternate screen.
    assert!(!String::from_utf8_lossy(&tui.raw_output()).contains("\x1b[?1049h"));
}

#[test]
fn grid_shows_several_live_panes() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let mut tui = sandbox.spawn(&[], 140, 40, &[]);
    tui.wait_for("✓ fake");
    for name in ["alpha", "beta", "gamma"] {
        dispatch(&mut tui, &format!("{name} idle"));
        tui.wait_for(&format!("prompt: {name} idle"));
    }
    tui.send("g");
    tui.wait_until("three panes", |s| {
        let text = s.contents();
        ["prompt: alpha", "prompt: beta", "prompt: gamma"]
            .iter()
            .all(|p| text.contains(p))
    });
}

#[test]
fn offers_the_current_repo_when_no_projects_are_configured() {
    let sandbox = Sandbox::new();
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("Add project");
    tui.send("y");
    tui.wait_for("added project repo");
    let config = std::fs::read_to_string(sandbox.fd_home().join("config/config.toml")).unwrap();
    assert!(config.contains("name = \"repo\""), "{config}");
}

#[test]
fn queries_are_answered_alt_screen_and_garbage_render() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    // The agent asks for the cursor position and waits for the answer.
    dispatch(&mut tui, "dsr garbage");
    tui.wait_for("cursor at 5,1");
    tui.wait_for("garbage done");
    tui.wait_for("exited 0");
    // A full-screen program draws in the pane and is driven through attach.
    dispatch(&mut tui, "altscreen");
    tui.wait_for("ALT SCREEN — press q");
    tui.send("\r");
    tui.wait_for("attached to #2");
    tui.send("q");
    tui.wait_for("left alt screen");
    tui.wait_for("#2 fake · demo · exited 0");
}

/// A custom agent: any program, here `sh -c PROMPT` in headless mode.
const SH_AGENT: &str = "[[agent]]\nid = \"sh\"\nbinary = \"sh\"\ninteractive = []\nheadless = [\"-c\", \"{prompt}\"]\n";

/// Dispatches `sh -c script` in headless mode through the dialog.
fn dispatch_sh(tui: &mut common::Tui, script: &str) {
    dispatch_with(tui, "sh", "headless", script);
}

#[test]
fn ptys_follow_pane_terminal_and_attach_sizes() {
    let sandbox = Sandbox::new();
    sandbox.write_config(SH_AGENT);
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    dispatch_sh(
        &mut tui,
        "trap 'echo size $(stty size)' WINCH; echo size $(stty size); while :; do sleep 0.05; done",
    );
    // At 120×36 the pane is 78×33 inside its frame; at 140×40, 92×37.
    tui.wait_for("size 33 78");
    tui.resize(140, 40);
    tui.wait_for("size 37 92");
    // Attached, the PTY gets the whole terminal; detached, the pane again.
    tui.send("\r");
    tui.wait_for("size 40 140");
    tui.send(DETACH);
    tui.wait_for("detached from #1");
    tui.wait_for("size 37 92");
}

#[test]
fn scrollback_by_keys_and_wheel() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    dispatch(&mut tui, "lines=300 idle");
    tui.wait_for("idle: waiting");
    tui.send("\x1b[5~"); // PgUp
    tui.wait_for("lines back");
    tui.wait_for("line 270 of 300");
    tui.send("\x1b[F"); // End: back to live
    tui.wait_gone("lines back");
    // Mouse wheel up over the pane (SGR mouse), three lines per notch.
    tui.send("\x1b[<64;80;10M");
    tui.wait_for("↑ 3 lines back");
    tui.send("\x1b[<65;80;10M");
    tui.wait_gone("lines back");
}

#[test]
fn deep_scrollback_is_replayed_from_the_log() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    // Far more lines than the live emulator keeps in memory.
    dispatch(&mut tui, "lines=3000 idle");
    tui.wait_for("idle: waiting");
    tui.send("\x1b[H"); // Home: the start of the scrollback
    tui.wait_until("the top of a 10,000-line scrollback", |s| {
        let text = s.contents();
        text.contains("fake-agent 1.2.3") && text.contains("of 3000: the quick brown fox")
    });
    // It says how far back that is, as far as the log holds yet (about
    // 3,000 lines once written), not the 10,000 of scrollback it may hold.
    let screen = tui.screen();
    let back: usize = screen
        .split("↑ ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no scroll label: {screen}"));
    assert!((1..3100).contains(&back), "↑ {back} lines back");
    tui.send("\x1b[F"); // End: live again
    tui.wait_gone("lines back");
    tui.wait_for("idle: waiting");
}

#[test]
fn ctrl_c_reaches_the_agent_and_a_program_that_never_reads_stdin_is_harmless() {
    let sandbox = Sandbox::new();
    sandbox.write_config(SH_AGENT);
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    // Never reads stdin: a big paste fills the PTY's input queue.
    dispatch_sh(&mut tui, "echo deaf; exec sleep 1000");
    tui.wait_for("deaf");
    tui.send("\r");
    tui.wait_for("attached to #1");
    tui.send(vec![b'z'; 200_000]);
    tui.send(DETACH);
    tui.wait_for("detached from #1");
    // The dashboard still answers keys.
    tui.send("?");
    tui.wait_for("Help");
    tui.send("?");
    tui.wait_gone("Help");

    tui.send("n");
    tui.wait_for("New task");
    select_agent(&mut tui, "fake");
    tui.send("\x1b[Z\x1b[Zidle"); // Shift-Tab twice: agent → project → prompt
    tui.send(CTRL_S);
    tui.wait_for("idle: waiting");
    tui.send("\r");
    tui.wait_for("attached to #2");
    tui.send("\x03");
    tui.wait_for("killed by signal INT");
}

#[test]
fn sigterm_sighup_and_sigquit_give_the_terminal_back() {
    use nix::sys::signal::Signal;
    for signal in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT] {
        let sandbox = Sandbox::new();
        sandbox.write_config("");
        let mut tui = sandbox.spawn(&[], 100, 30, &[]);
        tui.wait_for("✓ fake");
        tui.wait_until("the dashboard's modes", |s| {
            s.alternate_screen() && s.mouse_protocol_mode() != vt100::MouseProtocolMode::None
        });
        kill(tui.pid(), signal);
        tui.wait_until(&format!("the terminal back after {signal}"), |s| {
            !s.alternate_screen()
                && !s.hide_cursor()
                && s.mouse_protocol_mode() == vt100::MouseProtocolMode::None
        });
        assert_ne!(tui.wait_exit(), 0, "{signal} is an abnormal end");
    }
}

#[test]
fn a_task_dispatched_from_the_cli_gets_the_dashboards_pane_size() {
    let sandbox = Sandbox::new();
    sandbox.write_config(SH_AGENT);
    let tui = sandbox.spawn(&[], 140, 40, &[]);
    tui.wait_for("✓ fake");
    // The CLI has no terminal: it asks for 120×40; the dashboard shows the
    // new task at once, in a pane of 92×37.
    let script =
        "trap 'echo size $(stty size)' WINCH; echo size $(stty size); while :; do sleep 0.05; done";
    let id = sandbox.dispatch(&["--project", "demo", "--agent", "sh", "--headless", script]);
    tui.wait_for(&format!("#{id} sh · demo · running"));
    tui.wait_for("size 37 92");
}

#[test]
fn attach_keeps_the_agents_last_screen_and_shows_an_ended_tasks() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let id = sandbox.dispatch(&["--project", "demo", "--agent", "fake", "ask exit=3"]);
    let mut tui = sandbox.spawn(&["attach", &id.to_string()], 100, 30, &[]);
    tui.wait_for("Proceed with the plan? [y/n]");
    tui.send("y\r");
    tui.wait_for(&format!("detached: task #{id} exited 3"));
    // Back on the normal screen, the agent's last lines are still there.
    let screen = tui.screen();
    assert!(
        screen.contains("answer: y") && screen.contains("done."),
        "{screen}"
    );
    tui.wait_exit();
    // An ended task: its final screen, to read, instead of a refusal.
    let (code, out, err) = sandbox.cli(&["attach", &id.to_string()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Proceed with the plan? [y/n]") && out.contains("answer: y"),
        "{out}"
    );
    assert!(
        err.contains("has exited 3: its last screen is above"),
        "{err}"
    );
}

/// Issue 15 item 9: the dashboard reads its config file again when it
/// changes — a new project shows at once — and a bad edit is reported with
/// its line while the running config stays.
#[test]
fn the_dashboard_reloads_its_config_when_the_file_changes() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    let extra = format!(
        "[[project]]\nname = \"second\"\npath = {:?}\n",
        sandbox.repo().display().to_string()
    );
    sandbox.write_config(&extra);
    tui.wait_for("config reloaded: 2 project(s)");
    tui.wait_for("second");
    let config = sandbox.fd_home().join("config/config.toml");
    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{good}\n[settings\n")).unwrap();
    tui.wait_for("config not reloaded");
    let screen = tui.screen();
    // file:line:column, and what is wrong there.
    let at = format!("config.toml:{}:", good.lines().count() + 2);
    assert!(
        screen.contains(&at) && screen.contains("unclosed table"),
        "{screen}"
    );
    // The running config stays: both projects are still listed.
    assert!(
        screen.contains("second") && screen.contains("demo"),
        "{screen}"
    );
}

/// Issue 15 item 9: a project is added from inside the dashboard: `P`, a
/// directory typed with Tab completion, Enter; it is listed at once and
/// saved to the config file.
#[test]
fn a_project_is_added_from_the_dashboard() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    std::fs::create_dir(sandbox.path().join("another-project")).unwrap();
    let mut tui = sandbox.spawn(&[], 120, 36, &[]);
    tui.wait_for("✓ fake");
    tui.send("P");
    tui.wait_for("Add project");
    // Replace the starting "~/" with the sandbox's path and complete it.
    tui.send("\x7f\x7f");
    tui.send(format!("{}/anoth\t", sandbox.path().display()));
    tui.wait_for("another-project/");
    tui.send("\r");
    tui.wait_for(" another-project ");
    let config = std::fs::read_to_string(sandbox.fd_home().join("config/config.toml")).unwrap();
    assert!(config.contains("name = \"another-project\""), "{config}");
}
