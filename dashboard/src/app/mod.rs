//! The dashboard's state. Producers send [`Update`]s; the UI loop folds them
//! in with [`App::apply`] once per frame, then draws from `&App`. Keys call
//! small intent methods ([`intents`]); those that need the HTTP API return
//! a [`Command`] for the HTTP worker.

pub mod history;
mod intents;
pub use intents::DOWN_S;
pub mod hoplog;
pub mod hosts;
pub mod lab;
pub mod packets;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::config::Config;
use crate::stats::{SeriesKey, Stats};
use history::History;
use hoplog::{HopLog, Line};
use hosts::{HostView, Ledger, RING};
use lwc_wire::events::PacketEvent;
use lwc_wire::status::{Counters, Heartbeat};
use lwc_wire::telemetry::GuestLog;
use packets::Packets;

/// State of the NATS connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conn {
    Connecting,
    Connected,
    Disconnected,
}

/// One host's telemetry snapshot, histograms decoded.
#[derive(Debug, Clone)]
pub struct Telemetry {
    pub host: String,
    pub seq: u64,
    pub start_ns: u64,
    pub end_ns: u64,
    pub counters: Counters,
    pub series: Vec<(SeriesKey, Histogram<u64>)>,
    pub logs: Vec<GuestLog>,
    pub logs_dropped: u64,
}

/// Chaos settings of one host, as `GET /chaos` lists them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Chaos {
    pub trap: u8,
    pub delay_ms: u32,
    pub jitter_ms: u32,
    pub drop: u8,
    pub down_s: u32,
}

impl Chaos {
    pub fn is_calm(&self) -> bool {
        *self == Chaos::default()
    }
}

/// A link of the live table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub source: String,
    pub name: String,
    pub target: String,
}

/// What an HTTP call came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpError {
    /// `404`: the API has no such endpoint (no control plane yet).
    NotFound,
    /// Nothing answered (connection refused, timeout).
    Unreachable(String),
    /// Any other status, with the answer's `error` if it had one.
    Status(u16, String),
    /// A `200` whose body made no sense.
    BadAnswer(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::NotFound => f.write_str("404 not found"),
            HttpError::Unreachable(e) => write!(f, "unreachable: {e}"),
            HttpError::Status(s, e) => write!(f, "{s}: {e}"),
            HttpError::BadAnswer(e) => write!(f, "bad answer: {e}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpUpdate {
    /// `GET /chaos` (or the answer of a `PUT /chaos`).
    Chaos(Result<BTreeMap<String, Chaos>, HttpError>),
    /// The answer of a `PUT /chaos` this dashboard sent for `host`.
    ChaosSet {
        host: String,
        result: Result<BTreeMap<String, Chaos>, HttpError>,
    },
    Links(Result<Vec<Link>, HttpError>),
    /// `POST /packets`: how many packets were injected.
    Injected(Result<usize, HttpError>),
}

/// Everything a producer can tell the app.
#[derive(Debug, Clone)]
pub enum Update {
    Conn(Conn),
    /// An error the NATS server reported (e.g. authorization).
    ServerError(String),
    SlowConsumer,
    Telemetry(Box<Telemetry>),
    Heartbeat(Box<Heartbeat>),
    /// A packet event and the local wall-clock ns it arrived at.
    Event(Box<PacketEvent>, u64),
    /// A control-plane change (`lwc.<l>.ctl.links` / `.chaos`) and when it
    /// arrived.
    Ctl(Box<lwc_wire::ctl::Change>, u64),
    /// A report of the running experiment (`lwc.<l>.lab.status`) and when it
    /// arrived.
    Lab(Box<lab::LabStatus>, u64),
    /// Something to say on the status line (e.g. how an experiment ended).
    Note(String),
    Http(HttpUpdate),
}

/// Counters the feed keeps outside the channel (so a flood cannot hide them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Messages dropped because the UI was behind (channel full).
    pub behind: u64,
    /// Messages that did not decode, by subject kind.
    pub garbage_telemetry: u64,
    pub garbage_heartbeat: u64,
    pub garbage_events: u64,
    pub garbage_ctl: u64,
    pub garbage_lab: u64,
}

