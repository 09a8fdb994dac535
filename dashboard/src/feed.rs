//! NATS → channel. One task per subscription (telemetry, heartbeats,
//! packet events, control-plane changes, experiment reports, the control
//! host's book) decodes messages (JSON, histograms) off the UI thread and
//! pushes [`Update`]s into a bounded channel; when the UI is behind,
//! messages are dropped and counted, never queued without bound. The
//! connection reconnects forever and its state is reported every quarter
//! second.

use futures::StreamExt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use crate::app::{Conn, FeedStats, Telemetry, Update};
use crate::stats::SeriesKey;
use lwc_wire::events::PacketEvent;
use lwc_wire::status::Heartbeat;
use lwc_wire::subjects;
use lwc_wire::telemetry::Snapshot;

/// Largest heartbeat or event accepted; the lattice's own are far smaller.
const MAX_JSON: usize = 64 * 1024;

/// Counters shared with the UI loop.
#[derive(Debug, Default)]
pub struct Shared {
    behind: AtomicU64,
    garbage_telemetry: AtomicU64,
    garbage_heartbeat: AtomicU64,
    garbage_events: AtomicU64,
    garbage_ctl: AtomicU64,
    garbage_lab: AtomicU64,
    garbage_ledger: AtomicU64,
}

impl Shared {
    pub fn stats(&self) -> FeedStats {
        FeedStats {
            behind: self.behind.load(Relaxed),
            garbage_telemetry: self.garbage_telemetry.load(Relaxed),
            garbage_heartbeat: self.garbage_heartbeat.load(Relaxed),
            garbage_events: self.garbage_events.load(Relaxed),
            garbage_ctl: self.garbage_ctl.load(Relaxed),
            garbage_lab: self.garbage_lab.load(Relaxed),
            garbage_ledger: self.garbage_ledger.load(Relaxed),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub url: String,
    pub token: Option<String>,
    pub lattice: String,
}

/// A sender that drops (and counts) rather than wait for a busy UI.
#[derive(Clone)]
struct Tx {
    tx: SyncSender<Update>,
    shared: Arc<Shared>,
}

impl Tx {
    /// False once the UI has gone away.
    fn send(&self, u: Update) -> bool {
        match self.tx.try_send(u) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.shared.behind.fetch_add(1, Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// Run the feed until the UI drops its receiver.
pub async fn run(cfg: FeedConfig, tx: SyncSender<Update>, shared: Arc<Shared>) {
    let tx = Tx { tx, shared };
    tx.send(Update::Conn(Conn::Connecting));
    let client = loop {
        match connect(&cfg, tx.clone()).await {
            Ok(c) => break c,
            Err(e) => {
                // Only a malformed URL or options get here: retrying will
                // not help, but the UI keeps running and shows why.
                if !tx.send(Update::ServerError(format!("cannot connect to {}: {e}", cfg.url))) {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    };
    let subs = [
        (subjects::telemetry_all(&cfg.lattice), Kind::Telemetry),
        (format!("lwc.{}.hosts.*.heartbeat", cfg.lattice), Kind::Heartbeat),
        (subjects::packet_events(&cfg.lattice), Kind::Events),
        // Every change to links and chaos, whoever made it: the chart's marks.
        (format!("{}>", subjects::ctl_prefix(&cfg.lattice)), Kind::Ctl),
        // The running experiment's state, once a second from lwc-lab.
        (format!("lwc.{}.lab.status", cfg.lattice), Kind::Lab),
        // The lattice-wide ledger, once a second from the control host.
        (subjects::ledger(&cfg.lattice), Kind::Ledger),
    ];
    let mut tasks = tokio::task::JoinSet::new();
    for (subject, kind) in subs {
        match client.subscribe(subject.clone()).await {
            Ok(sub) => {
                tasks.spawn(pump(sub, kind, tx.clone()));
            }
            Err(e) => {
                tx.send(Update::ServerError(format!("cannot subscribe to {subject}: {e}")));
            }
        }
    }
    // Report changes of the connection state; stop when the UI is gone.
    let mut last = None;
    loop {
        let state = match client.connection_state() {
            async_nats::connection::State::Connected => Conn::Connected,
            async_nats::connection::State::Pending => Conn::Connecting,
            async_nats::connection::State::Disconnected => Conn::Disconnected,
        };
        if last.as_ref() != Some(&state) {
            if !tx.send(Update::Conn(state.clone())) {
                break;
            }
            last = Some(state);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tasks.abort_all();
}

async fn connect(cfg: &FeedConfig, tx: Tx) -> Result<async_nats::Client, async_nats::ConnectError> {
    let mut opts = async_nats::ConnectOptions::new()
        .name("lwc-dash")
        .retry_on_initial_connect()
        .max_reconnects(None)
        .connection_timeout(Duration::from_secs(2))
        // Reconnect quickly after a server restart, at most every 2 s.
        .reconnect_delay_callback(|attempts| Duration::from_millis((attempts as u64 * 250).min(2_000)))
        .subscription_capacity(64 * 1024)
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                match event {
                    async_nats::Event::SlowConsumer(_) => {
                        tx.send(Update::SlowConsumer);
                    }
                    async_nats::Event::ServerError(e) => {
                        tx.send(Update::ServerError(e.to_string()));
                    }
                    async_nats::Event::ClientError(e) => {
                        tx.send(Update::ServerError(e.to_string()));
                    }
                    _ => {}
                }
            }
        });
    if let Some(token) = &cfg.token {
        opts = opts.token(token.clone());
    }
    opts.connect(cfg.url.as_str()).await
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Telemetry,
    Heartbeat,
    Events,
    Ctl,
    Lab,
    Ledger,
}

async fn pump(mut sub: async_nats::Subscriber, kind: Kind, tx: Tx) {
    while let Some(msg) = sub.next().await {
        if !deliver(&tx, kind, msg.subject.as_str(), &msg.payload) {
            return;
        }
    }
}

/// What one message says.
enum Decoded {
    Update(Update),
    /// Fine, but nothing new (e.g. a `ctl.state` request).
    Nothing,
    /// Does not decode: counted, never shown.
    Garbage,
}

fn decode(kind: Kind, subject: &str, payload: &[u8]) -> Decoded {
    let update = match kind {
        Kind::Telemetry => decode_telemetry(payload).map(|t| Update::Telemetry(Box::new(t))),
        Kind::Heartbeat => decode_json::<Heartbeat>(payload)
            .filter(|hb| subjects::is_valid_token(&hb.host))
            .map(|hb| Update::Heartbeat(Box::new(hb))),
        Kind::Events => decode_json::<PacketEvent>(payload).map(|e| Update::Event(Box::new(e), lwc_wire::now_ns())),
        Kind::Ctl => {
            // Only changes; `ctl.state` requests and the like say nothing new.
            if !(subject.ends_with(".ctl.links") || subject.ends_with(".ctl.chaos")) {
                return Decoded::Nothing;
            }
            lwc_wire::ctl::decode_change(payload)
                .ok()
                .map(|c| Update::Ctl(Box::new(c), lwc_wire::now_ns()))
        }
        Kind::Lab => crate::app::lab::decode(payload).map(|s| Update::Lab(Box::new(s), lwc_wire::now_ns())),
        Kind::Ledger => crate::app::book::decode(payload).map(|b| Update::Ledger(Box::new(b), lwc_wire::now_ns())),
    };
    update.map_or(Decoded::Garbage, Decoded::Update)
}

/// Decode one message and pass it on, or count it as garbage. False once
/// the UI has gone away.
fn deliver(tx: &Tx, kind: Kind, subject: &str, payload: &[u8]) -> bool {
    match decode(kind, subject, payload) {
        Decoded::Update(update) => tx.send(update),
        Decoded::Nothing => true,
        Decoded::Garbage => {
            let counter = match kind {
                Kind::Telemetry => &tx.shared.garbage_telemetry,
                Kind::Heartbeat => &tx.shared.garbage_heartbeat,
                Kind::Events => &tx.shared.garbage_events,
                Kind::Ctl => &tx.shared.garbage_ctl,
                Kind::Lab => &tx.shared.garbage_lab,
                Kind::Ledger => &tx.shared.garbage_ledger,
            };
            counter.fetch_add(1, Relaxed);
            true
        }
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(buf: &[u8]) -> Option<T> {
    if buf.len() > MAX_JSON {
        return None;
    }
    serde_json::from_slice(buf).ok()
}

/// Decode a snapshot and all its histograms; any bad part spoils the whole
/// snapshot (it is counted as garbage), so the views never mix halves.
pub fn decode_telemetry(buf: &[u8]) -> Option<Telemetry> {
    let snap = Snapshot::decode(buf).ok()?;
    let mut series = Vec::with_capacity(snap.edges.len() + snap.invoke.len() + 1);
    for e in &snap.edges {
        series.push((SeriesKey::edge(&e.from, &e.to), e.hist.decode().ok()?));
    }
    for c in &snap.invoke {
        series.push((SeriesKey::Invoke(c.component.clone()), c.hist.decode().ok()?));
    }
    if let Some(h) = &snap.lifetime {
        series.push((SeriesKey::Lifetime, h.decode().ok()?));
    }
    Some(Telemetry {
        host: snap.host,
        seq: snap.seq,
        start_ns: snap.start_ns,
        end_ns: snap.end_ns,
        counters: snap.counters,
        series,
        logs: snap.logs,
        logs_dropped: snap.logs_dropped,
    })
}

#[cfg(test)]
mod tests;
