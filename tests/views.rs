//! Rendered-frame snapshots of every view (ratatui TestBackend + insta), with
//! colours asserted separately where they carry meaning.

use std::path::PathBuf;

use flightdeck::catalog::RunMode;
use flightdeck::config::{Config, Project};
use flightdeck::daemon::client::Frames;
use flightdeck::host::PtySize;
use flightdeck::probe::{AgentProbe, HostProbe};
use flightdeck::protocol::task::{TaskRecord, TaskSpec, TaskState};
use flightdeck::term::new_emulator;
use flightdeck::ui::dispatch::DispatchForm;
use flightdeck::ui::state::{Focus, Modal, ProjectStatus, State, View};
use flightdeck::ui::view::draw;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Color;

const NOW: u64 = 1_700_000_100_000;

fn state(width: u16, height: u16) -> State {
    let mut config = Config::defaults(PathBuf::from("/cfg/config.toml"));
    config.projects = vec![
        Project {
            name: "webapp".into(),
            path: "/src/webapp".into(),
            ..Default::default()
        },
        Project {
            name: "notes".into(),
            path: "/src/notes".into(),
            ..Default::default()
        },
    ];
    let mut state = State::new(&config, Rect::new(0, 0, width, height), NOW);
    state.project_status = vec![
        ProjectStatus {
            exists: true,
            git: true,
        },
        ProjectStatus {
            exists: true,
            git: false,
        },
    ];
    let probe = HostProbe {
        host: "local".into(),
        probed_ms: NOW - 42_000,
        duration_ms: 310,
        path: Some("/usr/bin".into()),
        agents: config
            .catalog
            .agents()
            .iter()
            .map(|a| {
                let found = matches!(a.id.as_str(), "claude" | "opencode" | "codex");
                AgentProbe {
                    id: a.id.clone(),
                    found,
                    path: found.then(|| format!("/usr/bin/{}", a.binary)),
                    version: found.then(|| "1.4.2".to_string()),
                    acp: a.acp_check.as_ref().map(|_| a.id == "opencode"),
                    error: None,
                }
            })
            .collect(),
        error: None,
    };
    state.probes.insert("local".into(), probe);
    state
}

fn task(id: u64, agent: &str, state: TaskState) -> TaskRecord {
    TaskRecord {
        id,
        spec: TaskSpec {
            project: "webapp".into(),
            agent: agent.into(),
            host: "local".into(),
            mode: RunMode::Interactive,
            prompt: "fix the login bug".into(),
            argv: vec![agent.into()],
        },
        cwd: "/src/webapp".into(),
        pid: Some(4242),
        created_ms: NOW - 200_000,
        started_ms: Some(NOW - 187_000),
        ended_ms: (!state.is_live()).then_some(NOW - 60_000),
        state,
        log_path: "/logs/task.log".into(),
        workspace: Default::default(),
        request: None,
        activity: None,
    }
}

fn with_tasks(state: &mut State, frames: &Frames) {
    state.tasks = vec![
        task(3, "claude", TaskState::Running),
        task(2, "codex", TaskState::Exited { code: 1 }),
        task(
            1,
            "opencode",
            TaskState::Stopped {
                signal: Some("TERM".into()),
                code: None,
            },
        ),
    ];
    state.selected_task = Some(3);
    for (id, text) in [
        (
            3u64,
            "\x1b[1;32m✓\x1b[0m read src/login.rs\r\n\x1b[31merror\x1b[0m: token expired\r\nthinking…",
        ),
        (2, "codex> \x1b[33mwarning\x1b[0m unused import\r\n"),
        (1, "opencode ready\r\n"),
    ] {
        let mut emulator = new_emulator(PtySize { rows: 30, cols: 80 }, 100);
        emulator.feed(text.as_bytes());
        frames.insert(id, emulator.frame(0));
    }
}

fn render(state: &State, frames: &Frames) -> Terminal<TestBackend> {
    let mut terminal =
        Terminal::new(TestBackend::new(state.area.width, state.area.height)).unwrap();
    terminal.draw(|f| draw(f, state, frames)).unwrap();
    terminal
}

fn find(buf: &Buffer, text: &str) -> (u16, u16) {
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if let Some(i) = row.find(text) {
            return (row[..i].chars().count() as u16, y);
        }
    }
    panic!("{text:?} not on screen");
}

