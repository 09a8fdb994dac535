//! Replicas: a component on three hosts (`hosts = [...]`) shares its hops
//! among them (a NATS queue group); losing one replica loses only what it
//! held, each packet still gets exactly one fate on the stream, and the
//! other replicas go on. A hop re-sent to a second replica runs once: on
//! the replica its sender commits.

use futures::StreamExt;
use lwc_tests::{fates, packet_ids, Ring, RingOpts};
use lwc_wire::acks::AckStatus;
use lwc_wire::events::PacketEvent;
use lwc_wire::invocation::{Context, Invocation};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const REPLICATED: &str = r#"
[lattice]
name = "default"

[hosts.a1]
[hosts.a2]
[hosts.a3]
[hosts.b]
[hosts.control]

[components.a]
hosts = ["a1", "a2", "a3"]
wasm = "../target/wasm32-wasip2/release/lwc_probe.wasm"

[components.b]
host = "b"
wasm = "../target/wasm32-wasip2/release/lwc_probe.wasm"

[components.control]
host = "control"
wasm = "../target/wasm32-wasip2/release/lwc_control.wasm"
http = "127.0.0.1:30000"

[links.a]
default = "b"
special = "b"

[links.b]
default = "a"
special = "a"

[links.control]
default = "a"
"#;

