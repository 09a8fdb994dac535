use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use ratatui::Terminal;

use super::*;
use crate::app::{HttpError, HttpUpdate, Update};
use crate::testing::*;

fn draw(app: &App, w: u16, h: u16) -> Buffer {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| render(f, app)).unwrap();
    t.backend().buffer().clone()
}

fn text(buf: &Buffer) -> Vec<String> {
    let w = buf.area.width.max(1) as usize;
    buf.content
        .chunks(w)
        .map(|row| row.iter().map(|c| c.symbol()).collect::<String>())
        .collect()
}

fn screen(buf: &Buffer) -> String {
    text(buf).join("\n")
}

/// The first line containing `needle`.
fn line_with<'a>(lines: &'a [String], needle: &str) -> &'a str {
    lines
        .iter()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{}", lines.join("\n")))
}

#[test]
fn full_screen_shows_the_numbers() {
    let app = ring_app();
    let buf = draw(&app, 120, 36);
    let lines = text(&buf);
    let all = lines.join("\n");
    for host in ["north", "east", "south", "west", "control"] {
        assert!(all.contains(host), "{host} missing:\n{all}");
    }
    // Percentiles of east→north (1..=1000 µs) in the table.
    let row = line_with(&lines, "east→north   ");
    let cells: Vec<&str> = row.split_whitespace().collect();
    let at = cells.iter().position(|c| c.ends_with("east→north")).unwrap();
    assert_eq!(&cells[at + 1..at + 8], ["500µs", "900µs", "990µs", "999µs", "1.00ms", "1,000", "1.0k"], "{row}");
    let row = line_with(&lines, "invoke north");
    assert!(row.contains("40µs"), "{row}");
    let row = line_with(&lines, "lifetime  ");
    assert!(row.contains("12.0ms"), "{row}");
    for header in ["p50", "p90", "p99", "p99.9", "max", "count"] {
        assert!(line_with(&lines, "series").contains(header));
    }
    // Ledger and failures.
    let ledger = line_with(&lines, "ledger injected");
    for part in ["injected 100", "expired 90", "lost 6", "in flight 4"] {
        assert!(ledger.contains(part), "{part} not in {ledger}");
    }
    assert!(line_with(&lines, "lost by reason").contains("dropped 4 · unreachable 2"));
    let north = lines.iter().find(|l| l.contains("│north ")).expect("north row in failures");
    let segment = north.split('│').find(|s| s.starts_with("north ")).unwrap();
    let cells: Vec<&str> = segment.split_whitespace().collect();
    assert_eq!(&cells[..4], ["north", "3", "·", "4"], "{north}");
    // The ring: states, rate and chaos.
    assert!(all.contains("● north up"));
    assert!(all.contains("1.0k/s err 7"), "{all}");
    assert!(all.contains("trap20 +5±2ms"), "{all}");
    // Settings and the chaos keys (available).
    assert!(all.contains("ttl 100 · chaos 0% · route default · count 1 · trace off"));
    assert!(all.contains("k/K trap±10%"));
    assert!(!all.contains("control plane not available"));
    assert!(all.contains("5/5 hosts up"));
}

#[test]
fn the_run_view_keeps_what_the_window_dropped() {
    let mut app = ring_app();
    app.tick(NOW + 20 * S);
    let lines = text(&draw(&app, 120, 36));
    assert!(line_with(&lines, "east→north   ").contains('—'));
    app.toggle_view();
    let lines = text(&draw(&app, 120, 36));
    assert!(line_with(&lines, "east→north   ").contains("500µs"));
    assert!(line_with(&lines, "Latency").contains("whole run"));
}

