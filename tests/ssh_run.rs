//! `Host::run` over SSH against a real OpenSSH server: argv arrives byte for
//! byte, only the requested environment is set, stdin, exit status and
//! signals, timeouts, raw bytes, chatty login shells, clear start errors.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::sshd::{ClientHome, Fixture, Sshd, TestUser, block_on, eventually};
use flightdeck::host::{Host, HostError, RunOutput, RunSpec};

const T: Duration = Duration::from_secs(20);

fn run(f: &Fixture, spec: RunSpec) -> RunOutput {
    block_on(f.host.run(spec)).expect("run over ssh")
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[test]
fn argv_arrives_byte_identical() {
    let f = Fixture::new();
    let words = [
        "plain",
        "",
        "two  words",
        "it's \"quoted\"",
        "$(touch /tmp/fd-pwned) `id` $HOME ${PATH}",
        "line1\nline2\r\n",
        "ünïcødé ✓ 漢字",
        "back\\slash \\n",
        "-n",
        "*",
        "; rm -rf / #",
    ];
    let mut spec = argv(&["printf", "%s\\0"]);
    spec.extend(words.iter().map(|w| w.to_string()));
    let out = run(&f, RunSpec::new(spec, T));
    assert!(out.success(), "{out:?}");
    let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
    for (i, word) in words.iter().enumerate() {
        assert_eq!(got[i], word.as_bytes(), "word {i} changed");
    }
    assert!(!std::path::Path::new("/tmp/fd-pwned").exists());
}

#[test]
fn local_environment_is_not_forwarded() {
    // Re-run this test in a child whose own environment holds a secret
    // (setting it here would race with the other test threads).
    if std::env::var_os("FD_ENV_CHILD").is_none() {
        let status = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "local_environment_is_not_forwarded",
                "--test-threads=1",
            ])
            .env("FD_ENV_CHILD", "1")
            .env("FD_SECRET", "hunter2")
            .status()
            .unwrap();
        assert!(status.success());
        return;
    }
    assert_eq!(std::env::var("FD_SECRET").as_deref(), Ok("hunter2"));
    let f = Fixture::new();
    let mut spec = RunSpec::new(["env"], T);
    spec.env = vec![
        ("FD_SET".into(), "a b 'c' $(x)".into()),
        ("FD_EMPTY".into(), String::new()),
    ];
    let out = run(&f, spec);
    let env = String::from_utf8_lossy(&out.stdout);
    assert!(
        !env.contains("FD_SECRET") && !env.contains("hunter2"),
        "{env}"
    );
    assert!(!env.contains("FD_ENV_CHILD"), "{env}");
    assert!(env.lines().any(|l| l == "FD_SET=a b 'c' $(x)"), "{env}");
    assert!(env.lines().any(|l| l == "FD_EMPTY="), "{env}");

    let mut bad = RunSpec::new(["env"], T);
    bad.env = vec![("NOT-A-NAME".into(), "x".into())];
    let e = block_on(f.host.run(bad)).unwrap_err();
    assert!(e.to_string().contains("NOT-A-NAME"), "{e}");
}

#[test]
fn stdin_is_fed_then_closed() {
    let f = Fixture::new();
    let input: Vec<u8> = (0..2_000_000u32).map(|i| (i % 251) as u8).collect();
    let mut spec = RunSpec::new(["cat"], T);
    spec.stdin = Some(input.clone());
    let out = run(&f, spec);
    assert_eq!(out.stdout.len(), input.len());
    assert!(out.stdout == input);
    // Without stdin the command sees EOF at once instead of hanging.
    let out = run(&f, RunSpec::new(["cat"], T));
    assert!(out.success() && out.stdout.is_empty());
}

