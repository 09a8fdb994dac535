//! `report.html`: one self-contained page (inline CSS and SVG, no script, no
//! network). Top to bottom: the verdict and the run's figures at a glance,
//! the timeline of phases and what each did, the expectations with ✓/✗,
//! fates per second, latency of every edge merged, one small chart per edge
//! on a shared scale (slowest first), and the per-phase table.

use std::fmt::Write;

use crate::charts::{self, fmt_ms, Frame, Look, Seconds};
use crate::figures::Figures;
use crate::report::{PhaseReport, Report, Verdict};
use crate::spec::Experiment;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        return "–".into();
    }
    let p = n as f64 * 100.0 / of as f64;
    if p == 0.0 || p >= 10.0 {
        format!("{p:.0} %")
    } else {
        format!("{p:.1} %")
    }
}

/// The whole page.
pub fn render(exp: &Experiment, report: &Report, figures: &Figures) -> String {
    let frame = Frame {
        phases: &report.phases,
        duration_s: f64::from(report.duration_s),
        x_max: x_extent(report, figures),
    };
    let mut page = String::new();
    let _ = write!(page, "<!doctype html><html lang=en><head><meta charset=utf-8><title>lwc experiment {} — {}</title><style>{CSS}</style></head><body>", esc(&report.scenario), report.status);
    page.push_str(&header(exp, report));
    page.push_str(&cards(report));
    page.push_str(&timeline(exp, report));
    page.push_str(&expectations(report));
    page.push_str("<h2>Fates per second <small>when each packet ended, by how</small></h2><div class=chart>");
    page.push_str(&legend(&charts::fates_legend(&figures.fate_seconds)));
    page.push_str(&charts::fates(&figures.fate_seconds, &frame, 1160, 250));
    page.push_str("</div>");
    let all = all_edges(figures);
    let y = charts::y_range(std::iter::once(&all), true);
    page.push_str("<h2>Hop latency, every edge <small>per second, log scale</small></h2><div class=chart>");
    page.push_str(&legend(&charts::latency_legend(true)));
    let look = Look { width: 1160, height: 260, phase_names: true, with_max: true };
    page.push_str(&charts::latency(&all, &frame, &look, y));
    page.push_str("</div>");
    page.push_str(&edge_grid(figures, &frame));
    page.push_str("<h2>Phases</h2>");
    page.push_str(&phase_table(report));
    page.push_str(
        "<footer>lwc-lab · the same figures are in <code>report.json</code> beside this file · a packet counts in the phase it was injected in, \
         whenever its fate comes · latency from the hosts' HDR histograms (1 µs … 60 s, 3 significant digits)</footer></body></html>\n",
    );
    page
}

const CSS: &str = "\
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;padding:28px 20px 40px;color:#1f2933;background:#f5f7fa;max-width:1200px}\
h1{font-size:28px;margin:0;display:flex;align-items:center;gap:14px}h2{font-size:17px;margin:28px 0 10px}h2 small{font-weight:normal;color:#7b8794;font-size:13px;margin-left:8px}\
.badge{font-size:13px;font-weight:700;letter-spacing:.06em;text-transform:uppercase;padding:4px 12px;border-radius:999px;color:#fff}\
.passed{background:#2e7d32}.failed{background:#c62828}.aborted{background:#6d4c41}\
.desc{font-size:16px;margin:6px 0 2px;color:#3e4c59}.meta{color:#7b8794;font-size:13px}code{font-size:12px;background:#e4e7eb;padding:1px 5px;border-radius:4px}\
.cards{display:grid;grid-template-columns:repeat(4,1fr);gap:12px;margin:20px 0 8px}\
.card{background:#fff;border-radius:10px;padding:12px 16px;box-shadow:0 1px 3px rgba(0,0,0,.08);border-top:4px solid #9aa5b1}\
.card .k{color:#7b8794;font-size:12px;text-transform:uppercase;letter-spacing:.05em}.card .v{font-size:26px;font-weight:700;font-variant-numeric:tabular-nums}.card .s{color:#52606d;font-size:12px}\
.card.good{border-top-color:#2e7d32}.card.bad{border-top-color:#c62828}.card.warn{border-top-color:#ef6c00}\
.strip{display:flex;border-radius:10px;overflow:hidden;box-shadow:0 1px 3px rgba(0,0,0,.08);background:#fff}\
.strip div{padding:8px 10px;border-top:5px solid;min-width:0;font-size:12px;color:#52606d;border-right:1px solid #e4e7eb}\
.strip b{display:block;font-size:14px}.strip .act{display:block;color:#1f2933}\
table{border-collapse:collapse;width:100%;background:#fff;border-radius:10px;overflow:hidden;box-shadow:0 1px 3px rgba(0,0,0,.08);font-variant-numeric:tabular-nums}\
td,th{padding:6px 12px;text-align:right;border-bottom:1px solid #eef0f2}th{background:#f0f4f8;font-weight:600;color:#52606d;font-size:12px}\
td.l,th.l{text-align:left}tr:last-child td{border-bottom:0}\
.mark{font-size:18px;font-weight:700;text-align:center;width:36px}.ok{color:#2e7d32}.no{color:#c62828}tr.miss{background:#fff5f5}\
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:6px}.lost{color:#c62828;font-weight:600}\
.chart{background:#fff;border-radius:10px;padding:8px 10px;box-shadow:0 1px 3px rgba(0,0,0,.08)}.chart svg{display:block;max-width:100%;height:auto}\
.grid{display:grid;grid-template-columns:1fr 1fr;gap:12px}.grid .chart h3{margin:2px 4px 0;font-size:13px}.grid .chart h3 span{font-weight:normal;color:#7b8794}\
.legend{display:flex;gap:16px;justify-content:flex-end;font-size:12px;color:#52606d;margin:0 6px 2px}.legend i{display:inline-block;width:14px;height:10px;border-radius:2px;margin-right:5px;vertical-align:middle}\
td.n{white-space:nowrap}footer{margin-top:30px;color:#9aa5b1;font-size:12px}";

