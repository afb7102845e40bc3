//! Fault injection that stays: `kill -9` at random points — the daemon
//! under four flooding agents (and mid-dispatch), the dashboard, a keeper,
//! the daemon mid-apply — and after every kill the invariants: every
//! acknowledged task listed and none lost, the state file valid and
//! complete, logs complete (sequence numbers checked against what each
//! agent wrote), no process of ours unknown, the main tree untouched or
//! fully applied.
//!
//! Quick by default (CI). The long mode runs for minutes:
//! `FLIGHTDECK_CHAOS_MINUTES=10 cargo test --release --test chaos`.
//! `FLIGHTDECK_CHAOS_SEED=N` replays a run's kill points.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Sandbox, kill_hard, process_alive};

/// The run's length: quick in CI, minutes when asked.
fn long_mode() -> Option<Duration> {
    let minutes: f64 = std::env::var("FLIGHTDECK_CHAOS_MINUTES")
        .ok()?
        .parse()
        .ok()?;
    Some(Duration::from_secs_f64(minutes * 60.0))
}

/// xorshift: kill points that a seed reproduces.
struct Rng(u64);

impl Rng {
    fn from_env() -> Self {
        let seed = std::env::var("FLIGHTDECK_CHAOS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("chaos seed {seed} (FLIGHTDECK_CHAOS_SEED={seed} replays it)");
        Rng(seed)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        lo + self.0 % (hi - lo + 1)
    }

    /// A random kill point: the fault is *when* the kill lands, so this
    /// pause is the experiment, not a wait for something to happen.
    fn pause(&mut self, lo_ms: u64, hi_ms: u64) {
        std::thread::sleep(Duration::from_millis(self.between(lo_ms, hi_ms)));
    }
}

fn ls(sandbox: &Sandbox) -> Vec<serde_json::Value> {
    let (code, out, err) = sandbox.cli(&["ls", "--json"]);
    assert_eq!(code, 0, "ls failed: {err}");
    let tasks: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ls --json: {e}: {out:?}"));
    tasks.as_array().unwrap().clone()
}

fn by_id(tasks: &[serde_json::Value]) -> BTreeMap<u64, serde_json::Value> {
    tasks
        .iter()
        .map(|t| (t["id"].as_u64().unwrap(), t.clone()))
        .collect()
}

fn is_live(task: &serde_json::Value) -> bool {
    matches!(
        task["state"]["state"].as_str(),
        Some("starting" | "running" | "stopping")
    )
}

/// Processes whose environment carries `needle` (e.g. our
/// FLIGHTDECK_HOME), with their environment.
fn processes_with(needle: &str) -> Vec<(u32, Vec<String>)> {
    processes(|vars| vars.iter().any(|v| v == needle))
}

fn processes(wanted: impl Fn(&[String]) -> bool) -> Vec<(u32, Vec<String>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let vars: Vec<String> = environ
            .split(|b| *b == 0)
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect();
        if wanted(&vars) && process_alive(pid) {
            found.push((pid, vars));
        }
    }
    found
}

/// After a kill and a fresh daemon: what must always hold. Returns how
/// many agent processes it saw.
fn check_invariants(sandbox: &Sandbox, acknowledged: &BTreeSet<u64>, when: &str) -> usize {
    let tasks = by_id(&ls(sandbox));
    for id in acknowledged {
        let task = tasks
            .get(id)
            .unwrap_or_else(|| panic!("{when}: acknowledged task {id} is not listed"));
        assert_ne!(
            task["state"]["state"], "lost",
            "{when}: task {id} lost: {task:#}"
        );
    }
    // The state file is valid and already holds everything the daemon knows.
    let saved = sandbox.tasks_json();
    let saved: BTreeSet<u64> = (saved.as_array().unwrap().iter())
        .map(|t| t["id"].as_u64().unwrap())
        .collect();
    assert!(
        acknowledged.is_subset(&saved),
        "{when}: the state file lacks tasks: saved {saved:?}, acknowledged {acknowledged:?}"
    );
    // Every agent process of this sandbox belongs to a live listed task.
    let home = format!("FLIGHTDECK_HOME={}", sandbox.fd_home().display());
    let mut agents = 0;
    for (pid, vars) in processes_with(&home) {
        let Some(id) = vars
            .iter()
            .find_map(|v| v.strip_prefix("FLIGHTDECK_TASK_ID="))
            .and_then(|id| id.parse::<u64>().ok())
        else {
            continue; // the daemon, keepers, CLI clients
        };
        let known = tasks
            .get(&id)
            .is_some_and(|t| is_live(t) || !process_alive(pid));
        assert!(
            known,
            "{when}: pid {pid} of task {id} runs unknown: {:?}",
            tasks.get(&id)
        );
        agents += 1;
    }
    agents
}

