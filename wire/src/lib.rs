//! What crosses the lattice, shared by `lwc-host`, `lwc-dash` and the tests.
//!
//! - [`subjects`]: the NATS subjects, all under `lwc.<lattice>.`
//! - [`invocation`]: the compact binary frame of one hop, and its headers
//! - [`acks`]: the batched acknowledgement frame a receiving host sends back
//! - [`census`]: the control host's "which of these packets do you hold?" (orphans)
//! - [`fates`]: fates reported to the control host, which publishes each once
//! - [`events`]: packet lifecycle events (JSON) and the ledger's loss reasons
//! - [`status`]: heartbeat and health JSON
//! - [`ctl`]: control-plane changes and state (JSON)
//! - [`telemetry`]: per-second histogram snapshots (latency, invocation, lifetime)
//! - [`whohas`]: the query a host makes before it declares a packet lost
//!
//! Nothing here trusts its input: every decoder returns an error, never panics.

pub mod acks;
pub mod census;
pub mod ctl;
pub mod events;
pub mod fates;
pub mod invocation;
pub mod status;
pub mod subjects;
pub mod telemetry;
pub mod whohas;

/// Wall-clock nanoseconds since the Unix epoch; 0 if the clock is before it.
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Deterministic garbage for the decoders' never-panic tests.
#[cfg(test)]
pub(crate) fn garbage(len: usize, seed: &mut u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            (*seed & 0xff) as u8
        })
        .collect()
}
