//! The lattice-wide ledger book, kept by the control host from the packet
//! event stream: every injected packet is in flight until exactly one fate
//! arrives. A fate for a packet not in flight (forged, replayed, or a second
//! fate for the same packet) is rejected and counted, and changes nothing.
//!
//! A packet whose holder and sender died together never gets a fate. The
//! census ([`super::census`]) asks the lattice about packets long in flight;
//! one that no host claims for [`ORPHAN_AFTER`] rounds in a row is counted
//! as `orphaned` (still in flight: nothing leaves the book without a fate).
//! One whose fate a host says it published, though the book never saw it
//! (the control host was away from NATS then), is counted as `fate_unseen`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Instant;

use lwc_wire::census::Claims;
use lwc_wire::events::{LostReason, PacketEvent};

/// Packets tracked at once; past this, injections are counted but not
/// tracked (a bound on memory, reported as `untracked`).
const BOOK_CAPACITY: usize = 4_000_000;

/// Census rounds in a row without a claim before a packet counts as orphaned:
/// one round may fall in a host's NATS outage.
pub const ORPHAN_AFTER: u8 = 2;

/// Orphaned packet ids shown in `/status` (the count is always whole).
const ORPHANS_LISTED: usize = 8;

#[derive(Debug, Default)]
pub struct Book {
    pub injected: u64,
    pub expired: u64,
    pub lost: BTreeMap<LostReason, u64>,
    /// Packet → second (of the book's clock) it was injected.
    in_flight: HashMap<u64, u32>,
    /// Packets in flight that the last census rounds found unclaimed.
    unclaimed: HashMap<u64, u8>,
    fate_unseen: HashSet<u64>,
    /// Events that did not fit the ledger, by why.
    pub rejected: BTreeMap<&'static str, u64>,
    origin: Option<Instant>,
    rounds: u64,
}

impl Book {
    pub fn record(&mut self, event: &PacketEvent) {
        let verdict = match event {
            PacketEvent::Injected(i) => self.inject(i.packet),
            PacketEvent::Expired(x) => self.end(x.packet).map(|()| self.expired += 1),
            PacketEvent::Lost(l) => self
                .end(l.packet)
                .map(|()| *self.lost.entry(l.reason).or_default() += 1),
            PacketEvent::Hop(_) => Ok(()),
        };
        if let Err(why) = verdict {
            *self.rejected.entry(why).or_default() += 1;
        }
    }

    fn inject(&mut self, packet: u64) -> Result<(), &'static str> {
        if self.in_flight.len() >= BOOK_CAPACITY {
            self.injected += 1;
            return Err("untracked");
        }
        if self.in_flight.contains_key(&packet) {
            return Err("duplicate-injected");
        }
        let at = self.secs();
        self.in_flight.insert(packet, at);
        self.injected += 1;
        Ok(())
    }

    fn end(&mut self, packet: u64) -> Result<(), &'static str> {
        if self.in_flight.remove(&packet).is_none() {
            return Err("fate-for-unknown-packet");
        }
        self.unclaimed.remove(&packet);
        self.fate_unseen.remove(&packet);
        Ok(())
    }

    /// Seconds since the book's first use: injection ages, cheaply stored.
    fn secs(&mut self) -> u32 {
        self.origin.get_or_insert_with(Instant::now).elapsed().as_secs() as u32
    }

    /// The packets to ask about next: every one still unclaimed, then others
    /// in flight for at least `min_age_s`, a different slice each round.
    pub fn census_candidates(&mut self, min_age_s: u32, max: usize) -> Vec<u64> {
        let now = self.secs();
        let mut asked: Vec<u64> = self.unclaimed.keys().copied().take(max).collect();
        let old = |(p, at): (&u64, &u32)| (now.saturating_sub(*at) >= min_age_s).then_some(*p);
        let total = self.in_flight.len();
        if asked.len() < max && total > 0 {
            let room = max - asked.len();
            let start = (self.rounds as usize).wrapping_mul(room) % total;
            self.rounds += 1;
            let rest = self.in_flight.iter().skip(start).chain(self.in_flight.iter().take(start));
            asked.extend(rest.filter_map(old).filter(|p| !self.unclaimed.contains_key(p)).take(room));
        }
        asked
    }

    /// What one census round heard, for the packets it asked about.
    pub fn census_heard(&mut self, asked: &[u64], claims: &Claims) {
        let held: HashSet<u64> = claims.held.iter().copied().collect();
        let ended: HashSet<u64> = claims.ended.iter().copied().collect();
        for p in asked {
            if !self.in_flight.contains_key(p) {
                continue; // its fate came while we asked
            }
            if ended.contains(p) {
                self.unclaimed.remove(p);
                self.fate_unseen.insert(*p);
            } else if held.contains(p) {
                self.unclaimed.remove(p);
                self.fate_unseen.remove(p);
            } else {
                let n = self.unclaimed.entry(*p).or_default();
                *n = n.saturating_add(1);
            }
        }
    }

    pub fn orphaned(&self) -> impl Iterator<Item = u64> + '_ {
        self.unclaimed.iter().filter(|(_, n)| **n >= ORPHAN_AFTER).map(|(p, _)| *p)
    }

    pub fn lost_total(&self) -> u64 {
        self.lost.values().sum()
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.len() as u64
    }

    pub fn to_json(&self) -> serde_json::Value {
        let lost: BTreeMap<&str, u64> = self.lost.iter().map(|(r, n)| (r.as_str(), *n)).collect();
        let mut orphans: Vec<u64> = self.orphaned().collect();
        orphans.sort_unstable();
        let listed: Vec<u64> = orphans.iter().copied().take(ORPHANS_LISTED).collect();
        serde_json::json!({
            "injected": self.injected,
            "expired": self.expired,
            "lost": lost,
            "lost_total": self.lost_total(),
            "in_flight": self.in_flight(),
            "orphaned": orphans.len(),
            "orphaned_packets": listed,
            "fate_unseen": self.fate_unseen.len(),
            "rejected": self.rejected,
        })
    }
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
