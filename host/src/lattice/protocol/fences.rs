//! Fences and tombstones: packets whose later hops this host refuses.
//!
//! A query about packet P at hop k fences P here (unless we have seen it):
//! any hop of P from k on is refused until the asker resolves the query,
//! with an unfence (someone had the packet) or a tombstone (nobody did, the
//! loss was declared). A fence whose asker never resolves it (it died)
//! expires after [`super::Policy::fence_ttl`]; a tombstone after
//! [`super::Policy::history`].

use std::collections::{HashMap, VecDeque};

use super::{Nanos, Policy};

#[derive(Default)]
struct Fence {
    /// Open queries: (query id, from hop, until).
    pending: Vec<(u64, u32, Nanos)>,
    /// Declared lost from this hop on, until.
    tombstone: Option<(u32, Nanos)>,
}

impl Fence {
    fn refuses(&self, now: Nanos, hops: u32) -> bool {
        self.tombstone.is_some_and(|(h, until)| until > now && hops >= h)
            || self.pending.iter().any(|&(_, h, until)| until > now && hops >= h)
    }

    fn prune(&mut self, now: Nanos) {
        self.pending.retain(|&(_, _, until)| until > now);
        if self.tombstone.is_some_and(|(_, until)| until <= now) {
            self.tombstone = None;
        }
    }

    fn is_empty(&self) -> bool {
        self.pending.is_empty() && self.tombstone.is_none()
    }
}

/// Open fences per packet; bounded by their expiry and by count.
#[derive(Default)]
pub struct Fences {
    map: HashMap<u64, Fence>,
    /// (expiry, packet), oldest first, to prune without scanning.
    order: VecDeque<(Nanos, u64)>,
}

/// Packets fenced at once at most; past it the oldest fences go first.
const CAPACITY: usize = 1 << 20;

impl Fences {
    pub fn refuses(&self, now: Nanos, packet: u64, hops: u32) -> bool {
        self.map.get(&packet).is_some_and(|f| f.refuses(now, hops))
    }

    pub fn is_tombstone(&self, now: Nanos, packet: u64) -> bool {
        self.map
            .get(&packet)
            .and_then(|f| f.tombstone)
            .is_some_and(|(_, until)| until > now)
    }

    /// Fence `packet` from `hops` on for query `qid`; true when another
    /// query's fence is already open (its asker has not decided yet).
    pub fn fence(&mut self, now: Nanos, policy: &Policy, qid: u64, packet: u64, hops: u32) -> bool {
        let until = now + policy.fence_ttl;
        let fence = self.map.entry(packet).or_default();
        let other = fence.pending.iter().any(|&(q, _, u)| q != qid && u > now);
        if !fence.pending.iter().any(|&(q, _, _)| q == qid) {
            fence.pending.push((qid, hops, until));
            self.order.push_back((until, packet));
        }
        self.bound();
        other
    }

    pub fn unfence(&mut self, qid: u64, packet: u64) {
        if let Some(f) = self.map.get_mut(&packet) {
            f.pending.retain(|&(q, _, _)| q != qid);
            if f.is_empty() {
                self.map.remove(&packet);
            }
        }
    }

    pub fn tombstone(&mut self, now: Nanos, policy: &Policy, qid: u64, packet: u64, hops: u32) {
        let until = now + policy.history;
        let fence = self.map.entry(packet).or_default();
        fence.pending.retain(|&(q, _, _)| q != qid);
        let from = fence.tombstone.map_or(hops, |(h, _)| h.min(hops));
        fence.tombstone = Some((from, until));
        self.order.push_back((until, packet));
        self.bound();
    }

    /// Drop what has expired by `now`.
    pub fn expire(&mut self, now: Nanos) {
        while let Some(&(until, packet)) = self.order.front() {
            if until > now {
                break;
            }
            self.order.pop_front();
            if let Some(f) = self.map.get_mut(&packet) {
                f.prune(now);
                if f.is_empty() {
                    self.map.remove(&packet);
                }
            }
        }
    }

    fn bound(&mut self) {
        while self.order.len() > CAPACITY {
            if let Some((_, packet)) = self.order.pop_front() {
                self.map.remove(&packet);
            }
        }
    }
}
