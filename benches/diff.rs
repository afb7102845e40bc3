//! Parsing a 50,000-line `git diff` (what the review view opens).
//!
//! `cargo bench --bench diff`.

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

criterion_group!(benches, parse_diff);
criterion_main!(benches);
