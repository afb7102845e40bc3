//! The add-host dialog: type an alias from `~/.ssh/config` or
//! `[user@]host[:port]`; Enter saves it to the config and connects.

pub mod view;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::HostConfig;

/// What is typed so far, and why the last Enter was refused.
#[derive(Debug, Default)]
pub struct AddHost {
    pub input: String,
    pub error: Option<String>,
}

/// What a key did to the dialog.
pub enum Outcome {
    Continue,
    Cancel,
    /// Enter on a host that parses: save it (and connect).
    Save(HostConfig),
}

impl AddHost {
    pub fn on_key(&mut self, key: KeyEvent) -> Outcome {
        self.error = None;
        match key.code {
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Enter => match parse_host(&self.input) {
                Ok(host) => return Outcome::Save(host),
                Err(e) => self.error = Some(e),
            },
            KeyCode::Backspace => {
                self.input.pop();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.input.push(c)
            }
            _ => {}
        }
        Outcome::Continue
    }
}

/// "alias" (from ~/.ssh/config) or "[user@]host[:port]".
pub fn parse_host(input: &str) -> Result<HostConfig, String> {
    HostConfig::typed(input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_hosts() {
        assert_eq!(
            parse_host("build").unwrap(),
            HostConfig {
                name: "build".into(),
                ..Default::default()
            }
        );
        let full = parse_host("me@10.0.0.5:2222").unwrap();
        assert_eq!(
            (
                full.name.as_str(),
                full.hostname.as_deref(),
                full.user.as_deref(),
                full.port
            ),
            ("10.0.0.5", Some("10.0.0.5"), Some("me"), Some(2222))
        );
        assert!(parse_host("me@box:ssh").unwrap_err().contains("not a port"));
        assert!(parse_host("two words").is_err());
        assert!(parse_host("@box").is_err());
        assert!(parse_host("local").is_err());
        // The same rules as ProxyJump hops: IPv6 in brackets, no port 0.
        let v6 = parse_host("me@[::1]:2222").unwrap();
        assert_eq!((v6.name.as_str(), v6.port), ("::1", Some(2222)));
        assert!(parse_host("box:0").unwrap_err().contains("not a port"));
    }
}
