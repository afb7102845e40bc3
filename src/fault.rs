//! Crash points for the fault-injection tests: `FLIGHTDECK_FAULT=NAME`
//! makes the process kill itself with SIGKILL (as `kill -9` would) when it
//! reaches the point called NAME, so a crash lands exactly between two
//! steps that must be atomic together. With `FLIGHTDECK_FAULT_ONCE=FILE`
//! it crashes only if FILE does not exist yet (and creates it), so the
//! process that recovers can pass the same point. Unset, a point costs one
//! lookup.

pub fn crash_point(name: &str) {
    if std::env::var_os("FLIGHTDECK_FAULT").is_none_or(|v| v != name) {
        return;
    }
    if let Some(once) = std::env::var_os("FLIGHTDECK_FAULT_ONCE") {
        let first = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(once)
            .is_ok();
        if !first {
            return;
        }
    }
    tracing::error!("FLIGHTDECK_FAULT: crashing at {name}");
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
}