impl FeedStats {
    pub fn garbage(&self) -> u64 {
        self.garbage_telemetry + self.garbage_heartbeat + self.garbage_events + self.garbage_ctl + self.garbage_lab
    }
}

/// What `i` sends to `POST /packets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InjectSettings {
    pub ttl: u64,
    pub chaos: u16,
    pub route: String,
    pub count: u32,
    pub trace: bool,
}

impl Default for InjectSettings {
    fn default() -> Self {
        InjectSettings {
            ttl: 100,
            chaos: 0,
            route: "default".into(),
            count: 1,
            trace: false,
        }
    }
}

/// A change to one host's chaos: `None` fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ChaosPatch {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trap: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_s: Option<u32>,
}

/// Work for the HTTP worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Inject(InjectSettings),
    SetChaos(ChaosPatch),
    /// `scripts/experiment.sh file` in `root`.
    RunExperiment { root: std::path::PathBuf, file: std::path::PathBuf },
}

/// Whether the control plane's chaos API answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plane {
    Unknown,
    Available,
    /// Why not: `control plane not available` (404) or the API is unreachable.
    Missing(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Window,
    Run,
}

/// A short note for the status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub at_ns: u64,
    pub text: String,
    pub error: bool,
}

/// How long a note stays on screen.
pub const NOTE_NS: u64 = 8_000_000_000;

/// The links of DESIGN.md's ring, shown until the API says otherwise.
pub fn default_links() -> Vec<Link> {
    [
        ("north", "default", "west"),
        ("north", "special", "south"),
        ("south", "default", "east"),
        ("south", "special", "east"),
        ("east", "default", "north"),
        ("east", "special", "west"),
        ("west", "default", "south"),
        ("west", "special", "north"),
        ("control", "default", "east"),
    ]
    .iter()
    .map(|(s, n, t)| Link {
        source: s.to_string(),
        name: n.to_string(),
        target: t.to_string(),
    })
    .collect()
}

pub struct App {
    pub lattice: String,
    pub nats_url: String,
    pub http_url: String,
    pub now_ns: u64,
    pub conn: Conn,
    pub server_error: Option<String>,
    pub slow_consumer: u64,
    pub feed: FeedStats,
    pub hosts: BTreeMap<String, HostView>,
    pub stats: Stats,
    pub history: History,
    /// `g`: swap the chart and the histogram where they share a place.
    pub swap_chart: bool,
    /// When the dashboard started (host events before it settle are not marked).
    pub started_ns: u64,
    pub packets: Packets,
    /// The latest experiment report and when it arrived.
    pub lab: Option<(lab::LabStatus, u64)>,
    /// The `e` popup, while open.
    pub picker: Option<lab::Picker>,
    pub log: HopLog,
    pub inject: InjectSettings,
    pub chaos: BTreeMap<String, Chaos>,
    pub plane: Plane,
    pub links: Vec<Link>,
    /// Whether `links` came from the API (else DESIGN.md's defaults).
    pub links_live: bool,
    pub http_ok: Option<bool>,
    pub view: View,
    pub selected_host: usize,
    pub selected_row: usize,
    pub note: Option<Note>,
    pub show_help: bool,
    pub quit: bool,
}

impl App {
    pub fn new(config: &Config, now_ns: u64) -> App {
        App {
            lattice: config.lattice.clone(),
            nats_url: config.nats.clone(),
            http_url: config.http.clone(),
            now_ns,
            conn: Conn::Connecting,
            server_error: None,
            slow_consumer: 0,
            feed: FeedStats::default(),
            hosts: BTreeMap::new(),
            stats: Stats::new(config.window.as_nanos() as u64),
            history: History::new(config.span.as_secs()),
            swap_chart: false,
            started_ns: now_ns,
            packets: Packets::default(),
            lab: None,
            picker: None,
            log: HopLog::default(),
            inject: InjectSettings::default(),
            chaos: BTreeMap::new(),
            plane: Plane::Unknown,
            links: default_links(),
            links_live: false,
            http_ok: None,
            view: View::Window,
            selected_host: 0,
            selected_row: 0,
            note: None,
            show_help: false,
            quit: false,
        }
    }

