//! A flood never hurts: one agent prints 1 GiB as fast as it can; the
//! daemon's memory stays bounded and the dashboard stays responsive.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use flightdeck::protocol::task::TaskState;

use crate::Ctx;
use crate::harness::{
    MIB, Monitor, Res, Sandbox, WAIT, flood_arg, help_roundtrips, hwm_mib, rss_mib,
};
use crate::report::{Report, Row, size_label, yes_no};

pub fn run(ctx: &Ctx, report: &mut Report) {
    eprintln!("== flood ({})", size_label(ctx.sizes.big_flood));
    report.attempt("Flood", "bounded, ≤ 50 ms", |r| flood(ctx, r));
}

fn flood(ctx: &Ctx, report: &mut Report) -> Res<()> {
    let size = ctx.sizes.big_flood;
    let sandbox = Sandbox::new(ctx.bins)?;
    let mut tui = sandbox.tui(120, 40, &[])?;
    let monitor = Monitor::connect(ctx.rt, &sandbox)?;
    let daemon = sandbox.wait_daemon_pid()?;
    let base_rss = rss_mib(daemon).unwrap_or(f64::NAN);
    let stop = Arc::new(AtomicBool::new(false));
    let _stop_on_error = StopOnDrop(stop.clone());
    // The task's keeper, once it exists.
    let keeper = Arc::new(AtomicU32::new(0));
    let sampler = {
        let (stop, keeper, tui_pid) = (stop.clone(), keeper.clone(), tui.pid());
        // (daemon peak, dashboard peak, keeper's VmHWM, samples), every 50 ms
        // (the keeper leaves as soon as its task's exit is delivered).
        std::thread::spawn(move || {
            let (mut peak, mut tui_peak, mut keeper_hwm, mut samples) = (0f64, 0f64, f64::NAN, 0);
            while !stop.load(Ordering::SeqCst) {
                if let Some(r) = rss_mib(daemon) {
                    peak = peak.max(r);
                    samples += 1;
                }
                if let Some(r) = rss_mib(tui_pid) {
                    tui_peak = tui_peak.max(r);
                }
                match keeper.load(Ordering::SeqCst) {
                    0 => {}
                    pid => keeper_hwm = hwm_mib(pid).unwrap_or(keeper_hwm),
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            (peak, tui_peak, keeper_hwm, samples)
        })
    };
    let id = sandbox.dispatch(&flood_arg(size))?;
    monitor.wait_running(&[id], WAIT)?;
    match sandbox.keepers()[..] {
        [pid] => keeper.store(pid, Ordering::SeqCst),
        ref found => return Err(format!("found {} keepers for one task", found.len())),
    }
    std::thread::sleep(Duration::from_millis(500));
    let lat = help_roundtrips(
        &mut tui,
        ctx.sizes.flood_roundtrips,
        Duration::from_millis(300),
    )?;
    let during = monitor.live(id);
    let (running, ended, record) = monitor.wait_ended(id, Duration::from_secs(1800))?;
    let hwm = hwm_mib(daemon).unwrap_or(f64::NAN);
    stop.store(true, Ordering::SeqCst);
    let (peak, tui_peak, keeper_hwm, samples) = sampler.join().map_err(|_| "sampler panicked")?;
    if !matches!(record.state, TaskState::Exited { code: 0 }) {
        return Err(format!("the flood task ended {}", record.state.label()));
    }
    let rate = size as f64 / MIB / (ended - running).as_secs_f64();
    report.push(Row::new(
        format!("Flood: one agent prints {} — throughput", size_label(size)),
        format!("{rate:.1} MiB/s"),
    ));
    report.push(
        Row::new(
            "… daemon peak RSS (50 ms samples / VmHWM)",
            format!(
                "{peak:.1} / {hwm:.1} MiB (idle {base_rss:.1} MiB); keeper peak {keeper_hwm:.1} MiB; UI peak {tui_peak:.1} MiB"
            ),
        )
        .goal("bounded", yes_no(hwm < 256.0 && keeper_hwm < 256.0)),
    );
    report.push(
        Row::new(
            format!(
                "… input-to-frame during the flood, p50 / max of {}",
                lat.len()
            ),
            format!("{:.1} / {:.1} ms", lat.p(50.0), lat.max()),
        )
        .goal("≤ 50 ms", yes_no(lat.max() <= 50.0 && during)),
    );
    report.note(format!(
        "Flood: {samples} RSS samples; the agent was {} running when the last `?` round trip finished; \
         \"bounded\" means below 256 MiB for a single agent.",
        if during { "still" } else { "**no longer**" }
    ));
    Ok(())
}

/// Stops the sampler however the measurement ends.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}
