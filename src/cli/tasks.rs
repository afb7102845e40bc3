//! Scripting commands on tasks: ls, dispatch, attach, logs, stop, probe.

use std::io::{IsTerminal, Read, Seek, SeekFrom, Write};
use std::time::Duration;

use super::Failure;
use crate::catalog::{Catalog, RunMode};
use crate::clock::{format_duration, now_ms};
use crate::config::{Config, Project};
use crate::daemon::client::{ConnectError, DaemonClient};
use crate::dispatch::{self, TaskSpec};
use crate::git::{ApplyOutcome, FileDiff, Selection, Strategy};
use crate::host::{LocalHost, PtySize};
use crate::paths::Paths;
use crate::probe::{self, HostProbe};
use crate::protocol::task::{TaskId, TaskRecord, TaskState};
use crate::protocol::{Command, Event, WorkspaceChoice};
use crate::store;

type CliResult = Result<(), Failure>;

/// Connects to a running daemon; `None` when there is none.
pub async fn connect(paths: &Paths) -> Result<Option<DaemonClient>, Failure> {
    match DaemonClient::connect(&paths.socket()).await {
        Ok(client) => Ok(Some(client)),
        Err(ConnectError::NotRunning(_)) => Ok(None),
        Err(e) => Err(Failure::failed(e.to_string())),
    }
}

/// The first event a client gets: every task.
pub async fn snapshot(client: &mut DaemonClient) -> Result<Vec<TaskRecord>, Failure> {
    loop {
        match client.events.recv().await {
            Some(Event::Snapshot { tasks, .. }) => return Ok(tasks),
            Some(_) => continue,
            None => return Err(Failure::failed("the daemon closed the connection")),
        }
    }
}

/// Tasks from the daemon. With none running, the saved state says which
/// were live, and keepers still listening say which run (even if the state
/// file was lost); a daemon is then started to learn what became of them
/// (it re-adopts those still running), else the saved state is the answer.
async fn all_tasks(paths: &Paths) -> Result<Vec<TaskRecord>, Failure> {
    if let Some(mut client) = connect(paths).await? {
        return snapshot(&mut client).await;
    }
    let tasks: Vec<TaskRecord> = store::load_json(&paths.tasks_file())?.unwrap_or_default();
    if !paths.keeper_ids().is_empty() || tasks.iter().any(|t| t.state.is_live()) {
        let mut client = DaemonClient::connect_or_start(paths).await?;
        return snapshot(&mut client).await;
    }
    Ok(tasks)
}

/// `text` safe to print on a terminal: control characters and the
/// invisible bidi formatting marks (which can make a listing read other
/// than it is) are shown as `\u{…}` escapes.
fn printable(text: &str) -> String {
    let hidden = |c: char| c.is_control() || crate::text::is_bidi_mark(c);
    if !text.chars().any(hidden) {
        return text.to_string();
    }
    text.chars()
        .map(|c| match hidden(c) {
            true => c.escape_unicode().to_string(),
            false => c.to_string(),
        })
        .collect()
}

fn find(tasks: Vec<TaskRecord>, id: TaskId) -> Result<TaskRecord, Failure> {
    tasks
        .into_iter()
        .find(|t| t.id == id)
        .ok_or_else(|| Failure::usage(format!("no task #{id}; `flightdeck ls` lists them")))
}

/// Probes this machine and every configured SSH host (or just `--host`), all
/// at once. SSH hosts must be known already: nobody is here to answer a
/// question, so a new host key is refused (trust it in the dashboard).
pub async fn probe(config: &Config, json: bool, only: Option<String>) -> CliResult {
    let names: Vec<String> = match only {
        Some(host) => vec![host],
        None => std::iter::once(crate::host::local::LOCAL.to_string())
            .chain(config.hosts.iter().map(|h| h.name.clone()))
            .collect(),
    };
    let (events, _ignored) = tokio::sync::mpsc::unbounded_channel();
    let context = crate::host::ssh::SshContext::new(
        crate::host::ssh::SshEnv::from_process(),
        std::sync::Arc::new(crate::host::ssh::RefusingPrompter),
    );
    let mut registry =
        crate::supervisor::HostRegistry::new(context, crate::host::LocalHost::default(), events);
    registry.configure(&config.hosts);
    let mut jobs = Vec::new();
    for name in &names {
        let host = registry.get(name).map_err(Failure::usage)?;
        let (catalog, timeout) = (&config.catalog, config.settings.probe_timeout);
        jobs.push(async move { probe::probe_host(host.as_ref(), catalog, timeout).await });
    }
    let results = futures::future::join_all(jobs).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for result in &results {
            print_probe(result);
        }
    }
    let failed: Vec<String> = results
        .iter()
        .filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.host)))
        .collect();
    match failed.is_empty() {
        true => Ok(()),
        false => Err(Failure::failed(failed.join("; "))),
    }
}

