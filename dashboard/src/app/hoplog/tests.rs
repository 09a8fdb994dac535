use super::*;

fn line(n: u64) -> Line {
    Line::Lost {
        at_ns: n,
        lost: Box::new(Lost {
            packet: n,
            route: "default".into(),
            hops: 1,
            at: "north".into(),
            reason: lwc_wire::events::LostReason::Dropped,
            host: "north".into(),
            detail: String::new(),
        }),
    }
}

#[test]
fn bounded_and_pausable() {
    let mut log = HopLog::default();
    for n in 0..(CAPACITY as u64 + 10) {
        log.push(line(n));
    }
    assert_eq!(log.len(), CAPACITY);
    assert_eq!(log.tail(1).next(), Some(&line(CAPACITY as u64 + 9)));
    log.toggle_pause();
    log.push(line(1_000));
    assert_eq!((log.missed, log.tail(1).next()), (1, Some(&line(CAPACITY as u64 + 9))));
    log.toggle_pause();
    assert_eq!(log.missed, 0);
    assert_eq!(log.tail(3).count(), 3);
}

#[test]
fn late_lines_are_slotted_in_by_time() {
    let mut log = HopLog::default();
    for n in [10, 20, 30] {
        log.push(line(n));
    }
    log.push(line(15));
    log.push(line(1));
    let order: Vec<u64> = log.tail(10).map(Line::at_ns).collect();
    assert_eq!(order, [1, 10, 15, 20, 30]);
    // Full: a line older than everything kept is not kept.
    for n in 100..(100 + CAPACITY as u64) {
        log.push(line(n));
    }
    log.push(line(0));
    assert_eq!(log.tail(CAPACITY).next().map(Line::at_ns), Some(100));
    log.push(line(150));
    assert_eq!(log.len(), CAPACITY);
    assert_eq!(log.tail(CAPACITY).next().map(Line::at_ns), Some(101));
}