    /// Advance the clock: expire the window, drop old notes.
    pub fn tick(&mut self, now_ns: u64) {
        self.now_ns = now_ns;
        self.stats.expire(now_ns);
        self.history.expire(now_ns);
        if self.lab.as_ref().is_some_and(|(_, at)| now_ns.saturating_sub(*at) > lab::LINGER_NS) {
            self.lab = None;
        }
        self.observe_hosts();
        if self.note.as_ref().is_some_and(|n| now_ns.saturating_sub(n.at_ns) > NOTE_NS) {
            self.note = None;
        }
    }

    fn note(&mut self, text: impl Into<String>, error: bool) {
        self.note = Some(Note {
            at_ns: self.now_ns,
            text: text.into(),
            error,
        });
    }

    fn host_mut(&mut self, name: &str) -> &mut HostView {
        self.hosts.entry(name.to_string()).or_default()
    }

    /// Fold one update into the state.
    pub fn apply(&mut self, update: Update) {
        match update {
            Update::Conn(c) => {
                if c == Conn::Connected {
                    self.server_error = None;
                }
                self.conn = c;
            }
            Update::ServerError(e) => self.server_error = Some(e),
            Update::SlowConsumer => self.slow_consumer += 1,
            Update::Telemetry(t) => self.apply_telemetry(*t),
            Update::Heartbeat(hb) => {
                let now = self.now_ns;
                let h = self.host_mut(&hb.host);
                h.seen_ns = now;
                h.set_counters(hb.at_ns, hb.counters.clone());
                h.heartbeat = Some(*hb);
            }
            Update::Event(ev, at_ns) => self.apply_event(*ev, at_ns),
            Update::Ctl(change, at_ns) => self.history.add_change(&change, at_ns),
            Update::Lab(status, at_ns) => self.lab = Some((*status, at_ns)),
            Update::Note(text) => self.note(text, false),
            Update::Http(h) => self.apply_http(h),
        }
    }

    fn apply_telemetry(&mut self, t: Telemetry) {
        let now = self.now_ns;
        let h = self.host_mut(&t.host);
        h.seen_ns = now;
        if let Some(last) = h.last_seq {
            if t.seq > last + 1 {
                h.missed_snapshots += t.seq - last - 1;
            }
        }
        h.last_seq = Some(t.seq);
        let secs = (t.end_ns.saturating_sub(t.start_ns) as f64 / 1e9).max(0.001);
        let invocations: u64 = t
            .series
            .iter()
            .filter(|(k, _)| matches!(k, SeriesKey::Invoke(_)))
            .map(|(_, h)| h.len())
            .sum();
        h.inv_rate = invocations as f64 / secs;
        h.set_counters(t.end_ns, t.counters.clone());
        let mut series = t.series;
        if let Some(all) = all_edges(&series) {
            series.push((SeriesKey::AllEdges, all));
        }
        self.history
            .add_snapshot(&t.host, t.seq, t.start_ns, t.end_ns, &series, &t.counters);
        for (key, hist) in series {
            self.stats.add(key, t.start_ns, t.end_ns, hist);
        }
        for log in t.logs {
            self.log.push(Line::Guest {
                host: t.host.clone(),
                log: Box::new(log),
            });
        }
        self.log.guest_not_sent += t.logs_dropped;
    }

    /// Mark hosts that went away or came back (from heartbeats).
    fn observe_hosts(&mut self) {
        // The first seconds only say who is there.
        let settled = self.now_ns.saturating_sub(self.started_ns) > hosts::STALE_NS;
        for (name, h) in &self.hosts {
            let status = h.status(self.now_ns);
            self.history.observe(name, status, h.restarts, h.seen_ns, self.now_ns, settled);
        }
    }

