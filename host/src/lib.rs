//! `lwc-host`: one host of the Large Wasm Collider.
//!
//! A hop, end to end: [`lattice`] receives an invocation from NATS, acks it
//! and queues it; [`invoke`] runs it in a fresh instance from [`runtime`];
//! the guest calls its imported `process` ([`imports`]), which resolves the
//! next component through [`links`] and hands the hop to [`lattice`] via
//! [`node`]; [`ledger`] publishes the packet's fate when it ends here.
//!
//! - [`config`]: command-line flags
//! - [`manifest`]: the topology file (hosts, components, links)
//! - [`runtime`]: wasmtime engine, linkers, pooled and limited stores
//! - [`bindings`]: WIT bindings for the probe and control worlds
//! - [`imports`]: host side of the guests' imports
//! - [`invoke`]: running hops through probes, settling fates, concurrency cap
//! - [`node`]: the host's shared services; forwarding and injection
//! - [`lattice`]: NATS in and out, batched acks, retries
//! - [`links`]: the live link table
//! - [`chaos`]: host-side fault injection
//! - [`ctl`]: the control plane: links and chaos changed at run time
//! - [`ledger`]: packet events and counters
//! - [`load`]: steady open-loop injection (`/load`) on the control host
//! - [`http`]: serving the control component over HTTP
//! - [`telemetry`]: heartbeat, health, NATS connection state
//! - [`metrics`]: latency histograms per edge and component, published every second
//! - [`otel`]: OpenTelemetry spans, metrics and guest logs over OTLP (opt-in)

pub mod bindings;
pub mod chaos;
pub mod config;
pub mod ctl;
pub mod http;
pub mod imports;
pub mod invoke;
pub mod lattice;
pub mod ledger;
pub mod load;
pub mod metrics;
pub mod links;
pub mod manifest;
pub mod node;
pub mod otel;
pub mod runtime;
pub mod telemetry;

use anyhow::{bail, Context, Result};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use crate::config::Config;
use crate::manifest::{ComponentSpec, Manifest};
use crate::telemetry::ConnState;

