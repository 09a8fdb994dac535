//! What the dashboard knows about each host: its latest heartbeat, its
//! counters (carried across restarts), rates, and the ring's ledger.

use std::collections::BTreeMap;

use lwc_wire::events::LostReason;
use lwc_wire::status::{Counters, Heartbeat};

/// A host that has said nothing for this long is shown as gone (heartbeats
/// come every second).
pub const STALE_NS: u64 = 3_500_000_000;

/// The five places of the ring, in the order the panes list them.
pub const RING: [&str; 5] = ["north", "east", "south", "west", "control"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Never heard from.
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
            Status::Unknown => "no data",
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
    /// The newest counters of the running process, and when they were taken.
    pub counters: Counters,
    counters_at_ns: u64,
    /// Counters of earlier processes of this host (before restarts).
    pub carried: Counters,
    pub restarts: u64,
    /// Invocations per second in the last telemetry interval.
    pub inv_rate: f64,
    /// Failures per second, measured over at least a second.
    pub err_rate: f64,
    /// (host ns, failures) where the current rate measurement started.
    rate_ref: (u64, u64),
    pub last_seq: Option<u64>,
    /// Telemetry snapshots that never arrived (gaps in `seq`).
    pub missed_snapshots: u64,
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

/// The ring's ledger: every packet injected ends expired or lost.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    pub injected: u64,
    pub expired: u64,
    pub lost: BTreeMap<String, u64>,
}

impl Ledger {
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

    /// `injected − expired − lost`: packets still travelling. Counters of
    /// different hosts are a second apart, so a moment's skew is clamped.
    pub fn in_flight(&self) -> u64 {
        self.injected.saturating_sub(self.expired + self.lost_total())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counters(injected: u64, expired: u64, lost: &[(&str, u64)]) -> Counters {
        Counters {
            injected,
            expired,
            invocations: injected + expired,
            lost: lost.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn ledger_arithmetic() {
        let mut control = HostView::default();
        control.set_counters(1, counters(100, 0, &[]));
        let mut north = HostView::default();
        north.set_counters(1, counters(0, 60, &[("dropped", 5)]));
        let mut east = HostView::default();
        east.set_counters(1, counters(0, 25, &[("unreachable", 3), ("trap-before-forward", 2)]));
        let l = Ledger::of([&control, &north, &east].into_iter());
        assert_eq!((l.injected, l.expired, l.lost_total()), (100, 85, 10));
        assert_eq!(l.in_flight(), 5);
        assert_eq!(l.lost["dropped"], 5);
        // Skew between hosts never shows a negative count.
        let mut late = HostView::default();
        late.set_counters(1, counters(0, 200, &[]));
        assert_eq!(Ledger::of([&control, &late].into_iter()).in_flight(), 0);
    }

    #[test]
    fn restarts_carry_counters_and_old_news_is_ignored() {
        let mut h = HostView::default();
        h.set_counters(10, counters(0, 50, &[("dropped", 4)]));
        h.set_counters(5, counters(0, 1, &[])); // older than what we have
        assert_eq!(h.total().expired, 50);
        h.set_counters(20, counters(0, 3, &[])); // the process restarted
        assert_eq!((h.total().expired, h.restarts), (53, 1));
        assert_eq!(h.failures().dropped, 4);
        h.set_counters(30, counters(0, 10, &[("dropped", 1)]));
        assert_eq!((h.total().expired, h.failures().dropped), (60, 5));
    }

    #[test]
    fn failures_by_kind_and_rate() {
        let mut h = HostView::default();
        let mut c = counters(
            0,
            0,
            &[("dropped", 1), ("no-link", 2), ("unreachable", 3), ("trap-before-forward", 4)],
        );
        c.trap = 4;
        c.timeout = 5;
        c.overloaded = 6;
        h.set_counters(1_000_000_000, c.clone());
        let f = h.failures();
        assert_eq!((f.trap, f.timeout, f.dropped, f.unreachable, f.overloaded, f.other_lost), (4, 5, 1, 3, 6, 2));
        assert_eq!(f.total(), 21);
        c.trap += 10;
        h.set_counters(1_500_000_000, c.clone());
        assert_eq!(h.err_rate, 0.0, "measured over a second at least");
        h.set_counters(3_000_000_000, c);
        assert!((h.err_rate - 5.0).abs() < 1e-9);
    }

    #[test]
    fn status_from_heartbeats() {
        let mut h = HostView::default();
        assert_eq!(h.status(10), Status::Unknown);
        h.seen_ns = 1_000;
        h.heartbeat = Some(Heartbeat::default());
        assert_eq!(h.status(2_000), Status::Up);
        h.heartbeat.as_mut().unwrap().down = true;
        assert_eq!(h.status(2_000), Status::Down);
        assert_eq!(h.status(1_000 + STALE_NS + 1), Status::Gone);
    }
}
