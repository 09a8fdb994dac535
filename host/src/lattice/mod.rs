//! The lattice: hops in and out over NATS, and the acks that confirm them.
//!
//! Sending: [`Lattice::send_hop`] resolves nothing (the caller already chose
//! the target through the link table); it publishes the invocation frame
//! with this host's ack subject as the reply subject and remembers the hop
//! until an ack arrives. [`Lattice::sweep`] retries hops whose ack is late,
//! with doubling timeouts, and reports the packet `lost` once retries run out.
//!
//! Receiving: [`Lattice::receive`] checks and decodes each invocation, drops
//! duplicates (a retry of a hop that did arrive), queues it for its
//! component, and acks it on receipt, batched per sender ([`run_acker`]).

pub mod protocol;

use anyhow::{Context, Result};
use async_nats::{Client, HeaderMap, HeaderName, Subject, Subscriber};
use bytes::Bytes;
use futures::StreamExt;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

use crate::ledger::Ledger;
use crate::otel::spans;
use opentelemetry::KeyValue;
use lwc_wire::acks::{self, AckStatus};
use lwc_wire::events::LostReason;
use lwc_wire::invocation::{headers, Invocation, MAX_LEN};

/// How hard a sender tries before it calls a hop lost.
#[derive(Debug, Clone, Copy)]
pub struct HopPolicy {
    /// Wait this long for the first ack; each retry waits twice as long.
    pub timeout: Duration,
    /// Re-sends after a missing ack before the packet is `unreachable`.
    pub retries: u32,
    /// Re-sends after "overloaded" answers before the packet is `overloaded`.
    pub overload_retries: u32,
    /// After a hop is accepted, how long its receiver has to finish it (run
    /// the component and forward or settle the packet) before the sender
    /// reports the packet lost: the receiving host died holding it.
    pub finish_timeout: Duration,
}

impl HopPolicy {
    /// How long after the first send the sender gives up on an unacked hop.
    pub fn give_up_after(&self) -> Duration {
        self.timeout * (2u32.saturating_pow(self.retries + 1) - 1)
    }
}

impl Default for HopPolicy {
    fn default() -> Self {
        HopPolicy {
            timeout: Duration::from_millis(500),
            retries: 2,
            overload_retries: 8,
            finish_timeout: Duration::from_secs(6),
        }
    }
}

/// One hop a probe (or the control component) hands to the lattice.
#[derive(Debug, Clone)]
pub struct OutHop {
    pub inv: Invocation,
    /// Calling component.
    pub from: Arc<str>,
    /// Target component, resolved from the link table.
    pub target: Arc<str>,
    pub trace: bool,
    pub traceparent: Option<String>,
    /// When the caller handed the hop over (before any chaos delay), so the
    /// edge latency includes what the lattice added.
    pub sent_ns: u64,
}

/// One hop received for a component on this host.
#[derive(Debug)]
pub struct Inbound {
    pub inv: Invocation,
    /// Where to send this hop's acks (the sender's ack subject).
    pub ack_to: Subject,
    pub caller: String,
    pub sent_ns: u64,
    pub recv_ns: u64,
    /// When it was accepted into the queue, to bound its wait there.
    pub accepted_at: Instant,
    pub trace: bool,
    pub traceparent: Option<String>,
}

struct Pending {
    hop: OutHop,
    payload: Bytes,
    /// Sent in `lwc-give-up-ns`; the headers are rebuilt for a re-send
    /// rather than kept for every hop.
    give_up_ns: u64,
    subject: Subject,
    /// Re-sends so far after a missing ack.
    timeouts: u32,
    /// "Overloaded" answers so far.
    nacks: u32,
    /// When to act next: the ack deadline, or the end of an overload backoff.
    due: Instant,
    backing_off: bool,
    /// The receiver took it; now waiting for it to be finished.
    accepted: bool,
    /// When the sender stops trying (the time in the `lwc-give-up-ns` header).
    give_up_at: Instant,
}

/// What the lattice needs to reach a host's components.
pub struct Lattice {
    pub name: String,
    client: Client,
    ack_subject: Subject,
    ledger: Arc<Ledger>,
    policy: HopPolicy,
    pending: Mutex<HashMap<u64, Pending>>,
    next_hop_id: AtomicU64,
    acker: mpsc::Sender<(Subject, u64, AckStatus)>,
    seen: Mutex<RecentHops>,
    /// When each target component last acked a hop of ours.
    alive: Mutex<HashMap<Arc<str>, Instant>>,
}

