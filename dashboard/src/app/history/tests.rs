use super::*;
use crate::testing::hist;

const S: u64 = SECOND;
const T0: u64 = 1_795_000_000 * S;

fn counters(expired: u64, lost: &[(&str, u64)]) -> Counters {
    Counters {
        expired,
        lost: lost.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        ..Default::default()
    }
}

#[test]
fn hosts_of_one_second_merge_and_percentiles_follow() {
    let mut h = History::new(60);
    let key = SeriesKey::edge("east", "north");
    // Two hosts' snapshots for the same second (say, two replicas).
    h.add_snapshot("a", 1, T0, T0 + S, &[(key.clone(), hist([100; 98]))], &Counters::default());
    h.add_snapshot("b", 1, T0 + S / 10, T0 + S + S / 10, &[(key.clone(), hist([5_000; 2]))], &Counters::default());
    let pts: Vec<_> = h.points(&key).collect();
    assert_eq!(pts.len(), 1, "{pts:?}");
    let p = pts[0].1;
    assert_eq!((p.count, p.p50), (100, 100));
    assert!((5_000..5_010).contains(&p.p99), "{p:?}");
    // The next second is a point of its own.
    h.add_snapshot("a", 2, T0 + S, T0 + 2 * S, &[(key.clone(), hist([200]))], &Counters::default());
    assert_eq!(h.points(&key).map(|(_, p)| p.p50).collect::<Vec<_>>(), [100, 200]);
    // Settled seconds keep their percentiles; old ones leave the span.
    h.expire(T0 + 30 * S);
    assert_eq!(h.points(&key).count(), 2);
    h.expire(T0 + 70 * S);
    assert_eq!(h.points(&key).count(), 0);
}

#[test]
fn counters_become_fates_per_second_and_survive_restarts() {
    let mut h = History::new(60);
    let snap = |h: &mut History, seq: u64, sec: u64, c: Counters| h.add_snapshot("north", seq, T0 + sec * S, T0 + (sec + 1) * S, &[], &c);
    snap(&mut h, 1, 0, counters(500, &[]));
    assert_eq!(h.fates().count(), 0, "the first snapshot is the baseline");
    snap(&mut h, 2, 1, counters(600, &[("dropped", 3)]));
    snap(&mut h, 2, 1, counters(600, &[("dropped", 3)])); // a repeat counts nothing
    snap(&mut h, 3, 2, counters(650, &[("dropped", 3), ("unreachable", 10)]));
    // Restarted: counts from zero again.
    snap(&mut h, 1, 3, counters(20, &[]));
    let f: Vec<(u64, Fates)> = h.fates().map(|(s, f)| (s - T0 / S, f.clone())).collect();
    assert_eq!(f[0], (1, Fates { expired: 100, lost: [("dropped".to_string(), 3)].into() }));
    assert_eq!(f[1].1.expired, 50);
    assert_eq!(f[1].1.lost["unreachable"], 10);
    assert_eq!(f[1].1.lost["dropped"], 0);
    assert_eq!(f[2].1.expired, 20);
}

fn chaos_set(version: u64, host: &str, delay_ms: u32) -> Change {
    Change::ChaosSet {
        version,
        host: host.into(),
        chaos: ChaosWire {
            delay_ms,
            ..Default::default()
        },
    }
}

#[test]
fn changes_are_marked_once_and_only_when_something_changed() {
    let mut h = History::new(60);
    h.seed_chaos(&[("west".to_string(), Chaos::default())].into());
    h.add_change(&chaos_set(1, "east", 10), T0);
    h.add_change(&chaos_set(1, "east", 10), T0 + S / 10); // the same change again
    // `PUT /chaos` for `*`: every host, most unchanged; one mark.
    h.add_change(&chaos_set(2, "west", 0), T0 + 5 * S);
    h.add_change(&chaos_set(3, "east", 0), T0 + 5 * S);
    let marks: Vec<&Mark> = h.marks().collect();
    assert_eq!(marks.len(), 2, "{marks:?}");
    assert_eq!(
        marks[0].causes,
        [Cause::Chaos { host: "east".into(), chaos: Chaos { delay_ms: 10, ..Default::default() } }]
    );
    assert_eq!(marks[1].causes, [Cause::Chaos { host: "east".into(), chaos: Chaos::default() }]);
    h.add_change(
        &Change::LinkDelete {
            version: 4,
            source: "north".into(),
            name: "default".into(),
        },
        T0 + 10 * S,
    );
    assert!(matches!(h.marks().last().unwrap().causes[0], Cause::LinkDelete { .. }));
}

#[test]
fn hosts_going_and_coming_are_marked_from_heartbeats() {
    let mut h = History::new(60);
    // Before the dashboard has settled, nothing is marked.
    h.observe("west", Status::Up, 0, T0, T0, false);
    h.observe("west", Status::Gone, 0, T0, T0 + 4 * S, true);
    h.observe("west", Status::Up, 0, T0 + 9 * S, T0 + 9 * S, true);
    h.observe("east", Status::Up, 0, T0, T0, true);
    h.observe("east", Status::Down, 0, T0 + 20 * S, T0 + 20 * S, true);
    h.observe("east", Status::Up, 0, T0 + 30 * S, T0 + 30 * S, true);
    h.observe("east", Status::Up, 1, T0 + 40 * S, T0 + 40 * S, true); // restarted
    let marks: Vec<(u64, Cause)> = h.marks().map(|m| ((m.at_ns - T0) / S, m.causes[0].clone())).collect();
    assert_eq!(
        marks,
        [
            // Gone about when its next heartbeat was due, not when noticed.
            (1, Cause::Gone("west".into())),
            (9, Cause::Back("west".into())),
            (30, Cause::Serving("east".into())),
            (40, Cause::Back("east".into())),
        ]
    );
}

#[test]
fn merge_and_quantiles() {
    assert_eq!(merge(&[(1, 2), (5, 1)], [(1, 1), (3, 4), (9, 1)].into_iter()), [(1, 3), (3, 4), (5, 1), (9, 1)]);
    let p = point(&[(10, 50), (20, 49), (1000, 1)]);
    assert_eq!((p.count, p.p50, p.p99), (100, 10, 20));
    assert_eq!(point(&[]), Point::default());
}
