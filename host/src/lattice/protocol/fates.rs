//! Fates through one witness, with no I/O inside.
//!
//! A fate published straight on the event stream is missed by every host
//! that is away from NATS at that instant. If the packet's sender and the
//! control host (the witness that answers for ended packets) both miss it,
//! and its host then dies, the sender asks, hears nothing, and declares the
//! packet lost: a second fate. So a host does not publish a fate itself: it
//! reports it to the witness ([`Outbox`]), which publishes the first report
//! of each packet and acks every report ([`Witness`]). At most one fate per
//! packet reaches the stream, whoever misses what; a report lost in an
//! outage is re-sent until acked. If its host dies first, the sender's loss
//! becomes the packet's one fate.
//!
//! A witness that stays silent while we are connected (the control host is
//! gone) must not keep fates off the stream for ever: after
//! [`Policy::finish_timeout`] of connected waiting, the report is published
//! directly.

use std::collections::{HashMap, HashSet, VecDeque};

use super::{Nanos, Policy};

/// What the shell must do with a fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FateAction<P> {
    /// Send the report to the witness (again, if re-sent).
    Report { packet: u64, payload: P },
    /// No witness answered: publish it on the stream ourselves.
    Publish { packet: u64, payload: P },
}

struct Pending<P> {
    payload: P,
    due: Nanos,
    tries: u32,
    /// Published directly if still unacked then (connected time only).
    give_up: Nanos,
}

/// A host's fates awaiting the witness's ack.
pub struct Outbox<P> {
    pending: HashMap<u64, Pending<P>>,
    connected: bool,
}

/// Reports kept at most; past this a fate goes straight to the stream (a
/// bound on memory while the witness is gone).
const OUTBOX_CAPACITY: usize = 1 << 16;

/// Re-sends wait `timeout`, doubling, at most this many doublings.
const MAX_DOUBLINGS: u32 = 3;

impl<P: Clone> Default for Outbox<P> {
    fn default() -> Self {
        Outbox {
            pending: HashMap::new(),
            connected: true,
        }
    }
}

impl<P: Clone> Outbox<P> {
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// A fate decided here. Sent even while NATS is away (the client keeps
    /// it), and re-sent until acked.
    pub fn report(&mut self, now: Nanos, policy: &Policy, packet: u64, payload: P, acts: &mut Vec<FateAction<P>>) {
        if self.pending.len() >= OUTBOX_CAPACITY && !self.pending.contains_key(&packet) {
            acts.push(FateAction::Publish { packet, payload });
            return;
        }
        let pending = Pending {
            payload: payload.clone(),
            due: now + policy.timeout,
            tries: 0,
            give_up: now + policy.finish_timeout,
        };
        self.pending.insert(packet, pending);
        acts.push(FateAction::Report { packet, payload });
    }

    /// The witness has the fate of `packet`.
    pub fn acked(&mut self, packet: u64) {
        self.pending.remove(&packet);
    }

    pub fn disconnected(&mut self) {
        self.connected = false;
    }

    /// Back on NATS: every unacked report again, with fresh clocks (the
    /// witness may have been away too).
    pub fn reconnected(&mut self, now: Nanos, policy: &Policy, acts: &mut Vec<FateAction<P>>) {
        self.connected = true;
        for (&packet, p) in &mut self.pending {
            p.due = now + policy.timeout;
            p.give_up = now + policy.finish_timeout;
            acts.push(FateAction::Report { packet, payload: p.payload.clone() });
        }
    }

    /// Re-send what is due; publish what waited too long.
    pub fn tick(&mut self, now: Nanos, policy: &Policy, acts: &mut Vec<FateAction<P>>) {
        if !self.connected {
            return;
        }
        let mut given_up = Vec::new();
        for (&packet, p) in &mut self.pending {
            if now >= p.give_up {
                given_up.push(packet);
            } else if now >= p.due {
                p.tries += 1;
                p.due = now + policy.timeout.saturating_mul(1 << p.tries.min(MAX_DOUBLINGS));
                acts.push(FateAction::Report { packet, payload: p.payload.clone() });
            }
        }
        for packet in given_up {
            if let Some(p) = self.pending.remove(&packet) {
                acts.push(FateAction::Publish { packet, payload: p.payload });
            }
        }
    }
}

/// The witness's memory of the fates it published (bounded: a report is
/// re-sent for seconds, not for a million fates).
#[derive(Default)]
pub struct Witness {
    published: HashSet<u64>,
    order: VecDeque<u64>,
}

const WITNESS_CAPACITY: usize = 1 << 20;

impl Witness {
    /// True the first time `packet`'s fate is reported: publish it.
    pub fn admit(&mut self, packet: u64) -> bool {
        if !self.published.insert(packet) {
            return false;
        }
        self.order.push_back(packet);
        if self.order.len() > WITNESS_CAPACITY {
            if let Some(old) = self.order.pop_front() {
                self.published.remove(&old);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Nanos = 1_000_000;

    fn reports(acts: &[FateAction<u8>]) -> usize {
        acts.iter().filter(|a| matches!(a, FateAction::Report { .. })).count()
    }

    #[test]
    fn a_report_is_resent_until_acked() {
        let policy = Policy::default();
        let mut out: Outbox<u8> = Outbox::default();
        let mut acts = Vec::new();
        out.report(0, &policy, 7, 1, &mut acts);
        assert_eq!(acts, vec![FateAction::Report { packet: 7, payload: 1 }]);
        acts.clear();
        out.tick(policy.timeout - 1, &policy, &mut acts);
        assert!(acts.is_empty());
        out.tick(policy.timeout, &policy, &mut acts);
        assert_eq!(reports(&acts), 1);
        out.acked(7);
        acts.clear();
        out.tick(10 * policy.timeout, &policy, &mut acts);
        assert!(acts.is_empty());
        assert_eq!(out.len(), 0);
    }

    #[test]
    fn an_outage_stops_the_clocks_and_the_reconnect_resends() {
        let policy = Policy::default();
        let mut out: Outbox<u8> = Outbox::default();
        let mut acts = Vec::new();
        out.report(0, &policy, 7, 1, &mut acts);
        out.disconnected();
        acts.clear();
        out.tick(60_000 * MS, &policy, &mut acts);
        assert!(acts.is_empty(), "nothing re-sent or given up while away");
        out.reconnected(60_000 * MS, &policy, &mut acts);
        assert_eq!(acts, vec![FateAction::Report { packet: 7, payload: 1 }]);
    }

    #[test]
    fn a_silent_witness_while_connected_means_publishing_directly() {
        let policy = Policy::default();
        let mut out: Outbox<u8> = Outbox::default();
        let mut acts = Vec::new();
        out.report(0, &policy, 7, 1, &mut acts);
        let mut t = 0;
        while t <= policy.finish_timeout {
            t += 20 * MS;
            out.tick(t, &policy, &mut acts);
        }
        assert!(reports(&acts) >= 4, "re-sent with backoff first: {acts:?}");
        assert_eq!(acts.last(), Some(&FateAction::Publish { packet: 7, payload: 1 }));
        assert_eq!(out.len(), 0);
    }

    #[test]
    fn the_witness_publishes_each_packet_once() {
        let mut w = Witness::default();
        assert!(w.admit(7));
        assert!(!w.admit(7));
        assert!(w.admit(8));
    }
}
