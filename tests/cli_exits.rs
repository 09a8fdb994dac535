//! The ways out of an attached `lwc up`: Ctrl-C, and the supervisor
//! itself killed. Neither leaves a process of the ring behind.

use super::cli_lwc::{processes_mentioning, text, up_attached, wait_gone, Lwc};
use lwc_tests::wait;
use std::time::Duration;

#[test]
fn ctrl_c_stops_what_an_attached_up_started() {
    let lwc = Lwc::new();
    let (mut child, _err) = up_attached(&lwc);
    let pids = lwc.pids();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "Ctrl-C exit status");
    wait_gone(&pids, Duration::from_secs(15));
    assert!(!lwc.state().join("ring.env").exists(), "state files removed");
}

#[test]
fn killing_the_supervisor_leaves_no_orphans() {
    let lwc = Lwc::new();
    let (mut child, _err) = up_attached(&lwc);
    // A host restarted by another lwc call must die with the supervisor too.
    let out = lwc.run(&["start", "a"]);
    assert!(out.status.success(), "{}", text(&out));
    let pids = lwc.pids();
    let ours = processes_mentioning(&lwc.root());
    assert!(ours.len() >= 4, "supervisor, a, control, nats (and a guard): {ours:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    wait_gone(&pids, Duration::from_secs(15));
    let none_left = wait::until(Duration::from_secs(15), "no process of the ring left", || {
        Ok(processes_mentioning(&lwc.root()).is_empty().then_some(()))
    });
    if let Err(e) = none_left {
        panic!("{e}: orphans: {:?}", processes_mentioning(&lwc.root()));
    }
    // The stale files are recognised as a ring that is gone.
    assert!(text(&lwc.run(&["status"])).contains("no ring is up"));
}

/// `lwc down` stops the probe hosts first, then the control host (the
/// fates' witness), then nats-server: every packet still in flight gets
/// exactly one fate on the stream before the lattice goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_with_packets_in_flight_gives_each_one_fate() {
    use futures::StreamExt;
    let lwc = Lwc::new();
    lwc.up_detached();
    let client = lwc.client().await;
    let mut events = client.subscribe("lwc.cli.events.packet").await.unwrap();
    lwc_testkit::nats::round_trip(&client).await.unwrap();
    let url = format!("{}/packets", lwc.env("LWC_HTTP"));
    let body = ureq::post(&url).send_string(r#"{"ttl":1000000,"count":20}"#).unwrap().into_string().unwrap();
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    let ids: Vec<u64> = answer["packets"].as_array().unwrap().iter().filter_map(|v| v.as_u64()).collect();
    assert_eq!(ids.len(), 20, "{answer}");
    let down = tokio::task::spawn_blocking(move || {
        let out = lwc.run(&["down"]);
        assert!(out.status.success(), "{}", text(&out));
    });
    let mut fates: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    // Ends when nats-server goes (the subscription then waits in vain).
    let _ = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(msg) = events.next().await {
            if let Ok(e) = serde_json::from_slice::<lwc_wire::events::PacketEvent>(&msg.payload) {
                if let Some(p) = e.fate_of() {
                    *fates.entry(p).or_default() += 1;
                }
            }
            if ids.iter().all(|id| fates.contains_key(id)) {
                break;
            }
        }
    })
    .await;
    down.await.unwrap();
    let bad: Vec<_> = ids.iter().filter(|id| fates.get(id) != Some(&1)).map(|id| (id, fates.get(id))).collect();
    assert!(bad.is_empty(), "packets without exactly one fate after lwc down: {bad:?}");
}
