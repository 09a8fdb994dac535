//! The dashboard draws whatever lattice runs: 1, 5, 8, 40 and 300 hosts,
//! replicas, at every terminal size, nothing drawn over anything else.

use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use super::*;
use crate::app::{HttpUpdate, Update};
use crate::testing::*;
use lwc_wire::status::Counters;

const SIZES: [(u16, u16); 14] = [
    (0, 0),
    (1, 1),
    (20, 5),
    (29, 6),
    (30, 6),
    (45, 12),
    (60, 20),
    (80, 24),
    (99, 29),
    (100, 30),
    (120, 36),
    (120, 44),
    (200, 60),
    (250, 80),
];

const PANES: [&str; 8] = ["Ring ·", "Hosts ·", "Latency ·", "Histogram ·", "Over time ·", "Failures by host", "Packets ·", "Hop log ·"];

fn draw(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(f, app)).unwrap();
    t.backend().buffer().clone()
}

fn lines(buf: &Buffer) -> Vec<String> {
    let w = buf.area.width.max(1) as usize;
    buf.content.chunks(w).map(|row| row.iter().map(|c| c.symbol()).collect()).collect()
}

/// The rows of the pane whose top border carries `title`, inside its
/// borders: (first row, the rows).
fn pane(lines: &[String], title: &str) -> Option<(usize, Vec<String>)> {
    let top = lines.iter().position(|l| l.contains(title))?;
    let start = lines[top].find(title)?;
    let col = lines[top][..start].chars().count().saturating_sub(2);
    let width = lines[top].chars().skip(col).take_while(|c| *c != '┐').count();
    let mut out = Vec::new();
    for l in &lines[top + 1..] {
        let cells: String = l.chars().skip(col).take(width + 1).collect();
        if cells.starts_with('└') {
            break;
        }
        out.push(cells.chars().skip(1).take(width - 1).collect());
    }
    Some((top, out))
}

#[test]
fn every_lattice_draws_at_every_size_without_panic_or_overlap() {
    for n in [1, 5, 8, 40, 300] {
        let mut l = lattice_app(n);
        let up = n - usize::from(l.gone.is_some());
        for (w, h) in SIZES {
            let all = lines(&draw(&l.app, w, h)).join("\n");
            l.app.toggle_help();
            draw(&l.app, w, h);
            l.app.toggle_help();
            if w < TINY.0 || h < TINY.1 {
                assert!(all.contains("too small") || w * h < 20, "{n} hosts at {w}x{h}:\n{all}");
                continue;
            }
            assert!(all.contains(&format!("{up}/{n} hosts up")) || w < 80, "{n} hosts at {w}x{h}:\n{all}");
            // Every pane once at most, the ring or the hosts table always.
            for p in PANES {
                assert!(all.matches(p).count() <= 1, "{p} twice: {n} hosts at {w}x{h}:\n{all}");
            }
            if h >= 12 {
                assert!(all.contains("Ring ·") != all.contains("Hosts ·"), "{n} hosts at {w}x{h}:\n{all}");
            }
        }
    }
}

#[test]
fn up_to_twelve_places_make_a_ring_with_every_label_whole() {
    for n in [1, 5, 8, 12] {
        let l = lattice_app(n);
        for (w, h) in [(120, 36), (120, 44), (200, 60)] {
            let lines = lines(&draw(&l.app, w, h));
            let all = lines.join("\n");
            let Some((_, ring)) = pane(&lines, "Ring ·") else {
                // A dozen places may not fit the smallest ring pane.
                assert!(n > 8 && (w, h) == (120, 36) && all.contains("Hosts ·"), "{n} at {w}x{h}:\n{all}");
                continue;
            };
            let ring = ring.join("\n");
            for host in &l.hosts {
                let state = if Some(host) == l.gone.as_ref() { "✖" } else { "●" };
                let label = format!("{state} {host}");
                assert_eq!(ring.matches(&format!("{label} ")).count(), 1, "{label} whole, once, {n} at {w}x{h}:\n{all}");
            }
            if let Some(g) = &l.gone {
                assert!(ring.contains(&format!("✖ {g} gone")), "{all}");
            }
            if n > 1 {
                assert!(line_has(&lines, "Ring ·", "live links"), "{all}");
            }
        }
    }
}

