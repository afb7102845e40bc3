//! Agent hooks: how each agent CLI is told to report its state to
//! flightdeck, and what its reports mean.
//!
//! The wiring is per task and touches neither the user's agent config nor
//! the worktree: claude gets `--settings FILE` (a file in flightdeck's own
//! state directory) whose hooks run `flightdeck hook claude`; codex gets
//! `-c notify=[…]`, which runs `flightdeck hook codex JSON` when a turn ends.
//! Any program can report with `flightdeck hook state working|waiting|idle`.

use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{ActivityState, MAX_REASON, one_line};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HookKind {
    Claude,
    Codex,
}

impl FromStr for HookKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "claude" => Ok(Self::Claude),
            "codex" => Ok(Self::Codex),
            other => Err(format!(
                "hooks = {other:?} is not a hook style flightdeck knows (\"claude\" or \"codex\")"
            )),
        }
    }
}

/// How long claude lets a `PermissionRequest` hook wait for its answer;
/// longer than the longest `approval_timeout_secs`.
pub const APPROVAL_HOOK_TIMEOUT_SECS: u64 = 3700;

/// The claude events flightdeck listens to, and what each means.
const CLAUDE_EVENTS: &[(&str, ActivityState, bool)] = &[
    // (event, state, takes a tool matcher)
    ("UserPromptSubmit", ActivityState::Working, false),
    ("PreToolUse", ActivityState::Working, true),
    ("PostToolUse", ActivityState::Working, true),
    ("Notification", ActivityState::Waiting, false),
    ("PermissionRequest", ActivityState::Waiting, true),
    ("Stop", ActivityState::Idle, false),
];

/// What a task's argv needs so its agent reports through `program` (the
/// flightdeck binary), and the settings file to write first (claude), as
/// (argv to insert after the agent's program, file contents).
pub fn wiring(kind: HookKind, program: &str, settings_file: &str) -> (Vec<String>, Option<String>) {
    let command = crate::shell::quote(program);
    match kind {
        HookKind::Claude => {
            let mut hooks = serde_json::Map::new();
            for (event, _, matcher) in CLAUDE_EVENTS {
                // A permission request waits for its answer (the daemon
                // gives up first, at `approval_timeout_secs`).
                let timeout = match *event {
                    "PermissionRequest" => APPROVAL_HOOK_TIMEOUT_SECS,
                    _ => 10,
                };
                let handler = json!({
                    "type": "command",
                    "command": format!("{command} hook claude"),
                    "timeout": timeout,
                });
                let entry = match matcher {
                    true => json!({ "matcher": "*", "hooks": [handler] }),
                    false => json!({ "hooks": [handler] }),
                };
                hooks.insert(event.to_string(), json!([entry]));
            }
            let settings = json!({ "hooks": hooks }).to_string();
            (
                vec!["--settings".into(), settings_file.into()],
                Some(settings),
            )
        }
        HookKind::Codex => {
            // codex parses the value as TOML (a JSON array of strings is
            // one) and runs it without a shell.
            let toml =
                serde_json::to_string(&[program, "hook", "codex"]).expect("strings serialize");
            (vec!["-c".into(), format!("notify={toml}")], None)
        }
    }
}

/// One report from an agent's hook, as the daemon receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookReport {
    pub state: ActivityState,
    /// `PermissionRequest Bash(rm -rf build)`.
    pub reason: String,
    /// The agent reports only this (codex only says when a turn ends): the
    /// report stands until the agent prints again, not until its next one.
    #[serde(default)]
    pub until_output: bool,
}

