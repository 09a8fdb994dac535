//! What a hop is to the shell: the hop a component hands over ([`OutHop`]),
//! the same hop as the protocol tracks it until the next holder has it
//! ([`SentHop`]), and a hop received for a component here ([`Inbound`]).

use async_nats::Subject;
use bytes::Bytes;
use std::sync::Arc;
use std::time::Instant;

use super::protocol::{HopKey, Peer, Upstream};
use lwc_wire::invocation::Invocation;

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
    /// The packet's age at `sent_ns`.
    pub age_ns: u64,
    /// Held back after `sent_ns` (chaos delay): see [`Context::held`](lwc_wire::invocation::Context).
    pub held: bool,
}

/// How old a packet is, anchored at one instant: `age_ns` old at the
/// wall-clock nanosecond `at_ns`. A lifetime is summed hop by hop from these
/// rather than read as "now minus the injection time", so only each hop's
/// own edge depends on two hosts' clocks (the part a clock-offset estimate
/// can correct), never the whole path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Age {
    pub age_ns: u64,
    pub at_ns: u64,
}

impl Age {
    /// A packet born at `at_ns`.
    pub fn born(at_ns: u64) -> Age {
        Age { age_ns: 0, at_ns }
    }

    /// Its age at `now_ns` (never less than the anchored age).
    pub fn at(&self, now_ns: u64) -> u64 {
        self.age_ns.saturating_add(now_ns.saturating_sub(self.at_ns))
    }
}

/// A hop as sent, kept by the protocol for re-sends and for reporting a
/// loss. Shared: the protocol clones it into every action that names it.
#[derive(Debug)]
pub struct SentHop {
    pub hop: OutHop,
    pub subject: Subject,
    pub payload: Bytes,
}

impl SentHop {
    pub fn key(&self) -> HopKey {
        HopKey {
            hop_id: self.hop.inv.hop_id,
            packet: self.hop.inv.packet,
            hops: self.hop.inv.hops,
        }
    }
}

/// One hop received for a component on this host.
#[derive(Debug)]
pub struct Inbound {
    pub inv: Invocation,
    /// The host that sent it: its acks go there.
    pub sender: Peer,
    pub caller: String,
    pub sent_ns: u64,
    /// The sender's estimate of our clock minus its own.
    pub offset_ns: i64,
    /// Held back before it was published: no clock sample from it.
    pub held: bool,
    /// The packet's age when the sender handed the hop over.
    pub age_ns: u64,
    pub recv_ns: u64,
    /// When it was accepted into the queue, to bound its wait there.
    pub accepted_at: Instant,
    pub trace: bool,
    pub traceparent: Option<String>,
}

impl Inbound {
    /// The packet's age as this host reckons it: the sender's age at send
    /// plus the edge latency, then this host's own clock from arrival.
    pub fn age(&self) -> Age {
        Age {
            age_ns: self.age_ns.saturating_add(self.edge_ns()),
            at_ns: self.recv_ns,
        }
    }

    /// The edge latency: arrival here minus the send time, the send time
    /// moved onto our clock by the sender's offset estimate (0 if the
    /// estimate overshoots).
    pub fn edge_ns(&self) -> u64 {
        self.recv_ns.saturating_sub(self.sent_here_ns())
    }

    /// The send time on our clock, as well as the sender could tell.
    pub fn sent_here_ns(&self) -> u64 {
        self.sent_ns.saturating_add_signed(self.offset_ns)
    }

    /// What a hop this one leads to owes back: `done` to our sender once
    /// the next holder has the packet.
    pub fn upstream(&self) -> Upstream {
        Upstream {
            peer: self.sender.clone(),
            hop_id: self.inv.hop_id,
        }
    }

    pub fn key(&self) -> HopKey {
        HopKey {
            hop_id: self.inv.hop_id,
            packet: self.inv.packet,
            hops: self.inv.hops,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_sums_the_senders_age_the_edge_and_the_time_here() {
        let hop = Inbound {
            inv: Invocation {
                packet: 1,
                ttl: 3,
                chaos: 0,
                hops: 2,
                gen: 0,
                hop_id: 9,
                route: "default".into(),
            },
            sender: Arc::from("north"),
            caller: "north".into(),
            sent_ns: 10_000,
            offset_ns: 0,
            held: false,
            age_ns: 4_000,
            recv_ns: 10_500,
            accepted_at: Instant::now(),
            trace: false,
            traceparent: None,
        };
        assert_eq!(hop.age(), Age { age_ns: 4_500, at_ns: 10_500 });
        assert_eq!(hop.age().at(11_000), 5_000);
        // A clock that steps back never makes a packet younger.
        assert_eq!(hop.age().at(9_000), 4_500);
        assert_eq!(Age::born(7).at(7), 0);
    }
}
