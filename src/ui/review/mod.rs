//! The review view (`d` on a task): the files a task changed and the diff of
//! the selected one, hunk by hunk, with accept/reject toggles and apply.
//!
//! The diff can be huge (50,000 lines): rows are an index into the file's
//! hunks, and only the rows on screen are ever turned into text.

pub mod actions;
pub mod view;
mod words;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::git::{FileDiff, Selection, Strategy};
use crate::protocol::task::TaskId;

/// One line of the rendered diff of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// The `@@` line of hunk `h`.
    Hunk(usize),
    /// Line `l` of hunk `h`.
    Line(usize, usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Files,
    Diff,
}

/// The apply dialog on top of the review.
pub struct ApplyDialog {
    pub strategy: usize,
    pub message: TextArea<'static>,
}

pub const STRATEGIES: [&str; 3] = [
    "uncommitted changes",
    "merge the task branch",
    "squash into one commit",
];

pub struct Review {
    pub task: TaskId,
    /// `None` while the diff is being computed.
    pub files: Option<Vec<FileDiff>>,
    pub error: Option<String>,
    pub selection: Selection,
    pub file: usize,
    pub pane: Pane,
    /// Rows of the selected file, rebuilt when the file changes.
    pub rows: Vec<Row>,
    /// The row under the cursor, and the first row on screen.
    pub cursor: usize,
    pub top: usize,
    /// Rows of diff on screen (set by the view's layout).
    pub page: usize,
    pub apply: Option<ApplyDialog>,
    pub status: Option<String>,
    /// The first line of the task's prompt: the commit message offered.
    pub title: String,
}

/// What a key did in the review.
pub enum ReviewOutcome {
    Continue,
    Close,
    Refresh,
    Apply(Strategy),
    Discard,
}

impl Review {
    pub fn new(task: TaskId, page: usize, title: String) -> Self {
        Review {
            title,
            task,
            files: None,
            error: None,
            selection: Selection::default(),
            file: 0,
            pane: Pane::Files,
            rows: Vec::new(),
            cursor: 0,
            top: 0,
            page: page.max(1),
            apply: None,
            status: None,
        }
    }

    /// Takes a (re)computed diff, keeping the selected file and choices.
    pub fn set_files(&mut self, files: Vec<FileDiff>) {
        let selected = self.current().map(|f| f.path.clone());
        self.file = selected
            .and_then(|p| files.iter().position(|f| f.path == p))
            .unwrap_or(0);
        self.files = Some(files);
        self.error = None;
        self.rebuild_rows();
    }

    pub fn current(&self) -> Option<&FileDiff> {
        self.files.as_ref()?.get(self.file)
    }

    fn file_count(&self) -> usize {
        self.files.as_ref().map_or(0, Vec::len)
    }

    fn rebuild_rows(&mut self) {
        self.rows = self.current().map(rows_of).unwrap_or_default();
        self.cursor = self.cursor.min(self.rows.len().saturating_sub(1));
        self.top = self.top.min(self.cursor);
    }

    fn select_file(&mut self, index: usize) {
        if index != self.file && index < self.file_count() {
            self.file = index;
            self.cursor = 0;
            self.top = 0;
            self.rebuild_rows();
        }
    }

    /// The hunk the cursor is in.
    pub fn cursor_hunk(&self) -> Option<usize> {
        match self.rows.get(self.cursor)? {
            Row::Hunk(h) | Row::Line(h, _) => Some(*h),
        }
    }

    fn move_cursor(&mut self, delta: isize) {
        let last = self.rows.len().saturating_sub(1) as isize;
        self.cursor = (self.cursor as isize + delta).clamp(0, last.max(0)) as usize;
        self.keep_cursor_visible();
    }

    fn keep_cursor_visible(&mut self) {
        if self.cursor < self.top {
            self.top = self.cursor;
        } else if self.cursor >= self.top + self.page {
            self.top = self.cursor + 1 - self.page;
        }
    }

