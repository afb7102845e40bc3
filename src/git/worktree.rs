//! One git worktree per task: creation (serialized per repository, with a
//! crash marker), removal, and the report of what removing would lose.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{
    Git, GitError, RepoInfo, check_rev, dirty_paths, is_full_oid, lock_repo, nul_fields, path_str,
};
use crate::host::Host;

/// Longest slug in a branch name, so names stay readable in lists.
const SLUG_MAX: usize = 40;
/// For checking out a worktree and copying `.worktreeinclude` files, which
/// scale with the size of the project.
const SLOW_TIMEOUT: Duration = Duration::from_secs(600);
/// Branch names are `flightdeck/<task id>-<slug>`.
pub(crate) const BRANCH_PREFIX: &str = "flightdeck/";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorktreeRequest {
    /// Any directory of the project's working tree.
    pub repo: PathBuf,
    /// Absolute; `<data dir>/worktrees/<project>`. The worktree goes to
    /// `root/<task_id>`.
    pub root: PathBuf,
    pub task_id: u64,
    /// Words for the branch name, usually the prompt; slugified again here.
    pub slug: String,
    /// Branch, tag or commit to start from; `None` = the current HEAD.
    pub base: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Worktree {
    pub path: PathBuf,
    pub branch: String,
    /// The commit the task started from; diffs and applies are against it.
    pub base_commit: String,
    pub task_id: u64,
    pub slug: String,
    /// Things the operator should know, e.g. submodules left uninitialised
    /// or `.worktreeinclude` files that could not be copied.
    pub warnings: Vec<String>,
}

/// What discarding a task would lose, so the UI can name it before asking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LossReport {
    /// Uncommitted changes in the worktree (modified, deleted and untracked
    /// files, .gitignore respected).
    pub changed_files: Vec<String>,
    /// `"abc1234 subject"` of commits reachable only from the task branch.
    pub unmerged_commits: Vec<String>,
}

impl LossReport {
    pub fn is_empty(&self) -> bool {
        self.changed_files.is_empty() && self.unmerged_commits.is_empty()
    }
}

/// A branch-name-safe slug of the first words of `text`: lowercase ASCII
/// letters, digits and single dashes, at most 40 characters, cut at a word
/// boundary when possible; "task" when nothing usable is left.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_ascii_lowercase();
        let extra = word.len() + usize::from(!out.is_empty());
        if out.len() + extra > SLUG_MAX {
            if out.is_empty() {
                out.push_str(&word[..SLUG_MAX]);
            }
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word);
    }
    if out.is_empty() {
        out.push_str("task");
    }
    out
}

/// Makes the task's worktree at `root/<task_id>` on a new branch from the
/// base commit, copies `.worktreeinclude` files into it, and records the base.
///
/// Creation holds a per-repository lock and leaves a marker file
/// (`root/.<task_id>.creating`) for its whole duration, so a crash halfway is
/// recognisable by [`super::recover`].
pub async fn create_worktree(host: &dyn Host, req: &WorktreeRequest) -> Result<Worktree, GitError> {
    if !req.root.is_absolute() {
        return Err(GitError::Invalid(format!(
            "the worktree root {} must be an absolute path",
            req.root.display()
        )));
    }
    let git = Git::new(host, &req.repo);
    let info = RepoInfo::of(&git).await?;
    let git = git.at(&info.top);
    let _guard = lock_repo(host, &info.common_dir).await;

    let base_commit = resolve_base(&git, req.base.as_deref(), &req.repo).await?;
    let slug = slug(&req.slug);
    let branch = free_branch(&git, req.task_id, &slug).await?;
    let path = req.root.join(req.task_id.to_string());
    let path_s = path_str(&path);
    let marker = marker_path(&req.root, req.task_id);
    if is_registered(&git, &path_s).await? {
        // Registered but its directory gone (deleted by hand, or a data dir
        // wiped): git forgets it. One still on disk is left alone.
        git.run(&["worktree", "prune"]).await?;
    }
    if is_registered(&git, &path_s).await? {
        return Err(GitError::Invalid(format!(
            "a worktree for task {} already exists at {path_s}",
            req.task_id
        )));
    }

    git.sh(
        "mkdir -p \"$1\" && printf '%s\\n' \"$3\" \"$4\" > \"$2\"",
        &[
            &path_str(&req.root),
            &marker,
            &format!("branch={branch}"),
            &format!("base={base_commit}"),
        ],
    )
    .await?;
    // Checking out a large repository can take minutes.
    let added = git
        .clone()
        .with_timeout(SLOW_TIMEOUT)
        .run(&[
            "worktree",
            "add",
            "--quiet",
            "-b",
            &branch,
            &path_s,
            &base_commit,
        ])
        .await;
    if let Err(e) = added {
        undo_failed_add(&git, &path_s, &branch, &base_commit, &marker).await;
        return Err(e);
    }

    let mut warnings = submodule_warning(&git, &base_commit).await;
    let slow = git.clone().with_timeout(SLOW_TIMEOUT);
    warnings.extend(copy_includes(&slow, &info.top, &path_s).await);

    if let Err(e) = remove_file(&git, &marker).await {
        // A marker left behind would make recover() delete this worktree
        // once an agent works in it; undo now, while nothing is lost.
        let _ = git
            .run(&["worktree", "remove", "--force", "--force", &path_s])
            .await;
        let _ = delete_branch_if_at(&git, &branch, &base_commit).await;
        return Err(e);
    }
    Ok(Worktree {
        path,
        branch,
        base_commit,
        task_id: req.task_id,
        slug,
        warnings,
    })
}

