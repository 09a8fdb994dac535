//! Replicas: a hop to a replicated component runs on one replica, once.
//!
//! A queue group hands each publish to one replica, but a re-send may find
//! another: the first replica may have taken the hop while cut off from
//! NATS (its `accepted` waiting in its client), or its `accepted` may have
//! been lost. So a replica does not run a hop when it takes it: it *holds*
//! it and acks `held`. The sender commits the first replica it hears from,
//! and only that one; every other holder is told `abort`. The replica runs
//! the hop on `commit`, acking `accepted` first as any receiver does, so
//! rules 1 and 2 of the protocol hold from there on.
//!
//! ```text
//!   replica:  hop ──▶ Held ──commit──▶ accepted, run
//!                      │ ──abort / no word for `fence_ttl`──▶ dropped
//!   sender:   first `held` from R ──▶ commit R (for good); any other ──▶ abort
//! ```
//!
//! A sender never moves its commit to another replica: the committed one
//! may have run the hop with its `accepted` lost. If it goes silent, the
//! sender asks the lattice as for any receiver, and a dead replica loses
//! only what it held. A held hop answers queries "pending": the packet is
//! not lost while its sender may still commit it.

use std::collections::HashMap;

use lwc_wire::acks::AckStatus;
use lwc_wire::whohas::Answer;

use super::{Action, HopKey, Nanos, Peer, Protocol};

/// A hop this replica took and has not been told to run.
pub struct Hold {
    from: Peer,
    key: HopKey,
    since: Nanos,
    acked_at: Nanos,
}

/// The hops held here, by hop id.
#[derive(Default)]
pub struct Holds {
    map: HashMap<u64, Hold>,
}

impl Holds {
    pub fn contains(&self, hop_id: u64) -> bool {
        self.map.contains_key(&hop_id)
    }

    /// Whether a hop of `packet` at hop ≥ `hops` is held here.
    pub fn holds_packet(&self, packet: u64, hops: u32) -> bool {
        self.map.values().any(|h| h.key.packet == packet && h.key.hops >= hops)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
}

impl<F: Clone> Protocol<F> {
    /// Take a hop for a replicated component: hold it, ack `held`.
    pub(super) fn hold(&mut self, now: Nanos, from: &Peer, key: HopKey, acts: &mut Vec<Action<F>>) {
        let hold = Hold {
            from: from.clone(),
            key,
            since: now,
            acked_at: now,
        };
        self.holds.map.insert(key.hop_id, hold);
        acts.push(Action::AckNow { to: from.clone(), hop_id: key.hop_id, status: AckStatus::Held });
    }

    /// The sender's word on a hop held here (`commit` or `abort`).
    pub(super) fn on_word(&mut self, now: Nanos, from: &Peer, hop_id: u64, commit: bool, acts: &mut Vec<Action<F>>) {
        let Some(hold) = self.holds.map.remove(&hop_id) else {
            if commit {
                // Committed before, and its `accepted` lost: say it again.
                self.re_ack(from, hop_id, acts);
            }
            return;
        };
        if !commit || self.fences.refuses(now, hold.key.packet, hold.key.hops) {
            acts.push(Action::Discard { hop_id });
            return;
        }
        self.inc.accept(now, hold.from.clone(), hold.key);
        acts.push(Action::AckNow { to: hold.from, hop_id, status: AckStatus::Accepted });
        acts.push(Action::Run { hop_id });
    }

    fn re_ack(&mut self, from: &Peer, hop_id: u64, acts: &mut Vec<Action<F>>) {
        match self.inc.status(hop_id) {
            Some(super::incoming::Status::Accepted) => {
                acts.push(Action::AckNow { to: from.clone(), hop_id, status: AckStatus::Accepted });
            }
            Some(super::incoming::Status::Passed) => {
                acts.push(Action::Ack { to: from.clone(), hop_id, status: AckStatus::Done });
            }
            None => {}
        }
    }

    /// Held hops: `held` again to a sender that has not answered (its word
    /// or our ack may have been lost), dropped after `fence_ttl` of silence.
    pub(super) fn tick_holds(&mut self, now: Nanos, acts: &mut Vec<Action<F>>) {
        let (again, give_up) = (self.policy.timeout, self.policy.fence_ttl);
        let mut dropped = Vec::new();
        for (&hop_id, h) in self.holds.map.iter_mut() {
            if now.saturating_sub(h.since) >= give_up {
                dropped.push(hop_id);
            } else if now.saturating_sub(h.acked_at) >= again {
                h.acked_at = now;
                acts.push(Action::AckNow { to: h.from.clone(), hop_id, status: AckStatus::Held });
            }
        }
        for hop_id in dropped {
            self.holds.map.remove(&hop_id);
            acts.push(Action::Discard { hop_id });
        }
    }

    /// What a held hop says to a query about its packet.
    pub(super) fn held_answer(&self, packet: u64, hops: u32) -> Option<Answer> {
        self.holds.holds_packet(packet, hops).then_some(Answer::Pending)
    }
}
