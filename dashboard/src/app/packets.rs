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

    /// Latest first.
    pub fn latest(&self) -> impl Iterator<Item = &PacketRow> {
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
mod tests;
