//! End-to-end benchmarks: flightdeck side by side with tmux and the raw PTY.
//!
//! ```sh
//! cargo run --release --example bench -- [--quick] [--out bench/RESULTS.md]
//!     [--only pane,attach,idle,busy,startup,flood,probe,review,attention] [--perf DIR] [--no-build]
//! ```
//!
//! It drives the release binaries (`target/release/flightdeck` and
//! `target/release/fake-agent`, built first with `cargo build --release --bins`)
//! exactly as a user would: the TUI in a real PTY whose output is drained (and
//! parsed by an independent emulator, vt100, where the harness needs to see
//! the screen), the CLI to dispatch, the daemon's socket to time task
//! lifetimes. Every run has its own temp `FLIGHTDECK_HOME` (config declaring
//! the fake agent, a temp git repo as project "demo") and its own tmux socket
//! (`tmux -L`); guards stop daemons, kill tmux servers and child processes
//! even when a measurement fails or panics. Every wait has a timeout.
//!
//! `--quick` uses tiny sizes so CI can run it in seconds. `--perf DIR` records
//! `perf record` profiles of the daemon and the TUI during the pane
//! throughput and busy-UI runs (needs `perf`).
//!
//! The results table goes to `--out` (default `bench/RESULTS.md`) and stdout.
//!
//! Layout: `harness/` (processes, PTYs, sandboxes, tmux, /proc), `report.rs`
//! (rows, statistics, RESULTS.md), and one file per measurement.

#[path = "../benches/common/workload.rs"]
mod workload;
// The SSH test harness (sshd on 127.0.0.1, test users, a client HOME).
#[path = "../tests/common/sshd.rs"]
#[allow(dead_code)]
mod sshd;

// The labelled real agent screens (tests/corpus/).
#[path = "../tests/common/corpus.rs"]
mod corpus;

mod harness;
mod report;

mod attention;
mod busy;
mod flood;
mod idle;
mod latency;
mod probe;
mod review;
mod startup;
mod throughput;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use harness::{Bins, Res, commit, loadavg, machine, output_of};
use report::{Report, Row, error_cell};

/// A measurement: it adds its rows (or an error row) to the report.
type Measurement = fn(&Ctx, &mut Report);

/// Every measurement, in the order they run: its `--only` name, its label.
const MEASUREMENTS: &[(&str, &str, Measurement)] = &[
    ("pane", "pane throughput", throughput::run),
    ("attach", "attach latency", latency::run),
    ("idle", "idle cost", idle::run),
    ("busy", "busy UI", busy::run),
    ("startup", "startup", startup::run),
    ("flood", "flood", flood::run),
    ("probe", "SSH probe", probe::run),
    ("review", "review", review::run),
    ("attention", "attention", attention::run),
];

struct Opts {
    quick: bool,
    out: PathBuf,
    only: Option<Vec<String>>,
    perf: Option<PathBuf>,
    build: bool,
}

