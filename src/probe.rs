//! Which agents a host has: one generated POSIX `sh` script, run in a single
//! exec on any [`Host`], reports for every catalog agent its resolved path,
//! version output and ACP support. Agents are probed in parallel inside the
//! script, each version command under its own timeout, so one hung agent
//! costs at most that timeout and never delays the others.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::catalog::{Agent, Catalog};
use crate::clock::now_ms;
use crate::host::{Host, RunSpec};
use crate::shell::quote;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProbe {
    pub id: String,
    pub found: bool,
    pub path: Option<String>,
    /// The first x.y.z in the version output.
    pub version: Option<String>,
    /// Whether this install speaks ACP; `None` when the catalog has no way to tell.
    pub acp: Option<bool>,
    /// What went wrong, e.g. "--version timed out after 5s".
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostProbe {
    pub host: String,
    /// When the probe finished (ms since the epoch).
    pub probed_ms: u64,
    pub duration_ms: u64,
    /// PATH as the login shell sets it, merged with ours; tasks run with it.
    pub path: Option<String>,
    pub agents: Vec<AgentProbe>,
    /// The probe itself failed (host unreachable, script error).
    pub error: Option<String>,
}

impl HostProbe {
    pub fn agent(&self, id: &str) -> Option<&AgentProbe> {
        self.agents.iter().find(|a| a.id == id)
    }
}

/// Marks every record line; anything else a chatty login shell prints is ignored.
const MARK: &str = "@@fd";

/// The probe script for `catalog`, with `timeout` per version/ACP check.
pub fn script(catalog: &Catalog, timeout: Duration) -> String {
    script_for(catalog, timeout, true)
}

/// With `checks` false, agents are only located (no `--version`, no ACP
/// check): what a dispatch needs, and it never waits for an agent.
fn script_for(catalog: &Catalog, timeout: Duration, checks: bool) -> String {
    let secs = timeout.as_secs_f64().ceil().max(1.0) as u64;
    let mut s = String::from(include_str!("../assets/probe.sh"));
    s.push_str(&format!("fd_secs={secs}\n"));
    for agent in catalog.agents() {
        match checks {
            true => s.push_str(&probe_call(agent)),
            false => s.push_str(&format!(
                "fd_where {} {} || :\n",
                quote(&agent.id),
                quote(&agent.binary)
            )),
        }
    }
    s.push_str("wait\nfd_report\n");
    s
}

fn probe_call(agent: &Agent) -> String {
    let words = |v: &[String]| v.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
    let id = quote(&agent.id);
    let acp = match &agent.acp_check {
        Some(args) => format!(
            "  fd_acp {id} \"$fd_path\" {} {} &\n",
            quote(agent.acp_check_contains.as_deref().unwrap_or("")),
            words(args)
        ),
        None => String::new(),
    };
    format!(
        "if fd_where {id} {bin}; then\n  fd_agent {id} \"$fd_path\" {version} &\n{acp}fi\n",
        bin = quote(&agent.binary),
        version = words(&agent.version),
    )
}

/// Runs the probe on `host`. Never fails: problems end up in `error` fields.
pub async fn probe_host(host: &dyn Host, catalog: &Catalog, timeout: Duration) -> HostProbe {
    run_probe(host, catalog, timeout, true).await
}

/// Where `catalog`'s agents are on `host` and the PATH they run with,
/// without running any of them.
pub async fn locate(host: &dyn Host, catalog: &Catalog) -> HostProbe {
    run_probe(host, catalog, Duration::from_secs(5), false).await
}

async fn run_probe(
    host: &dyn Host,
    catalog: &Catalog,
    timeout: Duration,
    checks: bool,
) -> HostProbe {
    let started = Instant::now();
    // The whole script waits for its slowest check; allow for that plus the
    // login shell and the round trip.
    let overall = timeout * 2 + Duration::from_secs(10);
    let spec = RunSpec::new(["sh", "-c", &script_for(catalog, timeout, checks)], overall);
    let mut probe = match host.run(spec).await {
        Ok(out) => {
            let mut probe = parse(host.name(), &String::from_utf8_lossy(&out.stdout), catalog);
            if probe.path.is_none() {
                probe.error = Some(format!(
                    "probe script failed (exit {:?}): {}",
                    out.exit.code,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            probe
        }
        Err(e) => HostProbe {
            host: host.name().to_string(),
            probed_ms: 0,
            duration_ms: 0,
            path: None,
            agents: Vec::new(),
            error: Some(format!("probe failed: {e}")),
        },
    };
    probe.probed_ms = now_ms();
    probe.duration_ms = started.elapsed().as_millis() as u64;
    probe
}

/// Parses the script's output back into results, one per catalog agent.
pub fn parse(host: &str, output: &str, catalog: &Catalog) -> HostProbe {
    let mut probe = HostProbe {
        host: host.to_string(),
        probed_ms: 0,
        duration_ms: 0,
        path: None,
        agents: catalog
            .agents()
            .iter()
            .map(|a| AgentProbe {
                id: a.id.clone(),
                found: false,
                path: None,
                version: None,
                acp: a.acp_check.as_ref().map(|_| false),
                error: None,
            })
            .collect(),
        error: None,
    };
    for line in output.lines() {
        let mut fields = line.trim_end_matches('\r').split('\t');
        if fields.next() != Some(MARK) {
            continue;
        }
        let (Some(kind), Some(id)) = (fields.next(), fields.next()) else {
            continue;
        };
        let value = fields.next().unwrap_or("");
        if kind == "path" && id == "-" {
            probe.path = Some(value.to_string());
            continue;
        }
        let Some(agent) = probe.agents.iter_mut().find(|a| a.id == id) else {
            continue;
        };
        let spec = catalog.get(id);
        match kind {
            "found" => {
                agent.found = true;
                agent.path = Some(value.to_string());
            }
            "version" => {
                let rc = value.parse::<i32>().unwrap_or(-1);
                let text =
                    String::from_utf8_lossy(&unhex(fields.next().unwrap_or(""))).into_owned();
                agent.version = first_version(&text);
                if rc == 124 {
                    let args = spec.map(|s| s.version.join(" ")).unwrap_or_default();
                    agent.error = Some(format!("{args} timed out"));
                } else if agent.version.is_none() {
                    let first = text.lines().next().unwrap_or("").trim();
                    agent.error = Some(if first.is_empty() {
                        format!("no version in output (exit {rc})")
                    } else {
                        format!("no version in output: {}", truncate(first, 60))
                    });
                }
            }
            "acp" => {
                let rc = value.parse::<i32>().unwrap_or(-1);
                let text =
                    String::from_utf8_lossy(&unhex(fields.next().unwrap_or(""))).to_lowercase();
                let needle = spec
                    .and_then(|s| s.acp_check_contains.as_deref())
                    .unwrap_or("")
                    .to_lowercase();
                agent.acp = Some(rc == 0 && text.contains(&needle));
            }
            _ => {}
        }
    }
    probe
}

/// The first `x.y.z` (or `x.y`) in `text`, e.g. "codex-cli 0.46.0" → "0.46.0".
pub fn first_version(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // A version starts a word, optionally after a "v" ("v1.2.3").
        let starts_word =
            |j: usize| j == 0 || !(bytes[j - 1].is_ascii_alphanumeric() || bytes[j - 1] == b'.');
        let after_v = i >= 1 && matches!(bytes[i - 1], b'v' | b'V') && starts_word(i - 1);
        if bytes[i].is_ascii_digit() && (starts_word(i) || after_v) {
            let start = i;
            let mut dots = 0;
            let mut end = i;
            while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'.') {
                if bytes[end] == b'.' {
                    if end + 1 >= bytes.len() || !bytes[end + 1].is_ascii_digit() || dots == 2 {
                        break;
                    }
                    dots += 1;
                }
                end += 1;
            }
            if dots >= 1 {
                return Some(text[start..end].to_string());
            }
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

fn unhex(hex: &str) -> Vec<u8> {
    hex.as_bytes()
        .chunks(2)
        .filter_map(|pair| std::str::from_utf8(pair).ok())
        .filter_map(|pair| u8::from_str_radix(pair, 16).ok())
        .collect()
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::AgentEntry;

    #[test]
    fn versions() {
        assert_eq!(first_version("codex-cli 0.46.0"), Some("0.46.0".into()));
        assert_eq!(first_version("2.0.14 (Claude Code)"), Some("2.0.14".into()));
        assert_eq!(first_version("aider 0.86.1\n"), Some("0.86.1".into()));
        assert_eq!(first_version("v1.2.3.4"), Some("1.2.3".into()));
        assert_eq!(first_version("goose 1.9"), Some("1.9".into()));
        assert_eq!(first_version("x86_64 build 12"), None);
        assert_eq!(first_version("release 10. done"), None);
        assert_eq!(first_version(""), None);
    }

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        for (id, acp) in [
            ("a", None),
            ("b", Some(vec!["acp".into(), "--help".into()])),
        ] {
            c.merge(AgentEntry {
                id: id.into(),
                binary: Some(id.into()),
                acp_check: acp,
                ..Default::default()
            })
            .unwrap();
        }
        c
    }

    fn hex(s: &str) -> String {
        s.bytes().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn parses_records_and_ignores_noise() {
        let out = format!(
            "Welcome to the box!\n@@fd\tpath\t-\t/usr/bin:/bin\n@@fd\tfound\tb\t/opt/b\n\
             @@fd\tversion\tb\t0\t{}\n@@fd\tacp\tb\t0\t{}\n@@fd\tfound\tzzz\t/x\ngarbage\t\n",
            hex("b version 3.1.4\n"),
            hex("usage: b acp")
        );
        let p = parse("local", &out, &catalog());
        assert_eq!(p.path.as_deref(), Some("/usr/bin:/bin"));
        let a = p.agent("a").unwrap();
        assert!(!a.found && a.acp.is_none());
        let b = p.agent("b").unwrap();
        assert_eq!(b.path.as_deref(), Some("/opt/b"));
        assert_eq!(b.version.as_deref(), Some("3.1.4"));
        assert_eq!(b.acp, Some(true));
        assert!(b.error.is_none());
    }

    #[test]
    fn timeout_and_versionless_output_are_errors() {
        let out = format!(
            "@@fd\tfound\ta\t/a\n@@fd\tversion\ta\t124\t\n@@fd\tfound\tb\t/b\n@@fd\tversion\tb\t1\t{}\n",
            hex("Error: no config")
        );
        let p = parse("h", &out, &catalog());
        assert_eq!(
            p.agent("a").unwrap().error.as_deref(),
            Some("--version timed out")
        );
        assert_eq!(
            p.agent("b").unwrap().error.as_deref(),
            Some("no version in output: Error: no config")
        );
    }

    #[test]
    fn script_quotes_everything() {
        let mut c = Catalog::default();
        c.merge(AgentEntry {
            id: "x".into(),
            binary: Some("my agent; rm -rf /".into()),
            ..Default::default()
        })
        .unwrap();
        let s = script(&c, Duration::from_secs(3));
        assert!(
            s.contains(
                "if fd_where x 'my agent; rm -rf /'; then\n  fd_agent x \"$fd_path\" --version &\n"
            ),
            "{s}"
        );
        assert!(s.contains("fd_secs=3"));
    }
}
