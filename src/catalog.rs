//! The agent catalog: which agent CLIs flightdeck knows, as data.
//!
//! The built-in entries come from `assets/agents.toml` (embedded); the user's
//! config adds agents or overrides fields of built-in ones with `[[agent]]`
//! tables of the same shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::shell;

/// The placeholder for the prompt in argv templates. Always a whole element.
pub const PROMPT: &str = "{prompt}";

const BUILTIN: &str = include_str!("../assets/agents.toml");

/// One `[[agent]]` table as written in TOML. Every field but `id` is optional
/// so that a user entry can override just what it names.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AgentEntry {
    pub id: String,
    pub name: Option<String>,
    pub binary: Option<String>,
    pub version: Option<Vec<String>>,
    pub interactive: Option<Vec<String>>,
    pub headless: Option<Vec<String>>,
    pub acp: Option<Vec<String>>,
    pub acp_check: Option<Vec<String>>,
    pub acp_check_contains: Option<String>,
    pub install: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
    /// How the agent reports its state: "claude" (`--settings` with hooks)
    /// or "codex" (`-c notify=…`). See `attention::hooks`.
    pub hooks: Option<String>,
    /// Screen rules (regular expressions) for "waits for its user" and
    /// "is working"; a user's entry adds to the built-in ones.
    pub waiting: Option<Vec<String>>,
    pub working: Option<Vec<String>>,
}

/// The `[screen]` table: rules for every agent, after its own.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GenericRules {
    #[serde(default)]
    pub waiting: Vec<String>,
    #[serde(default)]
    pub working: Vec<String>,
}

/// A resolved catalog entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub binary: String,
    pub version: Vec<String>,
    pub interactive: Vec<String>,
    pub headless: Option<Vec<String>>,
    pub acp: Option<Vec<String>>,
    pub acp_check: Option<Vec<String>>,
    pub acp_check_contains: Option<String>,
    pub install: Option<Vec<String>>,
    /// Extra environment for tasks running this agent.
    pub env: BTreeMap<String, String>,
    pub hooks: Option<crate::attention::hooks::HookKind>,
    pub waiting: Vec<String>,
    pub working: Vec<String>,
    /// False when the user changed `binary` away from the catalog's default;
    /// the install recipe is then not offered (it would install something else).
    pub default_binary: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RunMode {
    #[default]
    Interactive,
    Headless,
}

