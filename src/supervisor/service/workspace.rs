//! The supervisor's git side: a worktree per task, live `+N −M`, the full
//! diff for review, apply, discard, and cleaning up after a crash. Every
//! git job runs off the supervisor loop and reports back as a message, so
//! the loop (and every client) never waits on git.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Internal, Supervisor};
use crate::clock::now_ms;
use crate::git::{
    self, AppliedStatus, ApplyOutcome, ApplyRequest, DiffStat, FileDiff, LossReport, Selection,
    Strategy, Worktree, WorktreeRequest,
};
use crate::host::{Host, Keep, PtyProcess, PtySpec};
use crate::protocol::task::{Applied, TaskId, TaskRecord};
use crate::protocol::{DispatchRequest, Event, Level, WorkspaceChoice};

/// How often live tasks that printed something get their diff refreshed.
/// Quiet tasks are not diffed at all (git costs processes, and a hundred
/// idle agents must cost nothing): an agent at work prints, and every task
/// is diffed once more when it ends.
pub const DIFF_EVERY: Duration = Duration::from_secs(2);

/// A finished git job.
pub enum Done {
    Stat {
        id: TaskId,
        result: Result<DiffStat, String>,
    },
    Diff {
        id: TaskId,
        result: Result<Vec<FileDiff>, String>,
    },
    Applied {
        id: TaskId,
        result: Result<(ApplyOutcome, AppliedStatus), String>,
    },
    DiscardCheck {
        id: TaskId,
        result: Result<LossReport, String>,
    },
    Discarded {
        id: TaskId,
        result: Result<(), String>,
    },
    Recovered {
        cleaned: Vec<String>,
        /// Applies a crash interrupted, completed from their journal.
        completed: Option<git::Completed>,
    },
}

/// Makes the task's worktree (when asked), then starts the agent in it,
/// after the project's setup command if there is one.
pub async fn prepare_and_spawn(
    host: &dyn Host,
    mut record: TaskRecord,
    request: DispatchRequest,
) -> (Option<Worktree>, Result<PtyProcess, String>) {
    let id = record.id;
    let worktree = match &request.workspace {
        WorkspaceChoice::InPlace => None,
        WorkspaceChoice::Worktree { base } => {
            let root = match worktree_root(host, &record.spec.project).await {
                Ok(root) => root,
                Err(e) => return (None, Err(e)),
            };
            let made = git::create_worktree(
                host,
                &WorktreeRequest {
                    repo: request.cwd.clone(),
                    root,
                    task_id: id,
                    slug: request.spec.prompt.clone(),
                    base: base.clone(),
                },
            )
            .await;
            match made {
                Ok(worktree) => Some(worktree),
                Err(e) => return (None, Err(format!("cannot create a worktree: {e}"))),
            }
        }
    };
    let cwd = worktree
        .as_ref()
        .map_or(request.cwd.clone(), |w| w.path.clone());
    // The record as it will be once spawned, kept with the task: what a
    // daemon that lost its state file recovers it from.
    record.cwd = cwd.clone();
    record.workspace.worktree = worktree.clone();
    let keep = Keep {
        task: id,
        log: record.log_path.clone(),
        meta: serde_json::to_string(&record).unwrap_or_default(),
    };
    let spec = PtySpec {
        argv: with_setup(request.setup.as_deref(), request.spec.argv),
        cwd,
        env: request.env,
        size: request.size,
        keep: Some(keep),
    };
    let result = host.spawn_pty(spec).await.map_err(|e| e.to_string());
    (worktree, result)
}

/// Runs `setup` (the user's own shell command, from their config) before
/// the agent. The command travels as an argument, never spliced.
fn with_setup(setup: Option<&str>, argv: Vec<String>) -> Vec<String> {
    let Some(setup) = setup.filter(|s| !s.trim().is_empty()) else {
        return argv;
    };
    let script = "printf '\\033[2m$ %s\\033[0m\\n' \"$0\"; sh -c \"$0\"; rc=$?; \
                  if [ $rc -ne 0 ]; then echo \"flightdeck: setup failed (exit $rc)\"; exit $rc; fi; exec \"$@\"";
    let mut wrapped = vec![
        "sh".to_string(),
        "-c".into(),
        script.into(),
        setup.to_string(),
    ];
    wrapped.extend(argv);
    wrapped
}

/// Where a project's task worktrees go on `host`: one directory per
/// project below the host's worktrees directory.
async fn worktree_root(host: &dyn Host, project: &str) -> Result<PathBuf, String> {
    // Project names are free text: keep the directory name tame.
    let name: String = project
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = host
        .worktrees_dir()
        .await
        .map_err(|e| format!("cannot find where worktrees go on {}: {e}", host.name()))?;
    Ok(dir.join(name))
}

