//! Key bindings: parsing key names from config, the default map, and the
//! lookup from a crossterm key event to a bindable [`Command`].
//!
//! The same table drives dispatch, the status-bar hints and the help screen,
//! so what the user sees is always what the keys do.

use std::collections::BTreeMap;
use std::fmt;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde::{Deserialize, Serialize};

/// Everything a key can be bound to on the dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    NewTask,
    Attach,
    Stop,
    Reprobe,
    Install,
    AddHost,
    AddProject,
    Connect,
    Review,
    Discard,
    Grid,
    NextWaiting,
    AttentionFirst,
    Help,
    Quit,
    FocusNext,
    FocusPrev,
    Up,
    Down,
    Left,
    Right,
    ScrollUp,
    ScrollDown,
    ScrollBottom,
    ScrollTop,
}

/// (command, config name, default keys, description) — the one table.
const BINDINGS: &[(Command, &str, &[&str], &str)] = &[
    (Command::NewTask, "new_task", &["n"], "new task"),
    (Command::Attach, "attach", &["enter"], "attach"),
    (Command::Stop, "stop", &["x"], "stop task"),
    (
        Command::Reprobe,
        "reprobe",
        &["r"],
        "re-probe agents (the selected host's in Hosts)",
    ),
    (
        Command::Install,
        "install",
        &["i"],
        "install the selected agent on the host",
    ),
    (Command::AddHost, "add_host", &["a"], "add an SSH host"),
    (
        Command::AddProject,
        "add_project",
        &["P"],
        "add a project (a directory; Tab completes)",
    ),
    (
        Command::Connect,
        "connect",
        &["c"],
        "connect to the selected host",
    ),
    (Command::Review, "review", &["d"], "review the task's diff"),
    (
        Command::Discard,
        "discard",
        &["D"],
        "discard the task and its worktree",
    ),
    (Command::Grid, "grid", &["g"], "grid of live panes"),
    (
        Command::NextWaiting,
        "next_waiting",
        &["w"],
        "jump to the next task that needs you",
    ),
    (
        Command::AttentionFirst,
        "attention_first",
        &["s"],
        "list tasks that need you first (toggle)",
    ),
    (Command::Help, "help", &["?"], "help"),
    (Command::Quit, "quit", &["q", "ctrl-c"], "quit"),
    (Command::FocusNext, "focus_next", &["tab"], "next view"),
    (
        Command::FocusPrev,
        "focus_prev",
        &["backtab"],
        "previous view",
    ),
    (Command::Up, "up", &["up", "k"], "move up"),
    (Command::Down, "down", &["down", "j"], "move down"),
    (Command::Left, "left", &["left", "h"], "move left"),
    (Command::Right, "right", &["right", "l"], "move right"),
    (
        Command::ScrollUp,
        "scroll_up",
        &["pageup"],
        "scroll pane back",
    ),
    (
        Command::ScrollDown,
        "scroll_down",
        &["pagedown"],
        "scroll pane forward",
    ),
    (
        Command::ScrollBottom,
        "scroll_bottom",
        &["end"],
        "pane back to live",
    ),
    (
        Command::ScrollTop,
        "scroll_top",
        &["home"],
        "pane to the start of its scrollback",
    ),
];

impl Command {
    pub fn config_name(self) -> &'static str {
        BINDINGS.iter().find(|b| b.0 == self).map(|b| b.1).unwrap()
    }

    pub fn description(self) -> &'static str {
        BINDINGS.iter().find(|b| b.0 == self).map(|b| b.3).unwrap()
    }

    fn from_config_name(name: &str) -> Option<Self> {
        BINDINGS.iter().find(|b| b.1 == name).map(|b| b.0)
    }
}

