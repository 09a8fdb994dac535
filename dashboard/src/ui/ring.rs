//! The ring: north, east, south and west in their places, control feeding
//! east, each with its state, invocation rate, failures and chaos; the live
//! links between them, the selected route's highlighted with its p50.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Context, Line as CanvasLine};
use ratatui::widgets::{Paragraph, Widget};

use super::{bad, block, dim, fmt_chaos, fmt_count, fmt_rate, fmt_us, good, selected, warn};
use crate::app::hosts::Status;
use crate::app::{App, Plane, View};
use crate::stats::SeriesKey;

pub struct Ring<'a>(pub &'a App);

/// Width of a host's label; the diagram needs three of them side by side.
const BOX_W: u16 = 17;

impl Widget for Ring<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let links = if app.links_live { "live links" } else { "DESIGN links" };
        let b = block(format!("Ring · route {} (o) · {links}", app.inject.route));
        let inner = b.inner(area);
        b.render(area, buf);
        if inner.width >= 3 * 14 && inner.height >= 10 {
            diagram(app, inner, buf);
        } else {
            list(app, inner, buf);
        }
    }
}

fn status_style(s: Status) -> (&'static str, Style) {
    match s {
        Status::Up => ("●", good()),
        Status::Down => ("▼", bad()),
        Status::Gone => ("✖", bad()),
        Status::Unknown => ("○", dim()),
    }
}

