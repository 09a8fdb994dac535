//! Latencies do not trust hosts' clocks. Two rings run side by side, alike
//! but for one thing: on one, north's clock is 50 ms ahead and south's
//! 30 ms behind (`lwc-host --test-clock-shift-ms`). Packets go round them in
//! turn, so both see the same moments of this machine's load, and every
//! edge's p50 on the shifted ring stays within 10 % (or 50 µs) of the plain
//! ring's, as the issue asks. Lifetimes stay true, the senders report the
//! offsets in heartbeats and `GET /status`, and a host restarted with its
//! clock back in step is estimated anew.

use lwc_tests::{Ring, RingOpts};
use lwc_wire::events::PacketEvent;
use lwc_wire::status::Heartbeat;
use std::collections::BTreeMap;
use std::time::Duration;

const NORTH_MS: i64 = 50;
const SOUTH_MS: i64 = -30;
/// Packets of 100 hops sampled on each ring, alternately.
const ROUNDS: usize = 16;

type Edge = (String, String);

/// The estimate `from` has of `peer`'s clock, in its latest heartbeat.
fn estimate(hbs: &[Heartbeat], from: &str, peer: &str) -> Option<lwc_wire::status::PeerClock> {
    hbs.iter().find(|h| h.host == from)?.clocks.get(peer).copied()
}

/// Whether `from` estimates `peer` `ms` off, give or take its uncertainty
/// and a millisecond.
fn knows(hbs: &[Heartbeat], from: &str, peer: &str, ms: i64) -> bool {
    estimate(hbs, from, peer).is_some_and(|c| (c.offset_us - ms * 1_000).unsigned_abs() <= c.uncertainty_us + 1_000)
}

fn shift_args(ms: i64) -> Vec<String> {
    vec!["--test-clock-shift-ms".to_string(), ms.to_string()]
}

/// Run a packet round until `ring`'s senders to north and south (on the
/// default route, east and west) estimate them `north` and `south` ms off.
async fn wait_estimates(ring: &Ring, north: i64, south: i64) {
    let what = format!("east to see north at {north} ms and west south at {south} ms");
    lwc_tests::traced(ring, r#"{"ttl":200,"trace":true}"#).await;
    ring.wait_heartbeats(Duration::from_secs(20), &what, |hbs| {
        knows(hbs, "east", "north", north) && knows(hbs, "west", "south", south)
    })
    .await;
}

/// One traced packet of 100 hops: its hop latencies, by edge.
async fn sample(ring: &Ring, into: &mut BTreeMap<Edge, Vec<u64>>) {
    let (_, hops, _) = lwc_tests::traced(ring, r#"{"ttl":100,"trace":true}"#).await;
    for h in hops {
        into.entry((h.from, h.to)).or_default().push(h.latency_us);
    }
}

fn p50s(by_edge: BTreeMap<Edge, Vec<u64>>) -> BTreeMap<Edge, u64> {
    by_edge
        .into_iter()
        .filter(|(_, v)| v.len() >= 100)
        .map(|(edge, mut v)| (edge, median(&mut v)))
        .collect()
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

/// A short packet's lifetime: 42 probe visits (east, north, west, south, …)
/// ending on north; uncorrected, it would be 50 ms longer with the shift.
async fn lifetime_us(ring: &Ring) -> u64 {
    let (id, _, events) = lwc_tests::traced(ring, r#"{"ttl":41,"trace":true}"#).await;
    events
        .iter()
        .find_map(|e| match e {
            PacketEvent::Expired(x) if x.packet == id => {
                assert_eq!(x.host, "north", "the short packet should expire on north");
                Some(x.lifetime_us)
            }
            _ => None,
        })
        .expect("the short packet expired")
}

/// east's estimate of north, from `GET /status`.
fn north_in_status(ring: &Ring) -> i64 {
    let (status, st) = ring.get("/status");
    assert_eq!(status, 200, "{st}");
    let east = st["hosts"].as_array().and_then(|hs| hs.iter().find(|h| h["host"] == "east")).expect("east in /status");
    println!("east's clocks: {}", east["clocks"]);
    east["clocks"]["north"]["offset_us"].as_i64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shifted_clocks_leave_edge_latencies_and_lifetimes_as_they_are() {
    let shifted_opts = RingOpts {
        args_for: vec![("north", shift_args(NORTH_MS)), ("south", shift_args(SOUTH_MS))],
        ..RingOpts::default()
    };
    let plain_ring = Ring::start().await.expect("start the plain ring");
    let mut shifted_ring = Ring::start_with(shifted_opts).await.expect("start the shifted ring");
    // Warm both (compiled, connected, estimated) before anything is counted.
    wait_estimates(&plain_ring, 0, 0).await;
    wait_estimates(&shifted_ring, NORTH_MS, SOUTH_MS).await;

    let (mut plain, mut shifted) = (BTreeMap::new(), BTreeMap::new());
    let (mut plain_life, mut shifted_life) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        // Which ring goes first alternates, so neither is always the warmer.
        let rings = [(&plain_ring, &mut plain, &mut plain_life), (&shifted_ring, &mut shifted, &mut shifted_life)];
        let order: Vec<_> = if round % 2 == 0 { rings.into_iter().collect() } else { rings.into_iter().rev().collect() };
        for (ring, hops, life) in order {
            sample(ring, hops).await;
            life.push(lifetime_us(ring).await);
        }
    }

    let north_us = north_in_status(&shifted_ring);
    assert!((north_us - NORTH_MS * 1_000).abs() < 5_000, "east's estimate of north: {north_us} µs");
    assert!(north_in_status(&plain_ring).abs() < 1_000, "the plain ring's clocks are in step");

    let (plain, shifted) = (p50s(plain), p50s(shifted));
    println!("edge p50s (µs): {shifted:?} shifted, {plain:?} plain");
    println!("lifetimes (µs): {shifted_life:?} shifted, {plain_life:?} plain");
    assert_eq!(plain.len(), 4, "the four probe edges: {plain:?}");
    for (edge, &p50) in &plain {
        let got = *shifted.get(edge).unwrap_or_else(|| panic!("{edge:?} not measured with shifts"));
        let allowed = (p50 / 10).max(50);
        assert!(
            got.abs_diff(p50) <= allowed,
            "{edge:?}: p50 {got} µs with shifted clocks, {p50} µs without (± {allowed} µs allowed)\nall: {shifted:?} vs {plain:?}"
        );
    }
    // One packet's lifetime varies by milliseconds; their medians do not.
    let (s, p) = (median(&mut shifted_life), median(&mut plain_life));
    assert!(s.abs_diff(p) <= (p / 2).max(5_000), "median lifetime {s} µs with shifted clocks, {p} µs without");

    // A host back in step under the same name: its old samples no longer
    // fit, and the estimate starts again instead of keeping +50 ms.
    shifted_ring.restart_host_with("north", shift_args(0)).expect("restart north in step");
    wait_estimates(&shifted_ring, 0, SOUTH_MS).await;
}
