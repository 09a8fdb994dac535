//! Drawing: the layout and one widget per pane. Everything here only reads
//! the [`App`]; nothing is computed that the state does not already hold,
//! beyond formatting what is on screen.
//!
//! - [`header`]: lattice, NATS and API state, hop rate, view
//! - [`ring`]: the places (components and their hosts) on a ring, with the
//!   live links; [`ring_layout`] says where each goes
//! - [`hosts`]: the hosts as a table, trouble first, for big lattices
//! - [`latency`]: percentiles of every edge, component and lifetime
//! - [`histogram`]: the selected series as bars
//! - [`chart`]: the selected series and fates over time, with marks
//! - [`lab`]: the running experiment, and the `e` popup
//! - [`failures`]: failures per host by kind, and the ledger
//! - [`packets`]: the most recent packets and their fates
//! - [`log`]: the hop log
//! - [`footer`]: injection settings, the selected host's chaos, keys
//! - [`help`]: the key list overlay

pub mod chart;
pub mod failures;
pub mod footer;
pub mod header;
pub mod help;
pub mod histogram;
pub mod hosts;
pub mod lab;
pub mod latency;
pub mod log;
pub mod packets;
pub mod ring;
pub mod ring_layout;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::App;

/// From here the chart has a place of its own, beside the failures.
pub const WIDE_MIN: (u16, u16) = (120, 36);
/// From here the chart gets a full-width row and the histogram its place too.
pub const TALL_MIN: (u16, u16) = (120, 44);
/// Below this the full layout does not fit; a compact one is drawn.
pub const FULL_MIN: (u16, u16) = (100, 30);
/// Below this only a one-line notice is drawn.
pub const TINY: (u16, u16) = (30, 6);

pub fn render(f: &mut Frame, app: &App) {
    let area = f.area();
    if area.width < TINY.0 || area.height < TINY.1 {
        let msg = format!("too small ({}x{}) · q quits", area.width, area.height);
        f.render_widget(Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }), area);
        return;
    }
    let fits = |min: (u16, u16)| area.width >= min.0 && area.height >= min.1;
    if fits(TALL_MIN) {
        render_tall(f, app, area);
    } else if fits(WIDE_MIN) {
        render_wide(f, app, area);
    } else if fits(FULL_MIN) {
        render_full(f, app, area);
    } else {
        render_compact(f, app, area);
    }
    if let Some(p) = &app.picker {
        f.render_widget(lab::PickerPopup(p), area);
    }
    if app.show_help {
        f.render_widget(help::Help(app), area);
    }
}

/// Head, body, settings and keys; the running experiment, if any, takes
/// the body's first lines (drawn here).
fn frame_with(f: &mut Frame, app: &App, area: Rect, key_lines: u16, compact: bool) -> [Rect; 4] {
    let lab_h = lab::height(app.lab_status(), compact);
    let [head, lab_area, body, settings, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(lab_h),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(key_lines),
    ])
    .areas(area);
    if let Some(status) = app.lab_status() {
        f.render_widget(lab::LabPane(status), lab_area);
    }
    [head, body, settings, keys]
}

fn halves(r: Rect) -> [Rect; 2] {
    Layout::horizontal([Constraint::Percentage(46), Constraint::Percentage(54)]).areas(r)
}

fn head_and_foot(f: &mut Frame, app: &App, head: Rect, settings: Rect, keys: Rect, key_lines: u16) {
    f.render_widget(header::Header(app), head);
    f.render_widget(footer::Settings(app), settings);
    f.render_widget(footer::Keys { app, lines: key_lines }, keys);
}

/// The place the chart and the histogram share: the chart where it is the
/// default (`chart_first`), the histogram otherwise; `g` swaps them.
fn shared_slot(f: &mut Frame, app: &App, area: Rect, chart_first: bool) {
    if chart_first != app.swap_chart {
        let hint = Some("histogram");
        f.render_widget(chart::ChartPane { app, swap_hint: hint }, area);
    } else {
        f.render_widget(histogram::HistogramPane(app), area);
    }
}

/// 120×44 and up: every pane, the chart in a full-width row of its own.
fn render_tall(f: &mut Frame, app: &App, area: Rect) {
    let [head, body, settings, keys] = frame_with(f, app, area, 2, false);
    let [top, chart_row, mid, bottom] = Layout::vertical([
        Constraint::Fill(3),
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Fill(2),
    ])
    .areas(body);
    let [ring_area, latency_area] = halves(top);
    let [hist_area, fail_area] = halves(mid);
    let [packets_area, log_area] = halves(bottom);
    f.render_widget(ring::Ring(app), ring_area);
    f.render_widget(latency::Latency(app), latency_area);
    f.render_widget(chart::ChartPane { app, swap_hint: None }, chart_row);
    f.render_widget(histogram::HistogramPane(app), hist_area);
    f.render_widget(failures::Failures(app), fail_area);
    f.render_widget(packets::Packets(app), packets_area);
    f.render_widget(log::Log(app), log_area);
    head_and_foot(f, app, head, settings, keys, 2);
}

/// 120×36 up to the tall layout: the chart beside the failures, in the
/// histogram's place (`g` brings the histogram back).
fn render_wide(f: &mut Frame, app: &App, area: Rect) {
    let [head, body, settings, keys] = frame_with(f, app, area, 2, false);
    let [top, mid, bottom] =
        Layout::vertical([Constraint::Length(12), Constraint::Fill(1), Constraint::Length(7)]).areas(body);
    let [ring_area, latency_area] = halves(top);
    let [chart_area, fail_area] = Layout::horizontal([Constraint::Fill(1), Constraint::Length(62)]).areas(mid);
    let [packets_area, log_area] = halves(bottom);
    f.render_widget(ring::Ring(app), ring_area);
    f.render_widget(latency::Latency(app), latency_area);
    shared_slot(f, app, chart_area, true);
    f.render_widget(failures::Failures(app), fail_area);
    f.render_widget(packets::Packets(app), packets_area);
    f.render_widget(log::Log(app), log_area);
    head_and_foot(f, app, head, settings, keys, 2);
}