fn print_probe(result: &HostProbe) {
    println!("host {} — probed in {} ms", result.host, result.duration_ms);
    if let Some(error) = &result.error {
        println!("  {error}");
    }
    for a in &result.agents {
        let status = match (&a.path, &a.version) {
            (Some(path), Some(v)) => format!("{v:<10} {path}"),
            (Some(path), None) => format!("{:<10} {path}", "?"),
            _ => "not found".into(),
        };
        let acp = if a.acp == Some(true) { " acp" } else { "" };
        let err = a
            .error
            .as_deref()
            .map(|e| format!("  ({e})"))
            .unwrap_or_default();
        println!("  {:<14} {status}{acp}{err}", a.id);
    }
}

pub async fn ls(paths: &Paths, json: bool) -> CliResult {
    let mut tasks = all_tasks(paths).await?;
    tasks.sort_by_key(|t| t.id);
    if json {
        println!("{}", serde_json::to_string_pretty(&tasks)?);
        return Ok(());
    }
    println!(
        "{:<5} {:<14} {:<12} {:<12} {:<14} {:>8}  PROMPT",
        "ID", "STATE", "ACTIVITY", "AGENT", "PROJECT", "TIME"
    );
    let now = now_ms();
    for t in &tasks {
        let time = t.duration_ms(now).map(format_duration).unwrap_or_default();
        let prompt: String = t
            .spec
            .prompt
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(50)
            .collect();
        let activity = match (&t.activity, t.state.is_live()) {
            (Some(a), true) => format!(
                "{} {}",
                a.state.label(),
                format_duration(now.saturating_sub(a.since_ms))
            ),
            _ => String::new(),
        };
        println!(
            "{:<5} {:<14} {:<12} {:<12} {:<14} {:>8}  {}",
            t.id,
            t.state.label(),
            activity,
            printable(&t.spec.agent),
            printable(&t.spec.project),
            time,
            printable(&prompt),
        );
    }
    Ok(())
}

pub async fn dispatch(
    paths: &Paths,
    config: &Config,
    project: &Project,
    agent: &str,
    headless: bool,
    workspace: (bool, Option<String>),
    prompt: String,
) -> CliResult {
    let (in_place, base) = workspace;
    let agent = config.catalog.get(agent).ok_or_else(|| {
        let known: Vec<_> = config
            .catalog
            .agents()
            .iter()
            .map(|a| a.id.as_str())
            .collect();
        Failure::usage(format!("unknown agent {agent:?}; known: {}", list(&known)))
    })?;
    let host = project.host.as_deref().unwrap_or(crate::host::local::LOCAL);
    let mut client = DaemonClient::connect_or_start(paths).await?;
    let found = match &project.host {
        None => probe_one(agent).await?,
        // Remote hosts are reached through the daemon's connection.
        Some(host) => probe_via_daemon(&mut client, host).await?,
    };
    let mode = if headless {
        RunMode::Headless
    } else {
        RunMode::Interactive
    };
    // A remote project's repository is checked on its host when the task starts.
    let git = project.host.is_some() || project.path.join(".git").exists();
    let workspace = match (in_place, project.worktree && git) {
        (false, true) => WorkspaceChoice::Worktree { base },
        (false, false) if base.is_some() => {
            return Err(Failure::usage(format!(
                "--base needs a worktree, and {} is not a git repository (or has worktree = false)",
                project.name
            )));
        }
        _ => WorkspaceChoice::InPlace,
    };
    let spec = TaskSpec {
        project,
        host,
        agent,
        mode,
        prompt,
        workspace,
    };
    let size = terminal_size();
    let mut request = dispatch::request(&spec, Some(&found), size).map_err(Failure::usage)?;
    let token = request_token();
    request.token = Some(token);

    client.send(Command::Dispatch(request.clone()));
    let mut id = None;
    let mut retries = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let event = tokio::time::timeout_at(deadline, client.events.recv())
            .await
            .map_err(|_| Failure::failed("the daemon did not start the task within 30 s"))?;
        let Some(event) = event else {
            // The daemon died. The same request again (same token) gets the
            // task it made, if it made one: never a second task.
            retries += 1;
            if retries > DISPATCH_RETRIES {
                return Err(Failure::failed("the daemon closed the connection"));
            }
            client = DaemonClient::connect_or_start(paths).await?;
            client.send(Command::Dispatch(request.clone()));
            continue;
        };
        match event {
            Event::Dispatched { token: t, id: new } if t == token => id = Some(new),
            Event::Task(record) if Some(record.id) == id => match record.state {
                TaskState::Starting => {}
                TaskState::Failed { reason } => {
                    return Err(Failure::failed(format!(
                        "task #{} failed to start: {reason}",
                        record.id
                    )));
                }
                _ => {
                    println!("{}", record.id);
                    return Ok(());
                }
            },
            _ => {}
        }
    }
}

