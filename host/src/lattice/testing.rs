//! A lattice on a real nats-server, for the unit tests of the shell and of
//! `invoke`: one host's lattice (and ledger) on a connected client, with its
//! tasks running, and a second client (`peer`) that plays every other host.
//! Nothing here is above the lattice: `invoke`'s tests wire a whole node
//! on a [`Server`] and wrap its lattice with [`Live::around`].
//!
//! Needs a nats-server (`LWC_NATS_SERVER`, or `scripts/setup.sh`), as the
//! end-to-end tests do. Waits are on messages, with a deadline that only
//! bounds a failure.

use async_nats::{Client, Message, Subscriber};
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::{AckRx, HopPolicy, Inbound, Lattice, LinkProbe};
use crate::chaos::Chaos;
use crate::ledger::Ledger;
use crate::otel::Otel;
use lwc_testkit::nats::round_trip;
use lwc_testkit::Nats;
use lwc_wire::acks::AckStatus;
use lwc_wire::events::PacketEvent;
use lwc_wire::invocation::{Context, Invocation};

/// Bounds a failure only: every wait ends as soon as its message arrives.
pub const WITHIN: Duration = Duration::from_secs(10);

/// The lattice's name (that of `scripts/ring.toml`).
pub const LATTICE: &str = "default";

/// The connection state the lattice's timer reads, set by the test.
#[derive(Default)]
pub struct Link {
    pub down: AtomicBool,
    pub disconnects: AtomicU64,
}

/// A nats-server of one's own, the host's client and the peer's.
pub struct Server {
    pub client: Client,
    pub peer: Client,
    pub link: Arc<Link>,
    _nats: Nats,
    _dir: tempfile::TempDir,
}

impl Server {
    pub async fn start() -> Server {
        let dir = tempfile::tempdir().expect("a temp dir");
        let nats = Nats::start(dir.path()).expect("a nats-server (scripts/setup.sh or LWC_NATS_SERVER)");
        Server {
            client: nats.client().await.expect("the host's client"),
            peer: nats.client().await.expect("the peer's client"),
            link: Arc::new(Link::default()),
            _nats: nats,
            _dir: dir,
        }
    }

    /// The connection state for `Lattice::new`, as the test sets it.
    pub fn probe(&self) -> LinkProbe {
        let link = self.link.clone();
        Box::new(move || (!link.down.load(Relaxed), link.disconnects.load(Relaxed)))
    }
}

pub struct Live {
    pub lattice: Arc<Lattice>,
    /// The host's chaos, which its receivers obey.
    pub chaos: Arc<Chaos>,
    /// Plays the other hosts: publishes their frames, hears what we send.
    pub peer: Client,
    pub link: Arc<Link>,
    pub tasks: JoinSet<()>,
    _server: Server,
}

impl Live {
    /// Host `host`'s lattice, on a nats-server of its own.
    pub async fn start(host: &str, policy: HopPolicy) -> Live {
        let server = Server::start().await;
        let otel = Arc::new(Otel::disabled());
        let ledger = Arc::new(Ledger::new(Arc::from(host), server.client.clone(), LATTICE, otel));
        let (lattice, acks_rx) = Lattice::new(server.client.clone(), LATTICE, ledger, policy, server.probe());
        Live::around(server, lattice, acks_rx, Arc::new(Chaos::default())).await
    }

    /// A lattice built on `server`'s client (by `node::wire`, say), its
    /// tasks started here.
    pub async fn around(server: Server, lattice: Arc<Lattice>, acks_rx: AckRx, chaos: Arc<Chaos>) -> Live {
        let mut tasks = JoinSet::new();
        super::spawn_tasks(&lattice, acks_rx, &mut tasks).await.expect("the lattice subscribes");
        // The server has our subscriptions before the peer publishes.
        round_trip(lattice.client()).await.expect("a round trip");
        Live {
            lattice,
            chaos,
            peer: server.peer.clone(),
            link: server.link.clone(),
            tasks,
            _server: server,
        }
    }

    pub fn name(&self) -> &str {
        &self.lattice.name
    }

    /// Subscribe the peer to `subject`, registered before this returns.
    pub async fn hear(&self, subject: String) -> Subscriber {
        let sub = self.peer.subscribe(subject).await.expect("subscribe");
        round_trip(&self.peer).await.expect("a round trip");
        sub
    }

    /// The ack frames sent to host `to`.
    pub async fn acks_to(&self, to: &str) -> Subscriber {
        self.hear(lwc_wire::subjects::acks(self.name(), to)).await
    }

