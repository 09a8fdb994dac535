//! Following the lattice: [`Tap`] collects packet events in the background;
//! [`Heartbeats`] keeps the latest heartbeat of each host.

use anyhow::{Context, Result};
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use lwc_wire::events::{Lost, PacketEvent};
use lwc_wire::status::Heartbeat;

/// Packet events collected in the background.
pub struct Tap {
    events: Arc<Mutex<Vec<PacketEvent>>>,
    /// Messages on the subject that did not parse as events.
    pub garbage: Arc<Mutex<usize>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Tap {
    /// Subscribe to `subject` (the server has the subscription when this
    /// returns, so nothing published afterwards is missed) and collect what
    /// arrives.
    pub async fn start(client: &async_nats::Client, subject: &str) -> Result<Tap> {
        let mut sub = client.subscribe(subject.to_string()).await?;
        crate::nats::round_trip(client).await?;
        let events = Arc::new(Mutex::new(Vec::new()));
        let garbage = Arc::new(Mutex::new(0));
        let (ev, gb) = (events.clone(), garbage.clone());
        tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                match serde_json::from_slice::<PacketEvent>(&msg.payload) {
                    Ok(e) => lock(&ev).push(e),
                    Err(_) => *lock(&gb) += 1,
                }
            }
        });
        Ok(Tap { events, garbage })
    }

    /// The events so far, in arrival order.
    pub fn events(&self) -> Vec<PacketEvent> {
        lock(&self.events).clone()
    }

    /// Wait until `done` holds for the events so far; panic with the last
    /// of them if it does not within `within`.
    pub async fn wait_until(&self, within: Duration, what: &str, done: impl Fn(&[PacketEvent]) -> bool) -> Vec<PacketEvent> {
        let waited = crate::wait::until_async(within, what, || {
            // A copy, so `done` may look at the tap itself (its lock is free).
            let events = self.events();
            Ok(done(&events).then_some(events))
        })
        .await;
        match waited {
            Ok(events) => events,
            Err(e) => {
                let events = self.events();
                let tail: Vec<String> = events.iter().rev().take(10).map(|e| format!("{e:?}")).collect();
                panic!(
                    "{e}; {} events ({} unparsable), last: {tail:#?}",
                    events.len(),
                    *lock(&self.garbage)
                );
            }
        }
    }

    /// Ids of the packets that expired, and the losses.
    pub fn fates(&self) -> (Vec<u64>, Vec<Lost>) {
        let mut expired = Vec::new();
        let mut lost = Vec::new();
        for e in self.events() {
            match e {
                PacketEvent::Expired(x) => expired.push(x.packet),
                PacketEvent::Lost(l) => lost.push(l),
                _ => {}
            }
        }
        (expired, lost)
    }
}

/// The hosts' heartbeats (one a second per host), latest per host, from
/// the moment of subscribing.
pub struct Heartbeats {
    sub: async_nats::Subscriber,
    latest: BTreeMap<String, Heartbeat>,
}

impl Heartbeats {
    pub async fn subscribe(client: &async_nats::Client, lattice: &str) -> Result<Heartbeats> {
        let sub = client
            .subscribe(lwc_wire::subjects::heartbeat(lattice, "*"))
            .await
            .context("cannot subscribe to heartbeats")?;
        crate::nats::round_trip(client).await?;
        Ok(Heartbeats {
            sub,
            latest: BTreeMap::new(),
        })
    }

    /// Take heartbeats until `done` holds for the latest of each host;
    /// returns those (sorted by host), or an error naming `what` and
    /// showing them after `within`.
    pub async fn until(&mut self, within: Duration, what: &str, done: impl Fn(&[Heartbeat]) -> bool) -> Result<Vec<Heartbeat>> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let now: Vec<Heartbeat> = self.latest.values().cloned().collect();
            if done(&now) {
                return Ok(now);
            }
            match tokio::time::timeout_at(deadline, self.sub.next()).await {
                Ok(Some(msg)) => {
                    if let Ok(hb) = serde_json::from_slice::<Heartbeat>(&msg.payload) {
                        self.latest.insert(hb.host.clone(), hb);
                    }
                }
                Ok(None) => anyhow::bail!("heartbeat subscription ended waiting for {what}"),
                Err(_) => anyhow::bail!("timed out after {within:?} waiting for {what}; latest heartbeats: {now:#?}"),
            }
        }
    }

    /// The latest heartbeat of each host heard from.
    pub fn latest(&self) -> Vec<Heartbeat> {
        self.latest.values().cloned().collect()
    }
}
