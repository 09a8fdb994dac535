//! The chart: the selected series' p50 and p99 per second (log scale, every
//! other edge's p99 in grey behind it), fates per second below it on the
//! same time axis, and numbered marks where chaos or links changed or a
//! host went away or came back, with a legend line saying what each is.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Widget};

use super::{block, dim, fmt_chaos, fmt_rate};
use crate::app::history::{Cause, Mark, SECOND};
use crate::app::App;
use crate::stats::SeriesKey;

pub struct ChartPane<'a> {
    pub app: &'a App,
    /// What `g` would show instead, for the title.
    pub swap_hint: Option<&'static str>,
}

/// Every y label is padded to this width, so both charts' time axes line up.
const Y_LABEL_W: u16 = 7;

pub const P99: Color = Color::Yellow;
pub const P50: Color = Color::Cyan;
pub const OTHER: Color = Color::DarkGray;
pub const EXPIRED: Color = Color::Green;
pub const MARK_CHANGE: Color = Color::White;
pub const MARK_HOST: Color = Color::LightYellow;

/// Colour of a loss reason's line.
pub fn lost_color(reason: &str) -> Color {
    match reason {
        "unreachable" => Color::Red,
        "dropped" => Color::LightRed,
        "trap-before-forward" => Color::Magenta,
        "overloaded" => Color::LightMagenta,
        "timeout" => Color::Blue,
        "no-link" => Color::LightBlue,
        _ => Color::Gray,
    }
}

pub fn mark_color(m: &Mark) -> Color {
    if m.causes.iter().all(Cause::is_host_event) {
        MARK_HOST
    } else {
        MARK_CHANGE
    }
}

/// The label of the `i`-th mark on screen: 1–9, then a–z.
pub fn mark_label(i: usize) -> char {
    const LABELS: &[u8] = b"123456789abcdefghijklmnopqrstuvwxyz";
    LABELS.get(i).map_or('+', |b| *b as char)
}

/// What a mark is, in a few words.
pub fn describe(m: &Mark) -> String {
    let parts: Vec<String> = m
        .causes
        .iter()
        .map(|c| match c {
            Cause::Chaos { host, chaos } => format!("{host} {}", fmt_chaos(chaos)),
            Cause::LinkPut(l) => format!("link {}.{}→{}", l.source, l.name, l.target),
            Cause::LinkDelete { source, name } => format!("link {source}.{name} deleted"),
            Cause::Gone(h) => format!("{h} gone"),
            Cause::Back(h) => format!("{h} back"),
            Cause::Serving(h) => format!("{h} serving"),
        })
        .collect();
    parts.join(", ")
}

impl Widget for ChartPane<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let key = app.selected_key().unwrap_or(SeriesKey::AllEdges);
        let span = app.history.span_s();
        let hint = self.swap_hint.map(|h| format!(" · g {h}")).unwrap_or_default();
        let b = block(format!("Over time · {} · {span}s · ↑↓{hint}", key.label()));
        let inner = b.inner(area);
        b.render(area, buf);
        let view = View::new(app, span);
        if inner.height < 3 || inner.width < 24 {
            Paragraph::new(view.marks_line(inner.width)).render(inner, buf);
            return;
        }
        let with_fates = inner.height >= 7;
        let legends: u16 = if inner.height >= 14 { 2 } else { 1 };
        let [lat, fates, legend] = Layout::vertical([
            Constraint::Fill(3),
            Constraint::Fill(if with_fates { 2 } else { 0 }),
            Constraint::Length(legends),
        ])
        .areas(inner);
        view.latency(app, &key, lat, !with_fates, buf);
        if with_fates {
            view.fates(app, fates, buf);
        }
        let mut lines = Vec::new();
        if legends == 2 {
            lines.push(view.series_line(app, &key));
        }
        lines.push(view.marks_line(legend.width));
        Paragraph::new(lines).render(legend, buf);
    }
}

/// What the frame shows: the span, and the marks in it.
struct View<'a> {
    span: f64,
    now_ns: u64,
    marks: Vec<&'a Mark>,
}

impl<'a> View<'a> {
    fn new(app: &'a App, span_s: u64) -> View<'a> {
        let oldest = app.now_ns.saturating_sub(span_s * SECOND);
        View {
            span: span_s as f64,
            now_ns: app.now_ns,
            marks: app.history.marks().filter(|m| m.at_ns >= oldest).collect(),
        }
    }

    /// Seconds before now (negative) of a wall-clock second's middle.
    fn x_of_second(&self, sec: u64) -> f64 {
        (sec as f64 + 0.5) - self.now_ns as f64 / 1e9
    }

    fn x_of_ns(&self, ns: u64) -> f64 {
        (ns as f64 - self.now_ns as f64) / 1e9
    }

    fn in_span(&self, x: f64) -> bool {
        (-self.span..=0.5).contains(&x)
    }

    fn x_axis(&self, labels: bool) -> Axis<'static> {
        let axis = Axis::default().bounds([-self.span, 0.0]).style(dim());
        if labels {
            axis.labels([format!("-{}s", self.span), format!("-{}s", self.span / 2.0), "now".to_string()])
        } else {
            axis
        }
    }

