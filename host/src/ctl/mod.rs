//! The control plane between hosts: links and chaos, changed at run time.
//!
//! Every host keeps a replica (the link table and every host's chaos) and
//! listens on `lwc.<l>.ctl.>`: it applies changes, acks them, and serves its
//! state to hosts that start late. The control host also originates
//! changes ([`ControlPlane::set_chaos`], [`ControlPlane::put_link`], …) for
//! the control component's HTTP API, waits until the live hosts have acked
//! them, and watches heartbeats and packet events to answer `/status`:
//! [`watch`] keeps them, [`book`] is the ledger book, [`census`] asks the
//! lattice about packets long in flight (orphans).

use anyhow::{Context, Result};
use async_nats::{Client, Subject};
use bytes::Bytes;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::chaos::{Chaos, ChaosSettings};
use crate::ledger::Ledger;
use book::Book;
use crate::links::Links;
use crate::manifest::Manifest;
use lwc_wire::ctl::{self, Ack, Change, ChaosWire, LinkWire, State};
use lwc_wire::status::Heartbeat;
use lwc_wire::subjects::{self, is_valid_token};

mod book;
mod census;
mod watch;
#[cfg(test)]
mod tests;

/// How long the control host waits for hosts to ack a change.
const ACK_WAIT: Duration = Duration::from_millis(1500);
/// A host whose last heartbeat is older than this is down.
const HEARTBEAT_STALE: Duration = Duration::from_secs(3);

/// Why a control request failed, as the control component sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CtlError {
    BadRequest(String),
    Unavailable(String),
}

/// A change to some of a host's chaos settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChaosPatch {
    pub trap: Option<u8>,
    pub delay_ms: Option<u32>,
    pub jitter_ms: Option<u32>,
    pub drop: Option<u8>,
    pub down_s: Option<u32>,
}

impl ChaosPatch {
    /// The ranges every host accepts, checked before anything is changed.
    fn check(&self) -> Result<(), String> {
        if self.trap.is_some_and(|p| p > 100) || self.drop.is_some_and(|p| p > 100) {
            return Err("trap and drop are percentages 0..=100".into());
        }
        if self.down_s.is_some_and(|s| s > 3600) {
            return Err("down_s must be 0..=3600".into());
        }
        Ok(())
    }
}

pub struct ControlPlane {
    host: Arc<str>,
    lattice: String,
    client: Client,
    links: Links,
    chaos: Arc<Chaos>,
    ledger: Arc<Ledger>,
    /// Hosts in the manifest, and which hosts run each component (its replicas).
    hosts: Vec<String>,
    components: BTreeMap<String, Vec<String>>,
    replica: Mutex<Replica>,
    /// Serializes changes so their versions go out in order.
    changing: tokio::sync::Mutex<()>,
    watch: Mutex<Watch>,
}

#[derive(Default)]
struct Replica {
    version: u64,
    chaos: BTreeMap<String, ChaosWire>,
}

/// What the control host has seen of the lattice.
#[derive(Default)]
struct Watch {
    heartbeats: BTreeMap<String, (Heartbeat, Instant)>,
    book: Book,
}

impl ControlPlane {
    pub fn new(
        host: Arc<str>,
        lattice: &str,
        client: Client,
        manifest: &Manifest,
        links: Links,
        chaos: Arc<Chaos>,
        ledger: Arc<Ledger>,
    ) -> ControlPlane {
        ControlPlane {
            host,
            lattice: lattice.to_string(),
            client,
            links,
            chaos,
            ledger,
            hosts: manifest.hosts.keys().cloned().collect(),
            components: manifest
                .components
                .values()
                .map(|c| (c.name.clone(), c.hosts.clone()))
                .collect(),
            replica: Mutex::new(Replica::default()),
            changing: tokio::sync::Mutex::new(()),
            watch: Mutex::new(Watch::default()),
        }
    }

