//! The wasmtime side: one engine with the pooling allocator, linkers for the
//! probe and control worlds, and a fresh, bounded `Store` per invocation.
//!
//! Built once per process, however many hosts it runs ([`Runtime::new`],
//! [`Runtime::load_probe`]): each component is compiled once (or loaded from
//! the [`CompileCache`]) and shared by every host that runs it. Used per call
//! ([`Runtime::store`]). Every store is limited in memory and instances and
//! carries an epoch deadline; a background thread ticks the epoch.

use anyhow::Result;
// wasmtime has its own error type; its `Context` adds context to it.
use wasmtime::error::Context as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{
    Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits,
    StoreLimitsBuilder,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::wasm::bindings::probe::ProbePre;
use crate::wasm::cache::CompileCache;
use crate::wasm::imports::GuestCtx;

/// How long one epoch tick is; deadlines are whole ticks.
const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Entries an instance may hold in its resource table (WASI streams and
/// `call-target-interface` handles alike): one more traps the guest, so a
/// guest creating handles in a loop cannot grow the host's memory. A probe
/// holds one at a time; WASI a handful. See docs/decisions.md.
pub const MAX_GUEST_RESOURCES: usize = 1_000;

/// Bytes of each linear memory kept resident (dirty pages reset in place)
/// between instances, where PAGEMAP_SCAN is available.
const KEEP_RESIDENT: usize = 1 << 20;

/// Bounds on every invocation.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Linear memory per instance, bytes.
    pub max_memory: usize,
    /// Wall time an invocation may run before it traps with a timeout.
    pub deadline: Duration,
    /// Instances alive at once across the host (sizes the pool).
    pub max_instances: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_memory: 64 << 20,
            deadline: Duration::from_secs(1),
            max_instances: 512,
        }
    }
}

/// Everything a store holds for one invocation.
pub struct HostState {
    wasi: WasiCtx,
    http: WasiHttpCtx,
    table: ResourceTable,
    limits: StoreLimits,
    pub guest: GuestCtx,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: Default::default(),
        }
    }
}

impl HostState {
    pub fn table(&mut self) -> &mut ResourceTable {
        &mut self.table
    }
}

pub struct Runtime {
    /// Guests run on threads of their own, apart from the lattice's: a busy
    /// ring must not starve the loops that receive and ack hops.
    guest_threads: Option<tokio::runtime::Runtime>,
    engine: Engine,
    probe_linker: Linker<HostState>,
    control_linker: Linker<HostState>,
    limits: Limits,
    epoch_stop: Arc<AtomicBool>,
    /// Compiled components by (canonical) path: one copy per process.
    components: Mutex<HashMap<PathBuf, Component>>,
    cache: Option<CompileCache>,
}

impl Runtime {
    /// `guest_threads`: threads of the guests' own runtime; 0 = none, guests
    /// run on the caller's runtime.
    pub fn new(limits: Limits, guest_threads: usize) -> Result<Runtime> {
        Runtime::with_config(limits, guest_threads, engine_config(pool_config(&limits)))
    }

