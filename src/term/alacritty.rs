//! [`Emulator`] on top of alacritty_terminal: fast, and correct for
//! full-screen programs (alternate screen, scroll regions, wide characters).

use std::cell::RefCell;
use std::sync::{Arc, Mutex};

use alacritty_terminal::event::{Event, EventListener, WindowSize};
use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::cell::Flags;
use alacritty_terminal::term::{Config, Term, TermDamage, TermMode};
use alacritty_terminal::vte::ansi::{Color as AnsiColor, NamedColor, Processor, Rgb};
use ratatui::style::{Color, Modifier};

use super::frame::{CellStyle, FrameBuilder, FrameRow};
use super::signals::{OscScanner, TermSignal};
use super::{Emulator, InputModes, ScreenFrame};
use crate::text::one_line;

/// The longest window title kept, in characters.
const MAX_TITLE: usize = 256;
use crate::host::PtySize;

/// What the terminal asks of its host while parsing, collected for later.
#[derive(Default)]
struct Pending {
    replies: Vec<u8>,
    title: Option<String>,
    title_changed: bool,
    bell: bool,
}

#[derive(Clone)]
struct Listener {
    pending: Arc<Mutex<Pending>>,
    size: Arc<Mutex<PtySize>>,
}

/// Colours reported when a program asks (OSC 10/11/4); a dark theme.
const DEFAULT_FG: Rgb = Rgb {
    r: 0xe5,
    g: 0xe5,
    b: 0xe5,
};
const DEFAULT_BG: Rgb = Rgb { r: 0, g: 0, b: 0 };

impl EventListener for Listener {
    fn send_event(&self, event: Event) {
        let mut pending = self.pending.lock().unwrap();
        match event {
            Event::PtyWrite(text) => pending.replies.extend_from_slice(text.as_bytes()),
            Event::TextAreaSizeRequest(format) => {
                let size = *self.size.lock().unwrap();
                let reply = format(WindowSize {
                    num_lines: size.rows,
                    num_cols: size.cols,
                    cell_width: 8,
                    cell_height: 16,
                });
                pending.replies.extend_from_slice(reply.as_bytes());
            }
            Event::ColorRequest(index, format) => {
                let rgb = match index {
                    256 => DEFAULT_FG, // foreground
                    _ => DEFAULT_BG,
                };
                pending.replies.extend_from_slice(format(rgb).as_bytes());
            }
            Event::Title(title) => {
                // A program's title goes into pane borders and the user's
                // own terminal: one line, no escapes, not 100 KB.
                pending.title = Some(one_line(&title, MAX_TITLE));
                pending.title_changed = true;
            }
            Event::Bell => pending.bell = true,
            Event::ResetTitle => {
                pending.title = None;
                pending.title_changed = true;
            }
            _ => {}
        }
    }
}

struct Size(PtySize);

impl Dimensions for Size {
    fn total_lines(&self) -> usize {
        self.0.rows as usize
    }
    fn screen_lines(&self) -> usize {
        self.0.rows as usize
    }
    fn columns(&self) -> usize {
        self.0.cols as usize
    }
}

pub struct AlacrittyEmulator {
    term: Term<Listener>,
    parser: Processor,
    listener: Listener,
    title: Option<String>,
    /// Notifications in the output (alacritty reports only the bell).
    osc: OscScanner,
    signals: Vec<TermSignal>,
    bells: u32,
    /// The configured history, in lines.
    scrollback: usize,
    /// The spare rows alacritty allocates ahead have been freed since the
    /// history last filled up.
    trimmed: bool,
    /// The live screen's rows as last built (a frame per keystroke when
    /// attached: only the rows that changed are built again).
    live: RefCell<LiveRows>,
}

/// Built rows of the live screen, with the style table their indices point
/// into (kept across frames, so a row stays valid until its line changes).
#[derive(Default)]
struct LiveRows {
    styles: FrameBuilder,
    /// `None`: the line changed since (alacritty's damage tracking).
    rows: Vec<Option<FrameRow>>,
}

impl LiveRows {
    /// Past this many styles the table starts over (and every row with it).
    const MAX_STYLES: usize = 512;

    fn invalidate_all(&mut self) {
        self.rows.iter_mut().for_each(|row| *row = None);
    }

    fn invalidate(&mut self, line: usize) {
        if let Some(row) = self.rows.get_mut(line) {
            *row = None;
        }
    }
}

