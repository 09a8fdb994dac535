//! The experiment file: TOML, parsed with spans so that every error names
//! the key and the line. Unknown keys are errors (a typo must not silently
//! turn an expectation off).

use lwc_wire::ctl::ChaosPatch;
use serde::Deserialize;
use toml::Spanned;

/// A parsed, checked experiment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    pub duration_s: Spanned<u32>,
    /// How long to wait at the end for the run's packets to settle.
    #[serde(default = "default_settle_s")]
    pub settle_s: Spanned<u32>,
    pub load: Spanned<Load>,
    #[serde(default, rename = "phase")]
    pub phases: Vec<Spanned<Phase>>,
    #[serde(default, rename = "expect")]
    pub expects: Vec<Spanned<Expect>>,
}

fn default_settle_s() -> Spanned<u32> {
    Spanned::new(0..0, 10)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Load {
    pub rate: Spanned<u32>,
    #[serde(default = "default_ttl")]
    pub ttl: Spanned<u64>,
    #[serde(default = "default_route")]
    pub route: Spanned<String>,
    #[serde(default = "default_chaos")]
    pub chaos: Spanned<u16>,
}

fn default_chaos() -> Spanned<u16> {
    Spanned::new(0..0, 0)
}

fn default_ttl() -> Spanned<u64> {
    Spanned::new(0..0, 100)
}

fn default_route() -> Spanned<String> {
    Spanned::new(0..0, "default".to_string())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: Spanned<String>,
    pub at_s: Spanned<u32>,
    /// `PUT /chaos` bodies.
    #[serde(default)]
    pub chaos: Vec<Spanned<ChaosPatch>>,
    /// `PUT /links` bodies.
    #[serde(default)]
    pub links: Vec<Spanned<LinkChange>>,
    /// Hosts to kill -9.
    #[serde(default)]
    pub kill: Vec<Spanned<String>>,
    /// Hosts to (re)start.
    #[serde(default)]
    pub start: Vec<Spanned<String>>,
    /// Restart the ring's nats-server (same port, same token).
    #[serde(default)]
    pub restart_nats: bool,
}

impl Phase {
    /// What the phase does, a short line per action ("kill west",
    /// "chaos east: delay 20 ms ±5 ms"); empty when it only marks time.
    pub fn actions(&self) -> Vec<String> {
        let mut out: Vec<String> = self.start.iter().map(|h| format!("start {}", h.get_ref())).collect();
        if self.restart_nats {
            out.push("restart nats-server".into());
        }
        out.extend(self.chaos.iter().map(|c| c.get_ref().describe()));
        out.extend(self.links.iter().map(|l| {
            let l = l.get_ref();
            format!("link {}.{} → {}", l.source, l.name, l.target)
        }));
        out.extend(self.kill.iter().map(|h| format!("kill -9 {}", h.get_ref())));
        out
    }
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinkChange {
    pub source: String,
    pub name: String,
    pub target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Metric {
    #[serde(rename = "p50_ms")]
    P50,
    #[serde(rename = "p90_ms")]
    P90,
    #[serde(rename = "p99_ms")]
    P99,
    #[serde(rename = "p999_ms")]
    P999,
    #[serde(rename = "max_ms")]
    Max,
    #[serde(rename = "lost_pct")]
    LostPct,
    #[serde(rename = "expired_pct")]
    ExpiredPct,
    #[serde(rename = "hops_per_s")]
    HopsPerS,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::P50 => "p50_ms",
            Metric::P90 => "p90_ms",
            Metric::P99 => "p99_ms",
            Metric::P999 => "p999_ms",
            Metric::Max => "max_ms",
            Metric::LostPct => "lost_pct",
            Metric::ExpiredPct => "expired_pct",
            Metric::HopsPerS => "hops_per_s",
        }
    }

    /// The quantile of a latency metric (`max_ms` is 1.0).
    pub fn quantile(self) -> Option<f64> {
        Some(match self {
            Metric::P50 => 0.5,
            Metric::P90 => 0.9,
            Metric::P99 => 0.99,
            Metric::P999 => 0.999,
            Metric::Max => 1.0,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    pub phase: Spanned<String>,
    pub metric: Spanned<Metric>,
    #[serde(default)]
    pub edge: Option<Spanned<String>>,
    #[serde(default)]
    pub series: Option<Spanned<String>>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
}

/// What an expectation measures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Series {
    /// Every edge merged.
    AllEdges,
    /// One edge, `from->to`.
    Edge(String, String),
    Lifetime,
    Invoke(String),
}

impl Expect {
    /// The series, once checked by [`parse`].
    pub fn target(&self) -> Series {
        if let Some(edge) = &self.edge {
            if let Some((a, b)) = edge.get_ref().split_once("->") {
                return Series::Edge(a.to_string(), b.to_string());
            }
        }
        match self.series.as_ref().map(|s| s.get_ref().as_str()) {
            Some("lifetime") => Series::Lifetime,
            Some(s) => Series::Invoke(s.trim_start_matches("invoke:").to_string()),
            None => Series::AllEdges,
        }
    }
}

/// A bad experiment file: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct SpecError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// Largest `rate`, `duration_s`, as in `POST /load`.
pub const MAX_RATE: u32 = 100_000;
pub const MAX_DURATION_S: u32 = 86_400;

/// Parse and check the text of `file`.
pub fn parse(file: &str, text: &str) -> Result<Experiment, SpecError> {
    let at = |span: std::ops::Range<usize>, message: String| SpecError {
        file: file.to_string(),
        line: line_of(text, span.start),
        message,
    };
    let exp: Experiment = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        // toml's message already quotes the line; keep only its last line,
        // the reason, since ours names the line.
        let reason = e.message().lines().last().unwrap_or("bad TOML").to_string();
        at(span, reason)
    })?;
    check(&exp).map_err(|(span, message)| at(span, message))?;
    Ok(exp)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

type Check = Result<(), (std::ops::Range<usize>, String)>;

fn is_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

fn name_check(what: &str, s: &Spanned<String>) -> Check {
    if is_name(s.get_ref()) {
        Ok(())
    } else {
        Err((
            s.span(),
            format!("{what} must be 1-64 characters of [a-z0-9_-], got {:?}", s.get_ref()),
        ))
    }
}

fn range_check<T: PartialOrd + std::fmt::Display + Copy>(what: &str, v: &Spanned<T>, min: T, max: T) -> Check {
    let x = *v.get_ref();
    if x < min || x > max {
        return Err((v.span(), format!("{what} must be {min}..={max}, got {x}")));
    }
    Ok(())
}

fn check(exp: &Experiment) -> Check {
    name_check("name", &exp.name)?;
    range_check("duration_s", &exp.duration_s, 1, MAX_DURATION_S)?;
    range_check("settle_s", &exp.settle_s, 0, 600)?;
    let load = exp.load.get_ref();
    range_check("load.rate", &load.rate, 1, MAX_RATE)?;
    range_check("load.ttl", &load.ttl, 0, 10_000_000)?;
    range_check("load.chaos", &load.chaos, 0, 100)?;
    name_check("load.route", &load.route)?;
    check_phases(exp)?;
    for expect in &exp.expects {
        check_expect(exp, expect)?;
    }
    Ok(())
}

fn check_phases(exp: &Experiment) -> Check {
    let Some(first) = exp.phases.first() else {
        return Err((exp.name.span(), "no [[phase]]: an experiment needs at least one, at_s = 0".into()));
    };
    if *first.get_ref().at_s.get_ref() != 0 {
        return Err((first.get_ref().at_s.span(), "the first phase's at_s must be 0".into()));
    }
    let duration = *exp.duration_s.get_ref();
    for (i, phase) in exp.phases.iter().enumerate() {
        let p = phase.get_ref();
        name_check("phase.name", &p.name)?;
        if exp.phases[..i].iter().any(|q| q.get_ref().name.get_ref() == p.name.get_ref()) {
            return Err((p.name.span(), format!("phase.name {:?} is used twice", p.name.get_ref())));
        }
        let at = *p.at_s.get_ref();
        if i > 0 && at <= *exp.phases[i - 1].get_ref().at_s.get_ref() {
            return Err((p.at_s.span(), format!("phase.at_s must grow from phase to phase, got {at} after {}", exp.phases[i - 1].get_ref().at_s.get_ref())));
        }
        if at >= duration {
            return Err((p.at_s.span(), format!("phase.at_s {at} is not before duration_s {duration}")));
        }
        for c in &p.chaos {
            check_chaos(c)?;
        }
        for host in p.kill.iter().chain(&p.start) {
            name_check("kill/start host", host)?;
        }
        for link in &p.links {
            let l = link.get_ref();
            if ![&l.source, &l.name, &l.target].iter().all(|s| is_name(s)) {
                return Err((link.span(), "links: source, name and target must be 1-64 characters of [a-z0-9_-]".into()));
            }
        }
    }
    Ok(())
}

fn check_chaos(c: &Spanned<ChaosPatch>) -> Check {
    let ch = c.get_ref();
    let bad = |m: String| Err((c.span(), m));
    if ch.host != "*" && !is_name(&ch.host) {
        return bad(format!("chaos.host must be \"*\" or a host name, got {:?}", ch.host));
    }
    if ch.trap.is_some_and(|v| v > 100) || ch.drop.is_some_and(|v| v > 100) {
        return bad("chaos.trap and chaos.drop must be 0..=100".into());
    }
    if ch.delay_ms.is_some_and(|v| v > 60_000) || ch.jitter_ms.is_some_and(|v| v > 60_000) {
        return bad("chaos.delay_ms and chaos.jitter_ms must be 0..=60000".into());
    }
    if ch.down_s.is_some_and(|v| v > 3_600) {
        return bad("chaos.down_s must be 0..=3600".into());
    }
    Ok(())
}

fn check_expect(exp: &Experiment, e: &Spanned<Expect>) -> Check {
    let x = e.get_ref();
    if !exp.phases.iter().any(|p| p.get_ref().name.get_ref() == x.phase.get_ref()) {
        let names: Vec<&str> = exp.phases.iter().map(|p| p.get_ref().name.get_ref().as_str()).collect();
        return Err((x.phase.span(), format!("expect.phase {:?} is not a phase (phases: {})", x.phase.get_ref(), names.join(", "))));
    }
    if let (Some(edge), Some(_)) = (&x.edge, &x.series) {
        return Err((edge.span(), "expect: give edge or series, not both".into()));
    }
    if let Some(edge) = &x.edge {
        let ok = edge.get_ref().split_once("->").is_some_and(|(a, b)| is_name(a) && is_name(b));
        if !ok {
            return Err((edge.span(), format!("expect.edge must be \"<from>-><to>\", e.g. \"east->north\", got {:?}", edge.get_ref())));
        }
    }
    if let Some(series) = &x.series {
        let s = series.get_ref();
        let ok = s == "lifetime" || s.strip_prefix("invoke:").is_some_and(is_name);
        if !ok {
            return Err((series.span(), format!("expect.series must be \"lifetime\" or \"invoke:<component>\", got {s:?}")));
        }
    }
    let metric = *x.metric.get_ref();
    let percent = matches!(metric, Metric::LostPct | Metric::ExpiredPct);
    if percent && (x.edge.is_some() || x.series.is_some()) {
        return Err((x.metric.span(), format!("expect.metric {} is for the whole phase: no edge or series", metric.name())));
    }
    if metric == Metric::HopsPerS && x.series.as_ref().is_some_and(|s| s.get_ref() == "lifetime") {
        return Err((x.metric.span(), "expect.metric hops_per_s has no lifetime series".into()));
    }
    match (x.min, x.max) {
        (None, None) => Err((e.span(), "expect needs min, max or both".into())),
        (Some(lo), Some(hi)) if lo > hi => Err((e.span(), format!("expect.min {lo} is above expect.max {hi}"))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
