//! The lattice: hops in and out over NATS, and the acks that confirm them.
//!
//! The rules live in [`protocol`], a state machine with no I/O (accepted
//! before anything follows, done once the next holder has it, ask the
//! lattice before declaring a loss, outages pause the clocks). This module
//! is its shell: it turns NATS messages and timer ticks into protocol events
//! and carries out the actions the protocol returns.
//!
//! - [`hop`]: what a hop carries: [`OutHop`] handed over, [`Inbound`] received
//! - [`receive`]: invocations in: decode, ask the protocol, ack, queue
//! - [`act`]: the protocol's actions carried out: publish, ack, ask, answer, lose
//! - [`acker`]: `done`/`overloaded` acks batched per sending host
//! - [`clocks`]: peers' clock offsets, from the ack round trips (NTP-style)
//! - [`census`]: which packets this host holds, for the control host's census
//! - [`fates`]: fates reported to the witness (the control host), which publishes each once
//! - [`tasks`]: the loops: receivers, ack/whohas/answer/census listeners, the timer

mod act;
mod acker;
mod census;
pub mod clocks;
mod fates;
pub use acker::AckRx;
mod hop;
pub mod protocol;
mod receive;
mod tasks;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod tests;

use async_nats::{Client, Subject};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::ledger::Ledger;
use lwc_wire::acks::AckStatus;
use lwc_wire::invocation::Context;
use protocol::{Action, Nanos, Peer, Policy, Protocol, Upstream};

pub use acker::AckQueue;
use acker::ACK_BATCH_WINDOW;
pub use hop::{Age, Inbound, OutHop, SentHop};
pub use tasks::{run_receiver, spawn_tasks};
pub use fates::FateRx;

/// How hard a sender tries before it asks the lattice about a hop.
#[derive(Debug, Clone, Copy)]
pub struct HopPolicy {
    /// Wait this long for the first ack; each retry waits twice as long.
    pub timeout: Duration,
    /// Re-sends after a missing ack before the lattice is asked.
    pub retries: u32,
    /// Re-sends after "overloaded" answers before the lattice is asked.
    pub overload_retries: u32,
    /// After a hop is accepted, how long its receiver has to pass the packet
    /// on before the sender asks the lattice whether it still moves.
    pub finish_timeout: Duration,
    /// How long a batch of `done`/`overloaded` acks waits for an `accepted`
    /// frame to the same host to ride on before it goes on its own.
    pub ack_window: Duration,
    /// Where this host's fates go.
    pub fates: Fates,
}

/// Where a host's fates go (see `protocol::fates`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fates {
    /// Straight onto the event stream: a lattice without a control host.
    #[default]
    Direct,
    /// To the control host, which publishes each packet's first one.
    ToWitness,
    /// This host is the control host: the witness (its own fates too).
    Witness,
}

impl Default for HopPolicy {
    fn default() -> Self {
        HopPolicy {
            timeout: Duration::from_millis(500),
            retries: 2,
            overload_retries: 8,
            finish_timeout: Duration::from_secs(6),
            ack_window: ACK_BATCH_WINDOW,
            fates: Fates::Direct,
        }
    }
}

impl HopPolicy {
    fn protocol(&self) -> Policy {
        Policy {
            timeout: self.timeout.as_nanos() as u64,
            retries: self.retries,
            overload_retries: self.overload_retries,
            finish_timeout: self.finish_timeout.as_nanos() as u64,
            witness: self.fates != Fates::Direct,
            ..Policy::default()
        }
    }
}

/// How often, at most, a process's hosts step aside for their NATS
/// connections' writers (see [`now_and_then_let_writer_run`]).
const WRITER_TURN_EVERY: Duration = Duration::from_millis(10);

/// Yield to the runtime, so that a connection's writer sends what was just
/// published before this task runs on, but at most once per
/// [`WRITER_TURN_EVERY`] in the whole process. Such unhurried round trips
/// give the clock estimates their tight bounds (`clocks`); a yield on every
/// hop or batch cost ~20 % of the CPU per hop of a 200-host ring, where a
/// host sees one hop at a time, and a few per second per host are enough
/// for the estimates (they keep the tightest bounds of the last 10 s).
pub async fn now_and_then_let_writer_run() {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = START.get_or_init(Instant::now).elapsed().as_nanos() as u64 + 1;
    let last = LAST.load(Relaxed);
    let due = last == 0 || now.saturating_sub(last) >= WRITER_TURN_EVERY.as_nanos() as u64;
    if due && LAST.compare_exchange(last, now, Relaxed, Relaxed).is_ok() {
        tokio::task::yield_now().await;
    }
}

