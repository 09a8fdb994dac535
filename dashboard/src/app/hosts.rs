//! What the dashboard knows about each host: its latest heartbeat, its
//! counters (carried across restarts), rates, and the ring's ledger (from
//! the control host's book, or these counters summed).

use std::cmp::Reverse;
use std::collections::BTreeMap;

use lwc_wire::events::LostReason;
use lwc_wire::status::{Counters, Heartbeat};

/// A host that has said nothing for this long is shown as gone (heartbeats
/// come every second).
pub const STALE_NS: u64 = 3_500_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Never heard from since the dashboard started: the manifest places
    /// it, but it was down already (or never started).
    Unknown,
    Up,
    /// In a simulated outage (chaos `down_s`).
    Down,
    /// Silent for longer than [`STALE_NS`]: killed, hung or cut off.
    Gone,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unseen",
            Status::Up => "up",
            Status::Down => "down",
            Status::Gone => "gone",
        }
    }
}

/// Failures of one host, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    /// Guest traps (packet chaos, host chaos `trap`, bugs).
    pub trap: u64,
    /// Guests stopped by the epoch deadline.
    pub timeout: u64,
    /// Hops this host dropped (chaos `drop`).
    pub dropped: u64,
    /// Hops this host gave up on: no ack after every retry.
    pub unreachable: u64,
    /// Hops this host refused because a component was over its cap.
    pub overloaded: u64,
    /// Losses this host decided for other reasons: no link, not forwarded.
    /// (Trap and timeout losses are in `trap` and `timeout` already.)
    pub other_lost: u64,
}

impl Failures {
    pub fn of(c: &Counters) -> Failures {
        let lost = |r: LostReason| c.lost.get(r.as_str()).copied().unwrap_or(0);
        Failures {
            trap: c.trap,
            timeout: c.timeout,
            dropped: lost(LostReason::Dropped),
            unreachable: lost(LostReason::Unreachable),
            overloaded: c.overloaded,
            other_lost: lost(LostReason::NoLink) + lost(LostReason::NotForwarded),
        }
    }

    pub fn total(&self) -> u64 {
        self.trap + self.timeout + self.dropped + self.unreachable + self.overloaded + self.other_lost
    }
}

pub fn lost_total(c: &Counters) -> u64 {
    c.lost.values().sum()
}

/// `a + b`, field by field.
pub fn add_counters(a: &Counters, b: &Counters) -> Counters {
    let mut lost = a.lost.clone();
    for (k, v) in &b.lost {
        *lost.entry(k.clone()).or_default() += v;
    }
    let mut rejected = a.rejected.clone();
    for (k, v) in &b.rejected {
        *rejected.entry(k.clone()).or_default() += v;
    }
    Counters {
        invocations: a.invocations + b.invocations,
        ok: a.ok + b.ok,
        trap: a.trap + b.trap,
        timeout: a.timeout + b.timeout,
        overloaded: a.overloaded + b.overloaded,
        hops_sent: a.hops_sent + b.hops_sent,
        retries: a.retries + b.retries,
        injected: a.injected + b.injected,
        expired: a.expired + b.expired,
        lost,
        rejected,
        slow_consumer: a.slow_consumer + b.slow_consumer,
    }
}

/// True when `new` cannot follow `old` from the same process: a restart.
fn restarted(old: &Counters, new: &Counters) -> bool {
    new.invocations < old.invocations
        || new.injected < old.injected
        || new.expired < old.expired
        || new.hops_sent < old.hops_sent
        || lost_total(new) < lost_total(old)
}

#[derive(Debug, Clone, Default)]
pub struct HostView {
    pub heartbeat: Option<Heartbeat>,
    /// Local wall-clock ns of the last heartbeat or telemetry.
    pub seen_ns: u64,
    /// The latest counters of the running process, and when they were taken.
    pub counters: Counters,
    counters_at_ns: u64,
    /// Counters of earlier processes of this host (before restarts).
    pub carried: Counters,
    pub restarts: u64,
    /// Invocations per second in the last telemetry interval.
    pub inv_rate: f64,
    /// Failures per second, measured over one second or more.
    pub err_rate: f64,
    /// (host ns, failures) where the current rate measurement started.
    rate_ref: (u64, u64),
    pub last_seq: Option<u64>,
    /// Telemetry snapshots that never arrived (gaps in `seq`).
    pub missed_snapshots: u64,
    /// The edge into this host with the highest p99 in its last snapshot: (label, p99 µs).
    pub worst_in: Option<(String, u64)>,
}

impl HostView {
    pub fn status(&self, now_ns: u64) -> Status {
        if self.seen_ns == 0 {
            Status::Unknown
        } else if now_ns.saturating_sub(self.seen_ns) > STALE_NS {
            Status::Gone
        } else if self.heartbeat.as_ref().is_some_and(|h| h.down) {
            Status::Down
        } else {
            Status::Up
        }
    }

