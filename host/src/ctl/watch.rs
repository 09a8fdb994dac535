//! What only the control host does with the control plane: it keeps every
//! host's latest heartbeat and the lattice-wide ledger book (from the packet
//! event stream), answers `GET /status` from them, and publishes the book.

use bytes::Bytes;
use futures::StreamExt;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{ControlPlane, HEARTBEAT_STALE};
use crate::chaos::ChaosSettings;
use lwc_wire::events::PacketEvent;
use lwc_wire::status::Heartbeat;
use lwc_wire::subjects;

impl ControlPlane {
    /// Hosts, components, links and the ledger, as the JSON of `GET /status`.
    pub fn status(&self) -> String {
        let chaos: BTreeMap<String, ChaosSettings> = self.get_chaos().into_iter().collect();
        let watch = self.watch();
        let hosts: Vec<_> = self
            .hosts
            .iter()
            .map(|h| match watch.heartbeats.get(h) {
                Some((hb, seen)) => json!({
                    "host": h,
                    "up": seen.elapsed() <= HEARTBEAT_STALE && !hb.down,
                    "last_seen_ms": seen.elapsed().as_millis() as u64,
                    "down": hb.down,
                    "uptime_s": hb.uptime_s,
                    "components": hb.components,
                    "awaiting_ack": hb.awaiting_ack,
                    "clocks": hb.clocks,
                    "counters": hb.counters,
                    "chaos": chaos.get(h),
                }),
                None => json!({ "host": h, "up": false, "last_seen_ms": null, "chaos": chaos.get(h) }),
            })
            .collect();
        let components: Vec<_> = self
            .components
            .iter()
            // `host` is the first replica (one host for most components);
            // `hosts` lists every replica.
            .map(|(c, hosts)| json!({ "name": c, "host": hosts.first(), "hosts": hosts }))
            .collect();
        json!({
            "lattice": self.lattice,
            "hosts": hosts,
            "components": components,
            "links": self.get_links(),
            "ledger": watch.book.to_json(),
        })
        .to_string()
    }

    /// Control host: keep the latest heartbeat of every host.
    pub async fn run_heartbeat_watch(self: Arc<Self>, mut sub: async_nats::Subscriber) {
        while let Some(msg) = sub.next().await {
            match serde_json::from_slice::<Heartbeat>(&msg.payload) {
                Ok(hb) => {
                    self.watch().heartbeats.insert(hb.host.clone(), (hb, Instant::now()));
                }
                Err(_) => self.ledger.counters.reject("heartbeat"),
            }
        }
    }

    /// Control host: count every packet's injection and fate.
    pub async fn run_ledger_watch(self: Arc<Self>, mut sub: async_nats::Subscriber, on_fate: impl Fn(u64)) {
        while let Some(msg) = sub.next().await {
            let Ok(event) = serde_json::from_slice::<PacketEvent>(&msg.payload) else {
                self.ledger.counters.reject("event");
                continue;
            };
            if let Some(packet) = event.fate_of() {
                on_fate(packet);
            }
            self.watch().book.record(&event);
        }
    }

    /// Control host: publish the ledger every second on `lwc.<l>.ledger`,
    /// and run the census that finds its orphans.
    pub async fn run_ledger_publisher(self: Arc<Self>) {
        tokio::join!(self.clone().publish_ledger(), self.run_census());
    }

    async fn publish_ledger(self: Arc<Self>) {
        let subject = subjects::ledger(&self.lattice);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let json = self.watch().book.to_json().to_string();
            if let Err(e) = self.client.publish(subject.clone(), Bytes::from(json)).await {
                tracing::debug!("ledger not published: {e}");
            }
        }
    }
}