/// A key with modifiers, as written in config (`"ctrl-]"`, `"shift-tab"`, `"f5"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn parse(text: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = text;
        // "-" alone is a key; a trailing "-" after a modifier is too ("ctrl--").
        while let Some((head, tail)) = rest.split_once('-').filter(|(_, t)| !t.is_empty()) {
            mods |= match head.to_ascii_lowercase().as_str() {
                "ctrl" | "c" => KeyModifiers::CONTROL,
                "alt" | "a" | "meta" | "m" => KeyModifiers::ALT,
                "shift" | "s" => KeyModifiers::SHIFT,
                _ => break,
            };
            rest = tail;
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "enter" | "return" => KeyCode::Enter,
            "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "esc" | "escape" => KeyCode::Esc,
            "space" => KeyCode::Char(' '),
            "backspace" => KeyCode::Backspace,
            "delete" | "del" => KeyCode::Delete,
            "insert" => KeyCode::Insert,
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" | "pgup" => KeyCode::PageUp,
            "pagedown" | "pgdn" => KeyCode::PageDown,
            f if f.len() > 1 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                let n: u8 = f[1..].parse().unwrap();
                if !(1..=12).contains(&n) {
                    return Err(format!("unknown key {text:?}: function keys are f1 to f12"));
                }
                KeyCode::F(n)
            }
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(format!("unknown key {text:?}")),
                }
            }
        };
        if code == KeyCode::BackTab {
            mods.remove(KeyModifiers::SHIFT);
        }
        Ok(Key { code, mods })
    }

    /// Normalises a key event so it compares equal to a parsed binding:
    /// the shift that produced an upper-case or symbol character is dropped.
    pub fn from_event(event: &KeyEvent) -> Key {
        let mut mods =
            event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        if matches!(event.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods.remove(KeyModifiers::SHIFT);
        }
        let code = match event.code {
            KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        Key { code, mods }
    }

    /// The bytes a terminal sends for this key in its legacy encoding, used
    /// to spot the detach key in raw input. `None` for keys with no such form.
    pub fn legacy_bytes(&self) -> Option<Vec<u8>> {
        let ctrl = self.mods.contains(KeyModifiers::CONTROL);
        let alt = self.mods.contains(KeyModifiers::ALT);
        let mut bytes = match self.code {
            KeyCode::Char(c) if ctrl => {
                let b = match c {
                    'a'..='z' => c as u8 - b'a' + 1,
                    '@' | ' ' | '2' => 0,
                    '[' | '3' => 0x1b,
                    '\\' | '4' => 0x1c,
                    ']' | '5' => 0x1d,
                    '^' | '6' => 0x1e,
                    '_' | '7' | '/' => 0x1f,
                    _ => return None,
                };
                vec![b]
            }
            KeyCode::Char(c) => c.to_string().into_bytes(),
            KeyCode::F(n @ 1..=4) => vec![0x1b, b'O', b'P' + n - 1],
            KeyCode::F(n @ 5..=12) => {
                let code = [15, 17, 18, 19, 20, 21, 23, 24][(n - 5) as usize];
                format!("\x1b[{code}~").into_bytes()
            }
            _ => return None,
        };
        if alt {
            bytes.insert(0, 0x1b);
        }
        Some(bytes)
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("Shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// Keys as written in config: one key or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KeyList {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<(Key, Command)>,
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = BINDINGS
            .iter()
            .flat_map(|(cmd, _, keys, _)| {
                keys.iter()
                    .map(move |k| (Key::parse(k).expect("default key parses"), *cmd))
            })
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with the commands named in `overrides` rebound. Errors
    /// name the offending config entry.
    pub fn with_overrides(overrides: &BTreeMap<String, KeyList>) -> Result<Self, (String, String)> {
        let mut map = Keymap::default();
        for (name, keys) in overrides {
            let cmd = Command::from_config_name(name).ok_or_else(|| {
                let known: Vec<_> = BINDINGS.iter().map(|b| b.1).collect();
                (
                    name.clone(),
                    format!("unknown command {name:?}; known: {}", known.join(", ")),
                )
            })?;
            let keys = match keys {
                KeyList::One(k) => vec![k.clone()],
                KeyList::Many(ks) => ks.clone(),
            };
            let parsed = keys
                .iter()
                .map(|k| Key::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| (name.clone(), e))?;
            map.bindings.retain(|(_, c)| *c != cmd);
            for key in parsed {
                if let Some((_, other)) = map.bindings.iter().find(|(k, _)| *k == key) {
                    return Err((
                        name.clone(),
                        format!("key {key} is already bound to {}", other.config_name()),
                    ));
                }
                map.bindings.push((key, cmd));
            }
        }
        Ok(map)
    }

    pub fn lookup(&self, event: &KeyEvent) -> Option<Command> {
        let key = Key::from_event(event);
        self.bindings
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, c)| *c)
    }

    /// The keys bound to `cmd`, for hints ("n", "↑/k").
    pub fn keys_for(&self, cmd: Command) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, c)| *c == cmd)
            .map(|(k, _)| *k)
            .collect()
    }

    /// A short label of the keys for `cmd`, e.g. "↑/k"; empty when unbound.
    pub fn label(&self, cmd: Command) -> String {
        self.keys_for(cmd)
            .iter()
            .map(Key::to_string)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Every command with its keys and description, in table order.
    pub fn help_rows(&self) -> Vec<(String, &'static str)> {
        BINDINGS
            .iter()
            .map(|(cmd, ..)| (self.label(*cmd), cmd.description()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyEventKind;

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new_with_kind(code, mods, KeyEventKind::Press)
    }

    #[test]
    fn parses_key_names() {
        assert_eq!(Key::parse("n").unwrap().code, KeyCode::Char('n'));
        let k = Key::parse("ctrl-]").unwrap();
        assert_eq!(
            (k.code, k.mods),
            (KeyCode::Char(']'), KeyModifiers::CONTROL)
        );
        assert_eq!(Key::parse("shift-tab").unwrap().code, KeyCode::BackTab);
        assert_eq!(Key::parse("F5").unwrap().code, KeyCode::F(5));
        assert_eq!(Key::parse("-").unwrap().code, KeyCode::Char('-'));
        assert!(Key::parse("f13").is_err());
        assert!(Key::parse("banana").is_err());
    }

    #[test]
    fn defaults_dispatch() {
        let map = Keymap::default();
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('n'), KeyModifiers::NONE)),
            Some(Command::NewTask)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('?'), KeyModifiers::SHIFT)),
            Some(Command::Help)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Command::FocusPrev)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('z'), KeyModifiers::NONE)),
            None
        );
    }

    #[test]
    fn overrides_rebind_and_detect_conflicts() {
        let mut o = BTreeMap::new();
        o.insert(
            "new_task".to_string(),
            KeyList::Many(vec!["t".into(), "ctrl-n".into()]),
        );
        let map = Keymap::with_overrides(&o).unwrap();
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('t'), KeyModifiers::NONE)),
            Some(Command::NewTask)
        );
        assert_eq!(
            map.lookup(&ev(KeyCode::Char('n'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(map.label(Command::NewTask), "t/Ctrl-n");

        let mut clash = BTreeMap::new();
        clash.insert("stop".to_string(), KeyList::One("q".into()));
        let (name, msg) = Keymap::with_overrides(&clash).unwrap_err();
        assert_eq!(name, "stop");
        assert!(msg.contains("already bound to quit"), "{msg}");

        let mut unknown = BTreeMap::new();
        unknown.insert("fly".to_string(), KeyList::One("f".into()));
        assert!(
            Keymap::with_overrides(&unknown)
                .unwrap_err()
                .1
                .contains("unknown command")
        );
    }

    #[test]
    fn legacy_bytes_for_detach_keys() {
        assert_eq!(
            Key::parse("ctrl-]").unwrap().legacy_bytes(),
            Some(vec![0x1d])
        );
        assert_eq!(Key::parse("ctrl-a").unwrap().legacy_bytes(), Some(vec![1]));
        assert_eq!(
            Key::parse("f12").unwrap().legacy_bytes(),
            Some(b"\x1b[24~".to_vec())
        );
        assert_eq!(Key::parse("up").unwrap().legacy_bytes(), None);
    }
}
