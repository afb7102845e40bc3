//! `fake-agent`: a deterministic stand-in for an AI coding agent CLI.
//!
//! Tests, demos and benchmarks drive it through *directives* embedded in the
//! prompt (the last positional argument): whitespace-separated words such as
//! `progress`, `ask`, `lines=50` or `write:src/a.rs=fn\nmain`. Every other word
//! is ordinary prompt text and is ignored. Run `fake-agent --help` for the list.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{self, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::thread;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::termios::{SetArg, Termios, cfmakeraw, tcgetattr, tcsetattr};

#[path = "fake_agent/hooks.rs"]
mod hooks;
#[path = "fake_agent/output.rs"]
mod output;

use output::{FLOOD_SEED, XorShift, flood_line};

const VERSION_LINE: &str = "fake-agent 1.2.3 (flightdeck test agent)";

const HELP: &str = "\
usage: fake-agent [-p] [PROMPT]    run the directives found in PROMPT
       fake-agent --version        (hangs if FAKE_AGENT_HANG_VERSION=1)
       fake-agent acp --help
directives: progress[=N] ask write:P=C append:P=C delete:P rename:A=B lines=N
  sleep=MS altscreen flood=BYTES[K|M|G] echo idle ignore-term child garbage
  exit=N title=TEXT dsr seqfor=MS ignore-hup bell notify=TEXT menu spinner=MS
  hook=EVENT[:TOOL[:INPUT]] (claude-style, from --settings) turn-end (codex -c notify=)
env: FAKE_AGENT_RECORD FAKE_AGENT_STEP_MS FAKE_AGENT_CHILD_PIDFILE COLUMNS LINES
";

/// Exit code used when the terminal disappears mid-write (EPIPE/EIO).
const GONE_EXIT: i32 = 1;

/// Prints formatted text and flushes at once, so `\r` redraws and prompts show.
macro_rules! say {
    ($($arg:tt)*) => { emit(format_args!($($arg)*)) };
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if let Some(path) = std::env::var_os("FAKE_AGENT_RECORD") {
        record(Path::new(&path), &args);
    }
    match args.first().map(|a| a.as_bytes()) {
        Some(b"--version") => version(),
        Some(b"--help" | b"-h") => emit_bytes(HELP.as_bytes()),
        Some(b"acp") => acp(&args[1..]),
        _ => run(&args),
    }
}

/// Writes the raw argv bytes as JSON so tests can prove quoting survived intact.
fn record(path: &Path, args: &[OsString]) {
    let bytes: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    let json = serde_json::json!({ "args": bytes, "cwd": cwd.to_string_lossy() });
    if let Err(e) = fs::write(path, json.to_string()) {
        let _ = writeln!(
            io::stderr(),
            "fake-agent: cannot record to {}: {e}",
            path.display()
        );
    }
}

/// `--version`, optionally hanging forever so callers can test probe timeouts.
fn version() {
    if std::env::var_os("FAKE_AGENT_HANG_VERSION").is_some_and(|v| v == "1") {
        loop {
            thread::sleep(Duration::from_secs(3600));
        }
    }
    say!("{VERSION_LINE}\n");
}

/// Only the help screen exists: enough for capability probes to detect ACP.
fn acp(rest: &[OsString]) {
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        say!(
            "Usage: fake-agent acp [--help]\n\nSpeak the Agent Client Protocol (ACP) over stdio.\n"
        );
    } else {
        let _ = writeln!(io::stderr(), "fake-agent: acp mode is not implemented");
        process::exit(2);
    }
}

/// Normal run: banner, then each directive in prompt order, then `done.`.
fn run(args: &[OsString]) {
    let strings: Vec<String> = args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    hooks::init(&strings);
    let (headless, prompt) = parse_cli(args);
    banner(headless, &prompt);
    let mut exit_code = 0;
    for word in prompt.split_whitespace() {
        let _ = perform(word, &mut exit_code);
    }
    say!("\x1b[32mdone.\x1b[0m\n");
    process::exit(exit_code);
}

