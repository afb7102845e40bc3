//! Drawing the review: file list, the diff of one file (only the rows on
//! screen), and the apply dialog.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph};

use super::words::changed_ranges;
use super::{Pane, Review, Row, STRATEGIES};
use crate::git::{Acceptance, FileDiff, Hunk, LineKind};
use crate::ui::layout;
use crate::ui::view::theme;

const ADDED: Color = Color::Green;
const REMOVED: Color = Color::Red;
const ADDED_WORD: Color = Color::Rgb(0, 95, 0);
const REMOVED_WORD: Color = Color::Rgb(110, 0, 0);

/// The diff area's height for a screen of `area` (the view's layout, shared
/// with paging).
pub fn diff_rows(area: Rect) -> usize {
    area.height.saturating_sub(4) as usize
}

pub fn draw(frame: &mut Frame, area: Rect, review: &Review, title: &str) {
    frame.render_widget(Clear, area);
    let [main, hints] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let files_width = (main.width / 3).clamp(24, 50);
    let [files_area, diff_area] =
        Layout::horizontal([Constraint::Length(files_width), Constraint::Min(1)]).areas(main);
    let Some(files) = &review.files else {
        let text = review
            .error
            .clone()
            .unwrap_or_else(|| "computing the diff…".into());
        let style = if review.error.is_some() {
            theme::error()
        } else {
            theme::dim()
        };
        let block = Block::bordered()
            .border_style(theme::border(true))
            .title(format!(" {title} "));
        frame.render_widget(Paragraph::new(Line::styled(text, style)).block(block), main);
        return;
    };
    draw_files(frame, files_area, review, files, title);
    draw_diff(frame, diff_area, review);
    frame.render_widget(hint_line(), hints);
    if let Some(status) = &review.status {
        let width = (status.chars().count() as u16 + 2).min(hints.width);
        let r = Rect::new(hints.right() - width, hints.y, width, 1);
        frame.render_widget(
            Paragraph::new(Line::styled(format!(" {status} "), theme::key())),
            r,
        );
    }
    if review.apply.is_some() {
        draw_apply(frame, area, review);
    }
}

fn hint_line() -> Line<'static> {
    let pairs = [
        ("↑↓", "move"),
        ("Tab", "files/diff"),
        ("n/p", "hunk"),
        ("s", "accept/reject"),
        ("A", "accept all"),
        ("a", "apply"),
        ("D", "discard"),
        ("r", "refresh"),
        ("Esc", "close"),
    ];
    let mut spans = Vec::new();
    for (key, what) in pairs {
        spans.push(Span::styled(format!(" {key} "), theme::key()));
        spans.push(Span::styled(format!(" {what}  "), theme::dim()));
    }
    Line::from(spans)
}

fn mark(acceptance: &Acceptance) -> (&'static str, Style) {
    match acceptance {
        Acceptance::Whole => ("[✓]", theme::ok()),
        Acceptance::Partial(_) => ("[~]", Style::default().fg(Color::Yellow)),
        Acceptance::Rejected => ("[ ]", theme::dim()),
    }
}

fn draw_files(frame: &mut Frame, area: Rect, review: &Review, files: &[FileDiff], title: &str) {
    let focused = review.pane == Pane::Files;
    let stat = crate::git::stat(files);
    let items: Vec<ListItem> = files
        .iter()
        .map(|f| {
            let (sign, style) = mark(&review.selection.acceptance(f));
            let status = match f.status.letter() {
                'A' => Style::default().fg(ADDED),
                'D' => Style::default().fg(REMOVED),
                'R' | 'C' => Style::default().fg(Color::Magenta),
                _ => Style::default().fg(Color::Yellow),
            };
            let counts = if f.binary {
                Span::styled(" bin ", theme::dim())
            } else {
                Span::raw(format!(" +{} −{} ", f.added, f.removed))
            };
            ListItem::new(Line::from(vec![
                Span::styled(format!("{sign} "), style),
                Span::styled(f.status.letter().to_string(), status),
                counts,
                Span::raw(clean(&f.path)),
            ]))
        })
        .collect();
    let block = Block::bordered()
        .border_style(theme::border(focused))
        .title(Span::styled(format!(" {title} "), theme::title(focused)))
        .title_bottom(Line::styled(
            format!(" {} files  +{} −{} ", stat.files, stat.added, stat.removed),
            theme::dim(),
        ));
    let inner = layout::inner(area);
    let offset = layout::list_offset(review.file, items.len(), inner.height);
    let mut state = ListState::default()
        .with_offset(offset)
        .with_selected((!items.is_empty()).then_some(review.file));
    if items.is_empty() {
        let empty = Paragraph::new(Line::styled("no changes yet", theme::dim())).block(block);
        return frame.render_widget(empty, area);
    }
    let list = List::new(items)
        .block(block)
        .highlight_style(theme::selected(focused));
    frame.render_stateful_widget(list, area, &mut state);
}

