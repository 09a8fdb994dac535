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

/// Wall-clock nanoseconds since the Unix epoch, moved by the test shift
/// ([`shift_clock_ms`]); 0 if the clock is before the epoch.
pub fn now_ns() -> u64 {
    let ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    ns.saturating_add_signed(CLOCK_SHIFT_NS.load(std::sync::atomic::Ordering::Relaxed))
}

/// For tests: added to every [`now_ns`] of this process.
static CLOCK_SHIFT_NS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// For tests: make this process's wall clock (every [`now_ns`]) run `ms`
/// milliseconds ahead (or behind, when negative), as a machine whose clock
/// is off would. Used by `lwc-host --test-clock-shift-ms`.
pub fn shift_clock_ms(ms: i64) {
    CLOCK_SHIFT_NS.store(ms.saturating_mul(1_000_000), std::sync::atomic::Ordering::Relaxed);
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
