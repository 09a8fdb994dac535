//! One fresh invocation of the probe, split into its parts (criterion).
//!
//! `cargo bench -p lwc-bench --bench invocation` (build the guests first:
//! `cargo build --release --target wasm32-wasip2 -p lwc-probe`).
//!
//! What a host does per hop with fresh instances, in order, each part timed
//! on its own:
//! - `wasi_ctx`: the store's host state (WASI and HTTP contexts, resource
//!   table, limits): [`Runtime::state`]
//! - `store_new`: `Store::new`, the limiter and the epoch deadline
//! - `instantiate`: `ProbePre::instantiate_async` (pooling allocator)
//! - `call`: the probe's `process` export with the host's imports linked,
//!   as the packet's last stop (ttl 0: it logs through `wasi:logging`, returns)
//! - `drop`: dropping the instance and its store (slots back to the pool)
//! - `total`: all of it; `reused_call`: the same call on a kept instance;
//!   `reused_call_forward`: a call that also makes a handle, sets its link
//!   name and calls `process` (taken as an injection outside a hop: two
//!   events published to a real nats-server), for the cost of the imports
//!
//! Times are the bench thread's CPU time (`LWC_BENCH_WALL=1`: wall time).
//! Group `pool` times `total` for pooling allocator settings other than the
//! hosts' (copy-on-write off, memory kept resident with and without the
//! `PAGEMAP_SCAN` ioctl, smaller slots). After criterion, a table gives the
//! minor page faults per part (`getrusage(RUSAGE_THREAD)`, every part runs on
//! the bench's own thread) for each setting.
//!
//! The host state is the real one: a nats-server of its own (lwc-testkit), a
//! ledger, lattice and control plane as `lwc_host::run` builds them.

use anyhow::{Context, Result};
use criterion::Criterion;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Config, Enabled, PoolingAllocationConfig, Store};

use lwc_host::wasm::bindings::probe::{Probe, ProbePre};
use lwc_host::wasm::imports::{GuestCtx, GuestHandles};
use lwc_host::lattice::{HopPolicy, Lattice};
use lwc_host::node::Node;
use lwc_host::wasm::runtime::{engine_config, pool_config, HostState, Limits, Runtime};
use lwc_testkit::Nats;

const LATTICE: &str = "bench";
/// Parts of one invocation, in order.
const PARTS: [&str; 5] = ["wasi_ctx", "store_new", "instantiate", "call", "drop"];
/// Invocations per setting for the page-fault table.
const FAULT_RUNS: u64 = 5_000;

/// A pooling allocator setting to compare with the hosts'.
struct Variant {
    name: &'static str,
    pool: fn(&mut PoolingAllocationConfig),
    config: fn(&mut Config),
}

fn pool(name: &'static str, pool: fn(&mut PoolingAllocationConfig)) -> Variant {
    Variant { name, pool, config: |_| {} }
}

fn variants() -> Vec<Variant> {
    vec![
        pool("host", |_| {}),
        Variant { name: "no_cow", pool: |_| {}, config: |c| { c.memory_init_cow(false); } },
        pool("batch_1", |p| { p.decommit_batch_size(1); }),
        pool("resident_1m", |p| { p.linear_memory_keep_resident(1 << 20).table_keep_resident(64 << 10); }),
        pool("resident_1m_pagemap", |p| {
            p.linear_memory_keep_resident(1 << 20).table_keep_resident(64 << 10).pagemap_scan(Enabled::Yes);
        }),
        pool("resident_16m_pagemap", |p| {
            p.linear_memory_keep_resident(16 << 20).table_keep_resident(64 << 10).pagemap_scan(Enabled::Yes);
        }),
        pool("stack_resident", |p| { p.async_stack_keep_resident(128 << 10); }),
        pool("resident_16m_pagemap_tables_1m", |p| {
            p.linear_memory_keep_resident(16 << 20).table_keep_resident(1 << 20).pagemap_scan(Enabled::Yes);
        }),
        pool("small_pool", |p| {
            p.total_component_instances(64).total_core_instances(512).total_memories(128).total_tables(512).total_stacks(64);
        }),
        // 64 MiB slots instead of 4 GiB reservations (explicit bounds checks).
        Variant { name: "small_slots", pool: |_| {}, config: |c| { c.memory_reservation(64 << 20).memory_guard_size(64 << 10); } },
    ]
}

