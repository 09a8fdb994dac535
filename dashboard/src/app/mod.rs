//! The dashboard's state. Producers send [`Update`]s; the UI loop folds them
//! in with [`App::apply`] once per frame, then draws from `&App`. Keys call
//! small intent methods ([`intents`]); those that need the HTTP API return
//! a [`Command`] for the HTTP worker. What runs ([`topology`]) is rebuilt
//! from heartbeats, the manifest's placement and the live link table on
//! the tick after it changes.
//!
//! - [`update`]: what producers send (and the feed's own counters)
//! - [`api`]: the HTTP API's types: chaos, links, the commands sent
//! - [`apply`], [`intents`]: updates folded in, keys turned into commands
//! - the views' state: [`hosts`], [`book`], [`history`], [`hoplog`],
//!   [`packets`], [`lab`], [`topology`]

mod api;
pub use api::{Chaos, ChaosPatch, Command, InjectSettings, Link, Placement};
mod apply;
pub mod book;
pub mod history;
mod intents;
pub use intents::DOWN_S;
pub mod hoplog;
pub mod hosts;
pub mod lab;
pub mod packets;
pub mod topology;
mod update;
pub use update::{Conn, FeedStats, HttpError, HttpUpdate, Telemetry, Update};

use std::collections::BTreeMap;

use crate::config::Config;
use crate::stats::{SeriesKey, Stats};
use history::History;
use hoplog::{HopLog, Line};
use hosts::{HostView, Ledger, LedgerSource};
use packets::Packets;
use topology::Topology;

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
    /// The control host's latest book and when it arrived.
    pub book: Option<(book::Book, u64)>,
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
    /// Where the manifest places each component (empty until `GET /status`
    /// answers; the last answer is kept while the API is away).
    pub placement: Placement,
    /// What the last `GET /status` came to, when it failed.
    placement_error: Option<HttpError>,
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
            book: None,
            picker: None,
            log: HopLog::default(),
            inject: InjectSettings::default(),
            chaos: BTreeMap::new(),
            plane: Plane::Unknown,
            links: Vec::new(),
            links_live: false,
            placement: Placement::new(),
            placement_error: None,
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
            self.topology = Topology::build(&self.hosts, &self.placement, links, seen);
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

    /// Every host that has reported or that the manifest places, in
    /// display order (place by place).
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

    /// `name`'s clock as the hosts that send to it estimate it (from their
    /// latest heartbeats): the estimate with the smallest uncertainty.
    pub fn clock_of(&self, name: &str) -> Option<lwc_wire::status::PeerClock> {
        self.hosts
            .values()
            .filter_map(|h| h.heartbeat.as_ref()?.clocks.get(name).copied())
            .min_by_key(|c| c.uncertainty_us)
    }

    pub fn selected_key(&self) -> Option<SeriesKey> {
        self.selected_series
            .as_ref()
            .filter(|k| self.stats.series.contains_key(k))
            .or(self.rows.first())
            .cloned()
    }

    /// The control host's book while it is fresh; else the hosts'
    /// counters summed, saying how old the book is, if there was one.
    pub fn ledger(&self) -> Ledger {
        let age = self.book.as_ref().map(|(_, at)| self.now_ns.saturating_sub(*at));
        match &self.book {
            Some((b, _)) if age.is_some_and(|a| a < book::FRESH_NS) => b.ledger(),
            _ => Ledger {
                source: LedgerSource::HostSums { book_age_ns: age },
                ..Ledger::of(self.hosts.values())
            },
        }
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
