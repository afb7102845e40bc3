//! `flightdeck-keeper`: holds one task's PTY so the agent outlives the
//! daemon (see `flightdeck::host::keeper`). The same as `flightdeck keeper`, in
//! a binary a fraction of the size, since one runs per task.

fn main() -> std::io::Result<()> {
    flightdeck::host::keeper::process::run()
}
