//! Many packets at once, packet chaos, and the ledger adding up.

use lwc_tests::{packet_ids, total, Ring};
use lwc_wire::events::PacketEvent;
use std::collections::HashSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_packets_in_flight_all_expire() {
    let ring = Ring::start().await.unwrap();
    let tap = ring.tap().await.unwrap();
    let (status, answer) = ring.post("/packets", r#"{"ttl":50,"count":100}"#);
    assert_eq!(status, 200, "{answer}");
    let ids: HashSet<u64> = packet_ids(&answer).into_iter().collect();
    assert_eq!(ids.len(), 100, "ids are unique within a burst");

    tap.wait_until(Duration::from_secs(60), "100 expired", |evs| {
        evs.iter().filter(|e| matches!(e, PacketEvent::Expired(_))).count() >= 100
    })
    .await;
    let (expired, lost) = tap.fates();
    assert!(lost.is_empty(), "lost: {lost:?}");
    let expired: HashSet<u64> = expired.into_iter().collect();
    assert_eq!(expired, ids, "each packet expires exactly once");
    for e in tap.events() {
        if let PacketEvent::Expired(x) = e {
            assert_eq!(x.hops, 51);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_100_traps_every_probe_after_forwarding() {
    let ring = Ring::start().await.unwrap();
    let tap = ring.tap().await.unwrap();
    let before = total(&ring.heartbeats().await.unwrap(), |h| h.counters.trap);
    let (status, answer) = ring.post("/packets", r#"{"ttl":20,"chaos":100,"count":5,"trace":true}"#);
    assert_eq!(status, 200, "{answer}");

    // Every hop but the last of each packet (ttl 0 returns before the dice)
    // trapped: 20 traps per packet. A trapping host publishes its hop event
    // after the hop went on, so the last ones may come after the expiry.
    let trapped = |evs: &[PacketEvent]| {
        evs.iter()
            .filter(|e| matches!(e, PacketEvent::Hop(h) if h.outcome == lwc_wire::events::HopOutcome::Trap))
            .count()
    };
    tap.wait_until(Duration::from_secs(30), "5 expired and 100 trapped hops", |evs| {
        evs.iter().filter(|e| matches!(e, PacketEvent::Expired(_))).count() >= 5 && trapped(evs) >= 100
    })
    .await;
    let (_, lost) = tap.fates();
    assert!(lost.is_empty(), "a trap after forwarding loses nothing: {lost:?}");
    assert_eq!(trapped(&tap.events()), 100);
    // Heartbeats are once a second: wait for the counters to catch up.
    let hbs = ring
        .wait_heartbeats(Duration::from_secs(10), "100 traps counted", |hbs| {
            total(hbs, |h| h.counters.trap) >= before + 100
        })
        .await;
    let after = total(&hbs, |h| h.counters.trap);
    assert_eq!(after - before, 100, "hosts count the traps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_answer_health_and_send_heartbeats() {
    let ring = Ring::start().await.unwrap();
    let client = ring.client().await.unwrap();
    for host in ["north", "south", "east", "west", "control"] {
        let subject = lwc_wire::subjects::health(&ring.lattice, host);
        let reply = client.request(subject, "".into()).await.unwrap();
        let health: lwc_wire::status::Health = serde_json::from_slice(&reply.payload).unwrap();
        assert!(health.healthy, "{host}: {}", health.message);
        assert!(health.message.contains(host));
    }
    let hbs = ring.heartbeats().await.unwrap();
    let hosts: Vec<_> = hbs.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(hosts, ["control", "east", "north", "south", "west"]);
    assert!(hbs.iter().all(|h| h.connected));
}
