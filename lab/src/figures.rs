//! What the run measured, folded as events and telemetry arrive.
//!
//! - Fates: a packet belongs to the phase its `injected` event falls in; its
//!   `expired` or `lost` counts there whenever it comes (even before the
//!   `injected` event: events from different hosts carry no common order).
//!   Lifetimes come from the `expired` events, so they too are per packet.
//! - Latency per edge and invocation time come from the hosts' per-second
//!   HDR snapshots: a snapshot counts for a phase when it lies within it
//!   (one that straddles a phase change goes only into the time series), and
//!   the last phase takes the snapshots of the settle time after the run.

use hdrhistogram::Histogram;
use lwc_wire::events::PacketEvent;
use lwc_wire::telemetry::Snapshot;
use std::collections::{BTreeMap, HashMap};

const NS: u64 = 1_000_000_000;
/// How far a snapshot may reach out of a phase and still count for it.
const EDGE_SLACK_NS: u64 = 50_000_000;

/// One phase's figures.
#[derive(Debug, Clone)]
pub struct PhaseFigures {
    pub injected: u64,
    pub expired: u64,
    pub lost: BTreeMap<String, u64>,
    pub edges: BTreeMap<String, Histogram<u64>>,
    pub invoke: BTreeMap<String, Histogram<u64>>,
    pub lifetime: Histogram<u64>,
    /// Seconds of snapshots per host that counted here.
    covered_ns: BTreeMap<String, u64>,
}

impl PhaseFigures {
    fn new() -> PhaseFigures {
        PhaseFigures {
            injected: 0,
            expired: 0,
            lost: BTreeMap::new(),
            edges: BTreeMap::new(),
            invoke: BTreeMap::new(),
            lifetime: lwc_wire::telemetry::histogram(),
            covered_ns: BTreeMap::new(),
        }
    }

    pub fn lost_total(&self) -> u64 {
        self.lost.values().sum()
    }

    /// Seconds of telemetry that counted for this phase.
    pub fn covered_s(&self) -> f64 {
        self.covered_ns.values().copied().max().unwrap_or(0) as f64 / NS as f64
    }

    /// Hops per second over every edge, or one.
    pub fn hops_per_s(&self, edge: Option<&str>) -> Option<f64> {
        let covered = self.covered_s();
        if covered <= 0.0 {
            return None;
        }
        let hops: u64 = match edge {
            Some(e) => self.edges.get(e).map_or(0, |h| h.len()),
            None => self.edges.values().map(|h| h.len()).sum(),
        };
        Some(hops as f64 / covered)
    }

    /// Every edge merged.
    pub fn all_edges(&self) -> Histogram<u64> {
        let mut all = lwc_wire::telemetry::histogram();
        for h in self.edges.values() {
            let _ = all.add(h);
        }
        all
    }
}

/// Where each phase starts, in wall-clock ns.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub t0_ns: u64,
    pub starts_s: Vec<u32>,
    pub duration_s: u32,
}

impl Timeline {
    fn start_ns(&self, i: usize) -> u64 {
        self.t0_ns + u64::from(self.starts_s[i]) * NS
    }

    fn end_ns(&self, i: usize) -> u64 {
        match self.starts_s.get(i + 1) {
            Some(_) => self.start_ns(i + 1),
            None => self.t0_ns + u64::from(self.duration_s) * NS,
        }
    }

    /// The phase a packet injected at `at_ns` belongs to.
    pub fn phase_at(&self, at_ns: u64) -> Option<usize> {
        if at_ns < self.t0_ns || at_ns > self.end_ns(self.starts_s.len() - 1) + NS {
            return None;
        }
        (0..self.starts_s.len()).rev().find(|&i| self.start_ns(i) <= at_ns)
    }

