//! `lwc`, the CLI that runs rings: every subcommand against a real
//! nats-server and real hosts, no orphan processes after any way out
//! (down, kill, Ctrl-C, the supervisor itself killed), and clear errors for
//! bad manifests and bad flags. Each test has a state directory and ports
//! of its own, so a ring on port 30000 and the repo's .lwc/ are untouched.
//!
//! - here: rings run detached, through every subcommand
//! - [`cli_exits`]: the ways out (Ctrl-C, the supervisor killed) leave nothing
//! - [`cli_errors`]: bad input, the hand-overs to lwc-dash and lwc-lab, ring.sh
//! - [`cli_lwc`]: the harness

#[path = "cli_errors.rs"]
mod cli_errors;
#[path = "cli_exits.rs"]
mod cli_exits;
#[path = "cli_lwc.rs"]
mod cli_lwc;

use cli_lwc::{healthy, nats_url_of, processes_mentioning, text, wait_gone, Lwc};
use futures::StreamExt;
use lwc_tests::{wait, Heartbeats};
use serde_json::Value;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_ring_through_every_subcommand() {
    let lwc = Lwc::new();
    let out = lwc.up_detached();
    assert!(text(&out).contains("ring up"), "{}", text(&out));
    let env = lwc.ring_env();
    let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["LWC_NATS_URL", "LWC_NATS_TOKEN", "LWC_HTTP", "LWC_LATTICE"]);
    assert_eq!(lwc.env("LWC_HTTP"), format!("http://127.0.0.1:{}", lwc.http_port));
    assert_eq!(lwc.env("LWC_LATTICE"), "cli");
    let first = lwc.pids();

    // A second up finds it and says where it is.
    let again = text(&lwc.run(&["up", "--detach"]));
    assert!(again.contains(&format!("already up at http://127.0.0.1:{}", lwc.http_port)), "{again}");

    // inject, and the packets expire: watched on the lattice itself.
    let client = lwc.client().await;
    let mut events = client.subscribe("lwc.cli.events.packet").await.unwrap();
    // On the server, not just written out: the hosts publish on their own
    // connections.
    lwc_testkit::nats::round_trip(&client).await.unwrap();
    let out = lwc.run(&["inject", "--count", "3", "--ttl", "4", "--route", "default"]);
    assert!(out.status.success(), "{}", text(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["packets"].as_array().map(Vec::len), Some(3), "{answer}");
    let mut expired = 0;
    tokio::time::timeout(Duration::from_secs(20), async {
        while expired < 3 {
            let msg = events.next().await.unwrap();
            let e: Value = serde_json::from_slice(&msg.payload).unwrap();
            if e["event"] == "expired" {
                expired += 1;
            }
        }
    })
    .await
    .expect("3 expired events");

    // status, as JSON and as tables. The control host's ledger follows the
    // same events a moment later: look until it has counted them.
    let mut last = Value::Null;
    let status = wait::until_async(Duration::from_secs(10), "the ledger to show 3 expired", || {
        let out = lwc.run(&["status", "--json"]);
        anyhow::ensure!(out.status.success(), "{}", text(&out));
        last = serde_json::from_slice(&out.stdout)?;
        Ok((last["status"]["ledger"]["expired"].as_u64() == Some(3)).then(|| last.clone()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(status["processes"].as_array().map(Vec::len), Some(3), "{status}");
    assert_eq!(status["status"]["lattice"], "cli", "{status}");
    assert_eq!(status["status"]["ledger"]["injected"], 3, "{status}");
    let table = text(&lwc.run(&["status"]));
    assert!(table.contains("HOST") && table.contains("LINK SOURCE") && table.contains("ledger:"), "{table}");

    // kill: the process is gone, its pid file too; start brings it back healthy.
    let out = lwc.run(&["kill", "a"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_gone(&[first[0]], Duration::from_secs(5));
    assert_eq!(lwc.pid("a"), None);
    let out = lwc.run(&["kill", "a"]);
    assert!(!out.status.success() && text(&out).contains("a is not running"), "{}", text(&out));
    let out = lwc.run(&["start", "a"]);
    assert!(out.status.success() && text(&out).contains("a ready"), "{}", text(&out));
    let a2 = lwc.pid("a").unwrap();
    assert_ne!(a2, first[0]);
    healthy(&client, "a").await;

    // restart-nats: a new server on the same port, and the hosts come back.
    let out = lwc.run(&["restart-nats"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_gone(&[first[2]], Duration::from_secs(5));
    assert_ne!(lwc.pid("nats"), Some(first[2]));
    let client = lwc.client().await;
    healthy(&client, "a").await;
    healthy(&client, "control").await;

    // down: nothing of the ring is left.
    let out = lwc.run(&["down"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_gone(&[a2, first[1], lwc.pid("nats").unwrap_or(0)], Duration::from_secs(15));
    assert!(!lwc.state().join("ring.env").exists());
    assert!(processes_mentioning(&lwc.root()).is_empty());
    assert!(text(&lwc.run(&["status"])).contains("no ring is up"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_ring_on_a_cluster_survives_a_server_restart() {
    let lwc = Lwc::new();
    let mut up = lwc.up_args();
    up.extend(["--size", "3", "--cluster", "2", "--detach"].map(String::from));
    let out = lwc.run(&up.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("cluster of 2 servers meshed"), "{}", text(&out));
    let manifest = std::fs::read_to_string(lwc.state().join("ring-3.toml")).unwrap();
    assert!(manifest.contains("[links.p003]\ndefault = \"p001\""), "{manifest}");
    let hosts = ["control", "p001", "p002", "p003"];
    for name in hosts.iter().chain(&["nats", "nats-2"]) {
        assert!(lwc.pid(name).is_some(), "{name}.pid: {}", text(&out));
    }
    // Spread over both servers; ring.env names server 1.
    let urls: std::collections::BTreeSet<String> = hosts.iter().map(|h| nats_url_of(lwc.pid(h).unwrap())).collect();
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert!(urls.contains(&lwc.env("LWC_NATS_URL")), "{urls:?}");

    let client = lwc.client().await;
    let tap = lwc_tests::Tap::start(&client, "lwc.default.events.packet").await.unwrap();
    let old = lwc.pid("nats-2").unwrap();
    let out = lwc.run(&["restart-nats", "--server", "2"]);
    assert!(out.status.success() && text(&out).contains("meshed"), "{}", text(&out));
    wait_gone(&[old], Duration::from_secs(5));
    assert_ne!(lwc.pid("nats-2"), Some(old));
    let out = lwc.run(&["restart-nats", "--server", "3"]);
    assert!(!out.status.success() && text(&out).contains("this ring has 2 nats-server(s)"), "{}", text(&out));

    // Packets cross both servers: every one expires.
    let mut beats = Heartbeats::subscribe(&client, "default").await.unwrap();
    beats.until(Duration::from_secs(20), "every host connected", |hbs| {
        hosts.iter().all(|h| hbs.iter().any(|b| b.host == *h && b.connected))
    }).await.unwrap();
    let out = lwc.run(&["inject", "--count", "8", "--ttl", "30"]);
    assert!(out.status.success(), "{}", text(&out));
    let events = tap.wait_until(Duration::from_secs(30), "8 expired", |e| {
        e.iter().filter(|e| matches!(e, lwc_wire::events::PacketEvent::Expired(_))).count() >= 8
    }).await;
    assert!(!events.iter().any(|e| matches!(e, lwc_wire::events::PacketEvent::Lost(_))), "{events:?}");

    // kill and start one host of it; down leaves nothing.
    let out = lwc.run(&["kill", "p002"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = lwc.run(&["start", "p002"]);
    assert!(out.status.success() && text(&out).contains("p002 ready"), "{}", text(&out));
    let out = lwc.run(&["down"]);
    assert!(out.status.success(), "{}", text(&out));
    let none_left = wait::until(Duration::from_secs(15), "no process of the ring left", || {
        Ok(processes_mentioning(&lwc.root()).is_empty().then_some(()))
    });
    none_left.unwrap_or_else(|e| panic!("{e}: {:?}", processes_mentioning(&lwc.root())));
    assert!(!lwc.state().join("nats-2.pid").exists() && !lwc.state().join("nats-2.conf").exists());
}
