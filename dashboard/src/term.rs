//! The terminal: raw mode and the alternate screen while the dashboard
//! runs, restored on every way out — normal return, error, or panic; and
//! its input: keys read on a thread of their own, and a watch that says when
//! the terminal hangs up (a closed tmux window), so the dashboard then quits
//! as `q` does instead of reading a dead terminal forever.

use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::cursor::{Hide, Show};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen};
use ratatui::Terminal;
use std::io::{stdout, Stdout};
use std::sync::Once;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Holds the terminal in dashboard mode; dropping it restores the terminal.
pub struct Guard {
    terminal: Option<Term>,
}

impl Guard {
    pub fn terminal(&mut self) -> Option<&mut Term> {
        self.terminal.as_mut()
    }

    /// The terminal is gone: let go of it without ratatui's own clean-up,
    /// which would report a failed cursor restore on a dead stderr (and so
    /// panic). The process is about to end; nothing else is held.
    pub fn abandon(&mut self) {
        if let Some(t) = self.terminal.take() {
            std::mem::forget(t);
        }
    }
}

/// Enter raw mode and the alternate screen, with a panic hook that restores
/// the terminal before the panic message is printed.
pub fn enter() -> std::io::Result<Guard> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
    enable_raw_mode()?;
    if let Err(e) = execute!(stdout(), EnterAlternateScreen, Hide) {
        restore();
        return Err(e);
    }
    match Terminal::new(CrosstermBackend::new(stdout())) {
        Ok(terminal) => Ok(Guard { terminal: Some(terminal) }),
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Leave raw mode and the alternate screen and show the cursor. Safe to
/// call more than once.
pub fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), LeaveAlternateScreen, Show);
}

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

// ------------------------------------------------------------------ input

/// What the terminal side tells the UI loop.
#[derive(Debug)]
pub enum Input {
    Key(ratatui::crossterm::event::KeyEvent),
    /// The terminal is gone (hung up, closed, unreadable) or a signal asked
    /// us to stop: quit exactly as `q` does.
    Gone(String),
}

/// Read keys on a thread of its own and send them to `tx`.
///
/// Why a thread: crossterm's reader loops forever on a terminal that reads
/// end-of-file (a closed tmux window), so the UI thread must never sit in
/// it. [`watch_hangup`] tells the UI when that happens; the UI then returns
/// and the process ends, this thread with it.
pub fn spawn_reader(tx: std::sync::mpsc::Sender<Input>) -> std::io::Result<()> {
    use ratatui::crossterm::event::{self, Event};
    std::thread::Builder::new().name("lwc-dash-keys".into()).spawn(move || loop {
        let input = match event::read() {
            Ok(Event::Key(key)) => Input::Key(key),
            Ok(_) => continue,
            Err(e) => Input::Gone(format!("cannot read the terminal: {e}")),
        };
        let gone = matches!(input, Input::Gone(_));
        if tx.send(input).is_err() || gone {
            return;
        }
    })?;
    Ok(())
}

/// The descriptor crossterm reads keys from: stdin if it is a terminal,
/// else `/dev/tty`.
fn input_fd() -> Option<std::os::fd::RawFd> {
    // SAFETY: isatty only inspects the descriptor.
    if unsafe { libc::isatty(0) } == 1 {
        return Some(0);
    }
    use std::os::fd::IntoRawFd;
    // Kept open for the life of the process, like crossterm's own.
    std::fs::File::open("/dev/tty").ok().map(IntoRawFd::into_raw_fd)
}

/// True once the terminal has hung up (its other end closed) or errs.
fn hung_up(fd: std::os::fd::RawFd, timeout_ms: libc::c_int) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        // No events asked for: poll reports only hangup, error and a bad fd.
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, for the duration of the call.
    let rc = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
    rc > 0 && pfd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// Whether the terminal is gone right now (for telling a failed draw on a
/// closed terminal from a real error).
pub fn terminal_gone() -> bool {
    input_fd().is_none_or(|fd| hung_up(fd, 0))
}

/// Watch the terminal on a thread of its own and send [`Input::Gone`] when
/// it hangs up. It sleeps in `poll(2)` until then: no cost while it is up.
pub fn watch_hangup(tx: std::sync::mpsc::Sender<Input>) -> std::io::Result<()> {
    let Some(fd) = input_fd() else {
        return Err(std::io::Error::other("no terminal to watch"));
    };
    std::thread::Builder::new().name("lwc-dash-hangup".into()).spawn(move || {
        // Bounded: each wait ends only on hangup, an error, or a signal (EINTR).
        for _ in 0..1_000_000 {
            if hung_up(fd, -1) {
                let _ = tx.send(Input::Gone("the terminal hung up".into()));
                return;
            }
        }
    })?;
    Ok(())
}