/// Splits argv into the headless flag and the prompt (last positional argument).
fn parse_cli(args: &[OsString]) -> (bool, String) {
    let mut headless = false;
    let mut prompt = None;
    let mut only_positional = false;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_bytes() {
            b"--" if !only_positional => only_positional = true,
            flag if !only_positional && hooks::takes_value(flag) => {
                args.next();
            }
            b"-p" | b"--print" if !only_positional => headless = true,
            [b'-', _, ..] if !only_positional => {} // unknown flags are tolerated
            _ => prompt = Some(arg),
        }
    }
    (
        headless,
        prompt
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default(),
    )
}

fn banner(headless: bool, prompt: &str) {
    let mode = if headless { "headless" } else { "interactive" };
    let first_line: String = prompt
        .lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(60)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let cwd = std::env::current_dir().unwrap_or_default();
    say!("\x1b[1;38;2;255;135;0mfake-agent 1.2.3\x1b[0m — \x1b[1;36m{mode}\x1b[0m\n");
    say!("\x1b[38;5;244mprompt:\x1b[0m {first_line}\n");
    say!("\x1b[38;5;244mcwd:\x1b[0m {}\n", cwd.display());
    say!("\x1b[30;42m READY \x1b[0m \x1b[33mworking on it\x1b[0m\n");
}

/// Runs `word` if it is a directive; prose and malformed values yield `None`.
fn perform(word: &str, exit_code: &mut i32) -> Option<()> {
    let (name, value) = word
        .split_once('=')
        .map_or((word, None), |(n, v)| (n, Some(v)));
    let num = || value?.parse::<u64>().ok();
    match (name, value) {
        ("progress", None) => progress(20),
        ("progress", _) => progress(num()?),
        ("ask", None) => ask(),
        ("lines", _) => lines(num()?),
        ("sleep", _) => thread::sleep(Duration::from_millis(num()?)),
        ("altscreen", None) => alt_screen(),
        ("flood", Some(size)) => flood(parse_size(size)?),
        ("echo", None) => echo(),
        ("idle", None) => idle(),
        ("ignore-term", None) => ignore_term(),
        ("ignore-hup", None) => ignore_hup(),
        ("child", None) => spawn_child(),
        ("garbage", None) => garbage(),
        ("exit", Some(code)) => *exit_code = code.parse().ok()?,
        ("title", Some(text)) => say!("\x1b]2;{}\x07", unescape(text)),
        ("bell", None) => say!("\x07"),
        ("notify", Some(text)) => say!("\x1b]9;{}\x07", unescape(text)),
        ("menu", None) => menu(),
        ("spinner", _) => spinner(Duration::from_millis(num()?)),
        ("hook", Some(spec)) => say!("{}\n", hooks::fire(spec)),
        ("turn-end", None) => say!("{}\n", hooks::turn_end()),
        ("dsr", None) => dsr(),
        ("seqfor", _) => sequence_for(Duration::from_millis(num()?)),
        _ => file_op(word)?,
    }
    Some(())
}

/// `write:P=C`, `append:P=C`, `delete:P` and `rename:FROM=TO`; failures are
/// reported but never abort the run.
fn file_op(word: &str) -> Option<()> {
    let (op, rest) = word.split_once(':')?;
    let pair = rest.split_once('=').filter(|(p, _)| !p.is_empty());
    let (result, done) = match (op, pair) {
        ("write", Some((path, text))) => (
            write_file(path, &unescape(text), false),
            format!("wrote {path}"),
        ),
        ("append", Some((path, text))) => (
            write_file(path, &unescape(text), true),
            format!("appended {path}"),
        ),
        ("delete", _) if !rest.is_empty() => (fs::remove_file(rest), format!("deleted {rest}")),
        ("rename", Some((from, to))) if !to.is_empty() => {
            (fs::rename(from, to), format!("renamed {from} -> {to}"))
        }
        _ => return None,
    };
    match result {
        Ok(()) => say!("{done}\n"),
        Err(e) => say!("\x1b[31merror: {word}: {e}\x1b[0m\n"),
    }
    Some(())
}

/// Directive values cannot hold whitespace, so `\n` stands for a newline
/// and `\s` for a space.
fn unescape(text: &str) -> String {
    text.replace("\\n", "\n").replace("\\s", " ")
}

