//! What every part of one host process shares: its name, the lattice, the
//! link table, its chaos settings and its ledger. Forwarding and injection,
//! the two ways a packet enters the lattice, live here ([`Forwarder`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::chaos::Chaos;
use crate::ctl::ControlPlane;
use crate::lattice::protocol::Upstream;
use crate::lattice::{AckRx, Age, HopPolicy, Lattice, LinkProbe, OutHop};
use crate::ledger::Ledger;
use crate::links::Links;
use lwc_wire::events::{Injected, LostReason};
use lwc_wire::invocation::Invocation;

pub struct Node {
    pub host: Arc<str>,
    pub lattice: Arc<Lattice>,
    pub links: Links,
    pub chaos: Arc<Chaos>,
    pub ctl: Arc<ControlPlane>,
    /// Forwarding, injection and packet ids: its own handle, so the guests'
    /// imports can hold it without the rest of the node.
    pub forwarder: Arc<Forwarder>,
}

/// How packets enter the lattice from this host: forwarded on from a
/// component, or injected new (under ids it hands out).
pub struct Forwarder {
    host: Arc<str>,
    lattice: Arc<Lattice>,
    links: Links,
    chaos: Arc<Chaos>,
    /// Highest packet id handed out by [`Forwarder::reserve_packet_ids`].
    last_packet_id: AtomicU64,
    /// Hops chaos holds back, sent later. Dropped with the host (aborted):
    /// a dropped host of a packed process sends nothing more.
    held: std::sync::Mutex<tokio::task::JoinSet<()>>,
}

/// A packet leaving a component, before its target is resolved.
pub struct Forward<'a> {
    pub from: &'a Arc<str>,
    pub link: &'a str,
    pub inv: Invocation,
    pub trace: bool,
    pub traceparent: Option<String>,
    /// The received hop this forward carries on (`None` when injecting).
    pub upstream: Option<Upstream>,
    /// How old the packet is (see [`Age`]).
    pub age: Age,
}

impl Node {
    pub fn new(
        host: Arc<str>,
        lattice: Arc<Lattice>,
        links: Links,
        chaos: Arc<Chaos>,
        ctl: Arc<ControlPlane>,
    ) -> Node {
        let forwarder = Arc::new(Forwarder {
            host: host.clone(),
            lattice: lattice.clone(),
            links: links.clone(),
            chaos: chaos.clone(),
            last_packet_id: AtomicU64::new(0),
            held: std::sync::Mutex::new(tokio::task::JoinSet::new()),
        });
        Node {
            host,
            lattice,
            links,
            chaos,
            ctl,
            forwarder,
        }
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        self.lattice.ledger()
    }

    /// [`Forwarder::reserve_packet_ids`].
    pub fn reserve_packet_ids(&self, count: u32) -> u64 {
        self.forwarder.reserve_packet_ids(count)
    }

    /// [`Forwarder::inject`].
    pub async fn inject(&self, from: &Arc<str>, link: &str, inv: Invocation, trace: bool, traceparent: Option<String>) {
        self.forwarder.inject(from, link, inv, trace, traceparent).await
    }

    /// [`Forwarder::forward`].
    pub async fn forward(&self, fwd: Forward<'_>) -> Option<(LostReason, String)> {
        self.forwarder.forward(fwd).await
    }
}

/// Hops this host still watches at most for it to count as quiet (one
/// packet passing through keeps two: the one sent, the one before it).
const QUIET_HOPS: usize = 2;

impl Forwarder {
    fn ledger(&self) -> &Arc<Ledger> {
        self.lattice.ledger()
    }

    /// Run `send` (a held hop) as long as this host lives.
    fn hold(&self, send: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // Those sent are forgotten here, so the set holds only those waiting.
        while held.try_join_next().is_some() {}
        held.spawn(tracing::Instrument::in_current_span(send));
    }

    /// Reserve `count` consecutive packet ids: wall-clock nanoseconds, bumped
    /// past the last reservation so that no two packets share an id.
    pub fn reserve_packet_ids(&self, count: u32) -> u64 {
        reserve_ids(&self.last_packet_id, lwc_wire::now_ns, count)
    }

    /// Inject a new packet from `from` (the control component).
    pub async fn inject(&self, from: &Arc<str>, link: &str, inv: Invocation, trace: bool, traceparent: Option<String>) {
        let born = lwc_wire::now_ns();
        let ev = Injected {
            packet: inv.packet,
            ttl: inv.ttl,
            chaos: inv.chaos,
            route: inv.route.clone(),
            host: self.host.to_string(),
            at_ns: born,
            trace,
        };
        self.ledger().injected(ev).await;
        let fwd = Forward {
            from,
            link,
            inv,
            trace,
            traceparent,
            upstream: None,
            age: Age::born(born),
        };
        self.forward(fwd).await;
    }

