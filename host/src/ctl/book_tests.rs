//! Unit tests of the ledger book and its census.

use super::*;
use lwc_wire::events::{Expired, Injected, Lost};

fn injected(packet: u64) -> PacketEvent {
    PacketEvent::Injected(Injected {
        packet,
        ttl: 1,
        chaos: 0,
        route: "default".into(),
        host: "control".into(),
        at_ns: 0,
        trace: false,
    })
}

fn expired(packet: u64) -> PacketEvent {
    PacketEvent::Expired(Expired {
        packet,
        route: "default".into(),
        hops: 2,
        lifetime_us: 1,
        host: "east".into(),
    })
}

fn lost(packet: u64) -> PacketEvent {
    PacketEvent::Lost(Lost {
        packet,
        route: "default".into(),
        hops: 1,
        at: "north".into(),
        reason: LostReason::Unreachable,
        host: "east".into(),
        detail: String::new(),
    })
}

#[test]
fn every_packet_ends_once_and_forgeries_change_nothing() {
    let mut book = Book::default();
    for p in 1..=3 {
        book.record(&injected(p));
    }
    book.record(&expired(1));
    book.record(&lost(2));
    assert_eq!((book.injected, book.expired, book.lost_total(), book.in_flight()), (3, 1, 1, 1));

    book.record(&expired(1)); // second fate
    book.record(&lost(1)); // conflicting fate
    book.record(&expired(99)); // never injected
    book.record(&injected(3)); // replayed injection
    assert_eq!((book.injected, book.expired, book.lost_total(), book.in_flight()), (3, 1, 1, 1));
    assert_eq!(book.rejected["fate-for-unknown-packet"], 3);
    assert_eq!(book.rejected["duplicate-injected"], 1);
    assert_eq!(book.injected, book.expired + book.lost_total() + book.in_flight());
}

#[test]
fn a_packet_unclaimed_round_after_round_is_orphaned_until_claimed_or_ended() {
    let mut book = Book::default();
    for p in 1..=4 {
        book.record(&injected(p));
    }
    let asked = book.census_candidates(0, 100);
    assert_eq!(asked.len(), 4);
    let claims = Claims { held: vec![1], ended: vec![2] };
    book.census_heard(&asked, &claims);
    assert_eq!(book.orphaned().count(), 0, "one silent round is not enough");
    book.census_heard(&asked, &claims);
    let mut orphans: Vec<u64> = book.orphaned().collect();
    orphans.sort_unstable();
    assert_eq!(orphans, vec![3, 4]);
    let json = book.to_json();
    assert_eq!((json["orphaned"].as_u64(), json["fate_unseen"].as_u64()), (Some(2), Some(1)));
    assert_eq!(json["orphaned_packets"], serde_json::json!([3, 4]));
    assert_eq!(json["in_flight"].as_u64(), Some(4), "orphans stay in the book");

    // Claimed again (its host was only away), or given its fate at last.
    book.census_heard(&[3], &Claims { held: vec![3], ended: vec![] });
    book.record(&expired(4));
    assert_eq!(book.orphaned().count(), 0);
    assert_eq!(book.injected, book.expired + book.lost_total() + book.in_flight());
}

#[test]
fn the_census_asks_the_unclaimed_first_and_only_old_packets() {
    let mut book = Book::default();
    for p in 1..=10 {
        book.record(&injected(p));
    }
    assert!(book.census_candidates(5, 100).is_empty(), "nothing is 5 s old yet");
    let first = book.census_candidates(0, 3);
    book.census_heard(&first, &Claims::default());
    let next = book.census_candidates(0, 5);
    assert_eq!(next.len(), 5);
    assert!(first.iter().all(|p| next.contains(p)), "{first:?} re-asked in {next:?}");
}
