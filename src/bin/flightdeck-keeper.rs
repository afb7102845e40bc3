//! `flightdeck-keeper`: holds one task's PTY so the agent outlives the
//! daemon (see `flightdeck::host::shim`). The same as `flightdeck shim`, in
//! a binary a fraction of the size, since one runs per task.

fn main() -> std::io::Result<()> {
    flightdeck::host::shim::run_keeper()
}
