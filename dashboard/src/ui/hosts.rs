//! The hosts as a table, for a lattice too big for a ring (or a pane too
//! small for one): one row per host with its state, invocation rate,
//! failures, the highest p99 of the edges into it, and its chaos; trouble
//! on top (gone, down, never seen, failing now, failed before, under chaos,
//! slow, busy). The selected host stays in view: when the rows run out it
//! takes the last.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

use super::{bad, block, dim, fmt_chaos, fmt_count, fmt_rate, fmt_us, selected, warn};
use crate::app::hosts::Status;
use crate::app::{App, Plane};

pub struct HostsTable<'a>(pub &'a App);

pub const COLUMNS: [&str; 7] = ["host", "state", "/s", "err", "err/s", "p99 in", "chaos"];

/// The first `rows` names of `order`, with `chosen` kept in view: it takes
/// the last row when it would fall below.
pub fn visible<'a>(order: &[&'a str], rows: usize, chosen: Option<&str>) -> Vec<&'a str> {
    let mut shown: Vec<&str> = order.iter().take(rows).copied().collect();
    if let Some(c) = chosen {
        if rows > 0 && !shown.contains(&c) {
            if let Some(found) = order.iter().find(|n| **n == c) {
                shown[rows - 1] = found;
            }
        }
    }
    shown
}

impl Widget for HostsTable<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let order = app.hosts_by_trouble();
        let up = order.iter().filter(|h| status(app, h) == Status::Up).count();
        let rows_fit = usize::from(area.height.saturating_sub(3));
        let hidden = order.len().saturating_sub(rows_fit);
        let more = if hidden > 0 { format!(" · {hidden} more below") } else { String::new() };
        let b = block(format!("Hosts · {up}/{} up · trouble first{more}", order.len()));
        let inner = b.inner(area);
        b.render(area, buf);
        if order.is_empty() {
            let hint = Line::styled("no hosts yet: waiting for heartbeats (every second)", dim());
            return Paragraph::new(hint).render(inner, buf);
        }
        let chosen = app.selected_host_name();
        let shown = visible(&order, rows_fit, chosen);
        let name_w = shown.iter().map(|h| h.chars().count()).max().unwrap_or(4).clamp(4, 16) as u16;
        let rows = shown.iter().map(|name| row(app, name, chosen == Some(*name)));
        let widths = [
            Constraint::Length(name_w),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Min(4),
        ];
        Table::new(rows, widths)
            .header(Row::new(COLUMNS).style(Style::new().add_modifier(Modifier::BOLD)))
            .column_spacing(1)
            .render(inner, buf);
    }
}

fn status(app: &App, host: &str) -> Status {
    app.host(host).map(|h| h.status(app.now_ns)).unwrap_or(Status::Unknown)
}

fn row<'a>(app: &App, name: &str, is_selected: bool) -> Row<'a> {
    let host = app.host(name);
    let s = status(app, name);
    let (glyph, style) = super::ring::status_style(s);
    let live = s == Status::Up;
    let errors = host.map(|h| h.failures().total()).unwrap_or(0);
    let err_rate = host.map(|h| h.err_rate).unwrap_or(0.0);
    let rate = if live { host.map(|h| h.inv_rate).unwrap_or(0.0) } else { 0.0 };
    let worst = host
        .and_then(|h| h.worst_in.as_ref())
        .filter(|_| live)
        .map_or("—".to_string(), |(_, p99)| fmt_us(*p99));
    let chaos = match &app.plane {
        Plane::Available => {
            let c = app.chaos.get(name).copied().unwrap_or_default();
            Span::styled(fmt_chaos(&c), if c.is_calm() { dim() } else { bad() })
        }
        _ => Span::styled("n/a", dim()),
    };
    let cells = vec![
        Cell::from(name.to_string()),
        Cell::from(Span::styled(format!("{glyph} {}", s.as_str()), style)),
        Cell::from(fmt_rate(rate)),
        Cell::from(Span::styled(fmt_count(errors), if errors > 0 { warn() } else { dim() })),
        Cell::from(Span::styled(fmt_rate(err_rate), if err_rate > 0.0 { warn() } else { dim() })),
        Cell::from(worst),
        Cell::from(chaos),
    ];
    let row = Row::new(cells);
    if is_selected {
        row.style(selected())
    } else {
        row
    }
}