    fn mark_lines(&self, y: [f64; 2]) -> Vec<(Color, [(f64, f64); 2])> {
        self.marks
            .iter()
            .map(|m| {
                let x = self.x_of_ns(m.at_ns).clamp(-self.span, 0.0);
                (mark_color(m), [(x, y[0]), (x, y[1])])
            })
            .collect()
    }

    fn latency(&self, app: &App, key: &SeriesKey, area: Rect, x_labels: bool, buf: &mut Buffer) {
        let log = |us: u64| (us.max(1) as f64).log10();
        let series = |k: &SeriesKey, p99: bool| -> Vec<(f64, f64)> {
            app.history
                .points(k)
                .map(|(s, p)| (self.x_of_second(s), log(if p99 { p.p99 } else { p.p50 })))
                .filter(|(x, _)| self.in_span(*x))
                .collect()
        };
        let others: Vec<Vec<(f64, f64)>> = app
            .history
            .keys()
            .filter(|k| k.is_edge() && *k != key)
            .map(|k| series(k, true))
            .collect();
        let (p50, p99) = (series(key, false), series(key, true));
        let ys = others.iter().flatten().chain(&p50).chain(&p99).map(|(_, y)| *y);
        let (lo, hi) = ys.fold(None, |acc: Option<(f64, f64)>, y| {
            Some(acc.map_or((y, y), |(a, b)| (a.min(y), b.max(y))))
        })
        .map_or((2.0, 4.0), |(a, b)| (a.floor(), b.ceil().max(a.floor() + 1.0)));
        let marks = self.mark_lines([lo, hi]);
        let mut datasets: Vec<Dataset> = marks.iter().map(|(c, d)| line(d, *c)).collect();
        datasets.extend(others.iter().map(|d| line(d, OTHER)));
        datasets.push(line(&p50, P50));
        datasets.push(line(&p99, P99).name("p99"));
        let rows = area.height.saturating_sub(if x_labels { 2 } else { 0 }) as usize;
        let decades: Vec<f64> = (lo as i32..=hi as i32).map(f64::from).collect();
        let shown = if decades.len() <= rows.max(2) { decades } else { vec![lo, hi] };
        let labels: Vec<String> = shown.iter().map(|d| pad(&fmt_decade(*d as i32))).collect();
        Chart::new(datasets)
            .x_axis(self.x_axis(x_labels))
            .y_axis(Axis::default().bounds([lo, hi]).labels(labels).style(dim()))
            .legend_position(None)
            .render(area, buf);
        self.label_marks(area, x_labels, buf);
    }

    fn fates(&self, app: &App, area: Rect, buf: &mut Buffer) {
        let mut expired = Vec::new();
        let mut lost: std::collections::BTreeMap<&str, Vec<(f64, f64)>> = Default::default();
        for (s, f) in app.history.fates() {
            let x = self.x_of_second(s);
            if !self.in_span(x) {
                continue;
            }
            expired.push((x, f.expired as f64));
            for (reason, n) in &f.lost {
                lost.entry(reason.as_str()).or_default().push((x, *n as f64));
            }
        }
        // A reason that never lost anything in the span draws no line.
        lost.retain(|_, pts| pts.iter().any(|(_, y)| *y > 0.0));
        let peak = expired.iter().chain(lost.values().flatten()).map(|(_, y)| *y).fold(0.0, f64::max);
        let top = (peak * 1.15).ceil().max(1.0);
        let marks = self.mark_lines([0.0, top]);
        let mut datasets: Vec<Dataset> = marks.iter().map(|(c, d)| line(d, *c)).collect();
        datasets.push(line(&expired, EXPIRED));
        for (reason, pts) in &lost {
            datasets.push(line(pts, lost_color(reason)));
        }
        let labels = [pad("0/s"), pad(&format!("{}/s", fmt_rate(top)))];
        Chart::new(datasets)
            .x_axis(self.x_axis(true))
            .y_axis(Axis::default().bounds([0.0, top]).labels(labels).style(dim()))
            .legend_position(None)
            .render(area, buf);
    }

    /// Write each mark's label at the top of its line.
    fn label_marks(&self, area: Rect, x_labels: bool, buf: &mut Buffer) {
        let Some(graph) = graph_area(area, x_labels) else { return };
        for (i, m) in self.marks.iter().enumerate() {
            let x = self.x_of_ns(m.at_ns).clamp(-self.span, 0.0);
            let col = column(x, self.span, graph.width);
            let style = Style::new().fg(mark_color(m)).add_modifier(Modifier::BOLD);
            buf[(graph.x + col, graph.y)].set_char(mark_label(i)).set_style(style);
        }
    }

