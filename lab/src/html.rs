//! `report.html`: one self-contained page (inline SVG drawn with plotters,
//! inline CSS, no network): latency percentiles over time per edge with the
//! phases shaded, fates per second by kind, the per-phase table and the
//! expectations with ✓/✗.

use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write;

use crate::figures::Figures;
use crate::report::Report;

const WIDTH: u32 = 1200;
const PHASE_COLORS: [RGBColor; 4] = [
    RGBColor(66, 133, 244),
    RGBColor(251, 140, 0),
    RGBColor(229, 57, 53),
    RGBColor(67, 160, 71),
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The whole page.
pub fn render(report: &Report, figures: &Figures, description: &str) -> String {
    let x_max = x_extent(report, figures);
    let mut page = String::new();
    let verdict = match report.status {
        "passed" => "<span class=ok>passed</span>",
        "failed" => "<span class=bad>failed</span>",
        _ => "<span class=bad>aborted</span>",
    };
    let _ = write!(
        page,
        "<!doctype html><html><head><meta charset=utf-8><title>lwc experiment {name}</title><style>{CSS}</style></head><body>\
         <h1>{name} {verdict}</h1><p>{desc}</p><p class=meta>{file} · {dur} s · load {rate} packets/s, {inj} injected, scheduler late p99 {lp99} ms, max {lmax} ms</p>",
        name = esc(&report.scenario),
        desc = esc(description),
        file = esc(&report.file),
        dur = report.duration_s,
        rate = report.load.rate,
        inj = report.load.injected,
        lp99 = report.load.late_p99_ms,
        lmax = report.load.late_max_ms,
    );
    page.push_str(&expectations_table(report));
    page.push_str("<h2>Fates per second</h2>");
    page.push_str(&fates_chart(report, figures, x_max));
    page.push_str("<h2>Phases</h2>");
    page.push_str(&phase_table(report));
    page.push_str("<h2>Latency per edge (ms, log scale): p50, p99, max per second</h2>");
    for (edge, seconds) in &figures.edge_seconds {
        page.push_str(&edge_chart(edge, seconds, report, x_max));
    }
    page.push_str("</body></html>\n");
    page
}

const CSS: &str = "body{font-family:sans-serif;margin:24px;color:#222;max-width:1240px}\
h1 span{font-size:60%;padding:2px 10px;border-radius:6px;color:#fff;vertical-align:middle}\
.ok{background:#2e7d32}.bad{background:#c62828}.meta{color:#666}\
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:4px 10px;text-align:right}\
th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}.pass{color:#2e7d32;font-weight:bold}.fail{color:#c62828;font-weight:bold}";

fn x_extent(report: &Report, figures: &Figures) -> f64 {
    let last_fate = figures.fate_seconds.values().filter_map(|s| s.keys().last()).max().copied().unwrap_or(0);
    (report.duration_s as f64).max(last_fate as f64 + 1.0)
}

fn expectations_table(report: &Report) -> String {
    let mut t = String::from("<h2>Expectations</h2><table><tr><th></th><th>phase</th><th>metric</th><th>series</th><th>min</th><th>max</th><th>value</th></tr>");
    for v in &report.expectations {
        let (mark, class) = match v.ok {
            Some(true) => ("✓", "pass"),
            _ => ("✗", "fail"),
        };
        let series = v.edge.clone().or(v.series.clone()).unwrap_or_else(|| "all edges".into());
        let num = |x: Option<f64>| x.map_or("–".to_string(), |x| x.to_string());
        let _ = write!(
            t,
            "<tr><td class={class}>{mark}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&v.phase),
            v.metric,
            esc(&series),
            num(v.min),
            num(v.max),
            v.value.map_or("unknown".to_string(), |x| x.to_string()),
        );
    }
    t.push_str("</table>");
    t
}

fn phase_table(report: &Report) -> String {
    let mut t = String::from("<table><tr><th>phase</th><th>s</th><th>injected</th><th>expired</th><th>lost</th><th>in flight</th><th>hops/s</th><th>edges p50 / p99 / max ms</th><th>lifetime p50 / p99 ms</th></tr>");
    for p in &report.phases {
        let lost: Vec<String> = p.lost.iter().map(|(r, n)| format!("{n} {r}")).collect();
        let worst = p.edges.values().map(|e| e.p99_ms).fold(0.0, f64::max);
        let best = p.edges.values().map(|e| e.p50_ms).fold(f64::INFINITY, f64::min);
        let max = p.edges.values().map(|e| e.max_ms).fold(0.0, f64::max);
        let edges = if p.edges.is_empty() { "–".into() } else { format!("{best} / {worst} / {max}") };
        let _ = write!(
            t,
            "<tr><td>{}</td><td>{}–{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{edges}</td><td>{} / {}</td></tr>",
            esc(&p.name),
            p.start_s,
            p.end_s,
            p.injected,
            p.expired,
            if lost.is_empty() { "0".into() } else { lost.join(", ") },
            p.in_flight,
            p.hops_per_s.map_or("–".into(), |h| h.to_string()),
            p.lifetime.p50_ms,
            p.lifetime.p99_ms,
        );
    }
    t.push_str("</table>");
    t
}

/// Shade each phase and write its name at the top.
fn shade_phases<DB: DrawingBackend, CT>(chart: &mut ChartContext<'_, DB, CT>, report: &Report, y: (f64, f64), x_max: f64)
where
    CT: plotters::coord::CoordTranslate<From = (f64, f64)>,
{
    for (i, p) in report.phases.iter().enumerate() {
        let end = if i + 1 == report.phases.len() { x_max } else { p.end_s as f64 };
        let color = PHASE_COLORS[i % PHASE_COLORS.len()];
        let _ = chart.draw_series(std::iter::once(Rectangle::new([(p.start_s as f64, y.0), (end, y.1)], color.mix(0.10).filled())));
        let _ = chart.draw_series(std::iter::once(Text::new(p.name.clone(), (p.start_s as f64 + 0.2, y.1), ("sans-serif", 13).into_font().color(&color))));
    }
}

fn edge_chart(edge: &str, seconds: &BTreeMap<i64, hdrhistogram::Histogram<u64>>, report: &Report, x_max: f64) -> String {
    let ms = |us: u64| (us as f64 / 1000.0).max(0.001);
    let series: [(&str, RGBColor, Box<dyn Fn(&hdrhistogram::Histogram<u64>) -> f64>); 3] = [
        ("p50", RGBColor(30, 136, 229), Box::new(move |h| ms(h.value_at_quantile(0.5)))),
        ("p99", RGBColor(251, 140, 0), Box::new(move |h| ms(h.value_at_quantile(0.99)))),
        ("max", RGBColor(198, 40, 40), Box::new(move |h| ms(h.max()))),
    ];
    let top = seconds.values().map(|h| ms(h.max())).fold(1.0, f64::max) * 2.0;
    let bottom = seconds.values().map(|h| ms(h.value_at_quantile(0.5))).fold(top, f64::min) / 2.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 220)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .caption(edge, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..x_max, (bottom..top).log_scale())
        else {
            return String::new();
        };
        let _ = chart.configure_mesh().x_desc("s").y_desc("ms").light_line_style(WHITE).draw();
        shade_phases(&mut chart, report, (bottom, top), x_max);
        for (name, color, value) in &series {
            // A second with no hops breaks the line: a gap, not a slope.
            for (i, run) in contiguous(seconds).into_iter().enumerate() {
                let points = run.into_iter().map(|(s, h)| (s as f64 + 0.5, value(h)));
                let Ok(drawn) = chart.draw_series(LineSeries::new(points, color.stroke_width(2))) else { continue };
                if i == 0 {
                    let c = *color;
                    drawn.label(*name).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
                }
            }
        }
        let _ = chart.configure_series_labels().position(SeriesLabelPosition::UpperRight).background_style(WHITE.mix(0.8)).border_style(BLACK).draw();
        let _ = root.present();
    }
    svg
}

