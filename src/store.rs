//! Crash-safe persistence: files are written to a temp file, fsynced and
//! renamed over the old one, so a reader sees either the old or the new
//! content, never half of it. Everything written here is private (0600
//! in a 0700 directory).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use serde::{Serialize, de::DeserializeOwned};

pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::private::create_dir(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    // Unique per write: two writers of the same file must not share a temp file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = crate::private::create_new(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)?;
        // The rename itself is durable only once the directory is synced.
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub fn save_json<T: Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    write_atomic(path, &bytes)
}

/// Loads JSON; a missing file is `Ok(None)`, a corrupt one an error naming it.
pub fn load_json<T: DeserializeOwned>(path: &Path) -> io::Result<Option<T>> {
    match fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is corrupt: {e}", path.display()),
            )
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_no_temp_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/tasks.json");
        save_json(&path, &vec![1, 2, 3]).unwrap();
        save_json(&path, &vec![4]).unwrap();
        assert_eq!(load_json::<Vec<i32>>(&path).unwrap(), Some(vec![4]));
        let names: Vec<_> = fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1, "temp files left behind");
        assert_eq!(
            load_json::<Vec<i32>>(&dir.path().join("nope")).unwrap(),
            None
        );
        fs::write(&path, b"{not json").unwrap();
        let err = load_json::<Vec<i32>>(&path).unwrap_err();
        assert!(err.to_string().contains("tasks.json is corrupt"));
    }
}
