//! Keepers: a local task's PTY is held by a small process of its own
//! (`flightdeck keeper`), not by the daemon. The keeper logs every byte the
//! agent prints and serves a Unix socket; the daemon attaches to it. If the
//! daemon dies — even `kill -9` — the keeper and its agent carry on, and the
//! next daemon attaches again (re-adoption). If the agent ends while no
//! daemon is there, the keeper writes its exit status to a file beside the
//! socket for the next daemon to read.
//!
//! Three parts: the [`wire`] both sides speak, the keeper [`process`], and
//! the daemon's [`client`] of it.

mod client;
pub mod process;
pub mod wire;

pub use client::{attach, spawn};
pub use wire::{Hello, exit_file};
