use super::*;

fn counters(injected: u64, expired: u64, lost: &[(&str, u64)]) -> Counters {
    Counters {
        injected,
        expired,
        invocations: injected + expired,
        lost: lost.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        ..Default::default()
    }
}

#[test]
fn ledger_arithmetic() {
    let mut control = HostView::default();
    control.set_counters(1, counters(100, 0, &[]));
    let mut north = HostView::default();
    north.set_counters(1, counters(0, 60, &[("dropped", 5)]));
    let mut east = HostView::default();
    east.set_counters(1, counters(0, 25, &[("unreachable", 3), ("trap-before-forward", 2)]));
    let l = Ledger::of([&control, &north, &east].into_iter());
    assert_eq!((l.injected, l.expired, l.lost_total()), (100, 85, 10));
    assert_eq!(l.in_flight(), 5);
    assert_eq!(l.lost["dropped"], 5);
    // Skew between hosts never shows a negative count.
    let mut late = HostView::default();
    late.set_counters(1, counters(0, 200, &[]));
    assert_eq!(Ledger::of([&control, &late].into_iter()).in_flight(), 0);
}

#[test]
fn restarts_carry_counters_and_old_news_is_ignored() {
    let mut h = HostView::default();
    h.set_counters(10, counters(0, 50, &[("dropped", 4)]));
    h.set_counters(5, counters(0, 1, &[])); // older than what we have
    assert_eq!(h.total().expired, 50);
    h.set_counters(20, counters(0, 3, &[])); // the process restarted
    assert_eq!((h.total().expired, h.restarts), (53, 1));
    assert_eq!(h.failures().dropped, 4);
    h.set_counters(30, counters(0, 10, &[("dropped", 1)]));
    assert_eq!((h.total().expired, h.failures().dropped), (60, 5));
}

#[test]
fn failures_by_kind_and_rate() {
    let mut h = HostView::default();
    let mut c = counters(
        0,
        0,
        &[("dropped", 1), ("no-link", 2), ("unreachable", 3), ("trap-before-forward", 4)],
    );
    c.trap = 4;
    c.timeout = 5;
    c.overloaded = 6;
    h.set_counters(1_000_000_000, c.clone());
    let f = h.failures();
    assert_eq!((f.trap, f.timeout, f.dropped, f.unreachable, f.overloaded, f.other_lost), (4, 5, 1, 3, 6, 2));
    assert_eq!(f.total(), 21);
    c.trap += 10;
    h.set_counters(1_500_000_000, c.clone());
    assert_eq!(h.err_rate, 0.0, "measured over a second at least");
    h.set_counters(3_000_000_000, c);
    assert!((h.err_rate - 5.0).abs() < 1e-9);
}

#[test]
fn status_from_heartbeats() {
    let mut h = HostView::default();
    assert_eq!(h.status(10), Status::Unknown);
    h.seen_ns = 1_000;
    h.heartbeat = Some(Heartbeat::default());
    assert_eq!(h.status(2_000), Status::Up);
    h.heartbeat.as_mut().unwrap().down = true;
    assert_eq!(h.status(2_000), Status::Down);
    assert_eq!(h.status(1_000 + STALE_NS + 1), Status::Gone);
}
