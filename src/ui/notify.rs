//! Telling the user that tasks need them, the ways `[notify]` allows: a bell
//! and an OSC 9 desktop notification through the dashboard's own terminal
//! (they travel through SSH; tmux turns the bell into its alert),
//! `notify-send` where a desktop session is there, and the user's command.

use std::io::Write;
use std::process::{Command, Stdio};

use super::attention::summary;
use super::state::Alert;
use crate::config::Notify;
use crate::text::one_line;

pub fn alert(notify: &Notify, alerts: &[Alert]) {
    if alerts.is_empty() {
        return;
    }
    let text = one_line(&summary(alerts), 200);
    if notify.terminal {
        let mut stdout = std::io::stdout();
        let _ = stdout.write_all(format!("\x07\x1b]9;flightdeck: {text}\x07").as_bytes());
        let _ = stdout.flush();
    }
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()));
    if notify.desktop && desktop {
        spawn(
            Command::new("notify-send").args(["flightdeck", &text]),
            None,
        );
    }
    if let Some(command) = &notify.command {
        for alert in alerts {
            let json = serde_json::to_string(alert).unwrap_or_default();
            spawn(Command::new("sh").args(["-c", command]), Some(json));
        }
    }
}

/// Starts `command` without waiting for it (a thread reaps it); failures
/// are logged, never shown over the dashboard.
fn spawn(command: &mut Command, stdin: Option<String>) {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match command.spawn() {
        Ok(mut child) => {
            let pipe = child.stdin.take();
            std::thread::spawn(move || {
                if let (Some(mut pipe), Some(text)) = (pipe, stdin) {
                    let _ = pipe.write_all(text.as_bytes());
                }
                let _ = child.wait();
            });
        }
        Err(e) => tracing::debug!("notification command failed to start: {e}"),
    }
}
