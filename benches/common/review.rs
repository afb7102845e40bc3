//! Opening a diff in the review view and jumping to the end of its biggest
//! file, step by step as the dashboard does it: parse, `Review::new` +
//! `set_files`, draw a frame, keys (`j` to the biggest file, Tab to the diff,
//! End), draw again. Shared by the criterion bench (`benches/diff.rs`) and
//! the end-to-end harness (`bench/review.rs`).

#![allow(dead_code)]

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use flightdeck::git::{FileDiff, parse_unified_diff};
use flightdeck::ui::review::view::{diff_rows, draw};
use flightdeck::ui::review::{Pane, Review};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::layout::Rect;

pub const COLS: u16 = 120;
pub const ROWS: u16 = 40;
const TITLE: &str = "Review #1 · fake · demo";

/// How long each step took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Steps {
    pub parse: Duration,
    /// `Review::new` + `set_files`.
    pub open: Duration,
    pub first_frame: Duration,
    /// The keys: `j` to the biggest file, Tab, End.
    pub jump: Duration,
    pub second_frame: Duration,
}

impl Steps {
    pub fn total(&self) -> Duration {
        self.parse + self.open + self.first_frame + self.jump + self.second_frame
    }
}

/// A terminal of the dashboard's size that draws into memory.
pub fn terminal() -> Terminal<TestBackend> {
    Terminal::new(TestBackend::new(COLS, ROWS)).expect("a TestBackend terminal")
}

/// Runs every step on `diff`; the review as it ends, and the step times.
pub fn open_and_jump(terminal: &mut Terminal<TestBackend>, diff: &str) -> (Review, Steps) {
    let mut steps = Steps::default();
    let t = Instant::now();
    let files = parse_unified_diff(diff);
    steps.parse = t.elapsed();
    let biggest = biggest(&files);

    let t = Instant::now();
    // Paged as the dashboard pages it: by its whole screen's area.
    let mut review = Review::new(1, diff_rows(Rect::new(0, 0, COLS, ROWS)), String::new());
    review.set_files(files);
    steps.open = t.elapsed();

    let t = Instant::now();
    draw_review(terminal, &review);
    steps.first_frame = t.elapsed();

    let t = Instant::now();
    // The file list has the focus when the review opens.
    for _ in 0..biggest {
        review.handle_key(key(KeyCode::Char('j')));
    }
    review.handle_key(key(KeyCode::Tab));
    review.handle_key(key(KeyCode::End));
    steps.jump = t.elapsed();

    let t = Instant::now();
    draw_review(terminal, &review);
    steps.second_frame = t.elapsed();
    (review, steps)
}

fn draw_review(terminal: &mut Terminal<TestBackend>, review: &Review) {
    terminal
        .draw(|frame| draw(frame, frame.area(), review, TITLE))
        .expect("drawing into a TestBackend");
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// The index of the file with the most diff lines.
pub fn biggest(files: &[FileDiff]) -> usize {
    let lines = |f: &FileDiff| f.hunks.iter().map(|h| h.lines.len() + 1).sum::<usize>();
    (0..files.len())
        .max_by_key(|i| lines(&files[*i]))
        .unwrap_or(0)
}

/// Checks that the review ended where it should: the biggest file selected,
/// the diff focused, the cursor on its last row, and that row's text on the
/// last frame.
pub fn check_at_end(terminal: &Terminal<TestBackend>, review: &Review) -> Result<(), String> {
    let files = review.files.as_ref().ok_or("the review has no files")?;
    if review.file != biggest(files) || review.pane != Pane::Diff {
        return Err(format!(
            "the review is on file {} ({:?}), not the biggest file's diff",
            review.file, review.pane
        ));
    }
    if review.cursor + 1 != review.rows.len() {
        return Err(format!(
            "the cursor is on row {} of {}",
            review.cursor,
            review.rows.len()
        ));
    }
    let last = files[review.file]
        .hunks
        .last()
        .and_then(|h| h.lines.last())
        .ok_or("the biggest file has no lines")?;
    // Compare an ASCII prefix: wide characters take two cells on screen.
    let wanted: String = last
        .text
        .chars()
        .take_while(char::is_ascii)
        .take(20)
        .collect();
    let wanted = wanted.trim();
    let buffer = terminal.backend().buffer();
    let screen: Vec<String> = (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect()
        })
        .collect();
    if !screen.iter().any(|line| line.contains(wanted)) {
        return Err(format!(
            "the last line ({wanted:?}) is not on the screen:\n{}",
            screen.join("\n")
        ));
    }
    Ok(())
}