fn line_has(lines: &[String], a: &str, b: &str) -> bool {
    lines.iter().any(|l| l.contains(a) && l.contains(b))
}

#[test]
fn a_big_lattice_is_a_table_with_the_trouble_on_top() {
    for n in [40, 300] {
        let l = lattice_app(n);
        let (gone, failing, slow) = (l.gone.unwrap(), l.failing.unwrap(), l.slow.unwrap());
        for (w, h) in [(120, 36), (80, 24), (200, 60)] {
            let lines = lines(&draw(&l.app, w, h));
            let all = lines.join("\n");
            assert!(!all.contains("Ring ·"), "{all}");
            let (top, rows) = pane(&lines, "Hosts ·").unwrap_or_else(|| panic!("no hosts table at {w}x{h}:\n{all}"));
            assert!(lines[top].contains(&format!("Hosts · {}/{n} up · trouble first", n - 1)), "{}", lines[top]);
            assert!(lines[top].contains("more below"), "{}", lines[top]);
            let first = |r: &String| r.split_whitespace().next().unwrap_or("").to_string();
            assert_eq!(first(&rows[0]), "host", "{all}");
            assert_eq!(first(&rows[1]), gone, "gone first:\n{all}");
            assert!(rows[1].contains("✖ gone"), "{}", rows[1]);
            assert_eq!(first(&rows[2]), failing, "then failing:\n{all}");
            assert!(rows[2].contains("40"), "{}", rows[2]);
            assert_eq!(first(&rows[3]), slow, "then the slowest hops in:\n{all}");
            assert!(rows[3].contains("50.0ms"), "{}", rows[3]);
            // The selected host (the first in route order) stays in view.
            let chosen = l.app.selected_host_name().unwrap();
            assert!(rows.iter().any(|r| first(r) == chosen), "{chosen} not shown:\n{all}");
            // The slowest edge heads the latency table (after all edges).
            if let Some((_, lat)) = pane(&lines, "Latency ·") {
                let edge = format!("p{}→{slow}", slow[1..].parse::<usize>().unwrap() - 1);
                assert!(lat[2].contains(&edge), "{edge} first:\n{all}");
            }
        }
    }
}

#[test]
fn no_phantom_hosts_only_the_ones_that_run() {
    let l = lattice_app(8);
    let lines = lines(&draw(&l.app, 120, 36));
    let all = lines.join("\n");
    assert!(all.contains("7/8 hosts up"), "{all}");
    for name in ["north", "east", "south", "west", "no data"] {
        assert!(!all.contains(name), "{name}:\n{all}");
    }
    let (_, rows) = pane(&lines, "Failures by host").unwrap();
    let listed: Vec<&str> = rows[1..].iter().filter_map(|r| r.split_whitespace().next()).filter(|h| !h.starts_with("ledger") && !h.starts_with("lost")).collect();
    assert_eq!(listed, l.hosts, "{all}");
}

#[test]
fn replicas_show_under_their_component() {
    let mut app = ring_app();
    for (i, host) in ["north-1", "north-2", "north-3"].iter().enumerate() {
        let at = if i == 2 { NOW - 10 * S } else { NOW - S / 2 };
        app.apply(heartbeat_of(host, &["north"], at, Counters::default()));
    }
    // north-3 has been silent for 10 s; north (the host) now runs nothing.
    app.hosts.get_mut("north-3").unwrap().seen_ns = NOW - 10 * S;
    app.apply(heartbeat_of("north", &["spare"], NOW - S / 2, Counters::default()));
    app.tick(NOW);
    let all = lines(&draw(&app, 120, 36)).join("\n");
    assert!(all.contains("● north 2/3 up"), "{all}");
    assert!(all.contains("●1 ●2 ✖3"), "{all}");
    assert!(all.contains("7/8 hosts up"), "{all}");
    assert!(all.contains("● spare up"), "{all}");
}

