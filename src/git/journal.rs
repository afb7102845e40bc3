//! Crash-atomic writes into the main tree. Before an uncommitted apply
//! touches the first file, the whole plan (every path to write, with the
//! blob it gets, and every path to delete) goes to a journal in the
//! repository's git dir. The blobs are already in the object store, so a
//! plan is always replayable: an apply killed half-way is completed by the
//! next apply or the next daemon start, whichever comes first, and only
//! then is the journal removed.

use serde::{Deserialize, Serialize};

use super::{Git, GitError, with_temp_index};
use crate::host::Host;

const JOURNAL: &str = "flightdeck-apply.journal";

/// What one apply writes into the main tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Journal {
    /// The task whose change this is.
    pub task: u64,
    /// Path, mode and blob id of each file to write.
    pub writes: Vec<(String, String, String)>,
    pub deletes: Vec<String>,
}

impl Journal {
    pub fn files(&self) -> Vec<String> {
        let mut files: Vec<String> = (self.writes.iter().map(|(p, _, _)| p.clone()))
            .chain(self.deletes.iter().cloned())
            .collect();
        files.sort();
        files.dedup();
        files
    }
}

/// An apply that a crash interrupted, completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    pub task: u64,
    pub files: Vec<String>,
}

fn journal_path(git_dir: &str) -> String {
    format!("{git_dir}/{JOURNAL}")
}

/// Carries out `journal` with the journal on disk for the whole time.
pub(crate) async fn apply_journaled(
    git: &Git<'_>,
    git_dir: &str,
    journal: &Journal,
) -> Result<(), GitError> {
    let path = journal_path(git_dir);
    let bytes = serde_json::to_vec(journal).map_err(|e| GitError::Invalid(e.to_string()))?;
    // Written whole and renamed into place: a journal is complete or absent.
    git.sh_input(
        "umask 077; cat > \"$1.tmp\" && { sync -- \"$1.tmp\" 2>/dev/null || true; } && mv -f -- \"$1.tmp\" \"$1\"",
        &[&path],
        bytes,
    )
    .await?;
    carry_out(git, git_dir, journal).await?;
    git.sh("rm -f -- \"$1\"", &[&path]).await?;
    Ok(())
}

/// Completes an apply a crash interrupted, if its journal is there. The
/// caller holds the repository lock.
pub(crate) async fn complete(git: &Git<'_>, git_dir: &str) -> Result<Option<Completed>, GitError> {
    let path = journal_path(git_dir);
    let text = git.sh("[ ! -e \"$1\" ] || cat -- \"$1\"", &[&path]).await?;
    // Temporary indexes of a killed apply are only litter (never the real
    // index). Their names carry the pid that made them: those of processes
    // still alive are in use.
    git.sh(
        "for f in \"$1\"/flightdeck-*-*.index \"$1\"/flightdeck-*-*.index.lock; do
  [ -e \"$f\" ] || continue
  pid=${f##*/flightdeck-}; pid=${pid#*-}; pid=${pid%%-*}
  case $pid in *[!0-9]*|'') continue;; esac
  alive=0
  if kill -0 \"$pid\" 2>/dev/null; then
    alive=1
    # A zombie (killed, not yet reaped) answers kill -0 too.
    if [ -r \"/proc/$pid/status\" ]; then
      case $(grep '^State:' \"/proc/$pid/status\") in *Z*) alive=0;; esac
    fi
  fi
  [ $alive = 1 ] || rm -f -- \"$f\"
done",
        &[git_dir],
    )
    .await?;
    if text.is_empty() {
        return Ok(None);
    }
    let journal: Journal = serde_json::from_str(&text).map_err(|e| {
        GitError::Invalid(format!(
            "{path} is not a flightdeck apply journal ({e}); move it aside to continue"
        ))
    })?;
    carry_out(git, git_dir, &journal).await?;
    git.sh("rm -f -- \"$1\"", &[&path]).await?;
    tracing::warn!(
        task = journal.task,
        "completed an apply a crash interrupted ({} files)",
        journal.files().len()
    );
    Ok(Some(Completed {
        task: journal.task,
        files: journal.files(),
    }))
}

/// At start-up: completes an interrupted apply into `repo`, if any.
pub async fn complete_interrupted_apply(
    host: &dyn Host,
    repo: &std::path::Path,
) -> Result<Option<Completed>, GitError> {
    let git = Git::new(host, repo);
    let info = super::RepoInfo::of(&git).await?;
    let git = git.at(&info.top);
    let _guard = super::lock_repo(host, &info.common_dir).await;
    complete(&git, &info.git_dir).await
}

/// Deletions first (a file may be replaced by a directory), then the
/// writes via `checkout-index`, so modes, symlinks and .gitattributes
/// conversions come out as git would write them. Idempotent: running it
/// again after a crash gives the same tree.
async fn carry_out(git: &Git<'_>, git_dir: &str, journal: &Journal) -> Result<(), GitError> {
    const DELETE: &str = "cd \"$1\" || exit 1; shift
for f do
  rm -f -- \"$f\" || exit 1
  d=$f
  while case $d in */*) true;; *) false;; esac; do
    d=${d%/*}
    rmdir -- \"$d\" 2>/dev/null || break
  done
done";
    let top = git.dir().to_string_lossy().into_owned();
    for chunk in journal.deletes.chunks(500) {
        let mut args = vec![top.clone()];
        args.extend(chunk.iter().cloned());
        git.sh(DELETE, &args).await?;
    }
    crate::fault::crash_point("apply.after-deletes");
    if journal.writes.is_empty() {
        return Ok(());
    }
    let mut entries = Vec::new();
    let mut names = Vec::new();
    for (path, mode, oid) in &journal.writes {
        entries.extend_from_slice(format!("{mode} {oid}\t{path}\0").as_bytes());
        names.extend_from_slice(path.as_bytes());
        names.push(0);
    }
    with_temp_index(git, git_dir, |tmp, _| async move {
        tmp.run_input(&["update-index", "-z", "--index-info"], entries)
            .await?;
        tmp.run_input(&["checkout-index", "-f", "-z", "--stdin"], names)
            .await?;
        Ok(())
    })
    .await
}

/// Why the main tree cannot take an apply now: a merge, rebase,
/// cherry-pick, revert or bisect in progress (writing into it would mix
/// the task's change into the user's half-done operation).
pub(crate) async fn operation_in_progress(
    git: &Git<'_>,
    git_dir: &str,
) -> Result<Option<String>, GitError> {
    let found = git
        .sh(
            "for f in MERGE_HEAD rebase-merge rebase-apply CHERRY_PICK_HEAD REVERT_HEAD BISECT_LOG; do [ -e \"$1/$f\" ] && echo \"$f\"; done; true",
            &[git_dir],
        )
        .await?;
    let what = match found.lines().next() {
        None => return Ok(None),
        Some("MERGE_HEAD") => "a merge",
        Some("rebase-merge" | "rebase-apply") => "a rebase",
        Some("CHERRY_PICK_HEAD") => "a cherry-pick",
        Some("REVERT_HEAD") => "a revert",
        Some(_) => "a bisect",
    };
    Ok(Some(format!(
        "{what} is in progress in the main tree; finish or abort it first, then apply"
    )))
}