/// Parses `123`, `4K`, `16M` or `1G` (binary units) into a byte count.
fn parse_size(text: &str) -> Option<u64> {
    let shift = match text.chars().last()?.to_ascii_uppercase() {
        'K' => 10,
        'M' => 20,
        'G' => 30,
        _ => 0,
    };
    let digits = if shift == 0 {
        text
    } else {
        &text[..text.len() - 1]
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

fn progress(steps: u64) {
    let steps = steps.max(1);
    let pause = std::env::var("FAKE_AGENT_STEP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    for step in 0..=steps {
        let pct = step * 100 / steps;
        let filled = ((pct + 5) / 10) as usize;
        say!(
            "\r[{}{}] {pct:>3}%",
            "#".repeat(filled),
            ".".repeat(10 - filled)
        );
        if step < steps {
            thread::sleep(Duration::from_millis(pause));
        }
    }
    say!("\nprogress done\n");
}

fn ask() {
    say!("Proceed with the plan? [y/n] ");
    match read_line() {
        Some(line) => say!("answer: {line}\n"),
        None => say!("answer: <eof>\n"),
    }
}

/// A selection menu like claude's trust and permission dialogs; waits
/// for a line and reports the choice.
fn menu() {
    say!(
        "Do you want to proceed?\n\x1b[36m❯ 1. Yes\x1b[0m\n  2. No, and tell Claude what to do differently\n"
    );
    match read_line() {
        Some(line) => say!("chose: {line}\n"),
        None => say!("chose: <eof>\n"),
    }
}

/// A spinner with "esc to interrupt", redrawn in place, for `length`.
fn spinner(length: Duration) {
    const FRAMES: [char; 4] = ['⠋', '⠙', '⠹', '⠸'];
    let start = Instant::now();
    let mut i = 0;
    while start.elapsed() < length {
        say!(
            "\r{} Thinking… (esc to interrupt)",
            FRAMES[i % FRAMES.len()]
        );
        i += 1;
        thread::sleep(Duration::from_millis(80));
    }
    say!("\r\x1b[2Kthought\n");
}

/// Reads one line byte by byte from fd 0, so no input is left in a hidden buffer.
fn read_line() -> Option<String> {
    let mut line = Vec::new();
    let mut byte = [0u8];
    loop {
        if read_stdin(&mut byte) == 0 {
            return (!line.is_empty()).then(|| String::from_utf8_lossy(&line).into_owned());
        }
        if byte[0] == b'\n' {
            let end = line.strip_suffix(b"\r").unwrap_or(&line);
            return Some(String::from_utf8_lossy(end).into_owned());
        }
        line.push(byte[0]);
    }
}

fn write_file(path: &str, text: &str, append: bool) -> io::Result<()> {
    if let Some(dir) = Path::new(path).parent() {
        fs::create_dir_all(dir)?; // a no-op for "" (a bare file name)
    }
    let mut options = fs::OpenOptions::new();
    options
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append);
    options.open(path)?.write_all(text.as_bytes())
}

fn lines(count: u64) {
    let mut out = BufWriter::new(io::stdout().lock());
    for i in 1..=count {
        let colour = 31 + i % 6;
        let shade = 16 + i % 216;
        let text =
            format!("line {i}\x1b[0m \x1b[38;5;{shade}mof {count}: the quick brown fox\x1b[0m\n");
        check(write!(out, "\x1b[{colour}m{text}"));
    }
    check(out.flush());
}

/// Full-screen UI like an agent's TUI: alt screen, frame, raw keys until `q`.
fn alt_screen() {
    let (w, h) = term_size();
    let mut frame = String::from("\x1b[?1049h\x1b[H\x1b[2J");
    let bar = "─".repeat(w.saturating_sub(2));
    frame += &format!("\x1b[1;1H┌{bar}┐");
    for row in 2..h {
        frame += &format!("\x1b[{row};1H│\x1b[{row};{w}H│");
    }
    frame += &format!("\x1b[{h};1H└{bar}┘");
    let label = "ALT SCREEN — press q";
    let col = w.saturating_sub(label.chars().count()) / 2 + 1;
    frame += &format!("\x1b[{};{col}H\x1b[1;7m{label}\x1b[0m", h.div_ceil(2));
    emit_bytes(frame.as_bytes());
    {
        let _raw = RawMode::enter();
        let mut byte = [0u8];
        while read_stdin(&mut byte) == 1 && byte[0] != b'q' {}
    }
    say!("\x1b[?1049lleft alt screen\n");
}

/// Terminal size: `COLUMNS`/`LINES` override, then the real tty size, else 80x24.
fn term_size() -> (usize, usize) {
    let env = |name| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
    };
    let tty = crossterm::terminal::size()
        .ok()
        .filter(|&(w, h)| w > 0 && h > 0);
    let w = env("COLUMNS")
        .or(tty.map(|t| usize::from(t.0)))
        .unwrap_or(80);
    let h = env("LINES").or(tty.map(|t| usize::from(t.1))).unwrap_or(24);
    (w.max(2), h.max(2))
}