    fn apply_event(&mut self, ev: PacketEvent, at_ns: u64) {
        match ev {
            PacketEvent::Injected(e) => self.packets.injected(&e),
            PacketEvent::Hop(e) => {
                self.packets.hop(&e);
                self.log.push(Line::Hop(Box::new(e)));
            }
            PacketEvent::Expired(e) => self.packets.expired(&e),
            PacketEvent::Lost(e) => {
                self.packets.lost(&e, at_ns);
                self.log.push(Line::Lost {
                    at_ns,
                    lost: Box::new(e),
                });
            }
        }
    }

    fn apply_http(&mut self, h: HttpUpdate) {
        match h {
            HttpUpdate::Chaos(r) => self.apply_chaos_answer(r),
            HttpUpdate::ChaosSet { host, result } => {
                match &result {
                    Ok(_) => self.note(format!("chaos set on {host}"), false),
                    Err(e) => self.note(format!("PUT /chaos for {host}: {e}"), true),
                }
                self.apply_chaos_answer(result);
            }
            HttpUpdate::Links(Ok(links)) => {
                self.http_ok = Some(true);
                self.links = links;
                self.links_live = true;
            }
            HttpUpdate::Links(Err(e)) => {
                if matches!(e, HttpError::Unreachable(_)) {
                    self.http_ok = Some(false);
                }
            }
            HttpUpdate::Injected(Ok(n)) => {
                self.http_ok = Some(true);
                self.note(format!("injected {n} packet{}", if n == 1 { "" } else { "s" }), false);
            }
            HttpUpdate::Injected(Err(e)) => {
                if matches!(e, HttpError::Unreachable(_)) {
                    self.http_ok = Some(false);
                }
                self.note(format!("POST /packets: {e}"), true);
            }
        }
    }

    fn apply_chaos_answer(&mut self, r: Result<BTreeMap<String, Chaos>, HttpError>) {
        match r {
            Ok(chaos) => {
                self.http_ok = Some(true);
                self.plane = Plane::Available;
                self.history.seed_chaos(&chaos);
                self.chaos = chaos;
            }
            Err(HttpError::NotFound) => {
                self.http_ok = Some(true);
                self.plane = Plane::Missing("control plane not available".into());
            }
            Err(HttpError::Unreachable(_)) => {
                self.http_ok = Some(false);
                self.plane = Plane::Missing("HTTP API unreachable".into());
            }
            // A refused change leaves the plane as it was.
            Err(_) => {}
        }
    }

    // ------------------------------------------------------------ reading

    /// Hosts in display order: the ring's five, then any others seen.
    pub fn host_names(&self) -> Vec<String> {
        let mut names: Vec<String> = RING.iter().map(|s| s.to_string()).collect();
        names.extend(self.hosts.keys().filter(|h| !RING.contains(&h.as_str())).cloned());
        names
    }

    pub fn selected_host_name(&self) -> String {
        let names = self.host_names();
        names[self.selected_host.min(names.len() - 1)].clone()
    }

    pub fn host(&self, name: &str) -> Option<&HostView> {
        self.hosts.get(name)
    }

    pub fn selected_key(&self) -> Option<SeriesKey> {
        let keys = self.stats.keys();
        keys.get(self.selected_row.min(keys.len().saturating_sub(1))).cloned()
    }

    pub fn ledger(&self) -> Ledger {
        Ledger::of(self.hosts.values())
    }

    /// Invocations per second over every host.
    pub fn hop_rate(&self) -> f64 {
        self.hosts
            .values()
            .filter(|h| h.status(self.now_ns) != hosts::Status::Gone)
            .map(|h| h.inv_rate)
            .sum()
    }

    pub fn chaos_keys_enabled(&self) -> bool {
        self.plane == Plane::Available
    }
}

/// One snapshot's edges merged into one histogram (`None` without edges).
fn all_edges(series: &[(SeriesKey, Histogram<u64>)]) -> Option<Histogram<u64>> {
    let mut edges = series.iter().filter(|(k, _)| k.is_edge()).map(|(_, h)| h);
    let mut all = edges.next()?.clone();
    for h in edges {
        // Same bounds on every host (lwc_wire::telemetry); a misfit is skipped.
        let _ = all.add(h);
    }
    Some(all)
}

#[cfg(test)]
mod tests;
