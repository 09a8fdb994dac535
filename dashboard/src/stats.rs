//! Histogram aggregation: the hosts' one-second snapshots merged into a
//! sliding window and a whole-run view per series, with their percentiles
//! computed once when the data changes (never per frame).

use hdrhistogram::Histogram;
use std::collections::{BTreeMap, HashSet, VecDeque};

use lwc_wire::telemetry;

/// What a series measures.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SeriesKey {
    /// Every edge's hops merged: the lattice latency of the whole ring.
    AllEdges,
    /// Lattice latency of hops from `from` into `to`.
    Edge { from: String, to: String },
    /// Invocation time of a component.
    Invoke(String),
    /// Lifetime of packets, injection to expiry.
    Lifetime,
}

impl SeriesKey {
    pub fn edge(from: &str, to: &str) -> SeriesKey {
        SeriesKey::Edge {
            from: from.to_string(),
            to: to.to_string(),
        }
    }

    /// Short label for tables: `a→b`, `invoke b`, `lifetime`.
    pub fn label(&self) -> String {
        match self {
            SeriesKey::AllEdges => "all edges".to_string(),
            SeriesKey::Edge { from, to } => format!("{from}→{to}"),
            SeriesKey::Invoke(c) => format!("invoke {c}"),
            SeriesKey::Lifetime => "lifetime".to_string(),
        }
    }

    pub fn is_edge(&self) -> bool {
        matches!(self, SeriesKey::Edge { .. })
    }
}

/// Percentiles of one histogram, in µs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
        }
    }
}

/// One bar of a histogram chart: values in `[low, high]` µs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    pub low: u64,
    pub high: u64,
    pub count: u64,
}

/// Up to `max_bars` buckets spanning the recorded range with log-spaced
/// boundaries (latency spreads over decades). Empty when nothing is recorded.
pub fn buckets(h: &Histogram<u64>, max_bars: usize) -> Vec<Bucket> {
    if h.is_empty() || max_bars == 0 {
        return Vec::new();
    }
    let lo = h.min().max(1) as f64;
    let hi = (h.max().max(1) as f64).max(lo + 1.0);
    // No more bars than distinct recorded values: one value, one bar.
    let bars = max_bars.min(64).min(h.iter_recorded().count().max(1));
    let ratio = (hi / lo).powf(1.0 / bars as f64);
    let mut out: Vec<Bucket> = Vec::with_capacity(bars);
    let mut low = lo;
    for i in 0..bars {
        let high = if i + 1 == bars { hi } else { low * ratio };
        out.push(Bucket {
            low: low.round() as u64,
            high: high.round() as u64,
            count: 0,
        });
        low = high;
    }
    for v in h.iter_recorded() {
        let value = h.median_equivalent(v.value_iterated_to());
        let i = if value as f64 <= lo {
            0
        } else {
            (((value as f64 / lo).ln() / ratio.ln()) as usize).min(bars - 1)
        };
        out[i].count += v.count_at_value();
    }
    out
}

/// An interval's histogram kept small: only its non-empty buckets.
type Sparse = Vec<(u64, u64)>;

/// A host's interval counts in a rate while it ended less than this long
/// ago by the dashboard's clock: one report period (hosts report every
/// second) plus one of grace for delivery and clock skew. A host omits a
/// series from an interval that recorded nothing, so an idle series
/// simply stops arriving: its rate is 0 at most this long after its last
/// value.
pub const RATE_NS: u64 = 2_000_000_000;

/// One interval of one series as a host reported it.
struct Interval {
    start_ns: u64,
    end_ns: u64,
    count: u64,
    /// Sparse: a full histogram is ~140 KB, a typical interval a few KB.
    values: Sparse,
}

/// A series' intervals in the window, their merge, and the whole run.
pub struct Series {
    /// In arrival order; several hosts may report the same series.
    intervals: VecDeque<Interval>,
    pub window: Histogram<u64>,
    pub run: Histogram<u64>,
    pub window_pct: Percentiles,
    pub run_pct: Percentiles,
    /// Values per second now: each reporting host's latest interval, summed
    /// over hosts; 0 once none of them ended within [`RATE_NS`].
    pub last_rate: f64,
}

