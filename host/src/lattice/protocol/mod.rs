//! The hop protocol as a state machine, with no I/O inside.
//!
//! One [`Protocol`] per host. The host's async shell feeds it events (a hop
//! sent, a hop received, an ack batch, a query, an answer, NATS gone or back,
//! a timer) with the time `now`, and carries out the [`Action`]s it returns:
//! publish this hop, ack that one, ask the lattice, report a loss. Because
//! nothing here touches the network or a clock, `sim` drives five of these
//! through seeded crash, outage, delay, duplicate and reorder schedules.
//!
//! The rules that make a false loss impossible, not merely rarer:
//!
//! 1. **Accepted before anything follows.** A receiver publishes a hop's
//!    `accepted` ack before it runs the hop, on the same connection as
//!    everything the hop leads to. A sender that stayed connected and never
//!    heard `accepted` knows the hop never ran, so a re-send (even to a
//!    restarted receiver) runs it once.
//! 2. **Done means the next holder has it.** A receiver acks `done` only once
//!    the packet's next hop was accepted by *its* receiver, or its fate was
//!    published here. Until then the sender keeps watching: a host that dies
//!    holding a packet is noticed by the host that gave it the packet.
//! 3. **Ask before declaring.** Before a sender reports a packet lost it asks
//!    the whole lattice "who has packet P at hop ≥ k?" ([`Action::Query`]).
//!    A host that has seen it, or knows its fate, answers; every other host
//!    *fences* the packet: it will refuse any later hop of it from k on. Only
//!    when nobody answers is the loss declared, and the fence becomes a
//!    tombstone ([`Action::Declare`]). A hop still on its way then runs
//!    nowhere, with no clock shared between hosts.
//! 4. **Outages pause the clocks.** While NATS is away nothing is given up;
//!    after the reconnect every pending hop is re-sent (duplicates run once)
//!    and every open query is asked again.
//! 5. **One witness publishes fates.** A host reports a packet's fate to the
//!    control host, which puts the first report of each packet on the
//!    stream ([`fates`]): a fate missed by hosts away from NATS can no
//!    longer be declared a second time.
//! 6. **A replica runs a hop only on its sender's word.** It holds the hop
//!    and acks `held`; the sender commits the first replica it hears from
//!    and aborts any other ([`replicas`]), so a re-send that a queue group
//!    hands to a second replica runs once.

pub mod fates;
mod fences;
mod incoming;
mod outgoing;
mod policy;
mod replicas;
#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use lwc_wire::acks::AckStatus;
use lwc_wire::census::Claims;
use lwc_wire::events::LostReason;
pub use lwc_wire::whohas::Answer;

use fences::Fences;
use incoming::Incoming;
use outgoing::Outgoing;
pub use policy::Policy;
use replicas::Holds;

/// Monotonic nanoseconds, from whatever origin the caller chose.
pub type Nanos = u64;

/// A host, as the protocol names its peers (acks and answers go to hosts).
pub type Peer = Arc<str>;

/// What identifies a hop to the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HopKey {
    /// Unique per sending host; re-sends keep it.
    pub hop_id: u64,
    pub packet: u64,
    /// Visits so far, including the one this hop asks for.
    pub hops: u32,
}

/// The hop a sent hop was caused by: who gave us the packet, and which hop
/// of theirs, so that its `done` can be sent once this hop is accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    pub peer: Peer,
    pub hop_id: u64,
}

/// What the receiving side should do with a hop that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// New: run it (its `accepted` ack is among the actions).
    Accept,
    /// Seen before: acked again, not run again.
    Duplicate,
    /// Fenced or tombstoned by a query: the packet's fate is being decided
    /// or was decided elsewhere. Not acked, not run.
    Refused,
    /// New, for a replicated component: kept (with its room) until its
    /// sender's word comes as [`Action::Run`] or [`Action::Discard`].
    Held,
    /// No room in the component's queue: answered `overloaded`.
    Overloaded,
}

