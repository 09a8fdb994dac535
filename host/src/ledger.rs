//! The ledger: every packet's fate, published once, and the host's counters.
//!
//! A host publishes `injected` for packets it injects, `expired` for packets
//! that reach ttl 0 on it, and `lost` (with a reason) for packets whose hop
//! it could not complete. Together they keep the invariant
//! `injected = expired + lost + in flight` (DESIGN.md "Packet events").

use async_nats::{Client, Subject};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::otel::Otel;
use lwc_wire::events::{Expired, Hop, Injected, Lost, LostReason, PacketEvent};

use lwc_wire::status::Counters as WireCounters;

/// Untraced hops are published as events only while the host's hop rate is
/// below this (per second): at that rate the JSON costs nothing measurable.
const FREE_HOP_EVENTS_PER_S: f64 = 100.0;

pub struct Ledger {
    host: Arc<str>,
    client: Client,
    subject: Subject,
    pub counters: Counters,
    /// Latency histograms, published every second by the telemetry publisher.
    pub metrics: crate::metrics::Metrics,
    /// OTLP export (spans, metrics, guest logs); a no-op when off.
    pub otel: Arc<Otel>,
    sampler: Mutex<Sampler>,
}

#[derive(Default)]
pub struct Counters {
    pub invocations: AtomicU64,
    pub ok: AtomicU64,
    pub trap: AtomicU64,
    pub timeout: AtomicU64,
    pub overloaded: AtomicU64,
    pub hops_sent: AtomicU64,
    pub retries: AtomicU64,
    pub injected: AtomicU64,
    pub expired: AtomicU64,
    pub slow_consumer: AtomicU64,
    lost: [AtomicU64; LostReason::ALL.len()],
    rejected: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counters {
    pub fn lost(&self, reason: LostReason) -> u64 {
        self.lost[reason as usize].load(Relaxed)
    }

    /// Count a malformed or unexpected lattice message of some kind.
    pub fn reject(&self, kind: &'static str) {
        let mut r = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        *r.entry(kind).or_default() += 1;
    }

    pub fn snapshot(&self) -> WireCounters {
        let rejected = self.rejected.lock().unwrap_or_else(|p| p.into_inner());
        WireCounters {
            invocations: self.invocations.load(Relaxed),
            ok: self.ok.load(Relaxed),
            trap: self.trap.load(Relaxed),
            timeout: self.timeout.load(Relaxed),
            overloaded: self.overloaded.load(Relaxed),
            hops_sent: self.hops_sent.load(Relaxed),
            retries: self.retries.load(Relaxed),
            injected: self.injected.load(Relaxed),
            expired: self.expired.load(Relaxed),
            lost: LostReason::ALL
                .iter()
                .map(|r| (r.as_str().to_string(), self.lost(*r)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            rejected: rejected.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            slow_consumer: self.slow_consumer.load(Relaxed),
        }
    }
}

/// A token bucket refilled at [`FREE_HOP_EVENTS_PER_S`].
struct Sampler {
    tokens: f64,
    last: Instant,
}

impl Ledger {
    pub fn new(host: Arc<str>, client: Client, lattice: &str, otel: Arc<Otel>) -> Ledger {
        Ledger {
            host,
            otel,
            client,
            subject: Subject::from(lwc_wire::subjects::packet_events(lattice)),
            counters: Counters::default(),
            metrics: crate::metrics::Metrics::new(),
            sampler: Mutex::new(Sampler {
                tokens: FREE_HOP_EVENTS_PER_S,
                last: Instant::now(),
            }),
        }
    }

    pub fn host(&self) -> &Arc<str> {
        &self.host
    }

    async fn publish(&self, event: &PacketEvent) {
        let json = match serde_json::to_vec(event) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!("cannot encode event: {e}");
                return;
            }
        };
        if let Err(e) = self.client.publish(self.subject.clone(), Bytes::from(json)).await {
            tracing::warn!("cannot publish packet event: {e}");
        }
    }

    pub async fn injected(&self, ev: Injected) {
        self.counters.injected.fetch_add(1, Relaxed);
        if let Some(m) = &self.otel.metrics {
            m.injected();
        }
        self.publish(&PacketEvent::Injected(ev)).await;
    }

    pub async fn expired(&self, packet: u64, route: &str, hops: u32) {
        self.counters.expired.fetch_add(1, Relaxed);
        if let Some(m) = &self.otel.metrics {
            m.expired();
        }
        let lifetime_us = lwc_wire::now_ns().saturating_sub(packet) / 1_000;
        self.metrics.lifetime(lifetime_us);
        let ev = Expired {
            packet,
            route: route.to_string(),
            hops,
            lifetime_us,
            host: self.host.to_string(),
        };
        self.publish(&PacketEvent::Expired(ev)).await;
    }

    pub async fn lost(&self, packet: u64, route: &str, hops: u32, at: &str, reason: LostReason, detail: String) {
        self.counters.lost[reason as usize].fetch_add(1, Relaxed);
        if let Some(m) = &self.otel.metrics {
            m.lost(reason);
        }
        tracing::debug!(packet, %reason, at, "packet lost: {detail}");
        let ev = Lost {
            packet,
            route: route.to_string(),
            hops,
            at: at.to_string(),
            reason,
            host: self.host.to_string(),
            detail,
        };
        self.publish(&PacketEvent::Lost(ev)).await;
    }

    /// Publish a hop event: always for traced packets, otherwise only while
    /// the hop rate is low.
    pub async fn hop(&self, traced: bool, make: impl FnOnce() -> Hop) {
        if traced || self.take_free_token() {
            self.publish(&PacketEvent::Hop(make())).await;
        }
    }

    fn take_free_token(&self) -> bool {
        let mut s = self.sampler.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(s.last).as_secs_f64() * FREE_HOP_EVENTS_PER_S;
        s.tokens = (s.tokens + refill).min(FREE_HOP_EVENTS_PER_S);
        s.last = now;
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The lattice-wide ledger, kept by the control host from packet events:
/// every injected packet is in flight until exactly one fate arrives.
/// A fate for a packet not in flight (forged, replayed, or a second fate
/// for the same packet) is rejected and counted, and changes nothing.
#[derive(Debug, Default)]
pub struct Book {
    pub injected: u64,
    pub expired: u64,
    pub lost: BTreeMap<LostReason, u64>,
    in_flight: std::collections::HashSet<u64>,
    /// Events that did not fit the ledger, by why.
    pub rejected: BTreeMap<&'static str, u64>,
}

/// Packets tracked at once; past this, injections are counted but not
/// tracked (a bound on memory, reported as `untracked`).
const BOOK_CAPACITY: usize = 4_000_000;

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
        if !self.in_flight.insert(packet) {
            return Err("duplicate-injected");
        }
        self.injected += 1;
        Ok(())
    }

    fn end(&mut self, packet: u64) -> Result<(), &'static str> {
        if self.in_flight.remove(&packet) {
            Ok(())
        } else {
            Err("fate-for-unknown-packet")
        }
    }

