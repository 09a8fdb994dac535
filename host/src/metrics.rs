//! Latency histograms of this host's hops, published every second.
//!
//! The hop path records into [`Metrics`] (kept in the ledger): per edge
//! `caller→component` the lattice latency (receive time here minus the send
//! time in the invocation frame, two hosts' clocks), per component the invocation time, and the
//! lifetime of every packet that expires here; plus a bounded sample of the
//! guests' `wasi:logging` lines. Recording costs a read lock, a short mutex
//! and no allocation once a series exists.
//!
//! Every second [`run_publisher`] swaps each histogram for an empty spare
//! (so the hop path waits only for a swap), serializes the interval and
//! publishes a [`Snapshot`] on `lwc.<l>.telemetry.<host>`; the dashboard
//! merges the intervals into its window and whole-run views.

use hdrhistogram::serialization::V2Serializer;
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use lwc_wire::telemetry::{self, ComponentHist, EdgeHist, GuestLog, Hist, Snapshot};

/// Series a host keeps at most; a caller header is the sender's word, so
/// strangers must not grow the table without bound.
const MAX_SERIES: usize = 256;

/// What one histogram measures.
#[derive(Debug, PartialEq, Eq)]
enum Key {
    /// Hops from component `from` (as the caller header says) into `to`.
    Edge { from: Box<str>, to: Box<str> },
    /// Invocations of a component on this host.
    Invoke(Box<str>),
}

struct Series {
    key: Key,
    hist: Mutex<Histogram<u64>>,
}

/// This host's recorders.
pub struct Metrics {
    series: RwLock<Vec<Arc<Series>>>,
    lifetime: Mutex<Histogram<u64>>,
    logs: Mutex<Vec<GuestLog>>,
    /// Lines in `logs`, readable without the lock (the hot check).
    log_len: AtomicUsize,
    logs_dropped: AtomicU64,
    /// Records that found the series table full.
    overflow: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics {
            series: RwLock::new(Vec::new()),
            lifetime: Mutex::new(telemetry::histogram()),
            logs: Mutex::new(Vec::with_capacity(telemetry::MAX_LOG_LINES)),
            log_len: AtomicUsize::new(0),
            logs_dropped: AtomicU64::new(0),
            overflow: AtomicU64::new(0),
        }
    }

    /// Record one invocation of `component`: the hop's lattice latency from
    /// `caller` and the time the invocation took, both in µs.
    pub fn hop(&self, component: &str, caller: &str, latency_us: u64, invoke_us: u64) {
        self.record(
            |k| matches!(k, Key::Edge { from, to } if **from == *caller && **to == *component),
            || Key::Edge {
                from: caller.into(),
                to: component.into(),
            },
            latency_us,
        );
        self.record(
            |k| matches!(k, Key::Invoke(c) if **c == *component),
            || Key::Invoke(component.into()),
            invoke_us,
        );
    }

    /// Record the lifetime of a packet that expired here, in µs.
    pub fn lifetime(&self, lifetime_us: u64) {
        lock(&self.lifetime).saturating_record(lifetime_us);
    }

    /// Keep a guest's log line for the next snapshot, if there is room.
    pub fn guest_log(&self, component: &str, level: &str, context: &str, message: &str) {
        if self.log_len.load(Relaxed) >= telemetry::MAX_LOG_LINES {
            self.logs_dropped.fetch_add(1, Relaxed);
            return;
        }
        let mut logs = lock(&self.logs);
        if logs.len() >= telemetry::MAX_LOG_LINES {
            self.logs_dropped.fetch_add(1, Relaxed);
            return;
        }
        logs.push(GuestLog {
            at_ns: lwc_wire::now_ns(),
            component: component.to_string(),
            level: level.to_string(),
            context: truncate(context, 64).to_string(),
            message: truncate(message, telemetry::MAX_LOG_LEN).to_string(),
        });
        self.log_len.store(logs.len(), Relaxed);
    }

    fn record(&self, is: impl Fn(&Key) -> bool, key: impl FnOnce() -> Key, value: u64) {
        {
            let series = self.series.read().unwrap_or_else(|p| p.into_inner());
            if let Some(s) = series.iter().find(|s| is(&s.key)) {
                lock(&s.hist).saturating_record(value);
                return;
            }
        }
        // First record of this series: the only allocation it ever makes.
        let mut series = self.series.write().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = series.iter().find(|s| is(&s.key)) {
            lock(&s.hist).saturating_record(value);
            return;
        }
        if series.len() >= MAX_SERIES {
            self.overflow.fetch_add(1, Relaxed);
            return;
        }
        let mut hist = telemetry::histogram();
        hist.saturating_record(value);
        series.push(Arc::new(Series {
            key: key(),
            hist: Mutex::new(hist),
        }));
    }

    /// Take what was recorded since the last call into `snap`, leaving the
    /// recorders empty. `spare` must be an empty histogram; it is swapped in
    /// and an (emptied) histogram is left in its place for the next swap.
    pub fn drain_into(&self, snap: &mut Snapshot, spare: &mut Histogram<u64>, ser: &mut V2Serializer, scratch: &mut Vec<u8>) {
        let series: Vec<Arc<Series>> = self.series.read().unwrap_or_else(|p| p.into_inner()).clone();
        for s in series {
            if let Some(hist) = take(&s.hist, spare, ser, scratch) {
                match &s.key {
                    Key::Edge { from, to } => snap.edges.push(EdgeHist {
                        from: from.to_string(),
                        to: to.to_string(),
                        hist,
                    }),
                    Key::Invoke(c) => snap.invoke.push(ComponentHist {
                        component: c.to_string(),
                        hist,
                    }),
                }
            }
        }
        snap.lifetime = take(&self.lifetime, spare, ser, scratch);
        let mut logs = lock(&self.logs);
        snap.logs = std::mem::take(&mut *logs);
        self.log_len.store(0, Relaxed);
        drop(logs);
        snap.logs_dropped = self.logs_dropped.swap(0, Relaxed);
    }

    /// Records lost because the series table was full.
    pub fn overflow(&self) -> u64 {
        self.overflow.load(Relaxed)
    }
}

