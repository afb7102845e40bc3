//! The fake agent's generated output, shared with the benchmarks
//! (`benches/common/workload.rs` includes this file with `#[path]`), so
//! in-process and end-to-end figures are about the same byte stream.

use std::fmt::Write as _;

/// The seed of `flood=N` output.
pub const FLOOD_SEED: u64 = 0x5eed_f100_d000_0001;

/// Tiny xorshift64 PRNG: deterministic output without a `rand` dependency.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn byte_in(&mut self, lo: u8, hi: u8) -> u8 {
        lo + self.below(u64::from(hi - lo) + 1) as u8
    }

    pub fn pick<'a>(&mut self, pool: &[&'a str]) -> &'a str {
        pool[self.below(pool.len() as u64) as usize]
    }

    /// Appends `count` words drawn from `pool`, each preceded by a space.
    pub fn words(&mut self, line: &mut String, count: u64, pool: &[&str]) {
        for _ in 0..count {
            line.push(' ');
            line.push_str(self.pick(pool));
        }
    }
}

#[rustfmt::skip]
pub const WORDS: &[&str] = &[
    "reading", "src/main.rs", "fn", "tokio::spawn", "refactor", "the", "cache", "Result<()>",
    "async", "pty", "diff", "tests", "passed", "compiling", "warning:", "unused", "import",
    "borrow", "checker", "applying", "patch", "to", "Cargo.toml", "let", "mut", "buffer", "=",
];
#[rustfmt::skip]
pub const CJK: &[&str] = &["漢字", "かな", "カナ", "日本語", "中文字符", "한국어", "変更を適用"];
const TAGS: &[&str] = &["[info]", "[tool]", "[edit]", "[run]"];

/// Appends one line; every kind ends with attributes reset and a newline.
pub fn flood_line(rng: &mut XorShift, line: &mut String) {
    match rng.below(6) {
        0 | 1 => {
            let colour = 17 + rng.below(200);
            let _ = write!(line, "\x1b[38;5;{colour}m{}\x1b[0m", rng.pick(TAGS));
            let n = 5 + rng.below(10);
            rng.words(line, n, WORDS);
        }
        2 => {
            for pct in (0..=100).step_by(25) {
                let _ = write!(line, "\r\x1b[36m⠋\x1b[0m working… {pct:>3}%");
            }
        }
        3 => {
            let target = 300 + rng.below(200) as usize;
            while line.len() < target {
                rng.words(line, 1, WORDS);
            }
        }
        4 => {
            line.push_str("\x1b[35m");
            let n = 8 + rng.below(8);
            rng.words(line, n, CJK);
            line.push_str("\x1b[0m");
        }
        _ => {
            line.push_str("\x1b[48;2;20;60;20m\x1b[38;2;180;255;180m+");
            let n = 4 + rng.below(8);
            rng.words(line, n, WORDS);
            line.push_str("\x1b[0m");
        }
    }
    line.push('\n');
}
