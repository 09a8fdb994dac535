//! What a host says about itself: a heartbeat every second, answers to
//! health requests, and the NATS connection's state behind both. (Latency
//! histograms are kept in [`crate::metrics`] and published from here every
//! second; OTLP export is [`crate::otel`].)

use bytes::Bytes;
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crate::ledger::Ledger;
use crate::metrics;
use hdrhistogram::serialization::V2Serializer;
use lwc_wire::telemetry::{self as wire_telemetry, Snapshot};
use crate::node::Node;
use lwc_wire::status::{Health, Heartbeat, PeerClock};

/// NATS connection events, shared with the client's event callback.
#[derive(Default)]
pub struct ConnState {
    pub connected: AtomicBool,
    /// Connections lost since the host started (each followed by reconnect
    /// attempts); shown in the health answer.
    pub disconnects: AtomicU64,
    /// Where slow-consumer events are counted (`counters.slow_consumer`,
    /// in heartbeats and telemetry alike). Set right after connecting;
    /// no subscription, so no slow consumer, exists before.
    /// Weak: the client's event callback holds this, and the ledger holds
    /// the client; a strong handle would keep the connection open after
    /// the host is gone (a dropped host of a packed process).
    ledger: OnceLock<std::sync::Weak<Ledger>>,
}

impl ConnState {
    /// Count slow-consumer events in `ledger`'s counters from now on.
    pub fn attach(&self, ledger: Arc<Ledger>) {
        let _ = self.ledger.set(Arc::downgrade(&ledger));
    }

    pub fn on_event(&self, event: &async_nats::Event) {
        match event {
            async_nats::Event::Connected => {
                self.connected.store(true, Relaxed);
                match self.disconnects.load(Relaxed) {
                    0 => tracing::info!("NATS connected"),
                    n => tracing::info!("NATS connected again (connection lost {n} time(s) since start)"),
                }
            }
            async_nats::Event::Disconnected => {
                self.connected.store(false, Relaxed);
                self.disconnects.fetch_add(1, Relaxed);
                tracing::warn!("NATS disconnected; reconnecting");
            }
            async_nats::Event::SlowConsumer(sid) => {
                if let Some(ledger) = self.ledger.get().and_then(std::sync::Weak::upgrade) {
                    ledger.counters.slow_consumer.fetch_add(1, Relaxed);
                }
                tracing::warn!("NATS slow consumer on subscription {sid}: messages dropped");
            }
            other => tracing::info!("NATS: {other}"),
        }
    }
}

pub struct Reporter {
    pub node: Arc<Node>,
    pub conn: Arc<ConnState>,
    pub components: Vec<String>,
    pub started: Instant,
}

impl Reporter {
    pub fn heartbeat(&self) -> Heartbeat {
        let counters = self.node.ledger().counters.snapshot();
        Heartbeat {
            host: self.node.host.to_string(),
            at_ns: lwc_wire::now_ns(),
            uptime_s: self.started.elapsed().as_secs(),
            components: self.components.clone(),
            connected: self.conn.connected.load(Relaxed),
            down: self.node.chaos.is_down(),
            counters,
            awaiting_ack: self.node.lattice.awaiting_ack(),
            clocks: self.clocks(),
        }
    }

    fn clocks(&self) -> BTreeMap<String, PeerClock> {
        let estimates = self.node.lattice.clock_estimates();
        estimates
            .into_iter()
            .map(|(peer, e)| {
                let clock = PeerClock {
                    offset_us: e.offset_ns / 1_000,
                    uncertainty_us: e.uncertainty_ns.div_ceil(1_000),
                    samples: e.samples,
                };
                (peer.to_string(), clock)
            })
            .collect()
    }

    pub fn health(&self) -> Health {
        let down = self.node.chaos.is_down();
        let mut message = if down {
            format!("{}: simulated outage (chaos down_s)", self.node.host)
        } else {
            format!(
                "{}: serving {} component(s): {}",
                self.node.host,
                self.components.len(),
                self.components.join(", ")
            )
        };
        let disconnects = self.conn.disconnects.load(Relaxed);
        if disconnects > 0 {
            message.push_str(&format!("; NATS connection lost {disconnects} time(s) since start"));
        }
        Health {
            healthy: !down,
            message,
        }
    }

