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
    /// With a witness in the lattice, fates go to it through the lattice
    /// (`lattice::fates`) instead of straight onto the stream.
    fates: std::sync::OnceLock<tokio::sync::mpsc::UnboundedSender<(u64, Bytes)>>,
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
            fates: std::sync::OnceLock::new(),
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

    /// Send fates to `sink` from now on (set once).
    pub fn report_fates_to(&self, sink: tokio::sync::mpsc::UnboundedSender<(u64, Bytes)>) {
        if self.fates.set(sink).is_err() {
            tracing::warn!("fates already go to a witness");
        }
    }

    async fn publish(&self, event: &PacketEvent) {
        let json = match serde_json::to_vec(event) {
            Ok(j) => Bytes::from(j),
            Err(e) => {
                tracing::error!("cannot encode event: {e}");
                return;
            }
        };
        let json = match (self.fates.get(), event.fate_of()) {
            (Some(sink), Some(packet)) => match sink.send((packet, json)) {
                Ok(()) => return,
                Err(tokio::sync::mpsc::error::SendError((_, json))) => {
                    tracing::warn!(packet, "the fate reporter has stopped: fate published directly");
                    json
                }
            },
            _ => json,
        };
        self.publish_json(json).await;
    }

    /// Put an event's JSON on the event stream as it is (the witness does
    /// so with the fates reported to it).
    pub async fn publish_json(&self, json: Bytes) {
        if let Err(e) = self.client.publish(self.subject.clone(), json).await {
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

    /// `lifetime_us`: summed hop by hop (see `lattice::Age`), not read off
    /// the packet id, so it trusts no clock shared by the hosts.
    pub async fn expired(&self, packet: u64, route: &str, hops: u32, lifetime_us: u64) {
        self.counters.expired.fetch_add(1, Relaxed);
        if let Some(m) = &self.otel.metrics {
            m.expired();
        }
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

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