    /// The phase a snapshot `[start, end)` lies within, if one.
    fn phase_within(&self, start: u64, end: u64) -> Option<usize> {
        let last = self.starts_s.len() - 1;
        (0..=last).find(|&i| {
            let lo = self.start_ns(i).saturating_sub(EDGE_SLACK_NS);
            let hi = if i == last { u64::MAX } else { self.end_ns(i) + EDGE_SLACK_NS };
            start >= lo && end <= hi
        })
    }

    /// Seconds since the start.
    pub fn offset_s(&self, at_ns: u64) -> f64 {
        (at_ns as f64 - self.t0_ns as f64) / NS as f64
    }
}

/// A fate that arrived before its packet's `injected` event.
#[derive(Debug, Clone)]
enum Fate {
    Expired(u64),
    Lost(String),
}

/// Everything measured so far.
pub struct Figures {
    pub timeline: Timeline,
    pub phases: Vec<PhaseFigures>,
    /// Packets of the run: their phase, and whether they have a fate.
    packets: HashMap<u64, (usize, bool)>,
    early: HashMap<u64, Fate>,
    /// Per edge, per second since the start: merged latency.
    pub edge_seconds: BTreeMap<String, BTreeMap<i64, Histogram<u64>>>,
    /// Per fate kind (`expired`, `lost:<reason>`), per second: count.
    pub fate_seconds: BTreeMap<String, BTreeMap<i64, u64>>,
    /// Messages that were not events or snapshots.
    pub garbage: u64,
}

impl Figures {
    pub fn new(timeline: Timeline) -> Figures {
        let phases = timeline.starts_s.iter().map(|_| PhaseFigures::new()).collect();
        Figures {
            timeline,
            phases,
            packets: HashMap::new(),
            early: HashMap::new(),
            edge_seconds: BTreeMap::new(),
            fate_seconds: BTreeMap::new(),
            garbage: 0,
        }
    }

    /// Packets of the run seen injected, and how many have no fate yet.
    pub fn injected_and_open(&self) -> (u64, u64) {
        let open = self.packets.values().filter(|(_, done)| !done).count() as u64;
        (self.packets.len() as u64, open)
    }

    /// Fold one packet event, received at `now_ns`.
    pub fn event(&mut self, event: PacketEvent, now_ns: u64) {
        match event {
            PacketEvent::Injected(i) => {
                let Some(phase) = self.timeline.phase_at(i.at_ns) else { return };
                if self.packets.contains_key(&i.packet) {
                    return;
                }
                self.phases[phase].injected += 1;
                self.packets.insert(i.packet, (phase, false));
                if let Some(fate) = self.early.remove(&i.packet) {
                    self.settle(i.packet, fate, now_ns);
                }
            }
            PacketEvent::Expired(x) => self.fate(x.packet, Fate::Expired(x.lifetime_us), now_ns),
            PacketEvent::Lost(l) => self.fate(l.packet, Fate::Lost(l.reason.to_string()), now_ns),
            PacketEvent::Hop(_) => {}
        }
    }

    fn fate(&mut self, packet: u64, fate: Fate, now_ns: u64) {
        if self.packets.contains_key(&packet) {
            self.settle(packet, fate, now_ns);
        } else if now_ns >= self.timeline.t0_ns && self.early.len() < 1_000_000 {
            self.early.insert(packet, fate);
        }
    }

    fn settle(&mut self, packet: u64, fate: Fate, now_ns: u64) {
        let Some((phase, done)) = self.packets.get_mut(&packet) else { return };
        if *done {
            return; // a second fate would break the ledger; count it once here
        }
        *done = true;
        let p = &mut self.phases[*phase];
        let kind = match fate {
            Fate::Expired(us) => {
                p.expired += 1;
                p.lifetime.saturating_record(us.max(1));
                "expired".to_string()
            }
            Fate::Lost(reason) => {
                *p.lost.entry(reason.clone()).or_default() += 1;
                format!("lost:{reason}")
            }
        };
        let second = self.timeline.offset_s(now_ns).floor() as i64;
        *self.fate_seconds.entry(kind).or_default().entry(second).or_default() += 1;
    }