    pub fn lost_total(&self) -> u64 {
        self.lost.values().sum()
    }

    pub fn in_flight(&self) -> u64 {
        self.in_flight.len() as u64
    }

    pub fn to_json(&self) -> serde_json::Value {
        let lost: BTreeMap<&str, u64> = self.lost.iter().map(|(r, n)| (r.as_str(), *n)).collect();
        serde_json::json!({
            "injected": self.injected,
            "expired": self.expired,
            "lost": lost,
            "lost_total": self.lost_total(),
            "in_flight": self.in_flight(),
            "rejected": self.rejected,
        })
    }
}

#[cfg(test)]
mod book_tests {
    use super::*;
    use lwc_wire::events::{Expired, Injected, Lost};

    fn injected(packet: u64) -> PacketEvent {
        PacketEvent::Injected(Injected {
            packet,
            ttl: 1,
            chaos: 0,
            route: "default".into(),
            host: "control".into(),
            at_ns: 0,
            trace: false,
        })
    }

    fn expired(packet: u64) -> PacketEvent {
        PacketEvent::Expired(Expired {
            packet,
            route: "default".into(),
            hops: 2,
            lifetime_us: 1,
            host: "east".into(),
        })
    }

    fn lost(packet: u64) -> PacketEvent {
        PacketEvent::Lost(Lost {
            packet,
            route: "default".into(),
            hops: 1,
            at: "north".into(),
            reason: LostReason::Unreachable,
            host: "east".into(),
            detail: String::new(),
        })
    }

    #[test]
    fn every_packet_ends_once_and_forgeries_change_nothing() {
        let mut book = Book::default();
        for p in 1..=3 {
            book.record(&injected(p));
        }
        book.record(&expired(1));
        book.record(&lost(2));
        assert_eq!((book.injected, book.expired, book.lost_total(), book.in_flight()), (3, 1, 1, 1));

        book.record(&expired(1)); // second fate
        book.record(&lost(1)); // conflicting fate
        book.record(&expired(99)); // never injected
        book.record(&injected(3)); // replayed injection
        assert_eq!((book.injected, book.expired, book.lost_total(), book.in_flight()), (3, 1, 1, 1));
        assert_eq!(book.rejected["fate-for-unknown-packet"], 3);
        assert_eq!(book.rejected["duplicate-injected"], 1);
        assert_eq!(book.injected, book.expired + book.lost_total() + book.in_flight());
    }
}
