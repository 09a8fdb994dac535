use super::*;
use crate::testing::*;
use lwc_wire::events::{Hop, HopOutcome, Injected, Lost, LostReason, PacketEvent};
use lwc_wire::status::Counters;

#[test]
fn telemetry_feeds_series_rates_and_ledger() {
    let app = ring_app();
    let key = SeriesKey::edge("east", "north");
    let s = &app.stats.series[&key];
    assert_eq!((s.window_pct.p50, s.window_pct.p99, s.window_pct.max, s.window_pct.count), (500, 990, 1000, 1000));
    assert_eq!(app.host("north").unwrap().inv_rate, 1000.0);
    let l = app.ledger();
    assert_eq!((l.injected, l.expired, l.lost_total(), l.in_flight()), (100, 90, 6, 4));
    assert_eq!(app.hosts["north"].failures().dropped, 4);
    assert_eq!(app.hosts["east"].failures().unreachable, 2);
}

#[test]
fn window_and_run_views_diverge_as_time_passes() {
    let mut app = ring_app();
    let key = SeriesKey::edge("east", "north");
    // A second interval of slower hops.
    app.apply(telemetry("north", 2, NOW + S, vec![(key.clone(), hist([5_000; 1000]))], Counters::default()));
    assert_eq!(app.stats.series[&key].window_pct.count, 2000);
    // Ten and a half seconds on, the first interval has left the window.
    app.tick(NOW + 10 * S + S / 2);
    let s = &app.stats.series[&key];
    assert_eq!(s.window_pct.count, 1000);
    // 5,000 µs is 5,000..=5,003 at three significant digits.
    assert!((5000..=5003).contains(&s.window_pct.p50), "{}", s.window_pct.p50);
    assert_eq!((s.run_pct.count, s.run_pct.p50), (2000, 1000));
    app.reset_window();
    assert_eq!(app.stats.series[&key].window_pct.count, 0);
    assert_eq!(app.stats.series[&key].run_pct.count, 2000);
}

#[test]
fn telemetry_gaps_are_counted() {
    let mut app = ring_app();
    app.apply(telemetry("north", 5, NOW + S, vec![], Counters::default()));
    assert_eq!(app.hosts["north"].missed_snapshots, 3);
}

#[test]
fn events_fill_packets_and_the_log() {
    let mut app = ring_app();
    let id = NOW - 50_000_000;
    app.apply(Update::Event(
        Box::new(PacketEvent::Injected(Injected {
            packet: id,
            ttl: 5,
            chaos: 0,
            route: "default".into(),
            host: "control".into(),
            at_ns: id,
            trace: true,
        })),
        id,
    ));
    app.apply(Update::Event(
        Box::new(PacketEvent::Hop(Hop {
            packet: id,
            ttl: 4,
            route: "default".into(),
            from: "east".into(),
            to: "north".into(),
            host: "north".into(),
            sent_ns: id,
            recv_ns: id + 100_000,
            latency_us: 100,
            invoke_us: 30,
            outcome: HopOutcome::Ok,
        })),
        id,
    ));
    app.apply(Update::Event(
        Box::new(PacketEvent::Lost(Lost {
            packet: id,
            route: "default".into(),
            hops: 2,
            at: "north".into(),
            reason: LostReason::Dropped,
            host: "north".into(),
            detail: "chaos drop".into(),
        })),
        id + 20_000_000,
    ));
    let p = app.packets.latest().next().unwrap();
    assert_eq!((p.hops, p.lifetime_us, &p.fate), (2, Some(20_000), &packets::Fate::Lost(LostReason::Dropped)));
    assert_eq!(app.log.len(), 2);
}

