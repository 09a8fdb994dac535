//! The ledger on a real nats-server: what it publishes on the packet event
//! stream, what it counts, how it samples untraced hops, and where fates go
//! once a witness takes them.

use std::time::Duration;
use tokio::sync::mpsc;

use super::*;
use crate::lattice::testing::{next, Server, LATTICE};
use lwc_wire::events::HopOutcome;

struct Fixture {
    ledger: Ledger,
    events: async_nats::Subscriber,
    _server: Server,
}

/// A ledger for host `east`, and the packet event stream heard by a peer.
async fn fixture() -> Fixture {
    let server = Server::start().await;
    let ledger = Ledger::new(Arc::from("east"), server.client.clone(), LATTICE, Arc::new(Otel::disabled()));
    let events = server.peer.subscribe(lwc_wire::subjects::packet_events(LATTICE)).await.expect("subscribe");
    lwc_testkit::nats::round_trip(&server.peer).await.expect("a round trip");
    Fixture { ledger, events, _server: server }
}

fn injected(packet: u64) -> Injected {
    Injected {
        packet,
        ttl: 3,
        chaos: 0,
        route: "default".into(),
        host: "east".into(),
        at_ns: 1,
        trace: false,
    }
}

fn hop(packet: u64) -> Hop {
    Hop {
        packet,
        ttl: 2,
        route: "default".into(),
        from: "north".into(),
        to: "east".into(),
        host: "east".into(),
        sent_ns: 1,
        recv_ns: 2,
        latency_us: 0,
        invoke_us: 5,
        outcome: HopOutcome::Ok,
    }
}

async fn next_event(sub: &mut async_nats::Subscriber) -> PacketEvent {
    let msg = next(sub, "a packet event").await;
    serde_json::from_slice(&msg.payload).expect("a packet event")
}

#[tokio::test]
async fn every_event_is_published_and_counted() {
    let Fixture { ledger, mut events, _server } = fixture().await;
    ledger.injected(injected(7)).await;
    ledger.hop(true, || hop(7)).await;
    ledger.expired(7, "default", 4, 1_000).await;
    ledger.lost(8, "special", 2, "west", LostReason::Dropped, "chaos drop".into()).await;
    ledger.lost(9, "special", 1, "west", LostReason::Dropped, String::new()).await;

    assert_eq!(next_event(&mut events).await, PacketEvent::Injected(injected(7)));
    assert_eq!(next_event(&mut events).await, PacketEvent::Hop(hop(7)));
    match next_event(&mut events).await {
        PacketEvent::Expired(x) => {
            // The lifetime is the caller's (summed hop by hop), as given.
            assert_eq!(
                (x.packet, x.route.as_str(), x.hops, x.host.as_str(), x.lifetime_us),
                (7, "default", 4, "east", 1_000)
            );
        }
        other => panic!("expected expired, got {other:?}"),
    }
    let expected = |packet, hops, detail: &str| Lost {
        packet,
        route: "special".into(),
        hops,
        at: "west".into(),
        reason: LostReason::Dropped,
        host: "east".into(),
        detail: detail.into(),
    };
    assert_eq!(next_event(&mut events).await, PacketEvent::Lost(expected(8, 2, "chaos drop")));
    assert_eq!(next_event(&mut events).await, PacketEvent::Lost(expected(9, 1, "")));

    let c = ledger.counters.snapshot();
    assert_eq!((c.injected, c.expired), (1, 1));
    assert_eq!(c.lost, [("dropped".to_string(), 2)].into_iter().collect(), "only reasons seen are listed");
    assert_eq!((ledger.counters.lost(LostReason::Dropped), ledger.counters.lost(LostReason::Timeout)), (2, 0));
    ledger.counters.reject("ctl");
    ledger.counters.reject("ctl");
    ledger.counters.reject("event");
    let rejected = ledger.counters.snapshot().rejected;
    assert_eq!((rejected.get("ctl"), rejected.get("event")), (Some(&2), Some(&1)));
}