/// How often a dispatch is resent to a restarted daemon.
const DISPATCH_RETRIES: u32 = 3;

/// A dispatch request's id: unique per request, so a retry is recognised.
fn request_token() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(std::process::id()) << 32 ^ (now_ms() << 30) ^ u64::from(nanos)
}

/// Probes just this agent on this machine: where it is, and the PATH it runs with.
/// Where the agent is on this machine. Nothing of it runs: a hanging or
/// terminal-writing `--version` must not hold up or print into a dispatch.
async fn probe_one(agent: &crate::catalog::Agent) -> Result<HostProbe, Failure> {
    let mut one = Catalog::default();
    one.merge(crate::catalog::AgentEntry {
        id: agent.id.clone(),
        binary: Some(agent.binary.clone()),
        version: Some(agent.version.clone()),
        ..Default::default()
    })
    .map_err(Failure::failed)?;
    Ok(probe::locate(&LocalHost::default(), &one).await)
}

/// Has the daemon probe `host` (over its SSH connection) and waits for it.
async fn probe_via_daemon(client: &mut DaemonClient, host: &str) -> Result<HostProbe, Failure> {
    client.send(Command::Probe {
        host: Some(host.to_string()),
    });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let event = tokio::time::timeout_at(deadline, client.events.recv())
            .await
            .map_err(|_| Failure::failed(format!("probing {host} took over 2 minutes")))?
            .ok_or_else(|| Failure::failed("the daemon closed the connection"))?;
        match event {
            Event::Probe(probe) if probe.host == host => {
                return match &probe.error {
                    Some(e) => Err(Failure::failed(format!("cannot reach {host}: {e}"))),
                    None => Ok(probe),
                };
            }
            Event::Prompt { .. } => {
                return Err(Failure::failed(format!(
                    "{host} needs an answer (a new host key or a passphrase): run `flightdeck` to answer it"
                )));
            }
            _ => {}
        }
    }
}

pub async fn attach(paths: &Paths, config: &Config, id: TaskId) -> CliResult {
    let Some(mut client) = connect(paths).await? else {
        return Err(Failure::failed(format!(
            "no daemon is running, so task #{id} is not running"
        )));
    };
    let task = find(snapshot(&mut client).await?, id)?;
    if !task.state.is_live() {
        // Nothing to type into: its last screen, to read.
        print_final_screen(&mut client, id).await;
        eprintln!(
            "task #{id} has {}: its last screen is above (`flightdeck logs {id}` has all of it)",
            task.state.label()
        );
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Failure::usage("attach needs a terminal"));
    }
    let outcome = crate::ui::attach_standalone(&mut client, id, config.settings.detach_key).await?;
    match outcome {
        Some(reason) => {
            // The agent's last words stay in the terminal, not only ours.
            print_final_screen(&mut client, id).await;
            eprintln!("detached: {reason}");
        }
        None => eprintln!("detached from #{id}; it keeps running"),
    }
    Ok(())
}

/// This terminal's size; 120×40 without one.
fn terminal_size() -> PtySize {
    crossterm::terminal::size().map_or(
        PtySize {
            rows: 40,
            cols: 120,
        },
        |(cols, rows)| PtySize { rows, cols },
    )
}

/// Prints the task's screen as it is now (an ended task's rebuilt from its
/// log), without its trailing blank lines.
async fn print_final_screen(client: &mut DaemonClient, id: TaskId) {
    let size = terminal_size();
    client.watch(vec![crate::protocol::wire::Watch {
        id,
        scroll: 0,
        size,
    }]);
    let fresh = async {
        while let Some(got) = client.frame_updates.recv().await {
            if got == id {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), fresh).await;
    let Some(frame) = client.frames.get(id) else {
        return;
    };
    let mut lines = frame.text();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(stdout, "{}", line.trim_end());
    }
    let _ = stdout.flush();
}

