use super::*;
use crate::node::testing;
use lwc_wire::ctl::ChaosWire;

fn inv(packet: u64, ttl: u64) -> Invocation {
    Invocation {
        packet,
        ttl,
        chaos: 0,
        hops: 3,
        gen: 0,
        hop_id: 0,
        route: "default".into(),
    }
}

fn fwd<'a>(from: &'a Arc<str>, link: &'a str, inv: Invocation) -> Forward<'a> {
    Forward {
        from,
        link,
        inv,
        trace: false,
        traceparent: None,
        upstream: None,
        age: Age::born(lwc_wire::now_ns()),
    }
}

#[test]
fn reserved_ranges_follow_the_clock_and_never_overlap() {
    let last = AtomicU64::new(0);
    // The clock moves on: a range starts at it.
    assert_eq!(reserve_ids(&last, || 1_000, 3), 1_000);
    // The clock stood still (or went back): past the last range instead.
    assert_eq!(reserve_ids(&last, || 1_000, 2), 1_003);
    assert_eq!(reserve_ids(&last, || 5, 1), 1_005);
    // Zero ids is one id: a caller always gets an id it may use.
    assert_eq!(reserve_ids(&last, || 5, 0), 1_006);
    assert_eq!(reserve_ids(&last, || 5, 1), 1_007);
}

#[test]
fn concurrent_reservations_get_disjoint_ranges() {
    let last = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let last = last.clone();
            std::thread::spawn(move || (0..500).map(|_| reserve_ids(&last, || 42, 10)).collect::<Vec<_>>())
        })
        .collect();
    let mut firsts: Vec<u64> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    firsts.sort_unstable();
    assert_eq!(firsts.len(), 2_000);
    for pair in firsts.windows(2) {
        assert!(pair[1] >= pair[0] + 10, "ranges overlap: {pair:?}");
    }
}

#[tokio::test]
async fn node_ids_are_unique_and_near_the_wall_clock() {
    let node = testing::node("control").await;
    let before = lwc_wire::now_ns();
    let a = node.reserve_packet_ids(100);
    let b = node.reserve_packet_ids(1);
    assert!(a >= before, "ids are wall-clock nanoseconds");
    assert!(b >= a + 100, "{b} is inside the range starting at {a}");
}

#[tokio::test]
async fn a_missing_link_loses_the_packet_and_says_which() {
    let node = testing::node("east").await;
    let east: Arc<str> = Arc::from("east");
    let lost = node.forward(fwd(&east, "nosuch", inv(7, 4))).await;
    let (reason, detail) = lost.expect("no link named nosuch");
    assert_eq!(reason, LostReason::NoLink);
    assert_eq!(detail, r#"east has no link named "nosuch""#);
    let counters = &node.ledger().counters;
    assert_eq!(counters.lost(LostReason::NoLink), 1);
    assert_eq!(counters.hops_sent.load(Ordering::Relaxed), 0);
    assert_eq!(node.lattice.awaiting_ack(), 0);
}

#[tokio::test]
async fn a_chaos_drop_loses_the_packet_on_its_resolved_edge() {
    let node = testing::node("east").await;
    node.chaos.apply(ChaosWire {
        drop: 100,
        ..Default::default()
    });
    let east: Arc<str> = Arc::from("east");
    let (reason, detail) = node.forward(fwd(&east, "special", inv(7, 4))).await.expect("dropped");
    assert_eq!(reason, LostReason::Dropped);
    assert_eq!(detail, "chaos drop on east (east→west)");
    assert_eq!(node.ledger().counters.lost(LostReason::Dropped), 1);
    assert_eq!(node.lattice.awaiting_ack(), 0);
}

#[tokio::test]
async fn a_resolved_link_sends_the_hop_and_waits_for_its_ack() {
    let node = testing::node("east").await;
    let east: Arc<str> = Arc::from("east");
    assert!(node.forward(fwd(&east, "default", inv(7, 4))).await.is_none());
    assert!(node.forward(fwd(&east, "special", inv(8, 4))).await.is_none());
    let counters = &node.ledger().counters;
    assert_eq!(counters.hops_sent.load(Ordering::Relaxed), 2);
    assert_eq!(node.lattice.awaiting_ack(), 2);
    assert!(LostReason::ALL.iter().all(|r| counters.lost(*r) == 0));
}

#[tokio::test]
async fn injecting_counts_the_packet_then_forwards_it() {
    let node = testing::node("control").await;
    let control: Arc<str> = Arc::from("control");
    node.inject(&control, "default", inv(9, 10), false, None).await;
    // control has no `special` link: injected, then lost, never silently gone.
    node.inject(&control, "special", inv(10, 10), false, None).await;
    let counters = &node.ledger().counters;
    assert_eq!(counters.injected.load(Ordering::Relaxed), 2);
    assert_eq!(counters.hops_sent.load(Ordering::Relaxed), 1);
    assert_eq!(counters.lost(LostReason::NoLink), 1);
}
