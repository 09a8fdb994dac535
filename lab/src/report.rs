//! Expectations evaluated against the figures, and `report.json` (its shape
//! is pinned in DESIGN.md, "Experiments").

use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

use crate::figures::{Figures, PhaseFigures};
use crate::spec::{Experiment, Metric, Series};

/// One expectation and how it stands (`value`/`ok` are `None` while unknown).
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub phase: String,
    pub metric: &'static str,
    pub edge: Option<String>,
    pub series: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub value: Option<f64>,
    pub ok: Option<bool>,
}

/// Evaluate every expectation. A value that cannot be known (no hops, no
/// packets) fails once the run is over; while it runs it is just unknown.
pub fn evaluate(exp: &Experiment, figures: &Figures, last: bool) -> Vec<Verdict> {
    exp.expects
        .iter()
        .map(|e| {
            let x = e.get_ref();
            let i = exp.phases.iter().position(|p| p.get_ref().name.get_ref() == x.phase.get_ref());
            let value = i.and_then(|i| value(&figures.phases[i], *x.metric.get_ref(), &x.target()));
            let ok = match value {
                Some(v) => Some(x.min.is_none_or(|lo| v >= lo) && x.max.is_none_or(|hi| v <= hi)),
                None if last => Some(false),
                None => None,
            };
            Verdict {
                phase: x.phase.get_ref().clone(),
                metric: x.metric.get_ref().name(),
                edge: x.edge.as_ref().map(|s| s.get_ref().clone()),
                series: x.series.as_ref().map(|s| s.get_ref().clone()),
                min: x.min,
                max: x.max,
                value: value.map(round3),
                ok,
            }
        })
        .collect()
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn value(p: &PhaseFigures, metric: Metric, series: &Series) -> Option<f64> {
    match metric {
        Metric::LostPct | Metric::ExpiredPct => {
            if p.injected == 0 {
                return None;
            }
            let n = if metric == Metric::LostPct { p.lost_total() } else { p.expired };
            Some(n as f64 * 100.0 / p.injected as f64)
        }
        Metric::HopsPerS => match series {
            Series::Edge(a, b) => p.hops_per_s(Some(&format!("{a}->{b}"))),
            Series::Invoke(c) => {
                let covered = p.covered_s();
                (covered > 0.0).then(|| p.invoke.get(c).map_or(0, |h| h.len()) as f64 / covered)
            }
            _ => p.hops_per_s(None),
        },
        _ => {
            let q = metric.quantile()?;
            let all;
            let h = match series {
                Series::AllEdges => {
                    all = p.all_edges();
                    &all
                }
                Series::Edge(a, b) => p.edges.get(&format!("{a}->{b}"))?,
                Series::Lifetime => &p.lifetime,
                Series::Invoke(c) => p.invoke.get(c)?,
            };
            if h.is_empty() {
                return None;
            }
            let us = if q >= 1.0 { h.max() } else { h.value_at_quantile(q) };
            Some(us as f64 / 1000.0)
        }
    }
}

/// Percentiles of one series, in ms.
#[derive(Debug, Clone, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub count: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        let ms = |us: u64| round3(us as f64 / 1000.0);
        Percentiles {
            p50_ms: ms(h.value_at_quantile(0.5)),
            p90_ms: ms(h.value_at_quantile(0.9)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            p999_ms: ms(h.value_at_quantile(0.999)),
            max_ms: ms(h.max()),
            count: h.len(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub name: String,
    pub start_s: u32,
    pub end_s: u32,
    pub injected: u64,
    pub expired: u64,
    pub lost: BTreeMap<String, u64>,
    /// Packets of the phase with no fate when the run ended.
    pub in_flight: u64,
    pub hops_per_s: Option<f64>,
    pub edges: BTreeMap<String, Percentiles>,
    pub lifetime: Percentiles,
    pub invoke: BTreeMap<String, Percentiles>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub rate: u32,
    pub injected: u64,
    pub late_p99_ms: f64,
    pub late_max_ms: f64,
    /// Injected by the load but never seen on the event stream (lwc-lab's
    /// own NATS connection was down, e.g. across a NATS restart): their
    /// fates are unknown here and count in no phase.
    pub unseen: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub file: String,
    pub started_ns: u64,
    pub duration_s: u32,
    pub status: &'static str,
    pub phases: Vec<PhaseReport>,
    pub expectations: Vec<Verdict>,
    pub load: LoadReport,
}

/// The report of a finished (or aborted) run.
pub fn build(exp: &Experiment, file: &str, figures: &Figures, load: LoadReport, status: &'static str, verdicts: Vec<Verdict>) -> Report {
    let duration = *exp.duration_s.get_ref();
    let phases = exp
        .phases
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let f = &figures.phases[i];
            let start_s = *p.get_ref().at_s.get_ref();
            let end_s = exp.phases.get(i + 1).map_or(duration, |n| *n.get_ref().at_s.get_ref());
            PhaseReport {
                name: p.get_ref().name.get_ref().clone(),
                start_s,
                end_s,
                injected: f.injected,
                expired: f.expired,
                lost: f.lost.clone(),
                in_flight: f.injected.saturating_sub(f.expired + f.lost_total()),
                hops_per_s: f.hops_per_s(None).map(|v| v.round()),
                edges: f.edges.iter().map(|(k, h)| (k.clone(), Percentiles::of(h))).collect(),
                lifetime: Percentiles::of(&f.lifetime),
                invoke: f.invoke.iter().map(|(k, h)| (k.clone(), Percentiles::of(h))).collect(),
            }
        })
        .collect();
    Report {
        scenario: exp.name.get_ref().clone(),
        file: file.to_string(),
        started_ns: figures.timeline.t0_ns,
        duration_s: duration,
        status,
        phases,
        expectations: verdicts,
        load,
    }
}