impl Opts {
    fn parse() -> Res<Self> {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let names: Vec<&str> = MEASUREMENTS.iter().map(|m| m.0).collect();
        let mut opts = Opts {
            quick: false,
            out: root.join("bench/RESULTS.md"),
            only: None,
            perf: None,
            build: true,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--quick" => opts.quick = true,
                "--no-build" => opts.build = false,
                "--out" => opts.out = PathBuf::from(args.next().ok_or("--out needs a path")?),
                "--only" => {
                    let list: Vec<String> = args
                        .next()
                        .ok_or("--only needs a list")?
                        .split(',')
                        .map(str::to_string)
                        .collect();
                    if let Some(bad) = list.iter().find(|n| !names.contains(&n.as_str())) {
                        return Err(format!(
                            "--only: no measurement {bad:?} (one of {})",
                            names.join(",")
                        ));
                    }
                    opts.only = Some(list);
                }
                "--perf" => {
                    opts.perf = Some(PathBuf::from(args.next().ok_or("--perf needs a dir")?))
                }
                "-h" | "--help" => {
                    println!(
                        "usage: bench [--quick] [--out FILE] [--only {}] [--perf DIR] [--no-build]",
                        names.join(",")
                    );
                    std::process::exit(0);
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        Ok(opts)
    }

    fn wants(&self, name: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|list| list.iter().any(|n| n == name))
    }
}

/// How much each measurement does: a full run, or `--quick` (a smoke test).
struct Sizes {
    flood: u64,
    /// Each throughput figure is the median of this many runs.
    repeats: usize,
    keystrokes: usize,
    idle_agents: usize,
    idle_secs: u64,
    scrollback_agents: usize,
    busy_tasks: usize,
    busy_secs: u64,
    busy_roundtrips: usize,
    startup_tasks: usize,
    startup_runs: usize,
    big_flood: u64,
    flood_roundtrips: usize,
    probe_hosts: usize,
    probe_runs: usize,
    diff_lines: usize,
    review_runs: usize,
    hook_reports: usize,
}

impl Sizes {
    fn new(quick: bool) -> Self {
        let full = Sizes {
            flood: 100 << 20,
            repeats: 3,
            keystrokes: 1000,
            idle_agents: 100,
            idle_secs: 60,
            scrollback_agents: 100,
            busy_tasks: 16,
            busy_secs: 10,
            busy_roundtrips: 20,
            startup_tasks: 100,
            startup_runs: 10,
            big_flood: 1 << 30,
            flood_roundtrips: 5,
            probe_hosts: 20,
            probe_runs: 5,
            diff_lines: 50_000,
            review_runs: 20,
            hook_reports: 200,
        };
        if !quick {
            return full;
        }
        Sizes {
            flood: 4 << 20,
            repeats: 1,
            keystrokes: 50,
            idle_agents: 10,
            idle_secs: 5,
            scrollback_agents: 4,
            busy_secs: 2,
            busy_roundtrips: 5,
            startup_runs: 3,
            big_flood: 32 << 20,
            flood_roundtrips: 2,
            probe_hosts: 3,
            probe_runs: 1,
            review_runs: 3,
            hook_reports: 10,
            ..full
        }
    }
}

/// What every measurement gets.
pub struct Ctx<'a> {
    bins: &'a Bins,
    sizes: &'a Sizes,
    rt: &'a tokio::runtime::Runtime,
    perf: Option<PathBuf>,
}

/// Runs one measurement; a panic becomes an error row instead of ending the run.
fn guarded(name: &str, report: &mut Report, f: impl FnOnce(&mut Report)) {
    let t = Instant::now();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(report)));
    if let Err(panic) = result {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("");
        report.push(Row::new(name, error_cell(&format!("panicked {message}"))).goal("", "n/a"));
        if !message.is_empty() {
            report.note(format!("{name} panicked: {message}"));
        }
    }
    eprintln!("   ({name}: {:.1} s)", t.elapsed().as_secs_f64());
}

fn exit_with(code: i32, message: &str) -> ! {
    eprintln!("bench: {message}");
    std::process::exit(code)
}

fn main() {
    let opts = Opts::parse().unwrap_or_else(|e| exit_with(2, &e));
    let bins = Bins::locate(opts.build).unwrap_or_else(|e| exit_with(1, &e));
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .try_init();
    }
    let sizes = Sizes::new(opts.quick);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let ctx = Ctx {
        bins: &bins,
        sizes: &sizes,
        rt: &rt,
        perf: opts.perf.clone(),
    };
    let date = output_of(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
        .unwrap_or_else(|| "unknown date".into());
    let mode = if opts.quick {
        "`--quick` (tiny sizes: a smoke test, not a measurement)"
    } else {
        "full"
    };
    let mut header = vec![
        format!("Machine: {}", machine()),
        format!("Date: {date}"),
        format!("Commit: {}", commit(&bins.root)),
        format!("Mode: {mode}"),
    ];
    let load_start = loadavg();
    let started = Instant::now();
    let mut report = Report::default();
    for (name, label, run) in MEASUREMENTS {
        if opts.wants(name) {
            guarded(label, &mut report, |r| run(&ctx, r));
        }
    }
    header.push(format!(
        "Run time: {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    header.push(format!(
        "Load average (1/5/15 min) at start: {load_start}; at end: {}",
        loadavg()
    ));
    let text = report.render(&header, &bins.root);
    println!("{text}");
    if let Some(dir) = opts.out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(&opts.out, &text) {
        Ok(()) => eprintln!("wrote {}", opts.out.display()),
        Err(e) => exit_with(1, &format!("cannot write {}: {e}", opts.out.display())),
    }
}
