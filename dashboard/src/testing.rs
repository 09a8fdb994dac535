//! Synthetic telemetry for the unit and rendering tests.

use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::Duration;

use crate::app::{App, Chaos, HttpUpdate, Link, Telemetry, Update};
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
        clocks: Default::default(),
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
    app.apply(Update::Http(HttpUpdate::Links(Ok(classic_links()))));
    let mut chaos = BTreeMap::new();
    for h in ["north", "east", "south", "west", "control"] {
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

pub fn link(source: &str, name: &str, target: &str) -> Link {
    Link {
        source: source.into(),
        name: name.into(),
        target: target.into(),
    }
}

/// The links of scripts/ring.toml.
pub fn classic_links() -> Vec<Link> {
    [
        ("north", "default", "west"),
        ("north", "special", "south"),
        ("south", "default", "east"),
        ("south", "special", "east"),
        ("east", "default", "north"),
        ("east", "special", "west"),
        ("west", "default", "south"),
        ("west", "special", "north"),
        ("control", "default", "east"),
    ]
    .iter()
    .map(|(s, n, t)| link(s, n, t))
    .collect()
}

/// A heartbeat of `host` running `components`.
pub fn heartbeat_of(host: &str, components: &[&str], at_ns: u64, counters: Counters) -> Update {
    let Update::Heartbeat(mut hb) = heartbeat(host, at_ns, counters) else { unreachable!() };
    hb.components = components.iter().map(|c| c.to_string()).collect();
    Update::Heartbeat(hb)
}

/// What [`lattice_app`] made, for the tests to look for.
pub struct Lattice {
    pub app: App,
    /// Every host, `control` first.
    pub hosts: Vec<String>,
    /// Silent for 10 s: gone.
    pub gone: Option<String>,
    /// Losing packets: 40 `unreachable` a second.
    pub failing: Option<String>,
    /// Its incoming edge has the highest p99 (~50 ms).
    pub slow: Option<String>,
}

/// A lattice of `n` hosts: `control` and probes `p1…p{n-1}` (component =
/// host), linked in a `default` cycle p1 → p2 → … → p1 that control feeds,
/// a `special` cycle the other way; every host up and busy, except (when
/// there are enough of them) one gone, one failing, one slow. With `n ==
/// 1` a single host `solo` and no links.
pub fn lattice_app(n: usize) -> Lattice {
    let probes: Vec<String> = (1..n).map(|i| format!("p{i}")).collect();
    let mut hosts: Vec<String> = if n == 1 { vec!["solo".into()] } else { vec!["control".into()] };
    hosts.extend(probes.iter().cloned());
    let pick = |i: usize| (probes.len() > i + 2).then(|| probes[i].clone());
    let (gone, failing, slow) = (pick(2), pick(1), pick(3));
    let mut app = App::new(&config(), NOW - 10 * S);
    app.apply(Update::Conn(crate::app::Conn::Connected));
    if let Some(g) = &gone {
        app.apply(heartbeat_of(g, &[g.as_str()], NOW - 10 * S, Counters::default()));
    }
    app.tick(NOW - 2 * S);
    let mut links = Vec::new();
    for (i, p) in probes.iter().enumerate() {
        let next = &probes[(i + 1) % probes.len()];
        let prev = &probes[(i + probes.len() - 1) % probes.len()];
        links.push(link(p, "default", next));
        links.push(link(p, "special", prev));
    }
    if let Some(first) = probes.first() {
        links.push(link("control", "default", first));
    }
    for (k, end) in [(0u64, NOW - S), (1, NOW)] {
        for (i, h) in hosts.iter().enumerate() {
            if Some(h) == gone.as_ref() {
                continue;
            }
            let mut c = counters(if i == 0 { 100 * (k + 1) } else { 0 }, 10 * (k + 1), &[]);
            if Some(h) == failing.as_ref() {
                c.lost.insert("unreachable".into(), 40 * (k + 1));
            }
            let prev = if i <= 1 { hosts[0].clone() } else { hosts[i - 1].clone() };
            let lat = if Some(h) == slow.as_ref() { 50_000 } else { 500 + i as u64 };
            let mut series = vec![(SeriesKey::Invoke(h.clone()), hist([40 + i as u64; 100]))];
            if i > 0 {
                series.push((SeriesKey::edge(&prev, h), hist([lat; 100])));
            }
            app.apply(heartbeat_of(h, &[h.as_str()], end - S / 2, c.clone()));
            app.apply(telemetry(h, 1 + k, end, series, c));
        }
    }
    if n > 1 {
        app.apply(Update::Http(HttpUpdate::Links(Ok(links))));
    }
    let chaos = hosts.iter().map(|h| (h.clone(), Chaos::default())).collect();
    app.apply(Update::Http(HttpUpdate::Chaos(Ok(chaos))));
    app.tick(NOW);
    Lattice {
        app,
        hosts,
        gone,
        failing,
        slow,
    }
}

/// A placement as `GET /status` gives it: component → hosts.
pub fn placement(list: &[(&str, &[&str])]) -> crate::app::Placement {
    list.iter()
        .map(|(c, hosts)| (c.to_string(), hosts.iter().map(|h| h.to_string()).collect()))
        .collect()
}

/// scripts/replicas.toml one second in, north-3 killed before the
/// dashboard started: every host but north-3 sends heartbeats; the
/// placement (`GET /status`) and the chaos settings name all seven.
pub fn replicas_app() -> App {
    let mut app = App::new(&config(), NOW);
    app.apply(Update::Conn(crate::app::Conn::Connected));
    for (host, component) in
        [("north-1", "north"), ("north-2", "north"), ("south", "south"), ("east", "east"), ("west", "west"), ("control", "control")]
    {
        app.apply(heartbeat_of(host, &[component], NOW - S / 2, Counters::default()));
    }
    app.apply(Update::Http(HttpUpdate::Links(Ok(classic_links()))));
    let north = ["north-1", "north-2", "north-3"];
    let all = ["north-1", "north-2", "north-3", "south", "east", "west", "control"];
    app.apply(Update::Http(HttpUpdate::Chaos(Ok(all.iter().map(|h| (h.to_string(), Chaos::default())).collect()))));
    app.apply(Update::Http(HttpUpdate::Placement(Ok(placement(&[
        ("control", &["control"]),
        ("east", &["east"]),
        ("north", &north),
        ("south", &["south"]),
        ("west", &["west"]),
    ])))));
    app.tick(NOW);
    app
}
