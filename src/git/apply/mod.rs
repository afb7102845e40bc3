//! Applying the accepted part of a task's diff to the project's main tree,
//! as uncommitted changes, as a merge of the task branch, or as one squashed
//! commit, refusing (with the main tree untouched) whenever git can't do it
//! cleanly.
//!
//! Every strategy first builds the *accepted tree*: the base commit's tree
//! plus exactly the accepted files and hunks, in a temporary index. Whole
//! files come from the blobs the reviewed diff named (so the bytes the
//! operator saw are the bytes applied, even if the agent kept writing);
//! partially accepted files go through `git apply --cached` of the patch made
//! of their kept hunks.

mod uncommitted;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::git::diff::{FileDiff, FileStatus};
use crate::git::select::{Acceptance, Selection, build_patch};
use crate::git::worktree::Worktree;
use crate::git::{
    Git, GitError, RepoInfo, check_rev, dirty_paths, is_full_oid, lock_repo, nul_fields,
    with_identity, with_temp_index,
};
use crate::host::Host;
use uncommitted::apply_uncommitted;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Strategy {
    /// Uncommitted changes in the main working tree; the main index and
    /// HEAD are left alone.
    Uncommitted,
    /// A commit of the accepted changes on the task branch (with this
    /// message; the task's slug when `None`), merged into the main tree's
    /// current branch.
    Merge {
        #[serde(default)]
        message: Option<String>,
    },
    /// One commit on the main tree's current branch with this message.
    Squash { message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyOutcome {
    /// `files` changed in the main tree (empty when it already had the
    /// change); `commit` is the new HEAD for Merge and Squash.
    Applied {
        files: Vec<String>,
        commit: Option<String>,
    },
    /// Nothing was changed in the main tree.
    Conflicted { files: Vec<String>, reason: String },
}

pub struct ApplyRequest<'a> {
    /// The project's main tree.
    pub repo: PathBuf,
    pub worktree: &'a Worktree,
    /// The diff the operator reviewed (from [`crate::git::diff_worktree`]).
    pub files: &'a [FileDiff],
    pub selection: &'a Selection,
    pub strategy: Strategy,
}

/// Applies the accepted changes with the chosen strategy. Either the main
/// tree gets exactly the accepted changes, or it is left as it was and the
/// outcome names the conflicting files.
pub async fn apply(host: &dyn Host, req: &ApplyRequest<'_>) -> Result<ApplyOutcome, GitError> {
    if req
        .files
        .iter()
        .all(|f| req.selection.acceptance(f) == Acceptance::Rejected)
    {
        return Err(GitError::NothingSelected);
    }
    let base = req.worktree.base_commit.as_str();
    check_rev(base)?;
    let git = Git::new(host, &req.repo);
    let info = RepoInfo::of(&git).await?;
    let git = git.at(&info.top);
    // One apply (or worktree operation) at a time per repository.
    let _guard = lock_repo(host, &info.common_dir).await;
    // An earlier apply a crash cut short is finished before anything new.
    if let Some(done) = crate::git::journal::complete(&git, &info.git_dir).await? {
        tracing::warn!(task = done.task, "finished an interrupted apply first");
    }
    if let Some(why) = crate::git::journal::operation_in_progress(&git, &info.git_dir).await? {
        return Err(GitError::Invalid(why));
    }

    let tree = accepted_tree(&git, &info.git_dir, base, req.files, req.selection).await?;
    match &req.strategy {
        Strategy::Uncommitted => {
            let task = req.worktree.task_id;
            apply_uncommitted(&git, &info.git_dir, base, &tree, task).await
        }
        Strategy::Merge { message } => {
            let message = message.as_ref().filter(|m| !m.trim().is_empty());
            commit_and_merge(&git, req.worktree, &tree, Merge::Branch(message)).await
        }
        Strategy::Squash { message } => {
            commit_and_merge(&git, req.worktree, &tree, Merge::Squash(message)).await
        }
    }
}

/// The base tree plus exactly the accepted changes, written as a tree
/// object (nothing else is touched).
async fn accepted_tree(
    git: &Git<'_>,
    git_dir: &str,
    base: &str,
    files: &[FileDiff],
    selection: &Selection,
) -> Result<String, GitError> {
    let mut entries: Vec<u8> = Vec::new();
    let mut patch_files: Vec<FileDiff> = Vec::new();
    for file in files {
        match selection.acceptance(file) {
            Acceptance::Rejected => {}
            Acceptance::Partial(_) => patch_files.push(file.clone()),
            Acceptance::Whole => {
                if !index_entries(file, base.len(), &mut entries) {
                    if file.binary {
                        return Err(GitError::Invalid(format!(
                            "binary file {} has no full blob id in the diff; refresh the diff",
                            file.path
                        )));
                    }
                    patch_files.push(file.clone());
                }
            }
        }
    }
    let patch = build_patch(&patch_files, selection);
    // Lossily decoded lines can't reproduce a non-UTF-8 file's bytes.
    let lossy: Vec<&str> = patch_files
        .iter()
        .filter(|f| {
            f.hunks
                .iter()
                .any(|h| h.lines.iter().any(|l| l.text.contains('\u{FFFD}')))
        })
        .map(|f| f.path.as_str())
        .collect();
    with_temp_index(git, git_dir, |tmp, _| async move {
        tmp.run(&["read-tree", base]).await?;
        if !entries.is_empty() {
            tmp.run_input(&["update-index", "-z", "--index-info"], entries)
                .await?;
        }
        if !patch.is_empty() {
            let args = ["apply", "--cached", "--whitespace=nowarn", "-"];
            tmp.run_input(&args, patch.into_bytes())
                .await
                .map_err(|e| {
                    GitError::Invalid(if lossy.is_empty() {
                        format!("the selected hunks do not apply to the base commit ({e})")
                    } else {
                        format!(
                            "{} may not be UTF-8 text, so its hunks can't be applied singly; \
                             accept or reject the whole file ({e})",
                            lossy.join(", ")
                        )
                    })
                })?;
        }
        Ok(tmp.run(&["write-tree"]).await?.trim().to_string())
    })
    .await
}

/// `update-index --index-info` records that make a whole-file change in the
/// index; false when the diff lacks the full blob id to do so.
fn index_entries(file: &FileDiff, oid_len: usize, out: &mut Vec<u8>) -> bool {
    let zero = "0".repeat(oid_len);
    let remove = |path: &str, out: &mut Vec<u8>| {
        out.extend_from_slice(format!("0 {zero}\t{path}\0").as_bytes());
    };
    if file.status == FileStatus::Deleted {
        remove(&file.path, out);
        return true;
    }
    let Some(oid) = file.new_oid.as_deref().filter(|o| is_full_oid(o)) else {
        return false;
    };
    let mode = file
        .new_mode
        .as_deref()
        .or(file.old_mode.as_deref())
        .unwrap_or("100644");
    if let (FileStatus::Renamed { .. }, Some(old)) = (file.status, &file.old_path) {
        remove(old, out);
    }
    out.extend_from_slice(format!("{mode} {oid}\t{}\0", file.path).as_bytes());
    true
}

/// Merge and Squash: compute the merge of the main branch with the accepted
/// tree entirely in the object store, and only when it is clean and cannot
/// overwrite local changes, fast-forward the main branch to the new commit.
/// How the accepted tree reaches the main branch, and with what message.
#[derive(Clone, Copy)]
enum Merge<'a> {
    /// A commit on the task branch, merged.
    Branch(Option<&'a String>),
    /// One commit on the main branch.
    Squash(&'a String),
}

async fn commit_and_merge(
    git: &Git<'_>,
    worktree: &Worktree,
    tree: &str,
    how: Merge<'_>,
) -> Result<ApplyOutcome, GitError> {
    let squash = match how {
        Merge::Squash(message) => Some(message),
        Merge::Branch(_) => None,
    };
    let action = if squash.is_some() {
        "commit to"
    } else {
        "merge into"
    };
    let git = with_identity(git.clone()).await?;
    let head_ref = git.output(&["symbolic-ref", "-q", "HEAD"], None).await?;
    let head_ref = String::from_utf8_lossy(&head_ref.stdout).trim().to_string();
    if head_ref.is_empty() {
        return Err(GitError::DetachedHead { action });
    }
    let head = rev(&git, "HEAD^{commit}").await?;
    let label = format!("flightdeck task {}: {}", worktree.task_id, worktree.slug);
    // A message the user gave titles the task's commit, and the merge
    // after its first line.
    let (task_message, merge_title) = match how {
        Merge::Branch(Some(message)) => {
            let first = message.lines().next().unwrap_or_default().trim();
            let title = format!("flightdeck task {}: {first}", worktree.task_id);
            (message.clone(), title)
        }
        _ => (label.clone(), label.clone()),
    };

    // Merge: the accepted changes become a commit on the task branch.
    let task_commit = match squash {
        Some(_) => None,
        None => {
            let tip = rev(&git, &format!("refs/heads/{}^{{commit}}", worktree.branch))
                .await
                .map_err(|_| {
                    GitError::Invalid(format!(
                        "the task branch {} no longer exists; use Squash or Uncommitted",
                        worktree.branch
                    ))
                })?;
            let commit = if rev(&git, &format!("{tip}^{{tree}}")).await? == tree {
                tip.clone()
            } else {
                commit_tree(&git, tree, &[&tip], &task_message).await?
            };
            Some((tip, commit))
        }
    };
    let merged = match &task_commit {
        Some((_, commit)) => merge_tree(&git, &head, commit, None).await?,
        None => merge_tree(&git, &head, tree, Some(&worktree.base_commit)).await?,
    };
    let merged_tree = match merged {
        Ok(tree) => tree,
        Err(files) => {
            return Ok(ApplyOutcome::Conflicted {
                files,
                reason: format!(
                    "the task's changes conflict with changes made on {} since the task started",
                    head_ref.trim_start_matches("refs/heads/")
                ),
            });
        }
    };
    if merged_tree == rev(&git, "HEAD^{tree}").await? {
        return Ok(ApplyOutcome::Applied {
            files: Vec::new(),
            commit: None,
        });
    }
    let new_head = match &task_commit {
        Some((_, commit)) => {
            let message = format!("Merge {merge_title}");
            commit_tree(&git, &merged_tree, &[&head, commit], &message).await?
        }
        None => {
            let message = squash
                .map(String::as_str)
                .filter(|m| !m.trim().is_empty())
                .unwrap_or(&label);
            commit_tree(&git, &merged_tree, &[&head], message).await?
        }
    };
    let (changed, added) = changed_paths(&git, &head, &new_head).await?;
    let blocked = blocked_paths(&git, &changed, &added).await?;
    if !blocked.is_empty() {
        return Ok(local_changes_conflict(blocked));
    }
    let ff = git
        .output(&["merge", "--ff-only", "--no-autostash", &new_head], None)
        .await?;
    if !ff.success() {
        let files = overwritten_files(&String::from_utf8_lossy(&ff.stderr));
        if files.is_empty() {
            let args = ["merge", "--ff-only", "--no-autostash", new_head.as_str()];
            return Err(crate::git::failed(&git.argv(&args), &ff));
        }
        return Ok(local_changes_conflict(files));
    }
    if let Some((tip, commit)) = &task_commit
        && tip != commit
    {
        // After the merge: the commit is already safe on the main branch,
        // so a task that committed meanwhile loses nothing when this fails.
        let branch_ref = format!("refs/heads/{}", worktree.branch);
        if let Err(e) = git.run(&["update-ref", &branch_ref, commit, tip]).await {
            tracing::warn!("could not move {branch_ref} to the merged commit: {e}");
        }
    }
    Ok(ApplyOutcome::Applied {
        files: changed,
        commit: Some(new_head),
    })
}

fn local_changes_conflict(files: Vec<String>) -> ApplyOutcome {
    ApplyOutcome::Conflicted {
        files,
        reason: "uncommitted changes in the main tree touch the same files; commit or stash them, \
                 or apply as uncommitted changes"
            .into(),
    }
}

async fn rev(git: &Git<'_>, spec: &str) -> Result<String, GitError> {
    let out = git.run(&["rev-parse", "--verify", "--quiet", spec]).await?;
    Ok(out.trim().to_string())
}

async fn commit_tree(
    git: &Git<'_>,
    tree: &str,
    parents: &[&str],
    message: &str,
) -> Result<String, GitError> {
    let mut args = vec!["commit-tree".to_string(), tree.to_string()];
    for parent in parents {
        args.push("-p".into());
        args.push(parent.to_string());
    }
    // The message goes on stdin, so any text is safe.
    let out = git.run_input(&args, message.as_bytes().to_vec()).await?;
    Ok(out.trim().to_string())
}

/// `git merge-tree --write-tree`: Ok(tree) when clean, Err(conflicting
/// files) when not. Nothing outside the object store is written.
async fn merge_tree(
    git: &Git<'_>,
    ours: &str,
    theirs: &str,
    base: Option<&str>,
) -> Result<Result<String, Vec<String>>, GitError> {
    let mut args = vec![
        "merge-tree".to_string(),
        "--write-tree".into(),
        "-z".into(),
        "--name-only".into(),
        "--no-messages".into(),
    ];
    if let Some(base) = base {
        args.push(format!("--merge-base={base}"));
    }
    args.push(ours.into());
    args.push(theirs.into());
    let out = git.output(&args, None).await?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut fields = text.split('\0');
    let tree = fields.next().unwrap_or("").trim().to_string();
    match out.exit.code {
        Some(0) if is_full_oid(&tree) => Ok(Ok(tree)),
        Some(1) => {
            let files: BTreeSet<String> = fields
                .take_while(|f| !f.is_empty())
                .map(str::to_string)
                .collect();
            Ok(Err(files.into_iter().collect()))
        }
        _ => Err(crate::git::failed(&git.argv(&args), &out)),
    }
}

/// Paths that differ between two commits, and which of them are new.
async fn changed_paths(
    git: &Git<'_>,
    from: &str,
    to: &str,
) -> Result<(Vec<String>, Vec<String>), GitError> {
    let out = git
        .run(&[
            "diff-tree",
            "-r",
            "-z",
            "--no-renames",
            "--name-status",
            from,
            to,
        ])
        .await?;
    let fields: Vec<&str> = nul_fields(&out).collect();
    let mut changed = Vec::new();
    let mut added = Vec::new();
    for pair in fields.chunks(2) {
        if let [status, path] = pair {
            if status.starts_with('A') {
                added.push(path.to_string());
            }
            changed.push(path.to_string());
        }
    }
    Ok((changed, added))
}

/// Changed paths the fast-forward would have to overwrite: tracked files
/// with local (staged or unstaged) changes, and untracked files in the way
/// of new ones, ignored files included (git would overwrite those silently).
async fn blocked_paths(
    git: &Git<'_>,
    changed: &[String],
    added: &[String],
) -> Result<Vec<String>, GitError> {
    let dirty: BTreeSet<String> = dirty_paths(git).await?.into_iter().collect();
    let mut blocked: BTreeSet<String> = changed
        .iter()
        .filter(|p| dirty.contains(*p))
        .cloned()
        .collect();
    const EXISTING: &str = "cd \"$1\" || exit 1; shift
for f do if [ -e \"$f\" ] || [ -L \"$f\" ]; then printf '%s\\0' \"$f\"; fi; done";
    for chunk in added.chunks(500) {
        let mut args = vec![git.dir().to_string_lossy().into_owned()];
        args.extend(chunk.iter().cloned());
        let present = git.sh(EXISTING, &args).await?;
        blocked.extend(nul_fields(&present).map(str::to_string));
    }
    Ok(blocked.into_iter().collect())
}

/// The files git lists under "would be overwritten by merge".
fn overwritten_files(stderr: &str) -> Vec<String> {
    let mut files = BTreeSet::new();
    let mut listing = false;
    for line in stderr.lines() {
        if line.contains("would be overwritten by merge") {
            listing = true;
        } else if listing && let Some(path) = line.strip_prefix('\t') {
            files.insert(path.trim().to_string());
        } else {
            listing = false;
        }
    }
    files.into_iter().collect()
}
