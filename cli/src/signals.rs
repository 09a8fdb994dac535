//! Ctrl-C, SIGTERM and SIGHUP as one stream: the first starts an orderly
//! stop, the next one makes it immediate.

use anyhow::{Context, Result};
use tokio::signal::unix::{signal, Signal, SignalKind};

pub struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

/// Which signal arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caught {
    Interrupt,
    Terminate,
    Hangup,
}

impl Caught {
    /// The shell's exit status for a process ended by this signal.
    pub fn exit_code(self) -> i32 {
        128 + match self {
            Caught::Interrupt => libc::SIGINT,
            Caught::Terminate => libc::SIGTERM,
            Caught::Hangup => libc::SIGHUP,
        }
    }
}

impl Signals {
    pub fn new() -> Result<Signals> {
        let on = |k: SignalKind| signal(k).context("cannot install a signal handler");
        Ok(Signals {
            int: on(SignalKind::interrupt())?,
            term: on(SignalKind::terminate())?,
            hup: on(SignalKind::hangup())?,
        })
    }

    pub async fn next(&mut self) -> Caught {
        tokio::select! {
            _ = self.int.recv() => Caught::Interrupt,
            _ = self.term.recv() => Caught::Terminate,
            _ = self.hup.recv() => Caught::Hangup,
        }
    }
}
