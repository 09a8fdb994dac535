use super::*;
use crate::app::hosts::LedgerSource;
use crate::testing::*;

/// A `Tx` into a channel of its own, and the channel's end.
fn tx() -> (Tx, std::sync::mpsc::Receiver<Update>) {
    let (tx, rx) = std::sync::mpsc::sync_channel(16);
    let shared = Arc::new(Shared::default());
    (Tx { tx, shared }, rx)
}

const SUBJECT: &str = "lwc.default.ledger";

/// As the control host writes it (host/src/ctl/book.rs `to_json`).
const BOOK: &str = r#"{"injected":1200,"expired":1190,"lost":{"dropped":3},"lost_total":3,"in_flight":7,
 "orphaned":2,"orphaned_packets":[11,12],"fate_unseen":0,"rejected":{"fate-for-unknown-packet":5}}"#;

#[test]
fn a_book_goes_to_the_app() {
    let (tx, rx) = tx();
    assert!(deliver(&tx, Kind::Ledger, SUBJECT, BOOK.as_bytes()));
    let Ok(Update::Ledger(book, _)) = rx.try_recv() else { panic!("no ledger update") };
    assert_eq!((book.injected, book.expired, book.in_flight, book.orphaned), (1200, 1190, 7, 2));
    assert_eq!(book.lost["dropped"], 3);
    assert_eq!(book.rejected["fate-for-unknown-packet"], 5);
    assert_eq!(tx.shared.stats().garbage(), 0);
    // Fields later books added may be missing.
    let old = br#"{"injected":3,"expired":1,"lost":{},"in_flight":2}"#;
    assert!(deliver(&tx, Kind::Ledger, SUBJECT, old));
    assert!(matches!(rx.try_recv(), Ok(Update::Ledger(b, _)) if b.in_flight == 2 && b.orphaned == 0));
}

#[test]
fn a_malformed_book_is_counted_and_changes_nothing() {
    let mut app = ring_app();
    let (tx, rx) = tx();
    assert!(deliver(&tx, Kind::Ledger, SUBJECT, BOOK.as_bytes()));
    for u in rx.try_iter() {
        app.apply(u);
    }
    app.tick(NOW + 1);
    let before = app.ledger();
    assert_eq!((before.source, before.injected), (LedgerSource::Book, 1200));

    let big = format!(r#"{{"injected":1,"expired":0,"lost":{{}},"in_flight":1,"pad":"{}"}}"#, "x".repeat(MAX_JSON));
    let bad: [&[u8]; 9] = [
        b"",
        b"not json",
        b"[1,2,3]",
        // A field missing; a number that is not a count.
        br#"{"injected":5,"expired":1,"lost":{}}"#,
        br#"{"injected":-5,"expired":1,"lost":{},"in_flight":0}"#,
        // More fates and flights than injections; orphans not in flight.
        br#"{"injected":5,"expired":4,"lost":{"dropped":2},"in_flight":0}"#,
        br#"{"injected":5,"expired":1,"lost":{},"in_flight":1,"orphaned":2}"#,
        // A total that is not the sum; a reason that is not a name.
        br#"{"injected":5,"expired":1,"lost":{"dropped":2},"lost_total":1,"in_flight":0}"#,
        br#"{"injected":5,"expired":1,"lost":{"\u001b[2J":2},"in_flight":0}"#,
    ];
    for (i, payload) in bad.iter().chain([&big.as_bytes()]).enumerate() {
        assert!(deliver(&tx, Kind::Ledger, SUBJECT, payload));
        assert_eq!(tx.shared.stats().garbage_ledger, i as u64 + 1, "{}", String::from_utf8_lossy(payload));
    }
    assert_eq!(tx.shared.stats().garbage(), bad.len() as u64 + 1);
    assert!(rx.try_recv().is_err(), "garbage reached the app");
    app.feed = tx.shared.stats();
    app.tick(NOW + 2);
    assert_eq!(app.ledger(), before);
}
