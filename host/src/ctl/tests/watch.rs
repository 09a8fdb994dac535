//! What only the control host does: `/status` from heartbeats, the ledger
//! book from the packet event stream (published every second), and the
//! census that finds orphans.

use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{alive, host_status, Host, Ring};
use crate::lattice::testing::{next, until, LATTICE};
use lwc_wire::census::{self, Claims};
use lwc_wire::events::{Injected, LostReason};
use lwc_wire::subjects;

fn status(control: &Host) -> serde_json::Value {
    serde_json::from_str(&control.ctl.status()).expect("status JSON")
}

fn injected(packet: u64) -> Injected {
    Injected {
        packet,
        ttl: 3,
        chaos: 0,
        route: "default".into(),
        host: "east".into(),
        at_ns: 0,
        trace: false,
    }
}

/// The control host's ledger watch, its fates seen recorded.
async fn watch_ledger(ring: &mut Ring, control: &Host) -> Arc<Mutex<Vec<u64>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let events = control.client.subscribe(subjects::packet_events(LATTICE)).await.expect("subscribe");
    lwc_testkit::nats::round_trip(&control.client).await.expect("a round trip");
    let record = seen.clone();
    let on_fate = move |p| record.lock().expect("fates seen").push(p);
    ring.tasks.spawn(control.ctl.clone().run_ledger_watch(events, on_fate));
    seen
}

#[tokio::test]
async fn status_lists_every_manifest_host_down_until_its_heartbeat_arrives() {
    let mut ring = Ring::start().await;
    let control = ring.control().await;
    let s = status(&control);
    assert_eq!(s["lattice"], LATTICE);
    let hosts: Vec<&str> = s["hosts"].as_array().expect("hosts").iter().filter_map(|h| h["host"].as_str()).collect();
    let mut manifest: Vec<String> = crate::node::testing::ring().hosts.keys().cloned().collect();
    manifest.sort();
    let mut listed: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    listed.sort();
    assert_eq!(listed, manifest);
    for h in &hosts {
        let entry = host_status(&s, h);
        assert_eq!((&entry["up"], &entry["last_seen_ms"]), (&false.into(), &serde_json::Value::Null), "{entry}");
        assert_eq!(entry["chaos"]["trap"], 0, "{entry}");
    }
    assert_eq!(s["components"].as_array().map(Vec::len), Some(5));
    assert!(s["links"].as_array().is_some_and(|l| l.contains(&serde_json::json!(
        { "source": "north", "name": "default", "target": "west" }
    ))));
    for field in ["injected", "expired", "lost_total", "in_flight", "orphaned", "fate_unseen"] {
        assert_eq!(s["ledger"][field], 0, "ledger.{field} in {s}");
    }

    let peer = ring.client().await;
    alive(&control, &peer, &["east"]).await;
    let s = status(&control);
    let east = host_status(&s, "east");
    assert!(east["last_seen_ms"].is_u64() && east["counters"].is_object(), "{east}");
    for h in ["north", "south", "west", "control"] {
        assert_eq!(host_status(&s, h)["up"], false, "{h} sent no heartbeat");
    }

    // A host in a simulated outage beats but is not up; a malformed beat is counted.
    let hb = lwc_wire::status::Heartbeat { host: "west".into(), connected: true, down: true, ..Default::default() };
    let json = serde_json::to_vec(&hb).expect("json");
    peer.publish(subjects::heartbeat(LATTICE, "west"), json.into()).await.expect("publish");
    peer.publish(subjects::heartbeat(LATTICE, "south"), "not json".into()).await.expect("publish");
    until("west's heartbeat", || host_status(&status(&control), "west")["down"] == true).await;
    assert_eq!(host_status(&status(&control), "west")["up"], false);
    until("the malformed beat counted", || {
        control.ledger.counters.snapshot().rejected.get("heartbeat") == Some(&1)
    })
    .await;
}

