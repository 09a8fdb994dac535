//! The ledger holds through faults: every injected packet ends in exactly one
//! `expired` or one `lost` with a reason, and the ring keeps serving.

use lwc_tests::{packet_ids, total, traced, Ring, RingOpts};
use serde_json::Value;
use std::time::Duration;

fn adds_up(ledger: &Value) {
    let n = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("number in {ledger}"));
    assert_eq!(n(&ledger["in_flight"]), 0, "{ledger}");
    assert_eq!(
        n(&ledger["injected"]),
        n(&ledger["expired"]) + n(&ledger["lost_total"]),
        "injected = expired + lost: {ledger}"
    );
    let by_reason: u64 = ledger["lost"].as_object().unwrap().values().map(n).sum();
    assert_eq!(by_reason, n(&ledger["lost_total"]), "every loss has a reason: {ledger}");
}

/// Faster failure detection for tests: 200 ms hop timeout, 2 s to finish.
fn quick() -> RingOpts {
    let mut opts = RingOpts::default();
    opts.host_args.extend(["--finish-timeout-ms".to_string(), "2000".to_string()]);
    opts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packet_chaos_50_traps_but_every_packet_expires() {
    let ring = Ring::start().await.unwrap();
    let (status, answer) = ring.post("/packets", r#"{"ttl":200,"chaos":50,"count":20}"#);
    assert_eq!(status, 200, "{answer}");
    let ledger = ring.settled_ledger(20, Duration::from_secs(60)).await;
    adds_up(&ledger);
    assert_eq!(ledger["expired"], 20, "{ledger}");
    // Heartbeats sent from now on count every trap of those packets.
    let traps = total(&ring.heartbeats().await.unwrap(), |h| h.counters.trap);
    // 4,000 visits at 50%: far from 0 and from 4,000.
    assert!((1_000..3_000).contains(&traps), "traps counted: {traps}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_trap_30_loses_packets_with_reasons_and_the_ledger_adds_up() {
    let ring = Ring::start().await.unwrap();
    let (status, _) = ring.request("PUT", "/chaos", br#"{"host":"*","trap":30}"#);
    assert_eq!(status, 200);
    let (status, answer) = ring.post("/packets", r#"{"ttl":10,"count":50}"#);
    assert_eq!(status, 200, "{answer}");
    let ledger = ring.settled_ledger(50, Duration::from_secs(30)).await;
    adds_up(&ledger);
    assert_eq!(ledger["injected"], 50);
    let lost = ledger["lost"]["trap-before-forward"].as_u64().unwrap_or(0);
    // Surviving 11 visits at 70% each: about 2% do.
    assert!(lost >= 40, "{ledger}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_host_mid_flight_accounts_for_every_packet() {
    let mut ring = Ring::start_with(quick()).await.unwrap();
    let (status, answer) = ring.post("/packets", r#"{"ttl":4000,"count":20}"#);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(packet_ids(&answer).len(), 20);
    // Mid-flight: west has served some of their hops.
    ring.wait_heartbeats(Duration::from_secs(10), "west to serve hops", |hbs| {
        hbs.iter().any(|h| h.host == "west" && h.counters.invocations > 0)
    })
    .await;
    ring.kill_host("west");

    let ledger = ring.settled_ledger(20, Duration::from_secs(20)).await;
    adds_up(&ledger);
    assert_eq!(ledger["injected"], 20);
    assert_eq!(ledger["lost"]["unreachable"], 20, "every packet meets dead west: {ledger}");

    ring.start_host("west").unwrap();
    ring.wait_ready("west", Duration::from_secs(30)).unwrap();
    let (_, hops, _) = traced(&ring, r#"{"ttl":8,"trace":true}"#).await;
    assert_eq!(hops.len(), 9, "the full ring delivers again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_restart_mid_flight_loses_nothing_silently() {
    let mut ring = Ring::start_with(quick()).await.unwrap();
    let (status, answer) = ring.post("/packets", r#"{"ttl":3000,"count":20}"#);
    assert_eq!(status, 200, "{answer}");
    // Mid-flight: the hosts are passing them round.
    ring.wait_heartbeats(Duration::from_secs(10), "hops under way", |hbs| {
        total(hbs, |h| h.counters.invocations) > 0
    })
    .await;
    ring.nats.restart().unwrap();

    let ledger = ring.settled_ledger(20, Duration::from_secs(30)).await;
    adds_up(&ledger);
    assert_eq!(ledger["injected"], 20, "{ledger}");

    let (_, hops, _) = traced(&ring, r#"{"ttl":8,"trace":true}"#).await;
    assert_eq!(hops.len(), 9, "hosts reconnected and the ring delivers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_ctl_subjects_is_rejected_and_counted() {
    let ring = Ring::start().await.unwrap();
    let client = ring.client().await.unwrap();
    let l = &ring.lattice;
    let forged = [
        (format!("lwc.{l}.ctl.links"), &b"not json"[..]),
        (format!("lwc.{l}.ctl.chaos"), br#"{"op":"chaos-set","version":99,"host":"atlantis","chaos":{"trap":100,"delay_ms":0,"jitter_ms":0,"drop":0,"down_until_ns":0}}"#),
        (format!("lwc.{l}.ctl.links"), br#"{"op":"link-put","version":99,"link":{"source":"ghost","name":"default","target":"east"}}"#),
        (format!("lwc.{l}.ctl.whatever"), b"{}"),
        (format!("lwc.{l}.events.packet"), br#"{"event":"expired","packet":12345,"route":"default","hops":3,"lifetime_us":1,"host":"east"}"#),
        (format!("lwc.{l}.hosts.east.acks"), b"\x01\xff\xff"),
    ];
    for (subject, body) in &forged {
        client.publish(subject.clone(), body.to_vec().into()).await.unwrap();
    }
    client.flush().await.unwrap();

    let hbs = ring
        .wait_heartbeats(Duration::from_secs(10), "the forgeries rejected", |hbs| {
            total(hbs, |h| h.counters.rejected.get("ctl").copied().unwrap_or(0)) >= 5 * 4
                && hbs.iter().any(|h| h.host == "east" && h.counters.rejected.contains_key("ack"))
        })
        .await;
    let ctl_rejected = total(&hbs, |h| h.counters.rejected.get("ctl").copied().unwrap_or(0));
    assert!(ctl_rejected >= 5 * 4, "each host rejects the 4 ctl forgeries: {ctl_rejected}");
    let east = hbs.iter().find(|h| h.host == "east").unwrap();
    assert_eq!(east.counters.rejected.get("ack"), Some(&1), "{:?}", east.counters.rejected);

    // Nothing changed: links, chaos, ledger.
    let ledger = ring
        .wait_status(Duration::from_secs(10), "the forged expired rejected", |st| {
            st["ledger"]["rejected"]["fate-for-unknown-packet"].as_u64().is_some_and(|n| n >= 1)
        })
        .await["ledger"]
        .clone();
    assert_eq!(ledger["expired"], 0, "a forged expired is not counted: {ledger}");
    assert_eq!(ledger["rejected"]["fate-for-unknown-packet"], 1);
    let (_, hops, _) = traced(&ring, r#"{"ttl":8,"trace":true}"#).await;
    assert_eq!(hops.len(), 9);
    let (_, chaos) = ring.get("/chaos");
    assert!(chaos["chaos"].as_array().unwrap().iter().all(|c| c["trap"] == 0), "{chaos}");
}


#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_guests_are_stopped_and_the_host_serves_on() {
    let mut opts = quick();
    opts.hosts = vec!["spin", "control"];
    opts.manifest = Some(lwc_tests::RUNAWAY_RING.to_string());
    opts.host_args.extend(["--deadline-ms".into(), "200".into(), "--max-memory-mb".into(), "16".into()]);
    let ring = Ring::start_with(opts).await.unwrap();
    let tap = ring.tap().await.unwrap();

    // A loop: stopped by the epoch deadline. Twice, so the host served on.
    for _ in 0..2 {
        let (status, answer) = ring.post("/packets", r#"{"ttl":3,"route":"loop"}"#);
        assert_eq!(status, 200, "{answer}");
    }
    // A memory hog: stopped by the memory limit.
    let (status, answer) = ring.post("/packets", r#"{"ttl":3,"route":"hog"}"#);
    assert_eq!(status, 200, "{answer}");

    tap.wait_until(Duration::from_secs(15), "3 losses", |evs| {
        evs.iter().filter(|e| matches!(e, lwc_wire::events::PacketEvent::Lost(_))).count() >= 3
    })
    .await;
    let (_, lost) = tap.fates();
    let mut reasons: Vec<_> = lost.iter().map(|l| (l.route.as_str(), l.reason.as_str())).collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [("hog", "trap-before-forward"), ("loop", "timeout"), ("loop", "timeout")],
        "{lost:?}"
    );
    let ledger = ring.settled_ledger(3, Duration::from_secs(5)).await;
    adds_up(&ledger);

    let client = ring.client().await.unwrap();
    let reply = client
        .request(lwc_wire::subjects::health(&ring.lattice, "spin"), "".into())
        .await
        .unwrap();
    let health: lwc_wire::status::Health = serde_json::from_slice(&reply.payload).unwrap();
    assert!(health.healthy, "{}", health.message);
}