/// Reads the NATS connection's state: (connected now, disconnects so far).
pub type LinkProbe = Box<dyn Fn() -> (bool, u64) + Send + Sync>;

/// The protocol and what the shell last knew of the connection.
struct Inner {
    proto: Protocol<Arc<SentHop>>,
    /// Fates reported to the witness, not yet acked.
    fates: protocol::fates::Outbox<Bytes>,
    /// On the control host: the fates it published.
    witness: protocol::fates::Witness,
    up: bool,
    disconnects: u64,
    /// Peers' clock offsets, corrected for in every hop's frame (under the
    /// protocol's lock: a hop reads its offset and is sent in one step).
    clocks: clocks::Clocks,
}

/// One host's member of the lattice.
pub struct Lattice {
    pub name: String,
    me: Peer,
    client: Client,
    ack_subject: Subject,
    whohas_subject: Subject,
    /// Where fates are reported, and where the witness acks ours.
    fates_subject: Subject,
    fate_acks_subject: Subject,
    ledger: Arc<Ledger>,
    policy: HopPolicy,
    inner: Mutex<Inner>,
    link: LinkProbe,
    /// The protocol's clock starts here (monotonic).
    origin: Instant,
    next_hop_id: AtomicU64,
    acker: AckQueue,
    /// Fates published without the witness (it was silent for long).
    fates_direct: AtomicU64,
    /// Hops held for their senders' word (replicas), with their queue slots.
    held: Mutex<HashMap<u64, (tokio::sync::mpsc::OwnedPermit<Inbound>, Inbound)>>,
}

impl Lattice {
    /// Make the lattice handle; the receiver feeds [`spawn_tasks`]' acker.
    pub fn new(
        client: Client,
        name: &str,
        ledger: Arc<Ledger>,
        policy: HopPolicy,
        link: LinkProbe,
    ) -> (Arc<Lattice>, acker::AckRx) {
        let (acker, acks_rx) = acker::channel();
        let me = ledger.host().clone();
        let (_, disconnects) = link();
        let inner = Inner {
            proto: Protocol::new(me.clone(), policy.protocol(), rand::random::<u64>() >> 1),
            fates: Default::default(),
            witness: Default::default(),
            up: true,
            disconnects,
            clocks: clocks::Clocks::default(),
        };
        let lattice = Arc::new(Lattice {
            name: name.to_string(),
            ack_subject: Subject::from(lwc_wire::subjects::acks(name, &me)),
            whohas_subject: Subject::from(lwc_wire::subjects::whohas(name)),
            fates_subject: Subject::from(lwc_wire::fates::subject(name)),
            fate_acks_subject: Subject::from(lwc_wire::fates::acks_subject(name, &me)),
            me,
            client,
            ledger,
            policy,
            inner: Mutex::new(inner),
            link,
            origin: Instant::now(),
            // Random start: hop ids from different hosts never collide, so
            // a receiver can de-duplicate on the id alone.
            next_hop_id: AtomicU64::new(rand::random::<u64>() >> 1),
            acker,
            fates_direct: AtomicU64::new(0),
            held: Mutex::new(HashMap::new()),
        });
        (lattice, acks_rx)
    }

