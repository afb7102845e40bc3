//! The Uncommitted strategy: the accepted changes land in the main working
//! tree as unstaged edits, merged three-way with whatever the main tree has.
//!
//! Plan first, write last. For every path the change touches, the main
//! tree's content ("ours") is hashed into a temporary index, compared with
//! the base and the accepted content ("theirs"), and merged with
//! `git merge-file --object-id` when both sides changed. Only if every path
//! is clean, and the main tree still hashes the same as when planning, are
//! files written and deleted, under a journal (`journal.rs`) so that a
//! crash half-way is completed later. The main index and HEAD are never
//! touched; the object store only gains blobs.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::ApplyOutcome;
use crate::git::journal::{Journal, apply_journaled};
use crate::git::{Git, GitError, nul_fields, with_temp_index};

/// One side of a file: mode and blob id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Side {
    mode: String,
    oid: String,
}

/// The main tree's version of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ours {
    Missing,
    /// A directory (with files) where the change has a file.
    Dir,
    File(Side),
}

/// One entry of `git diff-tree --raw` between the base and the accepted tree.
#[derive(Debug, Clone)]
struct Change {
    base: Option<Side>,
    theirs: Option<Side>,
    path: String,
    old_path: Option<String>,
}

#[derive(Default)]
struct Plan {
    writes: Vec<(String, Side)>,
    deletes: Vec<String>,
    conflicts: Vec<(String, String)>,
}

pub(crate) async fn apply_uncommitted(
    git: &Git<'_>,
    git_dir: &str,
    base: &str,
    tree: &str,
    task: u64,
) -> Result<ApplyOutcome, GitError> {
    let changes = raw_changes(git, base, tree).await?;
    let mut paths: BTreeSet<String> = BTreeSet::new();
    for c in &changes {
        paths.insert(c.path.clone());
        paths.extend(c.old_path.clone());
    }
    let paths: Vec<String> = paths.into_iter().collect();
    let ours = probe(git, git_dir, &paths).await?;

    let mut plan = Plan::default();
    for change in &changes {
        plan_change(git, change, &ours, &mut plan).await?;
    }
    if !plan.conflicts.is_empty() {
        let files: BTreeSet<String> = plan.conflicts.iter().map(|(p, _)| p.clone()).collect();
        let reason = plan
            .conflicts
            .iter()
            .map(|(p, why)| format!("{p}: {why}"))
            .collect::<Vec<_>>()
            .join("; ");
        return Ok(ApplyOutcome::Conflicted {
            files: files.into_iter().collect(),
            reason,
        });
    }
    // Narrow the window in which an editor saving a file could be clobbered.
    let again = probe(git, git_dir, &paths).await?;
    let moved: Vec<String> = paths
        .iter()
        .filter(|p| ours.get(*p) != again.get(*p))
        .cloned()
        .collect();
    if !moved.is_empty() {
        return Ok(ApplyOutcome::Conflicted {
            files: moved,
            reason: "the main tree changed while the apply was being prepared; nothing was written"
                .into(),
        });
    }
    let journal = Journal {
        task,
        writes: (plan.writes.iter())
            .map(|(path, side)| (path.clone(), side.mode.clone(), side.oid.clone()))
            .collect(),
        deletes: plan.deletes.clone(),
    };
    apply_journaled(git, git_dir, &journal).await?;
    let touched: BTreeSet<String> = plan
        .writes
        .iter()
        .map(|(p, _)| p.clone())
        .chain(plan.deletes.iter().cloned())
        .collect();
    Ok(ApplyOutcome::Applied {
        files: touched.into_iter().collect(),
        commit: None,
    })
}

