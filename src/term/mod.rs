//! The terminal emulator behind every task pane, kept behind a small trait so
//! the implementation can change without touching the supervisor or views.

mod alacritty;
pub mod frame;
pub mod signals;

use crate::host::PtySize;

pub use alacritty::AlacrittyEmulator;
pub use frame::ScreenFrame;
pub use signals::TermSignal;

/// The input-related modes an application switched on. While attached, the
/// outer terminal mirrors them so the raw bytes it sends are what the
/// application expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InputModes {
    pub app_cursor: bool,
    pub app_keypad: bool,
    pub bracketed_paste: bool,
    pub mouse_click: bool,
    pub mouse_drag: bool,
    pub mouse_motion: bool,
    pub sgr_mouse: bool,
    pub focus_events: bool,
    pub cursor_visible: bool,
}

pub trait Emulator: Send {
    /// Parses output from the program.
    fn feed(&mut self, bytes: &[u8]);
    /// Answers to queries the program sent (DA, DSR, colours, size), to be
    /// written back to it. Empty most of the time.
    fn take_replies(&mut self) -> Vec<u8>;
    fn resize(&mut self, size: PtySize);
    fn size(&self) -> PtySize;
    /// Lines of history kept above the screen.
    fn history_len(&self) -> usize;
    /// What a viewer sees `scroll` lines back into history (0 = live).
    /// The scroll position belongs to the viewer, not the emulator, so every
    /// view of a task can scroll on its own.
    fn frame(&self, scroll: usize) -> ScreenFrame;
    /// Cursor position on the live screen (row, col), if the program shows it.
    fn cursor(&self) -> Option<(u16, u16)>;
    fn modes(&self) -> InputModes;
    fn title(&self) -> Option<&str>;
    /// Bells and desktop notifications since the last call.
    fn take_signals(&mut self) -> Vec<TermSignal>;
}

/// A fresh emulator of the default implementation.
pub fn new_emulator(size: PtySize, scrollback: usize) -> Box<dyn Emulator> {
    Box::new(AlacrittyEmulator::new(size, scrollback))
}
