//! Synthetic telemetry for the unit and rendering tests.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::app::{App, Chaos, HttpUpdate, Telemetry, Update};
use crate::config::Config;
use crate::stats::SeriesKey;
use lwc_wire::status::{Counters, Heartbeat};

pub const S: u64 = 1_000_000_000;
/// A fixed "now" for the tests: some day in 2026.
pub const NOW: u64 = 1_795_000_000 * S;

pub fn config() -> Config {
    Config {
        nats: "nats://127.0.0.1:4222".into(),
        nats_token: None,
        http: "http://127.0.0.1:30000".into(),
        lattice: "default".into(),
        window: Duration::from_secs(10),
        span: Duration::from_secs(60),
        frame: Duration::from_millis(100),
        ring_env: None,
    }
}

pub fn hist(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
    let mut h = lwc_wire::telemetry::histogram();
    for v in values {
        h.saturating_record(v);
    }
    h
}

pub fn counters(injected: u64, expired: u64, lost: &[(&str, u64)]) -> Counters {
    Counters {
        injected,
        expired,
        lost: lost.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        ..Default::default()
    }
}

pub fn telemetry(host: &str, seq: u64, end_ns: u64, series: Vec<(SeriesKey, Histogram<u64>)>, counters: Counters) -> Update {
    Update::Telemetry(Box::new(Telemetry {
        host: host.into(),
        seq,
        start_ns: end_ns - S,
        end_ns,
        counters,
        series,
        logs: vec![],
        logs_dropped: 0,
    }))
}

pub fn heartbeat(host: &str, at_ns: u64, counters: Counters) -> Update {
    Update::Heartbeat(Box::new(Heartbeat {
        host: host.into(),
        at_ns,
        uptime_s: 5,
        components: vec![host.into()],
        connected: true,
        down: false,
        counters,
        awaiting_ack: 0,
    }))
}

/// A ring one second into a run:
/// - every host up; east→north latencies 1..=1000 µs (p50 500µs, p99
///   990µs, max 1000µs); invoke north 40 µs × 1000; lifetimes 12 ms × 10
/// - ledger: 100 injected on control, 90 expired (60 north, 30 south),
///   lost 4 dropped on north and 2 unreachable on east: 4 in flight
/// - north has trap 20% and delay 5±2 ms
pub fn ring_app() -> App {
    let mut app = App::new(&config(), NOW);
    app.apply(Update::Conn(crate::app::Conn::Connected));
    type Series = Vec<(SeriesKey, Histogram<u64>)>;
    let mut per_host: BTreeMap<&str, (Counters, Series)> = BTreeMap::new();
    per_host.insert("control", (counters(100, 0, &[]), vec![]));
    let mut north = counters(0, 60, &[("dropped", 4)]);
    north.trap = 3;
    per_host.insert(
        "north",
        (
            north,
            vec![
                (SeriesKey::edge("east", "north"), hist(1..=1000)),
                (SeriesKey::Invoke("north".into()), hist([40; 1000])),
                (SeriesKey::Lifetime, hist([12_000; 10])),
            ],
        ),
    );
    per_host.insert("east", (counters(0, 0, &[("unreachable", 2)]), vec![]));
    per_host.insert("south", (counters(0, 30, &[]), vec![]));
    per_host.insert("west", (counters(0, 0, &[]), vec![]));
    for (host, (c, series)) in per_host {
        app.apply(heartbeat(host, NOW - S / 2, c.clone()));
        app.apply(telemetry(host, 1, NOW, series, c));
    }
    let mut chaos = BTreeMap::new();
    for h in crate::app::hosts::RING {
        chaos.insert(h.to_string(), Chaos::default());
    }
    chaos.insert(
        "north".into(),
        Chaos {
            trap: 20,
            delay_ms: 5,
            jitter_ms: 2,
            ..Default::default()
        },
    );
    app.apply(Update::Http(HttpUpdate::Chaos(Ok(chaos))));
    app.tick(NOW);
    app
}

/// A ring watched for 40 s: east→north at ~1 ms until east's delay went to
/// 10 ms 20 s ago (a control-plane change, so a mark), ~11 ms since; 100
/// packets expire per second, and west loses 30 a second as `unreachable`
/// for the last 10 s.
pub fn chart_app() -> App {
    let mut app = ring_app();
    let start = NOW - 40 * S;
    let en = SeriesKey::edge("east", "north");
    let nw = SeriesKey::edge("north", "west");
    for i in 0..40u64 {
        let end = start + (i + 1) * S;
        let slow = i >= 20;
        let lat = if slow { 11_000 } else { 1_000 };
        let series = vec![
            (en.clone(), hist((0..100).map(|k| lat + k * 10))),
            (nw.clone(), hist((0..100).map(|k| 500 + k))),
        ];
        let lost = if i >= 30 { (i - 29) * 30 } else { 0 };
        let c = counters(0, 30 + i * 100, &[("unreachable", lost)]);
        app.apply(telemetry("south", 10 + i, end, series, c));
        if i == 20 {
            let change = lwc_wire::ctl::Change::ChaosSet {
                version: 7,
                host: "east".into(),
                chaos: lwc_wire::ctl::ChaosWire {
                    delay_ms: 10,
                    ..Default::default()
                },
            };
            app.apply(Update::Ctl(Box::new(change), end));
        }
    }
    app.tick(NOW);
    app
}
