//! Parsing a 50,000-line `git diff`, and the review view opening one and
//! jumping to its end.
//!
//! `cargo bench --bench diff`.

#[path = "common/review.rs"]
mod review;
#[path = "common/workload.rs"]
mod workload;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn parse_diff(c: &mut Criterion) {
    let text = workload::unified_diff(50_000);
    let lines = text.lines().count();
    let mut group = c.benchmark_group("git_diff");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function(format!("parse_unified_diff_{lines}_lines"), |b| {
        b.iter(|| black_box(flightdeck::git::parse_unified_diff(black_box(&text))))
    });
    group.finish();
}

/// Parse → `Review::new` + `set_files` → frame → `j`…/Tab/End → frame, at
/// 120×40 (see `common/review.rs`).
fn review_open_and_jump(c: &mut Criterion) {
    let mut group = c.benchmark_group("review_120x40");
    group.sample_size(20);
    for (shape, text) in [
        ("one_file", workload::unified_diff_one_file(50_000)),
        ("many_files", workload::unified_diff(50_000)),
    ] {
        let lines = text.lines().count();
        let mut terminal = review::terminal();
        let (end, _) = review::open_and_jump(&mut terminal, &text);
        review::check_at_end(&terminal, &end).expect("the review ends at the end");
        group.bench_function(format!("open_and_jump_to_end_{lines}_lines_{shape}"), |b| {
            b.iter(|| black_box(review::open_and_jump(&mut terminal, black_box(&text))))
        });
    }
    group.finish();
}

criterion_group!(benches, parse_diff, review_open_and_jump);
criterion_main!(benches);