impl Lattice {
    /// Make the lattice handle; the returned receiver feeds [`run_acker`].
    pub fn new(
        client: Client,
        name: &str,
        ledger: Arc<Ledger>,
        policy: HopPolicy,
    ) -> (Arc<Lattice>, mpsc::Receiver<(Subject, u64, AckStatus)>) {
        let (acker, acks_rx) = mpsc::channel(16 * 1024);
        let host = ledger.host().clone();
        let lattice = Arc::new(Lattice {
            name: name.to_string(),
            ack_subject: Subject::from(lwc_wire::subjects::acks(name, &host)),
            client,
            ledger,
            policy,
            pending: Mutex::new(HashMap::new()),
            // Random start: hop ids from different hosts never collide, so
            // a receiver can de-duplicate on the id alone.
            next_hop_id: AtomicU64::new(rand::random::<u64>() >> 1),
            acker,
            seen: Mutex::new(RecentHops::default()),
            alive: Mutex::new(HashMap::new()),
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

    pub fn awaiting_ack(&self) -> u64 {
        self.pending.lock().map(|p| p.len() as u64).unwrap_or(0)
    }

    /// Publish one hop and track it until it is acked or given up on.
    pub async fn send_hop(&self, hop: OutHop) {
        let subject = Subject::from(lwc_wire::subjects::rpc(&self.name, &hop.target));
        let payload = Bytes::from(hop.inv.encode());
        let give_up_at = Instant::now() + self.policy.give_up_after();
        let give_up_ns = lwc_wire::now_ns() + self.policy.give_up_after().as_nanos() as u64;
        let hdrs = hop_headers(&hop, give_up_ns);
        let hop_id = hop.inv.hop_id;
        let pending = Pending {
            hop,
            payload: payload.clone(),
            give_up_ns,
            subject: subject.clone(),
            timeouts: 0,
            nacks: 0,
            due: Instant::now() + self.policy.timeout,
            backing_off: false,
            accepted: false,
            give_up_at,
        };
        // Track before publishing: the ack may come back before we return.
        self.lock_pending().insert(hop_id, pending);
        self.publish_hop(subject, hdrs, payload).await;
    }

    async fn publish_hop(&self, subject: Subject, hdrs: HeaderMap, payload: Bytes) {
        self.ledger.counters.hops_sent.fetch_add(1, Relaxed);
        let res = self
            .client
            .publish_with_reply_and_headers(subject, self.ack_subject.clone(), hdrs, payload)
            .await;
        // A failed publish is not lost: the hop stays pending and is retried.
        if let Err(e) = res {
            tracing::warn!("publish failed (will retry): {e}");
        }
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Pending>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Apply one ack frame from a receiving host.
    pub async fn on_acks(&self, payload: &[u8]) {
        let entries = match acks::decode(payload) {
            Ok(e) => e,
            Err(e) => {
                self.ledger.counters.reject("ack");
                tracing::debug!("rejected ack frame: {e}");
                return;
            }
        };
        let mut given_up = Vec::new();
        let mut heard_from = Vec::new();
        {
            let mut pending = self.lock_pending();
            for (hop_id, status) in entries {
                if let Some(p) = pending.get(&hop_id) {
                    heard_from.push(p.hop.target.clone());
                }
                match status {
                    AckStatus::Accepted => {
                        if let Some(p) = pending.get_mut(&hop_id) {
                            p.accepted = true;
                            p.backing_off = false;
                            p.due = Instant::now() + self.policy.finish_timeout;
                        }
                    }
                    AckStatus::Done => {
                        pending.remove(&hop_id);
                    }
                    AckStatus::Overloaded => {
                        let Some(p) = pending.get_mut(&hop_id) else {
                            continue;
                        };
                        p.nacks += 1;
                        if p.nacks > self.policy.overload_retries {
                            if let Some(p) = pending.remove(&hop_id) {
                                given_up.push(p);
                            }
                        } else {
                            p.backing_off = true;
                            p.due = Instant::now() + overload_backoff(p.nacks);
                        }
                    }
                }
            }
        }
        self.mark_alive(heard_from);
        for p in given_up {
            let detail = format!("{} stayed overloaded through {} tries", p.hop.target, p.nacks);
            self.report_lost(&p.hop, LostReason::Overloaded, detail).await;
        }
    }

    fn mark_alive(&self, targets: Vec<Arc<str>>) {
        if targets.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut alive = self.alive.lock().unwrap_or_else(|p| p.into_inner());
        for t in targets {
            alive.insert(t, now);
        }
    }

    /// Whether `target` acked anything of ours within the last hop timeout.
    fn is_alive(&self, target: &str) -> bool {
        let alive = self.alive.lock().unwrap_or_else(|p| p.into_inner());
        alive
            .get(target)
            .is_some_and(|t| t.elapsed() < self.policy.timeout)
    }

    /// Retry hops whose ack is late; give up on those out of time.
    ///
    /// A target that acks other hops is alive but behind: re-sending would
    /// only add to its backlog, so its hops wait instead, and one it has
    /// not taken by the give-up time is lost as `overloaded`. A target that
    /// acks nothing gets re-sends with doubling waits, then `unreachable`.
    pub async fn sweep(&self) {
        let now = Instant::now();
        let mut resend = Vec::new();
        let mut given_up = Vec::new();
        let mut unfinished = Vec::new();
        {
            let mut pending = self.lock_pending();
            let due: Vec<u64> = pending
                .iter()
                .filter(|(_, p)| p.due <= now)
                .map(|(id, _)| *id)
                .collect();
            for id in due {
                let Some(p) = pending.get_mut(&id) else { continue };
                if p.accepted {
                    if let Some(p) = pending.remove(&id) {
                        unfinished.push(p);
                    }
                    continue;
                }
                if p.backing_off {
                    p.backing_off = false;
                } else if now >= p.give_up_at || (p.timeouts >= self.policy.retries && !self.is_alive(&p.hop.target)) {
                    if let Some(p) = pending.remove(&id) {
                        given_up.push(p);
                    }
                    continue;
                } else if self.is_alive(&p.hop.target) {
                    p.due = (now + self.policy.timeout).min(p.give_up_at);
                    continue;
                } else {
                    p.timeouts += 1;
                }
                p.due = (now + self.policy.timeout * 2u32.saturating_pow(p.timeouts)).min(p.give_up_at);
                resend.push((p.subject.clone(), hop_headers(&p.hop, p.give_up_ns), p.payload.clone()));
            }
        }
        for (subject, hdrs, payload) in resend {
            self.ledger.counters.retries.fetch_add(1, Relaxed);
            self.publish_hop(subject, hdrs, payload).await;
        }
        for p in given_up {
            let (reason, detail) = if self.is_alive(&p.hop.target) {
                let detail = format!("{} is alive but did not take the hop in time", p.hop.target);
                (LostReason::Overloaded, detail)
            } else {
                let detail = format!("no ack from {} after {} tries", p.hop.target, p.timeouts + 1);
                (LostReason::Unreachable, detail)
            };
            self.report_lost(&p.hop, reason, detail).await;
        }
        for p in unfinished {
            let detail = format!(
                "{} accepted hop {} but never finished it (host gone?)",
                p.hop.target, p.hop.inv.hop_id
            );
            // It did reach the target: that visit counts.
            let hops = p.hop.inv.hops;
            self.trace_loss(&p.hop, LostReason::Unreachable, &detail);
            self.ledger
                .lost(p.hop.inv.packet, &p.hop.inv.route, hops, &p.hop.target, LostReason::Unreachable, detail)
                .await;
        }
    }

    async fn report_lost(&self, hop: &OutHop, reason: LostReason, detail: String) {
        // The packet made `hops - 1` visits; the one that failed is `hops`.
        let visits = hop.inv.hops.saturating_sub(1);
        self.trace_loss(hop, reason, &detail);
        self.ledger
            .lost(hop.inv.packet, &hop.inv.route, visits, &hop.target, reason, detail)
            .await;
    }

    /// A loss found after the sending invocation ended: an error span under
    /// it, so the trace shows where the packet went missing.
    fn trace_loss(&self, hop: &OutHop, reason: LostReason, detail: &str) {
        let Some(traces) = &self.ledger.otel.traces else {
            return;
        };
        let Some(parent) = hop.traceparent.as_deref().and_then(|tp| traces.parent(tp)) else {
            return;
        };
        let attributes = vec![
            spans::int("lwc.packet.id", hop.inv.packet),
            spans::int("lwc.packet.ttl", hop.inv.ttl),
            KeyValue::new("lwc.caller", hop.from.clone()),
            KeyValue::new("lwc.target", hop.target.clone()),
            KeyValue::new("lwc.loss.reason", reason.as_str()),
        ];
        traces.lost_after(&parent, attributes, format!("lost ({reason}): {detail}"));
    }

    /// Check, de-duplicate and queue one received invocation, and ack it.
    pub async fn receive(&self, msg: async_nats::Message, queue: &mpsc::Sender<Inbound>) {
        let recv_ns = lwc_wire::now_ns();
        let Some(reply) = msg.reply.clone() else {
            self.ledger.counters.reject("rpc-no-reply");
            return;
        };
        if msg.payload.len() > MAX_LEN {
            self.reject_rpc(&reply, "invocation body too large").await;
            return;
        }
        let inv = match Invocation::decode(&msg.payload) {
            Ok(inv) => inv,
            Err(e) => {
                self.reject_rpc(&reply, &e.to_string()).await;
                return;
            }
        };
        let hop_id = inv.hop_id;
        if self.already_seen(hop_id) {
            // A retry of a hop that did arrive: ack again, run it once.
            self.ledger.counters.reject("rpc-duplicate");
            self.ack(reply, hop_id, AckStatus::Accepted).await;
            return;
        }
        let hdrs = msg.headers.as_ref();
        let header = |name: &str| hdrs.and_then(|h| h.get(name)).map(|v| v.as_str());
        let give_up = header(headers::GIVE_UP_NS).and_then(|v| v.parse::<u64>().ok());
        if give_up.is_some_and(|t| recv_ns + STALE_MARGIN_NS >= t) {
            // The sender has given up (or will before our ack reaches it)
            // and reports the packet lost: running it would end it twice.
            self.ledger.counters.reject("rpc-stale");
            return;
        }
        let inbound = Inbound {
            accepted_at: Instant::now(),
            ack_to: reply.clone(),
            caller: header(headers::CALLER).unwrap_or("unknown").to_string(),
            sent_ns: header(headers::SENT_NS)
                .and_then(|v| v.parse().ok())
                .unwrap_or(recv_ns),
            trace: header(headers::TRACE) == Some("1"),
            traceparent: header(headers::TRACEPARENT).map(str::to_string),
            recv_ns,
            inv,
        };
        match queue.try_send(inbound) {
            Ok(()) => {
                self.remember(hop_id);
                self.ack(reply, hop_id, AckStatus::Accepted).await;
            }
            Err(_) => {
                self.ledger.counters.overloaded.fetch_add(1, Relaxed);
                self.ack(reply, hop_id, AckStatus::Overloaded).await;
            }
        }
    }

    async fn reject_rpc(&self, reply: &Subject, why: &str) {
        self.ledger.counters.reject("rpc");
        tracing::debug!("rejected invocation: {why}");
        // Our own hosts never send a bad frame; answer whoever did.
        let _ = self
            .client
            .publish(reply.clone(), Bytes::from(format!("error: {why}")))
            .await;
    }

    /// Tell the sender a hop has been run and its packet settled.
    pub async fn finished(&self, hop: &Inbound) {
        self.ack(hop.ack_to.clone(), hop.inv.hop_id, AckStatus::Done).await;
    }

    async fn ack(&self, reply: Subject, hop_id: u64, status: AckStatus) {
        if self.acker.send((reply, hop_id, status)).await.is_err() {
            tracing::warn!("acker stopped; hop {hop_id} not acked");
        }
    }

    fn already_seen(&self, hop_id: u64) -> bool {
        self.seen.lock().map(|s| s.contains(hop_id)).unwrap_or(false)
    }

    fn remember(&self, hop_id: u64) {
        if let Ok(mut s) = self.seen.lock() {
            s.insert(hop_id);
        }
    }

    /// Subscribe to this host's ack subject.
    pub async fn subscribe_acks(&self) -> Result<Subscriber> {
        self.client
            .subscribe(self.ack_subject.clone())
            .await
            .context("cannot subscribe to the ack subject")
    }
}

/// The headers of one hop (and of its re-sends, which must carry the same).
fn hop_headers(hop: &OutHop, give_up_ns: u64) -> HeaderMap {
    // Names built once: parsing a name from a string costs on every hop.
    const CALLER: HeaderName = HeaderName::from_static(headers::CALLER);
    const SENT_NS: HeaderName = HeaderName::from_static(headers::SENT_NS);
    const GIVE_UP_NS: HeaderName = HeaderName::from_static(headers::GIVE_UP_NS);
    const TRACE: HeaderName = HeaderName::from_static(headers::TRACE);
    const TRACEPARENT: HeaderName = HeaderName::from_static(headers::TRACEPARENT);
    let mut hdrs = HeaderMap::new();
    hdrs.insert(CALLER, hop.from.as_ref());
    hdrs.insert(SENT_NS, hop.sent_ns.to_string());
    hdrs.insert(GIVE_UP_NS, give_up_ns.to_string());
    if hop.trace {
        hdrs.insert(TRACE, "1");
    }
    if let Some(tp) = &hop.traceparent {
        hdrs.insert(TRACEPARENT, tp.as_str());
    }
    hdrs
}

/// A hop arriving this close to its sender's give-up time is dropped.
const STALE_MARGIN_NS: u64 = 250_000_000;

fn overload_backoff(nacks: u32) -> Duration {
    let base = Duration::from_millis(5) * 2u32.saturating_pow(nacks.min(8));
    let jitter = Duration::from_micros(rand::random::<u64>() % 5_000);
    base.min(Duration::from_secs(1)) + jitter
}

/// Hop ids accepted recently, to drop retried duplicates.
#[derive(Default)]
struct RecentHops {
    set: HashSet<u64>,
    order: VecDeque<u64>,
}

impl RecentHops {
    /// Enough for every hop of the last few seconds at full speed.
    const CAPACITY: usize = 1 << 18;

    fn contains(&self, id: u64) -> bool {
        self.set.contains(&id)
    }

    fn insert(&mut self, id: u64) {
        if self.set.insert(id) {
            self.order.push_back(id);
            if self.order.len() > Self::CAPACITY {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// How long an ack batch collects entries after its first one.
const ACK_BATCH_WINDOW: Duration = Duration::from_millis(5);

/// Batch acks per sender: flush a sender's batch when it is full, and every
/// batch [`ACK_BATCH_WINDOW`] after its first entry.
pub async fn run_acker(client: Client, mut rx: mpsc::Receiver<(Subject, u64, AckStatus)>) {
    // Keyed by the reply subject's text (Subject is not Hash).
    let mut batches: HashMap<String, Vec<(u64, AckStatus)>> = HashMap::new();
    while let Some((reply, id, status)) = rx.recv().await {
        batches.entry(reply.to_string()).or_default().push((id, status));
        let deadline = tokio::time::Instant::now() + ACK_BATCH_WINDOW;
        loop {
            tokio::select! {
                next = rx.recv() => match next {
                    Some((reply, id, status)) => {
                        let batch = batches.entry(reply.to_string()).or_default();
                        batch.push((id, status));
                        if batch.len() >= acks::MAX_ENTRIES {
                            let full = std::mem::take(batch);
                            flush(&client, reply, &full).await;
                        }
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        for (reply, batch) in batches.iter_mut() {
            if !batch.is_empty() {
                let entries = std::mem::take(batch);
                flush(&client, Subject::from(reply.as_str()), &entries).await;
            }
        }
        // Forget senders that went quiet so the map cannot grow forever.
        if batches.len() > 1024 {
            batches.clear();
        }
    }
}

async fn flush(client: &Client, reply: Subject, entries: &[(u64, AckStatus)]) {
    if let Err(e) = client.publish(reply, Bytes::from(acks::encode(entries))).await {
        tracing::warn!("cannot publish acks: {e}");
    }
}

/// Feed one component's invocations from NATS into its queue.
pub async fn run_receiver(
    lattice: Arc<Lattice>,
    mut sub: Subscriber,
    queue: mpsc::Sender<Inbound>,
    chaos: Arc<crate::chaos::Chaos>,
) {
    while let Some(msg) = sub.next().await {
        if chaos.is_down() {
            // A simulated outage: no ack, exactly as if the host were gone.
            continue;
        }
        lattice.receive(msg, &queue).await;
    }
}

/// Apply ack frames as they arrive.
pub async fn run_ack_listener(lattice: Arc<Lattice>, mut sub: Subscriber) {
    while let Some(msg) = sub.next().await {
        lattice.on_acks(&msg.payload).await;
    }
}

/// Retry and time out hops, a few times a second per hop timeout.
pub async fn run_sweeper(lattice: Arc<Lattice>) {
    let period = (lattice.policy.timeout / 10).clamp(Duration::from_millis(5), Duration::from_millis(50));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        lattice.sweep().await;
    }
}
