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
fn the_footer_shows_the_selected_hosts_clock_as_its_senders_estimate_it() {
    let mut app = ring_app();
    let all = screen(&draw(&app, 120, 36));
    assert!(!all.contains("clock "), "no estimate yet, nothing shown:\n{all}");
    let clock = |offset_us, uncertainty_us| lwc_wire::status::PeerClock { offset_us, uncertainty_us, samples: 9 };
    for (from, c) in [("west", clock(50_012, 90)), ("control", clock(49_900, 400))] {
        let Update::Heartbeat(mut hb) = heartbeat(from, NOW, Default::default()) else { unreachable!() };
        hb.clocks.insert("north".into(), c);
        app.apply(Update::Heartbeat(hb));
    }
    app.selected_host = Some("north".into());
    let lines = text(&draw(&app, 120, 36));
    // The tighter of the two estimates.
    assert!(line_with(&lines, "north ▸").contains("clock +50.0ms ±90µs"), "{lines:?}");
    assert_eq!(footer::fmt_offset(&clock(-30, 40)), "clock in step ±40µs");
    assert_eq!(footer::fmt_offset(&clock(-30_000, 40)), "clock -30.0ms ±40µs");
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

/// (column, row) of every cell drawn in `color` inside the rows `rows`.
fn cells_in(buf: &Buffer, color: Color, rows: std::ops::Range<u16>) -> Vec<(u16, u16)> {
    let mut out = Vec::new();
    for y in rows {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            if c.fg == color && c.symbol().trim() != "" {
                out.push((x, y));
            }
        }
    }
    out
}

/// The chart of [`chart_app`] at `w`×`h`, east→north selected.
fn chart_screen(w: u16, h: u16, swap: bool) -> (Buffer, Vec<String>) {
    let mut app = chart_app();
    app.next_row(); // east→north, after "all edges"
    assert_eq!(app.selected_key(), Some(crate::stats::SeriesKey::edge("east", "north")));
    if swap {
        app.toggle_chart();
    }
    let buf = draw(&app, w, h);
    let lines = text(&buf);
    (buf, lines)
}

#[test]
fn the_chart_shows_the_step_at_its_mark() {
    for (w, h) in [(200, 60), (120, 36)] {
        let (buf, lines) = chart_screen(w, h, false);
        let all = lines.join("\n");
        let top = lines.iter().position(|l| l.contains("Over time · east→north · 60s")).unwrap_or_else(|| panic!("no chart at {w}x{h}:\n{all}"));
        let bottom = top + lines[top..].iter().position(|l| l.starts_with('└')).unwrap();
        // The legend says what the mark is; its label sits on its line.
        let legend = line_with(&lines, "marks:");
        assert!(legend.contains("1 east +10ms"), "{legend}");
        let (mx, my) = (0..w)
            .map(|x| (x, top as u16 + 1))
            .find(|&(x, y)| buf[(x, y)].symbol() == "1" && buf[(x, y)].fg == chart::MARK_CHANGE)
            .unwrap_or_else(|| panic!("no mark label at {w}x{h}:\n{all}"));
        let below: Vec<_> = cells_in(&buf, chart::MARK_CHANGE, my + 1..bottom as u16);
        assert!(below.iter().any(|(x, _)| *x == mx), "the mark's line is under its label at {w}x{h}:\n{all}");
        // p99 of east→north: high rows after the mark, low rows before it
        // (a log axis: 1 ms → 11 ms is a step up).
        // (Not the legend's swatches; not the columns where the line climbs.)
        let plots_end = (top + lines[top..].iter().position(|l| l.contains("marks:")).unwrap()) as u16 - 1;
        let p99 = cells_in(&buf, chart::P99, top as u16 + 1..plots_end);
        let before: Vec<u16> = p99.iter().filter(|(x, _)| *x + 3 < mx).map(|(_, y)| *y).collect();
        let after: Vec<u16> = p99.iter().filter(|(x, _)| *x > mx + 3).map(|(_, y)| *y).collect();
        assert!(!before.is_empty() && !after.is_empty(), "p99 on both sides at {w}x{h}:\n{all}");
        assert!(after.iter().max() < before.iter().min(), "a step up at {w}x{h}: before rows {before:?}, after {after:?}\n{all}");
        // Fates: expired in green, and the losses of the last 10 s in red.
        assert!(!cells_in(&buf, chart::EXPIRED, top as u16..bottom as u16).is_empty(), "{all}");
        let lost = cells_in(&buf, chart::lost_color("unreachable"), top as u16..bottom as u16);
        assert!(lost.iter().any(|(x, _)| *x > mx), "losses after the mark at {w}x{h}:\n{all}");
        // Every pane once, none drawn over another.
        for pane in ["Ring ·", "Latency ·", "Over time ·", "Failures by host", "Packets ·", "Hop log ·"] {
            assert_eq!(all.matches(pane).count(), 1, "{pane} at {w}x{h}:\n{all}");
        }
        assert_eq!(all.contains("Histogram ·"), w >= 120 && h >= 44, "the histogram has its own place only when tall");
    }
}

