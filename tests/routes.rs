//! Packets follow the ring table hop by hop, by link name, and expire.

use lwc_tests::{packet_ids, Ring};
use lwc_wire::events::PacketEvent;
use std::time::Duration;

/// (from, to) of every hop of a traced packet, in order, and its `hops`.
async fn traced_path(ring: &Ring, route: &str, ttl: u64) -> (Vec<(String, String)>, u32) {
    let body = format!(r#"{{"ttl":{ttl},"route":"{route}","trace":true}}"#);
    let (id, hops, events) = lwc_tests::traced(ring, &body).await;
    let expired_hops = events
        .iter()
        .find_map(|e| match e {
            PacketEvent::Expired(x) if x.packet == id => Some(x.hops),
            _ => None,
        })
        .expect("the packet expired");
    (hops.into_iter().map(|h| (h.from, h.to)).collect(), expired_hops)
}

fn expected(cycle: &[&str], n: usize) -> Vec<(String, String)> {
    let mut path = vec![("control".to_string(), cycle[0].to_string())];
    for i in 1..n {
        path.push((cycle[(i - 1) % 4].to_string(), cycle[i % 4].to_string()));
    }
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_routes_follow_the_ring_table() {
    let ring = Ring::start().await.unwrap();

    let (path, hops) = traced_path(&ring, "default", 9).await;
    assert_eq!(path, expected(&["east", "north", "west", "south"], 10));
    assert_eq!(hops, 10);

    let (path, hops) = traced_path(&ring, "special", 9).await;
    assert_eq!(path, expected(&["east", "west", "north", "south"], 10));
    assert_eq!(hops, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_zero_stops_at_the_first_probe() {
    let ring = Ring::start().await.unwrap();
    let (path, hops) = traced_path(&ring, "default", 0).await;
    assert_eq!(path, expected(&["east"], 1));
    assert_eq!(hops, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_route_is_lost_as_no_link() {
    let ring = Ring::start().await.unwrap();
    let tap = ring.tap().await.unwrap();
    let (status, answer) = ring.post("/packets", r#"{"ttl":5,"route":"nowhere"}"#);
    assert_eq!(status, 200, "{answer}");
    let id = packet_ids(&answer)[0];
    tap.wait_until(Duration::from_secs(10), "a no-link loss", |evs| {
        evs.iter().any(|e| matches!(e, PacketEvent::Lost(l) if l.packet == id))
    })
    .await;
    let (expired, lost) = tap.fates();
    assert!(expired.is_empty());
    assert_eq!(lost.len(), 1);
    // control forwards on its `default` link to east; east has no `nowhere`.
    assert_eq!(lost[0].reason.as_str(), "no-link");
    assert_eq!(lost[0].at, "east");
}