#[test]
fn before_the_api_answers_the_edges_seen_are_drawn() {
    let mut app = App::new(&config(), NOW);
    app.apply(heartbeat_of("a", &["a"], NOW, Counters::default()));
    app.apply(telemetry("b", 1, NOW, vec![(crate::stats::SeriesKey::edge("a", "b"), hist([300; 10]))], Counters::default()));
    app.tick(NOW);
    let all = lines(&draw(&app, 120, 36)).join("\n");
    assert!(all.contains("· edges seen") && all.contains("● a up") && all.contains("● b up"), "{all}");
    assert!(all.contains("2/2 hosts up"), "{all}");
    app.apply(Update::Http(HttpUpdate::Links(Ok(vec![link("a", "default", "b")]))));
    app.tick(NOW);
    assert!(lines(&draw(&app, 120, 36)).join("\n").contains("live links"));
    let empty = App::new(&config(), NOW);
    let all = lines(&draw(&empty, 120, 36)).join("\n");
    assert!(all.contains("no hosts yet"), "{all}");
}

#[test]
fn chaos_puts_a_host_above_the_calm_ones() {
    let mut l = lattice_app(40);
    let mut chaos = l.app.chaos.clone();
    chaos.insert("p30".into(), crate::app::Chaos { delay_ms: 20, ..Default::default() });
    l.app.apply(Update::Http(HttpUpdate::Chaos(Ok(chaos))));
    let order = l.app.hosts_by_trouble();
    assert_eq!(order[..4], [l.gone.as_deref().unwrap(), l.failing.as_deref().unwrap(), "p30", l.slow.as_deref().unwrap()]);
    let all = lines(&draw(&l.app, 120, 36)).join("\n");
    assert!(all.contains("+20ms"), "{all}");
}

#[test]
fn a_replica_that_never_reported_is_shown_as_not_up() {
    // north-3 was killed before the dashboard started: only the placement
    // (GET /status) names it.
    let app = replicas_app();
    let screen = lines(&draw(&app, 120, 36));
    let all = screen.join("\n");
    assert!(all.contains("6/7 hosts up"), "{all}");
    let (_, ring) = pane(&screen, "Ring ·").unwrap_or_else(|| panic!("no ring:\n{all}"));
    let ring = ring.join("\n");
    assert!(ring.contains("● north 2/3 up"), "{all}");
    assert!(ring.contains("●1 ●2 ○3"), "{all}");
    let (_, rows) = pane(&screen, "Failures by host").unwrap_or_else(|| panic!("no failures:\n{all}"));
    let listed: Vec<&str> = rows[1..]
        .iter()
        .filter_map(|r| r.split_whitespace().next())
        .filter(|h| !h.starts_with("ledger") && !h.starts_with("lost"))
        .collect();
    assert_eq!(listed, ["control", "east", "north-1", "north-2", "north-3", "west", "south"], "{all}");

    // The hosts table (a lattice too big for a ring) lists it first.
    let mut t = Terminal::new(TestBackend::new(80, 12)).unwrap();
    t.draw(|f| f.render_widget(hosts::HostsTable(&app), f.area())).unwrap();
    let table = lines(t.backend().buffer());
    let all = table.join("\n");
    let (top, rows) = pane(&table, "Hosts ·").unwrap_or_else(|| panic!("no table:\n{all}"));
    assert!(table[top].contains("Hosts · 6/7 up"), "{all}");
    assert!(rows[1].starts_with("north-3 ") && rows[1].contains("○ unseen"), "{all}");
    let rest: Vec<&str> = rows[2..].iter().filter_map(|r| r.split_whitespace().next()).collect();
    assert_eq!(rest.len(), 6, "{all}");
}
