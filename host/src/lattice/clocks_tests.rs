use super::*;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// Our wall clock at `now`; the peer's is `true_offset` ahead. One round
/// trip with the given one-way delays and time at the peer.
fn round_trip(peer: &str, now_ns: u64, true_offset: i64, there: u64, back: u64, held: u64) -> (ClockSample<'_>, u64) {
    let t1 = now_ns;
    let t2 = (t1 + there) as i64 + true_offset;
    let t3 = t2 + held as i64;
    let t4 = t1 + there + held + back;
    let sample = ClockSample {
        host: peer.into(),
        component: "north".into(),
        sent_ns: t1,
        recv_ns: t2 as u64,
        ack_ns: t3 as u64,
    };
    (sample, t4)
}

#[test]
fn the_estimate_always_brackets_the_true_offset_and_converges() {
    for seed in [1u64, 7, 42, 1234] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut clocks = Clocks::default();
        let true_offset: i64 = rng.random_range(-80_000_000..80_000_000);
        let mut wall = 1_800_000_000_000_000_000u64;
        for step in 0..500u64 {
            // Asymmetric, bursty delays: mostly 50–150 µs each way, one
            // in five anywhere up to 3 ms (a busy core, a batched ack).
            let mut delay = || match rng.random_range(0..5) {
                0 => rng.random_range(50_000..3_000_000),
                _ => rng.random_range(50_000..150_000),
            };
            let (there, back) = (delay(), delay());
            let held = rng.random_range(0..200_000);
            let (s, t4) = round_trip("north-1", wall, true_offset, there, back, held);
            assert!(clocks.observe(step * 1_000_000, &s, t4));
            let e = clocks.estimate("north-1").expect("an estimate");
            let error = (e.offset_ns - true_offset).unsigned_abs();
            assert!(error <= e.uncertainty_ns, "seed {seed} step {step}: off by {error} ns, ± {}", e.uncertainty_ns);
            wall += 1_000_000;
        }
        let e = clocks.estimate("north-1").expect("an estimate");
        // The best of 64 such samples has both directions under 150 µs.
        assert!(e.uncertainty_ns < 150_000, "seed {seed}: ± {} ns", e.uncertainty_ns);
        assert!((e.offset_ns - true_offset).abs() < 150_000, "seed {seed}");
    }
}

#[test]
fn a_hop_for_a_component_gets_the_offset_of_the_host_that_last_acked_for_it() {
    let mut clocks = Clocks::default();
    assert_eq!(clocks.offset_for("north"), 0, "nothing known yet");
    let (s, t4) = round_trip("north-1", 1_000_000_000, 50_000_000, 100_000, 100_000, 0);
    clocks.observe(0, &s, t4);
    assert_eq!(clocks.offset_for("north"), 50_000_000);
    assert_eq!(clocks.offset_for("west"), 0);
    let (s, t4) = round_trip("north-2", 2_000_000_000, -30_000_000, 100_000, 100_000, 0);
    clocks.observe(1, &s, t4);
    assert_eq!(clocks.offset_for("north"), -30_000_000);
    let names: Vec<_> = clocks.estimates().into_iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(names, ["north-1", "north-2"]);
}

#[test]
fn impossible_samples_are_refused_and_old_ones_age_out() {
    let mut clocks = Clocks::default();
    let (mut s, t4) = round_trip("east", 5_000_000_000, 0, 100_000, 100_000, 0);
    // The ack "arrived" before the hop was sent.
    assert!(!clocks.observe(0, &s, s.sent_ns - 1));
    // The peer "acked" before it received.
    let recv = s.recv_ns;
    s.ack_ns = recv - 1;
    assert!(!clocks.observe(0, &s, t4));
    // A round trip of a minute.
    s.ack_ns = recv;
    assert!(!clocks.observe(0, &s, t4 + 60_000_000_000));
    assert_eq!(clocks.refused, 3);
    assert_eq!(clocks.estimate("east"), None);
    // A quick round trip, then a slow one more than MAX_AGE later: the
    // quick one no longer counts, but a quiet peer keeps its estimate.
    let (s, t4) = round_trip("east", 5_000_000_000, 0, 10_000, 10_000, 0);
    assert!(clocks.observe(0, &s, t4));
    let (s, t4) = round_trip("east", 6_000_000_000, 0, 100_000, 100_000, 0);
    assert!(clocks.observe(MAX_AGE, &s, t4));
    assert_eq!(clocks.estimate("east").map(|e| e.uncertainty_ns), Some(10_000), "both count");
    assert!(clocks.observe(MAX_AGE + 1, &s, t4));
    assert_eq!(clocks.estimate("east").map(|e| e.uncertainty_ns), Some(100_000), "the quick one aged out");
}

#[test]
fn an_offset_within_its_uncertainty_is_not_applied() {
    let mut clocks = Clocks::default();
    // True offset 0, the way there 40 µs slower than the way back: the
    // estimate is 20 µs, within its ± 70 µs.
    let (s, t4) = round_trip("east-1", 1_000_000_000, 0, 90_000, 50_000, 0);
    clocks.observe(0, &s, t4);
    let e = clocks.estimate("east-1").expect("an estimate");
    assert_eq!((e.offset_ns, e.uncertainty_ns), (20_000, 70_000));
    assert_eq!(clocks.offset_for("north"), 0);
}

#[test]
fn the_fastest_way_there_and_back_count_even_from_different_round_trips() {
    let mut clocks = Clocks::default();
    let offset = 7_000_000;
    // Quick there and slow back, then slow there and quick back: each
    // round trip alone is ± 250 µs; together they pin the offset to ± 50 µs.
    let (s, t4) = round_trip("west", 1_000_000_000, offset, 50_000, 450_000, 0);
    clocks.observe(0, &s, t4);
    let (s, t4) = round_trip("west", 2_000_000_000, offset, 450_000, 50_000, 0);
    clocks.observe(1, &s, t4);
    let e = clocks.estimate("west").expect("an estimate");
    assert_eq!((e.offset_ns, e.uncertainty_ns), (offset, 50_000));
}

#[test]
fn a_clock_that_stepped_starts_the_estimate_again() {
    let mut clocks = Clocks::default();
    for i in 0..10 {
        let (s, t4) = round_trip("west", 1_000_000_000 + i * 1_000_000, 0, 30_000, 30_000, 0);
        clocks.observe(i, &s, t4);
    }
    // West restarted with its clock 5 ms ahead: the first sample outside
    // the old bounds, however slow, replaces everything before it.
    let (s, t4) = round_trip("west", 2_000_000_000, 5_000_000, 400_000, 400_000, 0);
    clocks.observe(10, &s, t4);
    let e = clocks.estimate("west").expect("an estimate");
    assert_eq!((e.offset_ns, e.uncertainty_ns), (5_000_000, 400_000));
    let (s, t4) = round_trip("west", 3_000_000_000, 5_000_000, 40_000, 40_000, 0);
    clocks.observe(11, &s, t4);
    let e = clocks.estimate("west").expect("an estimate");
    assert_eq!((e.offset_ns, e.uncertainty_ns), (5_000_000, 40_000));
}
