//! In-process benchmarks of the terminal path every task output byte takes:
//! emulator parsing, frame rendering (daemon side), frame encode/decode (the
//! wire) and blitting a frame into a ratatui buffer (client side).
//!
//! `cargo bench --bench term` (add `-- --quick` for a fast pass).

#[path = "common/workload.rs"]
mod workload;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use flightdeck::host::PtySize;
use flightdeck::term::{self, Emulator, ScreenFrame};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

const SIZE: PtySize = PtySize {
    rows: 40,
    cols: 120,
};
const SCROLLBACK: usize = 10_000;
/// How much agent output one iteration feeds.
const FEED: usize = 16 << 20;
/// A Linux PTY read returns at most about this much at a time.
const CHUNK: usize = 4096;

fn full_emulator(output: &[u8]) -> Box<dyn Emulator> {
    let mut emulator = term::new_emulator(SIZE, SCROLLBACK);
    for chunk in output.chunks(CHUNK) {
        emulator.feed(chunk);
    }
    emulator
}

fn emulator_throughput(c: &mut Criterion) {
    let output = workload::pty_cooked(&workload::agent_output(FEED));
    let mut group = c.benchmark_group("emulator");
    group.throughput(criterion::Throughput::Bytes(output.len() as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    // Steady state: scrollback already full, as for any long-running agent.
    let mut emulator = full_emulator(&output[..output.len() / 4]);
    group.bench_function("feed_16MiB_agent_output_4KiB_chunks", |b| {
        b.iter(|| {
            for chunk in output.chunks(CHUNK) {
                emulator.feed(black_box(chunk));
            }
            black_box(emulator.take_replies());
        })
    });
    // What the reader thread does per read besides parsing.
    let mut emulator = full_emulator(&output[..output.len() / 4]);
    group.bench_function("feed_16MiB_agent_output_64KiB_chunks", |b| {
        b.iter(|| {
            for chunk in output.chunks(64 * 1024) {
                emulator.feed(black_box(chunk));
            }
        })
    });
    group.finish();
}

fn frames(c: &mut Criterion) {
    let output = workload::pty_cooked(&workload::agent_output(2 << 20));
    let mut emulator = full_emulator(&output);
    let frame = emulator.frame(0);
    assert_eq!((frame.rows, frame.cols), (40, 120));
    let bytes = term::frame::encode(&frame);
    let mut group = c.benchmark_group("frame_120x40");
    group.throughput(Throughput::Elements(1));
    // The live frame is rebuilt only where the screen changed: one row
    // after a keystroke's echo, every row once the screen scrolled.
    group.bench_function("emulator_frame_live_after_keystroke", |b| {
        b.iter(|| {
            emulator.feed(b"x\x08");
            black_box(emulator.frame(black_box(0)))
        })
    });
    group.bench_function("emulator_frame_live_after_scroll", |b| {
        b.iter(|| {
            emulator.feed(b"\r\n\x1b[32mok\x1b[0m line");
            black_box(emulator.frame(black_box(0)))
        })
    });
    group.bench_function("emulator_frame_scrolled_5000", |b| {
        b.iter(|| black_box(emulator.frame(black_box(5000))))
    });
    group.bench_function("encode", |b| {
        b.iter(|| black_box(term::frame::encode(black_box(&frame))))
    });
    group.bench_function("decode", |b| {
        b.iter(|| black_box(term::frame::decode(black_box(&bytes))))
    });
    group.bench_function("render_into_buffer", |b| {
        let area = Rect::new(0, 0, 120, 40);
        b.iter_batched_ref(
            || Buffer::empty(area),
            |buf| frame.render(area, buf),
            BatchSize::SmallInput,
        )
    });
    // Everything one watched pane costs per frame, daemon and client, when
    // the whole screen changed.
    group.bench_function("frame_encode_decode_render", |b| {
        let area = Rect::new(0, 0, 120, 40);
        let mut buf = Buffer::empty(area);
        b.iter(|| {
            emulator.feed(b"\r\nline");
            let f = emulator.frame(0);
            let wire = term::frame::encode(&f);
            let back: ScreenFrame = term::frame::decode(&wire).expect("round trip");
            back.render(area, &mut buf);
            black_box(&buf);
        })
    });
    group.finish();
    eprintln!(
        "frame_120x40: encoded size {} bytes, {} styles",
        bytes.len(),
        frame.styles.len()
    );
}

criterion_group!(benches, emulator_throughput, frames);
criterion_main!(benches);