impl Supervisor {
    fn host_of(&mut self, id: TaskId) -> Option<Arc<dyn Host>> {
        let name = self.records.get(&id)?.spec.host.clone();
        self.hosts.get(&name).ok()
    }

    fn spawn_job<F>(&self, job: F)
    where
        F: std::future::Future<Output = Done> + Send + 'static,
    {
        let tx = self.internal_tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(Internal::Workspace(job.await));
        });
    }

    /// Re-diffs live tasks that printed since their last diff.
    pub(super) fn refresh_diffs(&mut self) {
        let due: Vec<TaskId> = self
            .records
            .values()
            .filter(|r| r.state.is_live() && r.workspace.worktree.is_some())
            .map(|r| r.id)
            .filter(|id| self.screens.get(*id).is_some_and(|s| s.take_touched()))
            .collect();
        for id in due {
            self.diff_stat(id);
        }
    }

    /// Refreshes the task's `+N −M` (newest request wins: one at a time).
    pub(super) fn diff_stat(&mut self, id: TaskId) {
        let Some((worktree, host)) = self.worktree_of(id) else {
            return;
        };
        if !self.diffing.insert(id) {
            return;
        }
        self.spawn_job(async move {
            let result = git::diff_worktree(host.as_ref(), &worktree.path, &worktree.base_commit)
                .await
                .map(|files| git::stat(&files))
                .map_err(|e| e.to_string());
            Done::Stat { id, result }
        });
    }

    fn worktree_of(&mut self, id: TaskId) -> Option<(Worktree, Arc<dyn Host>)> {
        let worktree = self.records.get(&id)?.workspace.worktree.clone()?;
        Some((worktree, self.host_of(id)?))
    }

    pub(super) fn full_diff(&mut self, id: TaskId) {
        let Some((worktree, host)) = self.worktree_of(id) else {
            let result = Err(format!(
                "task #{id} runs in place: it has no worktree to diff"
            ));
            let _ = self.events.send(Event::Diff { id, result });
            return;
        };
        self.spawn_job(async move {
            let result = git::diff_worktree(host.as_ref(), &worktree.path, &worktree.base_commit)
                .await
                .map_err(|e| e.to_string());
            Done::Diff { id, result }
        });
    }

    pub(super) fn apply(
        &mut self,
        id: TaskId,
        files: Vec<FileDiff>,
        selection: Selection,
        mut strategy: Strategy,
    ) {
        // A merge's commit is titled with the task's prompt unless the
        // user wrote a message.
        if let Strategy::Merge {
            message: message @ None,
        } = &mut strategy
        {
            let prompt = self
                .records
                .get(&id)
                .map(|r| r.spec.prompt.as_str())
                .unwrap_or("");
            let first = crate::text::one_line(prompt.lines().next().unwrap_or_default(), 200);
            *message = Some(first).filter(|m| !m.trim().is_empty());
        }
        let (Some((worktree, host)), Some(repo)) = (
            self.worktree_of(id),
            self.records.get(&id).and_then(|r| r.workspace.repo.clone()),
        ) else {
            let result = Err(format!("task #{id} has no worktree to apply from"));
            let _ = self.events.send(Event::Applied { id, result });
            return;
        };
        self.spawn_job(async move {
            let request = ApplyRequest {
                repo,
                worktree: &worktree,
                files: &files,
                selection: &selection,
                strategy,
            };
            let result = git::apply(host.as_ref(), &request)
                .await
                .map(|outcome| (outcome, git::applied_status(&files, &selection)))
                .map_err(|e| e.to_string());
            Done::Applied { id, result }
        });
    }

    pub(super) fn discard(&mut self, id: TaskId, force: bool) {
        let Some(record) = self.records.get(&id) else {
            return;
        };
        if record.state.is_live() {
            let message = format!("task #{id} is still running; stop it before discarding it");
            return self.notice(Level::Error, message);
        }
        let repo = record.workspace.repo.clone();
        let (Some((worktree, host)), Some(repo)) = (self.worktree_of(id), repo) else {
            return self.workspace_done(Done::Discarded { id, result: Ok(()) });
        };
        if force {
            self.spawn_job(async move {
                let result = git::remove_worktree(host.as_ref(), &repo, &worktree, true)
                    .await
                    .map_err(|e| e.to_string());
                Done::Discarded { id, result }
            });
        } else {
            self.spawn_job(async move {
                let result = git::loss_report(host.as_ref(), &repo, &worktree)
                    .await
                    .map_err(|e| e.to_string());
                Done::DiscardCheck { id, result }
            });
        }
    }

    /// At start: an apply a crash interrupted is completed, and half-made
    /// worktrees are cleaned up, per project the tasks came from.
    pub(super) fn recover_worktrees(&mut self) {
        let roots: BTreeSet<(String, PathBuf, String)> = self
            .records
            .values()
            .filter_map(|r| {
                let repo = r.workspace.repo.clone()?;
                Some((r.spec.host.clone(), repo, r.spec.project.clone()))
            })
            .collect();
        for (host, repo, project) in roots {
            let Ok(host) = self.hosts.get(&host) else {
                continue;
            };
            self.spawn_job(async move {
                let (completed, mut cleaned) =
                    match git::complete_interrupted_apply(host.as_ref(), &repo).await {
                        Ok(completed) => (completed, Vec::new()),
                        Err(e) => (
                            None,
                            vec![format!(
                                "an apply into {} was interrupted and could not be completed: {e}",
                                repo.display()
                            )],
                        ),
                    };
                let root = worktree_root(host.as_ref(), &project).await;
                let recovered = match root {
                    Ok(root) => git::recover(host.as_ref(), &repo, &root)
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                };
                cleaned.extend(match recovered {
                    Ok(cleaned) => cleaned,
                    Err(e) => vec![format!(
                        "could not check {} for leftovers: {e}",
                        repo.display()
                    )],
                });
                Done::Recovered { cleaned, completed }
            });
        }
    }

    pub(super) fn workspace_done(&mut self, done: Done) {
        match done {
            Done::Stat { id, result } => {
                self.diffing.remove(&id);
                match result {
                    Ok(stat) => {
                        let record = self.records.get_mut(&id);
                        if let Some(record) = record.filter(|r| r.workspace.diff != Some(stat)) {
                            record.workspace.diff = Some(stat);
                            self.changed(id);
                        }
                    }
                    Err(e) => tracing::warn!(task = id, "diff failed: {e}"),
                }
            }
            Done::Diff { id, result } => {
                if let Ok(files) = &result
                    && let Some(record) = self.records.get_mut(&id)
                {
                    record.workspace.diff = Some(git::stat(files));
                    self.changed(id);
                }
                let _ = self.events.send(Event::Diff { id, result });
            }
            Done::Applied { id, result } => {
                let state = match &result {
                    Ok((ApplyOutcome::Applied { .. }, AppliedStatus::Applied)) => {
                        Some(Applied::Applied)
                    }
                    Ok((ApplyOutcome::Applied { .. }, AppliedStatus::PartiallyApplied)) => {
                        Some(Applied::PartiallyApplied)
                    }
                    Ok((ApplyOutcome::Conflicted { files, .. }, _)) => Some(Applied::Conflicted {
                        files: files.clone(),
                    }),
                    Err(_) => None,
                };
                if let (Some(state), Some(record)) = (state, self.records.get_mut(&id)) {
                    record.workspace.applied = Some(state);
                    self.changed(id);
                }
                let result = result.map(|(outcome, _)| outcome);
                let _ = self.events.send(Event::Applied { id, result });
            }
            Done::DiscardCheck { id, result } => match result {
                Ok(loss) if loss.is_empty() => self.discard(id, true),
                Ok(loss) => {
                    let _ = self.events.send(Event::DiscardCheck { id, loss });
                }
                Err(e) => {
                    // The worktree is unreadable (deleted by hand?): say so,
                    // and let the operator force it.
                    let loss = LossReport {
                        changed_files: vec![format!("(cannot tell: {e})")],
                        unmerged_commits: Vec::new(),
                    };
                    let _ = self.events.send(Event::DiscardCheck { id, loss });
                }
            },
            Done::Discarded { id, result: Ok(()) } => self.remove(id),
            Done::Discarded { id, result: Err(e) } => {
                self.notice(Level::Error, format!("cannot discard task #{id}: {e}"));
            }
            Done::Recovered { cleaned, completed } => {
                for what in cleaned {
                    self.notice(Level::Info, format!("cleaned up after a crash: {what}"));
                }
                if let Some(done) = completed {
                    let id = done.task;
                    if let Some(record) = self.records.get_mut(&id) {
                        record.workspace.applied = Some(Applied::Applied);
                        self.changed(id);
                    }
                    self.notice(
                        Level::Info,
                        format!(
                            "the apply of task #{id} was interrupted by a crash; completed it ({} files)",
                            done.files.len()
                        ),
                    );
                }
            }
        }
    }

    /// Forgets an ended task: record, screen and log.
    fn remove(&mut self, id: TaskId) {
        let Some(record) = self.records.remove(&id) else {
            return;
        };
        self.screens.remove(id);
        let _ = std::fs::remove_file(&record.log_path);
        let _ = self.events.send(Event::Removed { id });
        self.saver.update(self.records.values().cloned().collect());
        tracing::info!(task = id, "discarded at {}", now_ms());
    }
}
