//! Failures the lattice must detect and account for: a missing host, garbage.

use bytes::Bytes;
use lwc_tests::{packet_ids, total, Ring, RingOpts};
use lwc_wire::events::PacketEvent;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_target_host_makes_the_packet_unreachable() {
    // No north: east's default link points at a component nobody serves.
    let opts = RingOpts {
        hosts: vec!["south", "east", "west", "control"],
        ..RingOpts::default()
    };
    let ring = Ring::start_with(opts).await.unwrap();
    let tap = ring.tap().await.unwrap();
    let (status, answer) = ring.post("/packets", r#"{"ttl":10}"#);
    assert_eq!(status, 200, "{answer}");
    let id = packet_ids(&answer)[0];

    // 200 ms timeout, 2 retries with doubling: decided in about 1.4 s.
    tap.wait_until(Duration::from_secs(15), "an unreachable loss", |evs| {
        evs.iter().any(|e| matches!(e, PacketEvent::Lost(l) if l.packet == id))
    })
    .await;
    let (expired, lost) = tap.fates();
    assert!(expired.is_empty());
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(lost[0].reason.as_str(), "unreachable");
    assert_eq!(lost[0].at, "north");
    assert_eq!(lost[0].host, "east", "the last sender reports it");
    assert_eq!(lost[0].hops, 1, "it made one visit, to east");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_an_rpc_subject_leaves_the_host_serving() {
    let ring = Ring::start().await.unwrap();
    let client = ring.client().await.unwrap();
    let subject = lwc_wire::subjects::rpc(&ring.lattice, "east");
    let garbage: Vec<Bytes> = vec![
        Bytes::new(),
        Bytes::from_static(b"\x01"),
        Bytes::from_static(b"hello, east"),
        Bytes::from(vec![0xffu8; 100_000]),
        Bytes::from(vec![1u8; 40]),
    ];
    for g in &garbage {
        // With and without a reply subject.
        client.publish(subject.clone(), g.clone()).await.unwrap();
        let reply = client.request(subject.clone(), g.clone());
        let msg = tokio::time::timeout(Duration::from_secs(5), reply)
            .await
            .unwrap_or_else(|_| panic!("no answer to {} bytes of garbage", g.len()))
            .unwrap_or_else(|e| panic!("request with {} bytes of garbage failed: {e}", g.len()));
        let text = String::from_utf8_lossy(&msg.payload).to_string();
        assert!(text.starts_with("error:"), "answered with an error: {text}");
    }
    client.flush().await.unwrap();

    // Still serving: a packet goes around and expires.
    let tap = ring.tap().await.unwrap();
    let (status, answer) = ring.post("/packets", r#"{"ttl":8}"#);
    assert_eq!(status, 200, "{answer}");
    tap.wait_until(Duration::from_secs(10), "the packet to expire", |evs| {
        evs.iter().any(|e| matches!(e, PacketEvent::Expired(_)))
    })
    .await;

    let hbs = ring
        .wait_heartbeats(Duration::from_secs(10), "the garbage counted", |hbs| {
            total(hbs, |h| h.counters.rejected.values().sum()) >= 9 && hbs.iter().any(|h| h.host == "east")
        })
        .await;
    let rejected = total(&hbs, |h| h.counters.rejected.values().sum());
    assert!(rejected >= 9, "rejections are counted: {rejected}");
    let east = hbs.iter().find(|h| h.host == "east").expect("east heartbeat");
    assert!(east.connected);
}