/// Swatches above a chart.
fn legend(items: &[(String, String)]) -> String {
    let mut out = String::from("<div class=legend>");
    for (name, color) in items {
        let _ = write!(out, "<span><i style=\"background:{color}\"></i>{}</span>", esc(name));
    }
    out.push_str("</div>");
    out
}

/// The time axis: the run, or longer when fates kept coming while settling.
fn x_extent(report: &Report, figures: &Figures) -> f64 {
    let last_fate = figures.fate_seconds.values().filter_map(|s| s.keys().last()).max().copied().unwrap_or(0);
    f64::from(report.duration_s).max(last_fate as f64 + 1.0)
}

fn header(exp: &Experiment, report: &Report) -> String {
    let l = &report.load;
    format!(
        "<header><h1>{name}<span class=\"badge {status}\">{status}</span></h1><p class=desc>{desc}</p>\
         <p class=meta><code>{file}</code> · started {start} · {dur} s · route <code>{route}</code>, ttl {ttl}, chaos {chaos} % · \
         open-loop {rate} packets/s, scheduler late p99 {lp99} ms, max {lmax} ms</p></header>",
        name = esc(&report.scenario),
        status = report.status,
        desc = esc(&exp.description),
        file = esc(&report.file),
        start = crate::time::readable(report.started_ns / 1_000_000_000),
        dur = report.duration_s,
        route = esc(exp.load.get_ref().route.get_ref()),
        ttl = exp.load.get_ref().ttl.get_ref(),
        chaos = exp.load.get_ref().chaos.get_ref(),
        rate = thousands(u64::from(l.rate)),
        lp99 = fmt_ms(l.late_p99_ms),
        lmax = fmt_ms(l.late_max_ms),
    )
}