    /// The hops sent to component `to`.
    pub async fn hops_to(&self, to: &str) -> Subscriber {
        self.hear(lwc_wire::subjects::rpc(self.name(), to)).await
    }

    /// The lattice's packet events (fates and hops).
    pub async fn events(&self) -> Subscriber {
        self.hear(lwc_wire::subjects::packet_events(self.name())).await
    }

    /// Run this host's receiver for `component`, with a queue of `room`.
    pub async fn receiver(&mut self, component: &str, room: usize) -> mpsc::Receiver<Inbound> {
        let client = self.lattice.client().clone();
        let sub = client.subscribe(lwc_wire::subjects::rpc(self.name(), component)).await.expect("subscribe");
        round_trip(&client).await.expect("a round trip");
        let (tx, rx) = mpsc::channel(room);
        let chaos = self.chaos.clone();
        self.tasks.spawn(super::run_receiver(self.lattice.clone(), sub, tx, false, chaos, std::future::pending()));
        rx
    }

    /// Publish, as a peer, on `subject`; on the wire before this returns.
    pub async fn send(&self, subject: String, payload: Vec<u8>) {
        self.peer.publish(subject, payload.into()).await.expect("publish");
        self.peer.flush().await.expect("flush");
    }

    /// Send `hop` to `component` as host `sender` would.
    pub async fn send_hop(&self, component: &str, hop: &Hop) {
        self.send(lwc_wire::subjects::rpc(self.name(), component), hop.frame()).await;
    }
}

/// A hop as another host would send it.
pub struct Hop {
    pub sender: &'static str,
    pub inv: Invocation,
    pub trace: bool,
}

impl Hop {
    /// Hop `hop_id` of `packet` from host (and component) `sender`.
    pub fn new(sender: &'static str, hop_id: u64, packet: u64, ttl: u64) -> Hop {
        Hop {
            sender,
            inv: Invocation {
                packet,
                ttl,
                chaos: 0,
                hops: 2,
                gen: 0,
                hop_id,
                route: "default".into(),
            },
            trace: false,
        }
    }

    pub fn frame(&self) -> Vec<u8> {
        self.inv.encode(&Context {
            caller: self.sender.to_string(),
            sender: self.sender.to_string(),
            sent_ns: lwc_wire::now_ns(),
            offset_ns: 0,
            age_ns: 0,
            trace: self.trace,
            held: false,
            traceparent: None,
        })
    }
}

/// The next message on `sub`, or a failure naming `what`.
pub async fn next(sub: &mut Subscriber, what: &str) -> Message {
    match tokio::time::timeout(WITHIN, sub.next()).await {
        Ok(Some(msg)) => msg,
        Ok(None) => panic!("subscription closed waiting for {what}"),
        Err(_) => panic!("no {what} within {WITHIN:?}"),
    }
}

/// The next ack frame on `sub`, decoded.
pub async fn next_acks(sub: &mut Subscriber, what: &str) -> Vec<(u64, AckStatus)> {
    let msg = next(sub, what).await;
    lwc_wire::acks::decode(&msg.payload).expect("a valid ack frame")
}

/// The next packet event on `sub` that `pick` keeps (hop events of other
/// hops are skipped).
pub async fn next_event<T>(sub: &mut Subscriber, what: &str, mut pick: impl FnMut(PacketEvent) -> Option<T>) -> T {
    loop {
        let msg = next(sub, what).await;
        let ev: PacketEvent = serde_json::from_slice(&msg.payload).expect("a packet event");
        if let Some(v) = pick(ev) {
            return v;
        }
    }
}

/// The next hop on `sub`, decoded.
pub async fn next_hop(sub: &mut Subscriber, what: &str) -> (Invocation, Context) {
    let msg = next(sub, what).await;
    Invocation::decode(&msg.payload).expect("a valid invocation frame")
}

/// The next inbound hop a receiver queued.
pub async fn queued(rx: &mut mpsc::Receiver<Inbound>, what: &str) -> Inbound {
    match tokio::time::timeout(WITHIN, rx.recv()).await {
        Ok(Some(hop)) => hop,
        Ok(None) => panic!("queue closed waiting for {what}"),
        Err(_) => panic!("no {what} within {WITHIN:?}"),
    }
}

/// Wait until `check` holds (polled: counters have no events to wait on).
pub async fn until(what: &str, check: impl FnMut() -> bool) {
    let mut check = check;
    lwc_testkit::wait::until_async(WITHIN, what, || Ok(check().then_some(())))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}
