use super::*;

fn injected(id: u64, ttl: u64) -> Injected {
    Injected {
        packet: id,
        ttl,
        chaos: 0,
        route: "default".into(),
        host: "control".into(),
        at_ns: id,
        trace: false,
    }
}

#[test]
fn follows_a_packet_to_its_fate() {
    let mut p = Packets::default();
    p.injected(&injected(1_000, 9));
    assert_eq!(p.latest().next().unwrap().ttl_lost, None);
    p.hop(&Hop {
        packet: 1_000,
        ttl: 7,
        route: "default".into(),
        from: "north".into(),
        to: "west".into(),
        host: "west".into(),
        sent_ns: 0,
        recv_ns: 0,
        latency_us: 0,
        invoke_us: 0,
        outcome: lwc_wire::events::HopOutcome::Ok,
    });
    let row = p.latest().next().unwrap().clone();
    assert_eq!((row.hops, row.fate.clone(), row.at.as_str()), (3, Fate::InFlight, "west"));
    assert_eq!(row.age_us(5_000), 4);
    p.expired(&Expired {
        packet: 1_000,
        route: "default".into(),
        hops: 10,
        lifetime_us: 1234,
        host: "south".into(),
    });
    let row = p.latest().next().unwrap();
    assert_eq!((row.hops, row.lifetime_us, &row.fate), (10, Some(1234), &Fate::Expired));
}

#[test]
fn keeps_a_bounded_number_latest_first() {
    let mut p = Packets::default();
    for id in 0..(CAPACITY as u64 + 50) {
        p.injected(&injected(id, 1));
    }
    assert_eq!(p.len(), CAPACITY);
    assert_eq!(p.latest().next().unwrap().id, CAPACITY as u64 + 49);
    assert_eq!(p.latest().last().unwrap().id, 50);
    // A fate for a packet it never saw injected still shows up.
    p.lost(
        &Lost {
            packet: 7_000,
            route: "special".into(),
            hops: 2,
            at: "north".into(),
            reason: LostReason::Dropped,
            host: "north".into(),
            detail: String::new(),
        },
        9_000,
    );
    let row = p.latest().next().unwrap();
    assert_eq!((row.id, &row.fate, row.lifetime_us), (7_000, &Fate::Lost(LostReason::Dropped), Some(2)));
    assert_eq!(row.ttl_lost, None, "its ttl is unknown");
    // Injected with ttl 100 and lost after 3 visits: 97 left.
    p.injected(&injected(8_000, 100));
    p.lost(
        &Lost {
            packet: 8_000,
            route: "default".into(),
            hops: 3,
            at: "west".into(),
            reason: LostReason::Unreachable,
            host: "north".into(),
            detail: String::new(),
        },
        9_000,
    );
    assert_eq!(p.latest().next().unwrap().ttl_lost, Some(97));
}
