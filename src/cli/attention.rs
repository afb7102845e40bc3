//! `flightdeck hook` (what an agent's hooks run to report to the daemon)
//! and `flightdeck wait` (for scripts: until a task waits, idles or ends).

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use super::Failure;
use super::tasks::{connect, snapshot};
use crate::attention::ActivityState;
use crate::attention::approval::{
    ApprovalRequest, Decision, PendingApproval, claude_answer, claude_request,
};
use crate::attention::hooks::{APPROVAL_HOOK_TIMEOUT_SECS, HookReport, interpret};
use crate::clock::now_ms;
use crate::daemon::client::DaemonClient;
use crate::paths::Paths;
use crate::protocol::task::{TaskId, TaskRecord};
use crate::protocol::{Command, Event, SOCKET_ENV, TASK_ID_ENV};

/// A hook never holds its agent up longer than this, daemon or not.
const HOOK_TIMEOUT: Duration = Duration::from_secs(1);
/// The most of a hook's stdin read (claude's JSON; a tool input can be big).
const HOOK_STDIN_MAX: u64 = 1 << 20;

/// Runs `flightdeck hook KIND ARGS…` for the task named in the environment.
/// It prints nothing (claude reads a hook's stdout) and always succeeds:
/// a report that cannot be made is dropped, never the agent's problem.
pub fn hook(kind: &str, args: &[String]) {
    // Even a bug here must not show in the agent's UI or fail its hook.
    std::panic::set_hook(Box::new(|info| tracing_to_stderr(&info.to_string())));
    let _ = std::panic::catch_unwind(|| report(kind, args));
}

fn report(kind: &str, args: &[String]) {
    let Some(id) = std::env::var(TASK_ID_ENV)
        .ok()
        .and_then(|v| v.parse::<TaskId>().ok())
    else {
        return; // not run by a flightdeck task
    };
    let stdin = match kind {
        // Only claude writes its event to stdin; codex's notify inherits
        // whatever stdin codex has, which may be the task's terminal.
        "claude" if !std::io::stdin().is_terminal() => {
            let mut text = String::new();
            let _ = std::io::stdin()
                .take(HOOK_STDIN_MAX)
                .read_to_string(&mut text);
            text
        }
        _ => String::new(),
    };
    let report = match interpret(kind, args, &stdin) {
        Ok(Some(report)) => report,
        Ok(None) => return,
        Err(e) => {
            tracing_to_stderr(&format!("flightdeck hook: {e}"));
            return;
        }
    };
    // A permission request waits for a person's answer (claude's only).
    let approval = match kind {
        "claude" => serde_json::from_str(&stdin)
            .ok()
            .and_then(|input| claude_request(&input)),
        _ => None,
    };
    let socket = match std::env::var_os(SOCKET_ENV) {
        Some(socket) => PathBuf::from(socket),
        None => match Paths::discover() {
            Ok(paths) => paths.socket(),
            Err(_) => return,
        },
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    runtime.block_on(async {
        let Some(request) = approval else {
            let _ = tokio::time::timeout(HOOK_TIMEOUT, report_to(socket, id, report)).await;
            return;
        };
        let decision = ask(socket, id, report, request).await;
        if let Some(answer) = claude_answer(decision) {
            println!("{answer}");
        }
    });
}

/// Reports the request and waits for the daemon to close it: a person's
/// answer, or stepping aside (nobody there, the time ran out, the daemon
/// went away).
async fn ask(
    socket: PathBuf,
    id: TaskId,
    report: HookReport,
    request: ApprovalRequest,
) -> Decision {
    let connect = tokio::time::timeout(HOOK_TIMEOUT, DaemonClient::connect(&socket));
    let Ok(Ok(mut client)) = connect.await else {
        return Decision::StepAside;
    };
    // Unique among the daemon's open requests: a pid and a clock together.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let token = ((std::process::id() as u64) << 32) ^ nanos ^ now_ms();
    client.send(Command::Hook { id, report });
    client.send(Command::RequestApproval {
        token,
        task: id,
        request,
    });
    let answer = async {
        while let Some(event) = client.events.recv().await {
            if let Event::ApprovalClosed {
                token: closed,
                decision,
                ..
            } = event
                && closed == token
            {
                return decision;
            }
        }
        Decision::StepAside
    };
    let limit = Duration::from_secs(APPROVAL_HOOK_TIMEOUT_SECS - 60);
    tokio::time::timeout(limit, answer)
        .await
        .unwrap_or(Decision::StepAside)
}

/// Sends the report and waits for the daemon's word that it has it.
async fn report_to(socket: PathBuf, id: TaskId, report: HookReport) {
    // The client checks that the socket's directory and the process behind
    // it are ours before it says anything.
    let Ok(mut client) = DaemonClient::connect(&socket).await else {
        return;
    };
    client.send(Command::Hook { id, report });
    while let Some(event) = client.events.recv().await {
        if matches!(&event, Event::Task(record) if record.id == id) {
            return;
        }
    }
}

/// Hook errors go to stderr only when asked for: claude shows a hook's
/// stderr to the user in some cases, and a bad report is not their concern.
fn tracing_to_stderr(message: &str) {
    if std::env::var_os("FLIGHTDECK_HOOK_DEBUG").is_some() {
        eprintln!("{message}");
    }
}

/// What `wait --for` waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WaitFor {
    /// The task needs its user.
    Waiting,
    /// Its turn is over.
    Idle,
    /// It is working.
    Working,
    /// It has ended (any way).
    Exit,
}