#[test]
fn at_80x24_g_swaps_the_chart_in_for_the_histogram() {
    let (_, lines) = chart_screen(80, 24, false);
    let all = lines.join("\n");
    assert!(all.contains("Histogram · east→north") && !all.contains("Over time"), "{all}");
    let (_, lines) = chart_screen(80, 24, true);
    let all = lines.join("\n");
    assert!(all.contains("Over time · east→north") && !all.contains("Histogram ·"), "{all}");
    assert!(line_with(&lines, "marks:").contains("1 east +10ms"), "{all}");
    // At 120×36 `g` brings the histogram back in the chart's place.
    let (_, lines) = chart_screen(120, 36, true);
    let all = lines.join("\n");
    assert!(all.contains("Histogram · east→north") && !all.contains("Over time"), "{all}");
}

#[test]
fn the_chart_fits_every_size() {
    for swap in [false, true] {
        for (w, h) in [(200, 60), (120, 36), (80, 24), (20, 5), (24, 8), (40, 12), (119, 35), (120, 44), (60, 18), (0, 0)] {
            let (_, lines) = chart_screen(w, h, swap);
            assert_eq!(lines.len(), h as usize);
        }
    }
    let (_, lines) = chart_screen(20, 5, false);
    assert!(lines.join("\n").contains("too small"));
    // A chart pane alone, at sizes too small for its plots.
    let app = chart_app();
    for (w, h) in [(10, 3), (30, 4), (30, 6), (30, 8), (60, 10)] {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        t.draw(|f| f.render_widget(chart::ChartPane { app: &app, swap_hint: None }, f.area())).unwrap();
    }
}

#[test]
fn a_lost_packet_shows_the_ttl_it_had_left() {
    use lwc_wire::events::{Injected, Lost, LostReason, PacketEvent};
    let mut app = ring_app();
    let lost = |packet: u64| {
        Update::Event(
            Box::new(PacketEvent::Lost(Lost {
                packet,
                route: "default".into(),
                hops: 4,
                at: "west".into(),
                reason: LostReason::Unreachable,
                host: "north".into(),
                detail: String::new(),
            })),
            NOW,
        )
    };
    let seen = NOW - 2 * S + 12_345_678;
    app.apply(Update::Event(
        Box::new(PacketEvent::Injected(Injected {
            packet: seen,
            ttl: 100,
            chaos: 0,
            route: "default".into(),
            host: "control".into(),
            at_ns: seen,
            trace: false,
        })),
        seen,
    ));
    app.apply(lost(seen));
    app.apply(lost(NOW - S + 87_654_321)); // its injection happened before we looked
    let lines = text(&draw(&app, 120, 36));
    let row = |id: u64| line_with(&lines, &fmt_packet(id, 8)).to_string();
    let cells = |r: String| r.split('│').nth(1).unwrap().split_whitespace().map(str::to_string).collect::<Vec<_>>();
    assert_eq!(cells(row(seen))[2], "96", "{}", lines.join("\n"));
    assert_eq!(cells(row(NOW - S + 87_654_321))[2], "—");
    assert!(lines.iter().filter(|l| l.contains("✖ unreachab")).all(|l| !l.contains(" ? ")));
}

