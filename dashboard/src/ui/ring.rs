//! The ring: every place (a component and the hosts that run it) on an
//! ellipse, in route order, with its state, invocation rate, failures and
//! chaos; the live links between them, the selected route's highlighted
//! with its p50. A lattice of more than [`RING_MAX`] places, or one that
//! does not fit the pane, is drawn as the hosts table instead.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Context, Line as CanvasLine};
use ratatui::widgets::{Paragraph, Widget};

use super::ring_layout::{self, Arrangement};
use super::{bad, block, dim, fmt_chaos, fmt_count, fmt_rate, fmt_us, good, selected, warn};
use crate::app::hosts::Status;
use crate::app::topology::Place;
use crate::app::{App, Link, Plane, View, RING_MAX};
use crate::stats::SeriesKey;

pub struct Ring<'a>(pub &'a App);

impl Widget for Ring<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.0;
        let places = &app.topology.places;
        if places.len() > RING_MAX {
            return super::hosts::HostsTable(app).render(area, buf);
        }
        let b = block(format!("Ring · route {} (o) · {}", app.inject.route, edges_source(app)));
        let inner = b.inner(area);
        if places.is_empty() {
            b.render(area, buf);
            let hint = Line::styled("no hosts yet: waiting for heartbeats (every second)", dim());
            return Paragraph::new(hint).render(inner, buf);
        }
        let entries: Vec<bool> = places.iter().map(|p| p.entry).collect();
        let natural = places.iter().map(|p| natural_width(app, p)).max().unwrap_or(0);
        let Some(arr) = ring_layout::arrange(&entries, natural, inner.width, inner.height) else {
            return super::hosts::HostsTable(app).render(area, buf);
        };
        b.render(area, buf);
        diagram(app, &arr, inner, buf);
    }
}

/// Where the drawn edges come from.
fn edges_source(app: &App) -> &'static str {
    match (app.links_live, app.stats.series.keys().any(SeriesKey::is_edge)) {
        (true, _) => "live links",
        (false, true) => "edges seen",
        (false, false) => "no links yet",
    }
}

pub fn status_style(s: Status) -> (&'static str, Style) {
    match s {
        Status::Up => ("●", good()),
        Status::Down => ("▼", bad()),
        Status::Gone => ("✖", bad()),
        Status::Unknown => ("○", dim()),
    }
}

fn host_status(app: &App, host: &str) -> Status {
    app.host(host).map(|h| h.status(app.now_ns)).unwrap_or(Status::Unknown)
}

/// A place's glyph, style and state: one host's, or `k/n up` of replicas.
fn place_status(app: &App, place: &Place) -> (&'static str, Style, String) {
    match place.hosts.as_slice() {
        [] => ("○", dim(), "no host".into()),
        [one] => {
            let s = host_status(app, one);
            let (glyph, style) = status_style(s);
            (glyph, style, s.as_str().into())
        }
        many => {
            let up = many.iter().filter(|h| host_status(app, h) == Status::Up).count();
            let (glyph, style) = match up {
                0 => ("✖", bad()),
                n if n == many.len() => ("●", good()),
                _ => ("●", warn()),
            };
            (glyph, style, format!("{up}/{} up", many.len()))
        }
    }
}

fn first_line(app: &App, place: &Place) -> Vec<Span<'static>> {
    let (glyph, style, word) = place_status(app, place);
    let is_selected = app.selected_host_name().is_some_and(|s| place.hosts.iter().any(|h| h == s));
    let name_style = if is_selected {
        selected()
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    };
    vec![
        Span::styled(format!("{glyph} "), style),
        Span::styled(place.name.clone(), name_style),
        Span::styled(format!(" {word}"), style),
    ]
}

/// Invocations per second and failures so far, over its replicas.
fn rate_line(app: &App, place: &Place) -> Vec<Span<'static>> {
    let (rate, errors) = place
        .hosts
        .iter()
        .filter_map(|h| app.host(h))
        .fold((0.0, 0), |(r, e), h| (r + h.inv_rate, e + h.failures().total()));
    vec![
        Span::raw(format!("{}/s ", fmt_rate(rate))),
        Span::styled(format!("err {}", fmt_count(errors)), if errors > 0 { warn() } else { dim() }),
    ]
}

fn chaos_span(app: &App, host: &str) -> Span<'static> {
    match &app.plane {
        Plane::Available => {
            let c = app.chaos.get(host).copied().unwrap_or_default();
            Span::styled(fmt_chaos(&c), if c.is_calm() { dim() } else { bad() })
        }
        _ => Span::styled("chaos n/a", dim()),
    }
}

/// Rate, failures only when there are some, then the detail: for
/// labels of two lines.
fn short_line(app: &App, place: &Place) -> Vec<Span<'static>> {
    let mut spans = rate_line(app, place);
    if place.hosts.iter().filter_map(|h| app.host(h)).all(|h| h.failures().total() == 0) {
        spans.truncate(1);
    } else {
        spans.push(Span::raw(" "));
    }
    spans.extend(detail_line(app, place));
    spans
}