/// Run a host until `shutdown` resolves.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<()> {
    let manifest = Manifest::load(&config.manifest)?;
    let Some(host_spec) = manifest.hosts.get(&config.host).cloned() else {
        bail!(
            "host {:?} is not in {} (hosts: {})",
            config.host,
            config.manifest.display(),
            manifest.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    };
    let lattice_name = config.lattice.clone().unwrap_or_else(|| manifest.lattice.clone());
    if !lwc_wire::subjects::is_valid_token(&lattice_name) {
        bail!("lattice name {lattice_name:?} must be 1-64 characters of [a-z0-9_-]");
    }
    if config.finish_timeout_ms <= config.deadline_ms {
        bail!(
            "--finish-timeout-ms ({}) must be longer than --deadline-ms ({}): a hop may run that long",
            config.finish_timeout_ms,
            config.deadline_ms
        );
    }
    let host: Arc<str> = Arc::from(config.host.as_str());
    let mine: Vec<ComponentSpec> = manifest.components_on(&config.host).cloned().collect();

    let max_concurrent = config
        .max_concurrent
        .map(|n| n as usize)
        .or(host_spec.max_concurrent)
        .unwrap_or(64);
    let queue_len = config.queue.map(|n| n as usize).or(host_spec.queue).unwrap_or(4096);
    let limits = runtime::Limits {
        max_memory: (config.max_memory_mb as usize) << 20,
        deadline: Duration::from_millis(config.deadline_ms),
        max_instances: ((max_concurrent * 2 + 64) * mine.len().max(1)) as u32,
    };
    let rt = Arc::new(runtime::Runtime::new(limits, config.guest_threads())?);

    let component_names = manifest.components.keys().map(|n| Arc::from(n.as_str())).collect();
    // Checked before connecting: a bad OTEL_* variable fails the start.
    let otel = Arc::new(otel::Otel::from_env(&host, component_names)?);
    let conn = Arc::new(ConnState::default());
    let client = connect(&config, conn.clone()).await?;
    let ledger = Arc::new(ledger::Ledger::new(host.clone(), client.clone(), &lattice_name, otel.clone()));
    let policy = lattice::HopPolicy {
        timeout: config.hop_timeout(),
        retries: config.hop_retries,
        finish_timeout: Duration::from_millis(config.finish_timeout_ms),
        ..Default::default()
    };
    let (lattice, acks_rx) = lattice::Lattice::new(client.clone(), &lattice_name, ledger.clone(), policy);
    let chaos = Arc::new(chaos::Chaos::default());
    let links = links::Links::new(&manifest.links);
    let ctl = Arc::new(ctl::ControlPlane::new(
        host.clone(),
        &lattice_name,
        client.clone(),
        &manifest,
        links.clone(),
        chaos.clone(),
        ledger,
    ));
    let node = Arc::new(node::Node::new(host.clone(), lattice.clone(), links, chaos.clone(), ctl.clone()));

    let mut tasks = JoinSet::new();
    // Control plane first: a late joiner takes the links and chaos in force
    // before it serves a single hop.
    tasks.spawn(ctl.clone().run_listener(ctl::subscribe(&client, &lattice_name).await?));
    ctl.sync().await.context("cannot fetch the control-plane state")?;
    if mine.iter().any(|c| c.http.is_some()) {
        let hb = client
            .subscribe(format!("lwc.{lattice_name}.hosts.*.heartbeat"))
            .await
            .context("cannot watch heartbeats")?;
        let events = client
            .subscribe(lwc_wire::subjects::packet_events(&lattice_name))
            .await
            .context("cannot watch packet events")?;
        tasks.spawn(ctl.clone().run_heartbeat_watch(hb));
        tasks.spawn(ctl.clone().run_ledger_watch(events));
        tasks.spawn(ctl.clone().run_ledger_publisher());
    }
    tasks.spawn(lattice::run_acker(client.clone(), acks_rx));
    tasks.spawn(lattice::run_ack_listener(lattice.clone(), lattice.subscribe_acks().await?));
    tasks.spawn(lattice::run_sweeper(lattice.clone()));

    for spec in &mine {
        let name: Arc<str> = Arc::from(spec.name.as_str());
        if let Some(manifest_addr) = spec.http {
            let addr = config.http.unwrap_or(manifest_addr);
            let pre = rt.load_http(&spec.wasm)?;
            let listener = http::HttpComponent::bind(addr).await?;
            let server = Arc::new(http::HttpComponent::new(name, pre, rt.clone(), node.clone()));
            tasks.spawn(server.serve(listener));
            tracing::info!(component = %spec.name, "serving HTTP on http://{addr}");
        } else {
            let pre = rt.load_probe(&spec.wasm)?;
            let component = Arc::new(invoke::ProbeComponent::new(name.clone(), pre, config.reuse));
            let subject = lwc_wire::subjects::rpc(&lattice_name, &spec.name);
            // A queue group: more hosts may serve the same component.
            let sub = client
                .queue_subscribe(subject.clone(), spec.name.clone())
                .await
                .with_context(|| format!("cannot subscribe to {subject}"))?;
            let (tx, rx) = tokio::sync::mpsc::channel(queue_len);
            tasks.spawn(lattice::run_receiver(lattice.clone(), sub, tx, chaos.clone()));
            tasks.spawn(invoke::run_dispatcher(component, rt.clone(), node.clone(), rx, max_concurrent));
            tracing::info!(component = %spec.name, "serving {subject}");
        }
    }

    let reporter = Arc::new(telemetry::Reporter {
        node: node.clone(),
        conn: conn.clone(),
        components: mine.iter().map(|c| c.name.clone()).collect(),
        started: Instant::now(),
    });
    let health_subject = lwc_wire::subjects::health(&lattice_name, &host);
    let health_sub = client.subscribe(health_subject).await.context("cannot subscribe to health")?;
    tasks.spawn(reporter.clone().run_health(health_sub));
    tasks.spawn(reporter.run_heartbeat());
    tasks.spawn(metrics::run_publisher(node.clone()));

    // Subscriptions reach the server before anyone is told we are ready.
    client.flush().await.context("cannot flush subscriptions to NATS")?;
    if let Some(path) = &config.ready_file {
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write ready file {}", path.display()))?;
    }
    tracing::info!(host = %host, lattice = %lattice_name, reuse = config.reuse, max_concurrent, "host ready");

    tokio::select! {
        _ = shutdown => tracing::info!("shutting down"),
        Some(done) = tasks.join_next() => {
            // Every task runs forever; one ending early is a bug worth seeing.
            tracing::error!("a host task ended unexpectedly: {done:?}");
        }
    }
    if let Some(path) = &config.ready_file {
        let _ = std::fs::remove_file(path);
    }
    tasks.abort_all();
    let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
    if otel.enabled() {
        // The last batch of spans, metrics and logs goes out before we exit.
        let flush = tokio::task::spawn_blocking(move || otel.shutdown());
        let _ = tokio::time::timeout(Duration::from_secs(5), flush).await;
    }
    Ok(())
}

/// Connect to NATS, retrying for a while: hosts may start before the server.
async fn connect(config: &Config, conn: Arc<ConnState>) -> Result<async_nats::Client> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match connect_options(config, conn.clone())
            .await?
            .connect(config.nats.as_str())
            .await
        {
            Ok(client) => {
                conn.connected.store(true, std::sync::atomic::Ordering::Relaxed);
                return Ok(client);
            }
            Err(e) if Instant::now() < deadline => {
                tracing::warn!("cannot reach NATS at {} yet ({e}); retrying", config.nats);
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot connect to NATS at {}", config.nats)),
        }
    }
}

async fn connect_options(config: &Config, conn: Arc<ConnState>) -> Result<async_nats::ConnectOptions> {
    let mut opts = match &config.nats_creds {
        Some(path) => async_nats::ConnectOptions::with_credentials_file(path.clone())
            .await
            .with_context(|| format!("cannot read NATS credentials {}", path.display()))?,
        None => async_nats::ConnectOptions::new(),
    };
    if let Some(token) = &config.nats_token {
        opts = opts.token(token.clone());
    }
    if let (Some(user), Some(pass)) = (&config.nats_user, &config.nats_password) {
        opts = opts.user_and_password(user.clone(), pass.clone());
    }
    if let Some(ca) = &config.nats_tls_ca {
        opts = opts.add_root_certificates(ca.clone()).require_tls(true);
    }
    Ok(opts
        .name(format!("lwc-host {}", config.host))
        // async-nats drops messages past a subscription's capacity: size it
        // for bursts, and count the drops (slow consumer events).
        .subscription_capacity(256 * 1024)
        .client_capacity(64 * 1024)
        .max_reconnects(None)
        .event_callback(move |event| {
            let conn = conn.clone();
            async move { conn.on_event(&event) }
        }))
}
