//! flightdeck: a terminal dashboard for running AI coding agents on your own
//! machine and (soon) on hosts reached over SSH.

pub mod attention;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod dispatch;
pub mod fault;
pub mod framing;
pub mod git;
pub mod host;
pub mod keymap;
pub mod logging;
pub mod memory;
pub mod paths;
pub mod private;
pub mod probe;
pub mod protocol;
pub mod shell;
pub mod store;
pub mod supervisor;
pub mod term;
pub mod text;
pub mod ui;
