//! Approvals: an agent's blocking permission request (claude's
//! `PermissionRequest` hook) answered from the dashboard or `flightdeck
//! approve`/`deny`. The hook waits on the daemon; with nobody there to
//! ask, or when the time is up, it steps aside and the agent asks in its
//! own UI as usual. Nothing is ever allowed that a person did not allow.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The most of a tool's input shown on a card.
const MAX_INPUT: usize = 8 * 1024;

/// What the agent asks to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    /// The tool (`Bash`, `Edit`, `mcp__github__create_issue`).
    pub tool: String,
    /// Its input, pretty-printed JSON (cut at 8 KiB, control characters
    /// other than newlines removed).
    pub input: String,
    /// Where the agent runs.
    pub cwd: String,
}

/// One open request, as the daemon announces it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingApproval {
    /// Chosen by the hook that waits for the answer.
    pub token: u64,
    pub task: u64,
    pub request: ApprovalRequest,
    pub since_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    /// Allow, and allow this tool again for the rest of the task without
    /// asking (the user chose it, for this task only).
    AllowAlways,
    Deny,
    /// Nobody answered: the agent asks in its own UI.
    StepAside,
}

impl Decision {
    pub fn label(self) -> &'static str {
        match self {
            Decision::Allow => "allowed",
            Decision::AllowAlways => "allowed for the rest of the task",
            Decision::Deny => "denied",
            Decision::StepAside => "left to the agent's own prompt",
        }
    }
}

/// The request in a claude `PermissionRequest` hook's input; `None` for
/// any other event.
pub fn claude_request(input: &Value) -> Option<ApprovalRequest> {
    if input["hook_event_name"] != "PermissionRequest" {
        return None;
    }
    let tool = input["tool_name"].as_str()?.to_string();
    let pretty = serde_json::to_string_pretty(&input["tool_input"]).unwrap_or_default();
    let mut text: String = pretty
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .filter(|c| !crate::text::is_bidi_mark(*c))
        .take(MAX_INPUT)
        .collect();
    if pretty.chars().count() > MAX_INPUT {
        text.push('…');
    }
    Some(ApprovalRequest {
        tool,
        input: text,
        cwd: input["cwd"].as_str().unwrap_or_default().to_string(),
    })
}

/// What the hook prints for claude: its decision, or nothing when it steps
/// aside (claude then shows its own dialog).
pub fn claude_answer(decision: Decision) -> Option<String> {
    let verdict = match decision {
        Decision::Allow | Decision::AllowAlways => json!({ "behavior": "allow" }),
        Decision::Deny => json!({
            "behavior": "deny",
            "message": "Denied by the user from the flightdeck dashboard.",
        }),
        Decision::StepAside => return None,
    };
    let output = json!({
        "hookSpecificOutput": {
            "hookEventName": "PermissionRequest",
            "decision": verdict,
        }
    });
    Some(output.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permission_request_becomes_a_card_and_the_answer_claude_json() {
        let input = json!({
            "hook_event_name": "PermissionRequest",
            "tool_name": "Bash",
            "tool_input": {"command": "rm -rf build\u{1b}[31m", "description": "clean"},
            "cwd": "/w/t1",
        });
        let request = claude_request(&input).unwrap();
        assert_eq!(request.tool, "Bash");
        // JSON shows the escape as `\u001b`: nothing reaches the terminal raw.
        assert!(
            request
                .input
                .contains(r#""command": "rm -rf build\u001b[31m""#)
        );
        assert!(!request.input.contains('\u{1b}'));
        assert_eq!(request.cwd, "/w/t1");
        assert!(claude_request(&json!({"hook_event_name": "Stop"})).is_none());

        let allow: Value = serde_json::from_str(&claude_answer(Decision::Allow).unwrap()).unwrap();
        assert_eq!(allow["hookSpecificOutput"]["decision"]["behavior"], "allow");
        assert_eq!(
            allow["hookSpecificOutput"]["hookEventName"],
            "PermissionRequest"
        );
        let deny: Value = serde_json::from_str(&claude_answer(Decision::Deny).unwrap()).unwrap();
        assert_eq!(deny["hookSpecificOutput"]["decision"]["behavior"], "deny");
        assert_eq!(claude_answer(Decision::StepAside), None);
    }

    #[test]
    fn huge_inputs_are_cut() {
        let input = json!({
            "hook_event_name": "PermissionRequest",
            "tool_name": "Write",
            "tool_input": {"content": "x".repeat(100_000)},
        });
        let request = claude_request(&input).unwrap();
        assert!(request.input.chars().count() <= MAX_INPUT + 1);
        assert!(request.input.ends_with('…'));
    }
}