impl Default for Series {
    fn default() -> Self {
        Series {
            intervals: VecDeque::new(),
            window: telemetry::histogram(),
            run: telemetry::histogram(),
            window_pct: Percentiles::default(),
            run_pct: Percentiles::default(),
            last_rate: 0.0,
        }
    }
}

/// Every series, window length and bookkeeping.
pub struct Stats {
    pub series: BTreeMap<SeriesKey, Series>,
    window_ns: u64,
    /// The dashboard's clock at the last [`Stats::expire`].
    now_ns: u64,
    /// Snapshot histograms that could not be merged (out of range).
    pub rejected: u64,
}

impl Stats {
    pub fn new(window_ns: u64) -> Stats {
        Stats {
            series: BTreeMap::new(),
            window_ns: window_ns.max(1),
            now_ns: 0,
            rejected: 0,
        }
    }

    pub fn window_ns(&self) -> u64 {
        self.window_ns
    }

    /// Add one interval of one series, covering `[start_ns, end_ns)`.
    pub fn add(&mut self, key: SeriesKey, start_ns: u64, end_ns: u64, h: Histogram<u64>) {
        let s = self.series.entry(key).or_default();
        if s.run.add(&h).is_err() || s.window.add(&h).is_err() {
            self.rejected += 1;
            // Keep run and window consistent: rebuild the window from scratch.
            rebuild(s);
            return;
        }
        let values = h.iter_recorded().map(|v| (v.value_iterated_to(), v.count_at_value())).collect();
        s.intervals.push_back(Interval {
            start_ns,
            end_ns,
            count: h.len(),
            values,
        });
        s.last_rate = rate(&s.intervals, self.now_ns);
        s.window_pct = Percentiles::of(&s.window);
        s.run_pct = Percentiles::of(&s.run);
    }

    /// Drop intervals that ended before `now_ns - window`; let the rates of
    /// series that stopped arriving fall to 0.
    pub fn expire(&mut self, now_ns: u64) {
        self.now_ns = now_ns;
        let oldest = now_ns.saturating_sub(self.window_ns);
        for s in self.series.values_mut() {
            let before = s.intervals.len();
            while s.intervals.front().is_some_and(|i| i.end_ns < oldest) {
                s.intervals.pop_front();
            }
            if s.intervals.len() != before {
                rebuild(s);
            }
            s.last_rate = rate(&s.intervals, now_ns);
        }
    }

    /// Forget the window (the whole run stays).
    pub fn reset_window(&mut self) {
        for s in self.series.values_mut() {
            s.intervals.clear();
            rebuild(s);
            s.last_rate = 0.0;
        }
    }
}

/// Values per second at `now_ns`: the sum, over the intervals that ended
/// within [`RATE_NS`], of each one's count over its length, leaving out an
/// interval its own host has followed with the next one (a host's
/// intervals chain: each starts where the one before ended). So each host
/// counts once, with its latest second, and a host whose series stopped
/// arriving drops out.
fn rate(intervals: &VecDeque<Interval>, now_ns: u64) -> f64 {
    let since = now_ns.saturating_sub(RATE_NS);
    let recent: Vec<&Interval> = intervals.iter().filter(|i| i.end_ns > since).collect();
    // An empty interval follows nothing (it would otherwise hide itself).
    let followed: HashSet<u64> = recent.iter().filter(|i| i.end_ns > i.start_ns).map(|i| i.start_ns).collect();
    recent
        .iter()
        .filter(|i| !followed.contains(&i.end_ns))
        .map(|i| i.count as f64 / (i.end_ns.saturating_sub(i.start_ns) as f64 / 1e9).max(0.001))
        .sum()
}

fn rebuild(s: &mut Series) {
    s.window.reset();
    for interval in &s.intervals {
        for &(value, count) in &interval.values {
            // Each was merged once already, so it fits.
            let _ = s.window.record_n(value, count);
        }
    }
    s.window_pct = Percentiles::of(&s.window);
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod rate_tests;