/// Cleans up after a `git worktree add` that failed or timed out. git
/// usually undoes its own half-made worktree, but not when it was killed.
/// The path was free and the branch name unused before the add, so whatever
/// is registered there or named so now is this attempt's. The marker stays
/// if the cleanup fails, so [`super::recover`] finishes it later.
async fn undo_failed_add(git: &Git<'_>, path: &str, branch: &str, base: &str, marker: &str) {
    if matches!(is_registered(git, path).await, Ok(true)) {
        let removed = git
            .run(&["worktree", "remove", "--force", "--force", path])
            .await;
        if removed.is_err() {
            return;
        }
    }
    let _ = delete_branch_if_at(git, branch, base).await;
    let _ = remove_file(git, marker).await;
}

/// Whether git has a worktree registered at `path` (compared by real path).
async fn is_registered(git: &Git<'_>, path: &str) -> Result<bool, GitError> {
    let real = real_path(git, path).await?;
    let registered = list_worktrees(git).await?;
    Ok(registered.iter().any(|w| w.path == path || w.path == real))
}

/// Removes the task's worktree (forced: agents leave untracked files) and,
/// if asked, its branch, then prunes git's worktree list. Works when the
/// directory was already deleted by hand.
pub async fn remove_worktree(
    host: &dyn Host,
    repo: &Path,
    worktree: &Worktree,
    delete_branch: bool,
) -> Result<(), GitError> {
    let git = Git::new(host, repo);
    let info = RepoInfo::of(&git).await?;
    let git = git.at(&info.top);
    let _guard = lock_repo(host, &info.common_dir).await;

    let path = path_str(&worktree.path);
    if is_registered(&git, &path).await? {
        git.run(&["worktree", "remove", "--force", "--force", &path])
            .await?;
    } else {
        // Not a worktree git knows: a leftover directory of this task.
        git.sh("rm -rf -- \"$1\"", &[&path]).await?;
    }
    if delete_branch && branch_exists(&git, &worktree.branch).await? {
        git.run(&["branch", "-D", &worktree.branch]).await?;
    }
    git.run(&["worktree", "prune"]).await?;
    Ok(())
}

/// What [`remove_worktree`] with `delete_branch` would lose.
pub async fn loss_report(
    host: &dyn Host,
    repo: &Path,
    worktree: &Worktree,
) -> Result<LossReport, GitError> {
    let git = Git::new(host, repo);
    let info = RepoInfo::of(&git).await?;
    let git = git.at(&info.top);
    let mut report = LossReport::default();

    let path = path_str(&worktree.path);
    let exists = git
        .sh("[ -d \"$1\" ] && echo yes || true", &[&path])
        .await?;
    if exists.trim() == "yes" {
        let changed = dirty_paths(&git.at(&worktree.path)).await?;
        report.changed_files =
            not_in_main(&git, &worktree.path, Path::new(&info.top), changed).await?;
    }

    if branch_exists(&git, &worktree.branch).await? {
        let short = worktree
            .branch
            .strip_prefix("refs/heads/")
            .unwrap_or(&worktree.branch);
        let log = git
            .run(&[
                "log",
                "--no-show-signature",
                "--format=%h %s",
                &format!("refs/heads/{short}"),
                "--not",
                &format!("--exclude={short}"),
                "--branches",
                "--tags",
                "--remotes",
                "--",
            ])
            .await?;
        report.unmerged_commits = log.lines().map(str::to_string).collect();
    }
    Ok(report)
}