fn cards(report: &Report) -> String {
    let held = report.expectations.iter().filter(|v| v.ok == Some(true)).count();
    let total = report.expectations.len();
    let injected: u64 = report.phases.iter().map(|p| p.injected).sum();
    let expired: u64 = report.phases.iter().map(|p| p.expired).sum();
    let lost: u64 = report.phases.iter().map(|p| p.lost.values().sum::<u64>()).sum();
    let open: u64 = report.phases.iter().map(|p| p.in_flight).sum();
    let mut reasons: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for p in &report.phases {
        for (r, n) in &p.lost {
            *reasons.entry(r).or_default() += n;
        }
    }
    let why: Vec<String> = reasons.iter().map(|(r, n)| format!("{} {r}", thousands(*n))).collect();
    format!(
        "<section class=cards>\
         <div class=\"card {ec}\"><div class=k>expectations</div><div class=v>{held} / {total}</div><div class=s>{etext}</div></div>\
         <div class=card><div class=k>packets injected</div><div class=v>{inj}</div><div class=s>{loadinj} by the load, on schedule{unseen}</div></div>\
         <div class=\"card good\"><div class=k>expired (ttl used up)</div><div class=v>{exp}</div><div class=s>{exp_pct} of injected{open}</div></div>\
         <div class=\"card {lc}\"><div class=k>lost</div><div class=v>{lost}</div><div class=s>{lost_pct}{why}</div></div></section>",
        ec = if held == total { "good" } else { "bad" },
        etext = if held == total { "all hold".to_string() } else { format!("{} failed", total - held) },
        inj = thousands(injected),
        loadinj = thousands(report.load.injected),
        unseen = if report.load.unseen > 0 {
            format!(" · <b class=lost>{} never seen</b> (lwc-lab's NATS link was down)", thousands(report.load.unseen))
        } else {
            String::new()
        },
        exp = thousands(expired),
        exp_pct = pct(expired, injected),
        open = if open > 0 { format!(" · {} without a fate", thousands(open)) } else { String::new() },
        lc = if lost > 0 { "warn" } else { "good" },
        lost = thousands(lost),
        lost_pct = pct(lost, injected),
        why = if why.is_empty() { String::new() } else { format!(" · {}", why.join(", ")) },
    )
}

/// The phases as a strip, each as wide as it is long, with what it did.
fn timeline(exp: &Experiment, report: &Report) -> String {
    let total = f64::from(report.duration_s.max(1));
    let mut s = String::from("<h2>Timeline</h2><section class=strip>");
    for (i, (p, spec)) in report.phases.iter().zip(&exp.phases).enumerate() {
        let width = f64::from(p.end_s - p.start_s) * 100.0 / total;
        let actions = spec.get_ref().actions();
        let acts = if actions.is_empty() {
            "<span class=act style=\"color:#9aa5b1\">no change</span>".to_string()
        } else {
            actions.iter().map(|a| format!("<span class=act>{}</span>", esc(a))).collect()
        };
        let _ = write!(
            s,
            "<div style=\"flex:0 0 {width:.3}%;border-top-color:{c};background:linear-gradient({tint},#fff)\"><b style=\"color:{c}\">{name}</b>{a}–{b} s{acts}</div>",
            c = charts::phase_rgb(i),
            tint = charts::phase_rgba(i, 0.10),
            name = esc(&p.name),
            a = p.start_s,
            b = p.end_s,
        );
    }
    s.push_str("</section>");
    s
}