/// What to do with one changed path, given the main tree's version.
async fn plan_change(
    git: &Git<'_>,
    change: &Change,
    ours: &HashMap<String, Ours>,
    plan: &mut Plan,
) -> Result<(), GitError> {
    let src = change.old_path.as_deref().unwrap_or(&change.path);
    let dst = change.path.as_str();
    let mine = ours.get(src).unwrap_or(&Ours::Missing);
    let mut conflict = |path: &str, why: &str| {
        plan.conflicts.push((path.to_string(), why.to_string()));
    };
    let gitlink = |s: &Option<Side>| s.as_ref().is_some_and(|s| s.mode == "160000");
    if gitlink(&change.base) || gitlink(&change.theirs) {
        conflict(
            dst,
            "a submodule pointer can't be applied as an uncommitted change; use Merge or Squash",
        );
        return Ok(());
    }
    match (&change.base, &change.theirs, mine) {
        (_, _, Ours::Dir) => conflict(src, "is a directory in the main tree"),
        (None, Some(t), Ours::Missing) => plan.writes.push((dst.into(), t.clone())),
        (None, Some(t), Ours::File(o)) if o == t => {}
        (None, Some(_), _) => conflict(dst, "already exists in the main tree with other content"),
        (Some(_), None, Ours::Missing) => {}
        (Some(b), None, Ours::File(o)) if o == b => plan.deletes.push(src.into()),
        (Some(_), None, _) => conflict(src, "changed in the main tree but deleted by the task"),
        (Some(_), Some(t), Ours::Missing) => {
            let renamed_already = src != dst && ours.get(dst) == Some(&Ours::File(t.clone()));
            if !renamed_already {
                conflict(src, "deleted in the main tree but changed by the task");
            }
        }
        (Some(b), Some(t), Ours::File(o)) => {
            let result = match merge3(git, o, b, t).await? {
                Ok(side) => side,
                Err(why) => {
                    conflict(src, &why);
                    return Ok(());
                }
            };
            if src == dst {
                if *o != result {
                    plan.writes.push((dst.into(), result));
                }
                return Ok(());
            }
            match ours.get(dst).unwrap_or(&Ours::Missing) {
                Ours::Missing => plan.writes.push((dst.into(), result)),
                Ours::File(d) if *d == result => {}
                _ => {
                    conflict(dst, "the rename's new path already exists in the main tree");
                    return Ok(());
                }
            }
            plan.deletes.push(src.into());
        }
        (None, None, _) => {}
    }
    Ok(())
}

/// The three-way merge of one file: Ok(result) or Err(why it conflicts).
async fn merge3(
    git: &Git<'_>,
    ours: &Side,
    base: &Side,
    theirs: &Side,
) -> Result<Result<Side, String>, GitError> {
    let mode = if ours.mode == base.mode {
        theirs.mode.clone()
    } else if theirs.mode == base.mode || theirs.mode == ours.mode {
        ours.mode.clone()
    } else {
        return Ok(Err("the file mode changed differently on both sides".into()));
    };
    let oid = if ours.oid == base.oid {
        theirs.oid.clone()
    } else if theirs.oid == base.oid || theirs.oid == ours.oid {
        ours.oid.clone()
    } else {
        let special = |m: &str| m == "120000" || m == "160000";
        if [&ours.mode, &base.mode, &theirs.mode]
            .iter()
            .any(|m| special(m))
        {
            return Ok(Err(
                "a symlink or submodule changed in both the main tree and the task".into(),
            ));
        }
        let args = [
            "merge-file",
            "--object-id",
            ours.oid.as_str(),
            base.oid.as_str(),
            theirs.oid.as_str(),
        ];
        let out = git.output(&args, None).await?;
        let merged = String::from_utf8_lossy(&out.stdout).trim().to_string();
        match out.exit.code {
            Some(0) if crate::git::is_full_oid(&merged) => merged,
            Some(n) if (1..=127).contains(&n) => {
                return Ok(Err(
                    "the main tree and the task changed the same lines".into()
                ));
            }
            _ => {
                let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
                return Ok(Err(format!("cannot merge it ({stderr})")));
            }
        }
    };
    Ok(Ok(Side { mode, oid }))
}

