//! The most recent packets and what became of them, kept to a fixed count.

use std::collections::{HashMap, VecDeque};

use lwc_wire::events::{Expired, Hop, Injected, Lost, LostReason};

/// How many packets the table remembers.
pub const CAPACITY: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    InFlight,
    Expired,
    Lost(LostReason),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacketRow {
    /// Wall-clock ns at injection (the packet id).
    pub id: u64,
    pub route: String,
    /// ttl at injection, when the injection was seen.
    pub ttl: Option<u64>,
    /// For a lost packet, the ttl it had left when lost (ttl at injection
    /// minus the visits it made); `None` when the injection was not seen.
    pub ttl_lost: Option<u64>,
    /// Probe visits so far (known from hop events and the fate).
    pub hops: u32,
    /// Injection to fate, µs; `None` while in flight.
    pub lifetime_us: Option<u64>,
    pub fate: Fate,
    /// Component where it was last seen (or lost).
    pub at: String,
}

impl PacketRow {
    fn new(id: u64, route: &str) -> PacketRow {
        PacketRow {
            id,
            route: route.to_string(),
            ttl: None,
            ttl_lost: None,
            hops: 0,
            lifetime_us: None,
            fate: Fate::InFlight,
            at: String::new(),
        }
    }

    /// Lifetime so far (in flight) or at its fate, µs.
    pub fn age_us(&self, now_ns: u64) -> u64 {
        self.lifetime_us
            .unwrap_or_else(|| now_ns.saturating_sub(self.id) / 1_000)
    }
}

#[derive(Default)]
pub struct Packets {
    rows: HashMap<u64, PacketRow>,
    /// Ids, oldest first.
    order: VecDeque<u64>,
}

impl Packets {
    fn row(&mut self, id: u64, route: &str) -> &mut PacketRow {
        if !self.rows.contains_key(&id) {
            if self.order.len() >= CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.rows.remove(&old);
                }
            }
            self.order.push_back(id);
        }
        self.rows.entry(id).or_insert_with(|| PacketRow::new(id, route))
    }

    pub fn injected(&mut self, ev: &Injected) {
        let row = self.row(ev.packet, &ev.route);
        row.ttl = Some(ev.ttl);
        row.at = ev.host.clone();
    }

    pub fn hop(&mut self, ev: &Hop) {
        let row = self.row(ev.packet, &ev.route);
        if let Some(ttl) = row.ttl {
            // ttl T at injection: the probe invoked with ttl t is visit T - t + 1.
            let visit = ttl.saturating_sub(ev.ttl).saturating_add(1);
            row.hops = row.hops.max(visit.min(u32::MAX as u64) as u32);
        }
        row.at = ev.to.clone();
    }

    pub fn expired(&mut self, ev: &Expired) {
        let row = self.row(ev.packet, &ev.route);
        row.hops = ev.hops;
        row.lifetime_us = Some(ev.lifetime_us);
        row.fate = Fate::Expired;
        row.at = ev.host.clone();
    }

    pub fn lost(&mut self, ev: &Lost, now_ns: u64) {
        let row = self.row(ev.packet, &ev.route);
        row.hops = ev.hops;
        row.lifetime_us = Some(now_ns.saturating_sub(ev.packet) / 1_000);
        row.fate = Fate::Lost(ev.reason);
        row.ttl_lost = row.ttl.map(|t| t.saturating_sub(u64::from(ev.hops)));
        row.at = ev.at.clone();
    }

    /// Newest first.
    pub fn newest(&self) -> impl Iterator<Item = &PacketRow> {
        self.order.iter().rev().filter_map(|id| self.rows.get(id))
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injected(id: u64, ttl: u64) -> Injected {
        Injected {
            packet: id,
            ttl,
            chaos: 0,
            route: "default".into(),
            host: "control".into(),
            at_ns: id,
            trace: false,
        }
    }

    #[test]
    fn follows_a_packet_to_its_fate() {
        let mut p = Packets::default();
        p.injected(&injected(1_000, 9));
        assert_eq!(p.newest().next().unwrap().ttl_lost, None);
        p.hop(&Hop {
            packet: 1_000,
            ttl: 7,
            route: "default".into(),
            from: "north".into(),
            to: "west".into(),
            host: "west".into(),
            sent_ns: 0,
            recv_ns: 0,
            latency_us: 0,
            invoke_us: 0,
            outcome: lwc_wire::events::HopOutcome::Ok,
        });
        let row = p.newest().next().unwrap().clone();
        assert_eq!((row.hops, row.fate.clone(), row.at.as_str()), (3, Fate::InFlight, "west"));
        assert_eq!(row.age_us(5_000), 4);
        p.expired(&Expired {
            packet: 1_000,
            route: "default".into(),
            hops: 10,
            lifetime_us: 1234,
            host: "south".into(),
        });
        let row = p.newest().next().unwrap();
        assert_eq!((row.hops, row.lifetime_us, &row.fate), (10, Some(1234), &Fate::Expired));
    }

    #[test]
    fn keeps_a_bounded_number_newest_first() {
        let mut p = Packets::default();
        for id in 0..(CAPACITY as u64 + 50) {
            p.injected(&injected(id, 1));
        }
        assert_eq!(p.len(), CAPACITY);
        assert_eq!(p.newest().next().unwrap().id, CAPACITY as u64 + 49);
        assert_eq!(p.newest().last().unwrap().id, 50);
        // A fate for a packet it never saw injected still shows up.
        p.lost(
            &Lost {
                packet: 7_000,
                route: "special".into(),
                hops: 2,
                at: "north".into(),
                reason: LostReason::Dropped,
                host: "north".into(),
                detail: String::new(),
            },
            9_000,
        );
        let row = p.newest().next().unwrap();
        assert_eq!((row.id, &row.fate, row.lifetime_us), (7_000, &Fate::Lost(LostReason::Dropped), Some(2)));
        assert_eq!(row.ttl_lost, None, "its ttl is unknown");
        // Injected with ttl 100 and lost after 3 visits: 97 left.
        p.injected(&injected(8_000, 100));
        p.lost(
            &Lost {
                packet: 8_000,
                route: "default".into(),
                hops: 3,
                at: "west".into(),
                reason: LostReason::Unreachable,
                host: "north".into(),
                detail: String::new(),
            },
            9_000,
        );
        assert_eq!(p.newest().next().unwrap().ttl_lost, Some(97));
    }
}