impl AlacrittyEmulator {
    pub fn new(size: PtySize, scrollback: usize) -> Self {
        let size = size.clamped();
        let listener = Listener {
            pending: Arc::default(),
            size: Arc::new(Mutex::new(size)),
        };
        let config = Config {
            scrolling_history: scrollback,
            ..Config::default()
        };
        AlacrittyEmulator {
            term: Term::new(config, &Size(size), listener.clone()),
            parser: Processor::new(),
            listener,
            title: None,
            osc: OscScanner::default(),
            signals: Vec::new(),
            bells: 0,
            scrollback,
            trimmed: false,
            live: RefCell::default(),
        }
    }

    /// Marks the rows alacritty changed since the last call as stale.
    fn collect_damage(&mut self) {
        let live = self.live.get_mut();
        match self.term.damage() {
            TermDamage::Full => live.invalidate_all(),
            TermDamage::Partial(lines) => lines.for_each(|line| live.invalidate(line.line)),
        }
        self.term.reset_damage();
    }

    /// Row `line` (negative: history) as styled cells, its styles interned in `styles`.
    fn build_row(&self, line: Line, styles: &mut FrameBuilder) -> FrameRow {
        let grid = self.term.grid();
        let cols = grid.columns();
        let line = &grid[line];
        let mut row = FrameRow::default();
        let mut symbol = String::with_capacity(8);
        for x in 0..cols {
            let cell = &line[Column(x)];
            let style = styles.style(CellStyle {
                fg: color(cell.fg),
                bg: color(cell.bg),
                modifier: modifiers(cell.flags),
                underline: cell.underline_color().map_or(Color::Reset, color),
            });
            if cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
                row.push_spacer(style);
                continue;
            }
            let wide_at_edge = cell.flags.contains(Flags::WIDE_CHAR) && x + 1 >= cols;
            symbol.clear();
            if wide_at_edge || cell.flags.contains(Flags::LEADING_WIDE_CHAR_SPACER) {
                symbol.push(' ');
            } else {
                symbol.push(printable(cell.c));
                if let Some(marks) = cell.zerowidth() {
                    symbol.extend(marks.iter().copied().filter(|c| !c.is_control()));
                }
            }
            row.push(&symbol, style);
        }
        row
    }

    /// The live screen's rows, rebuilding only the stale ones.
    fn live_rows(&self) -> (Vec<CellStyle>, Vec<FrameRow>) {
        let mut live = self.live.borrow_mut();
        let rows = self.term.grid().screen_lines();
        if live.rows.len() != rows || live.styles.styles().len() > LiveRows::MAX_STYLES {
            *live = LiveRows {
                styles: FrameBuilder::default(),
                rows: vec![None; rows],
            };
        }
        let LiveRows { styles, rows } = &mut *live;
        for (y, row) in rows.iter_mut().enumerate() {
            if row.is_none() {
                *row = Some(self.build_row(Line(y as i32), styles));
            }
        }
        let lines = rows.iter().map(|row| row.clone().unwrap_or_default());
        (styles.styles().to_vec(), lines.collect())
    }

    /// Alacritty grows its history 1,000 rows at a time (its storage keeps
    /// that many spare rows ahead), so a 200-line history still holds ~1,040
    /// rows: about 3 MiB at 120 columns. Once the history is full nothing
    /// grows any more, and the spare rows can go for good (their pages go
    /// back to the system at the supervisor's next tick, `crate::memory`).
    fn trim_spare_rows(&mut self) {
        let full = self.scrollback > 0 && self.term.grid().history_size() >= self.scrollback;
        if full && !self.trimmed {
            self.term.grid_mut().truncate();
            crate::memory::note_freed();
        }
        self.trimmed = full;
    }
}

impl Emulator for AlacrittyEmulator {
    fn feed(&mut self, bytes: &[u8]) {
        self.parser.advance(&mut self.term, bytes);
        self.osc.scan(bytes, &mut self.signals);
        self.collect_damage();
        self.trim_spare_rows();
        let mut pending = self.listener.pending.lock().unwrap();
        if pending.title_changed {
            pending.title_changed = false;
            self.title = pending.title.take();
        }
        if std::mem::take(&mut pending.bell) {
            self.bells = self.bells.wrapping_add(1);
            self.signals.push(TermSignal::Bell);
        }
    }