fn render_full(f: &mut Frame, app: &App, area: Rect) {
    let [head, body, settings, keys] = frame_with(f, app, area, 2, false);
    let [top, mid, bottom] = Layout::vertical([Constraint::Fill(3), Constraint::Fill(2), Constraint::Fill(2)]).areas(body);
    let [ring_area, latency_area] = halves(top);
    let [hist_area, fail_area] = halves(mid);
    let [packets_area, log_area] = halves(bottom);
    f.render_widget(ring::Ring(app), ring_area);
    f.render_widget(latency::Latency(app), latency_area);
    shared_slot(f, app, hist_area, false);
    f.render_widget(failures::Failures(app), fail_area);
    f.render_widget(packets::Packets(app), packets_area);
    f.render_widget(log::Log(app), log_area);
    head_and_foot(f, app, head, settings, keys, 2);
}

/// Small terminals: hosts as a list, the percentiles, the histogram (or,
/// with `g`, the chart) when there is room, the settings, keys.
fn render_compact(f: &mut Frame, app: &App, area: Rect) {
    let [head, body, settings, keys] = frame_with(f, app, area, 1, true);
    let slot = if body.height >= 18 { Constraint::Fill(1) } else { Constraint::Length(0) };
    // Room for every host of a small lattice, a few rows of a big one.
    let ring_h = (app.host_names().len() as u16).saturating_add(3).clamp(7, 9);
    let [ring_area, latency_area, slot_area] =
        Layout::vertical([Constraint::Length(ring_h), Constraint::Fill(1), slot]).areas(body);
    f.render_widget(ring::Ring(app), ring_area);
    f.render_widget(latency::Latency(app), latency_area);
    if slot_area.height > 0 {
        shared_slot(f, app, slot_area, false);
    }
    head_and_foot(f, app, head, settings, keys, 1);
}

// ------------------------------------------------------------- styles

pub fn title() -> Style {
    Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
}

pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

pub fn good() -> Style {
    Style::new().fg(Color::Green)
}

pub fn warn() -> Style {
    Style::new().fg(Color::Yellow)
}

pub fn bad() -> Style {
    Style::new().fg(Color::Red)
}

pub fn selected() -> Style {
    Style::new().fg(Color::Black).bg(Color::Cyan)
}

pub fn block(title_text: String) -> ratatui::widgets::Block<'static> {
    ratatui::widgets::Block::bordered()
        .border_style(dim())
        .title(ratatui::text::Span::styled(format!(" {title_text} "), title()))
}

// ---------------------------------------------------------- formatting

/// A duration in µs, in three or four significant characters.
pub fn fmt_us(us: u64) -> String {
    match us {
        0..=999 => format!("{us}µs"),
        1_000..=9_999 => format!("{:.2}ms", us as f64 / 1e3),
        10_000..=99_999 => format!("{:.1}ms", us as f64 / 1e3),
        100_000..=999_999 => format!("{}ms", us / 1_000),
        1_000_000..=9_999_999 => format!("{:.2}s", us as f64 / 1e6),
        _ => format!("{:.1}s", us as f64 / 1e6),
    }
}

/// A count with thousands separators.
pub fn fmt_count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second, short: `850`, `12.3k`, `1.20M`.
pub fn fmt_rate(r: f64) -> String {
    // (An empty f64 sum is -0.0.)
    if !r.is_finite() || r <= 0.0 {
        return "0".into();
    }
    if r < 10.0 {
        format!("{r:.1}")
    } else if r < 1_000.0 {
        format!("{r:.0}")
    } else if r < 1_000_000.0 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{:.2}M", r / 1e6)
    }
}

/// Wall-clock ns as `HH:MM:SS.mmm` (UTC).
pub fn fmt_clock(ns: u64) -> String {
    let ms = ns / 1_000_000;
    let s = ms / 1_000;
    format!("{:02}:{:02}:{:02}.{:03}", (s / 3600) % 24, (s / 60) % 60, s % 60, ms % 1_000)
}

/// The last `n` digits of a packet id, after an ellipsis.
pub fn fmt_packet(id: u64, n: usize) -> String {
    let s = id.to_string();
    if s.len() <= n {
        s
    } else {
        format!("…{}", &s[s.len() - n..])
    }
}

/// Chaos settings in a few characters: `trap20 drop5 +5±2ms ↓8s`, or `calm`.
pub fn fmt_chaos(c: &crate::app::Chaos) -> String {
    if c.is_calm() {
        return "calm".into();
    }
    let mut parts = Vec::new();
    if c.trap > 0 {
        parts.push(format!("trap{}", c.trap));
    }
    if c.drop > 0 {
        parts.push(format!("drop{}", c.drop));
    }
    if c.jitter_ms > 0 {
        parts.push(format!("+{}±{}ms", c.delay_ms, c.jitter_ms));
    } else if c.delay_ms > 0 {
        parts.push(format!("+{}ms", c.delay_ms));
    }
    if c.down_s > 0 {
        parts.push(format!("↓{}s", c.down_s));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod lattice_tests;
#[cfg(test)]
mod ledger_tests;
