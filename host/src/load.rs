//! Steady load: the open-loop scheduler behind `POST/GET/DELETE /load`.
//!
//! Packet `i` of a load is due at `start + i / rate`. The scheduler wakes,
//! injects every packet that is due (a batch when it woke late), and sleeps
//! until the next one is due: it never waits on the ring, so a slow ring
//! cannot slow the load down (no coordinated omission). How late each packet
//! went out (actual − scheduled) is kept in an HDR histogram and reported.
//!
//! The scheduler knows nothing of the host: it injects through an
//! [`Injector`], which the control-plane imports implement on top of the
//! host's node. A host has one [`LoadSlot`] ([`slot_for`]); a load stops when
//! it ends, when [`LoadSlot::stop`] is called, or when its injector reports
//! that the host is gone.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What to inject, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSpec {
    /// Packets per second, 1..=100,000 (checked by the control component).
    pub rate: u32,
    pub ttl: u64,
    pub chaos: u16,
    pub route: String,
    pub duration_s: u32,
}

/// A load and how it went so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadStatus {
    pub spec: LoadSpec,
    pub started_ns: u64,
    pub injected: u64,
    pub late_p99_us: u64,
    pub late_max_us: u64,
    pub running: bool,
}

/// The running load and the last one that ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadState {
    pub running: Option<LoadStatus>,
    pub last: Option<LoadStatus>,
}

/// A second load while one runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a load is already running ({injected} of {total} packets injected); DELETE /load stops it")]
pub struct Busy {
    pub injected: u64,
    pub total: u64,
}

pub type InjectFuture<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// How the scheduler puts packets on the lattice.
pub trait Injector: Send + Sync + 'static {
    /// Inject `count` packets of `spec` now. `false` means the host is gone
    /// and the load must stop.
    fn inject(&self, spec: &LoadSpec, count: u32) -> InjectFuture<'_>;
}

/// One load in progress.
struct Run {
    spec: LoadSpec,
    started_ns: u64,
    injected: AtomicU64,
    /// Lateness per packet, µs.
    late: Mutex<Histogram<u64>>,
    finished: AtomicBool,
    stop: Notify,
}

impl Run {
    fn total(&self) -> u64 {
        u64::from(self.spec.rate) * u64::from(self.spec.duration_s)
    }

    fn status(&self) -> LoadStatus {
        let (p99, max) = match self.late.lock() {
            Ok(h) if !h.is_empty() => (h.value_at_quantile(0.99), h.max()),
            _ => (0, 0),
        };
        LoadStatus {
            spec: self.spec.clone(),
            started_ns: self.started_ns,
            injected: self.injected.load(Ordering::Relaxed),
            late_p99_us: p99,
            late_max_us: max,
            running: !self.finished.load(Ordering::Relaxed),
        }
    }
}

#[derive(Default)]
struct SlotState {
    running: Option<(Arc<Run>, JoinHandle<()>)>,
    last: Option<LoadStatus>,
}

/// Where a host keeps its load: at most one runs at a time.
#[derive(Default)]
pub struct LoadSlot {
    state: Mutex<SlotState>,
}

impl LoadSlot {
    /// Start `spec` through `injector`, unless a load runs.
    pub fn start(self: &Arc<Self>, spec: LoadSpec, injector: Arc<dyn Injector>) -> Result<LoadStatus, Busy> {
        let mut state = self.lock();
        if let Some((run, _)) = &state.running {
            if !run.finished.load(Ordering::Relaxed) {
                return Err(Busy {
                    injected: run.injected.load(Ordering::Relaxed),
                    total: run.total(),
                });
            }
        }
        let run = Arc::new(Run {
            spec,
            started_ns: lwc_wire::now_ns(),
            injected: AtomicU64::new(0),
            late: Mutex::new(lwc_wire::telemetry::histogram()),
            finished: AtomicBool::new(false),
            stop: Notify::new(),
        });
        let slot = Arc::downgrade(self);
        let task_run = run.clone();
        let task = tokio::spawn(async move {
            schedule(&task_run, injector.as_ref()).await;
            task_run.finished.store(true, Ordering::Relaxed);
            if let Some(slot) = slot.upgrade() {
                slot.retire(&task_run);
            }
        });
        let status = run.status();
        state.running = Some((run, task));
        Ok(status)
    }

