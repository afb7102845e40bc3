//! Taking over the terminal and giving it back — on a normal exit, on an
//! error and on a panic (the panic hook restores first, then reports).

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{
    DisableBracketedPaste, DisableFocusChange, DisableMouseCapture, EnableBracketedPaste,
    EnableFocusChange, EnableMouseCapture,
};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{cursor, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Tui = Terminal<CrosstermBackend<io::Stdout>>;

/// Whether we hold the terminal: only then is there anything to restore
/// (a CLI error must not print reset escapes into someone's pipe).
static TAKEN: AtomicBool = AtomicBool::new(false);

/// Raw mode, alternate screen, mouse and bracketed paste: the dashboard's modes.
pub fn enter() -> io::Result<Tui> {
    TAKEN.store(true, Ordering::SeqCst);
    enable_raw_mode()?;
    let mut stdout = io::stdout();
    if let Err(e) = execute!(
        stdout,
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste,
        EnableFocusChange
    ) {
        restore();
        return Err(e);
    }
    Terminal::new(CrosstermBackend::new(stdout))
}

/// Dashboard modes back on after an attach changed them.
pub fn resume_dashboard_modes() -> io::Result<()> {
    execute!(
        io::stdout(),
        EnterAlternateScreen,
        EnableMouseCapture,
        EnableBracketedPaste,
        EnableFocusChange,
        cursor::Hide
    )
}

/// Clears the screen and forgets what was drawn, so the next frame is drawn
/// in full. (`Terminal::clear` would query the cursor position, whose answer
/// a raw-input reader may have taken.)
pub fn force_full_redraw(terminal: &mut Tui) -> io::Result<()> {
    let size = terminal.size()?;
    terminal.resize(ratatui::layout::Rect::new(0, 0, size.width, size.height))
}

/// Puts the terminal back as we found it. Safe to call more than once and
/// from a panic hook: every step is attempted, errors are ignored.
pub fn restore() {
    if !TAKEN.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut stdout = io::stdout();
    let _ = execute!(
        stdout,
        DisableMouseCapture,
        DisableBracketedPaste,
        DisableFocusChange,
        LeaveAlternateScreen,
        cursor::Show
    );
    // Modes an attached program may have mirrored onto the terminal.
    let _ = stdout.write_all(b"\x1b[?1l\x1b>\x1b[0m");
    let _ = stdout.flush();
    let _ = disable_raw_mode();
}

/// color-eyre's hooks, wrapped so the terminal is restored before anything
/// is printed.
pub fn install_hooks() -> color_eyre::Result<()> {
    let (panic_hook, eyre_hook) = color_eyre::config::HookBuilder::default().into_hooks();
    let panic_hook = panic_hook.into_panic_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        tracing::error!("panic: {info}");
        panic_hook(info);
    }));
    let eyre_hook = eyre_hook.into_eyre_hook();
    color_eyre::eyre::set_hook(Box::new(move |e| {
        restore();
        eyre_hook(e)
    }))?;
    Ok(())
}
