//! known_hosts as OpenSSH reads it: plain and hashed (`|1|salt|hash`) names,
//! `[host]:port`, `*`/`?` wildcards, `!` negation, `@revoked`, several files,
//! and physical line numbers in what we report. russh's own checker gets line
//! numbers wrong and ignores wildcards and `@revoked`, hence this module.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::known_hosts::{Entry, HostPatterns, Marker};
use russh::keys::{HashAlg, PublicKey};
use sha1::Sha1;

/// What the known_hosts files say about a host's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyStatus {
    Known {
        file: PathBuf,
        line: usize,
    },
    /// No line for this host with this key type: ask the user.
    Unknown {
        fingerprint: String,
    },
    /// A line records another key of the same type: refuse.
    Changed {
        file: PathBuf,
        line: usize,
        recorded_fingerprint: String,
        fingerprint: String,
    },
    /// This very key is marked `@revoked`: refuse, never offer to trust it.
    Revoked {
        file: PathBuf,
        line: usize,
        fingerprint: String,
    },
}

/// "host" for port 22, "[host]:port" otherwise: what OpenSSH writes and hashes.
pub fn host_port_name(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// "SHA256:…", as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Checks `key` for `host`:`port` against `files` in order; missing files
/// count as empty. Lines that do not parse are skipped, as OpenSSH does.
pub fn check(
    files: &[PathBuf],
    host: &str,
    port: u16,
    key: &PublicKey,
) -> io::Result<HostKeyStatus> {
    let name = host_port_name(host, port);
    let mut known = None;
    let mut changed = None;
    for file in files {
        let text = match fs::read(file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for (index, raw) in text.lines().enumerate() {
            let Some(entry) = parse_line(raw) else {
                continue;
            };
            if !hosts_match(entry.host_patterns(), &name) {
                continue;
            }
            let place = (file.clone(), index + 1);
            // Not `==`: PublicKey equality compares comments too.
            let same_key = entry.public_key().key_data() == key.key_data();
            match entry.marker() {
                Some(Marker::Revoked) if same_key => {
                    return Ok(HostKeyStatus::Revoked {
                        file: place.0,
                        line: place.1,
                        fingerprint: fingerprint(key),
                    });
                }
                // @cert-authority lines vouch for host certificates only.
                Some(_) => {}
                None if same_key => {
                    known.get_or_insert(place);
                }
                None if entry.public_key().algorithm() == key.algorithm() => {
                    changed.get_or_insert((place, fingerprint(entry.public_key())));
                }
                None => {}
            }
        }
    }
    // A line with the right key wins over a stale one, as in OpenSSH.
    Ok(match (known, changed) {
        (Some((file, line)), _) => HostKeyStatus::Known { file, line },
        (None, Some(((file, line), recorded_fingerprint))) => HostKeyStatus::Changed {
            file,
            line,
            recorded_fingerprint,
            fingerprint: fingerprint(key),
        },
        (None, None) => HostKeyStatus::Unknown {
            fingerprint: fingerprint(key),
        },
    })
}

fn parse_line(raw: &str) -> Option<Entry> {
    let line = raw.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    // ssh-key's parser splits on single spaces only; tabs and runs are legal.
    let normalised = line.split_whitespace().collect::<Vec<_>>().join(" ");
    normalised.parse::<Entry>().ok()
}

fn hosts_match(patterns: &HostPatterns, name: &str) -> bool {
    match patterns {
        HostPatterns::HashedName { salt, hash } => {
            let Ok(mut mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(salt) else {
                return false;
            };
            mac.update(name.as_bytes());
            mac.verify_slice(hash).is_ok()
        }
        HostPatterns::Patterns(patterns) => {
            let mut hit = false;
            for pattern in patterns {
                if let Some(negated) = pattern.strip_prefix('!') {
                    if glob(negated.as_bytes(), name.as_bytes()) {
                        return false;
                    }
                } else if glob(pattern.as_bytes(), name.as_bytes()) {
                    hit = true;
                }
            }
            hit
        }
    }
}

/// `*` and `?` wildcards, ASCII case-insensitive (OpenSSH lowercases names).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&pattern[1..], text) || (!text.is_empty() && glob(pattern, &text[1..]))
        }
        (Some(b'?'), Some(_)) => glob(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p.eq_ignore_ascii_case(t) => glob(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// Appends "name keytype base64" (plain, like OpenSSH with HashKnownHosts no),
/// creating the directory (0700) and the file (0600) when missing.
pub fn learn(file: &Path, host: &str, port: u16, key: &PublicKey) -> io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let needs_newline = fs::read(file)
        .map(|bytes| !bytes.is_empty() && !bytes.ends_with(b"\n"))
        .unwrap_or(false);
    let mut key = key.clone();
    key.set_comment("");
    let encoded = key.to_openssh().map_err(io::Error::other)?;
    let line = format!(
        "{}{} {}\n",
        if needs_newline { "\n" } else { "" },
        host_port_name(host, port),
        encoded.trim_end()
    );
    let mut out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(file)?;
    out.write_all(line.as_bytes())
}

/// A hashed name as `ssh-keygen -H` writes it: `|1|base64(salt)|base64(hmac)`.
pub fn hash_name(name: &str, salt: &[u8; 20]) -> String {
    let mut mac =
        <Hmac<Sha1> as KeyInit>::new_from_slice(salt).expect("HMAC accepts keys of any length");
    mac.update(name.as_bytes());
    format!(
        "|1|{}|{}",
        BASE64.encode(salt),
        BASE64.encode(&mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIC7HenUI/Q51sr/bZaG0jWtXl12FyJzwRcXftt8upYaS";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2bfi730O1EVNLFsoY0KzxfnvAI2UKwKAPCofxBQuaj";
    const KEY_C: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBETIVeLM4KChN8ffgbmx3YN2OqQwOt9vGzvzrdhxJgjeLUIPleeQFp5Er/LnLjkCh1IgLXn3Jhou4iZ3xt6QAYY=";

    fn key(text: &str) -> PublicKey {
        PublicKey::from_openssh(text).unwrap()
    }

    fn file_with(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        path
    }

    fn status(files: &[PathBuf], host: &str, port: u16, k: &str) -> HostKeyStatus {
        check(files, host, port, &key(k)).unwrap()
    }

    #[test]
    fn changed_key_reports_the_physical_line_and_both_fingerprints() {
        let dir = tempfile::tempdir().unwrap();
        let f = file_with(
            &dir,
            "kh",
            &format!("# one\n\n# two\nother {KEY_B}\nbox\t {KEY_B}\n"),
        );
        match status(std::slice::from_ref(&f), "box", 22, KEY_A) {
            HostKeyStatus::Changed {
                file,
                line,
                recorded_fingerprint,
                fingerprint: now,
            } => {
                assert_eq!((file, line), (f, 5));
                assert_eq!(recorded_fingerprint, fingerprint(&key(KEY_B)));
                assert_eq!(now, fingerprint(&key(KEY_A)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_good_line_wins_over_a_stale_one_and_other_types_are_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let f = file_with(&dir, "kh", &format!("box {KEY_B}\nbox {KEY_A}\n"));
        assert_eq!(
            status(std::slice::from_ref(&f), "BOX", 22, KEY_A),
            HostKeyStatus::Known {
                file: f.clone(),
                line: 2
            }
        );
        assert!(matches!(
            status(&[f], "box", 22, KEY_C),
            HostKeyStatus::Unknown { .. }
        ));
    }

    #[test]
    fn ports_hashes_wildcards_and_negation() {
        let dir = tempfile::tempdir().unwrap();
        let hashed = hash_name("[10.0.0.7]:2222", &[7u8; 20]);
        let f = file_with(
            &dir,
            "kh",
            &format!(
                "[box]:2200 {KEY_A}\n{hashed} {KEY_A}\n*.corp,!secret.corp {KEY_A}\nweb? {KEY_A}\n"
            ),
        );
        let known = |host: &str, port: u16| {
            matches!(
                status(std::slice::from_ref(&f), host, port, KEY_A),
                HostKeyStatus::Known { .. }
            )
        };
        assert!(known("box", 2200));
        assert!(!known("box", 22));
        assert!(known("10.0.0.7", 2222));
        assert!(!known("10.0.0.7", 22));
        assert!(known("build.corp", 22));
        assert!(!known("secret.corp", 22));
        assert!(known("web1", 22));
        assert!(!known("web12", 22));
    }

    #[test]
    fn revoked_keys_are_refused_even_with_a_good_line() {
        let dir = tempfile::tempdir().unwrap();
        let a = file_with(&dir, "a", &format!("box {KEY_A}\n"));
        let b = file_with(&dir, "b", &format!("garbage line\n@revoked * {KEY_A}\n"));
        assert_eq!(
            status(&[a, b.clone()], "box", 22, KEY_A),
            HostKeyStatus::Revoked {
                file: b,
                line: 2,
                fingerprint: fingerprint(&key(KEY_A))
            }
        );
    }

    #[test]
    fn files_are_searched_in_order_and_missing_ones_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none");
        let second = file_with(&dir, "second", &format!("box {KEY_A}\n"));
        assert_eq!(
            status(&[missing, second.clone()], "box", 22, KEY_A),
            HostKeyStatus::Known {
                file: second,
                line: 1
            }
        );
    }

    #[test]
    fn learn_creates_private_files_and_appends_findable_lines() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("new/.ssh/known_hosts");
        learn(&file, "Box", 2222, &key(KEY_A)).unwrap();
        fs::write(&file, fs::read_to_string(&file).unwrap().trim_end()).unwrap();
        learn(&file, "other", 22, &key(KEY_C)).unwrap();
        let text = fs::read_to_string(&file).unwrap();
        assert_eq!(text, format!("[box]:2222 {KEY_A}\nother {KEY_C}\n"));
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
        assert!(matches!(
            status(&[file], "box", 2222, KEY_A),
            HostKeyStatus::Known { line: 1, .. }
        ));
    }
}
