//! What one ring measures ([`Figures`]), the run's timing, and the
//! HdrHistogram and CPU-time helpers the rings share.

use anyhow::Result;
use hdrhistogram::Histogram;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, Default)]
pub struct Figures {
    pub p50_us: f64,
    pub p99_us: f64,
    /// Hops that went into the latency histogram.
    pub samples: u64,
    pub hops_per_s: f64,
    /// CPU time (user + system) of every process of the ring, nats-server
    /// included, per hop, over the throughput window.
    pub cpu_us_per_hop: f64,
    /// lwc only, p50 of the traced packet's hops: the lattice part (the
    /// sender's forward to our receipt) and the invocation (instantiate + run).
    pub transit_p50_us: f64,
    pub invoke_p50_us: f64,
}

pub struct Timing {
    /// ttl of the traced packet for the lwc latency figure.
    pub ttl: u64,
    /// How long the raw NATS ring runs with one message in flight.
    pub nats_latency: Duration,
    pub warmup: Duration,
    pub window: Duration,
}

impl Timing {
    pub fn new(quick: bool) -> Timing {
        if quick {
            Timing {
                ttl: 1_000,
                nats_latency: Duration::from_secs(1),
                warmup: Duration::from_secs(1),
                window: Duration::from_secs(3),
            }
        } else {
            Timing {
                ttl: 10_000,
                nats_latency: Duration::from_secs(5),
                warmup: Duration::from_secs(2),
                window: Duration::from_secs(10),
            }
        }
    }
}

pub fn new_hist() -> Histogram<u64> {
    // 1 µs .. 60 s in ns, 3 significant digits.
    Histogram::new_with_bounds(1_000, 60_000_000_000, 3).expect("histogram bounds")
}

pub fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.max(1_000));
}

pub fn pct_us(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1_000.0
}

/// CPU time of a set of processes from a starting point.
pub struct CpuMeter {
    pids: Vec<u32>,
    cpu0: Duration,
    t0: Instant,
}

impl CpuMeter {
    pub fn start(pids: Vec<u32>) -> Result<CpuMeter> {
        let cpu0 = lwc_testkit::cpu::total_cpu_time(&pids)?;
        Ok(CpuMeter {
            pids,
            cpu0,
            t0: Instant::now(),
        })
    }

    /// CPU µs per hop since the start, at `hops_per_s` hops a second.
    pub fn us_per_hop(&self, hops_per_s: f64) -> Result<f64> {
        let cpu = lwc_testkit::cpu::total_cpu_time(&self.pids)? - self.cpu0;
        let hops = hops_per_s * self.t0.elapsed().as_secs_f64();
        Ok(if hops > 0.0 { cpu.as_secs_f64() * 1e6 / hops } else { 0.0 })
    }
}
