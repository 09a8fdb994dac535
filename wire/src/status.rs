//! Host heartbeat and health JSON.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Published every second on `lwc.<l>.hosts.<host>.heartbeat`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub host: String,
    pub at_ns: u64,
    pub uptime_s: u64,
    pub components: Vec<String>,
    /// Whether the NATS connection is up (always true when received).
    pub connected: bool,
    /// Simulated outage (`down_s`) in force.
    #[serde(default)]
    pub down: bool,
    pub counters: Counters,
    /// Hops sent but not yet acknowledged.
    pub awaiting_ack: u64,
    /// This host's estimate of each peer's clock, by peer host name: the
    /// peers it sends hops to and has had acks from (older hosts send none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub clocks: BTreeMap<String, PeerClock>,
}

/// One peer's wall clock as a host estimates it, NTP-style, from the round
/// trips of its hops and their acks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerClock {
    /// The peer's clock minus this host's, in µs.
    pub offset_us: i64,
    /// The true offset is within `offset_us ± uncertainty_us`.
    pub uncertainty_us: u64,
    /// Round trips taken so far.
    pub samples: u64,
}

/// Monotonic counters since the host started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// Invocations run (all outcomes).
    pub invocations: u64,
    pub ok: u64,
    /// Guest traps (packet chaos, host chaos, guest bugs).
    pub trap: u64,
    /// Guests stopped by the epoch deadline.
    pub timeout: u64,
    /// Hops refused because a component was over its cap and queue.
    pub overloaded: u64,
    /// Hops sent on the lattice (including retries).
    pub hops_sent: u64,
    /// Hops re-sent after a missing or negative ack.
    pub retries: u64,
    /// Packets injected on this host.
    pub injected: u64,
    /// Packets that expired (were delivered) on this host.
    pub expired: u64,
    /// Packets this host reported lost, by reason.
    pub lost: BTreeMap<String, u64>,
    /// Malformed or unexpected lattice messages, by subject kind.
    pub rejected: BTreeMap<String, u64>,
    /// Slow-consumer events from the NATS client (messages dropped locally).
    pub slow_consumer: u64,
}

/// Reply on `lwc.<l>.hosts.<host>.health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    pub healthy: bool,
    pub message: String,
}