#[tokio::test]
async fn the_ledger_counts_fates_from_the_stream_and_is_published_every_second() {
    let mut ring = Ring::start().await;
    let control = ring.control().await;
    let east = ring.host("east").await;
    let fates_seen = watch_ledger(&mut ring, &control).await;
    let (_peer, mut published) = ring.hear(&subjects::ledger(LATTICE)).await;
    ring.tasks.spawn(control.ctl.clone().run_ledger_publisher());

    for p in 1..=3 {
        east.ledger.injected(injected(p)).await;
    }
    east.ledger.expired(1, "default", 4, 1_000).await;
    east.ledger.lost(2, "default", 1, "west", LostReason::Dropped, "chaos drop".into()).await;
    east.ledger.expired(1, "default", 4, 1_000).await; // a second fate: rejected
    lwc_testkit::nats::round_trip(&east.client).await.expect("a round trip");

    // Each second's ledger, until one has every event above.
    let mut books = 0;
    let book = loop {
        let msg = next(&mut published, "a published ledger").await;
        let book: serde_json::Value = serde_json::from_slice(&msg.payload).expect("ledger JSON");
        books += 1;
        if book["rejected"]["fate-for-unknown-packet"] == 1 {
            break book;
        }
    };
    assert_eq!((&book["injected"], &book["expired"], &book["in_flight"]), (&3.into(), &1.into(), &1.into()), "{book}");
    assert_eq!((&book["lost"]["dropped"], &book["lost_total"]), (&1.into(), &1.into()), "{book}");
    assert_eq!((&book["orphaned"], &book["fate_unseen"]), (&0.into(), &0.into()), "{book}");
    assert_eq!(status(&control)["ledger"], book, "/status carries the same ledger");
    assert_eq!(*fates_seen.lock().expect("fates"), [1, 2, 1], "every fate reaches the witness");

    // It keeps coming, a second apart: three more take over a second even
    // if one tick ran late and the next caught up at once.
    let started = tokio::time::Instant::now();
    for _ in 0..3 {
        next(&mut published, "the next second's ledger").await;
    }
    assert!(started.elapsed() >= Duration::from_secs(1), "{books} books, then 3 in {:?}", started.elapsed());
}

/// How long the census takes to call a packet orphaned: it asks about
/// packets 5 s old, every 5 s, and needs two silent rounds.
const CENSUS_WITHIN: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_packet_no_host_claims_for_two_census_rounds_is_orphaned() {
    let mut ring = Ring::start().await;
    let control = ring.control().await;
    let east = ring.host("east").await;
    watch_ledger(&mut ring, &control).await;

    // Plays every other host: holds packet 1, published the fate of 3
    // (which the book never saw), and knows nothing of 2.
    let (peer, mut asks) = ring.hear(&census::subject(LATTICE)).await;
    let rounds = Arc::new(AtomicUsize::new(0));
    let counted = rounds.clone();
    ring.tasks.spawn(async move {
        while let Some(msg) = asks.next().await {
            let asked = census::decode_ask(&msg.payload).expect("a census ask");
            assert!(asked.contains(&2), "an unclaimed packet is asked about again: {asked:?}");
            let claims = Claims { held: vec![1], ended: vec![3] };
            let reply = msg.reply.expect("a reply subject");
            peer.publish(reply, census::encode_answer(&claims).into()).await.expect("answer");
            counted.fetch_add(1, Relaxed);
        }
    });

    for p in 1..=3 {
        east.ledger.injected(injected(p)).await;
    }
    until("three packets in the book", || status(&control)["ledger"]["injected"] == 3).await;
    // The census starts after the injections, so its second tick finds them 5 s old.
    let (_listener, mut published) = ring.hear(&subjects::ledger(LATTICE)).await;
    ring.tasks.spawn(control.ctl.clone().run_ledger_publisher());

    let deadline = tokio::time::Instant::now() + CENSUS_WITHIN;
    let book = loop {
        let msg = match tokio::time::timeout_at(deadline, published.next()).await {
            Ok(Some(msg)) => msg,
            _ => panic!("no orphan within {CENSUS_WITHIN:?} ({} census rounds)", rounds.load(Relaxed)),
        };
        let book: serde_json::Value = serde_json::from_slice(&msg.payload).expect("ledger JSON");
        if book["orphaned"] != 0 {
            assert!(rounds.load(Relaxed) >= 2, "orphaned after {} round(s): {book}", rounds.load(Relaxed));
            break book;
        }
    };
    assert_eq!((&book["orphaned"], &book["orphaned_packets"]), (&1.into(), &serde_json::json!([2])), "{book}");
    assert_eq!(book["fate_unseen"], 1, "packet 3: a fate published but never seen");
    assert_eq!(book["in_flight"], 3, "nothing leaves the book without a fate");

    // Its fate at last: no longer orphaned, and out of the book.
    east.ledger.expired(2, "default", 4, 1_000).await;
    until("packet 2's fate in the book", || status(&control)["ledger"]["orphaned"] == 0).await;
    assert_eq!(status(&control)["ledger"]["in_flight"], 2);
}