#[test]
fn dashboard_without_tasks() {
    let state = state(120, 32);
    let terminal = render(&state, &Frames::default());
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn dashboard_with_live_pane() {
    let mut state = state(120, 32);
    let frames = Frames::default();
    with_tasks(&mut state, &frames);
    let terminal = render(&state, &frames);
    insta::assert_snapshot!(terminal.backend());
    let buf = terminal.backend().buffer();
    // The pane shows the agent's own colours.
    let (x, y) = find(buf, "error: token");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    // Task states are coloured by meaning.
    let (x, y) = find(buf, "running 3m07s");
    assert_eq!(buf[(x, y)].fg, Color::Green);
    let (x, y) = find(buf, "exited 1");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    // The focused list (tasks) has the accent border; others do not.
    let (x, y) = find(buf, "Tasks");
    assert_eq!(buf[(x - 2, y)].fg, Color::Cyan);
    let (x, y) = find(buf, "Projects");
    assert_eq!(buf[(x - 2, y)].fg, Color::DarkGray);
}

#[test]
fn dispatch_dialog() {
    let mut state = state(120, 32);
    let mut form = DispatchForm::new(&state, 0, 0);
    form.paste("Fix the flaky login test.\nKeep the public API.");
    form.error = Some("project webapp is gone: /src/webapp is not a directory".into());
    state.modal = Some(Modal::Dispatch(Box::new(form)));
    let terminal = render(&state, &Frames::default());
    insta::assert_snapshot!(terminal.backend());
    let buf = terminal.backend().buffer();
    let (x, y) = find(buf, "project webapp is gone");
    assert_eq!(buf[(x, y)].fg, Color::Red);
}

#[test]
fn help_is_generated_from_the_keymap() {
    let mut state = state(120, 32);
    state.modal = Some(Modal::Help { top: 0 });
    let terminal = render(&state, &Frames::default());
    insta::assert_snapshot!(terminal.backend());
}

/// At 72×18 the help does not fit: it says so, scrolls with j/G, and shows
/// the config file's path at its end.
#[test]
fn help_scrolls_where_it_does_not_fit() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use flightdeck::ui::action::Action;
    let mut state = state(72, 18);
    state.modal = Some(Modal::Help { top: 0 });
    let text = |state: &State| {
        let terminal = render(state, &Frames::default());
        let buf = terminal.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let first = text(&state);
    assert!(first.contains("j/k scroll"), "{first}");
    assert!(!first.contains("/cfg/config.toml"), "{first}");
    let key = |code| Action::Key(KeyEvent::new(code, KeyModifiers::NONE));
    flightdeck::ui::update::update(&mut state, key(KeyCode::Char('G')));
    let last = text(&state);
    assert!(last.contains("Config: /cfg/config.toml"), "{last}");
    assert!(matches!(state.modal, Some(Modal::Help { top }) if top > 0));
    // Another key closes it.
    flightdeck::ui::update::update(&mut state, key(KeyCode::Char('x')));
    assert!(state.modal.is_none());
}

/// Issue 15 item 4: one long wrapped line taller than the prompt box keeps
/// the cursor, and the text typed last, on screen.
#[test]
fn a_long_wrapped_prompt_keeps_the_cursor_in_view() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use flightdeck::ui::action::Action;
    let mut state = state(120, 32);
    state.modal = Some(Modal::Dispatch(Box::new(DispatchForm::new(&state, 0, 0))));
    // ~30 rows of wrapped text in a box of a few rows, typed key by key.
    let words: String = (0..400).map(|i| format!("w{i} ")).collect();
    for c in words.chars().chain("ENDMARK".chars()) {
        let key = Action::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        flightdeck::ui::update::update(&mut state, key);
    }
    let terminal = render(&state, &Frames::default());
    let buf = terminal.backend().buffer();
    let screen: Vec<String> = (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect();
    assert!(
        screen.iter().any(|row| row.contains("w399 ENDMARK")),
        "{}",
        screen.join("\n")
    );
    assert!(
        !screen.iter().any(|row| row.contains(" w0 w1 ")),
        "scrolled"
    );
}

#[test]
fn confirm_stop() {
    let mut state = state(120, 32);
    let frames = Frames::default();
    with_tasks(&mut state, &frames);
    state.modal = Some(Modal::ConfirmStop(3));
    insta::assert_snapshot!(render(&state, &frames).backend());
}

#[test]
fn grid_of_panes() {
    let mut state = state(120, 32);
    let frames = Frames::default();
    with_tasks(&mut state, &frames);
    state.view = View::Grid;
    let terminal = render(&state, &frames);
    insta::assert_snapshot!(terminal.backend());
}

#[test]
fn agents_focused_with_probe_in_flight() {
    let mut state = state(120, 32);
    state.focus = Focus::Agents;
    state.probing.insert("local".into());
    insta::assert_snapshot!(render(&state, &Frames::default()).backend());
}

#[test]
fn too_small() {
    let state = state(60, 12);
    let terminal = render(&state, &Frames::default());
    insta::assert_snapshot!(terminal.backend());
    let buf = terminal.backend().buffer();
    let (x, y) = find(buf, "Terminal too small");
    assert_eq!(buf[(x, y)].fg, Color::Red);
}

#[test]
fn review_of_a_diff() {
    use flightdeck::git::parse_unified_diff;
    use flightdeck::ui::review::Review;
    let mut state = state(120, 32);
    let frames = Frames::default();
    with_tasks(&mut state, &frames);
    let diff = [
        "diff --git a/src/login.rs b/src/login.rs",
        "index 1111111..2222222 100644",
        "--- a/src/login.rs",
        "+++ b/src/login.rs",
        "@@ -10,4 +10,4 @@ fn login()",
        "     let user = find(name);",
        "-    let total = check(user);",
        "+    let verdict = check(user);",
        "     if expired(user) {",
        "         return;",
        "@@ -40,3 +40,4 @@ fn logout()",
        "     drop(session);",
        "+    audit(\"logout\");",
        " }",
        " ",
        "diff --git a/notes.md b/notes.md",
        "new file mode 100644",
        "index 0000000..3333333",
        "--- /dev/null",
        "+++ b/notes.md",
        "@@ -0,0 +1 @@",
        "+remember the tokens",
        "",
    ]
    .join("\n");
    let mut review = Review::new(3, 24, String::new());
    review.set_files(parse_unified_diff(&diff));
    review.selection.toggle_hunk("src/login.rs", 1);
    state.modal = Some(Modal::Review(Box::new(review)));
    let terminal = render(&state, &frames);
    insta::assert_snapshot!(terminal.backend());
    let buf = terminal.backend().buffer();
    // Removed red, added green; the changed word has its own background.
    let (x, y) = find(buf, "-    let total");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    let (x, y) = find(buf, "+    let verdict");
    assert_eq!(buf[(x, y)].fg, Color::Green);
    assert_eq!(buf[(x + 9, y)].bg, Color::Rgb(0, 95, 0));
    assert_eq!(buf[(x + 1, y)].bg, Color::Reset);
    // The rejected hunk is marked and dimmed.
    let (x, y) = find(buf, "[ ] @@ -40,3 +40,4 @@");
    assert_eq!(buf[(x + 4, y)].fg, Color::Cyan);
    let (x, y) = find(buf, "audit");
    assert!(buf[(x, y)].modifier.contains(ratatui::style::Modifier::DIM));
}

#[test]
fn tasks_say_what_they_do_and_who_needs_you() {
    use flightdeck::attention::{Activity, ActivityState, Source};
    let mut state = state(120, 32);
    let frames = Frames::default();
    with_tasks(&mut state, &frames);
    state.tasks.insert(0, task(4, "gemini", TaskState::Running));
    let activity = |state, source, reason: &str, ago| Activity {
        state,
        since_ms: NOW - ago,
        source,
        reason: reason.into(),
    };
    state.tasks[0].activity = Some(activity(ActivityState::Idle, Source::Quiet, "", 30_000));
    state.tasks[1].activity = Some(activity(
        ActivityState::Waiting,
        Source::Hook,
        "PermissionRequest Bash(rm -rf build)",
        12_000,
    ));
    // An ended task's last activity is not shown.
    state.tasks[2].activity = Some(activity(ActivityState::Working, Source::Quiet, "", 1));
    let terminal = render(&state, &frames);
    insta::assert_snapshot!(terminal.backend());
    let buf = terminal.backend().buffer();
    let (x, y) = find(buf, "1 need you");
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    // (The list's row of the selected task is in the selection's colours.)
    find(buf, "◆ claude   waiting 12s");
    let (x, y) = find(buf, "◆ waiting 12s");
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    let (x, y) = find(buf, "○ gemini   idle 30s");
    assert_eq!(buf[(x, y)].fg, Color::Blue);
    find(buf, "exited 1");
    // The selected pane says why it waits.
    find(buf, "running 3m07s · ◆ waiting 12s");
    find(buf, " hook: PermissionRequest Bash(rm -rf build) ");
}

/// Issue 15 item 12: at 80 columns a task row drops its duration, diff
/// size and agent, in that order, before its id, state or project.
#[test]
fn task_rows_fit_a_narrow_list() {
    let mut narrow = state(80, 24);
    let frames = Frames::default();
    with_tasks(&mut narrow, &frames);
    let terminal = render(&narrow, &frames);
    let buf = terminal.backend().buffer();
    let rows: Vec<String> = (0..buf.area.height)
        .map(|y| (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect())
        .collect();
    for (id, label) in [(2, "exited 1"), (1, "stopped TERM")] {
        let row = rows
            .iter()
            .find(|r| r.contains(&format!("#{id} ")))
            .unwrap_or_else(|| panic!("no row of #{id}:\n{}", rows.join("\n")));
        assert!(row.contains(label) && row.contains("webapp"), "{row}");
    }
    // At 120 columns nothing is dropped.
    let mut wide = state(120, 32);
    with_tasks(&mut wide, &frames);
    let terminal = render(&wide, &frames);
    let buf = terminal.backend().buffer();
    let text: String = (0..buf.area.height)
        .flat_map(|y| (0..buf.area.width).map(move |x| (x, y)))
        .map(|p| buf[p].symbol().to_string())
        .collect();
    assert!(text.contains("opencode stopped TERM"), "{text}");
}