    fn series_line(&self, app: &App, key: &SeriesKey) -> Line<'static> {
        let sw = |c: Color, text: String| vec![Span::styled("━ ", Style::new().fg(c)), Span::raw(text)];
        let mut spans = Vec::new();
        spans.extend(sw(P99, "p99 ".into()));
        spans.extend(sw(P50, format!("p50 {}  ", key.label())));
        spans.extend(sw(OTHER, "other edges' p99".into()));
        spans.push(Span::styled(" │ per second: ", dim()));
        spans.extend(sw(EXPIRED, "expired ".into()));
        let mut reasons: Vec<&str> = Vec::new();
        for (_, f) in app.history.fates() {
            for (r, n) in &f.lost {
                if *n > 0 && !reasons.contains(&r.as_str()) {
                    reasons.push(r);
                }
            }
        }
        if reasons.is_empty() {
            spans.push(Span::styled("(no losses)", dim()));
        }
        for r in reasons {
            spans.extend(sw(lost_color(r), format!("lost {r} ")));
        }
        Line::from(spans)
    }

    /// "marks: 1 b +10ms · 2 b calm · 3 c gone", the latest kept when
    /// it does not all fit.
    fn marks_line(&self, width: u16) -> Line<'static> {
        if self.marks.is_empty() {
            return Line::styled("marks: none yet (chaos and link changes, hosts gone or back)", dim());
        }
        let items: Vec<(char, String, Color)> = self
            .marks
            .iter()
            .enumerate()
            .map(|(i, m)| (mark_label(i), describe(m), mark_color(m)))
            .collect();
        let cost = |it: &(char, String, Color)| it.1.chars().count() + 5;
        let mut budget = (width as usize).saturating_sub(8);
        let mut first = items.len();
        while first > 0 && cost(&items[first - 1]) <= budget {
            budget -= cost(&items[first - 1]);
            first -= 1;
        }
        let mut spans = vec![Span::styled("marks:", dim())];
        if first > 0 {
            spans.push(Span::styled(" …", dim()));
        }
        for (label, text, color) in &items[first..] {
            spans.push(Span::raw(" "));
            spans.push(Span::styled(label.to_string(), Style::new().fg(*color).add_modifier(Modifier::BOLD)));
            spans.push(Span::raw(format!(" {text} ·")));
        }
        if let Some(last) = spans.last_mut() {
            let text = last.content.trim_end_matches(" ·").to_string();
            *last = Span::raw(text);
        }
        Line::from(spans)
    }
}

fn line<'a>(data: &'a [(f64, f64)], color: Color) -> Dataset<'a> {
    Dataset::default()
        .data(data)
        .graph_type(GraphType::Line)
        .marker(Marker::Braille)
        .style(Style::new().fg(color))
}

fn pad(label: &str) -> String {
    format!("{label:>w$}", w = Y_LABEL_W as usize)
}

/// `10^d` µs, short: 1µs 10µs 100µs 1ms 10ms 100ms 1s 10s 100s.
pub fn fmt_decade(d: i32) -> String {
    match d {
        i32::MIN..=0 => "1µs".into(),
        1 => "10µs".into(),
        2 => "100µs".into(),
        3 => "1ms".into(),
        4 => "10ms".into(),
        5 => "100ms".into(),
        6 => "1s".into(),
        7 => "10s".into(),
        _ => "100s".into(),
    }
}

/// Where ratatui's `Chart` puts its plot inside `area`, given our fixed
/// y-label width (the same arithmetic as its layout): labels, then the axis
/// line, then the plot; x labels and the x axis take the bottom two rows.
pub fn graph_area(area: Rect, x_labels: bool) -> Option<Rect> {
    let left = Y_LABEL_W.min(area.width / 3);
    let mut x = area.x + left;
    if x + 1 < area.right() {
        x += 1; // the y axis
    }
    let bottom_rows = if x_labels && area.height > 2 { 2 } else { 0 };
    let height = area.height.saturating_sub(bottom_rows);
    let width = area.right().saturating_sub(x);
    (width > 0 && height > 0).then(|| Rect::new(x, area.y, width, height))
}

/// The cell column of `x` (−span..0) in a plot `width` cells wide, as the
/// braille grid places it (two dots per cell).
pub fn column(x: f64, span: f64, width: u16) -> u16 {
    let dots = f64::from(width) * 2.0 - 1.0;
    let dot = ((x + span) / span * dots).clamp(0.0, dots) as u16;
    (dot / 2).min(width.saturating_sub(1))
}