/// The three label lines of one host.
fn host_lines(app: &App, name: &str, width: usize) -> [Line<'static>; 3] {
    let host = app.host(name);
    let status = host.map(|h| h.status(app.now_ns)).unwrap_or(Status::Unknown);
    let (dot, style) = status_style(status);
    let is_selected = app.selected_host_name() == name;
    let name_style = if is_selected {
        selected()
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    let first = Line::from(vec![
        Span::styled(format!("{dot} "), style),
        Span::styled(name.to_string(), name_style),
        Span::styled(format!(" {}", status.as_str()), style),
    ]);
    let (rate, errors) = host
        .map(|h| (h.inv_rate, h.failures().total()))
        .unwrap_or((0.0, 0));
    let second = Line::from(vec![
        Span::raw(format!("{}/s ", fmt_rate(rate))),
        Span::styled(format!("err {}", fmt_count(errors)), if errors > 0 { warn() } else { dim() }),
    ]);
    let third = match &app.plane {
        Plane::Available => {
            let c = app.chaos.get(name).copied().unwrap_or_default();
            Line::styled(fmt_chaos(&c), if c.is_calm() { dim() } else { bad() })
        }
        _ => Line::styled("chaos n/a", dim()),
    };
    [first, second, third].map(|l| pad(l, width))
}

/// Cut or pad a line to exactly `width` cells (0: leave it as it is), so
/// it covers what is under it and never spills into a neighbour.
fn pad(mut line: Line<'static>, width: usize) -> Line<'static> {
    if width == 0 {
        return line;
    }
    let mut left = width;
    for span in &mut line.spans {
        let n = span.content.chars().count();
        if n > left {
            span.content = span.content.chars().take(left).collect::<String>().into();
        }
        left -= n.min(left);
    }
    if left > 0 {
        line.spans.push(Span::raw(" ".repeat(left)));
    }
    line
}

fn list(app: &App, area: Rect, buf: &mut Buffer) {
    let lines: Vec<Line> = app
        .host_names()
        .iter()
        .map(|name| {
            let [a, b, c] = host_lines(app, name, 0);
            let mut spans = a.spans;
            spans.push(Span::raw("  "));
            spans.extend(b.spans);
            spans.push(Span::raw("  "));
            spans.extend(c.spans);
            Line::from(spans)
        })
        .collect();
    Paragraph::new(lines).render(area, buf);
}

/// Top-left cell of each of the five places, in `area`-relative cells.
fn places(w: u16, h: u16, bw: u16) -> [(&'static str, u16, u16); 5] {
    let mid = (h.saturating_sub(3)) / 2;
    let center = w.saturating_sub(bw) / 2;
    [
        ("north", center, 0),
        ("south", center, h.saturating_sub(3)),
        ("west", 0, mid),
        ("east", w.saturating_sub(bw), mid),
        ("control", w.saturating_sub(bw), 0),
    ]
}

fn diagram(app: &App, area: Rect, buf: &mut Buffer) {
    let (w, h) = (area.width, area.height);
    let bw = BOX_W.min(w / 3);
    let places = places(w, h, bw);
    // Canvas y grows upwards; cell row r is y = h - 1 - r.
    let center = |name: &str| -> Option<(f64, f64)> {
        places
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, c, r)| ((c + bw / 2) as f64, (h - 1 - (r + 1)) as f64))
    };
    let selected_edge = match app.selected_key() {
        Some(SeriesKey::Edge { from, to }) => Some((from, to)),
        _ => None,
    };
    // Dim links first, so the route's links are drawn over them.
    let mut links: Vec<_> = app.links.iter().collect();
    links.sort_by_key(|l| l.name == app.inject.route);

    let canvas = Canvas::default()
        .marker(Marker::Braille)
        .x_bounds([0.0, (w - 1) as f64])
        .y_bounds([0.0, (h - 1) as f64])
        .paint(|ctx| {
            for link in &links {
                let (Some(a), Some(b)) = (center(&link.source), center(&link.target)) else {
                    continue;
                };
                let on_route = link.name == app.inject.route;
                ctx.draw(&CanvasLine {
                    x1: a.0,
                    y1: a.1,
                    x2: b.0,
                    y2: b.1,
                    color: if on_route { Color::Yellow } else { Color::DarkGray },
                });
            }
            ctx.layer();
            for link in &links {
                let (Some(a), Some(b)) = (center(&link.source), center(&link.target)) else {
                    continue;
                };
                let on_route = link.name == app.inject.route;
                let is_selected = selected_edge
                    .as_ref()
                    .is_some_and(|(f, t)| *f == link.source && *t == link.target);
                arrow(ctx, app, a, b, link, on_route, is_selected);
            }
            for (name, c, r) in places {
                for (i, line) in host_lines(app, name, bw as usize).into_iter().enumerate() {
                    ctx.print(c as f64, (h - 1 - (r + i as u16)) as f64, line);
                }
            }
        });
    canvas.render(area, buf);
}

/// A direction glyph 60% of the way from `a` to `b`, with the edge's p50
/// when it is on the selected route.
fn arrow(
    ctx: &mut Context,
    app: &App,
    a: (f64, f64),
    b: (f64, f64),
    link: &crate::app::Link,
    on_route: bool,
    is_selected: bool,
) {
    let t = 0.6;
    let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
    // Cells are about twice as tall as wide.
    let (dx, dy) = (b.0 - a.0, (b.1 - a.1) * 2.0);
    let angle = dy.atan2(dx).to_degrees();
    let glyph = match angle {
        a if (-22.5..22.5).contains(&a) => "→",
        a if (22.5..67.5).contains(&a) => "↗",
        a if (67.5..112.5).contains(&a) => "↑",
        a if (112.5..157.5).contains(&a) => "↖",
        a if (-67.5..-22.5).contains(&a) => "↘",
        a if (-112.5..-67.5).contains(&a) => "↓",
        a if (-157.5..-112.5).contains(&a) => "↙",
        _ => "←",
    };
    let style = if is_selected {
        selected()
    } else if on_route {
        Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
    } else {
        dim()
    };
    let mut spans = vec![Span::styled(glyph, style)];
    if on_route || is_selected {
        let key = SeriesKey::edge(&link.source, &link.target);
        if let Some(s) = app.stats.series.get(&key) {
            let p = match app.view {
                View::Window => s.window_pct,
                View::Run => s.run_pct,
            };
            if p.count > 0 {
                spans.push(Span::styled(fmt_us(p.p50), style));
            }
        }
    }
    ctx.print(x.round(), y.round(), Line::from(spans));
}
