//! Attach: the selected task takes the whole terminal. Raw input bytes go
//! straight to its PTY (keys, paste, mouse, Ctrl-C — everything but the
//! detach key); its screen is drawn from the task's emulator, and the input
//! modes it asked for (mouse, bracketed paste, cursor keys) are mirrored onto
//! the real terminal so what the terminal sends is what the program expects.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::event::{DisableBracketedPaste, DisableMouseCapture};
use crossterm::execute;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

use super::tty::{self, Tui};
use super::view::theme;
use crate::daemon::client::{DaemonClient, Frames};
use crate::host::PtySize;
use crate::keymap::Key;
use crate::protocol::task::TaskId;
use crate::protocol::wire::Watch;
use crate::protocol::{Command, Event};
use crate::term::InputModes;
use crate::term::ScreenFrame;

/// How long the detach hint stays on screen.
const HINT: Duration = Duration::from_secs(3);

pub struct Outcome {
    /// Supervisor events that arrived while attached, for the dashboard.
    pub events: Vec<Event>,
    /// Why the attach ended, if not by the detach key.
    pub reason: Option<String>,
}

pub async fn run(
    terminal: &mut Tui,
    client: &mut DaemonClient,
    id: TaskId,
    detach_key: Key,
) -> io::Result<Outcome> {
    let mut outcome = Outcome {
        events: Vec::new(),
        reason: None,
    };
    let detach = detach_key.legacy_bytes().unwrap_or_else(|| vec![0x1d]);
    execute!(io::stdout(), DisableMouseCapture, DisableBracketedPaste)?;
    let mut mirror = ModeMirror::default();
    tty::force_full_redraw(terminal)?;
    let size = terminal.size()?;
    take_whole_terminal(client, id, size.width, size.height);

    let stop = Arc::new(AtomicBool::new(false));
    let (reader, mut input) = spawn_stdin_reader(stop.clone());
    let mut winch = signal(SignalKind::window_change())?;
    let hint_until = tokio::time::Instant::now() + HINT;
    let mut hint = true;
    let label = format!(" attached to #{id} · {detach_key} detaches ");
    draw(terminal, &client.frames, id, Some(&label), &mut mirror)?;

    loop {
        tokio::select! {
            bytes = input.recv() => {
                let Some(bytes) = bytes else {
                    outcome.reason = Some("terminal input closed".into());
                    break;
                };
                let (before, detached) = split_at_detach(&bytes, &detach);
                if !before.is_empty() {
                    client.send(Command::Input { id, bytes: before.to_vec() });
                }
                if detached {
                    break;
                }
            }
            Some(changed) = client.frame_updates.recv() => {
                if changed == id {
                    draw(terminal, &client.frames, id, hint.then_some(label.as_str()), &mut mirror)?;
                }
            }
            event = client.events.recv() => {
                let Some(event) = event else {
                    outcome.reason = Some("lost the daemon".into());
                    break;
                };
                match &event {
                    Event::Task(record) if record.id == id && !record.state.is_live() => {
                        outcome.reason = Some(format!("task #{id} {}", record.state.label()));
                        outcome.events.push(event);
                        break;
                    }
                    _ => outcome.events.push(event),
                }
            }
            _ = winch.recv() => {
                let (cols, rows) = crossterm::terminal::size()?;
                terminal.autoresize()?;
                take_whole_terminal(client, id, cols, rows);
            }
            _ = tokio::time::sleep_until(hint_until), if hint => {
                hint = false;
                draw(terminal, &client.frames, id, None, &mut mirror)?;
            }
        }
    }

    stop.store(true, Ordering::SeqCst);
    let _ = reader.join();
    mirror.reset()?;
    tty::resume_dashboard_modes()?;
    tty::force_full_redraw(terminal)?;
    Ok(outcome)
}

/// Sizes the task's PTY to the whole terminal and watches only it.
fn take_whole_terminal(client: &DaemonClient, id: TaskId, cols: u16, rows: u16) {
    let size = PtySize { rows, cols };
    client.send(Command::Resize { id, size });
    client.watch(vec![Watch {
        id,
        scroll: 0,
        size,
    }]);
}

fn draw(
    terminal: &mut Tui,
    frames: &Frames,
    id: TaskId,
    hint: Option<&str>,
    mirror: &mut ModeMirror,
) -> io::Result<()> {
    let Some(screen) = frames.get(id) else {
        return Ok(()); // the first frame is on its way
    };
    terminal.draw(|frame| {
        let area = frame.area();
        screen.render(area, frame.buffer_mut());
        if let Some((row, col)) = screen.cursor {
            let col = col.min(area.width.saturating_sub(1));
            let row = row.min(area.height.saturating_sub(1));
            frame.set_cursor_position((col, row));
        }
        if let Some(hint) = hint {
            let width = (hint.chars().count() as u16).min(area.width);
            let r = Rect::new(
                area.right() - width,
                area.bottom().saturating_sub(1),
                width,
                1,
            );
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(Line::from(Span::styled(hint.to_string(), theme::key()))),
                r,
            );
        }
    })?;
    mirror.apply(screen.modes)?;
    mirror.pass_on(&screen)
}