fn draw_diff(frame: &mut Frame, area: Rect, review: &Review) {
    let focused = review.pane == Pane::Diff;
    let Some(file) = review.current() else {
        frame.render_widget(Block::bordered().border_style(theme::border(focused)), area);
        return;
    };
    let mut title = vec![Span::styled(
        format!(" {} ", clean(&file.path)),
        theme::title(focused),
    )];
    if let Some(old) = &file.old_path {
        title.push(Span::styled(
            format!("(from {}) ", clean(old)),
            theme::dim(),
        ));
    }
    let block = Block::bordered()
        .border_style(theme::border(focused))
        .title(Line::from(title));
    let inner = layout::inner(area);
    frame.render_widget(block, area);
    if file.binary || file.hunks.is_empty() {
        let what = if file.binary {
            "binary file: accepted or rejected as a whole (s)"
        } else {
            "no textual change (mode or rename only)"
        };
        frame.render_widget(Paragraph::new(Line::styled(what, theme::dim())), inner);
        return;
    }
    let lines: Vec<Line> = review
        .rows
        .iter()
        .enumerate()
        .skip(review.top)
        .take(inner.height as usize)
        .map(|(i, row)| {
            let line = render_row(file, *row, review);
            if i == review.cursor && focused {
                line.patch_style(Style::default().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn render_row<'a>(file: &'a FileDiff, row: Row, review: &Review) -> Line<'a> {
    let hunk_wise = file.hunks_selectable();
    match row {
        Row::Hunk(h) => {
            let hunk = &file.hunks[h];
            let accepted = review.selection.is_hunk_accepted(&file.path, h);
            let (sign, style) = if !hunk_wise {
                ("", Style::default())
            } else if accepted {
                ("[✓] ", theme::ok())
            } else {
                ("[ ] ", theme::dim())
            };
            Line::from(vec![
                Span::styled(sign, style),
                Span::styled(
                    format!(
                        "@@ -{},{} +{},{} @@ {}",
                        hunk.old_start,
                        hunk.old_lines,
                        hunk.new_start,
                        hunk.new_lines,
                        clean(&hunk.header)
                    ),
                    Style::default().fg(Color::Cyan),
                ),
            ])
        }
        Row::Line(h, l) => {
            let hunk = &file.hunks[h];
            let line = &hunk.lines[l];
            let number = |n: Option<u32>| n.map_or("     ".to_string(), |n| format!("{n:>5}"));
            let gutter = Span::styled(
                format!("{} {} │", number(line.old_no), number(line.new_no)),
                theme::dim(),
            );
            let (sign, color, word_bg) = match line.kind {
                LineKind::Added => ("+", Some(ADDED), ADDED_WORD),
                LineKind::Removed => ("-", Some(REMOVED), REMOVED_WORD),
                LineKind::Context => (" ", None, Color::Reset),
            };
            let base = color.map_or(Style::default(), |c| Style::default().fg(c));
            let mut spans = vec![gutter, Span::styled(sign, base)];
            let text = clean(&line.text);
            match pair_of(hunk, l).and_then(|p| {
                let (old, new) = match line.kind {
                    LineKind::Removed => (&line.text, &hunk.lines[p].text),
                    _ => (&hunk.lines[p].text, &line.text),
                };
                changed_ranges(&clean(old), &clean(new))
                    .map(|(o, n)| if line.kind == LineKind::Removed { o } else { n })
            }) {
                Some(ranges) => {
                    let mut at = 0;
                    for (start, end) in ranges {
                        spans.push(Span::styled(text[at..start].to_string(), base));
                        spans.push(Span::styled(text[start..end].to_string(), base.bg(word_bg)));
                        at = end;
                    }
                    spans.push(Span::styled(text[at..].to_string(), base));
                }
                None => spans.push(Span::styled(text, base)),
            }
            let mut rendered = Line::from(spans);
            if hunk_wise && !review.selection.is_hunk_accepted(&file.path, h)
                || !review.selection.is_accepted(&file.path)
            {
                rendered = rendered.patch_style(Style::default().add_modifier(Modifier::DIM));
            }
            rendered
        }
    }
}

/// The line a removed line was replaced by (or an added line replaced):
/// the same position in the adjacent block of removed/added lines.
fn pair_of(hunk: &Hunk, l: usize) -> Option<usize> {
    let kind = |i: usize| hunk.lines.get(i).map(|x| x.kind);
    let run = |i: usize, k: LineKind| {
        let mut start = i;
        while start > 0 && kind(start - 1) == Some(k) {
            start -= 1;
        }
        let mut end = i;
        while kind(end + 1) == Some(k) {
            end += 1;
        }
        (start, end)
    };
    match kind(l)? {
        LineKind::Removed => {
            let (start, end) = run(l, LineKind::Removed);
            let partner = end + 1 + (l - start);
            let (a_start, a_end) =
                (kind(end + 1) == Some(LineKind::Added)).then(|| run(end + 1, LineKind::Added))?;
            (partner >= a_start && partner <= a_end).then_some(partner)
        }
        LineKind::Added => {
            let (start, _) = run(l, LineKind::Added);
            let r_end = start
                .checked_sub(1)
                .filter(|i| kind(*i) == Some(LineKind::Removed))?;
            let (r_start, _) = run(r_end, LineKind::Removed);
            let partner = r_start + (l - start);
            (partner <= r_end).then_some(partner)
        }
        LineKind::Context => None,
    }
}

/// Diff text as it can be drawn: tabs expanded, control characters shown.
fn clean(text: &str) -> String {
    if !text.chars().any(|c| c.is_control()) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match c {
            '\t' => "    ".to_string(),
            c if c.is_control() => "·".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn draw_apply(frame: &mut Frame, area: Rect, review: &Review) {
    let Some(dialog) = &review.apply else { return };
    let squash = dialog.strategy > 0;
    let height = if squash { 14 } else { 9 };
    let outer = layout::centered(area, 72, height);
    frame.render_widget(Clear, outer);
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Span::styled(" Apply accepted changes ", theme::title(true)));
    frame.render_widget(block, outer);
    let inner = layout::inner(outer).inner(ratatui::layout::Margin::new(1, 0));
    let mut lines = vec![Line::styled(
        "to the project's main tree, as:",
        theme::dim(),
    )];
    for (i, name) in STRATEGIES.iter().enumerate() {
        let key = ["u", "m", "s"][i];
        let style = if i == dialog.strategy {
            theme::selected(true)
        } else {
            Style::default()
        };
        lines.push(Line::from(vec![
            Span::styled(format!(" {key} "), theme::key()),
            Span::styled(format!(" {name} "), style),
        ]));
    }
    let hint = if squash {
        "Ctrl-S apply · Ctrl-↑/↓ strategy · Esc cancel"
    } else {
        "Enter apply · ↑/↓ strategy · Esc cancel"
    };
    lines.push(Line::raw(""));
    let [choices, message, help] = Layout::vertical([
        Constraint::Length(lines.len() as u16),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines), choices);
    if squash {
        let frame_area = message;
        frame.render_widget(
            Block::bordered()
                .border_style(theme::border(true))
                .title(" message "),
            frame_area,
        );
        frame.render_widget(&dialog.message, layout::inner(frame_area));
    }
    frame.render_widget(Line::styled(hint, theme::dim()), help);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::parse_unified_diff;

    #[test]
    fn pairs_removed_and_added_lines() {
        let diff =
            "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,4 +1,4 @@\n ctx\n-a\n-b\n+A\n+B\n+C\n";
        let files = parse_unified_diff(diff);
        let hunk = &files[0].hunks[0];
        assert_eq!(pair_of(hunk, 0), None);
        assert_eq!(pair_of(hunk, 1), Some(3));
        assert_eq!(pair_of(hunk, 2), Some(4));
        assert_eq!(pair_of(hunk, 3), Some(1));
        assert_eq!(pair_of(hunk, 5), None);
    }

    #[test]
    fn control_characters_are_made_drawable() {
        assert_eq!(clean("a\tb\x1b[31m"), "a    b·[31m");
    }
}
