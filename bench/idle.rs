//! Idle cost: CPU and RSS of flightdeck (daemon and dashboard) with many
//! quiet agents, versus tmux with the same agents as windows; and memory per
//! agent once each one's scrollback is full.

use std::time::{Duration, Instant};

use crate::Ctx;
use crate::harness::{
    Monitor, Res, Sandbox, Tmux, WAIT, child_ticks, clk_tck, cpu_pct, cpu_ticks, pss_mib,
    reading_stdin, rss_mib, wait_until,
};
use crate::report::{Report, Row, yes_no};

pub fn run(ctx: &Ctx, report: &mut Report) {
    let (n, secs) = (ctx.sizes.idle_agents, ctx.sizes.idle_secs);
    eprintln!("== idle cost ({n} agents, {secs} s)");
    report.attempt("Idle CPU / RSS", "< 1 % in total", |r| idle_cpu(ctx, r));
    let m = ctx.sizes.scrollback_agents;
    eprintln!("== scrollback memory ({m} agents × 10,000 lines)");
    report.attempt("RSS per agent, scrollback full", "≤ 2 MiB", |r| {
        scrollback_memory(ctx, r)
    });
}

/// n quiet agents and one dashboard, versus a tmux session of n windows.
fn idle_cpu(ctx: &Ctx, report: &mut Report) -> Res<()> {
    let (n, secs) = (ctx.sizes.idle_agents, ctx.sizes.idle_secs);
    let tck = clk_tck();
    let sandbox = Sandbox::new(ctx.bins)?;
    let daemon = sandbox.start_daemon()?;
    std::thread::sleep(Duration::from_millis(500));
    let empty_rss = rss_mib(daemon).unwrap_or(f64::NAN);
    let monitor = Monitor::connect(ctx.rt, &sandbox)?;
    let ids = sandbox.dispatch_many("idle", n, 8)?;
    wait_all_waiting(&monitor, &ids, "every idle agent to be waiting", WAIT)?;
    let tui = sandbox.tui(120, 40, &[])?;
    let keepers = sandbox.keepers();
    if keepers.len() != n {
        return Err(format!("found {} keepers for {n} tasks", keepers.len()));
    }
    let tmux = Tmux::new()?;
    let agent = ctx.bins.fake_sh("idle");
    tmux.new_session(&agent, WAIT)?;
    for _ in 1..n {
        tmux.run(&["new-window", "-d", &agent], WAIT)?;
    }
    let tmux_pid = tmux.server_pid().ok_or("no tmux server pid")?;
    std::thread::sleep(Duration::from_secs(2)); // let start-up work settle
    // CPU ticks of: the daemon, the children it reaped, the keepers, the UI, tmux.
    let ticks = || {
        let of = |pid: u32| cpu_ticks(pid).unwrap_or(0);
        [
            of(daemon),
            child_ticks(daemon).unwrap_or(0),
            keepers.iter().map(|k| of(*k)).sum(),
            of(tui.pid()),
            of(tmux_pid),
        ]
    };
    let (before, t0) = (ticks(), Instant::now());
    std::thread::sleep(Duration::from_secs(secs));
    let (after, elapsed) = (ticks(), t0.elapsed().as_secs_f64());
    let pct: Vec<f64> = (0..before.len())
        .map(|i| cpu_pct(after[i].saturating_sub(before[i]), elapsed, tck))
        .collect();
    let [daemon_pct, children, keepers_pct, ui, server] = pct[..] else {
        unreachable!()
    };
    let total = daemon_pct + children + keepers_pct + ui;
    report.push(
        Row::new(
            format!("Idle CPU: {n} quiet agents for {secs} s (% of one core)"),
            format!(
                "{total:.2} % (daemon {daemon_pct:.2} %, its git children {children:.2} %, \
                 {n} keepers {keepers_pct:.2} %, UI {ui:.2} %)"
            ),
        )
        .tmux(format!("{server:.2} % (server)"))
        .goal("< 1 % in total", yes_no(total < 1.0)),
    );
    let rss = |pid: u32| rss_mib(pid).unwrap_or(f64::NAN);
    let keepers_pss: f64 = keepers
        .iter()
        .map(|k| pss_mib(*k).unwrap_or(f64::NAN))
        .sum();
    report.push(
        Row::new(
            format!("Idle RSS: {n} quiet agents"),
            format!(
                "daemon {:.1} MiB (empty {empty_rss:.1} MiB), keepers {keepers_pss:.1} MiB PSS in all, UI {:.1} MiB",
                rss(daemon),
                rss(tui.pid())
            ),
        )
        .tmux(format!("server {:.1} MiB", rss(tmux_pid))),
    );
    report.note(format!(
        "Idle CPU is measured from utime+stime in /proc/PID/stat over {elapsed:.1} s ({tck} ticks/s) of the daemon, the \
         tasks' keepers (`flightdeck-keeper`, one process per local task holding its PTY) and the dashboard; the daemon's \
         figure adds the cutime+cstime of children it reaped meanwhile (its periodic `git` diff runs); the agents' own CPU \
         is not counted (they sleep in read()). Keepers' memory is PSS (their shared binary pages split among them). \
         tmux runs the same {n} `fake-agent idle` as windows of one detached session."
    ));
    Ok(())
}

