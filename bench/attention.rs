//! Attention: how fast a hook's report shows on the dashboard, and how many
//! of the labelled real agent screens (`tests/corpus/`) the screen rules read
//! right. (What the rules cost with 100 quiet tasks is in the idle figure:
//! the daemon decides every task's activity four times a second.)

use std::time::{Duration, Instant};

use crate::Ctx;
use crate::corpus;
use crate::harness::{Res, Sandbox, Until};
use crate::report::{Report, Row, Samples, ms, yes_no};

pub fn run(ctx: &Ctx, report: &mut Report) {
    let n = ctx.sizes.hook_reports;
    eprintln!("== attention ({n} hook reports)");
    report.attempt("Hook → dashboard", "p99 ≤ 20 ms", |r| {
        hook_latency(ctx, n, r)
    });
    let screens = corpus::load();
    let wrong = corpus::misread(&flightdeck::catalog::Catalog::builtin(), &screens);
    let right = screens.len() - wrong.len();
    report.push(
        Row::new(
            format!(
                "Screen rules on {} real agent screens (claude, codex, gemini)",
                screens.len()
            ),
            format!(
                "{right}/{} right ({:.0} %)",
                screens.len(),
                100.0 * right as f64 / screens.len() as f64
            ),
        )
        .goal("100 %", yes_no(wrong.is_empty())),
    );
    for miss in wrong {
        report.note(format!("misread: {miss}"));
    }
}

/// `flightdeck hook state waiting|working REASON` run as an agent's hook
/// would, timed from its start to the dashboard showing the reason.
fn hook_latency(ctx: &Ctx, n: usize, report: &mut Report) -> Res<()> {
    let sandbox = Sandbox::new(ctx.bins)?;
    let id = sandbox.dispatch("idle")?.to_string();
    let mut tui = sandbox.tui(120, 40, &[])?;
    tui.wait_shows("idle: waiting", Duration::from_secs(10))?;
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let state = if i % 2 == 0 { "waiting" } else { "working" };
        let reason = format!("bench-{i}");
        let mut hook = sandbox.command();
        hook.args(["hook", "state", state, &reason])
            .env("FLIGHTDECK_TASK_ID", &id);
        let start = Instant::now();
        let child = std::thread::spawn(move || hook.status());
        let (_, seen) = tui.send_and_wait(
            b"",
            Until::Shows(format!("hook: {reason}")),
            Duration::from_secs(10),
        )?;
        lat.push(ms(seen - start));
        let _ = child.join();
        std::thread::sleep(Duration::from_millis(20));
    }
    let s = Samples::new(lat);
    report.push(Row::new(
        format!(
            "Hook → dashboard p50: `flightdeck hook` started → its reason on screen ({n} reports)"
        ),
        format!("{:.2} ms", s.p(50.0)),
    ));
    let p99 = s.p(99.0);
    report.push(
        Row::new("Hook → dashboard p99", format!("{p99:.2} ms"))
            .goal("≤ 20 ms", yes_no(p99 <= 20.0)),
    );
    report.note(
        "Hook → dashboard: the hook process is started by the harness (as the agent would), \
         connects to the daemon (checking the socket's owner and peer), reports; the daemon \
         decides at once and the dashboard redraws; the harness parses the dashboard's output \
         with vt100 and stamps the read that shows the report's reason.",
    );
    Ok(())
}