    pub fn policy(&self) -> &HopPolicy {
        &self.policy
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn ledger(&self) -> &Arc<Ledger> {
        &self.ledger
    }

    pub fn next_hop_id(&self) -> u64 {
        self.next_hop_id.fetch_add(1, Relaxed)
    }

    /// Hops sent and not yet passed on by their receivers, and fates not
    /// yet acked by the witness.
    pub fn awaiting_ack(&self) -> u64 {
        let inner = self.inner();
        inner.proto.stats().awaiting_ack + inner.fates.len() as u64
    }

    /// Every peer's estimated clock offset (peer minus us), by name.
    pub fn clock_estimates(&self) -> Vec<(Peer, clocks::Estimate)> {
        self.inner().clocks.estimates()
    }

    fn now(&self) -> Nanos {
        self.origin.elapsed().as_nanos() as u64
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A panic elsewhere must not stop the lattice: the state stays usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run one protocol step under the lock, then carry out its actions.
    async fn step(&self, f: impl FnOnce(&mut Protocol<Arc<SentHop>>, Nanos, &mut Vec<Action<Arc<SentHop>>>)) {
        let mut acts = Vec::new();
        {
            let mut inner = self.inner();
            f(&mut inner.proto, self.now(), &mut acts);
        }
        self.act(acts).await;
    }

    /// Publish one hop and track it until the next holder has it.
    /// `upstream`: the hop (received here) that this one carries on.
    /// Returns how many hops this host watches now, this one included.
    pub async fn send_hop(&self, hop: OutHop, upstream: Option<Upstream>) -> usize {
        let subject = Subject::from(lwc_wire::subjects::rpc(&self.name, &hop.target));
        let mut acts = Vec::new();
        let watched = {
            // One lock for both: the offset read and the hop tracked.
            let mut inner = self.inner();
            let offset_ns = inner.clocks.offset_for(&hop.target);
            let sent = Arc::new(SentHop {
                subject,
                payload: Bytes::from(hop.inv.encode(&Context {
                    caller: hop.from.to_string(),
                    sender: self.me.to_string(),
                    sent_ns: hop.sent_ns,
                    offset_ns,
                    age_ns: hop.age_ns,
                    trace: hop.trace,
                    held: hop.held,
                    traceparent: hop.traceparent.clone(),
                })),
                hop,
            });
            let (key, target) = (sent.key(), sent.hop.target.clone());
            inner.proto.send(self.now(), key, target, sent, upstream, &mut acts);
            inner.proto.watched()
        };
        self.act(acts).await;
        watched
    }

    /// A received hop finished here. `ended`: its packet's fate was
    /// published here; otherwise it was forwarded (or is being delayed).
    pub async fn settled(&self, hop: &Inbound, ended: bool) {
        let hop_id = hop.inv.hop_id;
        self.step(|p, now, acts| p.settled(now, hop_id, ended, acts)).await;
    }

    /// A fate seen on the event stream (the control host watches it): this
    /// host can then answer for the packet when asked.
    pub fn fate_seen(&self, packet: u64) {
        let now = self.now();
        let mut acts = Vec::new();
        self.inner().proto.fate_seen(now, packet, &mut acts);
        // Only `done`s come of it, and they wait in a batch anyway.
        for act in acts {
            if let Action::Ack { to, hop_id, status } = act {
                self.acker.try_send(to, hop_id, status);
            }
        }
    }

    /// Notice NATS going away and coming back, then act on what is due.
    pub async fn tick(&self) {
        let (connected, disconnects) = (self.link)();
        let mut acts = Vec::new();
        let mut fate_acts = Vec::new();
        let stats = {
            let mut guard = self.inner();
            let inner = &mut *guard;
            let now = self.now();
            let policy = *inner.proto.policy();
            let flapped = disconnects != inner.disconnects;
            inner.disconnects = disconnects;
            if inner.up && (flapped || !connected) {
                inner.proto.disconnected();
                inner.fates.disconnected();
                inner.up = false;
            }
            if !inner.up && connected {
                inner.proto.reconnected(now, &mut acts);
                inner.fates.reconnected(now, &policy, &mut fate_acts);
                inner.up = true;
            }
            inner.proto.tick(now, &mut acts);
            inner.fates.tick(now, &policy, &mut fate_acts);
            inner.proto.stats()
        };
        let counters = &self.ledger.counters;
        counters.retries.store(stats.retries, Relaxed);
        self.act(acts).await;
        self.fate_act(fate_acts).await;
    }

    /// Queue a batched ack (`done` or `overloaded`) for `to`.
    async fn ack_later(&self, to: Peer, hop_id: u64, status: AckStatus) {
        self.acker.send(to, hop_id, status).await;
    }
}