    /// Moves to the next (or previous) hunk header.
    fn jump_hunk(&mut self, forward: bool) {
        let headers = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Row::Hunk(_)));
        let target = if forward {
            headers.map(|(i, _)| i).find(|i| *i > self.cursor)
        } else {
            headers.map(|(i, _)| i).rfind(|i| *i < self.cursor)
        };
        if let Some(i) = target {
            self.cursor = i;
            self.top = i; // a hunk starts at the top of the view
        } else if forward && self.file + 1 < self.file_count() {
            self.select_file(self.file + 1);
        }
    }

    fn toggle(&mut self) {
        let Some(file) = self.current() else { return };
        let path = file.path.clone();
        let hunk_wise = file.hunks_selectable();
        match (self.pane, self.cursor_hunk()) {
            (Pane::Diff, Some(h)) if hunk_wise => {
                if !self.selection.is_accepted(&path) {
                    // Turning a hunk on in a rejected file: the file comes
                    // back with just that hunk.
                    self.selection.toggle_file(&path);
                    for other in 0..self.rows_hunks() {
                        if other != h {
                            self.selection.toggle_hunk(&path, other);
                        }
                    }
                } else {
                    self.selection.toggle_hunk(&path, h);
                }
            }
            _ => self.selection.toggle_file(&path),
        }
    }

    fn rows_hunks(&self) -> usize {
        self.current().map_or(0, |f| f.hunks.len())
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> ReviewOutcome {
        if self.apply.is_some() {
            return handle_apply_key(key, &mut self.apply);
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Esc | KeyCode::Char('q') => return ReviewOutcome::Close,
            KeyCode::Tab | KeyCode::BackTab => {
                self.pane = match self.pane {
                    Pane::Files => Pane::Diff,
                    Pane::Diff => Pane::Files,
                }
            }
            KeyCode::Left | KeyCode::Char('h') => self.pane = Pane::Files,
            KeyCode::Right | KeyCode::Char('l') | KeyCode::Enter => self.pane = Pane::Diff,
            KeyCode::Down | KeyCode::Char('j') => match self.pane {
                Pane::Files => self.select_file(self.file + 1),
                Pane::Diff => self.move_cursor(1),
            },
            KeyCode::Up | KeyCode::Char('k') => match self.pane {
                Pane::Files => self.select_file(self.file.saturating_sub(1)),
                Pane::Diff => self.move_cursor(-1),
            },
            KeyCode::PageDown | KeyCode::Char('f') if key.code == KeyCode::PageDown || ctrl => {
                self.move_cursor(self.page as isize)
            }
            KeyCode::PageUp | KeyCode::Char('b') if key.code == KeyCode::PageUp || ctrl => {
                self.move_cursor(-(self.page as isize))
            }
            KeyCode::Char(' ') => self.move_cursor(self.page as isize),
            KeyCode::Home | KeyCode::Char('g') => self.move_cursor(isize::MIN / 2),
            KeyCode::End | KeyCode::Char('G') => self.move_cursor(isize::MAX / 2),
            KeyCode::Char('n') => self.jump_hunk(true),
            KeyCode::Char('p') | KeyCode::Char('N') => self.jump_hunk(false),
            KeyCode::Char('s') | KeyCode::Char('x') => self.toggle(),
            KeyCode::Char('A') => self.selection.accept_all(),
            KeyCode::Char('r') => return ReviewOutcome::Refresh,
            KeyCode::Char('D') => return ReviewOutcome::Discard,
            KeyCode::Char('a') if self.file_count() > 0 => {
                // The task's prompt, first line, as the commit's title.
                let mut message = TextArea::from([self.title.clone()]);
                message.move_cursor(ratatui_textarea::CursorMove::End);
                message.set_placeholder_text("Commit message");
                self.apply = Some(ApplyDialog {
                    strategy: 0,
                    message,
                });
            }
            _ => {}
        }
        ReviewOutcome::Continue
    }
}

