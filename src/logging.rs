//! Diagnostics go to a private file (stdout belongs to the TUI; a detached
//! daemon has no terminal). `FLIGHTDECK_LOG` filters, `info` by default.

use std::path::Path;

use color_eyre::Result;
use color_eyre::eyre::WrapErr;
use tracing_appender::non_blocking::WorkerGuard;

/// Logs to `file` until the guard is dropped.
pub fn init(file: &Path) -> Result<WorkerGuard> {
    let out = crate::private::open_append(file)
        .wrap_err_with(|| format!("cannot open {}", file.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(out);
    let _ = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("FLIGHTDECK_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    Ok(guard)
}