pub async fn logs(paths: &Paths, id: TaskId, follow: bool) -> CliResult {
    let tasks = all_tasks(paths).await?;
    let task = find(tasks, id)?;
    let mut file = std::fs::File::open(&task.log_path)
        .map_err(|e| Failure::failed(format!("cannot read {}: {e}", task.log_path.display())))?;
    let mut stdout = std::io::stdout().lock();
    std::io::copy(&mut file, &mut stdout)?;
    stdout.flush()?;
    if !follow || !task.state.is_live() {
        return Ok(());
    }
    drop(stdout);
    let mut client = connect(paths).await?;
    let mut live = true;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n > 0 {
            std::io::stdout().write_all(&buf[..n])?;
            std::io::stdout().flush()?;
            continue;
        }
        if !live {
            return Ok(());
        }
        // Wait for more output, or for the task to end.
        let ended = match client.as_mut() {
            Some(c) => {
                match tokio::time::timeout(Duration::from_millis(100), c.events.recv()).await {
                    Ok(Some(Event::Task(record))) => record.id == id && !record.state.is_live(),
                    Ok(None) => true,
                    _ => false,
                }
            }
            None => true,
        };
        if ended {
            live = false; // drain what is left, then stop
            let pos = file.stream_position()?;
            file.seek(SeekFrom::Start(pos))?;
        }
    }
}

pub async fn stop(paths: &Paths, config: &Config, id: TaskId) -> CliResult {
    let Some(mut client) = connect(paths).await? else {
        return Err(Failure::failed(format!(
            "no daemon is running, so task #{id} is not running"
        )));
    };
    let task = find(snapshot(&mut client).await?, id)?;
    // A lost task's agent may have outlived its keeper: the daemon looks.
    if !task.state.is_live() && task.state != TaskState::Lost {
        println!("task #{id} already {}", task.state.label());
        return Ok(());
    }
    client.send(Command::Stop { id });
    let limit = config.settings.stop_grace + Duration::from_secs(10);
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let event = tokio::time::timeout_at(deadline, client.events.recv())
            .await
            .map_err(|_| Failure::failed(format!("task #{id} did not stop within {limit:?}")))?
            .ok_or_else(|| Failure::failed("the daemon closed the connection"))?;
        if let Event::Task(record) = event
            && record.id == id
            && !record.state.is_live()
        {
            println!("task #{id} {}", record.state.label());
            return Ok(());
        }
    }
}

/// The task's current diff, from the daemon (started if need be).
async fn fetch_diff(client: &mut DaemonClient, id: TaskId) -> Result<Vec<FileDiff>, Failure> {
    find(snapshot(client).await?, id)?;
    client.send(Command::Diff { id });
    loop {
        match client.events.recv().await {
            Some(Event::Diff { id: got, result }) if got == id => {
                return result.map_err(Failure::failed);
            }
            Some(_) => {}
            None => return Err(Failure::failed("the daemon closed the connection")),
        }
    }
}

pub async fn diff(paths: &Paths, id: TaskId) -> CliResult {
    let mut client = DaemonClient::connect_or_start(paths).await?;
    let files = fetch_diff(&mut client, id).await?;
    print!("{}", crate::git::build_patch(&files, &Selection::default()));
    Ok(())
}

pub async fn apply(paths: &Paths, id: TaskId, strategy: Strategy) -> CliResult {
    let mut client = DaemonClient::connect_or_start(paths).await?;
    let files = fetch_diff(&mut client, id).await?;
    if files.is_empty() {
        return Err(Failure::failed(format!("task #{id} changed nothing")));
    }
    client.send(Command::Apply {
        id,
        files,
        selection: Selection::default(),
        strategy,
    });
    loop {
        match client.events.recv().await {
            Some(Event::Applied { id: got, result }) if got == id => {
                return match result.map_err(Failure::failed)? {
                    ApplyOutcome::Applied { files, commit } => {
                        let commit = commit.map(|c| format!(" as {c}")).unwrap_or_default();
                        println!("applied {} file(s){commit}", files.len());
                        Ok(())
                    }
                    ApplyOutcome::Conflicted { files, reason } => Err(Failure::failed(format!(
                        "not applied ({reason}); the project is unchanged. Conflicting: {}",
                        files.join(", ")
                    ))),
                };
            }
            Some(_) => {}
            None => {
                return Err(Failure::failed(format!(
                    "the daemon went away during the apply; `flightdeck apply {id}` again completes it (an interrupted apply is finished before anything else)"
                )));
            }
        }
    }
}

fn list(items: &[&str]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn listings_show_hidden_characters_as_escapes() {
        assert_eq!(super::printable("fix it ✓"), "fix it ✓");
        assert_eq!(
            super::printable("a\u{202E}txt.exe\x1b[2J"),
            "a\\u{202e}txt.exe\\u{1b}[2J"
        );
    }
}
