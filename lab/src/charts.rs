//! The report's charts as inline SVG, drawn with plotters: latency
//! percentiles per second (log scale) and fates per second (stacked), each
//! over the run's time axis with the phases shaded and the settling time
//! after the load greyed. Text is left to the browser (no fonts loaded).

use hdrhistogram::Histogram;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::collections::BTreeMap;

use crate::report::PhaseReport;

/// Per second since the start: merged latency, µs.
pub type Seconds = BTreeMap<i64, Histogram<u64>>;

/// Phase colors; `report.html`'s CSS uses the same through [`phase_rgb`].
const PHASES: [RGBColor; 6] = [
    RGBColor(30, 136, 229),
    RGBColor(251, 140, 0),
    RGBColor(229, 57, 53),
    RGBColor(67, 160, 71),
    RGBColor(142, 36, 170),
    RGBColor(0, 137, 123),
];
const P50: RGBColor = RGBColor(21, 101, 192);
const P99: RGBColor = RGBColor(239, 108, 0);
const MAX: RGBColor = RGBColor(198, 40, 40);
const GRID: RGBColor = RGBColor(236, 239, 241);
const AXIS: RGBColor = RGBColor(120, 130, 140);
const FONT: &str = "sans-serif";

/// `rgb(r,g,b)` of phase `i`, for the page's CSS.
pub fn phase_rgb(i: usize) -> String {
    css(PHASES[i % PHASES.len()])
}

/// `rgba(r,g,b,a)` of phase `i`.
pub fn phase_rgba(i: usize, alpha: f64) -> String {
    let RGBColor(r, g, b) = PHASES[i % PHASES.len()];
    format!("rgba({r},{g},{b},{alpha})")
}

/// The run's time axis: phases, where the load ended, where the axis ends.
pub struct Frame<'a> {
    pub phases: &'a [PhaseReport],
    pub duration_s: f64,
    pub x_max: f64,
}

/// A chart's size and whether it names the phases inside.
pub struct Look {
    pub width: u32,
    pub height: u32,
    pub phase_names: bool,
    pub with_max: bool,
}

fn ms(us: u64) -> f64 {
    (us as f64 / 1000.0).max(0.001)
}

/// `0.31`, `4.2`, `120`: as many digits as a reader needs.
pub fn fmt_ms(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// One log-scale range (ms) that fits every series given: from half the
/// lowest median to twice the highest value drawn.
pub fn y_range<'a>(series: impl Iterator<Item = &'a Seconds>, with_max: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for h in series.flat_map(|s| s.values()).filter(|h| !h.is_empty()) {
        lo = lo.min(ms(h.value_at_quantile(0.5)));
        hi = hi.max(ms(if with_max { h.max() } else { h.value_at_quantile(0.99) }));
    }
    if !lo.is_finite() {
        return (0.01, 10.0);
    }
    ((lo / 2.0).max(0.001), (hi * 2.0).max(lo * 10.0))
}

/// Shade each phase, draw its left edge, name it (if asked), and grey the
/// settling time after the load.
fn backdrop<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    frame: &Frame,
    y: (f64, f64),
    names: bool,
) {
    for (i, p) in frame.phases.iter().enumerate() {
        let color = PHASES[i % PHASES.len()];
        let (x0, x1) = (f64::from(p.start_s), f64::from(p.end_s));
        let _ = chart.draw_series([Rectangle::new([(x0, y.0), (x1, y.1)], color.mix(0.09).filled())]);
        if i > 0 {
            let _ = chart.draw_series([PathElement::new(vec![(x0, y.0), (x0, y.1)], color.mix(0.6).stroke_width(1))]);
        }
        if names {
            let style = (FONT, 13).into_font().style(FontStyle::Bold).color(&color);
            let _ = chart.draw_series([Text::new(p.name.clone(), (x0 + 0.25, y.1), style)]);
        }
    }
    if frame.x_max > frame.duration_s {
        let grey = RGBColor(120, 120, 120);
        let _ = chart.draw_series([Rectangle::new([(frame.duration_s, y.0), (frame.x_max, y.1)], grey.mix(0.10).filled())]);
        if names {
            let style = (FONT, 12).into_font().color(&grey);
            let _ = chart.draw_series([Text::new("settling", (frame.duration_s + 0.25, y.1), style)]);
        }
    }
}

/// The non-empty seconds of a series, split where a second is missing (a
/// second without hops is a gap in the line, not a slope).
fn runs(seconds: &Seconds) -> Vec<Vec<(i64, &Histogram<u64>)>> {
    let mut runs: Vec<Vec<(i64, &Histogram<u64>)>> = Vec::new();
    for (&s, h) in seconds.iter().filter(|(_, h)| !h.is_empty()) {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|(prev, _)| *prev + 1 == s) => run.push((s, h)),
            _ => runs.push(vec![(s, h)]),
        }
    }
    runs
}

