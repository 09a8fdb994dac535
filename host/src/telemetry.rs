//! What a host says about itself: a heartbeat every second and answers to
//! health requests. (Histograms and OTLP export come later.)

use bytes::Bytes;
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::node::Node;
use lwc_wire::status::{Health, Heartbeat};

/// NATS connection events, shared with the client's event callback.
#[derive(Debug, Default)]
pub struct ConnState {
    pub connected: AtomicBool,
    pub slow_consumer: AtomicU64,
    pub disconnects: AtomicU64,
}

impl ConnState {
    pub fn on_event(&self, event: &async_nats::Event) {
        match event {
            async_nats::Event::Connected => {
                self.connected.store(true, Relaxed);
                tracing::info!("NATS connected");
            }
            async_nats::Event::Disconnected => {
                self.connected.store(false, Relaxed);
                self.disconnects.fetch_add(1, Relaxed);
                tracing::warn!("NATS disconnected; reconnecting");
            }
            async_nats::Event::SlowConsumer(sid) => {
                self.slow_consumer.fetch_add(1, Relaxed);
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
        let mut counters = self.node.ledger().counters.snapshot();
        counters.slow_consumer = self.conn.slow_consumer.load(Relaxed);
        Heartbeat {
            host: self.node.host.to_string(),
            at_ns: lwc_wire::now_ns(),
            uptime_s: self.started.elapsed().as_secs(),
            components: self.components.clone(),
            connected: self.conn.connected.load(Relaxed),
            down: self.node.chaos.is_down(),
            counters,
            awaiting_ack: self.node.lattice.awaiting_ack(),
        }
    }

    pub fn health(&self) -> Health {
        let down = self.node.chaos.is_down();
        let message = if down {
            format!("{}: simulated outage (chaos down_s)", self.node.host)
        } else {
            format!(
                "{}: serving {} component(s): {}",
                self.node.host,
                self.components.len(),
                self.components.join(", ")
            )
        };
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
