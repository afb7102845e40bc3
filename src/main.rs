use std::process::ExitCode;

fn main() -> color_eyre::Result<ExitCode> {
    flightdeck::ui::tty::install_hooks()?;
    flightdeck::cli::main()
}