/// Reads what a hook was called with: claude's JSON on stdin, codex's JSON
/// argument, or `state NAME [REASON…]`. `None` for an event that says
/// nothing about attention; an error for input that is not what the agent
/// sends.
pub fn interpret(kind: &str, args: &[String], stdin: &str) -> Result<Option<HookReport>, String> {
    match kind {
        "claude" => {
            let input: Value = serde_json::from_str(stdin)
                .map_err(|e| format!("claude hook input is not JSON: {e}"))?;
            let event = input["hook_event_name"]
                .as_str()
                .ok_or("claude hook input has no hook_event_name")?;
            let Some(&(_, state, _)) = CLAUDE_EVENTS.iter().find(|(e, _, _)| *e == event) else {
                return Ok(None);
            };
            let detail = match (&input["tool_name"], &input["message"]) {
                (Value::String(tool), _) => {
                    format!(" {tool}({})", tool_summary(&input["tool_input"]))
                }
                (_, Value::String(message)) => format!(" {message}"),
                _ => String::new(),
            };
            Ok(Some(HookReport {
                state,
                reason: one_line(&format!("{event}{detail}"), MAX_REASON),
                until_output: false,
            }))
        }
        "codex" => {
            let raw = args.last().map(String::as_str).unwrap_or(stdin);
            let input: Value = serde_json::from_str(raw)
                .map_err(|e| format!("codex notify argument is not JSON: {e}"))?;
            match input["type"].as_str() {
                Some(kind @ "agent-turn-complete") => Ok(Some(HookReport {
                    state: ActivityState::Idle,
                    reason: kind.into(),
                    until_output: true,
                })),
                Some(_) => Ok(None),
                None => Err("codex notify argument has no \"type\"".into()),
            }
        }
        "state" => {
            let (name, words) = args
                .split_first()
                .ok_or("usage: flightdeck hook state working|waiting|idle [REASON…]")?;
            let state = match name.as_str() {
                "working" => ActivityState::Working,
                "waiting" => ActivityState::Waiting,
                "idle" => ActivityState::Idle,
                other => return Err(format!("unknown state {other:?}: working, waiting or idle")),
            };
            Ok(Some(HookReport {
                state,
                reason: one_line(&words.join(" "), MAX_REASON),
                until_output: false,
            }))
        }
        other => Err(format!(
            "unknown hook style {other:?}: claude, codex or state"
        )),
    }
}

/// A tool call's input in a few words: its command, file or first field.
fn tool_summary(input: &Value) -> String {
    let text = ["command", "file_path", "path", "url", "pattern"]
        .iter()
        .find_map(|k| input[k].as_str().map(str::to_string))
        .unwrap_or_else(|| match input {
            Value::Null => String::new(),
            other => other.to_string(),
        });
    one_line(&text, 80)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claude_reports_read_as_claude_means_them() {
        let report = |json: &str| interpret("claude", &[], json).unwrap();
        let r = report(r#"{"hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"rm -rf build"}}"#).unwrap();
        assert_eq!(r.state, ActivityState::Waiting);
        assert_eq!(r.reason, "PermissionRequest Bash(rm -rf build)");
        let r = report(
            r#"{"hook_event_name":"Notification","message":"Claude is waiting for your input"}"#,
        )
        .unwrap();
        assert_eq!(
            (r.state, r.reason.as_str()),
            (
                ActivityState::Waiting,
                "Notification Claude is waiting for your input"
            )
        );
        assert_eq!(
            report(r#"{"hook_event_name":"Stop"}"#).unwrap().state,
            ActivityState::Idle
        );
        assert_eq!(report(r#"{"hook_event_name":"SessionEnd"}"#), None);
        assert!(interpret("claude", &[], "not json").is_err());
        assert!(interpret("claude", &[], "{}").is_err());
    }

    #[test]
    fn codex_turn_ends_are_idle() {
        let args = vec![r#"{"type":"agent-turn-complete","turn-id":"1"}"#.to_string()];
        assert_eq!(
            interpret("codex", &args, "").unwrap().unwrap().state,
            ActivityState::Idle
        );
        assert!(interpret("codex", &["[1]".into()], "").is_err());
    }

    #[test]
    fn claude_wiring_is_a_settings_file_with_every_event() {
        let (argv, file) = wiring(HookKind::Claude, "/opt/fd dir/flightdeck", "/s/7.json");
        assert_eq!(argv, ["--settings", "/s/7.json"]);
        let settings: Value = serde_json::from_str(&file.unwrap()).unwrap();
        for (event, _, _) in CLAUDE_EVENTS {
            let command = &settings["hooks"][event][0]["hooks"][0]["command"];
            assert_eq!(command, "'/opt/fd dir/flightdeck' hook claude", "{event}");
        }
        assert_eq!(settings["hooks"]["PreToolUse"][0]["matcher"], "*");
    }

    #[test]
    fn codex_wiring_is_a_toml_array() {
        let (argv, file) = wiring(HookKind::Codex, "/opt/fd dir/flightdeck", "");
        assert_eq!(
            argv,
            ["-c", r#"notify=["/opt/fd dir/flightdeck","hook","codex"]"#]
        );
        assert!(file.is_none());
    }
}
