//! The control host's book: the lattice-wide ledger it publishes every
//! second on `lwc.<l>.ledger` (every packet in flight from `injected` until
//! exactly one fate). The ring's true account; the sum of the hosts'
//! counters is only a stand-in while no fresh book is at hand.
//!
//! The JSON type is defined here (the dashboard does not depend on the
//! host crate); fields newer than the first books are defaulted.

use serde::Deserialize;
use std::collections::BTreeMap;

use super::hosts::{Ledger, LedgerSource};

/// A book older than this is stale (one comes every second): the ledger
/// falls back to the hosts' counters.
pub const FRESH_NS: u64 = 3_000_000_000;

/// Largest book read; the control host lists at most 8 orphans.
const MAX_LEN: usize = 64 * 1024;

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Book {
    pub injected: u64,
    pub expired: u64,
    /// Losses by reason.
    pub lost: BTreeMap<String, u64>,
    #[serde(default)]
    pub lost_total: Option<u64>,
    pub in_flight: u64,
    /// Packets in flight that nobody claims any more (holder and sender
    /// died together): no fate will come.
    #[serde(default)]
    pub orphaned: u64,
    #[serde(default)]
    pub orphaned_packets: Vec<u64>,
    #[serde(default)]
    pub fate_unseen: u64,
    /// Events that did not fit the book (a second fate, …), by why.
    #[serde(default)]
    pub rejected: BTreeMap<String, u64>,
}

impl Book {
    /// Whether the numbers can be one book's: every tracked packet has at
    /// most one fate, so fates and flights never exceed injections
    /// (untracked injections may make them fewer).
    fn consistent(&self) -> bool {
        let lost = self.lost.values().try_fold(0u64, |a, v| a.checked_add(*v));
        let Some(lost) = lost else { return false };
        let accounted = self.expired.checked_add(lost).and_then(|a| a.checked_add(self.in_flight));
        let names_ok = self
            .lost
            .keys()
            .chain(self.rejected.keys())
            .all(|k| lwc_wire::subjects::is_valid_token(k));
        accounted.is_some_and(|a| a <= self.injected)
            && self.lost_total.is_none_or(|t| t == lost)
            && self.orphaned <= self.in_flight
            && self.rejected.values().try_fold(0u64, |a, v| a.checked_add(*v)).is_some()
            && names_ok
    }

    /// The ledger as this book tells it.
    pub fn ledger(&self) -> Ledger {
        Ledger {
            injected: self.injected,
            expired: self.expired,
            lost: self.lost.clone(),
            book_in_flight: Some(self.in_flight),
            orphaned: self.orphaned,
            rejected: self.rejected.values().sum(),
            source: LedgerSource::Book,
        }
    }
}

/// A book, or `None` for anything that is not one (not JSON, a field
/// missing, numbers no book can hold, names that are not tokens).
pub fn decode(buf: &[u8]) -> Option<Book> {
    if buf.len() > MAX_LEN {
        return None;
    }
    serde_json::from_slice::<Book>(buf).ok().filter(Book::consistent)
}
