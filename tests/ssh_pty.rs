//! Agents in a remote PTY over SSH against a real OpenSSH server: typing
//! into them, resizing, stopping the whole remote process group (TERM, and
//! KILL when TERM is ignored), sshd dying mid-task, and reconnecting.

mod common;

use std::io::{Read, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fake_agent_bin;
use common::sshd::{Fixture, block_on, eventually};
use flightdeck::host::ExitInfo;
use flightdeck::host::ssh::ConnState;
use flightdeck::host::{Host, HostError, PtyProcess, PtySize, PtySpec, RunSpec, StopSignal};

const T: Duration = Duration::from_secs(20);

/// A spawned remote PTY with its output collected by a reader thread and
/// its exit delivered by a waiter thread.
struct Remote {
    output: Arc<Mutex<Vec<u8>>>,
    writer: Box<dyn Write + Send>,
    control: Arc<dyn flightdeck::host::PtyControl>,
    exit: mpsc::Receiver<ExitInfo>,
    pid: Option<u32>,
}

impl Remote {
    fn spawn(f: &Fixture, argv: &[&str], env: &[(&str, &str)]) -> Remote {
        let spec = PtySpec {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: "/tmp".into(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            size: PtySize { rows: 24, cols: 80 },
            keep: None,
        };
        let process: PtyProcess = block_on(f.host.spawn_pty(spec)).expect("spawn remote pty");
        let output = Arc::new(Mutex::new(Vec::new()));
        let sink = output.clone();
        let mut reader = process.reader;
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let (tx, exit) = mpsc::channel();
        let waiter = process.waiter;
        std::thread::spawn(move || {
            let _ = tx.send(waiter());
        });
        Remote {
            output,
            writer: process.writer,
            control: process.control,
            exit,
            pid: process.pid,
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().unwrap()).into_owned()
    }

    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + T;
        while !self.text().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in output: {:?}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn exit(&self) -> ExitInfo {
        self.exit.recv_timeout(T).expect("the waiter returns")
    }
}

fn remote_alive(f: &Fixture, pid: u32) -> bool {
    let out = block_on(
        f.host
            .run(RunSpec::new(["kill", "-0", &pid.to_string()], T)),
    )
    .unwrap();
    out.success()
}

#[test]
fn remote_agent_asks_and_reads_the_typed_answer() {
    let f = Fixture::new();
    let mut remote = Remote::spawn(&f, &[fake_agent_bin(), "ask"], &[]);
    remote.wait_for("Proceed with the plan? [y/n]");
    remote.writer.write_all(b"yes, go\r").unwrap();
    remote.wait_for("answer: yes, go");
    remote.wait_for("done.");
    assert_eq!(remote.exit().code, Some(0));
    // The agent runs in the requested directory with a colour terminal.
    assert!(
        remote.text().contains("cwd:\u{1b}[0m /tmp"),
        "{:?}",
        remote.text()
    );
}

#[test]
fn resize_reaches_the_remote_terminal() {
    let f = Fixture::new();
    let script = "echo \"$TERM $COLORTERM\"; stty size; \
                  while [ \"$(stty size)\" = '24 80' ]; do sleep 0.05; done; echo \"now $(stty size)\"";
    let remote = Remote::spawn(&f, &["sh", "-c", script], &[]);
    remote.wait_for("xterm-256color truecolor");
    remote.wait_for("24 80");
    remote
        .control
        .resize(PtySize {
            rows: 40,
            cols: 120,
        })
        .unwrap();
    remote.wait_for("now 40 120");
    assert_eq!(remote.exit().code, Some(0));
}

#[test]
fn term_stops_the_whole_remote_process_group() {
    let f = Fixture::new();
    let pidfile = tempfile::NamedTempFile::new().unwrap();
    let pidfile_path = pidfile.path().to_str().unwrap().to_string();
    let remote = Remote::spawn(
        &f,
        &[fake_agent_bin(), "child idle"],
        &[("FAKE_AGENT_CHILD_PIDFILE", &pidfile_path)],
    );
    remote.wait_for("idle: waiting");
    let agent = remote.pid.expect("the launcher reports the agent's group");
    let child: u32 = std::fs::read_to_string(&pidfile_path)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(remote_alive(&f, agent) && remote_alive(&f, child));
    assert!(remote.control.group_alive());

    remote.control.signal_group(StopSignal::Term).unwrap();
    assert_eq!(remote.exit().signal.as_deref(), Some("TERM"));
    eventually("the agent's child to die", T, || !remote_alive(&f, child));
    assert!(!remote_alive(&f, agent));
    assert!(!remote.control.group_alive());
}

#[test]
fn an_agent_ignoring_term_needs_kill() {
    let f = Fixture::new();
    let remote = Remote::spawn(&f, &[fake_agent_bin(), "ignore-term idle"], &[]);
    remote.wait_for("idle: waiting");
    remote.control.signal_group(StopSignal::Term).unwrap();
    assert!(
        remote
            .exit
            .recv_timeout(Duration::from_millis(1500))
            .is_err(),
        "TERM was ignored"
    );
    assert!(remote.control.group_alive());
    remote.control.signal_group(StopSignal::Kill).unwrap();
    assert_eq!(remote.exit().signal.as_deref(), Some("KILL"));
    eventually("the group to be gone", T, || !remote.control.group_alive());
}

#[test]
fn sshd_dying_mid_task_ends_the_task_as_connection_lost() {
    let mut f = Fixture::new();
    let remote = Remote::spawn(&f, &[fake_agent_bin(), "idle"], &[]);
    remote.wait_for("idle: waiting");
    let state = f.host.state();
    assert!(state.borrow().is_connected());

    let killed = Instant::now();
    f.sshd.kill();
    let exit = remote.exit();
    assert!(killed.elapsed() < Duration::from_secs(10));
    assert_eq!((exit.code, exit.signal.as_deref()), (None, None));
    let error = exit.error.unwrap_or_default();
    assert!(error.starts_with("connection to box lost"), "{error}");
    eventually(
        "the state to show the loss",
        T,
        || matches!(&*state.borrow(), ConnState::Failed(why) if why.contains("connection lost")),
    );
    // Nobody hangs on the dead host: a command fails at once.
    let started = Instant::now();
    let e = block_on(f.host.run(RunSpec::new(["true"], T))).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "{e}");
    assert!(e.to_string().contains("refused"), "{e}");
    assert!(!remote.control.group_alive());
}

#[test]
fn a_host_that_stops_answering_is_given_up_without_hanging() {
    let f = Fixture::new();
    let remote = Remote::spawn(&f, &[fake_agent_bin(), "idle"], &[]);
    remote.wait_for("idle: waiting");
    let state = f.host.state();
    let frozen = Instant::now();
    f.sshd.freeze_sessions(true);
    // Within a keepalive round (2 s × 3) or an unanswered RTT probe (5 s).
    let exit = remote.exit();
    assert!(
        frozen.elapsed() < Duration::from_secs(12),
        "{:?}",
        frozen.elapsed()
    );
    let error = exit.error.unwrap_or_default();
    assert!(error.starts_with("connection to box lost"), "{error}");
    eventually("the state to show it", T, || {
        matches!(&*state.borrow(), ConnState::Failed(_))
    });
    assert!(!remote.control.group_alive());
    // The listener still answers: the next command gets a new connection.
    let out = block_on(f.host.run(RunSpec::new(["echo", "fresh"], T))).unwrap();
    assert_eq!(out.stdout, b"fresh\n");
    f.sshd.freeze_sessions(false);
}

#[test]
fn reconnects_after_sshd_restarts() {
    let mut f = Fixture::new();
    assert!(
        block_on(f.host.run(RunSpec::new(["true"], T)))
            .unwrap()
            .success()
    );
    let state = f.host.state();
    f.sshd.restart();
    eventually("the loss to be noticed", T, || {
        matches!(&*state.borrow(), ConnState::Failed(_))
    });
    let out = block_on(f.host.run(RunSpec::new(["echo", "back"], T))).unwrap();
    assert_eq!(out.stdout, b"back\n");
    assert!(state.borrow().is_connected());
    assert_eq!(f.sshd.log().matches("Accepted publickey").count(), 2);
}

#[test]
fn missing_directory_or_program_fails_the_spawn_clearly() {
    let f = Fixture::new();
    let spec = |argv: &str, cwd: &str| PtySpec {
        argv: vec![argv.to_string()],
        cwd: cwd.into(),
        env: vec![],
        size: PtySize { rows: 24, cols: 80 },
        keep: None,
    };
    let e = block_on(f.host.spawn_pty(spec("true", "/no/such/project")))
        .err()
        .unwrap();
    assert!(matches!(e, HostError::Spawn { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "cannot start true: working directory /no/such/project does not exist on box"
    );
    let e = block_on(f.host.spawn_pty(spec("no-such-agent", "/tmp")))
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "cannot start no-such-agent: not found on box"
    );
}

#[test]
fn invalid_utf8_from_the_agent_passes_through_untouched() {
    let f = Fixture::new();
    let remote = Remote::spawn(&f, &[fake_agent_bin(), "garbage"], &[]);
    remote.wait_for("garbage done");
    let bytes = remote.output.lock().unwrap().clone();
    assert!(std::str::from_utf8(&bytes).is_err());
    assert!(bytes.windows(2).any(|w| w == [0xc2, 0x80] || w[0] == 0xe6));
    assert_eq!(remote.exit().code, Some(0));
}
