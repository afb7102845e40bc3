//! Crash points for the fault-injection tests: `FLIGHTDECK_FAULT=NAME`
//! makes the process kill itself with SIGKILL (as `kill -9` would) when it
//! reaches the point called NAME, so a crash lands exactly between two
//! steps that must be atomic together. Unset, a point costs one lookup.

pub fn crash_point(name: &str) {
    if std::env::var_os("FLIGHTDECK_FAULT").is_some_and(|v| v == name) {
        tracing::error!("FLIGHTDECK_FAULT: crashing at {name}");
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