/// Of the worktree's changed `files`, those the main tree does not hold
/// as they are: a change already applied (same bytes, or deleted in both)
/// is not lost by discarding.
async fn not_in_main(
    git: &Git<'_>,
    worktree: &Path,
    top: &Path,
    files: Vec<String>,
) -> Result<Vec<String>, GitError> {
    if files.is_empty() {
        return Ok(files);
    }
    const SCRIPT: &str = r#"wt=$1; top=$2; shift 2
for f; do
  if [ -e "$wt/$f" ] || [ -L "$wt/$f" ]; then
    cmp -s "$wt/$f" "$top/$f" 2>/dev/null && continue
  else
    [ -e "$top/$f" ] || [ -L "$top/$f" ] || continue
  fi
  printf '%s\0' "$f"
done"#;
    let mut args = vec![path_str(worktree), path_str(top)];
    args.extend(files);
    let out = git.sh(SCRIPT, &args).await?;
    Ok(out
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect())
}

/// The commit to start from, telling an empty repository from a bad base.
async fn resolve_base(git: &Git<'_>, base: Option<&str>, repo: &Path) -> Result<String, GitError> {
    let rev = base.unwrap_or("HEAD");
    let not_found = || GitError::BaseNotFound {
        base: rev.to_string(),
    };
    check_rev(rev).map_err(|_| not_found())?;
    let out = git
        .output(
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ],
            None,
        )
        .await?;
    let sha = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if out.success() && is_full_oid(&sha) {
        return Ok(sha);
    }
    let any_ref = git
        .run(&["for-each-ref", "--count=1", "--format=%(refname)"])
        .await?;
    if any_ref.trim().is_empty() {
        return Err(GitError::NoCommits {
            path: repo.to_path_buf(),
        });
    }
    Err(not_found())
}

/// `flightdeck/<id>-<slug>`, or with `-2`, `-3`… when taken: an existing
/// branch is never reused or moved.
async fn free_branch(git: &Git<'_>, task_id: u64, slug: &str) -> Result<String, GitError> {
    let refs = git
        .run(&[
            "for-each-ref",
            "--format=%(refname)",
            &format!("refs/heads/{BRANCH_PREFIX}"),
        ])
        .await?;
    let taken: HashSet<&str> = refs.lines().collect();
    let clashes = |name: &str| {
        let full = format!("refs/heads/{name}");
        let nested = format!("{full}/");
        taken.contains(full.as_str()) || taken.iter().any(|t| t.starts_with(&nested))
    };
    let stem = format!("{BRANCH_PREFIX}{task_id}-{slug}");
    (1..=1000)
        .map(|n| {
            if n == 1 {
                stem.clone()
            } else {
                format!("{stem}-{n}")
            }
        })
        .find(|name| !clashes(name))
        .ok_or_else(|| GitError::Invalid(format!("no free branch name like {stem}")))
}

/// Submodules are not initialised in a new worktree; say so.
async fn submodule_warning(git: &Git<'_>, base: &str) -> Vec<String> {
    match git
        .run(&["ls-tree", "--name-only", base, "--", ".gitmodules"])
        .await
    {
        Ok(out) if !out.trim().is_empty() => vec![
            "the repository has submodules; they are not initialised in this worktree \
             (run `git submodule update --init` in it if the task needs them)"
                .to_string(),
        ],
        Ok(_) => Vec::new(),
        Err(e) => vec![format!("could not check for submodules: {e}")],
    }
}

