//! `config.toml`: settings, key bindings, projects and agent overrides.
//!
//! Loading is all or nothing: any error, syntactic or semantic, is reported
//! with the file, line and column and what is wrong, and no half-config is
//! ever used.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

mod edit;

use crate::catalog::{AgentEntry, Catalog};
use crate::keymap::{Key, KeyList, Keymap};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid config {}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for ConfigError {}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Time between SIGTERM and SIGKILL when stopping a task.
    pub stop_grace: Duration,
    /// Leaves an attached task and returns to the dashboard.
    pub detach_key: Key,
    /// Lines of scrollback kept per task pane.
    pub scrollback_lines: usize,
    /// Longest wait for one agent's `--version` during a probe.
    pub probe_timeout: Duration,
    /// When and how the dashboard tells its user that a task needs them.
    pub notify: Notify,
    /// How long an agent's permission request waits for an answer from a
    /// dashboard before the agent asks in its own UI.
    pub approval_timeout: Duration,
}

/// `[notify]`: which changes of a task the dashboard announces (a bell and
/// a desktop notification through the terminal, `notify-send` where there
/// is a desktop, and `command` if set).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Notify {
    /// A task started waiting for its user.
    pub waiting: bool,
    /// A task's turn is over (as its agent's hook says; a quiet screen is
    /// too weak a sign to interrupt anyone for).
    pub idle: bool,
    /// A task ended.
    pub ended: bool,
    /// BEL and OSC 9/777 to the dashboard's terminal.
    pub terminal: bool,
    /// `notify-send` when a desktop session is there.
    pub desktop: bool,
    /// Run with `sh -c`, one JSON object on stdin (task, project, agent,
    /// event, reason).
    pub command: Option<String>,
}

