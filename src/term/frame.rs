//! A rendered view of a task's screen: what one pane shows at one scroll
//! position, as styled cells. The daemon renders frames from its emulators
//! and sends them to clients, which only blit them (so every client sees
//! exactly what the daemon's emulator holds, and a slow client just gets
//! fewer, newer frames).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};

use super::InputModes;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CellStyle {
    pub fg: Color,
    pub bg: Color,
    pub modifier: Modifier,
    /// SGR 58 (editors and agents colour diagnostics' underlines); `Reset`
    /// when unset: the text's colour.
    pub underline: Color,
}

/// One row: its text, and per cell the byte length of its symbol in `text`
/// (0 = covered by the wide character to its left) and its style index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameRow {
    pub text: String,
    pub cells: Vec<(u8, u16)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ScreenFrame {
    pub rows: u16,
    pub cols: u16,
    /// Lines scrolled back into history (0 = live).
    pub scroll: u32,
    /// Lines of history kept above the screen.
    pub history: u32,
    /// Cursor (row, col) on the live screen, when shown.
    pub cursor: Option<(u16, u16)>,
    pub modes: InputModes,
    pub title: Option<String>,
    /// Bells rung since the emulator started (wrapping): a viewer that
    /// sees it grow rings its own.
    pub bells: u32,
    pub styles: Vec<CellStyle>,
    pub lines: Vec<FrameRow>,
}

impl ScreenFrame {
    /// Draws the frame into `area`, clipped to it.
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(buf.area);
        for (y, row) in self.lines.iter().enumerate().take(area.height as usize) {
            let mut offset = 0usize;
            for (x, &(len, style)) in row.cells.iter().enumerate() {
                let len = len as usize;
                let symbol = row.text.get(offset..offset + len).unwrap_or(" ");
                offset += len;
                if x >= area.width as usize {
                    continue;
                }
                let cell = &mut buf[(area.x + x as u16, area.y + y as u16)];
                if len == 0 {
                    // Covered by a wide character; ratatui skips it when diffing.
                    cell.reset();
                    continue;
                }
                // Most cells are blank, as is a freshly reset buffer:
                // comparing is cheaper than setting.
                if cell.symbol() != symbol {
                    cell.set_symbol(symbol);
                }
                let style = self.styles.get(style as usize).copied().unwrap_or_default();
                cell.fg = style.fg;
                cell.bg = style.bg;
                cell.modifier = style.modifier;
                cell.underline_color = style.underline;
            }
        }
    }

    /// The rows as plain text, trailing blanks trimmed.
    pub fn text(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|row| row.text.trim_end().to_string())
            .collect()
    }
}

/// Builds a frame row by row, interning styles.
#[derive(Default)]
pub struct FrameBuilder {
    styles: Vec<CellStyle>,
    lines: Vec<FrameRow>,
}

impl FrameBuilder {
    pub fn push_row(&mut self, row: FrameRow) {
        self.lines.push(row);
    }

    pub fn style(&mut self, style: CellStyle) -> u16 {
        // Frames hold few distinct styles, and the last one is usually reused.
        if let Some(i) = self.styles.iter().rposition(|s| *s == style) {
            return i as u16;
        }
        self.styles.push(style);
        (self.styles.len() - 1) as u16
    }

    /// The styles interned so far.
    pub fn styles(&self) -> &[CellStyle] {
        &self.styles
    }

    pub fn finish(self) -> (Vec<CellStyle>, Vec<FrameRow>) {
        (self.styles, self.lines)
    }
}

impl FrameRow {
    pub fn push(&mut self, symbol: &str, style: u16) {
        let symbol = if symbol.len() > u8::MAX as usize {
            " "
        } else {
            symbol
        };
        self.text.push_str(symbol);
        self.cells.push((symbol.len() as u8, style));
    }

    pub fn push_spacer(&mut self, style: u16) {
        self.cells.push((0, style));
    }
}

// ---- binary encoding -------------------------------------------------------

pub fn encode(frame: &ScreenFrame) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + frame.lines.len() * (frame.cols as usize * 4));
    out.extend_from_slice(&frame.rows.to_le_bytes());
    out.extend_from_slice(&frame.cols.to_le_bytes());
    out.extend_from_slice(&frame.scroll.to_le_bytes());
    out.extend_from_slice(&frame.history.to_le_bytes());
    match frame.cursor {
        Some((r, c)) => {
            out.push(1);
            out.extend_from_slice(&r.to_le_bytes());
            out.extend_from_slice(&c.to_le_bytes());
        }
        None => out.push(0),
    }
    out.extend_from_slice(&modes_bits(frame.modes).to_le_bytes());
    put_bytes(&mut out, frame.title.as_deref().unwrap_or("").as_bytes());
    out.extend_from_slice(&frame.bells.to_le_bytes());
    out.extend_from_slice(&(frame.styles.len() as u16).to_le_bytes());
    for style in &frame.styles {
        out.extend_from_slice(&color_bytes(style.fg));
        out.extend_from_slice(&color_bytes(style.bg));
        out.extend_from_slice(&style.modifier.bits().to_le_bytes());
        out.extend_from_slice(&color_bytes(style.underline));
    }
    out.extend_from_slice(&(frame.lines.len() as u16).to_le_bytes());
    for row in &frame.lines {
        put_bytes(&mut out, row.text.as_bytes());
        out.extend_from_slice(&(row.cells.len() as u16).to_le_bytes());
        for &(len, style) in &row.cells {
            out.push(len);
            out.extend_from_slice(&style.to_le_bytes());
        }
    }
    out
}

