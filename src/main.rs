use std::process::ExitCode;

fn main() -> ExitCode {
    if let Err(e) = flightdeck::ui::tty::install_hooks() {
        eprintln!("flightdeck: {e}");
    }
    match flightdeck::cli::main() {
        Ok(code) => code,
        // One plain line (the cause chain joined), no colours, no backtrace:
        // an error here is the user's to read, often in a script's log.
        Err(e) => {
            eprintln!("flightdeck: {e:#}");
            ExitCode::FAILURE
        }
    }
}
