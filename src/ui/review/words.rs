//! Word-level change highlighting between a removed line and the added line
//! that replaced it.

/// Byte ranges `(start, end)` of a line.
pub type Ranges = Vec<(usize, usize)>;

/// Byte ranges of `old` and `new` that differ, at word granularity. Lines
/// too long to compare cheaply are reported as changed entirely (`None`).
pub fn changed_ranges(old: &str, new: &str) -> Option<(Ranges, Ranges)> {
    let a = tokens(old);
    let b = tokens(new);
    if a.len() * b.len() > 40_000 {
        return None;
    }
    // Longest common subsequence of tokens.
    let mut lcs = vec![vec![0u16; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i].1 == b[j].1 {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let (mut old_changed, mut new_changed) = (Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i].1 == b[j].1 {
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            push(&mut new_changed, b[j].0, b[j].0 + b[j].1.len());
            j += 1;
        } else {
            push(&mut old_changed, a[i].0, a[i].0 + a[i].1.len());
            i += 1;
        }
    }
    Some((old_changed, new_changed))
}

/// Merges adjacent ranges.
fn push(ranges: &mut Vec<(usize, usize)>, start: usize, end: usize) {
    match ranges.last_mut() {
        Some(last) if last.1 == start => last.1 = end,
        _ => ranges.push((start, end)),
    }
}

/// Words, runs of spaces and single punctuation characters, with offsets.
fn tokens(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            1
        } else if c.is_whitespace() {
            2
        } else {
            3
        }
    };
    let mut prev = 0;
    for (i, c) in s.char_indices() {
        let k = class(c);
        if let Some(st) = start
            && (k != prev || k == 3)
        {
            out.push((st, &s[st..i]));
            start = None;
        }
        if start.is_none() {
            start = Some(i);
            prev = k;
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_the_changed_word() {
        let (old, new) = changed_ranges("let total = a + b;", "let sum = a + b;").unwrap();
        assert_eq!(old, vec![(4, 9)]);
        assert_eq!(new, vec![(4, 7)]);
    }

    #[test]
    fn identical_and_unicode() {
        assert_eq!(changed_ranges("same", "same").unwrap(), (vec![], vec![]));
        let (old, new) = changed_ranges("größe ✓", "größer ✓").unwrap();
        assert_eq!((old.len(), new.len()), (1, 1));
        assert!(changed_ranges(&"x ".repeat(300), &"y ".repeat(300)).is_none());
    }
}