impl Default for Notify {
    fn default() -> Self {
        Notify {
            waiting: true,
            idle: true,
            ended: true,
            terminal: true,
            desktop: true,
            command: None,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            stop_grace: Duration::from_secs(5),
            detach_key: Key::parse("ctrl-]").unwrap(),
            scrollback_lines: 10_000,
            probe_timeout: Duration::from_secs(5),
            notify: Notify::default(),
            approval_timeout: Duration::from_secs(120),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct Project {
    pub name: String,
    pub path: PathBuf,
    /// Run before each agent starts, in its workspace (e.g. `npm ci`).
    pub setup: Option<String>,
    /// Tasks get their own git worktree (the default for git projects).
    pub worktree: bool,
    /// The SSH host the project lives on; `None` for this machine.
    pub host: Option<String>,
}

impl Default for Project {
    fn default() -> Self {
        Project {
            name: String::new(),
            path: PathBuf::new(),
            setup: None,
            worktree: true,
            host: None,
        }
    }
}

/// An SSH host from `[[host]]`. Only `name` is required: a name that is an
/// alias in `~/.ssh/config` takes its settings from there; the fields here
/// override them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostConfig {
    pub name: String,
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_file: Option<String>,
    pub proxy_jump: Option<String>,
}

impl HostConfig {
    /// A host as typed: "alias" (from ~/.ssh/config) or "[user@]host[:port]".
    pub fn typed(input: &str) -> Result<HostConfig, String> {
        let input = input.trim();
        if input.is_empty() || input.contains(char::is_whitespace) {
            return Err("type an alias from ~/.ssh/config, or user@host:port".into());
        }
        let address =
            crate::host::ssh::parse_address(input).map_err(|e| format!("{input:?}: {e}"))?;
        if crate::host::local::is_local(address.host) {
            return Err(format!("{input:?} names no host"));
        }
        let plain = address.user.is_none() && address.port.is_none();
        Ok(HostConfig {
            name: address.host.to_string(),
            hostname: (!plain).then(|| address.host.to_string()),
            user: address.user.map(str::to_string),
            port: address.port,
            ..Default::default()
        })
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    /// False when no config file exists yet (all defaults).
    pub exists: bool,
    pub settings: Settings,
    pub keymap: Keymap,
    pub projects: Vec<Project>,
    pub hosts: Vec<HostConfig>,
    pub catalog: Catalog,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    keys: BTreeMap<String, Spanned<KeyList>>,
    #[serde(default, rename = "project")]
    projects: Vec<Spanned<RawProject>>,
    #[serde(default, rename = "agent")]
    agents: Vec<Spanned<AgentEntry>>,
    #[serde(default, rename = "host")]
    hosts: Vec<Spanned<HostConfig>>,
    /// Screen rules for every agent, added to the built-in ones.
    screen: Option<Spanned<crate::catalog::GenericRules>>,
    #[serde(default)]
    notify: Notify,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    stop_grace_secs: Option<Spanned<f64>>,
    detach_key: Option<Spanned<String>>,
    scrollback_lines: Option<Spanned<i64>>,
    probe_timeout_secs: Option<Spanned<f64>>,
    approval_timeout_secs: Option<Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProject {
    name: String,
    path: String,
    setup: Option<String>,
    worktree: Option<bool>,
    host: Option<String>,
}

impl Config {
    /// Defaults, as used when no config file exists.
    pub fn defaults(path: PathBuf) -> Self {
        Config {
            path,
            exists: false,
            settings: Settings::default(),
            keymap: Keymap::default(),
            projects: Vec::new(),
            hosts: Vec::new(),
            catalog: Catalog::builtin(),
        }
    }

    /// Reads and validates `path`; a missing file means defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Ok(Self::defaults(path.to_path_buf()))
            }
            Err(e) => Err(ConfigError {
                path: path.to_path_buf(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let err_at = |span: Option<Range<usize>>, message: String| {
            let (line, column) = line_col(text, span.map_or(0, |s| s.start));
            ConfigError {
                path: path.to_path_buf(),
                line,
                column,
                message,
            }
        };
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| err_at(e.span(), e.message().to_string()))?;

        let mut settings = Settings::default();
        if let Some(v) = raw.settings.stop_grace_secs {
            let secs = *v.get_ref();
            if !(0.0..=3600.0).contains(&secs) {
                return Err(err_at(
                    Some(v.span()),
                    "stop_grace_secs must be between 0 and 3600".into(),
                ));
            }
            settings.stop_grace = Duration::from_secs_f64(secs);
        }
        if let Some(v) = raw.settings.probe_timeout_secs {
            let secs = *v.get_ref();
            if !(0.1..=600.0).contains(&secs) {
                return Err(err_at(
                    Some(v.span()),
                    "probe_timeout_secs must be between 0.1 and 600".into(),
                ));
            }
            settings.probe_timeout = Duration::from_secs_f64(secs);
        }
        if let Some(v) = raw.settings.approval_timeout_secs {
            let secs = *v.get_ref();
            if !(1.0..=3600.0).contains(&secs) {
                return Err(err_at(
                    Some(v.span()),
                    "approval_timeout_secs must be between 1 and 3600".into(),
                ));
            }
            settings.approval_timeout = Duration::from_secs_f64(secs);
        }
        if let Some(v) = raw.settings.scrollback_lines {
            let lines = *v.get_ref();
            if !(0..=1_000_000).contains(&lines) {
                return Err(err_at(
                    Some(v.span()),
                    "scrollback_lines must be between 0 and 1000000".into(),
                ));
            }
            settings.scrollback_lines = lines as usize;
        }
        if let Some(v) = raw.settings.detach_key {
            let key = Key::parse(v.get_ref()).map_err(|e| err_at(Some(v.span()), e))?;
            if key.legacy_bytes().is_none() {
                return Err(err_at(
                    Some(v.span()),
                    format!(
                        "detach_key {key} cannot be recognised in raw input; use e.g. \"ctrl-]\" or \"f12\""
                    ),
                ));
            }
            settings.detach_key = key;
        }

        let spans: BTreeMap<&String, Range<usize>> =
            raw.keys.iter().map(|(k, v)| (k, v.span())).collect();
        let overrides: BTreeMap<String, KeyList> = raw
            .keys
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
            .collect();
        let keymap = Keymap::with_overrides(&overrides)
            .map_err(|(name, msg)| err_at(spans.get(&name).cloned(), format!("[keys] {msg}")))?;

        let mut projects: Vec<Project> = Vec::new();
        for p in raw.projects {
            let span = p.span();
            let p = p.into_inner();
            if p.name.trim().is_empty() {
                return Err(err_at(Some(span), "project name is empty".into()));
            }
            if projects.iter().any(|q| q.name == p.name) {
                return Err(err_at(
                    Some(span),
                    format!("project {:?} is defined twice", p.name),
                ));
            }
            if p.path.trim().is_empty() {
                return Err(err_at(
                    Some(span),
                    format!("project {:?} has an empty path", p.name),
                ));
            }
            projects.push(Project {
                name: p.name,
                path: expand_home(&p.path),
                setup: p.setup.filter(|s| !s.trim().is_empty()),
                worktree: p.worktree.unwrap_or(true),
                host: p.host.filter(|h| !crate::host::local::is_local(h)),
            });
        }

        let mut hosts: Vec<HostConfig> = Vec::new();
        for host in raw.hosts {
            let span = host.span();
            let host = host.into_inner();
            let name = host.name.trim();
            if name.is_empty()
                || crate::host::local::is_local(name)
                || name.contains(char::is_whitespace)
            {
                return Err(err_at(
                    Some(span),
                    format!(
                        "host name {:?} must be a single word other than \"local\"",
                        host.name
                    ),
                ));
            }
            if hosts.iter().any(|h| h.name == host.name) {
                return Err(err_at(
                    Some(span),
                    format!("host {:?} is defined twice", host.name),
                ));
            }
            hosts.push(host);
        }

        let mut catalog = Catalog::builtin();
        for entry in raw.agents {
            let span = entry.span();
            catalog
                .merge(entry.into_inner())
                .map_err(|e| err_at(Some(span), e))?;
        }
        if let Some(screen) = raw.screen {
            let span = screen.span();
            catalog
                .add_generic(screen.into_inner())
                .map_err(|e| err_at(Some(span), e))?;
        }
        settings.notify = raw.notify;

        Ok(Config {
            path: path.to_path_buf(),
            exists: true,
            settings,
            keymap,
            projects,
            hosts,
            catalog,
        })
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Expands a leading `~/` to `$HOME`.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ if path == "~" => std::env::var_os("HOME").map_or_else(|| path.into(), PathBuf::from),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyCode;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("/cfg/config.toml"), text)
    }

    #[test]
    fn empty_config_is_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.settings.stop_grace, Duration::from_secs(5));
        assert!(c.projects.is_empty());
        assert!(c.catalog.get("claude").is_some());
    }

    #[test]
    fn full_config() {
        let c = parse(
            r#"
[settings]
stop_grace_secs = 1.5
detach_key = "ctrl-a"
scrollback_lines = 20000

[keys]
new_task = ["t", "ctrl-n"]

[[project]]
name = "web"
path = "/src/web"

[[agent]]
id = "sh"
binary = "bash"
interactive = []
headless = ["-c", "{prompt}"]
"#,
        )
        .unwrap();
        assert_eq!(c.settings.stop_grace, Duration::from_millis(1500));
        assert_eq!(c.settings.detach_key.code, KeyCode::Char('a'));
        assert_eq!(c.settings.scrollback_lines, 20000);
        assert_eq!(c.keymap.label(crate::keymap::Command::NewTask), "t/Ctrl-n");
        assert_eq!(
            c.projects,
            vec![Project {
                name: "web".into(),
                path: "/src/web".into(),
                setup: None,
                worktree: true,
                host: None,
            }]
        );
        assert_eq!(c.catalog.get("sh").unwrap().binary, "bash");
    }

    #[test]
    fn syntax_error_names_file_line_and_column() {
        let e = parse("[settings]\nstop_grace_secs = = 3\n").unwrap_err();
        assert_eq!((e.line, e.path.to_str().unwrap()), (2, "/cfg/config.toml"));
        assert!(
            e.to_string()
                .starts_with("invalid config /cfg/config.toml:2:"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field_is_reported_with_line() {
        let e = parse("\n\n[settings]\nstop_grace = 3\n").unwrap_err();
        assert_eq!(e.line, 4);
        assert!(
            e.message.contains("unknown field `stop_grace`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn semantic_errors_point_at_their_entry() {
        let e = parse("[keys]\nstop = \"q\"\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("already bound"), "{}", e.message);

        let e = parse("[settings]\ndetach_key = \"up\"\n").unwrap_err();
        assert_eq!(e.line, 2);

        let e = parse("[[project]]\nname = \"a\"\npath = \"/a\"\n\n[[project]]\nname = \"a\"\npath = \"/b\"\n")
            .unwrap_err();
        assert_eq!(e.line, 5);
        assert!(e.message.contains("defined twice"));

        let e = parse("[[agent]]\nid = \"x\"\nbinary = \"x\"\ninteractive = [\"--p={prompt}\"]\n")
            .unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("whole argv element"));

        let e = parse("[settings]\nstop_grace_secs = -1\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn screen_rules_and_notifications_from_config() {
        let c = parse(
            "[screen]\nwaiting = ['Deploy\\?']\n\n[[agent]]\nid = \"claude\"\nworking = ['Brewing']\n\n\
             [notify]\nidle = false\ncommand = \"cat >> /tmp/n\"\n",
        )
        .unwrap();
        let rules = c.catalog.screen_rules("claude");
        let verdict = |text: &str| rules.classify(&[text.to_string()]).map(|(s, _)| s);
        use crate::attention::ActivityState::*;
        assert_eq!(verdict("Deploy? now"), Some(Waiting));
        assert_eq!(verdict("✻ Brewing"), Some(Working));
        assert_eq!(
            verdict("Proceed? [y/n]"),
            Some(Waiting),
            "built-in rules stay"
        );
        assert!(!c.settings.notify.idle && c.settings.notify.waiting);
        assert_eq!(c.settings.notify.command.as_deref(), Some("cat >> /tmp/n"));

        let e = parse("\n[screen]\nwaiting = ['(unclosed']\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(
            e.message.contains("not a valid regular expression"),
            "{}",
            e.message
        );
        let e = parse("[[agent]]\nid = \"codex\"\nwaiting = ['[z-a]']\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("agent \"codex\""), "{}", e.message);
        let e = parse("[notify]\nloud = true\n").unwrap_err();
        assert!(e.message.contains("unknown field `loud`"), "{}", e.message);
        let e = parse("[[agent]]\nid = \"codex\"\nhooks = \"nope\"\n").unwrap_err();
        assert!(e.message.contains("hook style"), "{}", e.message);
    }

    #[test]
    fn add_project_appends_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "[settings]\nstop_grace_secs = 2\n").unwrap();
        let mut c = Config::load(&path).unwrap();
        c.add_project(Project {
            name: "we\"ird".into(),
            path: "/x y/z".into(),
            ..Default::default()
        })
        .unwrap();
        let again = Config::load(&path).unwrap();
        assert_eq!(again.settings.stop_grace, Duration::from_secs(2));
        assert_eq!(again.projects[0].name, "we\"ird");
        assert_eq!(again.projects[0].path, PathBuf::from("/x y/z"));
    }
}
