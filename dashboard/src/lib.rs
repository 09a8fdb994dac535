//! `lwc-dash`: the live terminal dashboard of an lwc ring.
//!
//! Data flows one way: [`feed`] turns NATS messages (telemetry snapshots,
//! heartbeats, packet events) into [`app::Update`]s on a bounded channel and
//! [`http`] does the same for the control API's answers; once per frame the
//! UI loop drains the channel into [`app::App`], draws it with [`ui`], and
//! waits for keys until the next frame, which [`input`] turns into intents.
//!
//! - [`config`]: flags, environment and `.lwc/ring.env`
//! - [`app`]: the state (hosts, ledger, packets, hop log, settings, chaos)
//!   and the topology: places (components and their replicas) and hosts as
//!   they run, from heartbeats, the manifest's placement and the live link
//!   table
//! - [`stats`]: histogram windows, whole-run merges and percentiles
//! - [`ui`]: one widget per pane, and the layout
//! - [`input`]: keys → intents
//! - [`feed`]: NATS → channel
//! - [`experiment`]: `e` runs `scripts/experiment.sh FILE` in the background
//! - [`http`]: the control API (inject, chaos, links, the placement from
//!   `/status`) on its own thread
//! - [`term`]: raw mode and the alternate screen, restored on exit and panic;
//!   keys on their own thread, and a watch for the terminal hanging up
//! - [`signals`]: SIGHUP, SIGTERM and SIGINT end the dashboard as `q` does

pub mod app;
pub mod config;
pub mod experiment;
pub mod feed;
pub mod http;
pub mod input;
pub mod stats;
pub mod signals;
pub mod term;
pub mod ui;

#[cfg(test)]
mod testing;

use anyhow::Context;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::{App, Update};
use config::Config;

/// Updates queued between two frames at most; past this the feed drops
/// (and counts) messages instead of letting memory grow.
const CHANNEL: usize = 64 * 1024;

/// Run the dashboard on this terminal until `q`, the terminal closes, or
/// SIGHUP / SIGTERM / SIGINT arrives (all four end the same way).
pub fn run(config: Config) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("lwc-dash-feed")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (tx, rx) = std::sync::mpsc::sync_channel(CHANNEL);
    let (input_tx, inputs) = std::sync::mpsc::channel();
    // Signals first: a hangup during start-up must not kill us half-set-up.
    let signals = rt
        .block_on(async { signals::Signals::new() })
        .context("cannot watch for signals")?;
    rt.spawn(signals.forward(input_tx.clone()));
    let shared = Arc::new(feed::Shared::default());
    let feed_cfg = feed::FeedConfig {
        url: config.nats.clone(),
        token: config.nats_token.clone(),
        lattice: config.lattice.clone(),
    };
    rt.spawn(feed::run(feed_cfg, tx.clone(), shared.clone()));
    let http = http::Worker::spawn(config.http.clone(), tx.clone()).context("cannot start the HTTP worker")?;

    let mut app = App::new(&config, lwc_wire::now_ns());
    let result = {
        let mut guard = term::enter().context("cannot set up the terminal (is this a terminal?)")?;
        term::spawn_reader(input_tx.clone()).context("cannot start the key reader")?;
        term::watch_hangup(input_tx).context("cannot watch the terminal")?;
        let terminal = guard.terminal().context("the terminal was not set up")?;
        let work = Work { http: &http, updates: tx };
        let exit = ui_loop(terminal, &mut app, &rx, &inputs, &work, &shared, config.frame);
        if matches!(exit, Ok(Exit::TerminalGone)) {
            guard.abandon();
        }
        exit.map(|_| ())
    };
    // The terminal is restored (guard dropped); stop the feed without waiting long.
    drop(rx);
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

/// Where the keys' commands go: HTTP calls to the worker thread, an
/// experiment to a child process.
struct Work<'a> {
    http: &'a http::Worker,
    updates: std::sync::mpsc::SyncSender<Update>,
}

impl Work<'_> {
    fn run(&self, app: &mut App, cmd: app::Command) {
        match cmd {
            app::Command::RunExperiment { root, file } => {
                let result = experiment::launch(&root, &file, self.updates.clone());
                app.experiment_started(result);
            }
            other => self.http.send(other),
        }
    }
}

/// How the UI loop ended.
enum Exit {
    /// `q`, or a signal: the terminal is still there to restore.
    Quit,
    /// The terminal hung up or cannot be read or drawn on.
    TerminalGone,
}

/// Collect, then draw: each frame drains what arrived, folds it into the
/// app, draws, and spends the rest of the frame waiting for keys.
fn ui_loop(
    terminal: &mut term::Term,
    app: &mut App,
    rx: &Receiver<Update>,
    inputs: &Receiver<term::Input>,
    work: &Work,
    shared: &feed::Shared,
    frame: Duration,
) -> anyhow::Result<Exit> {
    loop {
        let started = Instant::now();
        // Bounded per frame, so a flood cannot starve the redraw.
        for update in rx.try_iter().take(CHANNEL) {
            app.apply(update);
        }
        app.feed = shared.stats();
        app.tick(lwc_wire::now_ns());
        if let Err(e) = terminal.draw(|f| ui::render(f, app)) {
            // Drawing on a terminal that has just closed fails: that is a
            // quit, not an error.
            if term::terminal_gone() {
                return Ok(Exit::TerminalGone);
            }
            return Err(e).context("cannot draw");
        }
        let deadline = started + frame;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match inputs.recv_timeout(left) {
                Ok(term::Input::Key(key)) => {
                    if let Some(cmd) = input::handle(app, key) {
                        work.run(app, cmd);
                    }
                    if app.quit {
                        return Ok(Exit::Quit);
                    }
                }
                // The terminal or a signal said stop: the same way out as `q`.
                Ok(term::Input::Gone(why)) => {
                    return Ok(if term::terminal_gone() || why.starts_with("cannot read") {
                        Exit::TerminalGone
                    } else {
                        Exit::Quit
                    })
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(Exit::TerminalGone),
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
    }
}
