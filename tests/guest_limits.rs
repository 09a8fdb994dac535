//! A guest cannot exhaust its host: besides memory and time, the host
//! resources an instance may hold are capped (DESIGN, Host runtime).
//!
//! The runaway component's `handles` mode creates `call-target-interface`
//! handles in a loop and never drops one. Each such hop must trap at the
//! cap, be accounted as lost (trap before forward) with a reason that says
//! so, and leave the host's peak memory (VmHWM) where it was.

use lwc_tests::{Ring, RingOpts};
use lwc_wire::events::PacketEvent;
use std::time::Duration;


/// Hops of the runaway in `handles` mode, all in flight at once.
const HOARDERS: u64 = 16;
/// How much the host's peak resident memory may grow over them. Without a
/// cap, one hoarding hop grows it by well over 100 MiB before the deadline.
const PEAK_GROWTH_BOUND: u64 = 32 << 20;

/// A field of /proc/<pid>/status in bytes (VmRSS, VmHWM: given in kB).
fn proc_status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("host's /proc status");
    let line = status
        .lines()
        .find(|l| l.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unreadable {line:?}"));
    kb << 10
}

fn losses(evs: &[PacketEvent]) -> usize {
    evs.iter().filter(|e| matches!(e, PacketEvent::Lost(_))).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_hoarding_handles_traps_at_the_cap_and_the_host_does_not_grow() {
    let mut opts = RingOpts::default();
    opts.hosts = vec!["spin", "control"];
    opts.manifest = Some(lwc_tests::RUNAWAY_RING.to_string());
    opts.host_args.extend(["--finish-timeout-ms".into(), "3000".into()]);
    let ring = Ring::start_with(opts).await.unwrap();
    let tap = ring.tap().await.unwrap();
    let pid = ring.hosts.iter().find(|p| p.name == "spin").and_then(|p| p.pid()).expect("spin's pid");

    // Warm-up: one instance of the runaway (a loop, stopped by the deadline),
    // so the peak below is the serving host's, not its start's.
    let (status, answer) = ring.post("/packets", r#"{"ttl":3,"route":"loop"}"#);
    assert_eq!(status, 200, "{answer}");
    tap.wait_until(Duration::from_secs(15), "the warm-up loss", |evs| losses(evs) >= 1).await;
    let peak_before = proc_status_bytes(pid, "VmHWM");

    let body = format!(r#"{{"ttl":3,"route":"handles","count":{HOARDERS}}}"#);
    let (status, answer) = ring.post("/packets", &body);
    assert_eq!(status, 200, "{answer}");
    let want = 1 + HOARDERS as usize;
    tap.wait_until(Duration::from_secs(30), "every hoarder lost", |evs| losses(evs) >= want).await;
    let peak_after = proc_status_bytes(pid, "VmHWM");

    let (_, lost) = tap.fates();
    let hoarders: Vec<_> = lost.iter().filter(|l| l.route == "handles").collect();
    assert_eq!(hoarders.len() as u64, HOARDERS, "{lost:?}");
    for l in &hoarders {
        assert_eq!(l.reason.as_str(), "trap-before-forward", "{l:?}");
        assert!(
            l.detail.contains("spin holds 1000 host resources"),
            "the trap names the cap: {:?}",
            l.detail
        );
    }
    let growth = peak_after.saturating_sub(peak_before);
    assert!(
        growth < PEAK_GROWTH_BOUND,
        "the host's peak RSS grew by {} KiB (from {} KiB) over {HOARDERS} hoarding hops",
        growth >> 10,
        peak_before >> 10
    );

    // Every packet has its one fate, and the host still serves.
    let ledger = ring.settled_ledger(want as u64, Duration::from_secs(10)).await;
    assert_eq!(ledger["lost"]["trap-before-forward"], HOARDERS, "{ledger}");
    let client = ring.client().await.unwrap();
    let reply = client
        .request(lwc_wire::subjects::health(&ring.lattice, "spin"), "".into())
        .await
        .unwrap();
    let health: lwc_wire::status::Health = serde_json::from_slice(&reply.payload).unwrap();
    assert!(health.healthy, "{}", health.message);
}