    /// Send a packet on along `from`'s link, or account for why it cannot
    /// go (and return that, for the caller's span).
    pub async fn forward(&self, fwd: Forward<'_>) -> Option<(LostReason, String)> {
        let Forward {
            from,
            link,
            mut inv,
            trace,
            traceparent,
            upstream,
            age,
        } = fwd;
        let Some(target) = self.links.resolve(from, link) else {
            let detail = format!("{from} has no link named {link:?}");
            self.lose(&inv, from, LostReason::NoLink, detail.clone()).await;
            return Some((LostReason::NoLink, detail));
        };
        if self.chaos.drop_now() {
            let detail = format!("chaos drop on {} ({from}→{target})", self.host);
            self.lose(&inv, from, LostReason::Dropped, detail.clone()).await;
            return Some((LostReason::Dropped, detail));
        }
        inv.hop_id = self.lattice.next_hop_id();
        let sent_ns = lwc_wire::now_ns();
        let delay = self.chaos.delay();
        let hop = OutHop {
            inv,
            from: from.clone(),
            target,
            trace,
            traceparent,
            sent_ns,
            age_ns: age.at(sent_ns),
            held: delay.is_some(),
        };
        match delay {
            None => {
                let watched = self.lattice.send_hop(hop, upstream).await;
                // On a quiet host, now and then, let the connection's writer
                // send the hop now, before the guest finishes and its
                // instance is torn down on this thread: that time is not the
                // wire's, and it made the way there look slower than the way
                // back (east's estimate of a +50 ms north read 29 µs high).
                // Not on every hop: a yield per hop cost 15-20 µs of CPU
                // under load and ~20 % of a 200-host ring's CPU per hop
                // (docs/decisions.md, "Clock offsets"); the estimate takes
                // its bounds from the quickest round trips, so a few
                // unhurried ones are enough.
                if watched <= QUIET_HOPS {
                    crate::lattice::now_and_then_let_writer_run().await;
                }
            }
            Some(delay) => {
                // Delay the hop, not the guest: the instance is already done.
                let lattice = self.lattice.clone();
                let send = async move {
                    tokio::time::sleep(delay).await;
                    lattice.send_hop(hop, upstream).await;
                };
                self.hold(send);
            }
        }
        None
    }

    async fn lose(&self, inv: &Invocation, at: &str, reason: LostReason, detail: String) {
        let visits = inv.hops.saturating_sub(1);
        self.ledger()
            .lost(inv.packet, &inv.route, visits, at, reason, detail)
            .await;
    }
}

/// A host's parts below the node, wired as `lib::run` and the unit tests
/// both need them.
pub struct Parts {
    pub ledger: Arc<Ledger>,
    pub lattice: Arc<Lattice>,
    pub acks_rx: AckRx,
    pub chaos: Arc<Chaos>,
    pub ctl: Arc<ControlPlane>,
    pub node: Arc<Node>,
}

/// Build the ledger, lattice, chaos, links, control plane and node of host
/// `host` on `lattice_name`, sharing one NATS client.
pub fn wire(
    host: Arc<str>,
    client: async_nats::Client,
    manifest: &lwc_manifest::Manifest,
    lattice_name: &str,
    otel: Arc<crate::otel::Otel>,
    policy: HopPolicy,
    link: LinkProbe,
) -> Parts {
    let ledger = Arc::new(Ledger::new(host.clone(), client.clone(), lattice_name, otel));
    let (lattice, acks_rx) = Lattice::new(client.clone(), lattice_name, ledger.clone(), policy, link);
    let chaos = Arc::new(Chaos::default());
    let links = Links::new(&manifest.links);
    let ctl = Arc::new(ControlPlane::new(host.clone(), lattice_name, client, manifest, links.clone(), chaos.clone(), ledger.clone()));
    let node = Arc::new(Node::new(host, lattice.clone(), links, chaos.clone(), ctl.clone()));
    Parts { ledger, lattice, acks_rx, chaos, ctl, node }
}

/// The first of `count` (at least 1) ids after `last`, read from `now` but
/// never at or below `last`; `last` moves to the range's end.
fn reserve_ids(last_id: &AtomicU64, now: impl Fn() -> u64, count: u32) -> u64 {
    let count = u64::from(count.max(1));
    let mut last = last_id.load(Ordering::Relaxed);
    loop {
        let first = now().max(last + 1);
        match last_id.compare_exchange_weak(last, first + count - 1, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return first,
            Err(now) => last = now,
        }
    }
}

#[cfg(test)]
#[path = "node_tests.rs"]
mod tests;

/// A real node for unit tests, on the ring of `scripts/ring.toml`.
#[cfg(test)]
#[path = "node_testing.rs"]
pub(crate) mod testing;