impl RunMode {
    pub fn label(self) -> &'static str {
        match self {
            RunMode::Interactive => "interactive",
            RunMode::Headless => "headless",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    agents: Vec<Agent>,
    #[serde(default)]
    generic: GenericRules,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    agent: Vec<AgentEntry>,
    screen: GenericRules,
}

impl Catalog {
    /// The embedded catalog. It is part of the binary, so a broken one is a bug.
    pub fn builtin() -> Self {
        let file: CatalogFile = toml::from_str(BUILTIN).expect("assets/agents.toml parses");
        let mut catalog = Catalog {
            generic: file.screen,
            ..Catalog::default()
        };
        for entry in file.agent {
            catalog
                .merge(entry)
                .unwrap_or_else(|e| panic!("assets/agents.toml: {e}"));
        }
        catalog
    }

    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    pub fn get(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    /// Adds the user's generic screen rules (`[screen]` in config).
    pub fn add_generic(&mut self, rules: GenericRules) -> Result<(), String> {
        for pattern in rules.waiting.iter().chain(&rules.working) {
            crate::attention::rules::check(pattern)?;
        }
        extend_unique(&mut self.generic.waiting, rules.waiting);
        extend_unique(&mut self.generic.working, rules.working);
        Ok(())
    }

    /// The screen rules for tasks of agent `id` (the generic ones alone for
    /// an agent not in the catalog).
    pub fn screen_rules(&self, id: &str) -> crate::attention::ScreenRules {
        let agent = self.get(id);
        let own = |f: fn(&Agent) -> &Vec<String>| agent.map(f).into_iter().flatten();
        crate::attention::ScreenRules::new(
            own(|a| &a.waiting).chain(&self.generic.waiting),
            own(|a| &a.working).chain(&self.generic.working),
        )
    }

    /// Adds a new agent or overrides the fields `entry` sets on an existing one.
    pub fn merge(&mut self, entry: AgentEntry) -> Result<(), String> {
        validate_id(&entry.id)?;
        let agent = match self.agents.iter_mut().find(|a| a.id == entry.id) {
            Some(existing) => {
                existing.apply(entry)?;
                existing.clone()
            }
            None => {
                let agent = Agent::from_new_entry(entry)?;
                self.agents.push(agent.clone());
                agent
            }
        };
        agent.validate()
    }
}

/// Appends what `list` does not hold yet.
fn extend_unique(list: &mut Vec<String>, more: Vec<String>) {
    for item in more {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

fn validate_id(id: &str) -> Result<(), String> {
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(format!(
            "agent id {id:?} must be non-empty and use only letters, digits, '-', '_' and '.'"
        ));
    }
    Ok(())
}

impl Agent {
    fn from_new_entry(entry: AgentEntry) -> Result<Self, String> {
        let binary = entry
            .binary
            .clone()
            .ok_or_else(|| format!("agent {:?} needs a `binary`", entry.id))?;
        let mut agent = Agent {
            id: entry.id.clone(),
            name: entry.id.clone(),
            binary,
            version: vec!["--version".into()],
            interactive: vec![PROMPT.into()],
            headless: None,
            acp: None,
            acp_check: None,
            acp_check_contains: None,
            install: None,
            env: BTreeMap::new(),
            hooks: None,
            waiting: Vec::new(),
            working: Vec::new(),
            default_binary: true,
        };
        agent.apply(entry)?;
        agent.default_binary = true;
        Ok(agent)
    }

    fn apply(&mut self, entry: AgentEntry) -> Result<(), String> {
        if let Some(binary) = entry.binary {
            if binary != self.binary {
                self.default_binary = false;
            }
            self.binary = binary;
        }
        if let Some(install) = entry.install {
            // An explicit recipe is the user's own: offer it whatever the binary.
            self.install = Some(install);
            self.default_binary = true;
        }
        macro_rules! set {
            ($($field:ident),*) => {$(if let Some(v) = entry.$field { self.$field = v; })*};
        }
        macro_rules! set_opt {
            ($($field:ident),*) => {$(if entry.$field.is_some() { self.$field = entry.$field; })*};
        }
        set!(name, version, interactive, env);
        set_opt!(headless, acp, acp_check, acp_check_contains);
        if let Some(kind) = entry.hooks {
            self.hooks = Some(
                kind.parse()
                    .map_err(|e| format!("agent {:?}: {e}", self.id))?,
            );
        }
        extend_unique(&mut self.waiting, entry.waiting.unwrap_or_default());
        extend_unique(&mut self.working, entry.working.unwrap_or_default());
        Ok(())
    }

    fn validate(&self) -> Result<(), String> {
        if self.binary.trim().is_empty() {
            return Err(format!("agent {:?}: `binary` is empty", self.id));
        }
        let templates = [
            ("interactive", Some(&self.interactive)),
            ("headless", self.headless.as_ref()),
        ];
        for (field, template) in templates {
            let Some(template) = template else { continue };
            if let Some(bad) = template
                .iter()
                .find(|w| w.contains(PROMPT) && w.as_str() != PROMPT)
            {
                return Err(format!(
                    "agent {:?}: `{field}` element {bad:?} embeds {PROMPT}; \
                     the prompt must be a whole argv element, e.g. [\"-p\", \"{PROMPT}\"]",
                    self.id
                ));
            }
            if template.iter().filter(|w| *w == PROMPT).count() > 1 {
                return Err(format!(
                    "agent {:?}: `{field}` uses {PROMPT} more than once",
                    self.id
                ));
            }
        }
        for pattern in self.waiting.iter().chain(&self.working) {
            crate::attention::rules::check(pattern)
                .map_err(|e| format!("agent {:?}: {e}", self.id))?;
        }
        if let Some(name) = self.env.keys().find(|k| !shell::is_valid_env_name(k)) {
            return Err(format!(
                "agent {:?}: {name:?} is not a valid environment variable name",
                self.id
            ));
        }
        if let Some(name) = self
            .env
            .iter()
            .find(|(_, v)| v.contains('\0'))
            .map(|(k, _)| k)
        {
            return Err(format!(
                "agent {:?}: the value of environment variable {name} contains a NUL byte, which no process environment can hold",
                self.id
            ));
        }
        Ok(())
    }

    /// The arguments (after the binary) for a run in `mode` with `prompt`.
    /// The prompt becomes exactly one argv element, byte for byte.
    pub fn args(&self, mode: RunMode, prompt: &str) -> Result<Vec<String>, String> {
        let template = match mode {
            RunMode::Interactive => &self.interactive,
            RunMode::Headless => self
                .headless
                .as_ref()
                .ok_or_else(|| format!("{} has no headless mode in the catalog", self.name))?,
        };
        let takes_prompt = template.iter().any(|w| w == PROMPT);
        if !takes_prompt && !prompt.is_empty() {
            return Err(format!(
                "{} takes no prompt in {} mode; clear the prompt or pick another mode",
                self.name,
                mode.label()
            ));
        }
        if mode == RunMode::Headless && takes_prompt && prompt.is_empty() {
            return Err(format!("{} needs a prompt in headless mode", self.name));
        }
        Ok(template
            .iter()
            .filter(|w| !(w.as_str() == PROMPT && prompt.is_empty()))
            .map(|w| {
                if w == PROMPT {
                    prompt.to_string()
                } else {
                    w.clone()
                }
            })
            .collect())
    }

    /// The idempotent install script for this agent, if one may be offered.
    pub fn install_script(&self) -> Option<String> {
        let recipe = self.install.as_ref().filter(|_| self.default_binary)?;
        Some(format!(
            "if ! command -v {bin} >/dev/null 2>&1; then {install}; else echo {already}; fi",
            bin = shell::quote(&self.binary),
            install = shell::join(recipe),
            already = shell::quote(&format!("{} is already installed", self.binary)),
        ))
    }
}

/// Checks a prompt before dispatch. NUL cannot be carried in argv at all and
/// other control characters (but tab, newline and carriage return) are almost
/// certainly a paste accident, so both are refused with their position.
pub fn check_prompt(prompt: &str) -> Result<(), String> {
    // Linux refuses one argv element longer than this (MAX_ARG_STRLEN, with
    // its NUL); found here, not as a failed exec in the task.
    const MAX_ARG: usize = 128 * 1024 - 1;
    if prompt.len() > MAX_ARG {
        return Err(format!(
            "the prompt is too long: {} bytes, and one argument may be at most {MAX_ARG} bytes; \
             put the details in a file in the project and point the agent at it",
            prompt.len()
        ));
    }
    for (line_no, line) in prompt.split('\n').enumerate() {
        for (col, ch) in line.chars().enumerate() {
            if ch == '\0' {
                return Err(format!(
                    "the prompt contains a NUL byte (line {}, column {}); \
                     it cannot be passed as an argument",
                    line_no + 1,
                    col + 1
                ));
            }
            if ch.is_control() && !matches!(ch, '\t' | '\r') {
                return Err(format!(
                    "the prompt contains control character U+{:04X} (line {}, column {}); remove it",
                    ch as u32,
                    line_no + 1,
                    col + 1
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUIRED: [&str; 11] = [
        "claude",
        "codex",
        "gemini",
        "opencode",
        "goose",
        "aider",
        "cursor-agent",
        "pi",
        "amp",
        "qwen",
        "copilot",
    ];

    #[test]
    fn builtin_has_every_required_agent() {
        let catalog = Catalog::builtin();
        for id in REQUIRED {
            let agent = catalog.get(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(!agent.binary.is_empty());
            assert!(agent.install.is_some(), "{id} has no install recipe");
            assert!(agent.headless.is_some(), "{id} has no headless mode");
        }
    }

    #[test]
    fn prompt_is_one_whole_argument() {
        let catalog = Catalog::builtin();
        let claude = catalog.get("claude").unwrap();
        let prompt = "fix \"it\" $(rm -rf /) `id`\nline two ✓";
        assert_eq!(
            claude.args(RunMode::Headless, prompt).unwrap(),
            vec!["-p".to_string(), prompt.to_string()]
        );
        assert_eq!(
            claude.args(RunMode::Interactive, prompt).unwrap(),
            vec![prompt]
        );
        assert!(claude.args(RunMode::Interactive, "").unwrap().is_empty());
        assert!(claude.args(RunMode::Headless, "").is_err());
    }

    #[test]
    fn agent_without_prompt_slot_refuses_a_prompt() {
        let catalog = Catalog::builtin();
        let aider = catalog.get("aider").unwrap();
        assert!(aider.args(RunMode::Interactive, "").unwrap().is_empty());
        let err = aider.args(RunMode::Interactive, "hi").unwrap_err();
        assert!(err.contains("takes no prompt"), "{err}");
    }

    #[test]
    fn spliced_placeholder_is_rejected() {
        let mut catalog = Catalog::builtin();
        let err = catalog
            .merge(AgentEntry {
                id: "bad".into(),
                binary: Some("bad".into()),
                interactive: Some(vec!["--prompt={prompt}".into()]),
                ..Default::default()
            })
            .unwrap_err();
        assert!(err.contains("whole argv element"), "{err}");
    }

    #[test]
    fn override_changes_only_named_fields_and_disables_install() {
        let mut catalog = Catalog::builtin();
        catalog
            .merge(AgentEntry {
                id: "claude".into(),
                binary: Some("/opt/claude/bin/claude".into()),
                ..Default::default()
            })
            .unwrap();
        let claude = catalog.get("claude").unwrap();
        assert_eq!(claude.binary, "/opt/claude/bin/claude");
        assert_eq!(claude.name, "Claude Code");
        assert!(claude.install_script().is_none());
    }

    #[test]
    fn custom_agent_is_any_program() {
        let mut catalog = Catalog::builtin();
        catalog
            .merge(AgentEntry {
                id: "shell".into(),
                binary: Some("bash".into()),
                interactive: Some(vec![]),
                headless: Some(vec!["-c".into(), PROMPT.into()]),
                ..Default::default()
            })
            .unwrap();
        let shell = catalog.get("shell").unwrap();
        assert_eq!(shell.name, "shell");
        assert_eq!(
            shell.args(RunMode::Headless, "echo hi").unwrap(),
            vec!["-c", "echo hi"]
        );
    }

    #[test]
    fn new_agent_needs_binary_and_valid_env() {
        let mut catalog = Catalog::default();
        assert!(
            catalog
                .merge(AgentEntry {
                    id: "x".into(),
                    ..Default::default()
                })
                .unwrap_err()
                .contains("binary")
        );
        let err = catalog
            .merge(AgentEntry {
                id: "y".into(),
                binary: Some("y".into()),
                env: Some([("BAD-NAME".to_string(), "1".to_string())].into()),
                ..Default::default()
            })
            .unwrap_err();
        assert!(err.contains("environment variable"), "{err}");
    }

    #[test]
    fn install_script_is_idempotent_and_quoted() {
        let catalog = Catalog::builtin();
        let script = catalog.get("claude").unwrap().install_script().unwrap();
        assert_eq!(
            script,
            "if ! command -v claude >/dev/null 2>&1; then npm install -g @anthropic-ai/claude-code; \
             else echo 'claude is already installed'; fi"
        );
    }

    #[test]
    fn prompt_checks() {
        assert!(check_prompt("quotes ' \" $() `x` \n ✓ \t").is_ok());
        let nul = check_prompt("ab\ncd\0").unwrap_err();
        assert!(
            nul.contains("NUL") && nul.contains("line 2, column 3"),
            "{nul}"
        );
        let esc = check_prompt("a\x1b[31m").unwrap_err();
        assert!(esc.contains("U+001B"), "{esc}");
        assert!(check_prompt(&"x".repeat(128 * 1024 - 1)).is_ok());
        let long = check_prompt(&"x".repeat(200_000)).unwrap_err();
        assert!(long.contains("too long: 200000 bytes"), "{long}");
    }

    #[test]
    fn a_nul_in_an_env_value_is_refused_by_name() {
        let err = Catalog::default()
            .merge(AgentEntry {
                id: "y".into(),
                binary: Some("y".into()),
                env: Some([("API_BASE".to_string(), "a\0b".to_string())].into()),
                ..Default::default()
            })
            .unwrap_err();
        assert!(err.contains("API_BASE") && err.contains("NUL"), "{err}");
    }
}
