//! What stays ours: every file flightdeck writes is 0600 in 0700
//! directories whatever the umask (task logs hold whatever an agent
//! printed, API keys included), and a socket is trusted only when its
//! directory is ours alone and the process on the other end runs as us.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Creates `dir` and any missing parents as 0700.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Opens `path` for appending, creating it (and its directory) private.
pub fn open_append(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        create_dir(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Creates a new file that must not exist yet, private.
pub fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// Makes what is already under `dir` private: the directory itself, the
/// files in it and, for each name in `descend`, that subdirectory the same
/// way. Returns how many modes it changed. Worktrees are never walked: they
/// hold the user's code with the user's own modes.
pub fn tighten(dir: &Path, descend: &[&str]) -> io::Result<usize> {
    let mut changed = 0;
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return Ok(0);
    };
    if !meta.is_dir() {
        return Ok(0);
    }
    changed += restrict(dir, &meta, 0o700)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        let path = entry.path();
        if meta.is_file() {
            changed += restrict(&path, &meta, 0o600)?;
        } else if meta.is_dir()
            && entry
                .file_name()
                .to_str()
                .is_some_and(|n| descend.contains(&n))
        {
            changed += tighten(&path, &[])?;
        }
    }
    Ok(changed)
}

fn restrict(path: &Path, meta: &fs::Metadata, mode: u32) -> io::Result<usize> {
    if meta.mode() & 0o077 == 0 || meta.uid() != my_uid() {
        return Ok(0);
    }
    let keep = meta.mode() & 0o700;
    fs::set_permissions(path, fs::Permissions::from_mode(keep | (mode & 0o700)))?;
    Ok(1)
}

pub fn my_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Why a directory that holds sockets cannot be trusted, if it cannot: it
/// must be a real directory (not a symlink), ours, and closed to everyone
/// else. `Ok(false)` when it does not exist.
pub fn check_dir(dir: &Path) -> Result<bool, String> {
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("cannot inspect {}: {e}", dir.display())),
    };
    let me = my_uid();
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{} is a symlink; refusing to trust it",
            dir.display()
        ));
    }
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", dir.display()));
    }
    if meta.uid() != me {
        return Err(format!(
            "{} belongs to uid {}, not to you (uid {me}); refusing to use it",
            dir.display(),
            meta.uid()
        ));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "{} is open to other users (mode {:o}); refusing to use it",
            dir.display(),
            meta.mode() & 0o777
        ));
    }
    Ok(true)
}

/// The uid of the process on the other end of a Unix socket.
pub fn peer_uid(socket: &impl AsFd) -> io::Result<u32> {
    let cred = nix::sys::socket::getsockopt(socket, nix::sys::socket::sockopt::PeerCredentials)
        .map_err(io::Error::from)?;
    Ok(cred.uid())
}

/// Refuses a peer that is not us.
pub fn check_peer(socket: &impl AsFd) -> io::Result<()> {
    let (uid, me) = (peer_uid(socket)?, my_uid());
    if uid != me {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("the process on the other end runs as uid {uid}, not as you (uid {me})"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_dirs_are_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o000));
        let nested = dir.path().join("a/b");
        create_dir(&nested).unwrap();
        let log = open_append(&nested.join("x.log")).unwrap();
        nix::sys::stat::umask(old);
        drop(log);
        let mode = |p: &Path| fs::metadata(p).unwrap().mode() & 0o777;
        assert_eq!(mode(&dir.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);
        assert_eq!(mode(&nested.join("x.log")), 0o600);
    }

    #[test]
    fn tighten_fixes_open_files_and_skips_other_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let set = |p: &Path, m: u32| fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
        fs::create_dir_all(dir.path().join("logs")).unwrap();
        fs::create_dir_all(dir.path().join("worktrees/p/1")).unwrap();
        fs::write(dir.path().join("tasks.json"), "[]").unwrap();
        fs::write(dir.path().join("logs/task-1.log"), "key").unwrap();
        fs::write(dir.path().join("worktrees/p/1/code.rs"), "").unwrap();
        set(&dir.path().join("tasks.json"), 0o644);
        set(&dir.path().join("logs/task-1.log"), 0o644);
        set(&dir.path().join("logs"), 0o755);
        set(&dir.path().join("worktrees/p/1/code.rs"), 0o644);
        set(dir.path(), 0o755);
        assert_eq!(tighten(dir.path(), &["logs"]).unwrap(), 4);
        let mode = |p: &str| fs::metadata(dir.path().join(p)).unwrap().mode() & 0o777;
        assert_eq!(mode(""), 0o700);
        assert_eq!(mode("tasks.json"), 0o600);
        assert_eq!(mode("logs"), 0o700);
        assert_eq!(mode("logs/task-1.log"), 0o600);
        assert_eq!(mode("worktrees/p/1/code.rs"), 0o644, "the user's code");
        assert_eq!(tighten(dir.path(), &["logs"]).unwrap(), 0, "idempotent");
    }

    #[test]
    fn a_directory_open_to_others_or_a_symlink_is_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        assert_eq!(check_dir(&run), Ok(false));
        create_dir(&run).unwrap();
        assert_eq!(check_dir(&run), Ok(true));
        fs::set_permissions(&run, fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check_dir(&run).unwrap_err().contains("open to other users"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&run, &link).unwrap();
        assert!(check_dir(&link).unwrap_err().contains("symlink"));
    }

    #[test]
    fn a_socket_peer_is_us() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(peer_uid(&a).unwrap(), my_uid());
        check_peer(&a).unwrap();
    }
}