#[test]
fn chaos_keys_grey_out_without_the_control_plane() {
    let mut app = ring_app();
    app.apply(Update::Http(HttpUpdate::Chaos(Err(HttpError::NotFound))));
    let buf = draw(&app, 120, 36);
    let lines = text(&buf);
    let y = lines.iter().position(|l| l.starts_with("chaos:")).unwrap();
    assert!(lines[y].contains("(control plane not available)"), "{}", lines[y]);
    let x = lines[y].find("k/K").unwrap();
    let col = lines[y][..x].chars().count() as u16;
    assert_eq!(buf[(col, y as u16)].fg, Color::DarkGray);
    // The inject key stays live.
    let y = lines.iter().position(|l| l.starts_with("i inject")).unwrap();
    assert_ne!(buf[(0, y as u16)].fg, Color::DarkGray);
}

#[test]
fn disconnected_and_garbage_are_shown() {
    let mut app = ring_app();
    app.apply(Update::Conn(crate::app::Conn::Disconnected));
    app.feed.garbage_telemetry = 3;
    let all = screen(&draw(&app, 120, 36));
    assert!(all.contains("disconnected"), "{all}");
    assert!(all.contains("ignored 3 bad msgs"), "{all}");
    // Hosts go stale when nothing arrives.
    app.tick(NOW + 10 * S);
    let all = screen(&draw(&app, 120, 36));
    assert!(all.contains("✖ north gone"), "{all}");
    assert!(all.contains("0/5 hosts up"));
}

#[test]
fn every_size_renders_without_panic() {
    let mut app = ring_app();
    for (w, h) in [(0, 0), (1, 1), (0, 36), (120, 0), (20, 5), (29, 6), (30, 6), (45, 12), (60, 20), (80, 24), (99, 29), (100, 30), (120, 36), (250, 80)] {
        draw(&app, w, h);
        app.toggle_help();
        draw(&app, w, h);
        app.toggle_help();
    }
    assert!(screen(&draw(&app, 20, 5)).contains("too small"));
    // The compact layout keeps hosts and percentiles.
    let all = screen(&draw(&app, 80, 24));
    for needle in ["north", "control", "p99.9", "500µs", "i inject"] {
        assert!(all.contains(needle), "{needle}:\n{all}");
    }
}

#[test]
fn help_lists_every_key() {
    let mut app = ring_app();
    app.toggle_help();
    let all = screen(&draw(&app, 120, 36));
    for (k, _, long, _) in crate::input::KEYS {
        assert!(all.contains(k) && all.contains(long), "{k}: {long}");
    }
}

#[test]
fn formats() {
    assert_eq!(fmt_us(0), "0µs");
    assert_eq!(fmt_us(999), "999µs");
    assert_eq!(fmt_us(1_234), "1.23ms");
    assert_eq!(fmt_us(12_345), "12.3ms");
    assert_eq!(fmt_us(123_456), "123ms");
    assert_eq!(fmt_us(1_234_567), "1.23s");
    assert_eq!(fmt_us(61_000_000), "61.0s");
    assert_eq!(fmt_count(0), "0");
    assert_eq!(fmt_count(1_234_567), "1,234,567");
    assert_eq!(fmt_rate(2.0), "2.0");
    assert_eq!(fmt_rate(12_345.0), "12.3k");
    assert_eq!(fmt_rate(f64::NAN), "0");
    assert_eq!(fmt_rate(-0.0), "0");
    assert_eq!(fmt_packet(1_795_243_520_699_432_206, 6), "…432206");
    assert_eq!(fmt_clock(3_723_004_000_000), "01:02:03.004");
}

#[test]
fn host_labels_never_spill_into_each_other() {
    let mut app = ring_app();
    app.chaos.insert(
        "north".into(),
        crate::app::Chaos {
            trap: 100,
            drop: 100,
            delay_ms: 10_000,
            jitter_ms: 10_000,
            down_s: 3600,
        },
    );
    let lines = text(&draw(&app, 120, 36));
    // north's chaos line is cut at its label's width, control's stays whole.
    let row = line_with(&lines, "trap100");
    assert!(row.contains("calm"), "{row}");
    assert_eq!(fmt_chaos(&crate::app::Chaos { delay_ms: 5, ..Default::default() }), "+5ms");
}
