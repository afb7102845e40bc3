//! Layers point down only: what runs things (host), reads repositories
//! (git), emulates terminals (term), probes agents, keeps files (paths,
//! store, private, clock), reads config, decides attention, and the wire
//! contract between daemon and clients (protocol) import nothing from the
//! layers that use them (supervisor, daemon, ui, cli). Fails naming the
//! file and the line.

use std::path::{Path, PathBuf};

const LOWER: &[&str] = &[
    "src/host",
    "src/git",
    "src/term",
    "src/probe.rs",
    "src/paths.rs",
    "src/store.rs",
    "src/private.rs",
    "src/clock.rs",
    "src/shell.rs",
    "src/catalog.rs",
    "src/fault.rs",
    "src/text.rs",
    "src/keymap.rs",
    "src/logging.rs",
    "src/memory.rs",
    "src/attention",
    "src/config",
    "src/protocol",
];
const UPPER: &[&str] = &["supervisor", "daemon", "ui", "cli"];

fn rust_files(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap().flatten() {
            rust_files(&entry.path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

/// Whether `line` reaches into an upper layer: `crate::ui::…`, or a
/// `use crate::{…, ui, …}` group.
fn reaches_up(line: &str) -> Option<&'static str> {
    reaches_into(line, UPPER)
}

/// Which of `layers` the line imports from, if any.
fn reaches_into(line: &str, layers: &[&'static str]) -> Option<&'static str> {
    let code = line.split("//").next().unwrap_or("");
    layers.iter().copied().find(|layer| {
        code.contains(&format!("crate::{layer}::"))
            || code.contains(&format!("crate::{layer};"))
            || (code.contains("crate::{")
                && code
                    .split(['{', '}', ',', ' '])
                    .any(|word| word == *layer || word.starts_with(&format!("{layer}::"))))
    })
}

#[test]
fn lower_layers_import_nothing_from_higher_ones() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for lower in LOWER {
        rust_files(&root.join(lower), &mut files);
    }
    assert!(
        files.len() > 20,
        "the layer check found only {} files",
        files.len()
    );
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if let Some(layer) = reaches_up(line) {
                let rel = file.strip_prefix(root).unwrap().display();
                found.push(format!("{rel}:{}: imports {layer}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(found.is_empty(), "upward imports:\n{}", found.join("\n"));
}

/// The upper layers among themselves: the daemon's core (supervisor) knows
/// no socket or client; the daemon knows no views; the dashboard reaches the
/// daemon only through the protocol and its client, never the supervisor.
#[test]
fn upper_layers_point_down_too() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rules: &[(&str, &[&'static str])] = &[
        ("src/supervisor", &["daemon", "ui", "cli"]),
        ("src/daemon", &["ui", "cli"]),
        ("src/ui", &["supervisor", "cli"]),
    ];
    let mut found = Vec::new();
    for (dir, forbidden) in rules {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        assert!(files.len() >= 3, "{dir}: only {} files", files.len());
        for file in &files {
            let text = std::fs::read_to_string(file).unwrap();
            for (n, line) in text.lines().enumerate() {
                if let Some(layer) = reaches_into(line, forbidden) {
                    let rel = file.strip_prefix(root).unwrap().display();
                    found.push(format!("{rel}:{}: imports {layer}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "imports across layers:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_sees_every_way_of_importing() {
    assert_eq!(
        reaches_up("use crate::supervisor::task::ExitInfo;"),
        Some("supervisor")
    );
    assert_eq!(reaches_up("use crate::{paths, ui::State};"), Some("ui"));
    assert_eq!(
        reaches_up("    let x = crate::daemon::client::connect();"),
        Some("daemon")
    );
    assert_eq!(
        reaches_up("use crate::host::ExitInfo; // not crate::ui::X"),
        None
    );
    assert_eq!(reaches_up("use crate::uimap::X;"), None);
}