/// Swap the recorder's histogram for `spare` and serialize what it held.
fn take(slot: &Mutex<Histogram<u64>>, spare: &mut Histogram<u64>, ser: &mut V2Serializer, scratch: &mut Vec<u8>) -> Option<Hist> {
    {
        let mut live = lock(slot);
        if live.is_empty() {
            return None;
        }
        std::mem::swap(&mut *live, spare);
    }
    let hist = Hist::encode(spare, ser, scratch);
    spare.reset();
    Some(hist)
}


fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Say so in the log when records were lost to a full series table since
/// `before` (the snapshot has no field for it); returns the count now.
pub fn warn_overflow(metrics: &Metrics, before: u64) -> u64 {
    let now = metrics.overflow();
    if now > before {
        tracing::warn!(
            "{} latency records dropped in the last second: more than {MAX_SERIES} series (edges and components)",
            now - before
        );
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(m: &Metrics) -> Snapshot {
        let mut snap = Snapshot::default();
        let mut spare = telemetry::histogram();
        m.drain_into(&mut snap, &mut spare, &mut V2Serializer::new(), &mut Vec::new());
        assert!(spare.is_empty(), "the spare goes back empty");
        snap
    }

    #[test]
    fn records_per_edge_and_component_then_starts_over() {
        let m = Metrics::new();
        m.hop("north", "east", 150, 30);
        m.hop("north", "east", 250, 40);
        m.hop("north", "south", 900, 35);
        m.lifetime(12_000);
        let snap = drain(&m);
        let edges: Vec<(String, String, u64)> = snap
            .edges
            .iter()
            .map(|e| (e.from.clone(), e.to.clone(), e.hist.decode().unwrap().len()))
            .collect();
        assert_eq!(
            edges,
            vec![("east".into(), "north".into(), 2), ("south".into(), "north".into(), 1)]
        );
        assert_eq!(snap.invoke.len(), 1);
        let inv = snap.invoke[0].hist.decode().unwrap();
        assert_eq!((inv.len(), inv.max()), (3, 40));
        assert_eq!(snap.lifetime.as_ref().unwrap().decode().unwrap().len(), 1);

        // The next interval holds only what came after.
        m.hop("north", "east", 100, 10);
        let snap = drain(&m);
        assert_eq!(snap.edges.len(), 1);
        assert_eq!(snap.edges[0].hist.decode().unwrap().len(), 1);
        assert!(snap.lifetime.is_none());
    }

    #[test]
    fn guest_logs_are_bounded() {
        let m = Metrics::new();
        for i in 0..telemetry::MAX_LOG_LINES + 10 {
            m.guest_log("north", "info", "", &format!("line {i} {}", "é".repeat(400)));
        }
        let snap = drain(&m);
        assert_eq!(snap.logs.len(), telemetry::MAX_LOG_LINES);
        assert_eq!(snap.logs_dropped, 10);
        assert!(snap.logs[0].message.len() <= telemetry::MAX_LOG_LEN);
        assert_eq!(drain(&m).logs.len(), 0);
    }

    #[test]
    fn strangers_cannot_grow_the_table_forever() {
        let m = Metrics::new();
        for i in 0..MAX_SERIES + 5 {
            m.hop("north", &format!("caller{i}"), 1, 1);
        }
        assert!(m.overflow() > 0);
        assert!(drain(&m).edges.len() < MAX_SERIES);
    }
}