/// The host's runtime with one setting, the probe pre-instantiated, and a
/// node to call into.
struct Fixture {
    tokio: Arc<tokio::runtime::Runtime>,
    rt: Runtime,
    pre: ProbePre<HostState>,
    /// Built once per component, as the host does.
    handles: Arc<GuestHandles>,
}

impl Fixture {
    fn new(tokio: Arc<tokio::runtime::Runtime>, node: Arc<Node>, variant: &Variant) -> Result<Fixture> {
        let limits = Limits::default();
        let mut pool = pool_config(&limits);
        (variant.pool)(&mut pool);
        let mut config = engine_config(pool);
        (variant.config)(&mut config);
        let rt = Runtime::with_config(limits, 0, config)?;
        let pre = rt.load_probe(&probe_wasm())?;
        Ok(Fixture {
            tokio,
            rt,
            pre,
            handles: GuestHandles::new(&node, Arc::from("probe")),
        })
    }

    /// One fresh invocation; adds each part's time (or page faults, with
    /// `faults`) to `acc`.
    async fn invoke(&self, acc: &mut [u64; 5], faults: bool) -> Result<()> {
        let mut mark = Mark::new(faults);
        let state = self.rt.state(GuestCtx::with_handles(self.handles.clone()));
        acc[0] += mark.lap();
        let mut store = self.rt.store_with(state);
        acc[1] += mark.lap();
        let probe = self.pre.instantiate_async(&mut store).await?;
        acc[2] += mark.lap();
        self.call(&mut store, &probe, 0).await?;
        acc[3] += mark.lap();
        drop(probe);
        drop(store);
        acc[4] += mark.lap();
        Ok(())
    }

    /// The probe's export. `ttl` 0: the packet's last stop (the probe logs
    /// and returns). Otherwise it also makes a handle, sets its link name and
    /// calls `process`; outside a hop the host takes that as an injection
    /// (the control component's path): an `injected` and, as there is no
    /// link, a `lost` event are published to NATS.
    async fn call(&self, store: &mut Store<HostState>, probe: &Probe, ttl: u64) -> Result<()> {
        let packet = lwc_wire::now_ns();
        self.rt.arm_deadline(store);
        probe
            .wasmcloud_lwc_packet_looper()
            .call_process(&mut *store, packet, ttl, 0, Some("default"))
            .await?;
        Ok(())
    }

    /// Time of part `part` (or of the whole, for 5) over `iters` invocations.
    fn time(&self, iters: u64, part: usize) -> Duration {
        self.tokio.block_on(async {
            let mut acc = [0u64; 5];
            for _ in 0..iters {
                self.invoke(&mut acc, false).await.expect("invocation");
            }
            let ns = if part < 5 { acc[part] } else { acc.iter().sum() };
            Duration::from_nanos(ns)
        })
    }

    /// `iters` calls (with `ttl`) on one kept instance.
    fn time_reused(&self, iters: u64, ttl: u64) -> Duration {
        self.tokio.block_on(async {
            let mut store = self.rt.store(GuestCtx::with_handles(self.handles.clone()));
            let probe = self.pre.instantiate_async(&mut store).await.expect("instantiate");
            let started = clock_ns();
            for _ in 0..iters {
                self.call(&mut store, &probe, ttl).await.expect("call");
            }
            Duration::from_nanos(clock_ns() - started)
        })
    }

    /// Minor page faults per part, averaged over [`FAULT_RUNS`] invocations.
    fn faults(&self) -> [f64; 5] {
        self.tokio.block_on(async {
            let mut acc = [0u64; 5];
            for _ in 0..FAULT_RUNS {
                self.invoke(&mut acc, true).await.expect("invocation");
            }
            acc.map(|n| n as f64 / FAULT_RUNS as f64)
        })
    }
}

/// CPU nanoseconds of this thread (wall-clock ones with `LWC_BENCH_WALL=1`),
/// or its minor page faults, since the last lap. CPU time, because the
/// machine is shared: a part that was preempted is not charged for it.
struct Mark {
    faults: bool,
    last: u64,
}

impl Mark {
    fn new(faults: bool) -> Mark {
        let mut m = Mark { faults, last: 0 };
        m.last = m.now();
        m
    }

    fn now(&self) -> u64 {
        if self.faults {
            minor_faults()
        } else {
            clock_ns()
        }
    }

    fn lap(&mut self) -> u64 {
        let now = self.now();
        let d = now.saturating_sub(self.last);
        self.last = now;
        d
    }
}