    fn replica(&self) -> std::sync::MutexGuard<'_, Replica> {
        self.replica.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn watch(&self) -> std::sync::MutexGuard<'_, Watch> {
        self.watch.lock().unwrap_or_else(|p| p.into_inner())
    }

    // ------------------------------------------------------------ replica

    /// Check a change against the manifest, then apply it if it is new.
    fn apply(&self, change: &Change) -> Result<(), String> {
        self.check(change)?;
        let mut replica = self.replica();
        if change.version() <= replica.version {
            return Ok(()); // already have it (or something newer)
        }
        match change {
            Change::LinkPut { link, .. } => self.links.put(&link.source, &link.name, &link.target),
            Change::LinkDelete { source, name, .. } => {
                self.links.delete(source, name);
            }
            Change::ChaosSet { host, chaos, .. } => {
                replica.chaos.insert(host.clone(), *chaos);
                if **host == *self.host {
                    self.chaos.apply(*chaos);
                }
            }
        }
        replica.version = change.version();
        Ok(())
    }

    fn check(&self, change: &Change) -> Result<(), String> {
        match change {
            Change::LinkPut { link, .. } => {
                self.check_source(&link.source)?;
                for v in [&link.name, &link.target] {
                    if !is_valid_token(v) {
                        return Err(format!("{v:?} is not 1-64 characters of [a-z0-9_-]"));
                    }
                }
                Ok(())
            }
            Change::LinkDelete { source, .. } => self.check_source(source),
            Change::ChaosSet { host, chaos, .. } => {
                self.check_host(host)?;
                if chaos.trap > 100 || chaos.drop > 100 {
                    return Err("trap and drop are percentages 0..=100".into());
                }
                Ok(())
            }
        }
    }

    fn check_host(&self, host: &str) -> Result<(), String> {
        if self.hosts.iter().any(|h| h == host) {
            Ok(())
        } else {
            Err(format!("unknown host {host:?} (hosts: {})", self.hosts.join(", ")))
        }
    }

    fn check_source(&self, source: &str) -> Result<(), String> {
        if self.components.contains_key(source) {
            Ok(())
        } else {
            let known: Vec<&str> = self.components.keys().map(String::as_str).collect();
            Err(format!("unknown source component {source:?} (components: {})", known.join(", ")))
        }
    }

    fn state(&self) -> State {
        let replica = self.replica();
        State {
            version: replica.version,
            links: self
                .links
                .snapshot()
                .into_iter()
                .map(|(source, name, target)| LinkWire { source, name, target })
                .collect(),
            chaos: replica.chaos.clone(),
        }
    }

    /// Take over a newer state from the lattice.
    fn adopt(&self, state: State) {
        let mut replica = self.replica();
        if state.version <= replica.version {
            return;
        }
        let links: Vec<_> = state
            .links
            .into_iter()
            .map(|l| (l.source, l.name, l.target))
            .collect();
        self.links.replace_all(&links);
        if let Some(mine) = state.chaos.get(&*self.host) {
            self.chaos.apply(*mine);
        }
        replica.chaos = state.chaos;
        replica.version = state.version;
        tracing::info!(version = replica.version, "adopted the lattice's control state");
    }

    /// Before serving: ask the other hosts for the newest state, so a host
    /// that starts late gets the links and chaos in force.
    pub async fn sync(&self) -> Result<()> {
        let inbox = self.client.new_inbox();
        let mut sub = self.client.subscribe(inbox.clone()).await?;
        self.client
            .publish_with_reply(subjects::ctl_state(&self.lattice), inbox, Bytes::new())
            .await?;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(300);
        let mut best: Option<State> = None;
        while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await {
            match ctl::decode_state(&msg.payload) {
                Ok(s) if best.as_ref().is_none_or(|b| s.version > b.version) => best = Some(s),
                Ok(_) => {}
                Err(_) => self.ledger.counters.reject("ctl"),
            }
        }
        if let Some(state) = best {
            self.adopt(state);
        }
        Ok(())
    }

    /// Serve `lwc.<l>.ctl.>` on every host.
    pub async fn run_listener(self: Arc<Self>, mut sub: async_nats::Subscriber) {
        let prefix = subjects::ctl_prefix(&self.lattice);
        while let Some(msg) = sub.next().await {
            let kind = msg.subject.strip_prefix(prefix.as_str()).unwrap_or("");
            match kind {
                "links" | "chaos" => self.on_change(&msg).await,
                "state" => self.on_state_request(&msg).await,
                _ => self.ledger.counters.reject("ctl"),
            }
        }
    }

    async fn on_change(&self, msg: &async_nats::Message) {
        let (version, error) = match ctl::decode_change(&msg.payload).and_then(|c| {
            self.apply(&c)?;
            Ok(c.version())
        }) {
            Ok(v) => (v, None),
            Err(e) => {
                self.ledger.counters.reject("ctl");
                tracing::warn!("rejected control message on {}: {e}", msg.subject);
                (0, Some(e))
            }
        };
        if let Some(reply) = &msg.reply {
            let ack = Ack {
                host: self.host.to_string(),
                version,
                error,
            };
            self.reply(reply, &ack).await;
        }
    }

    async fn on_state_request(&self, msg: &async_nats::Message) {
        match &msg.reply {
            Some(reply) => self.reply(reply, &self.state()).await,
            None => self.ledger.counters.reject("ctl"),
        }
    }

    async fn reply(&self, reply: &Subject, body: &impl serde::Serialize) {
        let Ok(json) = serde_json::to_vec(body) else { return };
        if let Err(e) = self.client.publish(reply.clone(), Bytes::from(json)).await {
            tracing::debug!("control reply not sent: {e}");
        }
    }

    // ------------------------------------------------- control host only

    /// Apply locally, send to every host, and wait for the live ones' acks.
    async fn broadcast(&self, subject: String, change: Change) -> Result<(), CtlError> {
        self.apply(&change).map_err(CtlError::BadRequest)?;
        let unavailable = |e: &dyn std::fmt::Display| CtlError::Unavailable(format!("lattice: {e}"));
        let json = serde_json::to_vec(&change).map_err(|e| unavailable(&e))?;
        let inbox = self.client.new_inbox();
        let mut sub = self.client.subscribe(inbox.clone()).await.map_err(|e| unavailable(&e))?;
        self.client
            .publish_with_reply(subject, inbox, Bytes::from(json))
            .await
            .map_err(|e| unavailable(&e))?;
        let mut acked = BTreeSet::new();
        let deadline = tokio::time::Instant::now() + ACK_WAIT;
        while !self.all_live_acked(&acked) {
            match tokio::time::timeout_at(deadline, sub.next()).await {
                Ok(Some(msg)) => {
                    if let Ok(ack) = serde_json::from_slice::<Ack>(&msg.payload) {
                        if let Some(e) = ack.error {
                            tracing::warn!("host {} refused change: {e}", ack.host);
                        }
                        acked.insert(ack.host);
                    }
                }
                _ => {
                    let missing: Vec<_> = self.hosts.iter().filter(|h| !acked.contains(*h)).collect();
                    tracing::warn!("no ack for change from {missing:?}; they catch up when they start");
                    break;
                }
            }
        }
        Ok(())
    }

    fn all_live_acked(&self, acked: &BTreeSet<String>) -> bool {
        let watch = self.watch();
        self.hosts.iter().all(|h| {
            acked.contains(h)
                || watch
                    .heartbeats
                    .get(h)
                    .is_none_or(|(_, seen)| seen.elapsed() > HEARTBEAT_STALE)
        })
    }

    fn next_version(&self) -> u64 {
        self.replica().version + 1
    }

    pub fn get_chaos(&self) -> Vec<(String, ChaosSettings)> {
        let replica = self.replica();
        self.hosts
            .iter()
            .map(|h| {
                let wire = replica.chaos.get(h).copied().unwrap_or_default();
                (h.clone(), ChaosSettings::from_wire(&wire))
            })
            .collect()
    }

    pub async fn set_chaos(&self, host: &str, patch: ChaosPatch) -> Result<Vec<(String, ChaosSettings)>, CtlError> {
        patch.check().map_err(CtlError::BadRequest)?;
        let targets: Vec<String> = if host == "*" {
            self.hosts.clone()
        } else {
            self.check_host(host).map_err(CtlError::BadRequest)?;
            vec![host.to_string()]
        };
        let _order = self.changing.lock().await;
        for target in targets {
            let current = self.replica().chaos.get(&target).copied().unwrap_or_default();
            let mut s = ChaosSettings::from_wire(&current);
            s.trap = patch.trap.unwrap_or(s.trap);
            s.delay_ms = patch.delay_ms.unwrap_or(s.delay_ms);
            s.jitter_ms = patch.jitter_ms.unwrap_or(s.jitter_ms);
            s.drop = patch.drop.unwrap_or(s.drop);
            s.down_s = patch.down_s.unwrap_or(0);
            let mut chaos = s.to_wire();
            if patch.down_s.is_none() {
                // An outage in force keeps its deadline.
                chaos.down_until_ns = current.down_until_ns;
            }
            let change = Change::ChaosSet {
                version: self.next_version(),
                host: target,
                chaos,
            };
            self.broadcast(subjects::ctl_chaos(&self.lattice), change).await?;
        }
        Ok(self.get_chaos())
    }

    pub fn get_links(&self) -> Vec<LinkWire> {
        self.state().links
    }

    pub async fn put_link(&self, link: LinkWire) -> Result<Vec<LinkWire>, CtlError> {
        let _order = self.changing.lock().await;
        let change = Change::LinkPut {
            version: self.next_version(),
            link,
        };
        self.broadcast(subjects::ctl_links(&self.lattice), change).await?;
        Ok(self.get_links())
    }

    pub async fn delete_link(&self, source: &str, name: &str) -> Result<Vec<LinkWire>, CtlError> {
        let _order = self.changing.lock().await;
        self.check_source(source).map_err(CtlError::BadRequest)?;
        if self.links.resolve(source, name).is_none() {
            return Err(CtlError::BadRequest(format!("{source} has no link named {name:?}")));
        }
        let change = Change::LinkDelete {
            version: self.next_version(),
            source: source.to_string(),
            name: name.to_string(),
        };
        self.broadcast(subjects::ctl_links(&self.lattice), change).await?;
        Ok(self.get_links())
    }
}

/// Subscribe what every host needs for the control plane.
pub async fn subscribe(client: &Client, lattice: &str) -> Result<async_nats::Subscriber> {
    let subject = format!("{}>", subjects::ctl_prefix(lattice));
    client
        .subscribe(subject.clone())
        .await
        .with_context(|| format!("cannot subscribe to {subject}"))
}
