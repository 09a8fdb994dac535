//! The control component's injection API: answers, validation, and that a
//! refused request injects nothing.

use lwc_tests::{packet_ids, total, Ring};
use lwc_wire::events::PacketEvent;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_packets_answers_with_ids_and_settings() {
    let ring = Ring::start().await.unwrap();
    let tap = ring.tap().await.unwrap();

    let (status, answer) = ring.post("/packets", r#"{"ttl":3,"chaos":0,"route":"special","count":3}"#);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ttl"], 3);
    assert_eq!(answer["chaos"], 0);
    assert_eq!(answer["route"], "special");
    let ids = packet_ids(&answer);
    assert_eq!(ids.len(), 3);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "unique, ordered ids: {ids:?}");

    // Empty body: all defaults.
    let (status, answer) = ring.post("/packets", "");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ttl"], 100);
    assert_eq!(answer["route"], "default");

    // The original demo's GET.
    let (status, answer) = ring.get("/?ttl=2&route=special&chaos=0");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["ttl"], 2);
    assert_eq!(packet_ids(&answer).len(), 1);

    // Events from different hosts carry no common order: wait for both kinds.
    tap.wait_until(Duration::from_secs(30), "5 injected and 5 expired", |evs| {
        evs.iter().filter(|e| matches!(e, PacketEvent::Expired(_))).count() >= 5
            && evs.iter().filter(|e| matches!(e, PacketEvent::Injected(_))).count() >= 5
    })
    .await;
    let injected: Vec<_> = tap
        .events()
        .into_iter()
        .filter_map(|e| match e {
            PacketEvent::Injected(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(injected.len(), 5, "events: {:#?}", tap.events());
    assert!(injected.iter().all(|i| i.host == "control"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_400_naming_the_field_and_inject_nothing() {
    let ring = Ring::start().await.unwrap();
    let tap = ring.tap().await.unwrap();
    let cases: &[(&str, &str)] = &[
        (r#"{"ttl":1.5}"#, "ttl"),
        (r#"{"ttl":"ten"}"#, "ttl"),
        (r#"{"ttl":-1}"#, "ttl"),
        (r#"{"ttl":10000001}"#, "ttl"),
        (r#"{"ttl":null}"#, "ttl"),
        (r#"{"chaos":101}"#, "chaos"),
        (r#"{"chaos":true}"#, "chaos"),
        (r#"{"count":0}"#, "count"),
        (r#"{"count":10001}"#, "count"),
        (r#"{"route":""}"#, "route"),
        (r#"{"route":"Special"}"#, "route"),
        (r#"{"route":"a.b"}"#, "route"),
        (r#"{"route":5}"#, "route"),
        (r#"{"trace":"yes"}"#, "trace"),
        (r#"{"tll":5}"#, "tll"),
        (r#"[1,2]"#, "object"),
        (r#"42"#, "object"),
        (r#"{"ttl":5"#, "JSON"),
    ];
    for (body, field) in cases {
        let (status, answer) = ring.post("/packets", body);
        assert_eq!(status, 400, "{body} → {answer}");
        let error = answer["error"].as_str().unwrap_or_default();
        assert!(error.contains(field), "{body}: error {error:?} should name {field}");
    }
    let long_route = format!(r#"{{"route":"{}"}}"#, "a".repeat(65));
    assert_eq!(ring.post("/packets", &long_route).0, 400);

    let (status, answer) = ring.request("POST", "/packets", b"{\"route\":\"\xff\xfe\"}");
    assert_eq!(status, 400, "invalid UTF-8: {answer}");

    let big = format!(r#"{{"route":"default","pad":"{}"}}"#, "x".repeat(70 * 1024));
    let (status, answer) = ring.post("/packets", &big);
    assert_eq!(status, 413, "{answer}");

    let (status, _) = ring.get("/?ttl=abc");
    assert_eq!(status, 400);
    let (status, _) = ring.get("/?chaos=500");
    assert_eq!(status, 400);

    let (status, _) = ring.get("/nope");
    assert_eq!(status, 404);
    let (status, _) = ring.request("DELETE", "/packets", b"");
    assert_eq!(status, 405);

    // Nothing was injected by any of that: a marker packet sent after it
    // all is the only one whose events arrive.
    let (status, answer) = ring.post("/packets", r#"{"ttl":0}"#);
    assert_eq!(status, 200, "{answer}");
    let marker = packet_ids(&answer)[0];
    let events = tap
        .wait_until(Duration::from_secs(10), "the marker injected and expired", |evs| {
            evs.iter().any(|e| matches!(e, PacketEvent::Injected(i) if i.packet == marker))
                && evs.iter().any(|e| matches!(e, PacketEvent::Expired(x) if x.packet == marker))
        })
        .await;
    let packet = |e: &PacketEvent| match e {
        PacketEvent::Injected(i) => i.packet,
        PacketEvent::Hop(h) => h.packet,
        PacketEvent::Expired(x) => x.packet,
        PacketEvent::Lost(l) => l.packet,
    };
    let others: Vec<_> = events.iter().filter(|e| packet(e) != marker).collect();
    assert!(others.is_empty(), "events of other packets: {others:?}");
    let hbs = ring
        .wait_heartbeats(Duration::from_secs(10), "the marker counted", |hbs| {
            total(hbs, |h| h.counters.injected) >= 1
        })
        .await;
    assert_eq!(total(&hbs, |h| h.counters.injected), 1, "only the marker: {hbs:?}");
}
