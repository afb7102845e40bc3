//! Cleaning up after a crash: worktrees whose creation never finished,
//! directories git does not know, and registered worktrees whose directory
//! is gone. Run once at start-up, before any task is dispatched.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::worktree::{
    Registered, branch_exists, delete_branch_if_at, list_worktrees, marker_path, real_path,
    remove_file,
};
use super::{Git, GitError, RepoInfo, lock_repo, path_str};
use crate::host::Host;

/// Finds and cleans up half-made worktrees under `root` (the directory
/// [`super::create_worktree`] puts this repository's worktrees in), returning
/// a sentence per thing cleaned.
///
/// - A creation marker means creation never finished, so no agent ever ran
///   there: the worktree, its directory and its branch (only if the branch
///   still points at the base commit) are removed.
/// - A task directory git does not know as a worktree is a leftover and is
///   deleted.
/// - A registered worktree whose directory vanished is unregistered; its
///   branch is kept, since it may hold the agent's commits.
///
/// A worktree git knows, whose directory exists and which has no marker, is
/// a live task's and is never touched. Only names flightdeck creates (task
/// ids and markers) are considered; anything else under `root` is left alone.
pub async fn recover(host: &dyn Host, repo: &Path, root: &Path) -> Result<Vec<String>, GitError> {
    let git = Git::new(host, repo);
    let info = RepoInfo::of(&git).await?;
    let git = git.at(&info.top);
    let _guard = lock_repo(host, &info.common_dir).await;

    let root_s = path_str(root).trim_end_matches('/').to_string();
    let root_real = real_path(&git, &root_s).await?;
    let names = list_dir(&git, &root_s).await?;
    let dirs: BTreeSet<u64> = names.iter().filter_map(|n| task_id(n)).collect();
    let markers: BTreeSet<u64> = names.iter().filter_map(|n| marker_id(n)).collect();
    // Registered worktrees under root, by task id.
    let registered: BTreeMap<u64, Registered> = list_worktrees(&git)
        .await?
        .into_iter()
        .filter_map(|w| {
            let (parent, name) = w.path.rsplit_once('/')?;
            let id = task_id(name)?;
            (parent == root_s || parent == root_real).then_some((id, w))
        })
        .collect();

    let mut report = Vec::new();
    for &id in &markers {
        let had_dir = dirs.contains(&id);
        let path = registered.get(&id).map(|w| w.path.as_str());
        report.extend(clean_half_made(&git, root, id, path, had_dir).await?);
    }
    for &id in dirs.difference(&markers) {
        if !registered.contains_key(&id) {
            let dir = path_str(&root.join(id.to_string()));
            git.sh("rm -rf -- \"$1\"", &[&dir]).await?;
            report.push(format!(
                "task {id}: deleted leftover directory {dir}, which git does not know as a worktree"
            ));
        }
    }
    for (&id, wt) in &registered {
        if !markers.contains(&id) && !dirs.contains(&id) {
            // `remove` also unregisters a locked entry, which prune skips.
            let _ = git
                .run(&["worktree", "remove", "--force", "--force", &wt.path])
                .await;
            let kept = match &wt.branch {
                Some(branch) => format!("branch {branch} is kept"),
                None => "no branch was checked out".to_string(),
            };
            report.push(format!(
                "task {id}: unregistered worktree {}, whose directory had been deleted ({kept})",
                wt.path
            ));
        }
    }
    git.run(&["worktree", "prune"]).await?;
    Ok(report)
}

/// Undoes an interrupted creation of task `id`'s worktree.
async fn clean_half_made(
    git: &Git<'_>,
    root: &Path,
    id: u64,
    registered: Option<&str>,
    had_dir: bool,
) -> Result<Vec<String>, GitError> {
    let marker = marker_path(root, id);
    let dir = path_str(&root.join(id.to_string()));
    let content = git
        .sh("cat -- \"$1\"", &[&marker])
        .await
        .unwrap_or_default();
    let field = |key: &str| {
        content
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::to_string)
    };
    if let Some(path) = registered {
        // Twice forced: git locks a worktree while `worktree add` runs.
        let _ = git
            .run(&["worktree", "remove", "--force", "--force", path])
            .await;
    }
    git.sh("rm -rf -- \"$1\"", &[&dir]).await?;
    let mut report = vec![if registered.is_some() || had_dir {
        format!("task {id}: removed the half-created worktree {dir} (its creation was interrupted)")
    } else {
        format!("task {id}: removed the marker of a worktree creation that was interrupted")
    }];
    if let (Some(branch), Some(base)) = (field("branch="), field("base=")) {
        let exists = branch_exists(git, &branch).await?;
        if exists {
            if delete_branch_if_at(git, &branch, &base).await? {
                report.push(format!("task {id}: deleted its unused branch {branch}"));
            } else {
                report.push(format!(
                    "task {id}: kept branch {branch}, which has moved since it was created"
                ));
            }
        }
    }
    remove_file(git, &marker).await?;
    Ok(report)
}

/// The names in `dir` (none when it does not exist).
async fn list_dir(git: &Git<'_>, dir: &str) -> Result<Vec<String>, GitError> {
    let out = git
        .sh("if [ -d \"$1\" ]; then ls -A1 -- \"$1\"; fi", &[dir])
        .await?;
    Ok(out.lines().map(str::to_string).collect())
}

/// `"17"` → 17: a task directory's name.
fn task_id(name: &str) -> Option<u64> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// `".17.creating"` → 17.
fn marker_id(name: &str) -> Option<u64> {
    task_id(name.strip_prefix('.')?.strip_suffix(".creating")?)
}