/// What the shell must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<F> {
    /// Publish (or re-publish) a hop's frame to its target component.
    Publish { target: Arc<str>, frame: F },
    /// An ack that must not wait in a batch: `accepted` (publish it before
    /// anything the hop leads to), `held`, and a sender's `commit`/`abort`.
    AckNow { to: Peer, hop_id: u64, status: AckStatus },
    /// Run the held hop `hop_id` (its `accepted` is among the actions, before).
    Run { hop_id: u64 },
    /// Drop the held hop `hop_id`: another replica runs it, or nobody will.
    Discard { hop_id: u64 },
    /// Any other ack (`done`, `overloaded`): may wait in a batch.
    Ack { to: Peer, hop_id: u64, status: AckStatus },
    /// Ask every host who has `packet` at hop ≥ `hops`.
    Query { qid: u64, packet: u64, hops: u32 },
    /// Tell every host to drop the fence of query `qid`.
    Unfence { qid: u64, packet: u64 },
    /// Tell every host the packet is lost from hop `hops` on: a tombstone.
    Declare { qid: u64, packet: u64, hops: u32 },
    /// Answer a query.
    Answer { to: Peer, qid: u64, packet: u64, answer: Answer },
    /// Report the packet lost: publish its one `lost` event.
    Lost { frame: F, target: Arc<str>, visits: u32, reason: LostReason, detail: String },
}

/// Counts a host reports about its own protocol state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub awaiting_ack: u64,
    pub retries: u64,
    pub queries: u64,
    pub refused: u64,
    pub duplicates: u64,
    /// Hops held here for their senders' word (replicas).
    pub held: u64,
}

/// One host's half of the hop protocol (see the module docs).
pub struct Protocol<F> {
    me: Peer,
    policy: Policy,
    out: Outgoing<F>,
    inc: Incoming,
    holds: Holds,
    fences: Fences,
    connected: bool,
    /// Bumped on every disconnect: a query that spans one is asked again.
    epoch: u64,
    stats: Stats,
    /// `done`s owed for packets that ended here, sent once the witness has
    /// their fate (see [`fates`]).
    owed: HashMap<u64, Vec<Owed>>,
}

/// A `done` that waits for the witness.
#[derive(Debug, Clone)]
enum Owed {
    /// For a hop received here that ended here.
    Hop(u64),
    /// For the hop that gave us a packet we declared lost.
    Up(Upstream),
}

impl<F: Clone> Protocol<F> {
    /// `qid_base` seeds query ids (random in a host, seeded in the sim) so
    /// that ids from different hosts do not collide.
    pub fn new(me: Peer, policy: Policy, qid_base: u64) -> Protocol<F> {
        Protocol {
            me,
            policy,
            out: Outgoing::new(qid_base),
            inc: Incoming::default(),
            holds: Holds::default(),
            fences: Fences::default(),
            connected: true,
            epoch: 0,
            stats: Stats::default(),
            owed: HashMap::new(),
        }
    }

