//! Replicas: a component on three hosts (`hosts = [...]`) shares its hops
//! among them (a NATS queue group); losing one replica loses only what it
//! held, each packet still gets exactly one fate on the stream, and the
//! other replicas go on.

use lwc_tests::{fates, packet_ids, Ring, RingOpts};
use std::time::Duration;

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
