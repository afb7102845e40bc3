//! Turning "this agent, on this project, with this prompt" into a concrete
//! dispatch request — shared by the dialog and `flightdeck dispatch`.

use crate::catalog::{Agent, RunMode, check_prompt};
use crate::config::Project;
use crate::host::PtySize;
use crate::probe::HostProbe;
use crate::protocol::{DispatchRequest, WorkspaceChoice};

pub struct TaskSpec<'a> {
    pub project: &'a Project,
    /// Where the project lives; `probe` (if any) is of this host.
    pub host: &'a str,
    pub agent: &'a Agent,
    pub mode: RunMode,
    pub prompt: String,
    pub workspace: WorkspaceChoice,
}

/// Validates the task and resolves the agent's program with the host's
/// probe (its path, and the login-shell PATH it runs with). Every error says
/// precisely what is wrong.
pub fn request(
    task: &TaskSpec,
    probe: Option<&HostProbe>,
    size: PtySize,
) -> Result<DispatchRequest, String> {
    check_prompt(&task.prompt)?;
    let (project, agent) = (task.project, task.agent);
    // A remote project's directory is checked on its host, when the task starts.
    if project.host.is_none() && !project.path.is_dir() {
        return Err(format!(
            "project {} is gone: {} is not a directory",
            project.name,
            project.path.display()
        ));
    }
    let args = agent.args(task.mode, &task.prompt)?;
    let host = task.host;
    let program = match probe.map(|p| p.agent(&agent.id)) {
        Some(Some(found)) if found.found => {
            found.path.clone().unwrap_or_else(|| agent.binary.clone())
        }
        // Not probed: let the PATH decide; a missing binary fails visibly.
        None => agent.binary.clone(),
        Some(_) => {
            return Err(format!(
                "{} is not installed on {host}: no `{}` on the login-shell PATH",
                agent.name, agent.binary
            ));
        }
    };
    let mut env: Vec<(String, String)> = agent.env.clone().into_iter().collect();
    if let Some(path) = probe.and_then(|p| p.path.clone()) {
        env.push(("PATH".into(), path));
    }
    let mut argv = vec![program];
    argv.extend(args);
    Ok(DispatchRequest {
        token: None,
        spec: crate::protocol::task::TaskSpec {
            project: project.name.clone(),
            agent: agent.id.clone(),
            host: host.to_string(),
            mode: task.mode,
            prompt: task.prompt.clone(),
            argv,
        },
        cwd: project.path.clone(),
        env,
        size,
        workspace: task.workspace.clone(),
        setup: project.setup.clone(),
    })
}
