//! The control plane over HTTP, while packets fly: chaos, relinking, status.

use lwc_tests::{packet_ids, Ring};
use lwc_wire::events::{Hop, PacketEvent};
use serde_json::Value;
use std::time::Duration;

fn chaos_of<'a>(answer: &'a Value, host: &str) -> &'a Value {
    answer["chaos"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["host"] == host))
        .unwrap_or_else(|| panic!("no chaos for {host} in {answer}"))
}

async fn traced_hops(ring: &Ring, body: &str) -> (Vec<Hop>, Vec<PacketEvent>) {
    let (_, hops, events) = lwc_tests::traced(ring, body).await;
    (hops, events)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_put_then_get_round_trips() {
    let ring = Ring::start().await.unwrap();
    let (status, answer) = ring.get("/chaos");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["chaos"].as_array().map(Vec::len), Some(5));
    assert_eq!(chaos_of(&answer, "north")["trap"], 0);

    let body = r#"{"host":"north","trap":20,"delay_ms":5,"jitter_ms":2,"drop":1}"#;
    let (status, answer) = ring.request("PUT", "/chaos", body.as_bytes());
    assert_eq!(status, 200, "{answer}");
    let (_, answer) = ring.get("/chaos");
    let north = chaos_of(&answer, "north");
    assert_eq!(
        (north["trap"].as_u64(), north["delay_ms"].as_u64(), north["jitter_ms"].as_u64(), north["drop"].as_u64()),
        (Some(20), Some(5), Some(2), Some(1))
    );
    assert_eq!(chaos_of(&answer, "south")["trap"], 0, "other hosts untouched");

    // A partial change keeps the other fields; `*` means every host.
    ring.request("PUT", "/chaos", br#"{"host":"north","trap":0}"#);
    let (status, answer) = ring.request("PUT", "/chaos", br#"{"host":"*","drop":2}"#);
    assert_eq!(status, 200, "{answer}");
    let north = chaos_of(&answer, "north");
    assert_eq!((north["trap"].as_u64(), north["delay_ms"].as_u64(), north["drop"].as_u64()), (Some(0), Some(5), Some(2)));
    assert_eq!(chaos_of(&answer, "west")["drop"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trap_100_on_north_loses_every_packet_reaching_north() {
    let ring = Ring::start().await.unwrap();
    let (status, answer) = ring.request("PUT", "/chaos", br#"{"host":"north","trap":100}"#);
    assert_eq!(status, 200, "{answer}");

    let tap = ring.tap().await.unwrap();
    // Default route: control → east → north: every packet reaches north at
    // its second visit, even the ttl-1 one whose last stop is north.
    let (status, answer) = ring.post("/packets", r#"{"ttl":20,"count":10}"#);
    assert_eq!(status, 200, "{answer}");
    let (_, answer1) = ring.post("/packets", r#"{"ttl":1,"count":2}"#);
    let (_, answer0) = ring.post("/packets", r#"{"ttl":0}"#);
    tap.wait_until(Duration::from_secs(20), "13 fates", |evs| {
        evs.iter().filter(|e| matches!(e, PacketEvent::Expired(_) | PacketEvent::Lost(_))).count() >= 13
    })
    .await;
    let (expired, lost) = tap.fates();
    assert_eq!(lost.len(), 12, "{lost:?}");
    for l in &lost {
        assert_eq!(l.reason.as_str(), "trap-before-forward", "{l:?}");
        assert_eq!(l.at, "north");
        assert_eq!(l.hops, 2);
    }
    assert_eq!(expired, packet_ids(&answer0), "ttl 0 stops at east and expires");
    assert_eq!(packet_ids(&answer).len() + packet_ids(&answer1).len(), 12);

    // The ledger in /status adds up.
    let ledger = &ring.settled_ledger(13, Duration::from_secs(10)).await;
    assert_eq!(ledger["injected"], 13, "{ledger}");
    assert_eq!(ledger["expired"], 1);
    assert_eq!(ledger["lost"]["trap-before-forward"], 12);
    assert_eq!(ledger["in_flight"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delay_on_east_shows_in_hops_out_of_east() {
    let ring = Ring::start().await.unwrap();
    let (status, answer) = ring.request("PUT", "/chaos", br#"{"host":"east","delay_ms":20}"#);
    assert_eq!(status, 200, "{answer}");
    let (hops, _) = traced_hops(&ring, r#"{"ttl":8,"trace":true}"#).await;
    assert_eq!(hops.len(), 9);
    let (from_east, others): (Vec<&Hop>, Vec<&Hop>) = hops.iter().partition(|h| h.from == "east");
    assert_eq!(from_east.len(), 2);
    for h in &from_east {
        assert!(h.latency_us >= 20_000, "east→{} took {} µs", h.to, h.latency_us);
    }
    // The other hosts add nothing; allow one hop slowed by a busy machine.
    let slow: Vec<_> = others.iter().filter(|h| h.latency_us >= 20_000).collect();
    assert!(slow.len() <= 1, "hops not out of east were slow too: {slow:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relinking_applies_to_the_next_hop_and_reaches_late_joiners() {
    let mut ring = Ring::start().await.unwrap();
    let body = br#"{"source":"north","name":"default","target":"east"}"#;
    let (status, answer) = ring.request("PUT", "/links", body);
    assert_eq!(status, 200, "{answer}");
    assert!(answer["links"].as_array().unwrap().iter().any(|l| l["source"] == "north" && l["name"] == "default" && l["target"] == "east"));

    let path = |hops: &[Hop]| hops.iter().map(|h| h.to.clone()).collect::<Vec<_>>();
    let (hops, _) = traced_hops(&ring, r#"{"ttl":5,"trace":true}"#).await;
    assert_eq!(path(&hops), ["east", "north", "east", "north", "east", "north"]);

    // A restarted north takes the link in force from the lattice.
    ring.kill_host("north");
    ring.start_host("north").unwrap();
    ring.wait_ready("north", Duration::from_secs(30)).unwrap();
    let (hops, _) = traced_hops(&ring, r#"{"ttl":3,"trace":true}"#).await;
    assert_eq!(path(&hops), ["east", "north", "east", "north"]);

    // Deleting the link: the next packet is lost at north as no-link.
    let (status, answer) = ring.request("DELETE", "/links", br#"{"source":"north","name":"default"}"#);
    assert_eq!(status, 200, "{answer}");
    let (_, events) = traced_hops(&ring, r#"{"ttl":5,"trace":true}"#).await;
    let lost: Vec<_> = events.iter().filter_map(|e| match e { PacketEvent::Lost(l) => Some(l), _ => None }).collect();
    assert_eq!(lost.len(), 1);
    assert_eq!((lost[0].reason.as_str(), lost[0].at.as_str()), ("no-link", "north"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_control_requests_get_400_and_change_nothing() {
    let ring = Ring::start().await.unwrap();
    let (_, chaos_before) = ring.get("/chaos");
    let (_, links_before) = ring.get("/links");
    let cases: &[(&str, &str, &str)] = &[
        ("PUT", "/chaos", r#"{"trap":5}"#),
        ("PUT", "/chaos", r#"{"host":"nowhere","trap":5}"#),
        ("PUT", "/chaos", r#"{"host":"north","trap":101}"#),
        ("PUT", "/chaos", r#"{"host":"north","drop":-1}"#),
        ("PUT", "/chaos", r#"{"host":"north","delay_ms":-5}"#),
        ("PUT", "/chaos", r#"{"host":"north","down_s":3601}"#),
        ("PUT", "/chaos", r#"{"host":"north","trap":"x"}"#),
        ("PUT", "/chaos", r#"{"host":"north","trap":1.5}"#),
        ("PUT", "/chaos", r#"{"host":"north","colour":1}"#),
        ("PUT", "/chaos", r#"["north"]"#),
        ("PUT", "/chaos", r#"{"host":"north""#),
        ("PUT", "/links", r#"{"source":"nobody","name":"default","target":"east"}"#),
        ("PUT", "/links", r#"{"source":"north","name":"default"}"#),
        ("PUT", "/links", r#"{"source":"north","name":"Bad Name","target":"east"}"#),
        ("DELETE", "/links", r#"{"source":"north","name":"nope"}"#),
        ("DELETE", "/links", r#"{"name":"default"}"#),
    ];
    for (method, path, body) in cases {
        let (status, answer) = ring.request(method, path, body.as_bytes());
        assert_eq!(status, 400, "{method} {path} {body} → {answer}");
        assert!(answer["error"].as_str().is_some_and(|e| !e.is_empty()), "{answer}");
    }
    assert_eq!(ring.request("POST", "/chaos", b"{}").0, 405);
    assert_eq!(ring.request("PATCH", "/links", b"{}").0, 405);
    assert_eq!(ring.get("/nothing/here").0, 404);

    assert_eq!(ring.get("/chaos").1, chaos_before);
    assert_eq!(ring.get("/links").1, links_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_shows_hosts_components_links_and_ledger() {
    let ring = Ring::start().await.unwrap();
    // Hosts are up in /status from their first heartbeat; the control host
    // is listed (not yet up) before its own first one reaches its watch.
    let st = ring
        .wait_status(Duration::from_secs(10), "five hosts up in /status", |st| {
            st["hosts"].as_array().is_some_and(|h| h.len() >= 5 && h.iter().all(|h| h["up"] == true))
        })
        .await;
    let hosts = st["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 5);
    assert!(hosts.iter().all(|h| h["up"] == true), "{st}");
    assert_eq!(st["components"].as_array().map(Vec::len), Some(5));
    assert_eq!(st["links"].as_array().map(Vec::len), Some(9));
    assert_eq!(st["ledger"]["in_flight"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_down_for_a_while_loses_hops_then_serves_again() {
    let ring = Ring::start().await.unwrap();
    let (status, answer) = ring.request("PUT", "/chaos", br#"{"host":"north","down_s":3}"#);
    assert_eq!(status, 200, "{answer}");
    assert!(chaos_of(&answer, "north")["down_s"].as_u64().unwrap() >= 2);
    let (_, events) = traced_hops(&ring, r#"{"ttl":4,"trace":true}"#).await;
    let lost: Vec<_> = events.iter().filter_map(|e| match e { PacketEvent::Lost(l) => Some(l), _ => None }).collect();
    assert_eq!(lost.len(), 1, "{events:?}");
    assert_eq!((lost[0].reason.as_str(), lost[0].at.as_str()), ("unreachable", "north"));

    // North says when its outage is over, in its heartbeat.
    ring.wait_heartbeats(Duration::from_secs(10), "north up again", |hbs| {
        hbs.iter().any(|h| h.host == "north" && !h.down)
    })
    .await;
    let (hops, events) = traced_hops(&ring, r#"{"ttl":4,"trace":true}"#).await;
    assert_eq!(hops.len(), 5, "{events:?}");
}