impl WaitFor {
    fn state(self) -> Option<ActivityState> {
        match self {
            WaitFor::Waiting => Some(ActivityState::Waiting),
            WaitFor::Idle => Some(ActivityState::Idle),
            WaitFor::Working => Some(ActivityState::Working),
            WaitFor::Exit => None,
        }
    }
}

/// Whether `record` is what is waited for; an error once it cannot be.
fn reached(record: &TaskRecord, want: WaitFor) -> Result<bool, Failure> {
    let live = record.state.is_live();
    match want.state() {
        None => Ok(!live),
        Some(_) if !live => Err(Failure::failed(
            format!(
                "task #{} {} before it was {:?}",
                record.id,
                record.state.label(),
                want
            )
            .to_lowercase(),
        )),
        Some(state) => Ok(record.activity.as_ref().is_some_and(|a| a.state == state)),
    }
}

/// `flightdeck wait ID --for STATE [--timeout S]`: returns when the task
/// gets there (printing its state and why), fails when it cannot any more
/// or the time runs out.
pub async fn wait(
    paths: &Paths,
    id: TaskId,
    want: WaitFor,
    timeout: Option<f64>,
) -> Result<(), Failure> {
    let Some(mut client) = connect(paths).await? else {
        return Err(Failure::failed(format!(
            "no daemon is running, so task #{id} is not running"
        )));
    };
    let tasks = snapshot(&mut client).await?;
    let mut record = tasks
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| Failure::usage(format!("no task #{id}; `flightdeck ls` lists them")))?;
    let deadline = match timeout {
        Some(secs) if secs.is_finite() && secs >= 0.0 => {
            Some(tokio::time::Instant::now() + Duration::from_secs_f64(secs))
        }
        Some(secs) => {
            return Err(Failure::usage(format!(
                "--timeout {secs} is not a duration"
            )));
        }
        None => None,
    };
    loop {
        if reached(&record, want)? {
            println!("task #{id} {}", describe(&record));
            return Ok(());
        }
        let next = client.events.recv();
        let event = match deadline {
            Some(deadline) => tokio::time::timeout_at(deadline, next).await.map_err(|_| {
                Failure::failed(format!("timed out: task #{id} is {}", describe(&record)))
            })?,
            None => next.await,
        };
        match event {
            Some(Event::Task(update)) if update.id == id => record = *update,
            Some(Event::Removed { id: gone }) if gone == id => {
                return Err(Failure::failed(format!("task #{id} was discarded")));
            }
            Some(_) => {}
            None => return Err(Failure::failed("the daemon closed the connection")),
        }
    }
}

/// `waiting 12s (hook: Notification …)`, or the end state.
pub fn describe(record: &TaskRecord) -> String {
    let now = now_ms();
    match (&record.activity, record.state.is_live()) {
        (Some(a), true) => format!(
            "{} {} ({})",
            a.state.label(),
            crate::clock::format_duration(now.saturating_sub(a.since_ms)),
            a.describe(now)
        ),
        _ => record.state.label(),
    }
}

/// `flightdeck approve ID [--always]` / `deny ID`: answers the task's
/// oldest open permission request; with `wait`, the first one it makes in
/// that time (meanwhile this command counts as someone who answers, so the
/// agent's request waits for it instead of going to its own prompt).
pub async fn decide(
    paths: &Paths,
    id: TaskId,
    decision: Decision,
    wait: Option<f64>,
) -> Result<(), Failure> {
    let Some(mut client) = connect(paths).await? else {
        return Err(Failure::failed(format!(
            "no daemon is running, so task #{id} asks for nothing"
        )));
    };
    let wait = match wait {
        Some(secs) if secs.is_finite() && secs >= 0.0 => Duration::from_secs_f64(secs),
        Some(secs) => return Err(Failure::usage(format!("--wait {secs} is not a duration"))),
        None => Duration::ZERO,
    };
    if !wait.is_zero() {
        client.send(Command::Approver { present: true });
    }
    let mut open = loop {
        match client.events.recv().await {
            Some(Event::Snapshot { approvals, .. }) => break approvals,
            Some(_) => continue,
            None => return Err(Failure::failed("the daemon closed the connection")),
        }
    };
    let deadline = tokio::time::Instant::now() + wait;
    let pending = loop {
        if let Some(first) = open
            .iter()
            .filter(|a: &&PendingApproval| a.task == id)
            .min_by_key(|a| a.since_ms)
        {
            break first.clone();
        }
        let event = match tokio::time::timeout_at(deadline, client.events.recv()).await {
            Ok(Some(event)) => event,
            Ok(None) => return Err(Failure::failed("the daemon closed the connection")),
            Err(_) => {
                return Err(Failure::failed(format!(
                    "task #{id} asks for no permission now"
                )));
            }
        };
        if let Event::Approval(pending) = event {
            open.push(pending);
        }
    };
    client.send(Command::Decide {
        task: id,
        token: Some(pending.token),
        decision,
    });
    while let Some(event) = client.events.recv().await {
        if let Event::ApprovalClosed {
            token, decision, ..
        } = event
            && token == pending.token
        {
            println!("task #{id}: {} {}", pending.request.tool, decision.label());
            return Ok(());
        }
    }
    Err(Failure::failed("the daemon closed the connection"))
}
