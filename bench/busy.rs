//! Busy UI: frame rate, frame draw time and input-to-frame latency while 16
//! panes in grid mode all stream output as fast as they can.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::Ctx;
use crate::harness::{
    MIB, Monitor, Perf, Res, Sandbox, WAIT, clk_tck, cpu_pct, cpu_ticks, epoch_us, help_roundtrips,
};
use crate::report::{Report, Row, Samples, yes_no};

pub fn run(ctx: &Ctx, report: &mut Report) {
    eprintln!("== busy UI ({} panes flooding, grid)", ctx.sizes.busy_tasks);
    report.attempt("Busy UI (16 panes, grid)", "≥ 30 fps, ≤ 50 ms", |r| {
        busy_ui(ctx, r)
    });
}

fn busy_ui(ctx: &Ctx, report: &mut Report) -> Res<()> {
    let n = ctx.sizes.busy_tasks;
    let sandbox = Sandbox::new(ctx.bins)?;
    let frame_log = sandbox.dir().join("frames.log");
    let frame_log_s = frame_log.display().to_string();
    let mut tui = sandbox.tui(120, 40, &[("FLIGHTDECK_FRAME_LOG", frame_log_s.as_str())])?;
    let monitor = Monitor::connect(ctx.rt, &sandbox)?;
    let ids = sandbox.dispatch_many("flood=200M", n, 8)?;
    monitor.wait_running(&ids, WAIT)?;
    tui.send(b"g")?;
    let last = format!("#{}", ids.iter().max().unwrap());
    let first = format!("#{}", ids.iter().min().unwrap());
    tui.wait_shows(&first, WAIT)?;
    tui.wait_shows(&last, WAIT)?;
    std::thread::sleep(Duration::from_secs(1));
    let daemon = sandbox.wait_daemon_pid()?;
    let _perf = Perf::start(ctx.perf.as_deref(), "busy-ui", &[daemon, tui.pid()]);
    let logged: u64 = ids.iter().map(|id| sandbox.log_len(*id)).sum();
    let keepers = sandbox.keepers();
    // CPU ticks of the daemon, the dashboard, the keepers.
    let ticks = || {
        let of = |pid: u32| cpu_ticks(pid).unwrap_or(0);
        [
            of(daemon),
            of(tui.pid()),
            keepers.iter().map(|k| of(*k)).sum(),
        ]
    };
    let (from, t0, ticks0) = (epoch_us(), Instant::now(), ticks());
    std::thread::sleep(Duration::from_secs(ctx.sizes.busy_secs));
    let (to, window, ticks1) = (epoch_us(), t0.elapsed().as_secs_f64(), ticks());
    let streamed: u64 = ids.iter().map(|id| sandbox.log_len(*id)).sum::<u64>() - logged;
    let draws = frame_draws(&frame_log, from, to);
    let fps = draws.len() as f64 / window;
    let lat = help_roundtrips(
        &mut tui,
        ctx.sizes.busy_roundtrips,
        Duration::from_millis(150),
    )?;
    let still = ids.iter().filter(|id| monitor.live(**id)).count();
    let tck = clk_tck();
    report.push(
        Row::new(
            format!("Busy UI: {n} panes in grid mode, all flooding — frame rate"),
            format!("{fps:.1} fps"),
        )
        .goal("≥ 30 fps", yes_no(fps >= 30.0)),
    );
    report.push(Row::new(
        "… frame draw time p50 / p99",
        format!("{:.2} / {:.2} ms", draws.p(50.0), draws.p(99.0)),
    ));
    let (p50, p99) = (lat.p(50.0), lat.p(99.0));
    report.push(
        Row::new(
            format!(
                "… input-to-frame (`?` → help drawn), p50 / p99 of {}",
                lat.len()
            ),
            format!("{p50:.1} / {p99:.1} ms"),
        )
        .goal("≤ 50 ms", yes_no(p99 <= 50.0)),
    );
    report.note(format!(
        "Busy UI: {n} × `fake-agent flood=200M` at once on {} cores; during the {window:.1} s window their logs grew by {:.1} MiB/s in total \
         (all of it through the keepers into the daemon); daemon CPU {:.0} %, UI CPU {:.0} %, keepers' CPU {:.0} % of one core ({} keepers); {still} of {n} floods \
         were still running after the key round trips. Frames from FLIGHTDECK_FRAME_LOG (draw = `terminal.draw`, including the write to the PTY).",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        streamed as f64 / MIB / window,
        cpu_pct(ticks1[0] - ticks0[0], window, tck),
        cpu_pct(ticks1[1] - ticks0[1], window, tck),
        cpu_pct(ticks1[2].saturating_sub(ticks0[2]), window, tck),
        keepers.len(),
    ));
    Ok(())
}

/// Draw times (ms) of the frames started between two instants (µs since the
/// epoch), from the dashboard's frame log ("START_US TOOK_US" lines).
fn frame_draws(log: &Path, from_us: u128, to_us: u128) -> Samples {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let draws = text
        .lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace();
            let start = it.next()?.parse::<u128>().ok()?;
            let took = it.next()?.parse::<u64>().ok()?;
            (start >= from_us && start < to_us).then_some(took as f64 / 1000.0)
        })
        .collect();
    Samples::new(draws)
}
