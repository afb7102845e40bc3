//! What the daemon and a keeper say to each other: [`crate::framing`]
//! frames of these kinds, both ways, after the spec the daemon hands a new
//! keeper on its stdin.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::host::{ExitInfo, PtySize};

pub const OUTPUT: u8 = 1;
pub const EXIT: u8 = 2;
pub const HELLO: u8 = 3;
pub const INPUT: u8 = 11;
pub const RESIZE: u8 = 12;

/// A keeper frame's longest body (input pastes and output reads are far smaller).
pub const MAX_FRAME: usize = 16 << 20;

/// What the daemon hands a new keeper on its stdin.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeeperSpec {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    pub size: PtySize,
    pub socket: PathBuf,
    pub log: PathBuf,
    #[serde(default)]
    pub meta: String,
}

/// The keeper's greeting to each daemon that attaches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub pid: u32,
    /// Bytes in the log when this daemon's stream starts: the screen is the
    /// log up to here, then the stream.
    pub log_len: u64,
    /// The agent already ended (while no daemon was attached).
    #[serde(default)]
    pub exit: Option<ExitInfo>,
    /// What the daemon that started the task gave the keeper to keep.
    #[serde(default)]
    pub meta: String,
}

/// Where an ended task's exit status waits for a daemon.
pub fn exit_file(socket: &Path) -> PathBuf {
    socket.with_extension("exit")
}

/// One frame of `kind`.
pub fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    crate::framing::frame(kind, payload)
}

/// Reads one frame: its kind and payload.
pub fn read_frame(reader: &mut impl std::io::Read) -> std::io::Result<(u8, Vec<u8>)> {
    let mut body = crate::framing::read_body_blocking(reader, MAX_FRAME)?;
    let kind = body.remove(0);
    Ok((kind, body))
}
