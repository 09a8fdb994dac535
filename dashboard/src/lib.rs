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
//! - [`stats`]: histogram windows, whole-run merges and percentiles
//! - [`ui`]: one widget per pane, and the layout
//! - [`input`]: keys → intents
//! - [`feed`]: NATS → channel
//! - [`http`]: the control API (inject, chaos, links) on its own thread
//! - [`term`]: raw mode and the alternate screen, restored on exit and panic

pub mod app;
pub mod config;
pub mod feed;
pub mod http;
pub mod input;
pub mod stats;
pub mod term;
pub mod ui;

#[cfg(test)]
mod testing;

use anyhow::Context;
use ratatui::crossterm::event::{self, Event};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::{App, Update};
use config::Config;

/// Updates queued between two frames at most; past this the feed drops
/// (and counts) messages instead of letting memory grow.
const CHANNEL: usize = 64 * 1024;

/// Run the dashboard on this terminal until `q`.
pub fn run(config: Config) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("lwc-dash-feed")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let (tx, rx) = std::sync::mpsc::sync_channel(CHANNEL);
    let shared = Arc::new(feed::Shared::default());
    let feed_cfg = feed::FeedConfig {
        url: config.nats.clone(),
        token: config.nats_token.clone(),
        lattice: config.lattice.clone(),
    };
    rt.spawn(feed::run(feed_cfg, tx.clone(), shared.clone()));
    let http = http::Worker::spawn(config.http.clone(), tx).context("cannot start the HTTP worker")?;

    let mut app = App::new(&config, lwc_wire::now_ns());
    let result = {
        let mut guard = term::enter().context("cannot set up the terminal (is this a terminal?)")?;
        ui_loop(&mut guard.terminal, &mut app, &rx, &http, &shared, config.frame)
    };
    // The terminal is restored (guard dropped); stop the feed without waiting long.
    drop(rx);
    rt.shutdown_timeout(Duration::from_millis(200));
    result
}

/// Collect, then draw: each frame drains what arrived, folds it into the
/// app, draws, and spends the rest of the frame waiting for keys.
fn ui_loop(
    terminal: &mut term::Term,
    app: &mut App,
    rx: &Receiver<Update>,
    http: &http::Worker,
    shared: &feed::Shared,
    frame: Duration,
) -> anyhow::Result<()> {
    loop {
        let started = Instant::now();
        // Bounded per frame, so a flood cannot starve the redraw.
        for update in rx.try_iter().take(CHANNEL) {
            app.apply(update);
        }
        app.feed = shared.stats();
        app.tick(lwc_wire::now_ns());
        terminal.draw(|f| ui::render(f, app)).context("cannot draw")?;
        let deadline = started + frame;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || !event::poll(left).context("cannot read the terminal")? {
                break;
            }
            if let Event::Key(key) = event::read().context("cannot read the terminal")? {
                if let Some(cmd) = input::handle(app, key) {
                    http.send(cmd);
                }
                if app.quit {
                    return Ok(());
                }
            }
        }
    }
}
