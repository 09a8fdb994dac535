//! The protocol's timeouts and retry counts.

use super::Nanos;

/// Timeouts and retry counts, all in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Wait this long for the first ack; each re-send waits twice as long.
    pub timeout: Nanos,
    /// Re-sends after a missing ack before the lattice is asked.
    pub retries: u32,
    /// "Overloaded" answers before the lattice is asked.
    pub overload_retries: u32,
    /// After `accepted`, how long the receiver has to pass the packet on.
    pub finish_timeout: Nanos,
    /// How long a query collects answers before the loss is declared.
    pub query_window: Nanos,
    /// How long a host keeps a fence for a query that was never resolved
    /// (its asker died): long past any answer, short enough to heal.
    pub fence_ttl: Nanos,
    /// How long tombstones and received hops are remembered.
    pub history: Nanos,
    /// Fates go through the witness ([`super::fates`]): a packet that ended here is
    /// passed on (`done`, "ended" answers) only once the witness has its fate.
    pub witness: bool,
}

impl Policy {
    /// How long an unacked hop waits, in all, before the lattice is asked.
    pub fn give_up_after(&self) -> Nanos {
        self.timeout.saturating_mul((1u64 << (self.retries + 1).min(40)) - 1)
    }
}

impl Default for Policy {
    fn default() -> Self {
        const MS: u64 = 1_000_000;
        Policy {
            timeout: 500 * MS,
            retries: 2,
            overload_retries: 8,
            finish_timeout: 6_000 * MS,
            query_window: 300 * MS,
            fence_ttl: 10_000 * MS,
            history: 120_000 * MS,
            witness: true,
        }
    }
}
