//! `lwc-host`: one host of the Large Wasm Collider.
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
//! - [`tasks`], [`drain`], [`ready`]: `run`'s wiring: named tasks, SIGTERM, the ready file
//! - [`http`], [`telemetry`], [`invoke`]: serving HTTP; heartbeat, health and the
//!   per-second histogram snapshot; running hops through probes and settling fates
//! - [`wasm`]: wasmtime: bindings, the guests' imports, the runtime
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
pub mod ready;
pub mod tasks;
pub mod telemetry;
pub mod wasm;

use anyhow::{bail, Context, Result};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::manifest::{ComponentSpec, Manifest};
use crate::telemetry::ConnState;

/// Run a host until `shutdown` resolves, then drain it (see [`drain`]) and
/// return Ok. Returns Err if it cannot start, or as soon as one of its tasks
/// ends (a host that would otherwise stay up deaf). Dropping the returned
/// future stops it at once, without draining (a second signal does so).
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
    // An API beyond loopback without its token fails here, before NATS.
    for addr in mine.iter().filter_map(|c| c.http) {
        http::required_token(config.http.unwrap_or(addr), config.api_token.as_deref())?;
    }

    let max_concurrent = config
        .max_concurrent
        .map(|n| n as usize)
        .or(host_spec.max_concurrent)
        .unwrap_or(64);
    let queue_len = config.queue.map(|n| n as usize).or(host_spec.queue).unwrap_or(4096);
    let limits = wasm::runtime::Limits {
        max_memory: (config.max_memory_mb as usize) << 20,
        deadline: Duration::from_millis(config.deadline_ms),
        max_instances: ((max_concurrent * 2 + 64) * mine.len().max(1)) as u32,
    };
    let rt = Arc::new(wasm::runtime::Runtime::new(limits, config.guest_threads())?);

    let component_names = manifest.components.keys().map(|n| Arc::from(n.as_str())).collect();
    // Checked before connecting: a bad OTEL_* variable fails the start.
    let otel = Arc::new(otel::Otel::from_env(&host, component_names)?);
    let conn = Arc::new(ConnState::default());
    let client = connect(&config, conn.clone()).await?;
    let policy = lattice::HopPolicy {
        timeout: config.hop_timeout(),
        retries: config.hop_retries,
        finish_timeout: Duration::from_millis(config.finish_timeout_ms),
        ..Default::default()
    };
    let link_conn = conn.clone();
    let link: lattice::LinkProbe = Box::new(move || {
        use std::sync::atomic::Ordering::Relaxed;
        (link_conn.connected.load(Relaxed), link_conn.disconnects.load(Relaxed))
    });
    let node::Parts { ledger, lattice, acks_rx, chaos, ctl, node } =
        node::wire(host.clone(), client.clone(), &manifest, &lattice_name, otel.clone(), policy, link);
    conn.attach(ledger.clone());

    // `tasks` run until the host exits; `serving` (receivers, dispatchers)
    // and `ingress` (HTTP listeners) until it drains.
    let mut tasks = tasks::Tasks::new(config.test_fail_task.clone());
    let mut serving = tasks::Tasks::new(config.test_fail_task.clone());
    let mut ingress = tasks::Tasks::new(config.test_fail_task.clone());
    let (stop, stopped) = drain::Stop::pair();
    // Control plane first: a late joiner takes the links and chaos in force
    // before it serves a single hop.
    tasks.spawn("control-plane listener", ctl.clone().run_listener(ctl::subscribe(&client, &lattice_name).await?));
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
        tasks.spawn("heartbeat watch", ctl.clone().run_heartbeat_watch(hb));
        // The control host witnesses every fate, so it can answer for a
        // packet whose last holder died right after publishing it.
        let witness = lattice.clone();
        tasks.spawn("ledger watch", ctl.clone().run_ledger_watch(events, move |packet| witness.fate_seen(packet)));
        tasks.spawn("ledger publisher", ctl.clone().run_ledger_publisher());
    }
    lattice::spawn_tasks(&lattice, acks_rx, tasks.raw()).await?;

    let mut bound = Vec::new();
    for spec in &mine {
        let name: Arc<str> = Arc::from(spec.name.as_str());
        if let Some(manifest_addr) = spec.http {
            let addr = config.http.unwrap_or(manifest_addr);
            let token = http::required_token(addr, config.api_token.as_deref())?;
            let pre = rt.load_http(&spec.wasm)?;
            let listener = http::HttpComponent::bind(addr).await?;
            let addr = listener.local_addr().with_context(|| format!("cannot read the address bound for {addr}"))?;
            let server = Arc::new(http::HttpComponent::new(name, pre, rt.clone(), node.clone(), token));
            ingress.spawn(format!("http {}", spec.name), server.serve(listener));
            tracing::info!(component = %spec.name, "serving HTTP on http://{addr}");
            bound.push(addr);
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
            let receiver = lattice::run_receiver(lattice.clone(), sub, tx, chaos.clone());
            serving.spawn(format!("receiver {}", spec.name), drain::until_stopped(stopped.clone(), receiver));
            let dispatcher = invoke::run_dispatcher(component, rt.clone(), node.clone(), rx, max_concurrent);
            serving.spawn(format!("dispatcher {}", spec.name), dispatcher);
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
    tasks.spawn("health", reporter.clone().run_health(health_sub));
    tasks.spawn("heartbeat", reporter.run_heartbeat());
    tasks.spawn("telemetry publisher", telemetry::run_publisher(node.clone()));

    // Subscriptions reach the server before anyone is told we are ready.
    client.flush().await.context("cannot flush subscriptions to NATS")?;
    if let Some(path) = &config.ready_file {
        ready::write(path, std::process::id(), &bound)?;
    }
    tracing::info!(host = %host, lattice = %lattice_name, reuse = config.reuse, max_concurrent, "host ready");

    let died = tokio::select! {
        _ = shutdown => None,
        err = tasks.first_end() => Some(err),
        err = serving.first_end() => Some(err),
        err = ingress.first_end() => Some(err),
    };
    if let Some(path) = &config.ready_file {
        ready::remove(path);
    }
    let result = match died {
        Some(err) => Err(err),
        None => {
            ingress.abort_all();
            let bound = drain::bound(config.hop_timeout(), config.hop_retries, Duration::from_millis(config.finish_timeout_ms));
            let draining = drain(&host, stop, &mut serving, &node, &conn, mine.iter().any(|c| c.http.is_some()), bound);
            tokio::select! {
                () = draining => Ok(()),
                err = tasks.first_end() => Err(err),
            }
        }
    };
    serving.abort_all();
    tasks.abort_all();
    let _ = tokio::time::timeout(Duration::from_secs(2), client.flush()).await;
    if otel.enabled() {
        // The last batch of spans, metrics and logs goes out before we exit.
        let flush = tokio::task::spawn_blocking(move || otel.shutdown());
        let _ = tokio::time::timeout(Duration::from_secs(5), flush).await;
    }
    result
}

/// Drain: stop taking hops (and new HTTP requests, and steady load), let
/// the dispatchers run and settle what they hold, wait until every hop
/// sent from here is passed on or settled, all within `bound`; then give
/// the acker time for its last batch.
async fn drain(
    host: &str,
    stop: tokio::sync::watch::Sender<bool>,
    serving: &mut tasks::Tasks,
    node: &Arc<node::Node>,
    conn: &ConnState,
    injects: bool,
    bound: Duration,
) {
    let started = tokio::time::Instant::now();
    let deadline = started + bound;
    tracing::info!(host, "draining: no new hops; finishing those taken (at most {bound:?})");
    stop.send_replace(true);
    if injects {
        load::slot_for(node).stop().await;
    }
    if tokio::time::timeout_at(deadline, serving.join_all()).await.is_err() {
        tracing::warn!(host, "invocations still running after {bound:?}: exiting without them");
    }
    let connected = || conn.connected.load(std::sync::atomic::Ordering::Relaxed);
    let pending = drain::settle(&node.lattice, deadline, connected).await;
    if pending > 0 {
        let why = if connected() { format!("after {bound:?}") } else { "with NATS away".to_string() };
        tracing::warn!(host, pending, "hops still awaiting their next holder {why}: exiting");
    }
    // Acks go out in batches a few milliseconds after their first entry.
    tokio::time::sleep(ACK_FLUSH_GRACE).await;
    tracing::info!(host, "drained in {:?}", started.elapsed());
}

/// Longer than the lattice's ack batch window (5 ms).
const ACK_FLUSH_GRACE: Duration = Duration::from_millis(25);

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