    fn take_signals(&mut self) -> Vec<TermSignal> {
        // A program ringing in a loop leaves one of each, not thousands.
        let mut signals = std::mem::take(&mut self.signals);
        signals.dedup();
        signals
    }

    fn take_replies(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.listener.pending.lock().unwrap().replies)
    }

    fn resize(&mut self, size: PtySize) {
        let size = size.clamped();
        *self.listener.size.lock().unwrap() = size;
        self.term.resize(Size(size));
        self.live.get_mut().invalidate_all();
        // A reflow may have grown the storage again.
        self.trimmed = false;
        self.trim_spare_rows();
    }

    fn size(&self) -> PtySize {
        *self.listener.size.lock().unwrap()
    }

    fn history_len(&self) -> usize {
        self.term.grid().history_size()
    }

    fn frame(&self, scroll: usize) -> ScreenFrame {
        let grid = self.term.grid();
        let scroll = scroll.min(grid.history_size());
        let (styles, lines) = if scroll == 0 {
            self.live_rows()
        } else {
            let mut builder = FrameBuilder::default();
            for y in 0..grid.screen_lines() as i32 {
                let row = self.build_row(Line(y - scroll as i32), &mut builder);
                builder.push_row(row);
            }
            builder.finish()
        };
        ScreenFrame {
            rows: grid.screen_lines() as u16,
            cols: grid.columns() as u16,
            scroll: scroll as u32,
            history: grid.history_size() as u32,
            cursor: if scroll == 0 { self.cursor() } else { None },
            modes: self.modes(),
            title: self.title.clone(),
            bells: self.bells,
            styles,
            lines,
        }
    }

    fn cursor(&self) -> Option<(u16, u16)> {
        if !self.term.mode().contains(TermMode::SHOW_CURSOR) {
            return None;
        }
        let point = self.term.grid().cursor.point;
        Some((point.line.0.max(0) as u16, point.column.0 as u16))
    }

    fn modes(&self) -> InputModes {
        let mode = self.term.mode();
        InputModes {
            app_cursor: mode.contains(TermMode::APP_CURSOR),
            app_keypad: mode.contains(TermMode::APP_KEYPAD),
            bracketed_paste: mode.contains(TermMode::BRACKETED_PASTE),
            mouse_click: mode.contains(TermMode::MOUSE_REPORT_CLICK),
            mouse_drag: mode.contains(TermMode::MOUSE_DRAG),
            mouse_motion: mode.contains(TermMode::MOUSE_MOTION),
            sgr_mouse: mode.contains(TermMode::SGR_MOUSE),
            focus_events: mode.contains(TermMode::FOCUS_IN_OUT),
            cursor_visible: mode.contains(TermMode::SHOW_CURSOR),
        }
    }

    fn title(&self) -> Option<&str> {
        self.title.as_deref()
    }
}

