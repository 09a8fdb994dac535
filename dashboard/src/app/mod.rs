//! The dashboard's state. Producers send [`Update`]s; the UI loop folds them
//! in with [`App::apply`] once per frame, then draws from `&App`. Keys call
//! small intent methods ([`intents`]); those that need the HTTP API return
//! a [`Command`] for the HTTP worker. What runs ([`topology`]) is rebuilt
//! from heartbeats and the live link table on the tick after it changes.

mod apply;
pub mod history;
mod intents;
pub use intents::DOWN_S;
pub mod hoplog;
pub mod hosts;
pub mod lab;
pub mod packets;
pub mod topology;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use crate::config::Config;
use crate::stats::{SeriesKey, Stats};
use history::History;
use hoplog::{HopLog, Line};
use hosts::{HostView, Ledger};
use lwc_wire::events::PacketEvent;
use lwc_wire::status::{Counters, Heartbeat};
use lwc_wire::telemetry::GuestLog;
use packets::Packets;
use topology::Topology;

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

/// Up to this many places the hosts are drawn on a ring; beyond it, as a
/// table with the trouble on top.
pub const RING_MAX: usize = 12;

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
    /// The live link table (empty until the API first answers).
    pub links: Vec<Link>,
    /// Whether `links` came from the API.
    pub links_live: bool,
    /// Places and hosts as they run, rebuilt on a tick after they change.
    pub topology: Topology,
    topology_dirty: bool,
    /// Series (edges seen) the topology was built with.
    topology_series: usize,
    /// Series in table order, as of the last tick.
    rows: Vec<SeriesKey>,
    pub http_ok: Option<bool>,
    pub view: View,
    /// The host the chaos keys act on (`←→`); the first host when unset.
    pub selected_host: Option<String>,
    /// The series `↑↓` selected; the first row when unset.
    pub selected_series: Option<SeriesKey>,
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
            links: Vec::new(),
            links_live: false,
            topology: Topology::default(),
            topology_dirty: false,
            topology_series: 0,
            rows: Vec::new(),
            http_ok: None,
            view: View::Window,
            selected_host: None,
            selected_series: None,
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
        self.refresh_topology();
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

    /// Rebuild the topology if something it is made of changed, and put
    /// the series in table order: along the routes on a ring, slow ones
    /// first in a lattice too big for one.
    fn refresh_topology(&mut self) {
        let series = self.stats.series.len();
        if self.topology_dirty || (!self.links_live && series != self.topology_series) {
            let links: &[Link] = if self.links_live { &self.links } else { &[] };
            let seen = self.stats.series.keys().filter_map(|k| match k {
                SeriesKey::Edge { from, to } => Some((from.as_str(), to.as_str())),
                _ => None,
            });
            self.topology = Topology::build(&self.hosts, links, seen);
            self.topology_dirty = false;
            self.topology_series = series;
        }
        let mut rows: Vec<SeriesKey> = self.stats.series.keys().cloned().collect();
        if self.is_large() {
            let view = self.view;
            let stats = &self.stats;
            let pct = |k: &SeriesKey| {
                let s = &stats.series[k];
                match view {
                    View::Window => s.window_pct,
                    View::Run => s.run_pct,
                }
            };
            let group = |k: &SeriesKey| match k {
                SeriesKey::AllEdges => 0,
                SeriesKey::Edge { .. } => 1,
                SeriesKey::Invoke(_) => 2,
                SeriesKey::Lifetime => 3,
            };
            rows.sort_by_cached_key(|k| {
                let p = pct(k);
                (group(k), std::cmp::Reverse(p.p99), std::cmp::Reverse(p.count), k.label())
            });
        } else {
            let t = &self.topology;
            rows.sort_by_cached_key(|k| t.route_rank(k));
        }
        self.rows = rows;
    }

    // ------------------------------------------------------------ reading

    /// More places than a ring can show: the hosts become a table.
    pub fn is_large(&self) -> bool {
        self.topology.places.len() > RING_MAX
    }

    /// Every host that has reported, in display order (place by place).
    pub fn host_names(&self) -> &[String] {
        &self.topology.hosts
    }

    /// Hosts with the trouble on top: gone, down, failing, under chaos,
    /// slow, busy.
    pub fn hosts_by_trouble(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.topology.hosts.iter().map(String::as_str).collect();
        let chaos_on = |n: &str| self.chaos.get(n).is_some_and(|c| !c.is_calm());
        names.sort_by_cached_key(|n| hosts::trouble_key(self.hosts.get(*n), chaos_on(n), self.now_ns));
        names
    }

    /// The host the chaos keys act on; `None` before any host reported.
    pub fn selected_host_name(&self) -> Option<&str> {
        let hosts = &self.topology.hosts;
        self.selected_host
            .as_deref()
            .filter(|s| hosts.iter().any(|h| h == s))
            .or(hosts.first().map(String::as_str))
    }

    /// Series in table order.
    pub fn rows(&self) -> &[SeriesKey] {
        &self.rows
    }

    pub fn host(&self, name: &str) -> Option<&HostView> {
        self.hosts.get(name)
    }

    pub fn selected_key(&self) -> Option<SeriesKey> {
        self.selected_series
            .as_ref()
            .filter(|k| self.stats.series.contains_key(k))
            .or(self.rows.first())
            .cloned()
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

#[cfg(test)]
mod tests;