/// The non-empty seconds of a series, split where a second is missing.
fn contiguous(seconds: &BTreeMap<i64, hdrhistogram::Histogram<u64>>) -> Vec<Vec<(i64, &hdrhistogram::Histogram<u64>)>> {
    let mut runs: Vec<Vec<(i64, &hdrhistogram::Histogram<u64>)>> = Vec::new();
    for (&s, h) in seconds.iter().filter(|(_, h)| !h.is_empty()) {
        match runs.last_mut() {
            Some(run) if run.last().is_some_and(|(prev, _)| *prev + 1 == s) => run.push((s, h)),
            _ => runs.push(vec![(s, h)]),
        }
    }
    runs
}

fn fates_chart(report: &Report, figures: &Figures, x_max: f64) -> String {
    let top = figures.fate_seconds.values().flat_map(|s| s.values()).copied().max().unwrap_or(1) as f64 * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 260)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let Ok(mut chart) = ChartBuilder::on(&root)
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..x_max, 0f64..top)
        else {
            return String::new();
        };
        let _ = chart.configure_mesh().x_desc("s").y_desc("packets/s").light_line_style(WHITE).draw();
        shade_phases(&mut chart, report, (0.0, top), x_max);
        let palette = [RGBColor(46, 125, 50), RGBColor(198, 40, 40), RGBColor(142, 36, 170), RGBColor(255, 143, 0), RGBColor(0, 131, 143), RGBColor(93, 64, 55), RGBColor(84, 110, 122)];
        for (i, (kind, seconds)) in figures.fate_seconds.iter().enumerate() {
            let color = palette[i % palette.len()];
            let last = seconds.keys().last().copied().unwrap_or(0);
            // Seconds with none of this fate are zeros, not gaps.
            let points = (0..=last.max(0)).map(|s| (s as f64 + 0.5, *seconds.get(&s).unwrap_or(&0) as f64));
            if let Ok(drawn) = chart.draw_series(LineSeries::new(points, color.stroke_width(2))) {
                drawn.label(kind.clone()).legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
            }
        }
        let _ = chart.configure_series_labels().position(SeriesLabelPosition::MiddleRight).background_style(WHITE.mix(0.8)).border_style(BLACK).draw();
        let _ = root.present();
    }
    svg
}
