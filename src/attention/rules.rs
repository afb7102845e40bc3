//! Screen rules: patterns on the last lines of a task's screen that say it
//! waits for its user (a y/n question, a selection menu, a trust or login
//! dialog) or works (a spinner, "esc to interrupt"). They are data: each
//! agent's in `assets/agents.toml` (`waiting`, `working`), extended by the
//! user's `[[agent]]` tables, with the generic ones (`[screen]`) after them.

use regex::Regex;

use super::{ActivityState, one_line};

/// How many non-blank lines from the bottom of the screen the rules read.
pub const TAIL_LINES: usize = 12;

#[derive(Debug, Clone)]
struct Rule {
    state: ActivityState,
    regex: Regex,
}

/// The compiled rules of one agent, in order: its own, then the generic.
#[derive(Debug, Clone, Default)]
pub struct ScreenRules {
    rules: Vec<Rule>,
}

/// Checks one pattern; the error names it.
pub fn check(pattern: &str) -> Result<(), String> {
    Regex::new(pattern)
        .map(drop)
        .map_err(|e| format!("screen rule {pattern:?} is not a valid regular expression: {e}"))
}

impl ScreenRules {
    /// Compiles `waiting` and `working` patterns (checked at config load,
    /// so a bad one here is skipped, not fatal).
    pub fn new<'a>(
        waiting: impl IntoIterator<Item = &'a String>,
        working: impl IntoIterator<Item = &'a String>,
    ) -> Self {
        let compile = |state, patterns: &mut dyn Iterator<Item = &'a String>| {
            patterns
                .filter_map(|p| Regex::new(p).ok())
                .map(move |regex| Rule { state, regex })
                .collect::<Vec<_>>()
        };
        let mut rules = compile(ActivityState::Waiting, &mut waiting.into_iter());
        rules.extend(compile(ActivityState::Working, &mut working.into_iter()));
        ScreenRules { rules }
    }

    /// The verdict on a screen (its rows as text, top to bottom): the rule
    /// matching the lowest line wins (what the agent drew last), waiting
    /// before working on the same line. With it, the line it matched.
    pub fn classify(&self, rows: &[String]) -> Option<(ActivityState, String)> {
        let tail = rows
            .iter()
            .rev()
            .filter(|row| !row.trim().is_empty())
            .take(TAIL_LINES);
        for row in tail {
            let found = self
                .rules
                .iter()
                .filter(|rule| rule.regex.is_match(row))
                .map(|rule| rule.state)
                .min_by_key(|state| *state != ActivityState::Waiting);
            // The line says more than the match ("Allow command?" over "?").
            if let Some(state) = found {
                return Some((state, format!("\"{}\"", one_line(row.trim(), 60))));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn screen(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    fn verdict(agent: &str, text: &str) -> Option<ActivityState> {
        let catalog = Catalog::builtin();
        let rules = catalog.screen_rules(agent);
        rules.classify(&screen(text)).map(|(state, _)| state)
    }

    #[test]
    fn generic_questions_read_as_waiting() {
        for text in [
            "Proceed with the plan? [y/n]",
            "Overwrite file? (Y/n) ",
            "Enter passphrase for key '/home/u/.ssh/id':",
            "Press Enter to continue",
            "  ❯ 1. Yes\n    2. No",
        ] {
            assert_eq!(
                verdict("no-such-agent", text),
                Some(ActivityState::Waiting),
                "{text}"
            );
        }
        assert_eq!(verdict("no-such-agent", "$ ls\nsrc  Cargo.toml"), None);
    }

    #[test]
    fn the_last_line_decides() {
        let old_question = "Continue? [y/n] y\n⠹ building (esc to interrupt)";
        assert_eq!(
            verdict("claude", old_question),
            Some(ActivityState::Working)
        );
        let new_question = "⠹ building\nContinue? [y/n]";
        assert_eq!(
            verdict("claude", new_question),
            Some(ActivityState::Waiting)
        );
    }

    #[test]
    fn the_verdict_quotes_what_it_saw() {
        let rules = Catalog::builtin().screen_rules("claude");
        let (_, why) = rules.classify(&screen("Apply it? [y/n]\n\n\n")).unwrap();
        assert_eq!(why, "\"Apply it? [y/n]\"");
    }

    #[test]
    fn bad_patterns_are_named() {
        let e = check("([").unwrap_err();
        assert!(
            e.contains("\"([\"") && e.contains("not a valid regular expression"),
            "{e}"
        );
    }
}