fn handle_apply_key(key: KeyEvent, slot: &mut Option<ApplyDialog>) -> ReviewOutcome {
    let Some(dialog) = slot.as_mut() else {
        return ReviewOutcome::Continue;
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    // Merge and squash make a commit: keys edit its message.
    let editing = dialog.strategy > 0;
    match key.code {
        KeyCode::Esc => *slot = None,
        KeyCode::Up if !editing || ctrl => dialog.strategy = dialog.strategy.saturating_sub(1),
        KeyCode::Down if !editing || ctrl => dialog.strategy = (dialog.strategy + 1).min(2),
        KeyCode::Char('u') if !editing => dialog.strategy = 0,
        KeyCode::Char('m') if !editing => dialog.strategy = 1,
        KeyCode::Char('s') if !editing => dialog.strategy = 2,
        KeyCode::Enter if !editing => return finish_apply(slot),
        KeyCode::Char('s') if ctrl => return finish_apply(slot),
        _ if editing => {
            dialog.message.input(key);
        }
        _ => {}
    }
    ReviewOutcome::Continue
}

fn finish_apply(slot: &mut Option<ApplyDialog>) -> ReviewOutcome {
    let Some(dialog) = slot.take() else {
        return ReviewOutcome::Continue;
    };
    let strategy = match dialog.strategy {
        0 => Strategy::Uncommitted,
        1 => {
            let message = dialog.message.lines().join("\n");
            let message = Some(message).filter(|m| !m.trim().is_empty());
            Strategy::Merge { message }
        }
        _ => {
            let message = dialog.message.lines().join("\n");
            if message.trim().is_empty() {
                // Keep the dialog open: a squash needs a message.
                *slot = Some(dialog);
                return ReviewOutcome::Continue;
            }
            Strategy::Squash { message }
        }
    };
    ReviewOutcome::Apply(strategy)
}

/// Every row of a file's diff, in order.
fn rows_of(file: &FileDiff) -> Vec<Row> {
    let mut rows = Vec::with_capacity(file.hunks.iter().map(|h| h.lines.len() + 1).sum());
    for (h, hunk) in file.hunks.iter().enumerate() {
        rows.push(Row::Hunk(h));
        rows.extend((0..hunk.lines.len()).map(|l| Row::Line(h, l)));
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::parse_unified_diff;

    const DIFF: &str = "diff --git a/a.txt b/a.txt\nindex 1111111..2222222 100644\n--- a/a.txt\n+++ b/a.txt\n\
@@ -1,2 +1,2 @@\n-one\n+uno\n two\n@@ -10,2 +10,2 @@\n ten\n-eleven\n+once\n\
diff --git a/b.txt b/b.txt\nnew file mode 100644\nindex 0000000..3333333\n--- /dev/null\n+++ b/b.txt\n@@ -0,0 +1 @@\n+bee\n";

    fn review() -> Review {
        let mut r = Review::new(1, 4, String::new());
        r.set_files(parse_unified_diff(DIFF));
        r
    }

    fn press(r: &mut Review, code: KeyCode) -> ReviewOutcome {
        r.handle_key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn rows_and_hunk_navigation() {
        let mut r = review();
        assert_eq!(r.rows.len(), 8);
        r.pane = Pane::Diff;
        press(&mut r, KeyCode::Char('n'));
        assert_eq!((r.cursor, r.cursor_hunk()), (4, Some(1)));
        press(&mut r, KeyCode::Char('n')); // past the last hunk: next file
        assert_eq!(r.current().unwrap().path, "b.txt");
        press(&mut r, KeyCode::Char('G'));
        assert_eq!(r.cursor, 1);
    }

    #[test]
    fn toggles_hunks_and_files() {
        let mut r = review();
        r.pane = Pane::Diff;
        press(&mut r, KeyCode::Char('n'));
        press(&mut r, KeyCode::Char('s'));
        assert!(!r.selection.is_hunk_accepted("a.txt", 1));
        assert!(r.selection.is_hunk_accepted("a.txt", 0));
        r.pane = Pane::Files;
        press(&mut r, KeyCode::Down);
        press(&mut r, KeyCode::Char('s'));
        assert!(!r.selection.is_accepted("b.txt"));
        press(&mut r, KeyCode::Char('A'));
        assert_eq!(r.selection, Selection::default());
    }

    #[test]
    fn squash_needs_a_message() {
        let mut r = review();
        press(&mut r, KeyCode::Char('a'));
        press(&mut r, KeyCode::Char('s'));
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        assert!(matches!(r.handle_key(ctrl_s), ReviewOutcome::Continue));
        assert!(r.apply.is_some());
        for c in "Fix login".chars() {
            press(&mut r, KeyCode::Char(c));
        }
        match r.handle_key(ctrl_s) {
            ReviewOutcome::Apply(Strategy::Squash { message }) => assert_eq!(message, "Fix login"),
            _ => panic!("no apply"),
        }
    }

    #[test]
    fn a_merge_offers_the_prompts_first_line_and_it_can_be_edited() {
        let mut r = Review::new(1, 4, "Fix the login form".into());
        r.set_files(parse_unified_diff(DIFF));
        press(&mut r, KeyCode::Char('a'));
        press(&mut r, KeyCode::Char('m'));
        let ctrl_s = KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL);
        for c in " (again)".chars() {
            press(&mut r, KeyCode::Char(c));
        }
        match r.handle_key(ctrl_s) {
            ReviewOutcome::Apply(Strategy::Merge { message }) => {
                assert_eq!(message.as_deref(), Some("Fix the login form (again)"))
            }
            _ => panic!("no merge"),
        }
    }

    #[test]
    fn refreshed_diff_keeps_the_selected_file() {
        let mut r = review();
        press(&mut r, KeyCode::Down);
        r.set_files(parse_unified_diff(DIFF));
        assert_eq!(r.current().unwrap().path, "b.txt");
    }
}