    /// Fold one host's telemetry snapshot.
    pub fn snapshot(&mut self, snap: &Snapshot) {
        if snap.end_ns < self.timeline.t0_ns {
            return;
        }
        let mid = snap.start_ns / 2 + snap.end_ns / 2;
        let second = self.timeline.offset_s(mid).floor() as i64;
        let phase = self.timeline.phase_within(snap.start_ns, snap.end_ns);
        for e in &snap.edges {
            let Ok(h) = e.hist.decode() else {
                self.garbage += 1;
                continue;
            };
            let edge = format!("{}->{}", e.from, e.to);
            let series = self.edge_seconds.entry(edge.clone()).or_default();
            let _ = series.entry(second).or_insert_with(lwc_wire::telemetry::histogram).add(&h);
            if let Some(i) = phase {
                let _ = self.phases[i].edges.entry(edge).or_insert_with(lwc_wire::telemetry::histogram).add(&h);
            }
        }
        let Some(i) = phase else { return };
        for c in &snap.invoke {
            if let Ok(h) = c.hist.decode() {
                let _ = self.phases[i].invoke.entry(c.component.clone()).or_insert_with(lwc_wire::telemetry::histogram).add(&h);
            }
        }
        *self.phases[i].covered_ns.entry(snap.host.clone()).or_default() += snap.end_ns.saturating_sub(snap.start_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lwc_wire::events::{Expired, Injected, Lost, LostReason};

    fn timeline() -> Timeline {
        Timeline {
            t0_ns: 100 * NS,
            starts_s: vec![0, 10],
            duration_s: 20,
        }
    }

    fn injected(packet: u64, at_ns: u64) -> PacketEvent {
        PacketEvent::Injected(Injected {
            packet,
            ttl: 5,
            chaos: 0,
            route: "default".into(),
            host: "control".into(),
            at_ns,
            trace: false,
        })
    }

    fn expired(packet: u64) -> PacketEvent {
        PacketEvent::Expired(Expired {
            packet,
            route: "default".into(),
            hops: 6,
            lifetime_us: 900,
            host: "north".into(),
        })
    }

    #[test]
    fn a_fate_counts_in_the_phase_of_injection_in_any_order() {
        let mut f = Figures::new(timeline());
        let t = 100 * NS;
        f.event(injected(1, t + 9 * NS), t + 9 * NS);
        // Settled after the phase ended: still phase 0.
        f.event(expired(1), t + 11 * NS);
        // The fate before the injection.
        f.event(
            PacketEvent::Lost(Lost {
                packet: 2,
                route: "default".into(),
                hops: 1,
                at: "west".into(),
                reason: LostReason::Unreachable,
                host: "east".into(),
                detail: String::new(),
            }),
            t + 12 * NS,
        );
        f.event(injected(2, t + 11 * NS), t + 12 * NS);
        // Before the run: not ours.
        f.event(injected(3, t - 1), t);
        f.event(expired(3), t);
        assert_eq!((f.phases[0].injected, f.phases[0].expired), (1, 1));
        assert_eq!(f.phases[1].injected, 1);
        assert_eq!(f.phases[1].lost.get("unreachable"), Some(&1));
        assert_eq!(f.injected_and_open(), (2, 0));
        assert_eq!(f.phases[0].lifetime.len(), 1);
    }

    #[test]
    fn phase_boundaries() {
        let tl = timeline();
        let t = 100 * NS;
        assert_eq!(tl.phase_at(t), Some(0));
        assert_eq!(tl.phase_at(t + 10 * NS - 1), Some(0));
        assert_eq!(tl.phase_at(t + 10 * NS), Some(1));
        assert_eq!(tl.phase_at(t - 1), None);
        assert_eq!(tl.phase_within(t + 9 * NS, t + 10 * NS), Some(0));
        assert_eq!(tl.phase_within(t + 9 * NS + NS / 2, t + 10 * NS + NS / 2), None);
        assert_eq!(tl.phase_within(t + 25 * NS, t + 26 * NS), Some(1));
    }
}
