//! Pane throughput: the fake agent's flood through a flightdeck task pane of
//! 120×40 while the dashboard renders, versus a tmux pane of the same size,
//! versus draining the PTY with no terminal emulation (the practical limit).

use std::time::{Duration, Instant};

use flightdeck::protocol::task::TaskState;
use portable_pty::CommandBuilder;

use crate::Ctx;
use crate::harness::{
    MIB, Monitor, Perf, PtyProc, Res, Sandbox, Tmux, WAIT, flood_arg, wait_until,
};
use crate::report::{Report, Row, Samples, error_cell, size_label, yes_no};

pub fn run(ctx: &Ctx, report: &mut Report) {
    eprintln!("== pane throughput ({})", size_label(ctx.sizes.flood));
    // Interleaved repetitions, so background load hits every variant alike.
    let (mut raw, mut tmux, mut tmux_attached, mut fd, mut fd_headless) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..ctx.sizes.repeats {
        raw.push(raw_drain(ctx));
        tmux.push(tmux_flood(ctx, false));
        tmux_attached.push(tmux_flood(ctx, true));
        fd.push(flightdeck_flood(ctx, true));
        fd_headless.push(flightdeck_flood(ctx, false));
    }
    let raw = median_of(raw);
    let tmux = median_of(tmux);
    let tmux_attached = median_of(tmux_attached);
    let fd_from_dispatch = median_of(fd.iter().map(|r| r.clone().map(|p| p.1)).collect());
    let fd = median_of(fd.into_iter().map(|r| r.map(|p| p.0)).collect());
    let fd_headless = median_of(fd_headless.into_iter().map(|r| r.map(|p| p.0)).collect());
    let show = |r: &Res<f64>| match r {
        Ok(v) => format!("{v:.1} MiB/s"),
        Err(e) => error_cell(e),
    };
    let ratios = match (&fd, &tmux, &raw) {
        (Ok(f), Ok(t), Ok(r)) => Some((f / t, f / r)),
        _ => None,
    };
    let met = match ratios {
        Some((t, r)) => format!(
            "{} ({t:.2}× tmux, {r:.2}× raw)",
            yes_no(t >= 3.0 && r >= 0.8)
        ),
        None => "n/a".into(),
    };
    report.push(
        Row::new(
            format!(
                "Pane throughput: {} of agent output through a 120×40 pane, UI rendering",
                size_label(ctx.sizes.flood)
            ),
            show(&fd),
        )
        .tmux(show(&tmux))
        .raw(show(&raw))
        .goal("≥ 3× tmux, ≥ 0.8× raw", met),
    );
    let tmux_vs_raw = match (&tmux, &raw) {
        (Ok(t), Ok(r)) => format!("{:.2}× raw", t / r),
        _ => "n/a".into(),
    };
    report.push(
        Row::new(
            "… ratios",
            ratios.map_or("n/a".into(), |(t, r)| format!("{t:.2}× tmux, {r:.2}× raw")),
        )
        .tmux(tmux_vs_raw)
        .raw("1.00×"),
    );
    report.push(
        Row::new(
            "… without a UI (flightdeck: daemon only; tmux: client attached and drawing)",
            show(&fd_headless),
        )
        .tmux(show(&tmux_attached)),
    );
    if let Ok(from_dispatch) = fd_from_dispatch {
        report.note(format!(
            "Pane throughput is timed from the task's `running` event to its exit event on the daemon socket; \
             counting from the `flightdeck dispatch` command (which probes the agent first) it is {from_dispatch:.1} MiB/s. \
             tmux is timed from `new-session` to `wait-for done`, raw from spawn to EOF. The dashboard runs at 170×43 so \
             that its task pane is exactly 120×40 (at 120×40 the pane would be 78×37). Each figure is the median of {} interleaved runs.",
            ctx.sizes.repeats
        ));
    }
}