/// High-volume realistic output for throughput benchmarks; exactly `total` bytes.
fn flood(total: u64) {
    let mut out = BufWriter::with_capacity(1 << 20, io::stdout().lock());
    let mut rng = XorShift(FLOOD_SEED);
    let mut line = String::new();
    let mut left = total;
    while left > 0 {
        line.clear();
        flood_line(&mut rng, &mut line);
        if line.len() as u64 > left {
            // Pad with plain ASCII so no escape sequence or UTF-8 char is cut.
            line = ".".repeat(left as usize);
        }
        check(out.write_all(line.as_bytes()));
        left -= line.len() as u64;
    }
    check(out.write_all(b"\nflood done\n"));
    check(out.flush());
}

/// Numbered lines as fast as the terminal takes them, for `ms`, then
/// `seq done N`: a reader of the log can tell whether any line is missing.
fn sequence_for(ms: Duration) {
    let mut out = BufWriter::with_capacity(64 * 1024, io::stdout().lock());
    let start = std::time::Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < ms {
        for _ in 0..64 {
            check(writeln!(
                out,
                "seq {n:08} the quick brown fox jumps over the lazy dog"
            ));
            n += 1;
        }
    }
    check(writeln!(out, "seq done {n}"));
    check(out.flush());
}

/// Hostile bytes for emulator robustness: invalid UTF-8, aborted escapes, C1, NUL.
fn garbage() {
    let mut rng = XorShift(0x6761_7262_6167_6521);
    let mut bytes = Vec::with_capacity(4200);
    while bytes.len() < 4096 {
        match rng.below(8) {
            0 => bytes.extend([0x1b, if rng.below(2) == 0 { 0x18 } else { 0x1a }]), // lone ESC
            1 => bytes.extend([0x1b, b'[', rng.byte_in(b'0', b'9'), b';', 0x18]),   // cut-off CSI
            2 => bytes.push(0x00),
            3 => bytes.push(rng.byte_in(0x80, 0x9f)), // raw C1
            4 => bytes.extend([0xc2, rng.byte_in(0x80, 0x9f)]), // UTF-8 encoded C1
            5 => bytes.extend([0xe6, rng.byte_in(0x80, 0xbf), b'x']), // truncated UTF-8
            6 => bytes.push(rng.byte_in(b' ', b'~')),
            // Any byte but ESC, so no complete escape sequence can form by chance.
            _ => bytes.push(match rng.byte_in(0x00, 0xff) {
                0x1b => b'?',
                other => other,
            }),
        }
    }
    bytes.truncate(4096);
    // CAN, SI and a charset reset leave the terminal sane for the marker line.
    bytes.extend_from_slice(b"\x18\x0f\x1b(B\x1b[0m\ngarbage done\n");
    emit_bytes(&bytes);
}

/// Keystroke-latency benchmark: raw mode, echo each read at once, stop at Ctrl-D.
fn echo() {
    {
        let _raw = RawMode::enter();
        let mut buf = [0u8; 4096];
        loop {
            let n = read_stdin(&mut buf);
            let chunk = &buf[..n];
            let eot = chunk.iter().position(|&b| b == 0x04);
            emit_bytes(&chunk[..eot.unwrap_or(n)]);
            if n == 0 || eot.is_some() {
                break;
            }
        }
    }
    say!("\necho done\n");
}

/// Simulates an agent waiting for input; returns when stdin reaches EOF.
fn idle() {
    say!("idle: waiting\n");
    let mut buf = [0u8; 4096];
    while read_stdin(&mut buf) > 0 {}
}

