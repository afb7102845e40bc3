//! The fake agent's hooks, called the way the real CLIs call theirs: claude
//! reads `--settings FILE|JSON` and runs each matching hook command with
//! `sh -c`, the event as JSON on stdin; codex reads `-c notify=[argv]` and
//! runs that argv with the event as its last argument when a turn ends.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

#[derive(Debug, Default)]
pub struct Hooks {
    /// The `hooks` table of the claude-style settings.
    claude: Option<Value>,
    /// The codex-style notify program.
    notify: Option<Vec<String>>,
}

static HOOKS: OnceLock<Hooks> = OnceLock::new();

/// Reads the hook options from argv; the rest of argv is not looked at.
pub fn init(args: &[String]) {
    let mut hooks = Hooks::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--settings" => {
                let Some(value) = it.next() else { break };
                let text = std::fs::read_to_string(value).unwrap_or_else(|_| value.clone());
                match serde_json::from_str::<Value>(&text) {
                    Ok(settings) => hooks.claude = Some(settings["hooks"].clone()),
                    Err(e) => eprintln!("fake-agent: --settings {value}: {e}"),
                }
            }
            "-c" => {
                let Some(value) = it.next() else { break };
                if let Some(array) = value.strip_prefix("notify=") {
                    hooks.notify = serde_json::from_str(array).ok();
                }
            }
            _ => {}
        }
    }
    let _ = HOOKS.set(hooks);
}

fn hooks() -> &'static Hooks {
    HOOKS.get_or_init(Hooks::default)
}

/// Whether `--settings` or `-c` take the next argument (for the prompt parser).
pub fn takes_value(flag: &[u8]) -> bool {
    matches!(flag, b"--settings" | b"-c")
}

/// `hook=EVENT[:TOOL[:INPUT]]`: runs every hook claude would for the event
/// and reports what each answered (a `PermissionRequest` hook's decision).
pub fn fire(spec: &str) -> String {
    let mut parts = spec.splitn(3, ':');
    let event = parts.next().unwrap_or_default();
    let tool = parts.next();
    let input = parts.next().map(|i| i.replace("\\s", " "));
    let Some(table) = &hooks().claude else {
        return format!("hook {event}: no hooks configured");
    };
    let mut payload = json!({
        "session_id": "fake-session",
        "hook_event_name": event,
        "cwd": std::env::current_dir().unwrap_or_default(),
    });
    if let Some(tool) = tool {
        payload["tool_name"] = json!(tool);
        payload["tool_input"] = json!({ "command": input.clone().unwrap_or_default() });
    }
    if event == "Notification" {
        payload["message"] = json!(input.unwrap_or_else(|| "Claude needs your permission".into()));
    }
    let mut answers = Vec::new();
    let mut behavior = None;
    for entry in table[event].as_array().into_iter().flatten() {
        let matcher = entry["matcher"].as_str().unwrap_or("");
        let matches = matcher.is_empty() || matcher == "*" || Some(matcher) == tool;
        if !matches {
            continue;
        }
        for handler in entry["hooks"].as_array().into_iter().flatten() {
            let Some(command) = handler["command"].as_str() else {
                continue;
            };
            let (said, stdout) = run(command, &payload.to_string());
            answers.push(said);
            // A permission hook may decide, as claude reads it.
            let decision = serde_json::from_str::<Value>(&stdout).ok();
            if let Some(b) = decision
                .as_ref()
                .and_then(|d| d["hookSpecificOutput"]["decision"]["behavior"].as_str())
            {
                behavior = Some(b.to_string());
            }
        }
    }
    let summary = match answers.is_empty() {
        true => format!("hook {event}: none"),
        false => format!("hook {event}: {}", answers.join("; ")),
    };
    if event != "PermissionRequest" {
        return summary;
    }
    // Like claude: the hook's decision, or else its own dialog.
    match behavior {
        Some(b) => format!("{summary}\npermission: {b} by hook"),
        None => format!(
            "{summary}\n{}",
            own_permission_prompt(tool.unwrap_or("tool"))
        ),
    }
}

fn own_permission_prompt(tool: &str) -> String {
    print!("Allow {tool}? [y/n] ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    format!("permission: {} at the agent's own prompt", line.trim())
}

/// Runs one hook command as claude does: how it went, and what it printed.
fn run(command: &str, stdin: &str) -> (String, String) {
    let child = Command::new("sh")
        .args(["-c", command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) => return (format!("cannot run: {e}"), String::new()),
    };
    if let Some(mut pipe) = child.stdin.take() {
        let _ = pipe.write_all(stdin.as_bytes());
    }
    match child.wait_with_output() {
        Ok(out) => {
            let said = String::from_utf8_lossy(&out.stdout).trim().to_string();
            let code = out.status.code().unwrap_or(-1);
            match said.is_empty() {
                true => (format!("exit {code}"), said),
                false => (format!("exit {code} said {said}"), said),
            }
        }
        Err(e) => (format!("failed: {e}"), String::new()),
    }
}

/// `turn-end`: what codex does when a turn is over.
pub fn turn_end() -> String {
    let Some(argv) = hooks().notify.as_ref().filter(|a| !a.is_empty()) else {
        return "turn-end: no notify configured".into();
    };
    let event = json!({
        "type": "agent-turn-complete",
        "turn-id": "1",
        "last-assistant-message": "done",
    });
    let status = Command::new(&argv[0])
        .args(&argv[1..])
        .arg(event.to_string())
        .stdin(Stdio::null())
        .status();
    match status {
        Ok(status) => format!("turn-end: notify exit {}", status.code().unwrap_or(-1)),
        Err(e) => format!("turn-end: cannot run notify: {e}"),
    }
}
