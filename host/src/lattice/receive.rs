//! Invocations in. A receiver takes what NATS has ready (a batch), decodes
//! each hop, lets the protocol decide (run it, ack a duplicate again, refuse
//! a fenced packet, or answer "overloaded"), publishes the `accepted` acks
//! — one frame per sender, with the batched acks waiting for that sender —
//! and only then queues the accepted hops. So no
//! hop can lead anywhere before its sender could know that it was taken.

use async_nats::{Message, Subject};
use bytes::Bytes;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

use super::protocol::{Peer, Verdict};
use super::{Inbound, Lattice};
use lwc_wire::acks::{AckStatus, ClockSample};
use lwc_wire::invocation::{Invocation, MAX_LEN};

impl Lattice {
    /// Take one batch of received invocations for `component`'s queue;
    /// `replicated`: hold each new hop for its sender's word.
    pub(super) async fn receive(&self, component: &str, replicated: bool, batch: &mut Vec<Message>, queue: &mpsc::Sender<Inbound>) {
        let recv_ns = lwc_wire::now_ns();
        let mut hops = Vec::with_capacity(batch.len());
        for msg in batch.drain(..) {
            match self.decode(msg, recv_ns) {
                Ok(hop) => hops.push(hop),
                Err((reply, why)) => self.reject_rpc(reply, &why).await,
            }
        }
        // One hop per sender is echoed back for the sender's clock estimate
        // (a batch has few senders: a list does).
        let mut echo: Vec<(Peer, u64)> = Vec::new();
        for hop in hops.iter().filter(|h| !h.held) {
            if !echo.iter().any(|(p, _)| *p == hop.sender) {
                echo.push((hop.sender.clone(), hop.sent_ns));
            }
        }
        let mut acts = Vec::new();
        let mut run = Vec::with_capacity(hops.len());
        {
            let mut inner = self.inner();
            let now = self.now();
            for hop in hops {
                // A reserved slot is the room the protocol is told about:
                // an accepted hop is never turned away afterwards. A held
                // one keeps its slot until its sender's word.
                let permit = if replicated { queue.clone().try_reserve_owned().ok().map(Slot::Owned) } else { queue.try_reserve().ok().map(Slot::Now) };
                match inner.proto.on_hop(now, &hop.sender, hop.key(), permit.is_some(), replicated, &mut acts) {
                    Verdict::Accept => run.push((permit, hop)),
                    Verdict::Held => {
                        if let Some(Slot::Owned(permit)) = permit {
                            self.held().insert(hop.inv.hop_id, (permit, hop));
                        }
                    }
                    Verdict::Duplicate => self.ledger.counters.reject("rpc-duplicate"),
                    Verdict::Refused => self.ledger.counters.reject("rpc-fenced"),
                    Verdict::Overloaded => {
                        self.ledger.counters.overloaded.fetch_add(1, Relaxed);
                    }
                }
            }
        }
        let clock = Echo {
            component,
            sent_ns: echo,
            recv_ns,
        };
        self.publish_accepted(&mut acts, clock).await;
        self.act(acts).await;
        // Now and then, let the connection's writer send those acks before
        // the workers we are about to wake take this thread for their
        // invocations: an `accepted` stuck behind an invocation delays the
        // sender and loosens its clock estimate of us (the way back looks
        // slower than the way there). The estimate needs a few such
        // round trips, not every one (see `now_and_then_let_writer_run`).
        super::now_and_then_let_writer_run().await;
        let accepted_at = Instant::now();
        for (permit, mut hop) in run {
            hop.accepted_at = accepted_at;
            match permit {
                Some(Slot::Now(permit)) => permit.send(hop),
                Some(Slot::Owned(permit)) => {
                    permit.send(hop);
                }
                None => {}
            }
        }
    }

    /// The sender committed a hop held here: queue it (its `accepted` went
    /// out first, in the same actions). It counts as received now: waiting
    /// for the word is the lattice's share of the hop, so its edge shows it.
    pub(super) fn run_held(&self, hop_id: u64) {
        if let Some((permit, mut hop)) = self.held().remove(&hop_id) {
            hop.accepted_at = Instant::now();
            hop.recv_ns = lwc_wire::now_ns();
            permit.send(hop);
        }
    }

