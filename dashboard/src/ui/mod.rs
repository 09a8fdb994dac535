//! Drawing: the layout and one widget per pane. Everything here only reads
//! the [`App`]; nothing is computed that the state does not already hold,
//! beyond formatting what is on screen.
//!
//! - [`header`]: lattice, NATS and API state, hop rate, view
//! - [`ring`]: the hosts in their places and the live links
//! - [`latency`]: percentiles of every edge, component and lifetime
//! - [`histogram`]: the selected series as bars
//! - [`failures`]: failures per host by kind, and the ledger
//! - [`packets`]: the most recent packets and their fates
//! - [`log`]: the hop log
//! - [`footer`]: injection settings, the selected host's chaos, keys
//! - [`help`]: the key list overlay

pub mod failures;
pub mod footer;
pub mod header;
pub mod help;
pub mod histogram;
pub mod latency;
pub mod log;
pub mod packets;
pub mod ring;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::App;

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
    if area.width < FULL_MIN.0 || area.height < FULL_MIN.1 {
        render_compact(f, app, area);
    } else {
        render_full(f, app, area);
    }
    if app.show_help {
        f.render_widget(help::Help(app), area);
    }
}

fn render_full(f: &mut Frame, app: &App, area: Rect) {
    let [head, body, settings, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(2),
    ])
    .areas(area);
    let [top, mid, bottom] = Layout::vertical([Constraint::Fill(3), Constraint::Fill(2), Constraint::Fill(2)]).areas(body);
    let split = |r: Rect| -> [Rect; 2] {
        Layout::horizontal([Constraint::Percentage(46), Constraint::Percentage(54)]).areas(r)
    };
    let [ring_area, latency_area] = split(top);
    let [hist_area, fail_area] = split(mid);
    let [packets_area, log_area] = split(bottom);
    f.render_widget(header::Header(app), head);
    f.render_widget(ring::Ring(app), ring_area);
    f.render_widget(latency::Latency(app), latency_area);
    f.render_widget(histogram::HistogramPane(app), hist_area);
    f.render_widget(failures::Failures(app), fail_area);
    f.render_widget(packets::Packets(app), packets_area);
    f.render_widget(log::Log(app), log_area);
    f.render_widget(footer::Settings(app), settings);
    f.render_widget(footer::Keys { app, lines: 2 }, keys);
}

/// Small terminals: hosts as a list, the percentiles, the settings, keys.
fn render_compact(f: &mut Frame, app: &App, area: Rect) {
    let [head, ring_area, latency_area, settings, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(7),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    f.render_widget(header::Header(app), head);
    f.render_widget(ring::Ring(app), ring_area);
    f.render_widget(latency::Latency(app), latency_area);
    f.render_widget(footer::Settings(app), settings);
    f.render_widget(footer::Keys { app, lines: 1 }, keys);
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