/// A latency line: name, color, width, and its value in a second.
type Line = (&'static str, RGBColor, u32, fn(&Histogram<u64>) -> f64);

/// p50 and p99 (and max) per second of one series, on a log scale.
pub fn latency(seconds: &Seconds, frame: &Frame, look: &Look, y: (f64, f64)) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (look.width, look.height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(6)
            .margin_right(14)
            .x_label_area_size(22)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..frame.x_max, (y.0..y.1).log_scale())
        else {
            return String::new();
        };
        let label = |v: &f64| fmt_ms(*v);
        let seconds_label = |v: &f64| format!("{v:.0} s");
        let _ = chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style((FONT, 12).into_font().color(&AXIS))
            .y_label_formatter(&label)
            .x_label_formatter(&seconds_label)
            .y_desc("ms")
            .draw();
        backdrop(&mut chart, frame, y, look.phase_names);
        let mut lines: Vec<Line> = vec![
            ("p50", P50, 2, |h| ms(h.value_at_quantile(0.5))),
            ("p99", P99, 2, |h| ms(h.value_at_quantile(0.99))),
        ];
        if look.with_max {
            lines.push(("max", MAX, 1, |h| ms(h.max())));
        }
        // Max under the others: it is the thin one.
        lines.reverse();
        for (_, color, width, value) in lines {
            for run in runs(seconds) {
                let points = run.into_iter().map(|(s, h)| (s as f64 + 0.5, value(h)));
                let _ = chart.draw_series(LineSeries::new(points, color.stroke_width(width)));
            }
        }
        let _ = root.present();
    }
    svg
}

fn css(RGBColor(r, g, b): RGBColor) -> String {
    format!("rgb({r},{g},{b})")
}

/// The latency lines' names and CSS colors, for the page's legend.
pub fn latency_legend(with_max: bool) -> Vec<(String, String)> {
    let mut out = vec![("p50".to_string(), css(P50)), ("p99".to_string(), css(P99))];
    if with_max {
        out.push(("max".to_string(), css(MAX)));
    }
    out
}

/// The fate kinds' names and CSS colors, bottom of the stack first.
pub fn fates_legend(fate_seconds: &BTreeMap<String, BTreeMap<i64, u64>>) -> Vec<(String, String)> {
    fate_seconds
        .keys()
        .map(|kind| {
            let name = kind.strip_prefix("lost:").map_or_else(|| kind.to_string(), |r| format!("lost: {r}"));
            (name, css(fate_color(kind)))
        })
        .collect()
}

/// The color of a fate kind (`expired`, `lost:<reason>`).
fn fate_color(kind: &str) -> RGBColor {
    match kind {
        "expired" => RGBColor(102, 187, 106),
        "lost:unreachable" => RGBColor(229, 57, 53),
        "lost:trap-before-forward" => RGBColor(142, 36, 170),
        "lost:timeout" => RGBColor(251, 140, 0),
        "lost:dropped" => RGBColor(0, 137, 123),
        "lost:overloaded" => RGBColor(255, 193, 7),
        "lost:no-link" => RGBColor(84, 110, 122),
        _ => RGBColor(93, 64, 55),
    }
}

/// Fates per second, stacked: `expired` at the bottom, each loss reason on top.
pub fn fates(fate_seconds: &BTreeMap<String, BTreeMap<i64, u64>>, frame: &Frame, width: u32, height: u32) -> String {
    let last = fate_seconds.values().filter_map(|s| s.keys().last()).max().copied().unwrap_or(0).max(0);
    // Cumulative per kind, so that drawing from the top layer down stacks them.
    let mut stacks: Vec<(&str, Vec<f64>)> = Vec::new();
    let mut below = vec![0.0; (last + 1) as usize];
    for (kind, seconds) in fate_seconds {
        for (s, v) in below.iter_mut().enumerate() {
            *v += *seconds.get(&(s as i64)).unwrap_or(&0) as f64;
        }
        stacks.push((kind, below.clone()));
    }
    let top = below.iter().copied().fold(1.0, f64::max) * 1.18;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(6)
            .margin_right(14)
            .x_label_area_size(22)
            .y_label_area_size(52)
            .build_cartesian_2d(0f64..frame.x_max, 0f64..top)
        else {
            return String::new();
        };
        let seconds_label = |v: &f64| format!("{v:.0} s");
        let count_label = |v: &f64| format!("{v:.0}");
        let _ = chart
            .configure_mesh()
            .light_line_style(WHITE)
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style((FONT, 12).into_font().color(&AXIS))
            .x_label_formatter(&seconds_label)
            .y_label_formatter(&count_label)
            .y_desc("packets/s")
            .draw();
        backdrop(&mut chart, frame, (0.0, top), true);
        for (kind, values) in stacks.iter().rev() {
            let color = fate_color(kind);
            // Steps: each second is a flat top from s to s+1.
            let points = values.iter().enumerate().flat_map(|(s, &v)| [(s as f64, v), (s as f64 + 1.0, v)]);
            let _ = chart.draw_series(AreaSeries::new(points, 0.0, color.mix(0.85)).border_style(color.stroke_width(1)));
        }
        let _ = root.present();
    }
    svg
}
