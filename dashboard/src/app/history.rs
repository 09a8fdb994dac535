//! What happened when, for the chart: per-second latency percentiles of
//! every series, fates per second by kind, and marks where something was
//! changed (chaos, links) or a host went away or came back.
//!
//! Everything comes from what the lattice already publishes: the hosts'
//! one-second telemetry snapshots (histograms and cumulative counters),
//! control-plane changes on `lwc.<l>.ctl.*`, and heartbeats. Snapshots of
//! different hosts for the same second are merged; a second's percentiles
//! are computed when its data arrives, never per frame.

use std::collections::{BTreeMap, HashMap, VecDeque};

use hdrhistogram::Histogram;

use super::hosts::Status;
use super::{Chaos, Link};
use crate::stats::SeriesKey;
use lwc_wire::ctl::{Change, ChaosWire};
use lwc_wire::status::Counters;

pub const SECOND: u64 = 1_000_000_000;
/// After this long a second is complete: its merged values are dropped and
/// only its percentiles kept.
const SETTLE_S: u64 = 5;
/// Marks this close together are one mark (a `PUT /chaos` for `*` changes
/// every host at once).
const MARK_MERGE_NS: u64 = 1_500_000_000;
/// Marks kept at most, whatever the span.
const MAX_MARKS: usize = 64;

/// Percentiles of one series in one second, µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Point {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
}

#[derive(Debug, Default)]
struct Cell {
    /// (value, count), ascending: the merge of every host's histogram for
    /// this second, until it settles.
    merged: Vec<(u64, u64)>,
    point: Point,
}

/// Packets that reached a fate in one second.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fates {
    pub expired: u64,
    /// Lost, by reason (`unreachable`, `dropped`, …).
    pub lost: BTreeMap<String, u64>,
}

/// Why a mark is there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// A host's chaos was set to this (`PUT /chaos`, the dashboard's keys).
    Chaos { host: String, chaos: Chaos },
    LinkPut(Link),
    LinkDelete { source: String, name: String },
    /// Heartbeats stopped (killed, hung or cut off).
    Gone(String),
    /// Heartbeats again after it was gone, or it restarted.
    Back(String),
    /// A simulated outage ended.
    Serving(String),
}

impl Cause {
    /// Host events (as opposed to changes someone made).
    pub fn is_host_event(&self) -> bool {
        matches!(self, Cause::Gone(_) | Cause::Back(_) | Cause::Serving(_))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub at_ns: u64,
    pub causes: Vec<Cause>,
}

/// Last counters seen from a host, to turn cumulative counts into rates.
#[derive(Debug, Clone)]
struct Seen {
    seq: u64,
    expired: u64,
    lost: BTreeMap<String, u64>,
}

pub struct History {
    span_s: u64,
    latency: BTreeMap<SeriesKey, BTreeMap<u64, Cell>>,
    fates: BTreeMap<u64, Fates>,
    seen: HashMap<String, Seen>,
    marks: VecDeque<Mark>,
    /// Chaos per host as last set, to mark only real changes.
    chaos: BTreeMap<String, Chaos>,
    /// Versions of control-plane changes already marked.
    versions: VecDeque<u64>,
    /// Each host's status and restart count as last observed.
    hosts: HashMap<String, (Status, u64)>,
}

impl History {
    pub fn new(span_s: u64) -> History {
        History {
            span_s: span_s.max(1),
            latency: BTreeMap::new(),
            fates: BTreeMap::new(),
            seen: HashMap::new(),
            marks: VecDeque::new(),
            chaos: BTreeMap::new(),
            versions: VecDeque::new(),
            hosts: HashMap::new(),
        }
    }

    pub fn span_s(&self) -> u64 {
        self.span_s
    }

    /// Fold in one host's snapshot covering `[start_ns, end_ns)`.
    pub fn add_snapshot(
        &mut self,
        host: &str,
        seq: u64,
        start_ns: u64,
        end_ns: u64,
        series: &[(SeriesKey, Histogram<u64>)],
        counters: &Counters,
    ) {
        let sec = (start_ns / 2 + end_ns / 2) / SECOND;
        for (key, hist) in series {
            self.add_latency(key.clone(), sec, hist);
        }
        self.add_fates(host, seq, sec, counters);
    }