/// Copies the untracked (typically gitignored) files that the main tree's
/// `.worktreeinclude` patterns match into the new worktree, keeping relative
/// paths and modes. git does the matching (`ls-files --others --ignored
/// --exclude-from`), so the file has full gitignore syntax. Failures become
/// warnings: a missing `.env` should not stop a dispatch.
async fn copy_includes(git: &Git<'_>, top: &str, dest: &str) -> Vec<String> {
    let include = format!("{top}/.worktreeinclude");
    match git
        .sh("[ -f \"$1\" ] && echo yes || true", &[&include])
        .await
    {
        Ok(out) if out.trim() == "yes" => {}
        Ok(_) => return Vec::new(),
        Err(e) => return vec![format!("could not read .worktreeinclude: {e}")],
    }
    let listed = git
        .run(&[
            "ls-files",
            "-z",
            "--others",
            "--ignored",
            &format!("--exclude-from={include}"),
        ])
        .await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(e) => return vec![format!("could not match .worktreeinclude: {e}")],
    };
    let files: Vec<&str> = nul_fields(&listed).filter(|f| !f.ends_with('/')).collect();
    const SCRIPT: &str = "src=$1; dst=$2; shift 2
for f do
  case $f in */*) mkdir -p \"$dst/${f%/*}\" || exit 1;; esac
  cp -p \"$src/$f\" \"$dst/$f\" || exit 1
done";
    let mut warnings = Vec::new();
    for chunk in files.chunks(500) {
        let mut args = vec![top, dest];
        args.extend_from_slice(chunk);
        if let Err(e) = git.sh(SCRIPT, &args).await {
            warnings.push(format!("could not copy .worktreeinclude files: {e}"));
        }
    }
    warnings
}

/// `root/.<id>.creating`: present exactly while a creation is under way.
pub(crate) fn marker_path(root: &Path, task_id: u64) -> String {
    path_str(&root.join(format!(".{task_id}.creating")))
}

pub(crate) async fn remove_file(git: &Git<'_>, path: &str) -> Result<(), GitError> {
    git.sh("rm -f -- \"$1\"", &[path]).await.map(|_| ())
}

pub(crate) async fn branch_exists(git: &Git<'_>, branch: &str) -> Result<bool, GitError> {
    let short = branch.strip_prefix("refs/heads/").unwrap_or(branch);
    let out = git
        .output(
            &[
                "show-ref",
                "--verify",
                "--quiet",
                &format!("refs/heads/{short}"),
            ],
            None,
        )
        .await?;
    Ok(out.success())
}

/// Deletes `branch` only if it still points at `commit` (an atomic
/// compare-and-delete), so a branch that gained commits survives.
pub(crate) async fn delete_branch_if_at(
    git: &Git<'_>,
    branch: &str,
    commit: &str,
) -> Result<bool, GitError> {
    let out = git
        .output(
            &["update-ref", "-d", &format!("refs/heads/{branch}"), commit],
            None,
        )
        .await?;
    Ok(out.success())
}

/// `path` with symlinks resolved (git records worktrees by their real path);
/// a missing directory resolves through its parent.
pub(crate) async fn real_path(git: &Git<'_>, path: &str) -> Result<String, GitError> {
    const SCRIPT: &str = "if cd \"$1\" 2>/dev/null; then pwd -P
elif cd \"$(dirname \"$1\")\" 2>/dev/null; then printf '%s/%s\\n' \"$(pwd -P)\" \"$(basename \"$1\")\"
else printf '%s\\n' \"$1\"; fi";
    let out = git.sh(SCRIPT, &[path]).await?;
    Ok(out.strip_suffix('\n').unwrap_or(&out).to_string())
}

/// A worktree as `git worktree list --porcelain` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Registered {
    pub path: String,
    pub branch: Option<String>,
    pub locked: bool,
}

pub(crate) async fn list_worktrees(git: &Git<'_>) -> Result<Vec<Registered>, GitError> {
    let out = git.run(&["worktree", "list", "--porcelain", "-z"]).await?;
    let mut list = Vec::new();
    let mut cur: Option<Registered> = None;
    for field in out.split('\0') {
        if let Some(path) = field.strip_prefix("worktree ") {
            list.extend(cur.take());
            cur = Some(Registered {
                path: path.to_string(),
                branch: None,
                locked: false,
            });
        } else if let Some(entry) = cur.as_mut() {
            if let Some(b) = field.strip_prefix("branch ") {
                entry.branch = Some(b.trim_start_matches("refs/heads/").to_string());
            } else if field == "locked" || field.starts_with("locked ") {
                entry.locked = true;
            }
        }
    }
    list.extend(cur);
    Ok(list)
}