    /// The running load and the last one that ended.
    pub fn get(&self) -> LoadState {
        let state = self.lock();
        LoadState {
            running: state.running.as_ref().map(|(run, _)| run.status()),
            last: state.last.clone(),
        }
    }

    /// Stop the running load, wait (briefly) for its last batch, and answer
    /// as [`LoadSlot::get`] does then.
    pub async fn stop(&self) -> LoadState {
        let running = self.lock().running.take();
        if let Some((run, task)) = running {
            run.stop.notify_one();
            if tokio::time::timeout(Duration::from_secs(2), task).await.is_err() {
                tracing::warn!("the load scheduler did not stop within 2 s");
            }
            run.finished.store(true, Ordering::Relaxed);
            self.lock().last = Some(run.status());
        }
        self.get()
    }

    /// Move a finished run from `running` to `last` (if it is still there).
    fn retire(&self, run: &Arc<Run>) {
        let mut state = self.lock();
        if state.running.as_ref().is_some_and(|(r, _)| Arc::ptr_eq(r, run)) {
            state.running = None;
            state.last = Some(run.status());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // The state is plain data: a panic elsewhere cannot leave it torn.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// When packet `i` of a load at `rate` is due, after the start.
fn due_at(i: u64, rate: u32) -> Duration {
    let rate = u64::from(rate.max(1));
    Duration::from_secs(i / rate) + Duration::from_nanos((i % rate) * 1_000_000_000 / rate)
}

/// How many packets are due `elapsed` after the start (packets 0..n).
fn due_by(elapsed: Duration, rate: u32, total: u64) -> u64 {
    let n = elapsed.as_nanos() * u128::from(rate) / 1_000_000_000 + 1;
    (n.min(u128::from(total))) as u64
}

/// Inject on schedule until the load is done, stopped, or the host is gone.
async fn schedule(run: &Run, injector: &dyn Injector) {
    let start = Instant::now();
    let total = run.total();
    let mut next: u64 = 0;
    while next < total {
        let due = due_by(start.elapsed(), run.spec.rate, total);
        if due > next {
            let count = (due - next).min(u64::from(u32::MAX)) as u32;
            let sent_at = start.elapsed();
            if !injector.inject(&run.spec, count).await {
                tracing::warn!("load stopped: the host is gone");
                return;
            }
            record_lateness(run, next, due, sent_at);
            run.injected.fetch_add(due - next, Ordering::Relaxed);
            next = due;
            continue;
        }
        let wake = start + due_at(next, run.spec.rate);
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = run.stop.notified() => return,
        }
    }
}

/// Packets `first..end` went out at `sent_at` after the start.
fn record_lateness(run: &Run, first: u64, end: u64, sent_at: Duration) {
    let Ok(mut late) = run.late.lock() else { return };
    for i in first..end {
        let us = sent_at.saturating_sub(due_at(i, run.spec.rate)).as_micros() as u64;
        late.saturating_record(us.max(lwc_wire::telemetry::LOWEST_US));
    }
}

/// Slots, one per host, keyed by the host's shared state (held weakly: a
/// host that is gone drops out).
type Slots = Mutex<Vec<(Weak<dyn Any + Send + Sync>, Arc<LoadSlot>)>>;

static SLOTS: Slots = Mutex::new(Vec::new());

/// The load slot of the host whose shared state is `key` (one per host,
/// made on first use).
pub fn slot_for<K: Any + Send + Sync>(key: &Arc<K>) -> Arc<LoadSlot> {
    let mut slots = SLOTS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    slots.retain(|(k, _)| k.strong_count() > 0);
    let key_ptr = Arc::as_ptr(key) as *const ();
    if let Some((_, slot)) = slots
        .iter()
        .find(|(k, _)| k.as_ptr() as *const () == key_ptr)
    {
        return slot.clone();
    }
    let any: Arc<dyn Any + Send + Sync> = key.clone();
    let slot = Arc::new(LoadSlot::default());
    slots.push((Arc::downgrade(&any), slot.clone()));
    slot
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts what it is asked to inject; gone after `limit` packets.
    struct Counter {
        packets: AtomicU64,
        limit: u64,
    }

    impl Injector for Counter {
        fn inject(&self, _spec: &LoadSpec, count: u32) -> InjectFuture<'_> {
            Box::pin(async move {
                let before = self.packets.fetch_add(u64::from(count), Ordering::Relaxed);
                before < self.limit
            })
        }
    }

    fn spec(rate: u32, duration_s: u32) -> LoadSpec {
        LoadSpec {
            rate,
            ttl: 5,
            chaos: 0,
            route: "default".into(),
            duration_s,
        }
    }

    #[test]
    fn schedule_arithmetic() {
        assert_eq!(due_at(0, 200), Duration::ZERO);
        assert_eq!(due_at(1, 200), Duration::from_millis(5));
        assert_eq!(due_at(401, 200), Duration::from_millis(2005));
        assert_eq!(due_by(Duration::ZERO, 200, 1000), 1);
        assert_eq!(due_by(Duration::from_millis(5), 200, 1000), 2);
        assert_eq!(due_by(Duration::from_secs(60), 200, 1000), 1000);
        assert_eq!(due_by(Duration::from_secs(1), 100_000, u64::MAX), 100_001);
    }

    /// Wait (bounded) until the slot has no running load.
    async fn until_idle(slot: &LoadSlot, within: Duration) -> LoadState {
        let deadline = Instant::now() + within;
        loop {
            let state = slot.get();
            if state.running.is_none() || Instant::now() > deadline {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_load_injects_rate_times_duration_then_ends() {
        let slot = Arc::new(LoadSlot::default());
        let counter = Arc::new(Counter {
            packets: AtomicU64::new(0),
            limit: u64::MAX,
        });
        let status = slot.start(spec(200, 1), counter.clone()).unwrap();
        assert!(status.running);
        let busy = slot.start(spec(1, 1), counter.clone()).unwrap_err();
        assert_eq!(busy.total, 200);
        let state = until_idle(&slot, Duration::from_secs(5)).await;
        assert_eq!(state.running, None, "the load did not end");
        let last = state.last.unwrap();
        assert_eq!((last.injected, last.running), (200, false));
        assert_eq!(counter.packets.load(Ordering::Relaxed), 200);
        assert!(last.late_max_us < 500_000, "{last:?}");
        // A new load may start once the last one ended.
        assert!(slot.start(spec(10, 1), counter).is_ok());
    }

    #[tokio::test]
    async fn stop_ends_a_load_early_and_keeps_its_figures() {
        let slot = Arc::new(LoadSlot::default());
        let counter = Arc::new(Counter {
            packets: AtomicU64::new(0),
            limit: u64::MAX,
        });
        slot.start(spec(1_000, 60), counter.clone()).unwrap();
        while counter.packets.load(Ordering::Relaxed) < 50 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let state = slot.stop().await;
        assert_eq!(state.running, None);
        let last = state.last.unwrap();
        assert!(!last.running);
        let after = counter.packets.load(Ordering::Relaxed);
        assert_eq!(last.injected, after);
        assert!(after < 60_000);
        // A marker: a second load runs to its end; the stopped one sent
        // nothing meanwhile.
        let marker = Arc::new(Counter {
            packets: AtomicU64::new(0),
            limit: u64::MAX,
        });
        slot.start(spec(100, 1), marker.clone()).unwrap();
        until_idle(&slot, Duration::from_secs(5)).await;
        assert_eq!(marker.packets.load(Ordering::Relaxed), 100);
        assert_eq!(counter.packets.load(Ordering::Relaxed), after);
    }

    #[tokio::test]
    async fn a_gone_host_ends_the_load() {
        let slot = Arc::new(LoadSlot::default());
        let counter = Arc::new(Counter {
            packets: AtomicU64::new(0),
            limit: 10,
        });
        slot.start(spec(100, 60), counter.clone()).unwrap();
        let state = until_idle(&slot, Duration::from_secs(5)).await;
        assert_eq!(state.running, None);
        assert!(counter.packets.load(Ordering::Relaxed) <= 12);
    }

    #[test]
    fn one_slot_per_key_and_gone_keys_drop_out() {
        let a = Arc::new(1u8);
        let b = Arc::new(2u8);
        assert!(Arc::ptr_eq(&slot_for(&a), &slot_for(&a)));
        assert!(!Arc::ptr_eq(&slot_for(&a), &slot_for(&b)));
        let weak = Arc::downgrade(&slot_for(&b));
        drop(b);
        let _ = slot_for(&a);
        assert!(weak.upgrade().is_none());
    }
}