fn clock_ns() -> u64 {
    static WALL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let clock = if *WALL.get_or_init(|| std::env::var_os("LWC_BENCH_WALL").is_some()) {
        libc::CLOCK_MONOTONIC
    } else {
        libc::CLOCK_THREAD_CPUTIME_ID
    };
    // SAFETY: clock_gettime only writes the struct it is given.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(clock, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn minor_faults() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    usage.ru_minflt as u64
}

fn probe_wasm() -> PathBuf {
    lwc_testkit::project_root().join("target/wasm32-wasip2/release/lwc_probe.wasm")
}

/// A real node on a nats-server of its own, built as `lwc_host::run` does.
fn node(tokio: &tokio::runtime::Runtime, nats: &Nats) -> Result<Arc<Node>> {
    use lwc_host::{chaos::Chaos, ctl::ControlPlane, ledger::Ledger, links::Links, otel::Otel};
    let text = format!(
        "[lattice]\nname = \"{LATTICE}\"\n[hosts.bench]\n[components.probe]\nhost = \"bench\"\nwasm = \"{}\"\n",
        probe_wasm().display()
    );
    let manifest = lwc_manifest::Manifest::parse(&text, &lwc_testkit::project_root()).context("bench manifest")?;
    let client = tokio.block_on(nats.client())?;
    let host: Arc<str> = Arc::from("bench");
    let ledger = Arc::new(Ledger::new(host.clone(), client.clone(), LATTICE, Arc::new(Otel::disabled())));
    // Nothing is received here: the acks' channel is not read. The link
    // probe says: connected, no disconnects.
    let link = Box::new(|| (true, 0));
    let (lattice, _acks) = Lattice::new(client.clone(), LATTICE, ledger.clone(), HopPolicy::default(), link);
    let chaos = Arc::new(Chaos::default());
    let links = Links::new(&manifest.links);
    let ctl = Arc::new(ControlPlane::new(host.clone(), LATTICE, client, &manifest, links.clone(), chaos.clone(), ledger));
    Ok(Arc::new(Node::new(host, lattice, links, chaos, ctl)))
}

fn tokio_rt() -> tokio::runtime::Runtime {
    // block_on runs the invocation on the bench's thread; the NATS
    // connection runs on the one worker.
    tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio")
}

fn main() -> Result<()> {
    // As lwc-host does: no backtrace captured per error value (wasmtime
    // makes one whenever a component store is dropped).
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    let dir = std::env::temp_dir().join(format!("lwc-bench-invocation-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let nats = Nats::start(&dir)?;
    let tokio = Arc::new(tokio_rt());
    let node = node(&tokio, &nats)?;
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();

    let all = variants();
    let host = Fixture::new(tokio.clone(), node.clone(), &all[0])?;
    // For a profiler: `LWC_BENCH_LOOP=N` runs N fresh invocations with the
    // hosts' setting, and nothing else.
    if let Some(n) = std::env::var("LWC_BENCH_LOOP").ok().and_then(|n| n.parse().ok()) {
        let took = host.time(n, 5);
        println!("{n} fresh invocations: {:.1} µs each", took.as_secs_f64() * 1e6 / n as f64);
        return Ok(());
    }
    let mut g = c.benchmark_group("fresh");
    for (i, part) in PARTS.iter().enumerate() {
        g.bench_function(*part, |b| b.iter_custom(|n| host.time(n, i)));
    }
    g.bench_function("total", |b| b.iter_custom(|n| host.time(n, 5)));
    g.bench_function("reused_call", |b| b.iter_custom(|n| host.time_reused(n, 0)));
    g.bench_function("reused_call_forward", |b| b.iter_custom(|n| host.time_reused(n, 5)));
    g.finish();

    let mut fixtures = vec![host];
    for v in &all[1..] {
        fixtures.push(Fixture::new(tokio.clone(), node.clone(), v)?);
    }
    let mut g = c.benchmark_group("pool");
    for (v, fx) in all.iter().zip(&fixtures) {
        g.bench_function(v.name, |b| b.iter_custom(|n| fx.time(n, 5)));
    }
    g.finish();
    c.final_summary();

    println!("\nminor page faults per fresh invocation ({FAULT_RUNS} invocations each)");
    println!("{:<22} {}", "setting", PARTS.map(|p| format!("{p:>11}")).join(""));
    for (v, fx) in all.iter().zip(&fixtures) {
        let f = fx.faults();
        println!("{:<22} {}", v.name, f.map(|n| format!("{n:>11.1}")).join(""));
    }
    drop(fixtures);
    drop(tokio);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