#[test]
fn chaos_keys_need_the_control_plane() {
    let mut app = App::new(&config(), NOW);
    assert_eq!(app.raise_trap(), None, "unknown plane: no request");
    app.apply(Update::Http(HttpUpdate::Chaos(Err(HttpError::NotFound))));
    assert_eq!(app.plane, Plane::Missing("control plane not available".into()));
    assert_eq!(app.raise_trap(), None);
    assert!(app.note.as_ref().unwrap().text.contains("control plane not available"));
    app.apply(Update::Http(HttpUpdate::Chaos(Err(HttpError::Unreachable("refused".into())))));
    assert_eq!(app.plane, Plane::Missing("HTTP API unreachable".into()));
    assert_eq!(app.http_ok, Some(false));

    let mut app = ring_app();
    assert!(app.chaos_keys_enabled());
    // Hosts in route order: control, east, north, …; two quick presses
    // build on each other.
    app.next_host();
    app.next_host();
    assert_eq!(
        app.raise_trap(),
        Some(Command::SetChaos(ChaosPatch {
            host: "north".into(),
            trap: Some(30),
            ..Default::default()
        }))
    );
    let Some(Command::SetChaos(p)) = app.raise_trap() else { panic!() };
    assert_eq!(p.trap, Some(40));
    app.prev_host();
    let Some(Command::SetChaos(p)) = app.toggle_down() else { panic!() };
    assert_eq!((p.host.as_str(), p.down_s, p.trap), ("east", Some(DOWN_S), None));
    let Some(Command::SetChaos(p)) = app.clear_chaos() else { panic!() };
    assert_eq!((p.trap, p.delay_ms, p.jitter_ms, p.drop, p.down_s), (Some(0), Some(0), Some(0), Some(0), Some(0)));
    // The answer to a PUT replaces the optimistic guess.
    let mut answer = app.chaos.clone();
    answer.insert("north".into(), Chaos { trap: 30, ..Default::default() });
    app.apply(Update::Http(HttpUpdate::ChaosSet {
        host: "north".into(),
        result: Ok(answer),
    }));
    assert_eq!(app.chaos["north"].trap, 30);
}

#[test]
fn injection_settings_step_and_clamp() {
    let mut app = App::new(&config(), NOW);
    assert_eq!(app.inject(), Command::Inject(InjectSettings::default()));
    app.raise_ttl();
    assert_eq!(app.inject.ttl, 1_000);
    for _ in 0..10 {
        app.raise_ttl();
    }
    assert_eq!(app.inject.ttl, 1_000_000);
    for _ in 0..10 {
        app.lower_ttl();
    }
    assert_eq!(app.inject.ttl, 0);
    for _ in 0..30 {
        app.raise_chaos();
    }
    assert_eq!(app.inject.chaos, 100);
    app.lower_count();
    assert_eq!(app.inject.count, 1);
    app.raise_count();
    app.raise_count();
    assert_eq!(app.inject.count, 64);
    app.toggle_route();
    assert_eq!(app.inject.route, "special");
    app.toggle_route();
    assert_eq!(app.inject.route, "default");
}

#[test]
fn selection_wraps() {
    let mut app = ring_app();
    assert_eq!(app.selected_host_name(), Some("control"), "the first host, in route order");
    app.prev_host();
    assert_eq!(app.selected_host_name(), Some("south"));
    app.next_host();
    app.next_host();
    assert_eq!(app.selected_host_name(), Some("east"));
    let n = app.rows().len();
    assert_eq!(n, 4, "all edges, east→north, invoke north, lifetime");
    assert_eq!(app.selected_key(), Some(SeriesKey::AllEdges), "all edges is one choice, the first");
    app.prev_row();
    assert_eq!(app.selected_key(), Some(SeriesKey::Lifetime));
    app.next_row();
    app.next_row();
    assert_eq!(app.selected_key(), Some(SeriesKey::edge("east", "north")));
}

#[test]
fn selection_follows_its_host_and_series_not_a_position() {
    let mut app = ring_app();
    app.next_host();
    assert_eq!(app.selected_host_name(), Some("east"));
    // A new host that sorts before it does not move the selection.
    app.apply(heartbeat("aardvark", NOW, Counters::default()));
    app.tick(NOW);
    assert_eq!(app.selected_host_name(), Some("east"));
    app.next_row();
    let chosen = app.selected_key();
    app.apply(telemetry("north", 2, NOW, vec![(SeriesKey::edge("control", "east"), hist([7]))], Counters::default()));
    app.tick(NOW);
    assert_eq!(app.selected_key(), chosen, "control→east comes first now, the selection stays put");
}

