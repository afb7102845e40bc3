//! Text from programs we do not control, made safe to show on one line.

/// `text` on one line: control characters and runs of whitespace become one
/// space, invisible bidi marks (which can make a line read other than it
/// is) are dropped, and past `max` characters it ends in `…`.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut count = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_control() || c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if is_bidi_mark(c) {
            continue;
        }
        if space {
            out.push(' ');
            count += 1;
            space = false;
        }
        if count >= max {
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    out
}

/// The invisible bidi formatting characters.
pub fn is_bidi_mark(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_flattens_and_caps() {
        assert_eq!(one_line("  a\r\n\tb\x1b[31m  c ", 10), "a b [31m c");
        assert_eq!(one_line("ab\u{202E}cd", 10), "abcd");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
