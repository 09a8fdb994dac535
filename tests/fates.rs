//! Exactly one fate per packet, read from the event stream (not the control
//! host's book), while hosts are killed and NATS restarts under load.

use lwc_tests::{assert_one_fate_each, fates, packet_ids, settled_fates, Ring, RingOpts};
use lwc_wire::events::PacketEvent;
use lwc_wire::invocation::{Context, Invocation};
use std::time::Duration;

/// Faster failure detection: 200 ms hop timeout, 2 s to pass a packet on.
fn quick() -> RingOpts {
    let mut opts = RingOpts::default();
    opts.host_args.extend(["--finish-timeout-ms".to_string(), "2000".to_string()]);
    opts
}

fn assert_no_rejected(ring: &Ring) {
    let ledger = ring.ledger();
    let rejected: u64 = ledger["rejected"].as_object().map(|m| m.values().filter_map(|v| v.as_u64()).sum()).unwrap_or(0);
    assert_eq!(rejected, 0, "the book rejected fates: {ledger}");
}

async fn inject(ring: &Ring, body: &str) -> Vec<u64> {
    let (status, answer) = ring.post("/packets", body);
    assert_eq!(status, 200, "{answer}");
    packet_ids(&answer)
}

/// Wait until `host` has run some hops (heartbeats), so the packets are mid-flight.
async fn mid_flight(ring: &Ring, host: &str) {
    ring.wait_heartbeats(Duration::from_secs(20), "hops under way", |hbs| {
        hbs.iter().any(|h| h.host == host && h.counters.invocations > 200)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_with_40_in_flight_gives_each_packet_one_fate() {
    let mut ring = Ring::start_with(quick()).await.unwrap();
    let tap = ring.tap().await.unwrap();
    let ids = inject(&ring, r#"{"ttl":3000,"count":40}"#).await;
    mid_flight(&ring, "north").await;
    ring.kill_host("north");
    let f = settled_fates(&ring, &tap, &ids, Duration::from_secs(60)).await;
    assert_one_fate_each(&f, &ids);
    assert_no_rejected(&ring);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_with_40_in_flight_loses_none() {
    let mut ring = Ring::start_with(quick()).await.unwrap();
    let tap = ring.tap().await.unwrap();
    let ids = inject(&ring, r#"{"ttl":3000,"count":40}"#).await;
    mid_flight(&ring, "east").await;
    ring.nats.restart().unwrap();
    // The tap's own client reconnects too; fates published meanwhile wait
    // in their hosts' clients.
    let f = settled_fates(&ring, &tap, &ids, Duration::from_secs(90)).await;
    assert_one_fate_each(&f, &ids);
    let lost: Vec<&String> = ids.iter().filter_map(|id| f.get(id)).flatten().filter(|s| s.starts_with("lost")).collect();
    assert!(lost.is_empty(), "a NATS restart loses nothing: {lost:#?}");
    assert_no_rejected(&ring);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_trap_30_and_a_kill_give_each_packet_one_fate() {
    let mut ring = Ring::start_with(quick()).await.unwrap();
    let (status, _) = ring.request("PUT", "/chaos", br#"{"host":"*","trap":30}"#);
    assert_eq!(status, 200);
    let tap = ring.tap().await.unwrap();
    // Short lives under 30% traps: many end at once, some are on the way
    // when west dies.
    let mut ids = inject(&ring, r#"{"ttl":5,"count":40}"#).await;
    ring.kill_host("west");
    ids.extend(inject(&ring, r#"{"ttl":5,"count":40}"#).await);
    // West back, traps off: the marker packet can then live long enough.
    ring.start_host("west").unwrap();
    ring.wait_ready("west", Duration::from_secs(60)).unwrap();
    let (status, answer) = ring.request("PUT", "/chaos", br#"{"host":"*","trap":0}"#);
    assert_eq!(status, 200, "{answer}");
    let f = settled_fates(&ring, &tap, &ids, Duration::from_secs(60)).await;
    assert_one_fate_each(&f, &ids);
    assert_no_rejected(&ring);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hop_that_arrives_twice_runs_once() {
    let ring = Ring::start().await.unwrap();
    let client = ring.client().await.unwrap();
    let tap = ring.tap().await.unwrap();
    // We pose as a host named "tester": east acks to our ack subject.
    let acks_subject = lwc_wire::subjects::acks(&ring.lattice, "tester");
    let mut acks = client.subscribe(acks_subject.clone()).await.unwrap();
    client.flush().await.unwrap();
    let packet = 4_242_424_242;
    let inv = Invocation {
        packet,
        ttl: 6,
        chaos: 0,
        hops: 1,
        gen: 0,
        hop_id: 77,
        route: "default".into(),
    };
    // Traced, so that every hop it makes is an event we can count.
    let ctx = Context {
        caller: "control".into(),
        sender: "tester".into(),
        sent_ns: lwc_wire::now_ns(),
        trace: true,
        ..Context::default()
    };
    let frame = bytes::Bytes::from(inv.encode(&ctx));
    let subject = lwc_wire::subjects::rpc(&ring.lattice, "east");
    for _ in 0..2 {
        client.publish(subject.clone(), frame.clone()).await.unwrap();
    }
    client.flush().await.unwrap();
    // Two `accepted` (the second one re-acked), then one `done`.
    let mut seen = Vec::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        use futures::StreamExt;
        while let Some(msg) = acks.next().await {
            seen.extend(lwc_wire::acks::decode(&msg.payload).unwrap());
            if seen.iter().any(|(_, s)| *s == lwc_wire::acks::AckStatus::Done) {
                break;
            }
        }
    })
    .await;
    assert!(got.is_ok(), "no done ack; acks so far: {seen:?}");
    assert!(seen.iter().all(|(id, _)| *id == 77), "{seen:?}");
    let accepted = seen.iter().filter(|(_, s)| *s == lwc_wire::acks::AckStatus::Accepted).count();
    assert_eq!(accepted, 2, "the duplicate is acked again: {seen:?}");

    let f = settled_fates(&ring, &tap, &[packet], Duration::from_secs(20)).await;
    assert_eq!(f[&packet].len(), 1, "one packet, one fate: {:?}", f[&packet]);
    let runs = tap
        .events()
        .iter()
        .filter(|e| matches!(e, PacketEvent::Hop(h) if h.packet == packet && h.ttl == 6))
        .count();
    assert_eq!(runs, 1, "east ran the hop once");
    let visits = tap.events().iter().filter(|e| matches!(e, PacketEvent::Hop(h) if h.packet == packet)).count();
    assert_eq!(visits, 7, "ttl 6 is seven visits, once each");
    let hbs = ring
        .wait_heartbeats(Duration::from_secs(10), "east to count the duplicate", |hbs| {
            hbs.iter().any(|h| h.host == "east" && h.counters.rejected.contains_key("rpc-duplicate"))
        })
        .await;
    let east = hbs.iter().find(|h| h.host == "east").unwrap();
    assert_eq!(east.counters.rejected.get("rpc-duplicate"), Some(&1));
}

/// DESIGN's one exception: a packet whose holder and sender die together
/// gets no fate. It must then show in `/status` as orphaned, counted, and
/// stay in the book; every other packet still gets exactly one fate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_and_its_sender_dying_together_leave_orphans_counted_not_fates_doubled() {
    let mut ring = Ring::start_with(quick()).await.unwrap();
    // Packets linger at north: long past the few milliseconds in which the
    // host before east hears that east passed them on. Then only east
    // watches them, and east dies with north.
    let (status, answer) = ring.request("PUT", "/chaos", br#"{"host":"north","delay_ms":300}"#);
    assert_eq!(status, 200, "{answer}");
    let tap = ring.tap().await.unwrap();
    let ids = inject(&ring, r#"{"ttl":30000,"count":40}"#).await;
    mid_flight(&ring, "north").await;
    ring.kill_host("east");
    ring.kill_host("north");
    let orphaned = |ledger: &serde_json::Value| ledger["orphaned"].as_u64().unwrap_or(0);
    let (fated, ledger) = lwc_tests::wait::until_async(Duration::from_secs(90), "every packet fated or orphaned", || {
        let f = fates(&tap.events());
        let fated = ids.iter().filter(|id| f.contains_key(id)).count() as u64;
        let ledger = ring.ledger();
        let settled = fated + orphaned(&ledger) == ids.len() as u64 && ledger["in_flight"].as_u64() == Some(orphaned(&ledger));
        Ok(settled.then_some((f, ledger)))
    })
    .await
    .unwrap();
    eprintln!("settled: {ledger}");
    let doubled: Vec<_> = fated.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(doubled.is_empty(), "at most one fate each: {doubled:#?}");
    let unfated: Vec<u64> = ids.iter().copied().filter(|id| !fated.contains_key(id)).collect();
    assert!(!unfated.is_empty(), "most packets were waiting at north when it died: {ledger}");
    let listed: Vec<u64> = ledger["orphaned_packets"].as_array().unwrap().iter().filter_map(|v| v.as_u64()).collect();
    assert!(listed.iter().all(|p| unfated.contains(p)), "orphans listed {listed:?} are the unfated {unfated:?}");
    let lost = ledger["lost_total"].as_u64().unwrap();
    assert_eq!(ledger["injected"].as_u64(), Some(ledger["expired"].as_u64().unwrap() + lost + orphaned(&ledger)), "{ledger}");
    assert_no_rejected(&ring);
}

/// The control host is the fates' witness: a fate reported to it twice (a
/// re-send after a lost ack) is acked twice and published once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fate_reported_twice_is_published_once() {
    use futures::StreamExt;
    let ring = Ring::start().await.unwrap();
    let client = ring.client().await.unwrap();
    let tap = ring.tap().await.unwrap();
    let acks_subject = lwc_wire::fates::acks_subject(&ring.lattice, "tester");
    let mut acks = client.subscribe(acks_subject.clone()).await.unwrap();
    client.flush().await.unwrap();
    let packet = 5_151_515_151;
    let expired = format!(r#"{{"event":"expired","packet":{packet},"route":"default","hops":3,"lifetime_us":10,"host":"tester"}}"#);
    let subject = lwc_wire::fates::subject(&ring.lattice);
    for _ in 0..2 {
        client.publish_with_reply(subject.clone(), acks_subject.clone(), expired.clone().into()).await.unwrap();
    }
    // Not JSON, and not a fate: refused, not published, not acked.
    client.publish_with_reply(subject.clone(), acks_subject.clone(), "nonsense".into()).await.unwrap();
    client.flush().await.unwrap();
    let mut acked = Vec::new();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(msg) = acks.next().await {
            acked.extend(lwc_wire::fates::decode_acks(&msg.payload).unwrap());
            if acked.len() == 2 {
                break;
            }
        }
    })
    .await;
    assert!(got.is_ok(), "two acks expected, got {acked:?}");
    assert_eq!(acked, vec![packet, packet]);
    // A marker's fate, reported after ours, comes through the same witness.
    let f = settled_fates(&ring, &tap, &[packet], Duration::from_secs(20)).await;
    assert_eq!(f[&packet], vec!["expired by tester".to_string()], "published once");
}
