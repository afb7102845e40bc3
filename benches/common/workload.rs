//! Deterministic workloads shared by the criterion benches (`benches/`) and
//! the end-to-end harness (`bench/main.rs`, which includes this file with
//! `#[path]`).
//!
//! `agent_output` reproduces `fake-agent flood=N` byte for byte (its
//! generator, `src/bin/fake_agent/output.rs`, is included here): SGR
//! 256-colour and truecolour runs, `\r` spinner/progress redraws, long
//! wrapped lines and CJK text, so in-process numbers and end-to-end numbers
//! are about the same stream.

#![allow(dead_code)]

// The generator itself, the same file the fake agent is built from.
#[path = "../../src/bin/fake_agent/output.rs"]
mod output;

use std::fmt::Write as _;

use output::{CJK, FLOOD_SEED, WORDS, XorShift, flood_line};

/// Exactly `total` bytes of what `fake-agent flood=total` prints (without its
/// trailing "flood done" line). Lines end in a bare `\n`, as a program writes
/// them; a PTY with `onlcr` (the default) turns them into `\r\n`, which
/// `pty_cooked` does.
pub fn agent_output(total: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(total);
    let mut rng = XorShift(FLOOD_SEED);
    let mut line = String::new();
    while out.len() < total {
        line.clear();
        flood_line(&mut rng, &mut line);
        let left = total - out.len();
        if line.len() > left {
            out.extend(std::iter::repeat_n(b'.', left));
        } else {
            out.extend_from_slice(line.as_bytes());
        }
    }
    out
}

/// What the PTY master actually reads: `\n` → `\r\n` (termios `onlcr`).
pub fn pty_cooked(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 32);
    for &b in bytes {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// A `git diff` of about `lines` lines: files of 10 hunks, each hunk a mix of
/// context, removed and added lines (some long, some non-ASCII), plus the odd
/// rename, new file and "\ No newline at end of file".
pub fn unified_diff(lines: usize) -> String {
    let mut out = String::with_capacity(lines * 48);
    let mut rng = XorShift(0xd1ff_0000_5eed_0001);
    let mut count = 0usize;
    let mut file = 0usize;
    while count < lines {
        file += 1;
        count += file_header(&mut out, file);
        let (mut old_line, mut new_line) = (1u32, 1u32);
        for _ in 0..10 {
            count += hunk(&mut out, &mut rng, &mut old_line, &mut new_line);
        }
        if file.is_multiple_of(23) {
            out.push_str("\\ No newline at end of file\n");
            count += 1;
        }
    }
    out
}

/// A `git diff` of one file of about `lines` lines (hunks as in
/// `unified_diff`): the worst case for the review view, whose rows are per file.
pub fn unified_diff_one_file(lines: usize) -> String {
    let mut out = String::with_capacity(lines * 48);
    let mut rng = XorShift(0xd1ff_0000_5eed_0001);
    let mut count = file_header(&mut out, 1);
    let (mut old_line, mut new_line) = (1u32, 1u32);
    while count < lines {
        count += hunk(&mut out, &mut rng, &mut old_line, &mut new_line);
    }
    out
}

/// The header lines of file number `file`; returns how many.
fn file_header(out: &mut String, file: usize) -> usize {
    let path = format!("src/module_{file}/file_{file}.rs");
    let count = match file % 17 {
        0 => {
            let _ = writeln!(out, "diff --git a/src/old_{file}.rs b/{path}");
            let _ = writeln!(out, "similarity index 91%");
            let _ = writeln!(out, "rename from src/old_{file}.rs");
            let _ = writeln!(out, "rename to {path}");
            let _ = writeln!(out, "index 1a2b3c4..5d6e7f8 100644");
            let _ = writeln!(out, "--- a/src/old_{file}.rs");
            6
        }
        5 => {
            let _ = writeln!(out, "diff --git a/{path} b/{path}");
            let _ = writeln!(out, "new file mode 100644");
            let _ = writeln!(out, "index 0000000..5d6e7f8");
            let _ = writeln!(out, "--- /dev/null");
            4
        }
        _ => {
            let _ = writeln!(out, "diff --git a/{path} b/{path}");
            let _ = writeln!(out, "index 1a2b3c4..5d6e7f8 100644");
            let _ = writeln!(out, "--- a/{path}");
            3
        }
    };
    let _ = writeln!(out, "+++ b/{path}");
    count + 1
}

/// One hunk after `old_line`/`new_line` (advanced past it); returns its lines.
fn hunk(out: &mut String, rng: &mut XorShift, old_line: &mut u32, new_line: &mut u32) -> usize {
    *old_line += 3 + rng.below(40) as u32;
    *new_line += 3 + rng.below(40) as u32;
    let mut body = String::new();
    let (mut old_n, mut new_n) = (0u32, 0u32);
    let body_lines = 20 + rng.below(40);
    for _ in 0..body_lines {
        let mut text = String::new();
        let n = 2 + rng.below(12);
        rng.words(&mut text, n, WORDS);
        if rng.below(20) == 0 {
            rng.words(&mut text, 3, CJK);
        }
        match rng.below(4) {
            0 => {
                body.push('-');
                old_n += 1;
            }
            1 => {
                body.push('+');
                new_n += 1;
            }
            _ => {
                body.push(' ');
                old_n += 1;
                new_n += 1;
            }
        }
        body.push_str(&text);
        body.push('\n');
    }
    let _ = writeln!(
        out,
        "@@ -{old_line},{old_n} +{new_line},{new_n} @@ fn handler_{}()",
        rng.below(1000)
    );
    out.push_str(&body);
    *old_line += old_n;
    *new_line += new_n;
    1 + body_lines as usize
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_are_exact() {
        assert_eq!(super::agent_output(12_345).len(), 12_345);
        assert!(super::unified_diff(1000).lines().count() >= 1000);
        let one = super::unified_diff_one_file(1000);
        assert!(one.lines().count() >= 1000);
        assert_eq!(one.matches("diff --git").count(), 1);
    }
}