/// `git diff-tree -r -M` from the base to the accepted tree, parsed.
async fn raw_changes(git: &Git<'_>, base: &str, tree: &str) -> Result<Vec<Change>, GitError> {
    let out = git
        .run(&["diff-tree", "-r", "-z", "-M", "--no-abbrev", base, tree])
        .await?;
    let mut fields = nul_fields(&out);
    let mut changes = Vec::new();
    while let Some(meta) = fields.next() {
        let Some(meta) = meta.strip_prefix(':') else {
            continue;
        };
        let parts: Vec<&str> = meta.split(' ').collect();
        let [old_mode, new_mode, old_oid, new_oid, status] = parts[..] else {
            return Err(GitError::Unexpected {
                command: "git diff-tree -r -z -M".into(),
                detail: format!("bad record `{meta}`"),
            });
        };
        let Some(path) = fields.next() else { break };
        let side = |mode: &str, oid: &str| {
            (!mode.trim_start_matches('0').is_empty()).then(|| Side {
                mode: mode.to_string(),
                oid: oid.to_string(),
            })
        };
        let (path, old_path) = if status.starts_with('R') || status.starts_with('C') {
            let Some(new) = fields.next() else { break };
            let old = status.starts_with('R').then(|| path.to_string());
            (new.to_string(), old)
        } else {
            (path.to_string(), None)
        };
        changes.push(Change {
            base: side(old_mode, old_oid),
            theirs: side(new_mode, new_oid),
            path,
            old_path,
        });
    }
    Ok(changes)
}

/// Hashes the main tree's version of `paths` (mode and blob id, as `git
/// add` would record them) into a throwaway index. Every path is first
/// entered into that index, so `add -A` can report a missing file as
/// removed instead of failing on an unmatched pathspec.
async fn probe(
    git: &Git<'_>,
    git_dir: &str,
    paths: &[String],
) -> Result<HashMap<String, Ours>, GitError> {
    let listing = with_temp_index(git, git_dir, |tmp, _| async move {
        let empty = tmp
            .run_input(&["hash-object", "-w", "-t", "blob", "--stdin"], Vec::new())
            .await?;
        let empty = empty.trim();
        let mut seed = Vec::new();
        let mut names = Vec::new();
        for p in paths {
            seed.extend_from_slice(format!("100644 {empty}\t{p}\0").as_bytes());
            names.extend_from_slice(p.as_bytes());
            names.push(0);
        }
        tmp.run_input(&["update-index", "-z", "--index-info"], seed)
            .await?;
        let add = [
            "add",
            "-A",
            "-f",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
        ];
        tmp.clone()
            .with_env("GIT_LITERAL_PATHSPECS", "1")
            .run_input(&add, names)
            .await?;
        tmp.run(&["ls-files", "-s", "-z"]).await
    })
    .await?;

    let wanted: HashSet<&str> = paths.iter().map(String::as_str).collect();
    let mut ours: HashMap<String, Ours> = HashMap::new();
    for record in nul_fields(&listing) {
        let Some((meta, path)) = record.split_once('\t') else {
            continue;
        };
        let mut meta = meta.split(' ');
        let (Some(mode), Some(oid)) = (meta.next(), meta.next()) else {
            continue;
        };
        if wanted.contains(path) {
            let side = Side {
                mode: mode.to_string(),
                oid: oid.to_string(),
            };
            ours.insert(path.to_string(), Ours::File(side));
        } else {
            let mut dir = path;
            while let Some((parent, _)) = dir.rsplit_once('/') {
                if wanted.contains(parent) {
                    ours.insert(parent.to_string(), Ours::Dir);
                    break;
                }
                dir = parent;
            }
        }
    }
    for p in paths {
        ours.entry(p.clone()).or_insert(Ours::Missing);
    }
    Ok(ours)
}
