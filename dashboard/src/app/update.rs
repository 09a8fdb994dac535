//! What producers tell the app: the [`Update`]s the NATS feed and the HTTP
//! worker send, and the feed's own counters ([`FeedStats`]).

use hdrhistogram::Histogram;
use std::collections::BTreeMap;

use super::api::{Chaos, Link, Placement};
use super::{book, lab};
use crate::stats::SeriesKey;
use lwc_wire::events::PacketEvent;
use lwc_wire::status::{Counters, Heartbeat};
use lwc_wire::telemetry::GuestLog;

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
    /// `GET /status`'s `components`: where the manifest places each one.
    Placement(Result<Placement, HttpError>),
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
    /// The control host's book (`lwc.<l>.ledger`) and when it arrived.
    Ledger(Box<book::Book>, u64),
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
    pub garbage_ledger: u64,
}

impl FeedStats {
    pub fn garbage(&self) -> u64 {
        self.garbage_telemetry + self.garbage_heartbeat + self.garbage_events + self.garbage_ctl + self.garbage_lab + self.garbage_ledger
    }
}