/// The numbers of the `seq N` lines in a log, and the count its agent
/// said it wrote.
fn sequence_in_log(log: &[u8]) -> (Vec<u64>, Option<u64>) {
    let text = String::from_utf8_lossy(log);
    let mut seen = Vec::new();
    let mut done = None;
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if let Some(n) = line.strip_prefix("seq done ") {
            done = n.trim().parse().ok();
        } else if let Some(rest) = line.strip_prefix("seq ") {
            seen.push(rest[..8].parse().unwrap());
        }
    }
    (seen, done)
}

fn dispatch_command(sandbox: &Sandbox, prompt: &str) -> Command {
    let mut command = Command::new(common::flightdeck_bin());
    command
        .args(["dispatch", "--project", "demo", "--agent", "fake", prompt])
        .current_dir(sandbox.repo())
        .env("FLIGHTDECK_HOME", sandbox.fd_home())
        .env("HOME", sandbox.home())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

#[test]
fn daemon_dashboard_and_keeper_killed_at_random_points_lose_nothing() {
    let sandbox = Sandbox::new();
    sandbox.write_config("[settings]\nstop_grace_secs = 1\n");
    let mut rng = Rng::from_env();
    let long = long_mode();
    let flood = long.unwrap_or(Duration::from_secs(12));
    let mut acknowledged = BTreeSet::new();
    let mut floods = Vec::new();
    for _ in 0..4 {
        let prompt = format!("seqfor={} exit=0", flood.as_millis());
        let id = sandbox.dispatch(&["--project", "demo", "--agent", "fake", &prompt]);
        acknowledged.insert(id);
        floods.push(id);
    }
    // A task that waits for input keeps a daemon wanted (`ls` starts one)
    // after the floods end; its keeper is the one killed at the end.
    let victim = sandbox.dispatch(&["--project", "demo", "--agent", "fake", "idle"]);
    acknowledged.insert(victim);
    let started = Instant::now();
    let (mut kills, mut raced, mut dashboards, mut agents_seen) = (0, 0, 0, 0);
    let mut round = 0;
    while match long {
        Some(limit) => started.elapsed() < limit,
        None => round < 25,
    } {
        round += 1;
        // Every few rounds a dispatch races the kill.
        let racing =
            (round % 5 == 2).then(|| dispatch_command(&sandbox, "exit=0").spawn().unwrap());
        rng.pause(10, 250);
        if let Some(daemon) = sandbox.daemon_pid() {
            kill_hard(daemon);
            kills += 1;
        }
        if let Some(child) = racing {
            let out = child.wait_with_output().unwrap();
            if out.status.success() {
                let id = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
                acknowledged.insert(id);
            }
            raced += 1;
        }
        agents_seen += check_invariants(&sandbox, &acknowledged, &format!("round {round}"));
        if round % 8 == 4 {
            // A dashboard killed with -9 takes nothing with it.
            let tui = sandbox.spawn(&[], 120, 36, &[]);
            tui.wait_for("Tasks");
            rng.pause(0, 200);
            kill_hard(tui.pid());
            dashboards += 1;
            check_invariants(
                &sandbox,
                &acknowledged,
                &format!("round {round}, dashboard"),
            );
        }
    }
    // A keeper killed: its task ends (failed), honestly, and is not lost.
    let agent = by_id(&ls(&sandbox))[&victim]["pid"].as_u64().unwrap() as u32;
    kill_hard(common::parent_of(agent));
    let deadline = Instant::now() + Duration::from_secs(30);
    while is_live(&by_id(&ls(&sandbox))[&victim]) {
        assert!(Instant::now() < deadline, "the keeper's task never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    check_invariants(&sandbox, &acknowledged, "after the keeper kill");

    // The floods end; their logs hold every line they wrote, in order.
    let deadline = started + flood + Duration::from_secs(60);
    while floods.iter().any(|id| is_live(&by_id(&ls(&sandbox))[id])) {
        assert!(Instant::now() < deadline, "the floods did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut lines = 0;
    for id in &floods {
        let log =
            std::fs::read(sandbox.fd_home().join(format!("data/logs/task-{id}.log"))).unwrap();
        let (seen, done) = sequence_in_log(&log);
        let done = done.unwrap_or_else(|| panic!("task {id}: no `seq done` in its log"));
        assert_eq!(
            seen.len() as u64,
            done,
            "task {id}: lines missing or doubled"
        );
        assert!(
            seen.iter().enumerate().all(|(i, n)| i as u64 == *n),
            "task {id}: out of order"
        );
        lines += done;
    }
    eprintln!(
        "chaos: {kills} daemon kills ({raced} racing a dispatch), {dashboards} dashboards and 1 keeper killed; {lines} logged lines checked, 0 lost"
    );
    assert!(kills >= 25, "only {kills} kills landed");
    assert!(agents_seen > 0, "the process check never saw an agent");
}

/// Every file of a tree but `.git`, with its bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_name() == ".git" {
                continue;
            }
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn the_daemon_killed_mid_apply_leaves_the_main_tree_untouched_or_fully_applied() {
    let sandbox = Sandbox::new();
    sandbox.write_config("");
    let repo = sandbox.repo();
    for i in 0..150 {
        std::fs::write(repo.join(format!("f{i:03}.txt")), format!("old {i}\n")).unwrap();
    }
    common::git(&repo, &["add", "."]);
    common::git_commit(&repo, "150 files");
    let mut prompt: Vec<String> = (0..75).map(|i| format!("delete:f{i:03}.txt")).collect();
    prompt.extend((75..150).map(|i| format!("write:f{i:03}.txt=new\\s{i}")));
    prompt.extend((0..75).map(|i| format!("write:n{i:03}.txt=added\\s{i}")));
    prompt.push("exit=0".into());
    let id = sandbox.dispatch(&["--project", "demo", "--agent", "fake", &prompt.join(" ")]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while is_live(&by_id(&ls(&sandbox))[&id]) {
        assert!(Instant::now() < deadline, "the task never ended");
        std::thread::sleep(Duration::from_millis(50));
    }
    let worktree = PathBuf::from(
        by_id(&ls(&sandbox))[&id]["workspace"]["worktree"]["path"]
            .as_str()
            .unwrap(),
    );
    let (base, full) = (tree(&repo), tree(&worktree));
    assert_ne!(base, full);

    let mut rng = Rng::from_env();
    let tries = if long_mode().is_some() { 100 } else { 6 };
    let mut outcomes: BTreeMap<&str, u32> = BTreeMap::new();
    for attempt in 0..tries {
        // The daemon is up (so the kill lands in the apply, not its start).
        assert_eq!(sandbox.cli(&["diff", &id.to_string()]).0, 0);
        let apply = Command::new(common::flightdeck_bin())
            .args(["apply", &id.to_string()])
            .current_dir(&repo)
            .env("FLIGHTDECK_HOME", sandbox.fd_home())
            .env("HOME", sandbox.home())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        rng.pause(0, 400);
        let killed = sandbox.daemon_pid();
        if let Some(daemon) = killed {
            kill_hard(daemon);
        }
        // (A kill before it connected makes it start a daemon of its own.)
        let _ = apply.wait_with_output();
        if killed.is_some() {
            // A command the daemon had started (git, the deletion script)
            // runs to its end: kill -9 reaches only the daemon. Wait for
            // them (no task runs here, so nothing else has our home), as
            // the tree is judged after.
            let home = format!("FLIGHTDECK_HOME={}", sandbox.fd_home().display());
            common::wait_for_condition("the killed daemon's commands to end", || {
                let daemon = sandbox.daemon_pid();
                processes_with(&home)
                    .iter()
                    .all(|(pid, _)| Some(*pid) == daemon)
            });
        }
        let now = tree(&repo);
        let journal = repo.join(".git/flightdeck-apply.journal").exists();
        let outcome = if now == base {
            "untouched"
        } else if now == full {
            "applied"
        } else {
            assert!(
                journal,
                "attempt {attempt}: a half-applied tree with no journal"
            );
            "interrupted, journaled"
        };
        *outcomes.entry(outcome).or_default() += 1;
        // The next apply completes (or makes) it: always the full change.
        let (code, out, err) = sandbox.cli(&["apply", &id.to_string()]);
        assert_eq!(code, 0, "attempt {attempt}: {out}{err}");
        assert!(tree(&repo) == full, "attempt {attempt}: not fully applied");
        assert!(!repo.join(".git/flightdeck-apply.journal").exists());
        // No temporary index of the killed apply is left behind (the live
        // daemon may be using one of its own right now).
        let leftovers: Vec<_> = std::fs::read_dir(repo.join(".git"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| {
                let pid = name
                    .strip_prefix("flightdeck-index-")
                    .and_then(|rest| rest.split('-').next());
                pid.and_then(|p| p.parse::<u32>().ok())
                    .is_some_and(|p| !process_alive(p))
            })
            .collect();
        assert!(leftovers.is_empty(), "attempt {attempt}: {leftovers:?}");
        // Back to the base for the next try.
        common::git(&repo, &["checkout", "-q", "--", "."]);
        common::git(&repo, &["clean", "-qfd"]);
        assert!(tree(&repo) == base);
    }
    eprintln!("chaos apply: {tries} kills mid-apply: {outcomes:?}");
}