    /// As [`Runtime::new`], on an engine configured as given (the invocation
    /// benchmark compares settings; hosts use [`engine_config`]).
    pub fn with_config(limits: Limits, guest_threads: usize, config: Config) -> Result<Runtime> {
        let engine = Engine::new(&config).context("cannot create the wasm engine")?;
        let probe_linker = probe_linker(&engine)?;
        let control_linker = control_linker(&engine)?;
        let epoch_stop = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), epoch_stop.clone());
        let guest_threads = match guest_threads {
            0 => None,
            n => Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(n)
                    .thread_name("lwc-guest")
                    .enable_all()
                    .build()?,
            ),
        };
        Ok(Runtime {
            guest_threads,
            engine,
            probe_linker,
            control_linker,
            limits,
            epoch_stop,
            components: Mutex::new(HashMap::new()),
            cache: None,
        })
    }

    /// Keep compiled components in `dir` ([`CompileCache`]) from now on.
    pub fn use_compile_cache(&mut self, dir: &Path) -> Result<()> {
        self.cache = Some(CompileCache::open(dir)?);
        Ok(())
    }

    pub fn compile_cache(&self) -> Option<&CompileCache> {
        self.cache.as_ref()
    }

    /// Where guest invocations are spawned.
    pub fn guests(&self) -> tokio::runtime::Handle {
        match &self.guest_threads {
            Some(rt) => rt.handle().clone(),
            None => tokio::runtime::Handle::current(),
        }
    }

    /// The compiled component of `wasm`: the one this process already has,
    /// else from the compile cache, else compiled now.
    pub fn component(&self, wasm: &Path) -> Result<Component> {
        let not_loaded = |e: &dyn std::fmt::Display| {
            format!(
                "cannot load component {} (build it with `cargo build --release --target wasm32-wasip2`): {e}",
                wasm.display()
            )
        };
        let path = wasm.canonicalize().map_err(|e| anyhow::anyhow!(not_loaded(&e)))?;
        let mut components = self.components.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = components.get(&path) {
            return Ok(c.clone());
        }
        let bytes = std::fs::read(&path).map_err(|e| anyhow::anyhow!(not_loaded(&e)))?;
        let compile = || -> Result<Component> {
            let c = Component::new(&self.engine, &bytes).map_err(|e| anyhow::anyhow!(not_loaded(&format!("{e:#}"))))?;
            Ok(c)
        };
        let component = match &self.cache {
            Some(cache) => cache.load(&self.engine, &path, &bytes, compile)?,
            None => compile()?,
        };
        components.insert(path, component.clone());
        Ok(component)
    }

    /// Compile and pre-instantiate a probe-world component.
    pub fn load_probe(&self, wasm: &std::path::Path) -> Result<ProbePre<HostState>> {
        let component = self.component(wasm)?;
        let pre = self
            .probe_linker
            .instantiate_pre(&component)
            .with_context(|| format!("{} does not fit the probe world", wasm.display()))?;
        let pre = ProbePre::new(pre)
            .with_context(|| format!("{} does not export packet-looper", wasm.display()))?;
        Ok(pre)
    }

    /// Compile and pre-instantiate a `wasi:http` control component.
    pub fn load_http(&self, wasm: &std::path::Path) -> Result<ProxyPre<HostState>> {
        let component = self.component(wasm)?;
        let pre = self
            .control_linker
            .instantiate_pre(&component)
            .with_context(|| format!("{} does not fit the control world", wasm.display()))?;
        let pre = ProxyPre::new(pre)
            .with_context(|| format!("{} does not export wasi:http/incoming-handler", wasm.display()))?;
        Ok(pre)
    }

    /// A fresh, limited store for one invocation.
    pub fn store(&self, guest: GuestCtx) -> Store<HostState> {
        self.store_with(self.state(guest))
    }

    /// The host state of one store: WASI and HTTP contexts, the resource
    /// table (capped) and the store limits. (Split from [`Runtime::store`]
    /// so the invocation benchmark can time each part.)
    pub fn state(&self, guest: GuestCtx) -> HostState {
        let wasi = WasiCtx::builder()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.max_memory)
            .instances(32)
            .tables(32)
            .memories(8)
            .trap_on_grow_failure(true)
            .build();
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_GUEST_RESOURCES);
        HostState {
            wasi,
            http: WasiHttpCtx::new(),
            table,
            limits,
            guest,
        }
    }

    /// A store around `state`, limited and with its deadline armed.
    pub fn store_with(&self, state: HostState) -> Store<HostState> {
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limits);
        self.arm_deadline(&mut store);
        store
    }

    /// (Re)start the epoch deadline, before each call into the guest.
    pub fn arm_deadline(&self, store: &mut Store<HostState>) {
        let ticks = (self.limits.deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.epoch_stop.store(true, Ordering::Relaxed);
        // Dropped from async code at shutdown: must not block there.
        if let Some(rt) = self.guest_threads.take() {
            rt.shutdown_background();
        }
    }
}

/// The engine as hosts run it: epoch deadlines, the pooling allocator.
pub fn engine_config(pool: PoolingAllocationConfig) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// The pooling allocator as hosts run it, sized for `limits`.
pub fn pool_config(limits: &Limits) -> PoolingAllocationConfig {
    let n = limits.max_instances.max(8);
    let mut pool = PoolingAllocationConfig::default();
    // A Rust wasip2 component is one main module plus a few small shims.
    pool.total_component_instances(n)
        .total_core_instances(n * 8)
        .total_memories(n * 2)
        .total_tables(n * 8)
        .max_memory_size(limits.max_memory)
        // Return freed slots to the kernel in batches: one TLB shootdown
        // across cores per batch instead of one per invocation.
        .decommit_batch_size(64);
    // Where the kernel can say which pages an instance dirtied (PAGEMAP_SCAN,
    // Linux 6.7+), reset just those in place and keep them: the next
    // instance in the slot takes no page faults and nothing is madvised.
    // This halves a fresh invocation's CPU (bench/profile.md). Without the
    // ioctl, keeping memory resident would memset all of it: slower.
    if PoolingAllocationConfig::is_pagemap_scan_available() {
        pool.pagemap_scan(Enabled::Yes)
            .linear_memory_keep_resident(KEEP_RESIDENT)
            .table_keep_resident(64 << 10);
    }
    pool
}

fn probe_linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    // Rust's std imports wasi:cli/io/random/clocks even in a tiny guest.
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).context("linking WASI")?;
    crate::wasm::bindings::probe::Probe::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)
        .context("linking the probe world")?;
    Ok(linker)
}

fn control_linker(engine: &Engine) -> Result<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).context("linking WASI")?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).context("linking wasi:http")?;
    crate::wasm::bindings::control::Control::add_to_linker::<_, HasSelf<HostState>>(&mut linker, |s| s)
        .context("linking the control world")?;
    Ok(linker)
}

fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    let spawned = std::thread::Builder::new()
        .name("lwc-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the epoch thread; deadlines will not fire: {e}");
    }
}