    fn add_latency(&mut self, key: SeriesKey, sec: u64, hist: &Histogram<u64>) {
        if hist.is_empty() {
            return;
        }
        let cell = self.latency.entry(key).or_default().entry(sec).or_default();
        let incoming = hist.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value()));
        cell.merged = merge(&cell.merged, incoming);
        cell.point = point(&cell.merged);
    }

    fn add_fates(&mut self, host: &str, seq: u64, sec: u64, c: &Counters) {
        let now = Seen {
            seq,
            expired: c.expired,
            lost: c.lost.clone(),
        };
        let Some(prev) = self.seen.get(host).cloned() else {
            // The first snapshot is the baseline: its counts are history.
            self.seen.insert(host.to_string(), now);
            return;
        };
        let lost_total = |l: &BTreeMap<String, u64>| l.values().sum::<u64>();
        let restarted = now.expired < prev.expired || lost_total(&now.lost) < lost_total(&prev.lost) || seq < prev.seq;
        if seq == prev.seq && !restarted {
            return; // a repeat
        }
        let f = self.fates.entry(sec).or_default();
        if restarted {
            // A new process counts from zero: all it has is new.
            f.expired += now.expired;
            for (r, n) in &now.lost {
                *f.lost.entry(r.clone()).or_default() += n;
            }
        } else {
            f.expired += now.expired - prev.expired;
            for (r, n) in &now.lost {
                let before = prev.lost.get(r).copied().unwrap_or(0);
                *f.lost.entry(r.clone()).or_default() += n.saturating_sub(before);
            }
        }
        self.seen.insert(host.to_string(), now);
    }

    /// Chaos the API reports, taken as known for hosts that no control-plane
    /// change has told us about yet.
    pub fn seed_chaos(&mut self, chaos: &BTreeMap<String, Chaos>) {
        for (host, c) in chaos {
            self.chaos.entry(host.clone()).or_insert(*c);
        }
    }

    /// A control-plane change, heard at `now_ns`.
    pub fn add_change(&mut self, change: &Change, now_ns: u64) {
        let v = change.version();
        if self.versions.contains(&v) {
            return;
        }
        self.versions.push_back(v);
        if self.versions.len() > MAX_MARKS * 4 {
            self.versions.pop_front();
        }
        let cause = match change {
            Change::ChaosSet { host, chaos, .. } => {
                let c = chaos_of(chaos, now_ns);
                if self.chaos.insert(host.clone(), c) == Some(c) {
                    return; // set to what it was: nothing changed
                }
                Cause::Chaos { host: host.clone(), chaos: c }
            }
            Change::LinkPut { link, .. } => Cause::LinkPut(Link {
                source: link.source.clone(),
                name: link.name.clone(),
                target: link.target.clone(),
            }),
            Change::LinkDelete { source, name, .. } => Cause::LinkDelete {
                source: source.clone(),
                name: name.clone(),
            },
        };
        self.mark(now_ns, cause);
    }

    /// A host's status now (from its heartbeats): mark it going away and
    /// coming back. Until `settled`, only remember what each host is.
    pub fn observe(&mut self, host: &str, status: Status, restarts: u64, seen_ns: u64, now_ns: u64, settled: bool) {
        let Some((before, restarts_before)) = self.hosts.insert(host.to_string(), (status, restarts)) else {
            return;
        };
        if !settled {
            return;
        }
        let live = |s: Status| matches!(s, Status::Up | Status::Down);
        let cause = match (before, status) {
            // It went silent about when its next heartbeat was due.
            (b, Status::Gone) if live(b) => Some((seen_ns + SECOND, Cause::Gone(host.into()))),
            (Status::Gone | Status::Unknown, s) if live(s) => Some((now_ns, Cause::Back(host.into()))),
            (Status::Down, Status::Up) => Some((now_ns, Cause::Serving(host.into()))),
            _ if restarts > restarts_before && live(status) => Some((now_ns, Cause::Back(host.into()))),
            _ => None,
        };
        if let Some((at, cause)) = cause {
            self.mark(at.min(now_ns), cause);
        }
    }

    /// Mark something at `at_ns` (joined with a mark just before it).
    pub fn mark(&mut self, at_ns: u64, cause: Cause) {
        if let Some(last) = self.marks.back_mut() {
            if at_ns.abs_diff(last.at_ns) <= MARK_MERGE_NS {
                if !last.causes.contains(&cause) {
                    last.causes.push(cause);
                }
                return;
            }
        }
        // Keep them in time order: a late mark (a host found gone) goes back.
        let pos = self.marks.iter().rposition(|m| m.at_ns <= at_ns).map_or(0, |p| p + 1);
        self.marks.insert(pos, Mark { at_ns, causes: vec![cause] });
        while self.marks.len() > MAX_MARKS {
            self.marks.pop_front();
        }
    }

    /// Forget what is older than the span; settle seconds that are complete.
    pub fn expire(&mut self, now_ns: u64) {
        let now_s = now_ns / SECOND;
        let oldest = now_s.saturating_sub(self.span_s + 1);
        for cells in self.latency.values_mut() {
            cells.retain(|s, _| *s >= oldest);
            for (_, cell) in cells.range_mut(..now_s.saturating_sub(SETTLE_S)) {
                if !cell.merged.is_empty() {
                    cell.merged = Vec::new();
                }
            }
        }
        self.latency.retain(|_, cells| !cells.is_empty());
        self.fates.retain(|s, _| *s >= oldest);
        let oldest_ns = oldest * SECOND;
        while self.marks.front().is_some_and(|m| m.at_ns < oldest_ns) {
            self.marks.pop_front();
        }
    }

    /// (second, point) of a series, oldest first.
    pub fn points(&self, key: &SeriesKey) -> impl Iterator<Item = (u64, Point)> + '_ {
        self.latency.get(key).into_iter().flat_map(|cells| cells.iter().map(|(s, c)| (*s, c.point)))
    }

    /// Series with any point in the span.
    pub fn keys(&self) -> impl Iterator<Item = &SeriesKey> {
        self.latency.keys()
    }

    pub fn fates(&self) -> impl Iterator<Item = (u64, &Fates)> {
        self.fates.iter().map(|(s, f)| (*s, f))
    }

    pub fn marks(&self) -> impl Iterator<Item = &Mark> {
        self.marks.iter()
    }
}

