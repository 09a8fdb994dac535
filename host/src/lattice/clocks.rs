//! Peers' clock offsets, estimated as NTP does from the ack round trips the
//! hops already make: this host's send time `t1` (echoed in the ack), the
//! peer's receive and ack times `t2`, `t3`, and the ack's arrival here `t4`.
//! Neither way takes less than nothing, so each round trip bounds the
//! offset (the peer's clock minus ours):
//!
//! ```text
//! t2 − t1 = offset + the way there      so  offset ≤ t2 − t1
//! t3 − t4 = offset − the way back       so  offset ≥ t3 − t4
//! ```
//!
//! The estimate is the middle of where the recent round trips' bounds
//! overlap, its half width the uncertainty: tighter than the best single
//! round trip (NTP's clock filter), since the quickest way there and the
//! quickest way back need not be in one. A sample outside the overlap says
//! the peer's clock moved (stepped, or a new process under the same name):
//! the older samples are dropped and the estimate starts again from it.
//! The estimate goes out in every hop's frame (`offset_ns`), and the
//! receiver subtracts it from its edge. No I/O here: the times come in.

use std::collections::{HashMap, VecDeque};

use super::protocol::{Nanos, Peer};
use lwc_wire::acks::ClockSample;

/// Samples kept per peer; the more, the tighter the overlap.
const WINDOW: usize = 256;
/// Samples this much older than the newest one (on our monotonic clock) no
/// longer count: clocks drift, and old bounds would pin a moved offset.
/// Measured from the newest sample, not from now, so that a quiet peer keeps
/// its last estimate rather than none.
const MAX_AGE: Nanos = 10_000_000_000;
/// A round trip longer than this says nothing useful about offsets.
const MAX_DELAY_NS: i128 = 10_000_000_000;

/// One peer's offset as estimated here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// The peer's wall clock minus ours.
    pub offset_ns: i64,
    /// Half the width of the samples' overlap: the offset is within ± this.
    pub uncertainty_ns: u64,
    /// Samples taken from this peer so far.
    pub samples: u64,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    /// t2 − t1: the offset is at most this.
    upper: i128,
    /// t3 − t4: the offset is at least this.
    lower: i128,
    at: Nanos,
}

#[derive(Debug, Default)]
struct PeerClock {
    recent: VecDeque<Sample>,
    /// Where `recent`'s bounds overlap, (lower, upper); kept so that a new
    /// sample is checked against it without going through the window.
    overlap: Option<(i128, i128)>,
    /// The estimate from `overlap`, kept so that a hop (many per ack
    /// frame) reads it as it is.
    estimate: Option<Estimate>,
    taken: u64,
}

impl PeerClock {
    fn take(&mut self, sample: Sample) {
        if let Some((lower, upper)) = self.overlap {
            if sample.upper < lower || sample.lower > upper {
                self.recent.clear();
            }
        }
        while self.recent.front().is_some_and(|s| s.at + MAX_AGE < sample.at) || self.recent.len() >= WINDOW {
            self.recent.pop_front();
        }
        self.recent.push_back(sample);
        self.taken += 1;
        let (lower, upper) = self.overlap();
        self.overlap = Some((lower, upper));
        // Both bounds fit an i64 (checked in `observe`), so these do too.
        self.estimate = Some(Estimate {
            offset_ns: ((upper + lower) / 2) as i64,
            uncertainty_ns: ((upper - lower) / 2) as u64,
            samples: self.taken,
        });
    }

    /// Where the samples' bounds overlap, (lower, upper). They do, but for
    /// drift within the window: then the quickest round trip stands in.
    fn overlap(&self) -> (i128, i128) {
        let upper = self.recent.iter().map(|s| s.upper).min().unwrap_or(0);
        let lower = self.recent.iter().map(|s| s.lower).max().unwrap_or(0);
        if lower <= upper {
            (lower, upper)
        } else {
            let best = self.recent.iter().min_by_key(|s| s.upper - s.lower);
            best.map_or((0, 0), |s| (s.lower, s.upper))
        }
    }
}

/// Every peer's clock, and which peer last acked for each component.
#[derive(Debug, Default)]
pub struct Clocks {
    peers: HashMap<Peer, PeerClock>,
    /// A hop goes to a component, not a host: its offset is that of the
    /// host that last acked one for it.
    by_component: HashMap<String, Peer>,
    /// Samples that could not be true (a time running backwards).
    pub refused: u64,
}

impl Clocks {
    /// Take one round trip; `arrived_ns` is the ack's arrival here (wall
    /// clock), `now` our monotonic clock. A sample that cannot be true
    /// (negative round trip, one over 10 s) is counted and ignored.
    pub fn observe(&mut self, now: Nanos, s: &ClockSample<'_>, arrived_ns: u64) -> bool {
        let (t1, t2, t3, t4) = (s.sent_ns as i128, s.recv_ns as i128, s.ack_ns as i128, arrived_ns as i128);
        let delay = (t4 - t1) - (t3 - t2);
        let (upper, lower) = (t2 - t1, t3 - t4);
        let fits = i64::try_from(upper).is_ok() && i64::try_from(lower).is_ok();
        if t4 < t1 || t3 < t2 || !(0..=MAX_DELAY_NS).contains(&delay) || !fits {
            self.refused += 1;
            return false;
        }
        let sample = Sample { upper, lower, at: now };
        // Found by name, so that a known peer costs no new name per ack.
        let peer = match self.peers.get_key_value(&*s.host) {
            Some((peer, _)) => peer.clone(),
            None => Peer::from(&*s.host),
        };
        self.peers.entry(peer.clone()).or_default().take(sample);
        if self.by_component.get(&*s.component) != Some(&peer) {
            self.by_component.insert(s.component.to_string(), peer);
        }
        true
    }

    /// The offset to put in a hop for `component`: 0 until a host running
    /// it has acked one of ours, and 0 while the estimate is within its own
    /// uncertainty of 0 (the clocks agree as far as can be told, as on one
    /// machine: the figures stay exact there).
    pub fn offset_for(&self, component: &str) -> i64 {
        self.by_component
            .get(component)
            .and_then(|peer| self.estimate(peer))
            .filter(|e| e.offset_ns.unsigned_abs() > e.uncertainty_ns)
            .map_or(0, |e| e.offset_ns)
    }

    /// The estimate of `peer`'s clock, once it has acked one of our hops.
    pub fn estimate(&self, peer: &str) -> Option<Estimate> {
        self.peers.get(peer)?.estimate
    }

    /// Every peer's estimate, by name.
    pub fn estimates(&self) -> Vec<(Peer, Estimate)> {
        let mut all: Vec<_> = self.peers.iter().filter_map(|(p, c)| Some((p.clone(), c.estimate?))).collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
#[path = "clocks_tests.rs"]
mod tests;
