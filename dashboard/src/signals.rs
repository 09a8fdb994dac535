//! Signals that end the dashboard: SIGHUP (its terminal went away), SIGTERM
//! and SIGINT. Each is turned into [`Input::Gone`], so the UI loop quits
//! exactly as it does on `q`: the terminal is restored, the process exits 0.

use std::sync::mpsc::Sender;
use tokio::signal::unix::{signal, Signal, SignalKind};

use crate::term::Input;

pub struct Signals {
    hangup: Signal,
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    /// Install the handlers (inside the runtime). From here on these signals
    /// no longer kill the process outright.
    pub fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// Wait for the first of them and tell the UI.
    pub async fn forward(mut self, tx: Sender<Input>) {
        let name = tokio::select! {
            _ = self.hangup.recv() => "SIGHUP",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        };
        let _ = tx.send(Input::Gone(format!("{name} received")));
    }
}