fn lab_report(app: &mut App, at_ns: u64) {
    let text = br#"{"experiment":"brownout","file":"scenarios/brownout.toml","phase":"slow-east","elapsed_s":12.0,"duration_s":40,"remaining_s":28.0,"status":"running","expectations":[{"phase":"baseline","metric":"p99_ms","edge":"east->north","series":null,"min":null,"max":5.0,"value":3.2,"ok":true},{"phase":"slow-east","metric":"p99_ms","edge":"east->north","min":20,"value":12.5,"ok":false},{"phase":"recovery","metric":"lost_pct","max":1,"value":null,"ok":null}]}"#;
    let status = crate::app::lab::decode(text).unwrap();
    app.apply(Update::Lab(Box::new(status), at_ns));
}

#[test]
fn a_running_experiment_shows_its_phase_time_left_and_expectations() {
    let mut app = ring_app();
    lab_report(&mut app, NOW);
    for (w, h) in [(200, 60), (120, 36), (100, 30), (80, 24)] {
        let lines = text(&draw(&app, w, h));
        let all = lines.join("\n");
        let head = line_with(&lines, "Experiment brownout");
        assert!(head.contains("phase slow-east") && head.contains("28s left of 40s") && head.contains("running"), "{w}x{h}: {head}");
        if (w, h) != (80, 24) {
            let exp = line_with(&lines, "✓ baseline p99_ms east->north ≤5: 3.20");
            assert!(exp.contains("✗ slow-east p99_ms east->north ≥20: 12.50"), "{exp}");
        }
        // The other panes are still all there.
        assert!(all.contains("Latency ·") && all.contains("i inject"), "{all}");
    }
    for (w, h) in [(20, 5), (30, 6), (40, 10), (60, 18)] {
        draw(&app, w, h);
    }
    // It stays a few seconds after the last report, then goes.
    app.tick(NOW + 4 * S);
    assert!(screen(&draw(&app, 120, 36)).contains("Experiment brownout"));
    app.tick(NOW + 6 * S);
    assert!(!screen(&draw(&app, 120, 36)).contains("Experiment"));
}

#[test]
fn the_experiment_popup_picks_a_file() {
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut app = ring_app();
    app.picker = Some(crate::app::lab::Picker {
        root: "/project".into(),
        files: vec!["scenarios/brownout.toml".into(), "scenarios/demo.toml".into()],
        selected: 0,
    });
    let all = screen(&draw(&app, 120, 36));
    assert!(all.contains("▸ scenarios/brownout.toml") && all.contains("  scenarios/demo.toml"), "{all}");
    for (w, h) in [(20, 5), (30, 6), (80, 24)] {
        draw(&app, w, h);
    }
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    assert_eq!(crate::input::handle(&mut app, key(KeyCode::Char('i'))), None, "the popup has the keys");
    crate::input::handle(&mut app, key(KeyCode::Down));
    assert!(screen(&draw(&app, 120, 36)).contains("▸ scenarios/demo.toml"));
    let cmd = crate::input::handle(&mut app, key(KeyCode::Enter));
    assert_eq!(
        cmd,
        Some(crate::app::Command::RunExperiment {
            root: "/project".into(),
            file: "scenarios/demo.toml".into()
        })
    );
    assert!(app.picker.is_none());
    app.experiment_started(Err("/project/scripts/experiment.sh does not exist".into()));
    let all = screen(&draw(&app, 120, 36));
    assert!(all.contains("│ experiment: /project/scripts/expe"), "{all}");
    assert!(app.note.as_ref().is_some_and(|n| n.error && n.text.ends_with("experiment.sh does not exist")));
    assert!(!app.quit);
}