#[test]
fn a_lattice_with_no_hosts_has_nothing_to_select() {
    let mut app = App::new(&config(), NOW);
    app.tick(NOW);
    assert_eq!(app.selected_host_name(), None);
    app.next_host();
    app.next_row();
    assert_eq!(app.selected_key(), None);
    app.apply(Update::Http(HttpUpdate::Chaos(Ok(BTreeMap::new()))));
    assert_eq!(app.raise_trap(), None, "no host to set chaos on");
    assert!(app.note.as_ref().is_some_and(|n| n.error));
}

#[test]
fn link_changes_show_before_the_next_poll() {
    let mut app = ring_app();
    let put = lwc_wire::ctl::Change::LinkPut {
        version: 9,
        link: lwc_wire::ctl::LinkWire {
            source: "control".into(),
            name: "default".into(),
            target: "west".into(),
        },
    };
    app.apply(Update::Ctl(Box::new(put), NOW));
    app.tick(NOW);
    let control: Vec<_> = app.links.iter().filter(|l| l.source == "control").collect();
    assert_eq!(control.len(), 1);
    assert_eq!(control[0].target, "west");
    let order: Vec<&str> = app.topology.places.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(order, ["control", "west", "south", "east", "north"], "placed along the new route");
}

#[test]
fn keys_map_to_intents() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut app = ring_app();
    let key = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
    assert!(matches!(crate::input::handle(&mut app, key('i')), Some(Command::Inject(_))));
    assert!(matches!(crate::input::handle(&mut app, key('l')), Some(Command::SetChaos(_))));
    assert_eq!(crate::input::handle(&mut app, key('w')), None);
    assert_eq!(app.view, View::Run);
    crate::input::handle(&mut app, key('p'));
    assert!(app.log.paused);
    crate::input::handle(&mut app, key('?'));
    assert!(app.show_help);
    crate::input::handle(&mut app, key('x'));
    assert!(!app.show_help && !app.inject.trace, "a key closes help and does nothing else");
    assert!(!app.quit);
    crate::input::handle(&mut app, KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
    let mut app = ring_app();
    crate::input::handle(&mut app, key('q'));
    assert!(app.quit);
}

#[test]
fn the_placement_counts_replicas_that_never_reported() {
    let mut app = replicas_app();
    assert_eq!(app.host_names().len(), 7, "{:?}", app.host_names());
    let north = &app.topology.places[app.topology.place_of("north").unwrap()];
    assert_eq!(north.hosts, ["north-1", "north-2", "north-3"]);
    assert!(app.host("north-3").is_none(), "never heard from");
    let up = |app: &App| {
        let names = app.host_names();
        names.iter().filter(|h| app.host(h).is_some_and(|v| v.status(app.now_ns) == hosts::Status::Up)).count()
    };
    assert_eq!(up(&app), 6);
    assert_eq!(app.hosts_by_trouble()[0], "north-3", "never seen: above the hosts that are up");

    // A bad answer keeps the placement and is said once.
    let bad = || Update::Http(HttpUpdate::Placement(Err(HttpError::BadAnswer("/status: missing field `components`".into()))));
    app.apply(bad());
    app.tick(NOW);
    assert_eq!(app.host_names().len(), 7);
    assert!(app.note.as_ref().is_some_and(|n| n.error && n.text.contains("GET /status")), "{:?}", app.note);
    app.note = None;
    app.apply(bad());
    assert_eq!(app.note, None, "the same error again is not news");
    app.apply(Update::Http(HttpUpdate::Placement(Err(HttpError::Unreachable("refused".into())))));
    assert_eq!((app.http_ok, app.note.clone(), app.host_names().len()), (Some(false), None, 7));

    // The ring started again with north on two hosts: north-3 is no more.
    let mut two = app.placement.clone();
    two.insert("north".into(), vec!["north-1".into(), "north-2".into()]);
    app.apply(Update::Http(HttpUpdate::Placement(Ok(two))));
    app.tick(NOW);
    assert_eq!((app.host_names().len(), up(&app), app.http_ok), (6, 6, Some(true)));
}