    pub async fn run_heartbeat(self: Arc<Self>) {
        let client = self.node.lattice.client().clone();
        let subject = lwc_wire::subjects::heartbeat(&self.node.lattice.name, &self.node.host);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let Ok(json) = serde_json::to_vec(&self.heartbeat()) else {
                continue;
            };
            if let Err(e) = client.publish(subject.clone(), Bytes::from(json)).await {
                tracing::debug!("heartbeat not published: {e}");
            }
        }
    }

    pub async fn run_health(self: Arc<Self>, mut sub: async_nats::Subscriber) {
        let client = self.node.lattice.client().clone();
        while let Some(msg) = sub.next().await {
            let Some(reply) = msg.reply else {
                self.node.ledger().counters.reject("health-no-reply");
                continue;
            };
            let Ok(json) = serde_json::to_vec(&self.health()) else {
                continue;
            };
            if let Err(e) = client.publish(reply, Bytes::from(json)).await {
                tracing::debug!("health reply not sent: {e}");
            }
        }
    }
}

/// Publish this host's snapshot every second until the host stops.
pub async fn run_publisher(node: Arc<Node>) {
    let client = node.lattice.client().clone();
    let subject = lwc_wire::subjects::telemetry(&node.lattice.name, &node.host);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut spare = wire_telemetry::histogram();
    let mut ser = V2Serializer::new();
    let mut scratch = Vec::new();
    let mut start_ns = lwc_wire::now_ns();
    let mut seq = 0u64;
    let mut overflow = 0u64;
    tick.tick().await;
    loop {
        tick.tick().await;
        overflow = metrics::warn_overflow(&node.ledger().metrics, overflow);
        let end_ns = lwc_wire::now_ns();
        let mut snap = Snapshot {
            v: wire_telemetry::VERSION,
            host: node.host.to_string(),
            seq,
            start_ns,
            end_ns,
            counters: node.ledger().counters.snapshot(),
            ..Default::default()
        };
        node.ledger().metrics.drain_into(&mut snap, &mut spare, &mut ser, &mut scratch);
        seq += 1;
        start_ns = end_ns;
        if let Err(e) = client.publish(subject.clone(), Bytes::from(snap.encode())).await {
            tracing::debug!("telemetry not published: {e}");
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testing;
    use lwc_wire::ctl::ChaosWire;

    async fn reporter() -> Reporter {
        Reporter {
            node: testing::node("north").await,
            conn: Arc::new(ConnState::default()),
            components: vec!["north".into()],
            started: Instant::now(),
        }
    }

    #[tokio::test]
    async fn connection_events_drive_connected_and_the_disconnect_count() {
        let r = reporter().await;
        r.conn.on_event(&async_nats::Event::Connected);
        assert!(r.heartbeat().connected);
        assert_eq!(r.health().message, "north: serving 1 component(s): north");
        r.conn.on_event(&async_nats::Event::Disconnected);
        assert!(!r.heartbeat().connected);
        r.conn.on_event(&async_nats::Event::Connected);
        r.conn.on_event(&async_nats::Event::Disconnected);
        let health = r.health();
        assert!(health.healthy);
        assert!(health.message.ends_with("; NATS connection lost 2 time(s) since start"), "{}", health.message);
    }

    #[tokio::test]
    async fn slow_consumers_count_once_a_ledger_is_attached() {
        let r = reporter().await;
        r.conn.on_event(&async_nats::Event::SlowConsumer(1));
        r.conn.attach(r.node.ledger().clone());
        r.conn.on_event(&async_nats::Event::SlowConsumer(1));
        r.conn.on_event(&async_nats::Event::SlowConsumer(2));
        assert_eq!(r.heartbeat().counters.slow_consumer, 2);
    }

    #[tokio::test]
    async fn an_outage_is_unhealthy_and_shows_in_the_heartbeat() {
        let r = reporter().await;
        r.node.chaos.apply(ChaosWire {
            down_until_ns: lwc_wire::now_ns() + 60_000_000_000,
            ..Default::default()
        });
        let health = r.health();
        assert!(!health.healthy);
        assert_eq!(health.message, "north: simulated outage (chaos down_s)");
        let hb = r.heartbeat();
        assert!(hb.down);
        assert_eq!((hb.host.as_str(), hb.components.clone()), ("north", vec!["north".to_string()]));
    }
}
