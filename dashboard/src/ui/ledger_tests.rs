//! The ledger line: the control host's book while it is fresh, the hosts'
//! counters summed otherwise, saying which; orphaned and rejected packets.

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;
use std::collections::BTreeMap;

use super::*;
use crate::app::book::Book;
use crate::app::hosts::LedgerSource;
use crate::app::Update;
use crate::testing::*;

fn draw(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(f, app)).unwrap();
    t.backend().buffer().clone()
}

fn lines(buf: &Buffer) -> Vec<String> {
    let w = buf.area.width.max(1) as usize;
    buf.content.chunks(w).map(|row| row.iter().map(|c| c.symbol()).collect()).collect()
}

/// The row and column where `needle` is; the line itself.
fn find(buf: &Buffer, needle: &str) -> (u16, u16, String) {
    let all = lines(buf);
    for (y, l) in all.iter().enumerate() {
        if let Some(at) = l.find(needle) {
            return (l[..at].chars().count() as u16, y as u16, l.clone());
        }
    }
    panic!("no {needle:?} in:\n{}", all.join("\n"));
}

fn book(injected: u64, expired: u64, lost: &[(&str, u64)], in_flight: u64) -> Book {
    Book {
        injected,
        expired,
        lost: lost.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        in_flight,
        ..Default::default()
    }
}

/// `ring_app` (its hosts sum to 100 injected, 90 expired, 4 dropped and 2
/// unreachable lost, 4 in flight) with `b` arrived at `NOW`, seen at `now`.
fn with_book(b: Book, now: u64) -> App {
    let mut app = ring_app();
    app.apply(Update::Ledger(Box::new(b), NOW));
    app.tick(now);
    app
}

#[test]
fn a_fresh_book_wins_over_the_host_sums() {
    // The book saw one fewer loss (two hosts counted one packet) and one
    // more expiry than the counters have caught up with.
    let app = with_book(book(100, 91, &[("dropped", 4), ("unreachable", 1)], 4), NOW + 2 * S);
    assert_eq!(app.ledger().source, LedgerSource::Book);
    // Narrower, the source is said short.
    for (w, h, says) in [(160, 44, "(control host's book)"), (120, 36, "(book)"), (100, 30, "(book)")] {
        let buf = draw(&app, w, h);
        let (_, _, line) = find(&buf, "ledger injected");
        assert!(line.contains("injected 100  expired 91  lost 5  in flight 4"), "{w}x{h}: {line}");
        let (x, y, line) = find(&buf, says);
        assert!(line.contains("lost by reason: dropped 4 · unreachable 1"), "{w}x{h}: {line}");
        assert_eq!(buf[(x + 1, y)].fg, Color::DarkGray, "{line}");
    }
}

#[test]
fn a_stale_or_missing_book_falls_back_to_the_host_sums() {
    let none = ring_app();
    // Books come every second: one 3 s old is stale.
    let stale = with_book(book(500, 500, &[], 0), NOW + 3 * S);
    for (app, says) in [(&none, "(host sums: no book)"), (&stale, "(host sums: book 3s old)")] {
        assert!(matches!(app.ledger().source, LedgerSource::HostSums { .. }));
        let buf = draw(app, 160, 44);
        let (_, _, line) = find(&buf, "ledger injected");
        assert!(line.contains("injected 100  expired 90  lost 6  in flight 4"), "{line}");
        let (x, y, line) = find(&buf, says);
        assert!(line.contains("lost by reason: dropped 4 · unreachable 2"), "{line}");
        assert_eq!(buf[(x + 1, y)].fg, Color::Yellow, "{line}");
        let (_, _, line) = find(&draw(app, 120, 36), "lost by reason");
        assert!(line.contains("dropped 4 · unreachable 2  ") && line.contains(" (host sums)│"), "{line}");
    }
    // Where the reasons leave no room, they give way to the source.
    let mut app = ring_app();
    let lost: BTreeMap<String, u64> = (0..6).map(|i| (format!("reason-{i}"), 1)).collect();
    let c = lwc_wire::status::Counters {
        lost,
        ..Default::default()
    };
    app.apply(heartbeat("west", NOW + 1, c));
    app.tick(NOW);
    let (_, _, line) = find(&draw(&app, 120, 36), "lost by reason");
    assert!(line.contains("reason-0 1 · ") && line.ends_with(" (host sums)│"), "{line}");
}

#[test]
fn orphaned_and_rejected_show_in_warning_and_bad() {
    let mut b = book(100, 90, &[("dropped", 4)], 6);
    b.orphaned = 2;
    b.rejected = BTreeMap::from([("fate-for-unknown-packet".into(), 3), ("duplicate-injected".into(), 1)]);
    let app = with_book(b, NOW + S);
    let buf = draw(&app, 160, 44);
    let (_, _, line) = find(&buf, "ledger injected");
    assert!(line.contains("in flight 6  orphaned 2  rejected 4"), "{line}");
    let (x, y, _) = find(&buf, "orphaned 2");
    assert_eq!(buf[(x, y)].fg, Color::Yellow);
    let (x, y, _) = find(&buf, "rejected 4");
    assert_eq!(buf[(x, y)].fg, Color::Red);
    // Narrower, the words shorten rather than lose the tail.
    for (w, h) in [(120, 36), (100, 30)] {
        let buf = draw(&app, w, h);
        let (_, _, line) = find(&buf, "ledger inj");
        assert!(line.contains("inj 100 exp 90 lost 4 flying 6 orph 2 rej 4"), "{w}x{h}: {line}");
        let (x, y, _) = find(&buf, "orph 2");
        assert_eq!(buf[(x, y)].fg, Color::Yellow);
        let (x, y, _) = find(&buf, "rej 4");
        assert_eq!(buf[(x, y)].fg, Color::Red);
    }
    // Nothing of the kind: neither is shown.
    let buf = draw(&with_book(book(100, 90, &[("dropped", 4)], 6), NOW + S), 120, 36);
    let (_, _, line) = find(&buf, "ledger injected");
    assert!(!line.contains("orphaned") && !line.contains("rejected"), "{line}");
}
