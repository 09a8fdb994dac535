//! What an attached `lwc up` shows: the dashboard on a terminal, else the
//! hosts' logs (`--dash none`, no terminal, or no lwc-dash built). It
//! returns when the user quits (q) or a signal arrives.

use anyhow::{Context, Result};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;

use crate::ctx::Ctx;
use crate::signals::{Caught, Signals};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewEnd {
    Quit,
    Signal(Caught),
}

pub async fn show(ctx: &Ctx, dash: Option<&str>, signals: &mut Signals) -> Result<ViewEnd> {
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    match dashboard_bin(dash) {
        Some(bin) if terminal => run_dashboard(ctx, bin, signals).await,
        _ => follow_logs(ctx, signals).await,
    }
}

/// `--dash PATH|none` (LWC_DASH), else lwc-dash next to lwc or on PATH.
pub fn dashboard_bin(dash: Option<&str>) -> Option<PathBuf> {
    match dash {
        Some("none") => None,
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => crate::paths::sibling_or_path("lwc-dash"),
    }
}

async fn run_dashboard(ctx: &Ctx, bin: PathBuf, signals: &mut Signals) -> Result<ViewEnd> {
    let mut cmd = tokio::process::Command::new(&bin);
    cmd.arg("--ring-env").arg(ctx.state.ring_env()).kill_on_drop(true);
    // It stays in the terminal's foreground group (it reads the keys), and
    // still ends when lwc does, however lwc ends.
    // SAFETY: prctl only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    tokio::select! {
        status = child.wait() => {
            match status {
                Ok(s) if !s.success() => eprintln!("lwc: the dashboard exited with {s}"),
                Err(e) => eprintln!("lwc: lost the dashboard: {e}"),
                Ok(_) => {}
            }
            Ok(ViewEnd::Quit)
        }
        caught = signals.next() => {
            if let Some(pid) = child.id() {
                // SAFETY: kill(2) on our own child.
                unsafe { libc::kill(pid as i32, libc::SIGTERM) };
            }
            let _ = tokio::time::timeout(std::time::Duration::from_secs(3), child.wait()).await;
            Ok(ViewEnd::Signal(caught))
        }
    }
}

/// `tail -F` over the logs; `q` quits when stdin is a terminal.
async fn follow_logs(ctx: &Ctx, signals: &mut Signals) -> Result<ViewEnd> {
    let logs: Vec<PathBuf> = std::fs::read_dir(ctx.state.logs())
        .map(|d| d.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "log")).collect())
        .unwrap_or_default();
    let keys = std::io::stdin().is_terminal();
    eprintln!(
        "lwc: showing the hosts' logs; quit with {}Ctrl-C",
        if keys { "q or " } else { "" }
    );
    let mut tail = tokio::process::Command::new("tail");
    tail.args(["-n", "20", "-F"]).args(&logs).kill_on_drop(true);
    // SAFETY: prctl only, between fork and exec.
    unsafe {
        tail.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut tail = tail.spawn().context("cannot run tail to show the logs")?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<u8>(16);
    let _raw = if keys { KeysMode::enter() } else { None };
    if keys {
        // A thread of its own: a blocking read cannot be cancelled, and it
        // ends with the process.
        std::thread::spawn(move || {
            let mut byte = [0u8; 1];
            while std::io::stdin().read(&mut byte).is_ok_and(|n| n == 1) {
                if tx.blocking_send(byte[0]).is_err() {
                    break;
                }
            }
        });
    } else {
        drop(tx);
    }
    let end = loop {
        tokio::select! {
            Some(key) = rx.recv() => {
                if key == b'q' || key == b'Q' {
                    break ViewEnd::Quit;
                }
            }
            caught = signals.next() => break ViewEnd::Signal(caught),
        }
    };
    let _ = tail.start_kill();
    let _ = tail.wait().await;
    Ok(end)
}

/// Single keys without Enter and without echo; Ctrl-C still signals.
/// The terminal is restored on drop.
struct KeysMode {
    saved: libc::termios,
}

impl KeysMode {
    fn enter() -> Option<KeysMode> {
        // SAFETY: termios calls on stdin with a zeroed struct they fill in.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return None;
            }
            let saved = t;
            t.c_lflag &= !(libc::ICANON | libc::ECHO);
            t.c_cc[libc::VMIN] = 1;
            t.c_cc[libc::VTIME] = 0;
            (libc::tcsetattr(0, libc::TCSANOW, &t) == 0).then_some(KeysMode { saved })
        }
    }
}

impl Drop for KeysMode {
    fn drop(&mut self) {
        // SAFETY: restores what tcgetattr returned.
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &self.saved) };
    }
}