/// The median of the successful runs (the first error if none succeeded).
fn median_of(runs: Vec<Res<f64>>) -> Res<f64> {
    let (ok, err): (Vec<_>, Vec<_>) = runs.into_iter().partition(|r| r.is_ok());
    if ok.is_empty() {
        return err.into_iter().next().unwrap_or(Err("no runs".into()));
    }
    Ok(Samples::new(ok.into_iter().map(Result::unwrap).collect()).median())
}

/// The fake agent flooding a PTY nobody emulates: the practical limit.
fn raw_drain(ctx: &Ctx) -> Res<f64> {
    let mut cmd = CommandBuilder::new(&ctx.bins.fake);
    cmd.arg(flood_arg(ctx.sizes.flood));
    cmd.env("TERM", "xterm-256color");
    let p = PtyProc::spawn("raw", cmd, 120, 40, false)?;
    let eof = p.wait_eof(Duration::from_secs(600))?;
    let secs = (eof - p.spawned).as_secs_f64();
    if p.bytes() < ctx.sizes.flood {
        return Err(format!("raw drain read only {} bytes", p.bytes()));
    }
    Ok(ctx.sizes.flood as f64 / MIB / secs)
}

/// The same stream in a tmux pane of 120×40; `attached`: with a tmux client
/// in a 120×40 PTY drawing it.
fn tmux_flood(ctx: &Ctx, attached: bool) -> Res<f64> {
    let tmux = Tmux::new()?;
    let inner = tmux.signalling(&ctx.bins.fake_sh(&flood_arg(ctx.sizes.flood)));
    let start = Instant::now();
    let _client = if attached {
        let cmd = tmux.pty_cmd(&["new-session", "-x", "120", "-y", "40", &inner]);
        Some(PtyProc::spawn("tmux-client", cmd, 120, 40, false)?)
    } else {
        tmux.new_session(&inner, WAIT)?;
        None
    };
    // Until the session exists, wait-for could talk to no server.
    wait_until("the tmux session", WAIT, || {
        tmux.run(&["has-session"], Duration::from_secs(5)).is_ok()
    })?;
    tmux.run(&["wait-for", "done"], Duration::from_secs(900))?;
    let secs = start.elapsed().as_secs_f64();
    Ok(ctx.sizes.flood as f64 / MIB / secs)
}

/// The stream through a flightdeck task; `tui`: with the dashboard showing
/// its pane at 120×40. Returns (MiB/s over the task's run, MiB/s from the
/// dispatch command).
fn flightdeck_flood(ctx: &Ctx, tui: bool) -> Res<(f64, f64)> {
    let sandbox = Sandbox::new(ctx.bins)?;
    // A 170×43 dashboard gives the task pane an inner area of exactly 120×40.
    let client = if tui {
        Some(sandbox.tui(170, 43, &[])?)
    } else {
        sandbox.start_daemon()?;
        None
    };
    let monitor = Monitor::connect(ctx.rt, &sandbox)?;
    let daemon = sandbox.wait_daemon_pid()?;
    let _perf = Perf::start(
        ctx.perf.as_deref().filter(|_| tui),
        "pane-throughput",
        &[daemon, client.as_ref().map_or(daemon, |c| c.pid())],
    );
    if let Some(c) = &client {
        // The harness need not parse the dashboard while it is being timed.
        c.stop_parsing();
    }
    let start = Instant::now();
    let id = sandbox.dispatch(&flood_arg(ctx.sizes.flood))?;
    let (running, ended, record) = monitor.wait_ended(id, Duration::from_secs(900))?;
    if !matches!(record.state, TaskState::Exited { code: 0 }) {
        return Err(format!("the flood task ended {}", record.state.label()));
    }
    wait_until("the log to hold the whole flood", WAIT, || {
        sandbox.log_len(id) >= ctx.sizes.flood
    })?;
    let mib = ctx.sizes.flood as f64 / MIB;
    Ok((
        mib / (ended - running).as_secs_f64(),
        mib / (ended - start).as_secs_f64(),
    ))
}
