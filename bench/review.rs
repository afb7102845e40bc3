//! Review: open a 50,000-line diff and jump to its end, in process (the
//! review view has no I/O of its own: the daemon computes the diff), step by
//! step as the dashboard does it; see `benches/common/review.rs`.

#[path = "../benches/common/review.rs"]
mod steps;

use crate::Ctx;
use crate::harness::Res;
use crate::report::{Report, Row, Samples, ms, yes_no};
use crate::workload;

pub fn run(ctx: &Ctx, report: &mut Report) {
    let (lines, runs) = (ctx.sizes.diff_lines, ctx.sizes.review_runs);
    eprintln!("== review ({lines}-line diff, {runs} runs)");
    report.attempt("Review: open a 50,000-line diff and jump to its end", "< 100 ms", |r| {
        let one_file = workload::unified_diff_one_file(lines);
        let many_files = workload::unified_diff(lines);
        measure(r, &one_file, "one file", runs, true)?;
        measure(r, &many_files, "files of ~400 lines", runs, false)?;
        r.note(format!(
            "Review: in process, {runs} runs each: `parse_unified_diff` → `Review::new` + `set_files` → draw the review into a \
             120×40 ratatui `TestBackend` terminal → keys as a user types them (`j` down the file list to the biggest file, \
             Tab to the diff, End) → draw again; the last frame is checked to show the file's last line. The dashboard's \
             own frame around the review is not drawn. Steps are medians, so they need not add up to the total."
        ));
        Ok(())
    });
}

/// Opens `diff` `runs` times and reports the total and each step.
fn measure(report: &mut Report, diff: &str, shape: &str, runs: usize, headline: bool) -> Res<()> {
    let lines = diff.lines().count();
    let mut all = Vec::new();
    let mut files = 0;
    for _ in 0..runs {
        let mut terminal = steps::terminal();
        let (review, times) = steps::open_and_jump(&mut terminal, diff);
        steps::check_at_end(&terminal, &review)?;
        files = review.files.as_ref().map_or(0, Vec::len);
        all.push(times);
    }
    let stat = |f: fn(&steps::Steps) -> std::time::Duration| {
        Samples::new(all.iter().map(|s| ms(f(s))).collect())
    };
    let total = stat(|s| s.total());
    let what = if headline {
        format!(
            "Review: open a {lines}-line diff ({shape}) and jump to its end, p50 / max of {runs}"
        )
    } else {
        format!("… a {lines}-line diff of {files} {shape}, to the end of the biggest, p50 / max")
    };
    report.push(
        Row::new(
            what,
            format!("{:.1} / {:.1} ms", total.median(), total.max()),
        )
        .goal("< 100 ms", yes_no(total.max() < 100.0)),
    );
    let parts = format!(
        "parse {:.1} · open {:.1} · frame {:.2} · `j`…/Tab/End {:.2} · frame {:.2} ms",
        stat(|s| s.parse).median(),
        stat(|s| s.open).median(),
        stat(|s| s.first_frame).median(),
        stat(|s| s.jump).median(),
        stat(|s| s.second_frame).median(),
    );
    report.push(Row::new("… steps (p50)", parts));
    Ok(())
}
