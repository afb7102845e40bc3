//! Startup: launch to first frame, and to the task list drawn, with 100
//! finished tasks in the state file; with the daemon running and cold (the
//! dashboard starts the daemon).

use std::time::Duration;

use flightdeck::protocol::task::TaskRecord;

use crate::Ctx;
use crate::harness::{PtyProc, Res, Sandbox, WAIT};
use crate::report::{Report, Row, Samples, ms, yes_no};

pub fn run(ctx: &Ctx, report: &mut Report) {
    let (n, runs) = (ctx.sizes.startup_tasks, ctx.sizes.startup_runs);
    eprintln!("== startup ({n} tasks in the state file, {runs} runs each)");
    report.attempt("Startup", "< 100 ms", |r| startup(ctx, r));
}

fn startup(ctx: &Ctx, report: &mut Report) -> Res<()> {
    let (n, runs) = (ctx.sizes.startup_tasks, ctx.sizes.startup_runs);
    let sandbox = Sandbox::new(ctx.bins)?;
    write_state(&sandbox, n)?;
    let newest = format!("#{n}");
    // Cold: no daemon; the dashboard starts it.
    let mut cold = (Vec::new(), Vec::new());
    for _ in 0..runs {
        sandbox.stop_daemon();
        let (a, b) = one_startup(&sandbox, &newest)?;
        cold.0.push(a);
        cold.1.push(b);
    }
    sandbox.stop_daemon();
    sandbox.start_daemon()?;
    let _ = one_startup(&sandbox, &newest)?; // page cache, like any second launch
    let mut warm = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (a, b) = one_startup(&sandbox, &newest)?;
        warm.0.push(a);
        warm.1.push(b);
    }
    let rows = [
        (
            format!(
                "Startup → first frame, {n} tasks in the state file, daemon running (median of {runs})"
            ),
            warm.0,
        ),
        (
            "… → the task list drawn (newest task visible), daemon running".into(),
            warm.1,
        ),
        (
            "Startup → first frame, cold (the dashboard starts the daemon)".into(),
            cold.0,
        ),
        ("… → the task list drawn, cold".into(), cold.1),
    ];
    for (what, times) in rows {
        let times = Samples::new(times);
        let text = format!("{:.0} ms (max {:.0})", times.median(), times.max());
        report.push(Row::new(what, text).goal("< 100 ms", yes_no(times.median() < 100.0)));
    }
    Ok(())
}

/// Writes `n` finished tasks (and their logs) to the sandbox's state file.
fn write_state(sandbox: &Sandbox, n: usize) -> Res<()> {
    let paths = sandbox.paths();
    std::fs::create_dir_all(paths.logs_dir()).map_err(|e| e.to_string())?;
    let now = flightdeck::clock::now_ms();
    let mut records = Vec::new();
    for id in 1..=n as u64 {
        let log = paths.logs_dir().join(format!("task-{id}.log"));
        std::fs::write(
            &log,
            format!("\x1b[1mfake-agent\x1b[0m task {id}\r\nworking\r\n\x1b[32mdone.\x1b[0m\r\n"),
        )
        .map_err(|e| e.to_string())?;
        records.push(serde_json::json!({
            "id": id,
            "project": "demo",
            "agent": "fake",
            "host": "local",
            "mode": "interactive",
            "prompt": format!("task number {id}"),
            "argv": [sandbox.bins.fake.display().to_string(), format!("task number {id}")],
            "cwd": sandbox.repo(),
            "state": { "state": "exited", "code": 0 },
            "pid": null,
            "created_ms": now - 3_600_000 + id * 1000,
            "started_ms": now - 3_600_000 + id * 1000 + 10,
            "ended_ms": now - 3_600_000 + id * 1000 + 500,
            "log_path": log,
        }));
    }
    let path = paths.tasks_file();
    std::fs::create_dir_all(path.parent().unwrap()).map_err(|e| e.to_string())?;
    std::fs::write(&path, serde_json::to_vec_pretty(&records).unwrap())
        .map_err(|e| e.to_string())?;
    // Check that the product reads what we wrote.
    let back: Vec<TaskRecord> =
        serde_json::from_slice(&std::fs::read(&path).map_err(|e| e.to_string())?)
            .map_err(|e| format!("tasks.json does not match TaskRecord: {e}"))?;
    if back.len() != n {
        return Err("tasks.json round trip".into());
    }
    Ok(())
}

/// Spawns the dashboard; returns (first frame, newest task listed) in ms.
fn one_startup(sandbox: &Sandbox, newest: &str) -> Res<(f64, f64)> {
    let mut tui = PtyProc::spawn("flightdeck", sandbox.pty_command(&[], &[]), 120, 40, true)?;
    let first = tui.wait_shows("Tasks", WAIT)?;
    let listed = tui.wait_shows(newest, WAIT)?;
    let result = (ms(first - tui.spawned), ms(listed - tui.spawned));
    let _ = tui.send(b"q");
    if tui.wait_exit(Duration::from_secs(5)).is_err() {
        eprintln!("warning: the dashboard did not quit on q");
    }
    Ok(result)
}