/// Splits input at the detach key: the bytes before it, and whether it was there.
pub fn split_at_detach<'a>(bytes: &'a [u8], detach: &[u8]) -> (&'a [u8], bool) {
    match bytes.windows(detach.len()).position(|w| w == detach) {
        Some(i) => (&bytes[..i], true),
        None => (bytes, false),
    }
}

/// Reads stdin as raw bytes on its own thread (the read blocks), polling so
/// it notices `stop` within a few milliseconds and leaves unread input for
/// the dashboard's event reader.
fn spawn_stdin_reader(stop: Arc<AtomicBool>) -> (JoinHandle<()>, UnboundedReceiver<Vec<u8>>) {
    let (tx, rx) = unbounded_channel();
    let handle = std::thread::spawn(move || {
        let stdin = io::stdin();
        let fd = stdin.as_fd();
        let mut buf = [0u8; 8192];
        while !stop.load(Ordering::SeqCst) {
            let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
            match poll(&mut fds, PollTimeout::from(20u8)) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => break,
            }
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => continue,
                Err(_) => break,
            }
        }
    });
    (handle, rx)
}

/// Keeps the real terminal's input modes equal to the attached program's,
/// and passes on what it asks of its terminal: its window title and bell.
#[derive(Default)]
struct ModeMirror {
    applied: Option<InputModes>,
    /// The title set on the real terminal (after saving the user's own).
    title: Option<Option<String>>,
    /// The program's bell count as last seen.
    bells: Option<u32>,
}

impl ModeMirror {
    fn apply(&mut self, modes: InputModes) -> io::Result<()> {
        if self.applied == Some(modes) {
            return Ok(());
        }
        let mut out = Vec::new();
        let set = |out: &mut Vec<u8>, on: bool, mode: &str| {
            out.extend_from_slice(format!("\x1b[?{mode}{}", if on { 'h' } else { 'l' }).as_bytes());
        };
        set(&mut out, modes.app_cursor, "1");
        set(&mut out, modes.bracketed_paste, "2004");
        set(&mut out, modes.mouse_click, "1000");
        set(&mut out, modes.mouse_drag, "1002");
        set(&mut out, modes.mouse_motion, "1003");
        set(&mut out, modes.sgr_mouse, "1006");
        set(&mut out, modes.focus_events, "1004");
        out.extend_from_slice(if modes.app_keypad { b"\x1b=" } else { b"\x1b>" });
        let mut stdout = io::stdout();
        stdout.write_all(&out)?;
        stdout.flush()?;
        self.applied = Some(modes);
        Ok(())
    }

    fn pass_on(&mut self, screen: &ScreenFrame) -> io::Result<()> {
        let mut out = Vec::new();
        if self.title.as_ref() != Some(&screen.title) {
            if self.title.is_none() {
                out.extend_from_slice(b"\x1b[22;0t"); // save the user's title
            }
            // Already one line without control characters (the emulator's doing).
            let title = screen.title.as_deref().unwrap_or("");
            out.extend_from_slice(format!("\x1b]2;{title}\x07").as_bytes());
            self.title = Some(screen.title.clone());
        }
        if self.bells.is_some_and(|seen| seen != screen.bells) {
            out.push(0x07);
        }
        self.bells = Some(screen.bells);
        if out.is_empty() {
            return Ok(());
        }
        let mut stdout = io::stdout();
        stdout.write_all(&out)?;
        stdout.flush()
    }

    fn reset(&mut self) -> io::Result<()> {
        self.applied = None;
        if self.title.take().is_some() {
            let mut stdout = io::stdout();
            stdout.write_all(b"\x1b[23;0t")?; // the user's title back
            stdout.flush()?;
        }
        self.apply(InputModes::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_key_splits_input() {
        assert_eq!(split_at_detach(b"abc", &[0x1d]), (&b"abc"[..], false));
        assert_eq!(split_at_detach(b"ab\x1dcd", &[0x1d]), (&b"ab"[..], true));
        assert_eq!(split_at_detach(b"\x1b[24~", b"\x1b[24~"), (&b""[..], true));
        assert_eq!(split_at_detach(b"\x03", &[0x1d]), (&b"\x03"[..], false));
    }
}
