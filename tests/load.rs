//! `POST/GET/DELETE /load` on a real ring: steady injection on schedule,
//! 400 naming the field, 409 for a second load, and a stop that stops.

use lwc_tests::{packet_ids, wait, Ring};
use lwc_wire::events::PacketEvent;
use std::collections::HashSet;
use std::time::Duration;

fn injected_ids(events: &[PacketEvent]) -> HashSet<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            PacketEvent::Injected(i) => Some(i.packet),
            _ => None,
        })
        .collect()
}

fn fated(events: &[PacketEvent]) -> HashSet<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            PacketEvent::Expired(x) => Some(x.packet),
            PacketEvent::Lost(l) => Some(l.packet),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_injects_rate_times_duration_and_refuses_a_second() {
    let ring = Ring::start().await.unwrap();
    let tap = ring.tap().await.unwrap();

    // Bad bodies: 400 naming the field, and no load starts.
    for (body, field) in [
        (r#"{"rate":0,"duration_s":2}"#, "rate"),
        (r#"{"rate":100,"duration_s":86401}"#, "duration_s"),
        (r#"{"rate":100}"#, "duration_s"),
        (r#"{"rate":100,"duration_s":2,"ttl":-1}"#, "ttl"),
        (r#"{"rate":100,"duration_s":2,"burst":1}"#, "burst"),
    ] {
        let (status, answer) = ring.request("POST", "/load", body.as_bytes());
        assert_eq!(status, 400, "{body}: {answer}");
        assert!(answer["error"].as_str().unwrap_or("").contains(field), "{body}: {answer}");
    }
    let (status, answer) = ring.get("/load");
    assert_eq!(status, 200);
    assert_eq!(answer, serde_json::json!({"load": null, "last": null}));

    let (status, answer) = ring.request("POST", "/load", br#"{"rate":100,"ttl":3,"duration_s":2}"#);
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["load"]["rate"], 100);
    assert_eq!(answer["load"]["running"], true);
    let (status, answer) = ring.request("POST", "/load", br#"{"rate":5,"duration_s":1}"#);
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"].as_str().unwrap_or("").contains("already running"), "{answer}");

    // It ends by itself after 2 s with exactly rate x duration packets.
    let last = wait::until_async(Duration::from_secs(15), "the load to end (GET /load: load null, last set)", || {
        let (_, answer) = ring.get("/load");
        Ok((answer["load"].is_null() && !answer["last"].is_null()).then(|| answer["last"].clone()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}; last GET /load: {}", ring.get("/load").1));
    assert_eq!(last["injected"], 200, "{last}");
    assert_eq!(last["running"], false);
    assert!(last["late_p99_ms"].as_f64().is_some() && last["late_max_ms"].as_f64().is_some(), "{last}");

    // Every one was injected (from control) and every one ends.
    let events = tap
        .wait_until(Duration::from_secs(20), "200 injected and 200 fates", |evs| {
            injected_ids(evs).len() >= 200 && fated(evs).len() >= 200
        })
        .await;
    assert_eq!(injected_ids(&events).len(), 200);
    assert_eq!(injected_ids(&events), fated(&events));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_stops_a_load_and_nothing_more_is_injected() {
    let ring = Ring::start().await.unwrap();
    let tap = ring.tap().await.unwrap();
    let (status, answer) = ring.request("POST", "/load", br#"{"rate":500,"ttl":2,"duration_s":60}"#);
    assert_eq!(status, 202, "{answer}");
    tap.wait_until(Duration::from_secs(10), "some load packets", |evs| injected_ids(evs).len() >= 100)
        .await;
    let (status, answer) = ring.request("DELETE", "/load", b"");
    assert_eq!(status, 200, "{answer}");
    assert!(answer["load"].is_null(), "{answer}");
    let stopped = answer["last"]["injected"].as_u64().expect("injected");
    assert!(stopped >= 100 && stopped < 30_000, "{answer}");
    // A marker packet injected after the stop: once its injection is seen,
    // every load packet before it has been seen too (one publisher, in order).
    let (status, marker) = ring.post("/packets", r#"{"ttl":1}"#);
    assert_eq!(status, 200, "{marker}");
    let marker = packet_ids(&marker)[0];
    let events = tap
        .wait_until(Duration::from_secs(10), "the marker", |evs| injected_ids(evs).contains(&marker))
        .await;
    assert_eq!(injected_ids(&events).len() as u64, stopped + 1);
    let (_, answer) = ring.request("DELETE", "/load", b"");
    assert_eq!(answer["last"]["injected"].as_u64(), Some(stopped), "a second DELETE changes nothing");
}