/// A number as short as it can be: `2`, `0.7`, `0.216`.
fn short(v: f64) -> String {
    let a = v.abs();
    let text = if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// `p50_ms` → value with its unit.
fn with_unit(metric: &str, v: f64) -> String {
    if metric.ends_with("_pct") {
        format!("{} %", short(v))
    } else if metric == "hops_per_s" {
        format!("{v:.0} /s")
    } else {
        format!("{} ms", short(v))
    }
}

/// What an expectation looks at.
pub fn series_name(v: &Verdict) -> String {
    if v.metric.ends_with("_pct") {
        return "the phase's packets".into();
    }
    v.edge.clone().or(v.series.clone()).unwrap_or_else(|| "every edge".into())
}

fn bound(v: &Verdict) -> String {
    let u = |x: f64| with_unit(v.metric, x);
    match (v.min, v.max) {
        (Some(lo), Some(hi)) => format!("{} … {}", u(lo), u(hi)),
        (Some(lo), None) => format!("≥ {}", u(lo)),
        (None, Some(hi)) => format!("≤ {}", u(hi)),
        (None, None) => "–".into(),
    }
}

fn expectations(report: &Report) -> String {
    let mut t = String::from(
        "<h2>Expectations</h2><table><tr><th></th><th class=l>phase</th><th class=l>metric</th><th class=l>series</th><th>bound</th><th>measured</th></tr>",
    );
    for v in &report.expectations {
        let (mark, class, row) = match v.ok {
            Some(true) => ("✓", "ok", ""),
            _ => ("✗", "no", " class=miss"),
        };
        let phase = report.phases.iter().position(|p| p.name == v.phase).unwrap_or(0);
        let series = series_name(v);
        let _ = write!(
            t,
            "<tr{row}><td class=\"mark {class}\">{mark}</td><td class=l><span class=dot style=\"background:{c}\"></span>{}</td><td class=l>{}</td><td class=l>{}</td><td>{}</td><td class={class}><b>{}</b></td></tr>",
            esc(&v.phase),
            v.metric,
            esc(&series),
            bound(v),
            v.value.map_or("unknown".to_string(), |x| with_unit(v.metric, x)),
            c = charts::phase_rgb(phase),
        );
    }
    t.push_str("</table>");
    t
}

fn phase_table(report: &Report) -> String {
    let mut t = String::from(
        "<table><tr><th class=l>phase</th><th>seconds</th><th>injected</th><th>expired</th><th>lost</th><th class=l>lost by reason</th><th>no fate</th>\
         <th>hops/s</th><th>slowest edge p50 · p99 · max</th><th>lifetime p50 · p99</th></tr>",
    );
    for (i, p) in report.phases.iter().enumerate() {
        let lost: u64 = p.lost.values().sum();
        let reasons: Vec<String> = p.lost.iter().map(|(r, n)| format!("{} {r}", thousands(*n))).collect();
        let _ = write!(
            t,
            "<tr><td class=\"l n\"><span class=dot style=\"background:{c}\"></span><b>{name}</b></td><td class=n>{a}–{b}</td><td>{inj}</td><td>{exp}</td>\
             <td class=\"n{lc}\">{lost} ({lp})</td><td class=l>{reasons}</td><td>{open}</td><td>{hops}</td><td class=n>{edges}</td><td class=n>{life}</td></tr>",
            c = charts::phase_rgb(i),
            name = esc(&p.name),
            a = p.start_s,
            b = p.end_s,
            inj = thousands(p.injected),
            exp = thousands(p.expired),
            lc = if lost > 0 { " lost" } else { "" },
            lost = thousands(lost),
            lp = pct(lost, p.injected),
            reasons = if reasons.is_empty() { "–".into() } else { esc(&reasons.join(", ")) },
            open = thousands(p.in_flight),
            hops = p.hops_per_s.map_or("–".into(), |h| thousands(h as u64)),
            edges = edge_summary(p),
            life = if p.lifetime.count == 0 {
                "–".to_string()
            } else {
                format!("{} · {} ms", fmt_ms(p.lifetime.p50_ms), fmt_ms(p.lifetime.p99_ms))
            },
        );
    }
    t.push_str("</table><p class=meta>Counts are of the packets injected in the phase, whenever their fate came. \
                Slowest edge: the highest figure of any one edge in the phase. Lifetime: injection to expiry.</p>");
    t
}

/// The slowest edge's p50, p99 and max in a phase.
fn edge_summary(p: &PhaseReport) -> String {
    if p.edges.is_empty() {
        return "–".into();
    }
    let worst = |f: fn(&crate::report::Percentiles) -> f64| fmt_ms(p.edges.values().map(f).fold(0.0, f64::max));
    format!("{} · {} · {} ms", worst(|e| e.p50_ms), worst(|e| e.p99_ms), worst(|e| e.max_ms))
}

/// Every edge merged, per second.
fn all_edges(figures: &Figures) -> Seconds {
    let mut all = Seconds::new();
    for seconds in figures.edge_seconds.values() {
        for (s, h) in seconds {
            let _ = all.entry(*s).or_insert_with(lwc_wire::telemetry::histogram).add(h);
        }
    }
    all
}

/// One small chart per edge, one scale for all, the slowest median first.
fn edge_grid(figures: &Figures, frame: &Frame) -> String {
    if figures.edge_seconds.is_empty() {
        return String::new();
    }
    let peak = |s: &Seconds| s.values().filter(|h| !h.is_empty()).map(|h| h.value_at_quantile(0.5)).max().unwrap_or(0);
    let mut edges: Vec<(&String, &Seconds)> = figures.edge_seconds.iter().collect();
    edges.sort_by_key(|(name, s)| (std::cmp::Reverse(peak(s)), (*name).clone()));
    let y = charts::y_range(edges.iter().map(|(_, s)| *s), false);
    let look = Look { width: 570, height: 170, phase_names: false, with_max: false };
    let mut out = String::from("<h2>Hop latency per edge <small>per second, one log scale for all, slowest median first</small></h2>");
    out.push_str(&legend(&charts::latency_legend(false)));
    out.push_str("<div class=grid>");
    for (name, seconds) in edges {
        let hops: u64 = seconds.values().map(|h| h.len()).sum();
        let _ = write!(out, "<div class=chart><h3>{} <span>· {} hops</span></h3>", esc(name), thousands(hops));
        out.push_str(&charts::latency(seconds, frame, &look, y));
        out.push_str("</div>");
    }
    out.push_str("</div>");
    out
}