#[test]
fn exit_codes_signals_stderr_and_raw_bytes() {
    let f = Fixture::new();
    let out = run(
        &f,
        RunSpec::new(["sh", "-c", "printf out; printf err >&2; exit 7"], T),
    );
    assert_eq!(
        (out.stdout.as_slice(), out.stderr.as_slice()),
        (&b"out"[..], &b"err"[..])
    );
    assert_eq!(out.exit.code, Some(7));
    let out = run(&f, RunSpec::new(["sh", "-c", "kill -s TERM $$"], T));
    assert_eq!(
        (out.exit.code, out.exit.signal.as_deref()),
        (None, Some("TERM"))
    );
    let out = run(&f, RunSpec::new(["printf", "\\377\\376abc\\200\\000"], T));
    assert_eq!(out.stdout, b"\xff\xfeabc\x80\x00");
    let out = run(&f, RunSpec::new(["head", "-c", "3000000", "/dev/zero"], T));
    assert_eq!(out.stdout.len(), 3_000_000);
}

#[test]
fn cwd_is_entered_and_missing_things_are_clear_errors() {
    let f = Fixture::new();
    let mut spec = RunSpec::new(["pwd"], T);
    spec.cwd = Some("/tmp".into());
    assert_eq!(run(&f, spec).stdout, b"/tmp\n");

    let mut spec = RunSpec::new(["pwd"], T);
    spec.cwd = Some("/no/such/dir".into());
    let e = block_on(f.host.run(spec)).unwrap_err();
    assert!(matches!(e, HostError::Spawn { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        "cannot start pwd: working directory /no/such/dir does not exist on box"
    );
    let e = block_on(f.host.run(RunSpec::new(["git-but-missing"], T))).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot start git-but-missing: not found on box"
    );
}

#[test]
fn timeout_returns_promptly_and_kills_the_remote_command() {
    let f = Fixture::new();
    let marker = tempfile::NamedTempFile::new().unwrap();
    let script = format!("echo $$ > {}; exec sleep 60", marker.path().display());
    let started = Instant::now();
    let e = block_on(
        f.host
            .run(RunSpec::new(["sh", "-c", &script], Duration::from_secs(1))),
    )
    .unwrap_err();
    assert!(matches!(e, HostError::Timeout(_)), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Even a command that only starts after the deadline is killed.
    let pid = || {
        std::fs::read_to_string(marker.path())
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
    };
    eventually("the command to start", Duration::from_secs(10), || {
        pid().is_some()
    });
    let pid = pid().unwrap();
    eventually(
        "the timed-out command to be killed",
        Duration::from_secs(10),
        || !common::process_alive(pid),
    );
    // The connection is still good afterwards.
    assert!(run(&f, RunSpec::new(["true"], T)).success());
}

#[test]
fn more_commands_than_sshd_allows_sessions_get_an_extra_connection() {
    let f = Fixture::new();
    // sshd's MaxSessions is 10 per connection.
    let outputs = block_on(async {
        let runs = (0..14).map(|i| {
            f.host.run(RunSpec::new(
                ["sh", "-c", &format!("sleep 0.2; echo {i}")],
                T,
            ))
        });
        futures::future::join_all(runs).await
    });
    for (i, out) in outputs.into_iter().enumerate() {
        assert_eq!(out.unwrap().stdout, format!("{i}\n").into_bytes());
    }
    assert_eq!(f.sshd.log().matches("Accepted publickey").count(), 2);
}

#[test]
fn chatty_login_shell_does_not_disturb_output() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.trust(&sshd);
    let key = client.authorized_key("id_ed25519", None, &sshd);
    let _ = key;
    // A login shell that greets on stdout and stderr before running anything.
    let shell_dir = tempfile::tempdir().unwrap();
    let shell = shell_dir.path().join("chatty-sh");
    std::fs::write(
        &shell,
        "#!/bin/sh\necho 'Welcome to the box!'\necho 'motd: be nice' >&2\nprintf 'no newline'\nexec /bin/sh \"$@\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(shell_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&shell, std::fs::Permissions::from_mode(0o755)).unwrap();
    let user = TestUser::create(shell.to_str().unwrap());
    let host = client.host(user.target(&sshd, "chatty"));
    let out =
        block_on(host.run(RunSpec::new(["sh", "-c", "echo clean; echo err >&2"], T))).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "clean\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert!(out.success());
}