/// Registering any handler replaces SIGTERM's default "terminate" action.
fn ignore_term() {
    let flag = Arc::new(AtomicBool::new(false));
    match signal_hook::flag::register(signal_hook::consts::SIGTERM, flag) {
        Ok(_) => say!("ignoring SIGTERM\n"),
        Err(e) => say!("\x1b[31mcannot ignore SIGTERM: {e}\x1b[0m\n"),
    }
}

/// Survives its terminal going away (as some agents do).
fn ignore_hup() {
    let flag = Arc::new(AtomicBool::new(false));
    match signal_hook::flag::register(signal_hook::consts::SIGHUP, flag) {
        Ok(_) => say!("ignoring SIGHUP\n"),
        Err(e) => say!("\x1b[31mcannot ignore SIGHUP: {e}\x1b[0m\n"),
    }
}

/// A grandchild in our process group, to test that the whole group gets killed.
fn spawn_child() {
    match Command::new("sleep")
        .arg("1000")
        .stdin(Stdio::null())
        .spawn()
    {
        Ok(mut child) => {
            let pid = child.id();
            if let Some(path) = std::env::var_os("FAKE_AGENT_CHILD_PIDFILE") {
                let _ = fs::write(path, pid.to_string());
            }
            // Reap it if it dies while we are still running; never block on it.
            thread::spawn(move || child.wait());
            say!("child pid {pid}\n");
        }
        Err(e) => say!("\x1b[31mcannot spawn child: {e}\x1b[0m\n"),
    }
}

/// Asks the terminal for the cursor position and reports its answer.
fn dsr() {
    let reply = {
        let _raw = RawMode::enter();
        emit_bytes(b"\x1b[6n");
        read_cursor_report(Duration::from_secs(5))
    };
    match reply {
        Some((row, col)) => say!("cursor at {row},{col}\n"),
        None => say!("no reply\n"),
    }
}

fn read_cursor_report(timeout: Duration) -> Option<(u32, u32)> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        if let Some(pos) = parse_cursor_report(&got) {
            return Some(pos);
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        if !wait_readable(left) {
            return None;
        }
        let n = read_stdin(&mut buf);
        if n == 0 {
            return None;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// Finds `ESC [ row ; col R` in whatever has arrived so far.
fn parse_cursor_report(bytes: &[u8]) -> Option<(u32, u32)> {
    let text = String::from_utf8_lossy(bytes);
    let body = &text[text.rfind("\x1b[")? + 2..];
    let (row, col) = body.split_once('R')?.0.split_once(';')?;
    Some((row.parse().ok()?, col.parse().ok()?))
}

fn wait_readable(timeout: Duration) -> bool {
    let stdin = io::stdin();
    let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
    let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
    loop {
        match poll(&mut fds, timeout) {
            Err(Errno::EINTR) => continue,
            Ok(ready) => return ready > 0,
            Err(_) => return false,
        }
    }
}

/// Puts the stdin tty in raw mode until dropped; a no-op when stdin is no tty.
struct RawMode(Option<Termios>);

impl RawMode {
    fn enter() -> Self {
        let stdin = io::stdin();
        if !stdin.is_terminal() {
            return Self(None);
        }
        let Ok(saved) = tcgetattr(&stdin) else {
            return Self(None);
        };
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &raw);
        Self(Some(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = tcsetattr(io::stdin(), SetArg::TCSANOW, saved);
        }
    }
}

/// Unbuffered read from fd 0 (so `poll` never misses buffered bytes); 0 means
/// EOF, and errors such as EIO from a vanished PTY count as EOF too.
fn read_stdin(buf: &mut [u8]) -> usize {
    loop {
        match nix::unistd::read(io::stdin(), buf) {
            Err(Errno::EINTR) => continue,
            Ok(n) => return n,
            Err(_) => return 0,
        }
    }
}

fn emit(args: fmt::Arguments) {
    let mut out = io::stdout().lock();
    check(out.write_fmt(args).and_then(|()| out.flush()));
}

fn emit_bytes(bytes: &[u8]) {
    let mut out = io::stdout().lock();
    check(out.write_all(bytes).and_then(|()| out.flush()));
}

/// Once the terminal is gone there is nobody to tell: exit quietly.
fn check<T>(result: io::Result<T>) -> T {
    result.unwrap_or_else(|_| process::exit(GONE_EXIT))
}