    /// Counters since the dashboard first saw this host, restarts included.
    pub fn total(&self) -> Counters {
        add_counters(&self.carried, &self.counters)
    }

    pub fn failures(&self) -> Failures {
        Failures::of(&self.total())
    }

    /// Take counters measured at `at_ns` (host clock); older ones are ignored.
    pub fn set_counters(&mut self, at_ns: u64, counters: Counters) {
        if at_ns <= self.counters_at_ns {
            return;
        }
        let first = self.counters_at_ns == 0;
        if !first && restarted(&self.counters, &counters) {
            self.carried = add_counters(&self.carried, &self.counters);
            self.restarts += 1;
            self.counters = Counters::default();
        }
        self.counters = counters;
        self.counters_at_ns = at_ns;
        let failures = self.failures().total();
        let (ref_ns, ref_failures) = self.rate_ref;
        if first {
            self.rate_ref = (at_ns, failures);
        } else if at_ns.saturating_sub(ref_ns) >= 1_000_000_000 {
            let secs = (at_ns - ref_ns) as f64 / 1e9;
            self.err_rate = failures.saturating_sub(ref_failures) as f64 / secs;
            self.rate_ref = (at_ns, failures);
        }
    }
}

/// How much trouble a host is in, for tables that put trouble on top:
/// gone, then down, then silent so far, then failing now, failed before,
/// under chaos, slow hops in, busy. Smaller sorts first.
pub type TroubleKey = (u8, Reverse<u64>, Reverse<u64>, bool, Reverse<u64>, Reverse<u64>);

pub fn trouble_key(h: Option<&HostView>, chaos_on: bool, now_ns: u64) -> TroubleKey {
    let Some(h) = h else {
        return (2, Reverse(0), Reverse(0), !chaos_on, Reverse(0), Reverse(0));
    };
    let status = match h.status(now_ns) {
        Status::Gone => 0,
        Status::Down => 1,
        Status::Unknown => 2,
        Status::Up => 3,
    };
    let live = status == 3;
    let worst = if live { h.worst_in.as_ref().map_or(0, |(_, p99)| *p99) } else { 0 };
    // Rates as integers (per 1,000 s) so the key is totally ordered.
    let milli = |r: f64| if r.is_finite() && r > 0.0 { (r * 1e3) as u64 } else { 0 };
    (
        status,
        Reverse(milli(h.err_rate)),
        Reverse(h.failures().total()),
        !chaos_on,
        Reverse(worst),
        Reverse(if live { milli(h.inv_rate) } else { 0 }),
    )
}

/// Where a [`Ledger`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerSource {
    /// The control host's book ([`super::book`]), fresh.
    Book,
    /// The hosts' counters summed: no book yet, or the last one is
    /// `book_age_ns` old.
    HostSums { book_age_ns: Option<u64> },
}

/// The ring's ledger: every packet injected ends expired or lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger {
    pub injected: u64,
    pub expired: u64,
    pub lost: BTreeMap<String, u64>,
    /// Packets in flight as the book counts them; summed counters say
    /// nothing of it, so it is derived ([`Ledger::in_flight`]).
    pub book_in_flight: Option<u64>,
    /// In flight with no fate to come (the book's census).
    pub orphaned: u64,
    /// Events the book refused (a second fate, …).
    pub rejected: u64,
    pub source: LedgerSource,
}

impl Default for Ledger {
    fn default() -> Ledger {
        Ledger {
            injected: 0,
            expired: 0,
            lost: BTreeMap::new(),
            book_in_flight: None,
            orphaned: 0,
            rejected: 0,
            source: LedgerSource::HostSums { book_age_ns: None },
        }
    }
}

impl Ledger {
    /// The hosts' counters summed: a restarted host's earlier counters are
    /// carried, but a loss two hosts counted is counted twice.
    pub fn of<'a>(hosts: impl Iterator<Item = &'a HostView>) -> Ledger {
        let mut l = Ledger::default();
        for h in hosts {
            let c = h.total();
            l.injected += c.injected;
            l.expired += c.expired;
            for (k, v) in &c.lost {
                *l.lost.entry(k.clone()).or_default() += v;
            }
        }
        l
    }

    pub fn lost_total(&self) -> u64 {
        self.lost.values().sum()
    }

    /// Packets still travelling: the book's count, or `injected − expired −
    /// lost` from counters, which are a second apart on different hosts,
    /// so a moment's skew is clamped.
    pub fn in_flight(&self) -> u64 {
        self.book_in_flight
            .unwrap_or_else(|| self.injected.saturating_sub(self.expired + self.lost_total()))
    }
}

#[cfg(test)]
mod tests;
