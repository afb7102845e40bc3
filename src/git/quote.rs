//! Git's C-style path quoting, both ways: patch headers quote paths that
//! hold quotes, backslashes, control characters or non-ASCII bytes.

/// Decodes a C-style quoted string as git writes it (`"a/sp\303\244ce"`),
/// returning it and the text after the closing quote. Octal escapes are
/// bytes; the result is decoded as UTF-8 (lossily).
pub(crate) fn unquote(s: &str) -> Option<(String, &str)> {
    let body = s.strip_prefix('"')?;
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let rest = &body[i + 1..];
                return Some((String::from_utf8_lossy(&out).into_owned(), rest));
            }
            b'\\' => {
                let esc = *bytes.get(i + 1)?;
                i += 2;
                match esc {
                    b'a' => out.push(7),
                    b'b' => out.push(8),
                    b'f' => out.push(12),
                    b'n' => out.push(b'\n'),
                    b'r' => out.push(b'\r'),
                    b't' => out.push(b'\t'),
                    b'v' => out.push(11),
                    b'0'..=b'7' => {
                        let digits = bytes.get(i - 1..i + 2)?;
                        let mut v: u32 = 0;
                        for d in digits {
                            if !(b'0'..=b'7').contains(d) {
                                return None;
                            }
                            v = v * 8 + u32::from(d - b'0');
                        }
                        out.push(u8::try_from(v).ok()?);
                        i += 2;
                    }
                    other => out.push(other),
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    None
}

/// `prefix + path` as git writes it in patch headers: C-quoted when it holds
/// a quote, a backslash, a control character or a non-ASCII byte.
pub(crate) fn quote_path(prefix: &str, path: &str) -> String {
    let full = format!("{prefix}{path}");
    let needs = full
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b == b'"' || b == b'\\' || b >= 0x80);
    if !needs {
        return full;
    }
    let mut out = String::with_capacity(full.len() + 8);
    out.push('"');
    for b in full.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\{b:03o}")),
        }
    }
    out.push('"');
    out
}