    /// A held hop another replica runs (or nobody will): its slot freed.
    pub(super) fn discard_held(&self, hop_id: u64) {
        if self.held().remove(&hop_id).is_some() {
            self.ledger.counters.reject("rpc-superseded");
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<u64, (mpsc::OwnedPermit<Inbound>, Inbound)>> {
        // A panic elsewhere must not strand the held hops.
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publish the batch's `accepted` (and `held`) acks now, one frame per
    /// sender, and leave the other actions in order.
    async fn publish_accepted(&self, acts: &mut Vec<super::protocol::Action<Arc<super::SentHop>>>, echo: Echo<'_>) {
        use super::protocol::Action;
        let mut by_peer: HashMap<Peer, Vec<(u64, AckStatus)>> = HashMap::new();
        acts.retain(|a| match a {
            Action::AckNow { to, hop_id, status } => {
                by_peer.entry(to.clone()).or_default().push((*hop_id, *status));
                false
            }
            _ => true,
        });
        for (to, mut entries) in by_peer {
            // The `done`s waiting for this sender ride along: one frame, not two.
            entries.extend(self.acker.take_for(&to));
            let echoed = echo.sent_ns.iter().find(|(p, _)| *p == to).map(|&(_, sent_ns)| sent_ns);
            let mut sample = echoed.map(|sent_ns| ClockSample {
                host: Cow::Borrowed(&*self.me),
                component: Cow::Borrowed(echo.component),
                sent_ns,
                recv_ns: echo.recv_ns,
                ack_ns: 0,
            });
            for chunk in entries.chunks(lwc_wire::acks::MAX_ENTRIES) {
                // Stamped as late as possible: the time here is the peer's
                // to subtract, not to count as wire time.
                if let Some(s) = sample.as_mut() {
                    s.ack_ns = lwc_wire::now_ns();
                }
                let frame = lwc_wire::acks::encode_with(&self.me, chunk, sample.take().as_ref());
                super::acker::publish(&self.client, &self.name, &to, frame).await;
            }
        }
    }

    /// Check and decode one invocation; a bad one is answered on its reply
    /// subject (if it has one) with why.
    fn decode(&self, msg: Message, recv_ns: u64) -> Result<Inbound, (Option<Subject>, String)> {
        let reply = msg.reply;
        if msg.payload.len() > MAX_LEN {
            return Err((reply, "invocation body too large".into()));
        }
        let (inv, ctx) = Invocation::decode(&msg.payload).map_err(|e| (reply.clone(), e.to_string()))?;
        Ok(Inbound {
            accepted_at: Instant::now(),
            sender: Arc::from(ctx.sender.as_str()),
            caller: ctx.caller,
            sent_ns: ctx.sent_ns,
            offset_ns: ctx.offset_ns,
            held: ctx.held,
            age_ns: ctx.age_ns,
            trace: ctx.trace,
            traceparent: ctx.traceparent,
            recv_ns,
            inv,
        })
    }

    async fn reject_rpc(&self, reply: Option<Subject>, why: &str) {
        self.ledger.counters.reject("rpc");
        tracing::debug!("rejected invocation: {why}");
        // Our own hosts never send a bad frame; answer whoever did.
        if let Some(reply) = reply {
            let _ = self.client.publish(reply, Bytes::from(format!("error: {why}"))).await;
        }
    }
}

/// A reserved queue slot: borrowed for a hop queued in this batch, owned
/// for one held until its sender's word.
enum Slot<'a> {
    Now(mpsc::Permit<'a, Inbound>),
    Owned(mpsc::OwnedPermit<Inbound>),
}

/// What a batch's `accepted` acks echo for the senders' clock estimates.
struct Echo<'a> {
    component: &'a str,
    /// Per sender, the `sent_ns` of one of its hops in the batch.
    sent_ns: Vec<(Peer, u64)>,
    recv_ns: u64,
}

/// The component of `lwc.<l>.rpc.<component>.packet-looper.process`.
pub(super) fn component_of<'a>(lattice: &str, subject: &'a str) -> &'a str {
    subject
        .strip_prefix("lwc.")
        .and_then(|s| s.strip_prefix(lattice))
        .and_then(|s| s.strip_prefix(".rpc."))
        .and_then(|s| s.split('.').next())
        .unwrap_or("")
}
