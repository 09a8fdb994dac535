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
    pub recv_ns: u64,
    /// When it was accepted into the queue, to bound its wait there.
    pub accepted_at: Instant,
    pub trace: bool,
    pub traceparent: Option<String>,
}

impl Inbound {
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