/// Decodes a frame; `None` for anything malformed. Never panics.
pub fn decode(bytes: &[u8]) -> Option<ScreenFrame> {
    let mut r = Reader(bytes);
    let rows = r.u16()?;
    let cols = r.u16()?;
    let scroll = r.u32()?;
    let history = r.u32()?;
    let cursor = match r.u8()? {
        0 => None,
        _ => Some((r.u16()?, r.u16()?)),
    };
    let modes = modes_from_bits(r.u16()?);
    let title = String::from_utf8(r.bytes()?.to_vec()).ok()?;
    let bells = r.u32()?;
    let styles = (0..r.u16()?)
        .map(|_| {
            Some(CellStyle {
                fg: color_from(r.take(4)?)?,
                bg: color_from(r.take(4)?)?,
                modifier: Modifier::from_bits_truncate(r.u16()?),
                underline: color_from(r.take(4)?)?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let lines = (0..r.u16()?)
        .map(|_| {
            let text = String::from_utf8(r.bytes()?.to_vec()).ok()?;
            if text.chars().any(char::is_control) {
                return None; // ratatui refuses to draw control characters
            }
            let cells = (0..r.u16()?)
                .map(|_| Some((r.u8()?, r.u16()?)))
                .collect::<Option<Vec<_>>>()?;
            // Every cell's symbol must fall on a character boundary.
            let mut at = 0usize;
            for &(len, _) in &cells {
                at += len as usize;
                if !text.is_char_boundary(at.min(text.len())) || at > text.len() {
                    return None;
                }
            }
            Some(FrameRow { text, cells })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(ScreenFrame {
        rows,
        cols,
        scroll,
        history,
        cursor,
        modes,
        title: (!title.is_empty()).then_some(title),
        bells,
        styles,
        lines,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

const NAMED: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

fn color_bytes(color: Color) -> [u8; 4] {
    match color {
        Color::Reset => [0, 0, 0, 0],
        Color::Indexed(i) => [1, i, 0, 0],
        Color::Rgb(r, g, b) => [2, r, g, b],
        named => [
            3,
            NAMED.iter().position(|c| *c == named).unwrap_or(0) as u8,
            0,
            0,
        ],
    }
}

fn color_from(b: &[u8]) -> Option<Color> {
    Some(match b[0] {
        0 => Color::Reset,
        1 => Color::Indexed(b[1]),
        2 => Color::Rgb(b[1], b[2], b[3]),
        3 => *NAMED.get(b[1] as usize)?,
        _ => return None,
    })
}

fn modes_bits(m: InputModes) -> u16 {
    [
        m.app_cursor,
        m.app_keypad,
        m.bracketed_paste,
        m.mouse_click,
        m.mouse_drag,
        m.mouse_motion,
        m.sgr_mouse,
        m.focus_events,
        m.cursor_visible,
    ]
    .iter()
    .enumerate()
    .fold(0, |bits, (i, on)| bits | ((*on as u16) << i))
}

fn modes_from_bits(bits: u16) -> InputModes {
    let on = |i: u16| bits & (1 << i) != 0;
    InputModes {
        app_cursor: on(0),
        app_keypad: on(1),
        bracketed_paste: on(2),
        mouse_click: on(3),
        mouse_drag: on(4),
        mouse_motion: on(5),
        sgr_mouse: on(6),
        focus_events: on(7),
        cursor_visible: on(8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::PtySize;
    use crate::term::new_emulator;

    fn sample() -> ScreenFrame {
        let mut e = new_emulator(PtySize { rows: 4, cols: 12 }, 100);
        e.feed(
            "\x1b[1;31mred\x1b[0m 漢字 \x1b[38;2;1;2;3mrgb\r\n\x1b[?2004h\x1b]2;t\x07x".as_bytes(),
        );
        e.frame(0)
    }

    #[test]
    fn frames_round_trip_through_bytes() {
        let frame = sample();
        assert_eq!(frame.text()[0], "red 漢字 rgb");
        assert_eq!(frame.title.as_deref(), Some("t"));
        assert!(frame.modes.bracketed_paste);
        assert_eq!(decode(&encode(&frame)), Some(frame));
    }

    #[test]
    fn frames_render_like_the_emulator() {
        let frame = sample();
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 4));
        frame.render(buf.area, &mut buf);
        assert_eq!(buf[(0, 0)].symbol(), "r");
        assert_eq!(buf[(0, 0)].fg, Color::Red);
        assert!(buf[(0, 0)].modifier.contains(Modifier::BOLD));
        assert_eq!(buf[(4, 0)].symbol(), "漢");
        assert_eq!(buf[(9, 0)].fg, Color::Rgb(1, 2, 3));
        // Clipped into a smaller area without panicking.
        let mut small = Buffer::empty(Rect::new(0, 0, 5, 2));
        frame.render(small.area, &mut small);
    }

    #[test]
    fn decoding_garbage_never_panics() {
        let good = encode(&sample());
        let mut x: u32 = 7;
        for i in 0..5_000 {
            let mut bytes = good.clone();
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            let at = x as usize % bytes.len();
            bytes[at] ^= (x >> 8) as u8 | 1;
            bytes.truncate(bytes.len() - (i % 7));
            if let Some(frame) = decode(&bytes) {
                let mut buf = Buffer::empty(Rect::new(0, 0, 20, 6));
                frame.render(buf.area, &mut buf);
            }
        }
    }
}
