//! Building POSIX shell command lines from argv without ever splicing user
//! text: every word is single-quoted.

/// Quotes one word for a POSIX shell. The result always parses back to
/// exactly `word`, whatever bytes it holds.
pub fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len() + 2);
    out.push('\'');
    for ch in word.chars() {
        if ch == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(ch);
        }
    }
    out.push('\'');
    out
}

/// Joins argv into one shell command line, each word quoted.
pub fn join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// True when `name` is a valid environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_valid_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn quoted_words_round_trip_through_sh() {
        let words = [
            "plain",
            "",
            "two words",
            "it's",
            "$(touch /tmp/pwned) `id` $HOME",
            "line1\nline2",
            "ünïcødé ✓ 漢字",
            "'''",
            "back\\slash",
            "-n",
        ];
        let script = format!("for w in {}; do printf '%s\\0' \"$w\"; done", join(&words));
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        let got: Vec<&[u8]> = out.stdout.split(|b| *b == 0).collect();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(got[i], w.as_bytes(), "word {i} changed");
        }
    }

    #[test]
    fn env_names() {
        assert!(is_valid_env_name("PATH"));
        assert!(is_valid_env_name("_x1"));
        assert!(!is_valid_env_name("1X"));
        assert!(!is_valid_env_name("A-B"));
        assert!(!is_valid_env_name(""));
        assert!(!is_valid_env_name("A=B"));
    }
}