/// One host: its chaos (and its name when it is not the component's).
/// Replicas: each one's state and the end of its name (`●1 ✖2 ●3`).
fn detail_line(app: &App, place: &Place) -> Vec<Span<'static>> {
    match place.hosts.as_slice() {
        [] => vec![Span::styled("no host runs it", dim())],
        [one] if *one == place.name => vec![chaos_span(app, one)],
        [one] => vec![Span::styled(format!("@{one} "), dim()), chaos_span(app, one)],
        many => {
            let cut = common_prefix(many);
            let mut spans = Vec::new();
            for h in many {
                let (glyph, style) = status_style(host_status(app, h));
                let tag = if h.len() > cut { &h[cut..] } else { h.as_str() };
                let chosen = app.selected_host_name() == Some(h.as_str());
                spans.push(Span::styled(glyph, style));
                spans.push(Span::styled(tag.to_string(), if chosen { selected() } else { Style::new() }));
                spans.push(Span::raw(" "));
            }
            spans
        }
    }
}

/// Bytes the names share at the start, cut back to a character boundary.
fn common_prefix(names: &[String]) -> usize {
    let first = names[0].as_str();
    let mut n = names.iter().map(|h| first.bytes().zip(h.bytes()).take_while(|(a, b)| a == b).count()).min().unwrap_or(0);
    while !first.is_char_boundary(n) {
        n -= 1;
    }
    n
}

fn width_of(spans: &[Span]) -> usize {
    spans.iter().map(|s| s.content.chars().count()).sum()
}

fn natural_width(app: &App, place: &Place) -> u16 {
    let w = [first_line(app, place), rate_line(app, place), detail_line(app, place)]
        .iter()
        .map(|l| width_of(l))
        .max()
        .unwrap_or(0);
    w.min(usize::from(u16::MAX)) as u16
}

/// A place's label in `lines` lines of `width` cells.
fn label(app: &App, place: &Place, lines: u16, width: usize) -> Vec<Line<'static>> {
    let mut first = first_line(app, place);
    let out = match lines {
        1 => {
            first.push(Span::raw(" "));
            first.extend(rate_line(app, place).into_iter().take(1));
            vec![first]
        }
        2 => vec![first, short_line(app, place)],
        _ => vec![first, rate_line(app, place), detail_line(app, place)],
    };
    out.into_iter().map(|spans| pad(Line::from(spans), width)).collect()
}

/// Cut or pad a line to exactly `width` cells, so it covers what is under
/// it and never spills into a neighbour.
fn pad(mut line: Line<'static>, width: usize) -> Line<'static> {
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

/// The edges to draw: the live links, or, before the API answered, the
/// edges the telemetry has seen (no route known).
fn drawn_edges(app: &App) -> Vec<Link> {
    if app.links_live {
        return app.links.clone();
    }
    app.stats
        .series
        .keys()
        .filter_map(|k| match k {
            SeriesKey::Edge { from, to } => Some(Link {
                source: from.clone(),
                name: String::new(),
                target: to.clone(),
            }),
            _ => None,
        })
        .collect()
}

fn diagram(app: &App, arr: &Arrangement, area: Rect, buf: &mut Buffer) {
    let (w, h) = (area.width, area.height);
    let places = &app.topology.places;
    // Canvas y grows upwards; cell row r is y = h - 1 - r.
    let center = |name: &str| -> Option<(f64, f64)> {
        let i = app.topology.place_of(name)?;
        let (x, y) = arr.anchor(i);
        Some((f64::from(x), f64::from(h - 1 - y)))
    };
    // Dim links first, so the route's links are drawn over them.
    let mut links = drawn_edges(app);
    links.retain(|l| l.source != l.target);
    links.sort_by_key(|l| l.name == app.inject.route);
    let ends = |l: &Link| Some((center(&l.source)?, center(&l.target)?));
    // Whether `len` cells from canvas point (x, y) run into a label.
    let covered = |x: f64, y: f64, len: usize| {
        let (col, row) = (x.max(0.0) as u16, (f64::from(h) - 1.0 - y).max(0.0) as u16);
        let end = col.saturating_add(len as u16);
        arr.spots
            .iter()
            .any(|&(sx, sy)| row >= sy && row < sy + arr.lines && col < sx + arr.width && end > sx)
    };

    let canvas = Canvas::default()
        .marker(Marker::Braille)
        .x_bounds([0.0, f64::from(w.saturating_sub(1))])
        .y_bounds([0.0, f64::from(h.saturating_sub(1))])
        .paint(|ctx| {
            for link in &links {
                let Some((a, b)) = ends(link) else { continue };
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
                let Some((a, b)) = ends(link) else { continue };
                arrow(ctx, app, a, b, link, &covered);
            }
            for (i, place) in places.iter().enumerate() {
                let (c, r) = arr.spots[i];
                for (k, line) in label(app, place, arr.lines, usize::from(arr.width)).into_iter().enumerate() {
                    ctx.print(f64::from(c), f64::from(h - 1 - (r + k as u16)), line);
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
    covered: &dyn Fn(f64, f64, usize) -> bool,
) {
    let on_route = link.name == app.inject.route;
    let is_selected = matches!(app.selected_key(), Some(SeriesKey::Edge { from, to }) if from == link.source && to == link.target);
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
    // Only what a label will not cover: a half-hidden p50 misleads.
    let (x, y) = (x.round(), y.round());
    let free = |len: usize| !covered(x, y, len);
    if !free(1) {
        return;
    }
    if !free(width_of(&spans)) {
        spans.truncate(1);
    }
    ctx.print(x, y, Line::from(spans));
}