/// Waits until every task's agent has written all its output and waits for
/// input (blocked reading its terminal). Not from the task logs: the daemon
/// may hold the tail of a burst in its log buffer while the agent is quiet.
fn wait_all_waiting(monitor: &Monitor, ids: &[u64], what: &str, timeout: Duration) -> Res<()> {
    monitor.wait_running(ids, timeout)?;
    wait_until(what, timeout, || {
        ids.iter()
            .all(|id| monitor.pid(*id).is_some_and(reading_stdin))
    })
}

/// m agents that print 10,000 lines each and wait: daemon RSS growth per
/// agent, versus the tmux server's.
fn scrollback_memory(ctx: &Ctx, report: &mut Report) -> Res<()> {
    let m = ctx.sizes.scrollback_agents;
    let sandbox = Sandbox::new(ctx.bins)?;
    let daemon = sandbox.start_daemon()?;
    std::thread::sleep(Duration::from_millis(500));
    let empty = rss_mib(daemon).ok_or("no daemon rss")?;
    let monitor = Monitor::connect(ctx.rt, &sandbox)?;
    let ids = sandbox.dispatch_many("lines=10000 idle", m, 8)?;
    let what = "every agent to print its 10,000 lines";
    wait_all_waiting(&monitor, &ids, what, Duration::from_secs(300))?;
    std::thread::sleep(Duration::from_secs(1));
    let full = rss_mib(daemon).ok_or("no daemon rss")?;
    let keepers: f64 = sandbox.keepers().iter().filter_map(|k| pss_mib(*k)).sum();
    let per = (full - empty + keepers) / m as f64;

    let tmux = Tmux::new()?;
    tmux.new_session("sleep 100000", WAIT)?;
    let tmux_pid = tmux.server_pid().ok_or("no tmux server pid")?;
    std::thread::sleep(Duration::from_millis(500));
    let tmux_empty = rss_mib(tmux_pid).ok_or("no tmux rss")?;
    let agent = ctx.bins.fake_sh("'lines=10000 idle'");
    for _ in 0..m {
        tmux.run(&["new-window", "-d", &agent], WAIT)?;
    }
    // Window 0 is the sleep.
    let panes_done = || {
        (1..=m).all(|w| {
            tmux.run(
                &["capture-pane", "-p", "-t", &format!(":{w}")],
                Duration::from_secs(10),
            )
            .is_ok_and(|s| s.contains("idle: waiting"))
        })
    };
    wait_until(
        "every tmux pane to print its lines",
        Duration::from_secs(300),
        panes_done,
    )?;
    std::thread::sleep(Duration::from_secs(1));
    let tmux_full = rss_mib(tmux_pid).ok_or("no tmux rss")?;
    let tmux_per = (tmux_full - tmux_empty) / m as f64;
    report.push(
        Row::new(
            format!("RSS per agent, scrollback full (10,000 lines, 120 cols; {m} agents)"),
            format!(
                "{per:.2} MiB (daemon {empty:.1} → {full:.1} MiB, keepers {keepers:.1} MiB PSS)"
            ),
        )
        .tmux(format!(
            "{tmux_per:.2} MiB (server {tmux_empty:.1} → {tmux_full:.1} MiB)"
        ))
        .goal("≤ 2 MiB", yes_no(per <= 2.0)),
    );
    Ok(())
}
