//! Terminal signals in a program's output that say it wants its user: the
//! bell (alacritty reports it) and desktop notifications, OSC 9 (iTerm2),
//! OSC 777 (urxvt's `notify`) and OSC 99 (kitty), which alacritty drops.
//!
//! Written by hand: it is a few states over bytes, run on every chunk of
//! output next to the emulator's own parser, and no crate scans for just
//! these sequences.

use crate::text::one_line;

/// Something the program asked to tell its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermSignal {
    Bell,
    /// A desktop notification's text (title and body, one line).
    Notify(String),
}

/// The longest notification payload kept; the rest is skipped.
const MAX_PAYLOAD: usize = 1024;
/// How much of a notification's text is reported.
const MAX_TEXT: usize = 200;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    Escape,
    Osc,
    /// ESC inside an OSC: `\` ends it.
    OscEscape,
}

/// Finds OSC notifications across chunk boundaries.
#[derive(Debug, Default)]
pub struct OscScanner {
    state: State,
    payload: Vec<u8>,
}

impl OscScanner {
    /// Scans `bytes`, pushing each complete notification onto `out`.
    pub fn scan(&mut self, bytes: &[u8], out: &mut Vec<TermSignal>) {
        let mut rest = bytes;
        while !rest.is_empty() {
            // Runs of plain output (nearly all of it) are skipped whole: this
            // runs on every byte an agent prints.
            if self.state == State::Ground {
                match rest.iter().position(|&b| b == 0x1b) {
                    Some(at) => rest = &rest[at..],
                    None => return,
                }
            }
            let b = rest[0];
            rest = &rest[1..];
            self.state = match (self.state, b) {
                (State::Ground, 0x1b) => State::Escape,
                (State::Ground, _) => State::Ground,
                (State::Escape, b']') => {
                    self.payload.clear();
                    State::Osc
                }
                (State::Escape, 0x1b) => State::Escape,
                (State::Escape, _) => State::Ground,
                (State::Osc, 0x07) => {
                    self.finish(out);
                    State::Ground
                }
                (State::Osc, 0x1b) => State::OscEscape,
                // CAN and SUB abort a sequence.
                (State::Osc, 0x18 | 0x1a) => State::Ground,
                (State::Osc, b) => {
                    if self.payload.len() < MAX_PAYLOAD {
                        self.payload.push(b);
                    }
                    State::Osc
                }
                (State::OscEscape, b'\\') => {
                    self.finish(out);
                    State::Ground
                }
                (State::OscEscape, b']') => {
                    self.payload.clear();
                    State::Osc
                }
                (State::OscEscape, _) => State::Ground,
            };
        }
    }

    fn finish(&mut self, out: &mut Vec<TermSignal>) {
        let payload = String::from_utf8_lossy(&self.payload);
        if let Some(text) = notification(&payload) {
            out.push(TermSignal::Notify(one_line(&text, MAX_TEXT)));
        }
        self.payload.clear();
    }
}

/// The text of an OSC payload that is a notification.
fn notification(payload: &str) -> Option<String> {
    let (code, rest) = payload.split_once(';')?;
    match code {
        // `9;4;…` (progress) and ConEmu's other `9;N;…` are not notifications.
        "9" => {
            let conemu = rest
                .split_once(';')
                .is_some_and(|(n, _)| n.parse::<u8>().is_ok_and(|n| n <= 12))
                || rest.parse::<u8>().is_ok_and(|n| n <= 12);
            (!conemu).then(|| rest.to_string())
        }
        // `777;notify;TITLE;BODY`
        "777" => {
            let body = rest.strip_prefix("notify;")?;
            Some(body.replacen(';', ": ", 1))
        }
        // `99;METADATA;PAYLOAD`; a chunk that only sets metadata says nothing.
        "99" => {
            let (_, text) = rest.split_once(';')?;
            (!text.is_empty()).then(|| text.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Vec<TermSignal> {
        let mut scanner = OscScanner::default();
        let mut out = Vec::new();
        for chunk in chunks {
            scanner.scan(chunk, &mut out);
        }
        out
    }

    fn notify(text: &str) -> TermSignal {
        TermSignal::Notify(text.into())
    }

    #[test]
    fn the_three_notification_forms_are_found() {
        assert_eq!(scan(&[b"x\x1b]9;Build done\x07y"]), [notify("Build done")]);
        assert_eq!(
            scan(&[b"\x1b]777;notify;Claude;Needs you\x1b\\"]),
            [notify("Claude: Needs you")]
        );
        assert_eq!(scan(&[b"\x1b]99;i=1:d=0;Hello\x1b\\"]), [notify("Hello")]);
    }

    #[test]
    fn across_chunks_and_among_other_sequences() {
        assert_eq!(
            scan(&[
                b"\x1b]0;title\x07\x1b[31m\x1b]9;wa",
                b"it",
                b"ing\x1b",
                b"\\"
            ]),
            [notify("waiting")]
        );
    }

    #[test]
    fn progress_titles_and_garbage_are_not_notifications() {
        assert!(scan(&[b"\x1b]9;4;1;50\x07\x1b]9;4\x07\x1b]2;t\x07"]).is_empty());
        assert!(scan(&[b"\x1b]9;abc\x18def\x07"]).is_empty(), "CAN aborts");
        assert!(scan(&[b"\x1b]777;other;x\x07\x1b]99;i=1;\x07"]).is_empty());
        // A huge payload is cut, not kept whole.
        let mut big = b"\x1b]9;".to_vec();
        big.extend(std::iter::repeat_n(b'a', 100_000));
        big.push(7);
        let found = scan(&[&big]);
        let TermSignal::Notify(text) = &found[0] else {
            panic!()
        };
        assert!(text.chars().count() <= MAX_TEXT + 1);
    }
}