fn opts() -> RingOpts {
    let mut opts = RingOpts {
        hosts: vec!["a1", "a2", "a3", "b", "control"],
        manifest: Some(REPLICATED.into()),
        ..RingOpts::default()
    };
    opts.host_args.extend(["--finish-timeout-ms".to_string(), "2000".to_string()]);
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_one_of_three_replicas_loses_only_what_it_held() {
    let mut ring = Ring::start_with(opts()).await.unwrap();
    let status = ring
        .wait_status(Duration::from_secs(30), "all five hosts up", |s| {
            s["hosts"].as_array().is_some_and(|h| h.iter().filter(|h| h["up"] == true).count() == 5)
        })
        .await;
    let a = status["components"].as_array().unwrap().iter().find(|c| c["name"] == "a").unwrap().clone();
    assert_eq!(a["hosts"], serde_json::json!(["a1", "a2", "a3"]), "/status lists every replica: {a}");

    let tap = ring.tap().await.unwrap();
    let (status, answer) = ring.post("/packets", r#"{"ttl":3000,"count":40}"#);
    assert_eq!(status, 200, "{answer}");
    let ids = packet_ids(&answer);
    // Every replica takes its share of the hops before one of them dies.
    ring.wait_heartbeats(Duration::from_secs(30), "every replica serving", |hbs| {
        ["a1", "a2", "a3"].iter().all(|r| hbs.iter().any(|h| h.host == *r && h.counters.invocations > 50))
    })
    .await;
    ring.kill_host("a2");

    tap.wait_until(Duration::from_secs(60), "every packet to get a fate", |_| {
        let f = fates(&tap.events());
        ids.iter().all(|id| f.contains_key(id))
    })
    .await;
    // Packets after the loss go round on the two replicas left.
    let (status, answer) = ring.post("/packets", r#"{"ttl":200,"count":10}"#);
    assert_eq!(status, 200, "{answer}");
    let after = packet_ids(&answer);
    tap.wait_until(Duration::from_secs(60), "the packets sent after the loss to end", |_| {
        let f = fates(&tap.events());
        after.iter().all(|id| f.contains_key(id))
    })
    .await;
    let f = fates(&tap.events());
    let bad: Vec<String> = ids
        .iter()
        .chain(&after)
        .filter(|id| f.get(id).map(Vec::len) != Some(1))
        .map(|id| format!("{id}: {:?}", f.get(id)))
        .collect();
    assert!(bad.is_empty(), "packets without exactly one fate: {bad:#?}");
    let lost_first: usize = ids.iter().filter(|id| f[id][0].starts_with("lost")).count();
    assert!(lost_first < ids.len(), "a dead replica loses only what it held, not every packet: {f:?}");
    let expired_after = after.iter().filter(|id| f[id][0].starts_with("expired")).count();
    assert_eq!(expired_after, after.len(), "the two replicas left serve everything: {f:?}");
    let ledger = ring.ledger();
    let rejected: u64 = ledger["rejected"].as_object().map(|m| m.values().filter_map(|v| v.as_u64()).sum()).unwrap_or(0);
    assert_eq!(rejected, 0, "{ledger}");
}

/// The test speaks the hop protocol as a sender ("tester"): it publishes
/// one hop to component `a` until two replicas hold it (each re-send goes
/// to whichever replica the queue group picks), commits one and aborts the
/// rest. Only the committed replica runs it; the packet goes on from there
/// and gets one fate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hop_held_by_two_replicas_runs_once_on_the_one_committed() {
    let ring = Ring::start_with(opts()).await.unwrap();
    ring.wait_status(Duration::from_secs(30), "all five hosts up", |s| {
        s["hosts"].as_array().is_some_and(|h| h.iter().filter(|h| h["up"] == true).count() == 5)
    })
    .await;
    let client = ring.client().await.unwrap();
    let mut acks = client.subscribe(lwc_wire::subjects::acks(&ring.lattice, "tester")).await.unwrap();
    let tap = ring.tap().await.unwrap();
    let (packet, hop_id) = (0x7e57_0001u64, 0x7e57_0002u64);
    let inv = Invocation { packet, ttl: 5, chaos: 0, hops: 1, gen: 0, hop_id, route: "default".into() };
    let ctx = Context { caller: "tester".into(), sender: "tester".into(), sent_ns: lwc_wire::now_ns(), trace: true, ..Context::default() };
    let frame = bytes::Bytes::from(inv.encode(&ctx));
    let subject = lwc_wire::subjects::rpc(&ring.lattice, "a");

    let mut holders = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while holders.len() < 2 {
        assert!(Instant::now() < deadline, "two replicas should hold the hop; held by {holders:?}");
        client.publish(subject.clone(), frame.clone()).await.unwrap();
        // Whatever acks came meanwhile; a replica re-acks `held` until told.
        while let Ok(Some(msg)) = tokio::time::timeout(Duration::from_millis(50), acks.next()).await {
            let ack = lwc_wire::acks::decode_frame(&msg.payload).expect("a valid ack frame");
            assert!(!ack.entries.contains(&(hop_id, AckStatus::Accepted)), "a replica took the hop without our word: {ack:?}");
            if ack.entries.contains(&(hop_id, AckStatus::Held)) {
                holders.insert(ack.from);
            }
        }
    }
    let chosen = holders.iter().next().cloned().expect("a holder");
    for h in &holders {
        let word = if *h == chosen { AckStatus::Commit } else { AckStatus::Abort };
        let ack = lwc_wire::acks::encode("tester", &[(hop_id, word)]);
        client.publish(lwc_wire::subjects::acks(&ring.lattice, h), ack.into()).await.unwrap();
    }

    let events = tap
        .wait_until(Duration::from_secs(30), "the test's packet to end", |evs| {
            evs.iter().any(|e| matches!(e, PacketEvent::Expired(x) if x.packet == packet))
        })
        .await;
    let ours: Vec<_> = events.iter().filter_map(|e| match e {
        PacketEvent::Hop(h) if h.packet == packet && h.from == "tester" => Some(h.host.clone()),
        _ => None,
    }).collect();
    assert_eq!(ours, vec![chosen.clone()], "the hop ran once, on the committed replica (held by {holders:?})");
    let f = fates(&events);
    assert_eq!(f.get(&packet).map(Vec::len), Some(1), "one fate: {:?}", f.get(&packet));
    let aborted: Vec<&String> = holders.iter().filter(|h| **h != chosen).collect();
    ring.wait_heartbeats(Duration::from_secs(10), "the aborted replicas to drop their copies", |hbs| {
        aborted.iter().all(|a| hbs.iter().any(|h| h.host == **a && h.counters.rejected.get("rpc-superseded").copied().unwrap_or(0) >= 1))
    })
    .await;
}
