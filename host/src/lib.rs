//! `lwc-host`: one host of the Large Wasm Collider (or several, in one process).
//!
//! **A hop, end to end.** [`lattice`] takes an invocation from NATS, lets its
//! protocol (`lattice::protocol`, a state machine without I/O) accept it,
//! acks it and queues it; [`invoke`] runs it in a fresh instance from
//! [`wasm::runtime`]; the guest calls its imported `process`
//! ([`wasm::imports`]), which resolves the next component through [`links`]
//! and hands the hop to [`lattice`] via [`node`]; [`ledger`] publishes the
//! packet's fate when it ends here.
//!
//! **Layers**, top to bottom; each uses only those below it
//! (`scripts/layers.py` checks that no two top-level modules import each
//! other in a circle):
//!
//! - [`process`]: several hosts in one process, on one shared runtime, each
//!   a task that owns all it is; dropping one of them (`lwc kill HOST`)
//! - [`serve`]: one host: start, serve, drain; what the hosts of a process share
//! - [`tasks`], [`drain`], [`ready`], [`dropping`]: `run`'s wiring: named tasks,
//!   SIGTERM, the ready file, the drop request
//! - [`http`], [`telemetry`], [`invoke`]: serving HTTP; heartbeat, health and the
//!   per-second histogram snapshot; running hops through probes and settling fates
//! - [`wasm`]: wasmtime: bindings, the guests' imports, the runtime, the compile cache
//! - [`node`]: the host's shared services; forwarding and injection
//! - [`ctl`]: the control plane: links and chaos changed at run time
//! - [`lattice`]: NATS in and out and the exactly-one-fate hop protocol
//! - [`ledger`]: packet events and counters
//! - [`metrics`], [`otel`], [`load`]: latency histograms per edge and component;
//!   OpenTelemetry over OTLP (opt-in); the open-loop `/load` schedule
//! - [`links`], [`chaos`]: the live link table; host-side fault injection
//! - [`config`], [`manifest`]: command-line flags; the topology file

pub mod chaos;
pub mod config;
pub mod ctl;
pub mod drain;
pub mod dropping;
pub mod http;
pub mod invoke;
pub mod lattice;
pub mod ledger;
pub mod load;
pub mod metrics;
pub mod links;
pub mod manifest;
pub mod node;
pub mod otel;
pub mod process;
pub mod ready;
pub mod serve;
pub mod tasks;
pub mod telemetry;
pub mod wasm;

use anyhow::Result;
use std::future::Future;
use std::sync::Arc;

use crate::config::Config;

/// Run the host (or hosts: `--host` repeated) of `config` until `shutdown`
/// resolves, then drain (see [`drain`]) and return Ok. Returns Err if it
/// cannot start, or as soon as one of its tasks ends (a host that would
/// otherwise stay up deaf; in a process of several hosts, after the others
/// drained). Dropping the returned future stops it at once, without
/// draining (a second signal does so).
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<()> {
    let shared = serve::Shared::new(config)?;
    if shared.config.hosts.len() > 1 {
        return process::run(Arc::new(shared), shutdown).await;
    }
    let name = shared.config.hosts[0].clone();
    let mut host = serve::start(&shared, &name, None).await?;
    if let Some(path) = &shared.config.ready_file {
        ready::write(path, std::process::id(), &host.bound)?;
    }
    let died = host.until(shutdown).await;
    if let Some(path) = &shared.config.ready_file {
        ready::remove(path);
    }
    host.finish(&shared.config, died).await
}