/// Chaos as the dashboard shows it: an outage as the seconds it has left.
fn chaos_of(w: &ChaosWire, now_ns: u64) -> Chaos {
    let left = w.down_until_ns.saturating_sub(now_ns);
    Chaos {
        trap: w.trap,
        delay_ms: w.delay_ms,
        jitter_ms: w.jitter_ms,
        drop: w.drop,
        down_s: left.div_ceil(SECOND).min(u64::from(u32::MAX)) as u32,
    }
}

/// Two ascending (value, count) lists as one.
fn merge(a: &[(u64, u64)], b: impl Iterator<Item = (u64, u64)>) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(a.len() + 16);
    let mut a = a.iter().copied().peekable();
    let mut b = b.peekable();
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x.0 <= y.0 => a.next(),
            (Some(_), Some(_)) | (None, Some(_)) => b.next(),
            (Some(_), None) => a.next(),
            (None, None) => break,
        };
        let Some((v, n)) = next else { break };
        match out.last_mut() {
            Some(last) if last.0 == v => last.1 += n,
            _ => out.push((v, n)),
        }
    }
    out
}

/// p50 and p99 of a merged list, as HdrHistogram ranks them.
fn point(merged: &[(u64, u64)]) -> Point {
    let count: u64 = merged.iter().map(|(_, n)| n).sum();
    let at = |q: f64| -> u64 {
        let rank = ((q * count as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for &(v, n) in merged {
            seen += n;
            if seen >= rank {
                return v;
            }
        }
        merged.last().map_or(0, |(v, _)| *v)
    };
    Point {
        count,
        p50: at(0.5),
        p99: at(0.99),
    }
}

#[cfg(test)]
mod tests;