/// What a cell shows: control characters (NUL for never-written cells, C1
/// controls that garbage output can leave behind) are drawn as blanks.
fn printable(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

fn color(c: AnsiColor) -> Color {
    match c {
        AnsiColor::Spec(rgb) => Color::Rgb(rgb.r, rgb.g, rgb.b),
        AnsiColor::Indexed(i) => Color::Indexed(i),
        AnsiColor::Named(named) => named_color(named),
    }
}

fn named_color(named: NamedColor) -> Color {
    use NamedColor::*;
    match named {
        Black | DimBlack => Color::Black,
        Red | DimRed => Color::Red,
        Green | DimGreen => Color::Green,
        Yellow | DimYellow => Color::Yellow,
        Blue | DimBlue => Color::Blue,
        Magenta | DimMagenta => Color::Magenta,
        Cyan | DimCyan => Color::Cyan,
        White | DimWhite => Color::Gray,
        BrightBlack => Color::DarkGray,
        BrightRed => Color::LightRed,
        BrightGreen => Color::LightGreen,
        BrightYellow => Color::LightYellow,
        BrightBlue => Color::LightBlue,
        BrightMagenta => Color::LightMagenta,
        BrightCyan => Color::LightCyan,
        BrightWhite => Color::White,
        _ => Color::Reset,
    }
}

fn modifiers(flags: Flags) -> Modifier {
    let mut m = Modifier::empty();
    for (flag, modifier) in [
        (Flags::BOLD, Modifier::BOLD),
        (Flags::DIM, Modifier::DIM),
        (Flags::ITALIC, Modifier::ITALIC),
        (Flags::ALL_UNDERLINES, Modifier::UNDERLINED),
        (Flags::INVERSE, Modifier::REVERSED),
        (Flags::HIDDEN, Modifier::HIDDEN),
        (Flags::STRIKEOUT, Modifier::CROSSED_OUT),
    ] {
        if flags.intersects(flag) {
            m |= modifier;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;

    fn emu(rows: u16, cols: u16) -> AlacrittyEmulator {
        AlacrittyEmulator::new(PtySize { rows, cols }, 100)
    }

    #[test]
    fn text_colours_and_attributes_render() {
        let mut e = emu(3, 20);
        e.feed(b"\x1b[1;31mred\x1b[0m \x1b[38;2;1;2;3mrgb\x1b[0m \x1b[7minv");
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 3));
        e.frame(0).render(buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "r");
        assert_eq!(buf[(0, 0)].fg, Color::Red);
        assert!(buf[(0, 0)].modifier.contains(Modifier::BOLD));
        assert_eq!(buf[(4, 0)].fg, Color::Rgb(1, 2, 3));
        assert!(buf[(8, 0)].modifier.contains(Modifier::REVERSED));
        assert_eq!(e.frame(0).text()[0], "red rgb inv");
    }

    /// Issue 15 item 3: a curly or double underline stays underlined, and
    /// its colour (SGR 58, as editors and agents mark diagnostics) reaches
    /// the pane, through the frame's wire encoding too.
    #[test]
    fn underline_styles_and_colour_render() {
        let mut e = emu(2, 20);
        e.feed(b"\x1b[4:3m\x1b[58;2;255;0;0mcurly\x1b[0m \x1b[4:2mdbl\x1b[0m \x1b[4;58;5;33mix\x1b[0m ok");
        let frame = crate::term::frame::decode(&crate::term::frame::encode(&e.frame(0))).unwrap();
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 2));
        frame.render(buf.area, &mut buf);
        assert!(buf[(0, 0)].modifier.contains(Modifier::UNDERLINED));
        assert_eq!(buf[(0, 0)].underline_color, Color::Rgb(255, 0, 0));
        assert!(buf[(6, 0)].modifier.contains(Modifier::UNDERLINED));
        assert_eq!(buf[(6, 0)].underline_color, Color::Reset);
        assert_eq!(buf[(10, 0)].underline_color, Color::Indexed(33));
        assert!(!buf[(13, 0)].modifier.contains(Modifier::UNDERLINED));
        assert_eq!(buf[(13, 0)].underline_color, Color::Reset);
    }

    #[test]
    fn wide_characters_take_two_cells() {
        let mut e = emu(2, 10);
        e.feed("漢字x".as_bytes());
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 2));
        e.frame(0).render(buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "漢");
        assert_eq!(buf[(2, 0)].symbol(), "字");
        assert_eq!(buf[(4, 0)].symbol(), "x");
        assert_eq!(e.frame(0).text()[0], "漢字x");
    }

    #[test]
    fn answers_device_attribute_and_cursor_queries() {
        let mut e = emu(10, 40);
        e.feed(b"ab\x1b[6n\x1b[c");
        let replies = String::from_utf8(e.take_replies()).unwrap();
        assert!(replies.starts_with("\x1b[1;3R"), "{replies:?}");
        assert!(replies.contains("\x1b[?6c"), "{replies:?}");
        assert!(e.take_replies().is_empty());
        e.feed(b"\x1b]11;?\x07");
        let bg = String::from_utf8(e.take_replies()).unwrap();
        assert!(bg.contains("rgb:0000/0000/0000"), "{bg:?}");
    }

    #[test]
    fn alternate_screen_and_modes() {
        let mut e = emu(5, 20);
        e.feed(b"main\x1b[?1049h\x1b[?2004h\x1b[?1000h\x1b[?1006h\x1b[Halt");
        assert_eq!(e.frame(0).text()[0], "alt");
        let m = e.modes();
        assert!(m.bracketed_paste && m.mouse_click && m.sgr_mouse);
        e.feed(b"\x1b[?1049l\x1b[?2004l");
        assert_eq!(e.frame(0).text()[0], "main");
        assert!(!e.modes().bracketed_paste);
    }

    #[test]
    fn scrollback_and_resize() {
        let mut e = emu(3, 10);
        for i in 0..10 {
            e.feed(format!("l{i}\r\n").as_bytes());
        }
        assert_eq!(e.history_len(), 8);
        assert_eq!(e.frame(2).text()[0], "l6");
        assert_eq!(e.frame(99).text()[0], "l0", "scroll is clamped to history");
        assert_eq!(e.frame(0).text()[1], "l9");
        e.resize(PtySize { rows: 5, cols: 30 });
        assert_eq!(e.size(), PtySize { rows: 5, cols: 30 });
        assert_eq!(e.frame(0).text().len(), 5);
    }

    #[test]
    fn history_stays_right_once_its_spare_rows_are_freed() {
        let mut e = emu(3, 10);
        // Past the full history (100 lines) and past alacritty's 1,000-row
        // growth step, in chunks that fill the history mid-feed.
        let text: String = (0..2500).map(|i| format!("l{i}\r\n")).collect();
        for chunk in text.as_bytes().chunks(77) {
            e.feed(chunk);
        }
        assert_eq!(e.history_len(), 100);
        assert_eq!(e.frame(100).text()[0], "l2398", "oldest line kept");
        assert_eq!(e.frame(0).text()[1], "l2499");
        e.resize(PtySize { rows: 6, cols: 10 });
        e.feed(b"after\r\n");
        assert_eq!(e.frame(0).text()[4], "after");
        // Three lines came back down onto the taller screen, one went up again.
        assert_eq!(e.history_len(), 98);
        assert_eq!(e.frame(98).text()[0], "l2398", "no line lost");
    }

    /// Each row's cells as (symbol, style): comparable across style tables.
    fn cells(frame: &ScreenFrame) -> Vec<Vec<(String, CellStyle)>> {
        frame
            .lines
            .iter()
            .map(|row| {
                let mut offset = 0;
                row.cells
                    .iter()
                    .map(|&(len, style)| {
                        let symbol = row.text[offset..offset + len as usize].to_string();
                        offset += len as usize;
                        (symbol, frame.styles[style as usize])
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn live_frames_rebuilt_by_damage_match_frames_built_from_scratch() {
        let steps: Vec<&[u8]> = vec![
            b"hello \x1b[31mred\x1b[0m world\r\n",
            b"a",
            b"b\x1b[1;1Hx", // cursor jumps back: two rows change
            b"\x1b[3;5H\x1b[44m  blue  \x1b[0m",
            "wide 漢字 and e\u{301}\r\n".as_bytes(),
            b"\x1b[2;4r\x1b[4;1Hin region\n\n\n", // scroll region
            b"\x1b[r\x1b[4h\x1b[1;1Hins\x1b[4l",  // insert mode
            b"\x1b[?1049h\x1b[Halt screen",
            b"\x1b[?1049l",
            b"\x1b[2J\x1b[Hcleared",
            b"\x1b[?5h",                        // reverse video
            b"1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n7", // scrolls into history
            b"\x1b[1K\x1b[2;3H\x1b[0J",
        ];
        let mut e = emu(5, 20);
        let mut fed = Vec::new();
        let check = |e: &AlacrittyEmulator, fed: &[u8], what: &str| {
            let mut fresh = AlacrittyEmulator::new(e.size(), 100);
            fresh.feed(fed);
            assert_eq!(cells(&e.frame(0)), cells(&fresh.frame(0)), "after {what}");
            assert_eq!(e.frame(0).text(), fresh.frame(0).text(), "after {what}");
        };
        for step in steps {
            e.feed(step);
            fed.extend_from_slice(step);
            check(&e, &fed, &String::from_utf8_lossy(step));
            // Typed one byte at a time, as when attached.
            for b in b"xy\x08z" {
                e.feed(&[*b]);
                fed.push(*b);
                check(&e, &fed, "typing");
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut e = emu(5, 10);
        let mut x: u32 = 12345;
        let bytes: Vec<u8> = (0..100_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        e.feed(&bytes);
        // C1 controls encoded as UTF-8 end up in cells; drawing must not panic.
        e.feed("\u{85}\u{9b}x".as_bytes());
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(10, 5)).unwrap();
        terminal
            .draw(|f| e.frame(0).render(f.area(), f.buffer_mut()))
            .unwrap();
        e.resize(PtySize { rows: 1, cols: 1 });
        e.feed(&bytes);
    }

    #[test]
    fn title_is_tracked() {
        let mut e = emu(2, 10);
        e.feed(b"\x1b]2;building\x07");
        assert_eq!(e.title(), Some("building"));
    }
}