    pub fn me(&self) -> &Peer {
        &self.me
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Hops sent and still watched (not yet passed on by their receivers).
    pub fn watched(&self) -> usize {
        self.out.len()
    }

    pub fn stats(&self) -> Stats {
        Stats {
            awaiting_ack: self.out.len() as u64,
            held: self.holds.len() as u64,
            ..self.stats
        }
    }

    /// Send a new hop; it is tracked until the next holder has it.
    pub fn send(&mut self, now: Nanos, key: HopKey, target: Arc<str>, frame: F, upstream: Option<Upstream>, acts: &mut Vec<Action<F>>) {
        self.out.send(now, &self.policy, key, target, frame, upstream, self.connected, acts);
    }

    /// A hop arrived from `from`; `room` says whether its queue can take it,
    /// `replicated` whether other hosts run its component too.
    #[allow(clippy::too_many_arguments)]
    pub fn on_hop(&mut self, now: Nanos, from: &Peer, key: HopKey, room: bool, replicated: bool, acts: &mut Vec<Action<F>>) -> Verdict {
        if self.holds.contains(key.hop_id) {
            self.stats.duplicates += 1;
            acts.push(Action::AckNow { to: from.clone(), hop_id: key.hop_id, status: AckStatus::Held });
            return Verdict::Duplicate;
        }
        if let Some(status) = self.inc.status(key.hop_id) {
            self.stats.duplicates += 1;
            match status {
                incoming::Status::Accepted => acts.push(Action::AckNow { to: from.clone(), hop_id: key.hop_id, status: AckStatus::Accepted }),
                incoming::Status::Passed => acts.push(Action::Ack {
                    to: from.clone(),
                    hop_id: key.hop_id,
                    status: AckStatus::Done,
                }),
            }
            return Verdict::Duplicate;
        }
        if self.fences.refuses(now, key.packet, key.hops) {
            self.stats.refused += 1;
            return Verdict::Refused;
        }
        if !room {
            acts.push(Action::Ack {
                to: from.clone(),
                hop_id: key.hop_id,
                status: AckStatus::Overloaded,
            });
            return Verdict::Overloaded;
        }
        if replicated {
            self.hold(now, from, key, acts);
            return Verdict::Held;
        }
        self.inc.accept(now, from.clone(), key);
        acts.push(Action::AckNow { to: from.clone(), hop_id: key.hop_id, status: AckStatus::Accepted });
        Verdict::Accept
    }

    /// A received hop finished here. `ended`: its packet's fate was
    /// published here (expired or lost); otherwise it was forwarded, and its
    /// `done` waits for the forward to be accepted.
    pub fn settled(&mut self, now: Nanos, hop_id: u64, ended: bool, acts: &mut Vec<Action<F>>) {
        if !ended {
            return;
        }
        match self.inc.packet_of(hop_id) {
            Some(packet) if self.policy.witness && !self.inc.is_ended(packet) => {
                // Until the witness has the fate, we still hold the packet.
                self.owed.entry(packet).or_default().push(Owed::Hop(hop_id));
            }
            Some(packet) => {
                self.inc.ended(now, packet);
                self.pass_on(hop_id, acts);
            }
            None => self.pass_on(hop_id, acts),
        }
    }

    /// The witness has `packet`'s fate (its ack, or the fate seen on the
    /// stream): answer for it, and send the `done`s that waited for it.
    pub fn fate_seen(&mut self, now: Nanos, packet: u64, acts: &mut Vec<Action<F>>) {
        self.inc.ended(now, packet);
        for owed in self.owed.remove(&packet).unwrap_or_default() {
            match owed {
                Owed::Hop(hop_id) => self.pass_on(hop_id, acts),
                Owed::Up(up) => self.pass_on_upstream(up, acts),
            }
        }
    }

    /// The census (see `lwc_wire::census`): which of `packets` this host
    /// holds (received and not passed on, or sent and still watched), and
    /// which it knows ended.
    pub fn claims(&self, packets: &[u64]) -> Claims {
        let watched = self.out.packets();
        let mut claims = Claims::default();
        for &p in packets {
            match self.inc.holds(p) {
                Some(false) => claims.ended.push(p),
                Some(true) => claims.held.push(p),
                None if watched.contains(&p) => claims.held.push(p),
                None => {}
            }
        }
        claims
    }

    /// An ack frame arrived from host `from`: acks from the receivers of our
    /// hops, or a sender's word on hops we hold (replicas).
    pub fn on_acks(&mut self, now: Nanos, from: &Peer, entries: &[(u64, AckStatus)], acts: &mut Vec<Action<F>>) {
        for &(hop_id, status) in entries {
            if matches!(status, AckStatus::Commit | AckStatus::Abort) {
                self.on_word(now, from, hop_id, status == AckStatus::Commit, acts);
                continue;
            }
            let passed = self.out.on_ack(now, &self.policy, self.epoch, from, hop_id, status, acts);
            if let Some(up) = passed {
                self.pass_on_upstream(up, acts);
            }
        }
    }

    /// A query from `from` (ourselves included): answer, or fence.
    pub fn on_query(&mut self, now: Nanos, from: &Peer, qid: u64, packet: u64, hops: u32, acts: &mut Vec<Action<F>>) {
        let answer = if let Some(a) = self.inc.answer(packet, hops) {
            Some(a)
        } else if let Some(a) = self.held_answer(packet, hops) {
            Some(a)
        } else if self.fences.is_tombstone(now, packet) {
            Some(Answer::Tombstone)
        } else {
            let other = self.fences.fence(now, &self.policy, qid, packet, hops);
            other.then_some(Answer::Pending)
        };
        if let Some(answer) = answer {
            acts.push(Action::Answer { to: from.clone(), qid, packet, answer });
        }
    }

    pub fn on_unfence(&mut self, qid: u64, packet: u64) {
        self.fences.unfence(qid, packet);
    }

    pub fn on_declare(&mut self, now: Nanos, qid: u64, packet: u64, hops: u32) {
        self.fences.tombstone(now, &self.policy, qid, packet, hops);
    }

    /// An answer to one of our queries.
    pub fn on_answer(&mut self, now: Nanos, qid: u64, answer: Answer, acts: &mut Vec<Action<F>>) {
        if let Some(up) = self.out.on_answer(now, &self.policy, qid, answer, acts) {
            self.pass_on_upstream(up, acts);
        }
    }

    pub fn disconnected(&mut self) {
        self.connected = false;
        self.epoch += 1;
    }

    /// Back on NATS: re-send what is pending, ask open queries again.
    pub fn reconnected(&mut self, now: Nanos, acts: &mut Vec<Action<F>>) {
        self.connected = true;
        self.stats.retries += self.out.resume(now, &self.policy, acts);
    }

    /// Act on what is due: re-sends, queries, declared losses.
    pub fn tick(&mut self, now: Nanos, acts: &mut Vec<Action<F>>) {
        self.inc.forget_before(now.saturating_sub(self.policy.history));
        self.fences.expire(now);
        if !self.connected {
            return;
        }
        self.tick_holds(now, acts);
        let t = self.out.tick(now, &self.policy, self.epoch, acts);
        self.stats.retries += t.resent;
        self.stats.queries += t.queried;
        for (packet, hops, qid, upstream) in t.declared {
            // Our own fence becomes the tombstone; we answer for the fate
            // once the witness has it (at once without a witness).
            self.fences.tombstone(now, &self.policy, qid, packet, hops);
            acts.push(Action::Declare { qid, packet, hops });
            if self.policy.witness {
                if let Some(up) = upstream {
                    self.owed.entry(packet).or_default().push(Owed::Up(up));
                }
            } else {
                self.inc.ended(now, packet);
                if let Some(up) = upstream {
                    self.pass_on_upstream(up, acts);
                }
            }
        }
    }

    /// Tell the upstream sender of hop `hop_id` (received here) that the
    /// packet has moved past us.
    fn pass_on(&mut self, hop_id: u64, acts: &mut Vec<Action<F>>) {
        if let Some(from) = self.inc.pass(hop_id) {
            acts.push(Action::Ack { to: from, hop_id, status: AckStatus::Done });
        }
    }

    /// Our forward of a hop we received was taken (or its packet ended):
    /// `done` to whoever gave us that hop. Marked passed in our books too,
    /// so our answers to queries say so.
    fn pass_on_upstream(&mut self, up: Upstream, acts: &mut Vec<Action<F>>) {
        self.inc.pass(up.hop_id);
        acts.push(Action::Ack { to: up.peer, hop_id: up.hop_id, status: AckStatus::Done });
    }
}

/// Re-send waits, by re-send number: doubling, capped.
fn backoff(policy: &Policy, tries: u32) -> Nanos {
    policy.timeout.saturating_mul(1u64 << tries.min(20))
}

/// A deterministic jitter from a hop id (the sim must replay exactly).
fn jitter(hop_id: u64, span: Nanos) -> Nanos {
    let mut x = hop_id ^ 0x9e37_79b9_7f4a_7c15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    if span == 0 {
        0
    } else {
        x % span
    }
}