#[tokio::test]
async fn untraced_hops_are_published_only_below_100_per_second() {
    let Fixture { ledger, mut events, _server } = fixture().await;
    let started = Instant::now();
    for p in 0..300 {
        ledger.hop(false, || hop(p)).await;
    }
    let burst = started.elapsed();
    // Traced hops are always published, the bucket empty or not.
    for p in 1000..1050 {
        ledger.hop(true, || hop(p)).await;
    }
    ledger.injected(injected(1)).await; // the end marker

    let (mut untraced, mut traced) = (0u64, 0u64);
    loop {
        match next_event(&mut events).await {
            PacketEvent::Hop(h) if h.packet >= 1000 => traced += 1,
            PacketEvent::Hop(_) => untraced += 1,
            PacketEvent::Injected(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(traced, 50);
    // A full bucket of 100, and what refilled it while the burst ran.
    let refilled = (burst.as_secs_f64() * FREE_HOP_EVENTS_PER_S).ceil() as u64;
    assert!((100..=100 + refilled).contains(&untraced), "{untraced} of 300 in {burst:?}");

    // At 50 a second (one per 20 ms, at least) every one goes out.
    for p in 2000..2020 {
        tokio::time::sleep(Duration::from_millis(20)).await; // paces the rate, not a sync
        ledger.hop(false, || hop(p)).await;
    }
    ledger.injected(injected(2)).await;
    let mut slow = Vec::new();
    loop {
        match next_event(&mut events).await {
            PacketEvent::Hop(h) => slow.push(h.packet),
            PacketEvent::Injected(_) => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(slow, (2000..2020).collect::<Vec<_>>());
}

#[tokio::test]
async fn with_a_fate_sink_fates_go_to_it_and_the_rest_to_the_stream() {
    let Fixture { ledger, mut events, _server } = fixture().await;
    let (sink, mut fates) = mpsc::unbounded_channel();
    ledger.report_fates_to(sink);
    let (ignored, mut never) = mpsc::unbounded_channel();
    ledger.report_fates_to(ignored); // set once: the first sink stays

    ledger.injected(injected(1)).await;
    ledger.expired(1, "default", 4, 1_000).await;
    ledger.hop(true, || hop(2)).await;
    ledger.lost(2, "default", 1, "west", LostReason::Unreachable, "no ack".into()).await;
    ledger.injected(injected(3)).await;

    assert_eq!(next_event(&mut events).await, PacketEvent::Injected(injected(1)));
    assert_eq!(next_event(&mut events).await, PacketEvent::Hop(hop(2)));
    assert_eq!(next_event(&mut events).await, PacketEvent::Injected(injected(3)), "no fate on the stream");

    let (packet, json) = fates.try_recv().expect("expired's fate in the sink");
    let event: PacketEvent = serde_json::from_slice(&json).expect("the event JSON");
    assert_eq!((packet, event.fate_of()), (1, Some(1)));
    assert!(matches!(event, PacketEvent::Expired(ref x) if x.hops == 4), "{event:?}");
    let (packet, json) = fates.try_recv().expect("lost's fate in the sink");
    match serde_json::from_slice::<PacketEvent>(&json).expect("the event JSON") {
        PacketEvent::Lost(l) => assert_eq!((packet, l.packet, l.reason, l.detail.as_str()), (2, 2, LostReason::Unreachable, "no ack")),
        other => panic!("expected lost, got {other:?}"),
    }
    assert!(fates.try_recv().is_err(), "only fates go to the sink");
    assert!(never.try_recv().is_err(), "the second sink was ignored");
    let c = ledger.counters.snapshot();
    assert_eq!((c.injected, c.expired, c.lost.get("unreachable")), (2, 1, Some(&1)), "counted all the same");

    // With the witness gone, a fate is published directly rather than lost.
    drop(fates);
    ledger.expired(3, "default", 4, 1_000).await;
    match next_event(&mut events).await {
        PacketEvent::Expired(x) => assert_eq!(x.packet, 3),
        other => panic!("expected expired on the stream, got {other:?}"),
    }
}
