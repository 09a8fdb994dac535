//! One host of a process: [`start`] connects it to NATS, takes the control
//! plane's state, subscribes its components and starts its tasks;
//! [`Serving::until`] waits for a shutdown or a task that ends;
//! [`Serving::finish`] drains it (after a shutdown) and stops its tasks.
//! What every host of the process shares (the manifest, the engine and the
//! compiled components) is a [`Shared`].

use anyhow::{bail, Context, Result};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::manifest::{ComponentSpec, Manifest};
use crate::telemetry::ConnState;
use crate::{ctl, drain, http, invoke, lattice, load, node, otel, tasks, telemetry, wasm};

/// What the hosts of one process share.
pub struct Shared {
    pub config: Config,
    pub manifest: Manifest,
    pub lattice_name: String,
    pub rt: Arc<wasm::runtime::Runtime>,
}

impl Shared {
    /// Check the flags against the manifest, build the engine and compile
    /// (or load from the compile cache) each component the hosts run, once.
    pub fn new(config: Config) -> Result<Shared> {
        let manifest = Manifest::load(&config.manifest)?;
        let mut seen = std::collections::BTreeSet::new();
        for host in &config.hosts {
            if !manifest.hosts.contains_key(host) {
                bail!(
                    "host {host:?} is not in {} (hosts: {})",
                    config.manifest.display(),
                    manifest.hosts.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
            if !seen.insert(host) {
                bail!("--host {host} is given twice: one process runs a host once");
            }
        }
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
        // An API beyond loopback without its token fails here, before NATS.
        let mine: Vec<&ComponentSpec> = config.hosts.iter().flat_map(|h| manifest.components_on(h)).collect();
        for addr in mine.iter().filter_map(|c| c.http) {
            http::required_token(config.http.unwrap_or(addr), config.api_token.as_deref())?;
        }
        // One pool for the process, sized for every host in it.
        let instances: usize = config.hosts.iter().map(|h| (max_concurrent(&config, &manifest, h) * 2 + 64) * components(&manifest, h)).sum();
        let limits = wasm::runtime::Limits {
            max_memory: (config.max_memory_mb as usize) << 20,
            deadline: Duration::from_millis(config.deadline_ms),
            max_instances: instances.min(MAX_POOLED_INSTANCES) as u32,
        };
        let mut rt = wasm::runtime::Runtime::new(limits, config.guest_threads())?;
        if let Some(dir) = &config.compile_cache {
            rt.use_compile_cache(dir)?;
        }
        for spec in &mine {
            rt.component(&spec.wasm)?;
        }
        if let Some(cache) = rt.compile_cache() {
            use std::sync::atomic::Ordering::Relaxed;
            let (hits, misses) = (cache.hits.load(Relaxed), cache.misses.load(Relaxed));
            tracing::info!(dir = %cache.dir().display(), hits, misses, "compile cache");
        }
        Ok(Shared { config, manifest, lattice_name, rt: Arc::new(rt) })
    }
}

/// A cap on the shared pool: each instance reserves address space for its
/// memories (4 GiB and a guard each), and a process has 128 TiB. Far more
/// than run at once (a host runs at most --max-concurrent per component).
const MAX_POOLED_INSTANCES: usize = 8192;

fn max_concurrent(config: &Config, manifest: &Manifest, host: &str) -> usize {
    config
        .max_concurrent
        .map(|n| n as usize)
        .or(manifest.hosts.get(host).and_then(|h| h.max_concurrent))
        .unwrap_or(64)
}

fn components(manifest: &Manifest, host: &str) -> usize {
    manifest.components_on(host).count().max(1)
}

/// A host that serves.
pub struct Serving {
    pub host: Arc<str>,
    /// The HTTP listeners it bound.
    pub bound: Vec<SocketAddr>,
    // `tasks` run until the host exits; `serving` (receivers, dispatchers)
    // and `ingress` (HTTP listeners) until it drains.
    tasks: tasks::Tasks,
    serving: tasks::Tasks,
    ingress: tasks::Tasks,
    stop: tokio::sync::watch::Sender<bool>,
    node: Arc<node::Node>,
    conn: Arc<ConnState>,
    client: async_nats::Client,
    otel: Arc<otel::Otel>,
    injects: bool,
}

/// Start host `name` of `shared`. `drops`: in a process of several hosts,
/// where the host's drop listener (see [`crate::dropping`]) asks to be
/// dropped.
pub async fn start(shared: &Shared, name: &str, drops: Option<crate::dropping::DropTx>) -> Result<Serving> {
    let (config, manifest, lattice_name, rt) = (&shared.config, &shared.manifest, shared.lattice_name.as_str(), &shared.rt);
    let host: Arc<str> = Arc::from(name);
    let mine: Vec<ComponentSpec> = manifest.components_on(name).cloned().collect();
    let max_concurrent = max_concurrent(config, manifest, name);
    let queue_len = config.queue.map(|n| n as usize).or(manifest.hosts.get(name).and_then(|h| h.queue)).unwrap_or(4096);

    let component_names = manifest.components.keys().map(|n| Arc::from(n.as_str())).collect();
    // Checked before connecting: a bad OTEL_* variable fails the start.
    let otel = Arc::new(otel::Otel::from_env(&host, component_names)?);
    let conn = Arc::new(ConnState::default());
    let client = connect(config, name, conn.clone()).await?;
    let policy = lattice::HopPolicy {
        timeout: config.hop_timeout(),
        retries: config.hop_retries,
        finish_timeout: Duration::from_millis(config.finish_timeout_ms),
        fates: fate_route(manifest, &mine),
        ..Default::default()
    };
    let link_conn = conn.clone();
    let link: lattice::LinkProbe = Box::new(move || {
        use std::sync::atomic::Ordering::Relaxed;
        (link_conn.connected.load(Relaxed), link_conn.disconnects.load(Relaxed))
    });
    let node::Parts { ledger, lattice, acks_rx, chaos, ctl, node } =
        node::wire(host.clone(), client.clone(), manifest, lattice_name, otel.clone(), policy, link);
    conn.attach(ledger.clone());

    let mut tasks = tasks::Tasks::new(config.test_fail_task.clone());
    let mut serving = tasks::Tasks::new(config.test_fail_task.clone());
    let mut ingress = tasks::Tasks::new(config.test_fail_task.clone());
    let (stop, stopped) = drain::Stop::pair();
    // Control plane first: a late joiner takes the links and chaos in force
    // before it serves a single hop.
    tasks.spawn("control-plane listener", ctl.clone().run_listener(ctl::subscribe(&client, lattice_name).await?));
    ctl.sync().await.context("cannot fetch the control-plane state")?;
    let injects = mine.iter().any(|c| c.http.is_some());
    if injects {
        let hb = client
            .subscribe(format!("lwc.{lattice_name}.hosts.*.heartbeat"))
            .await
            .context("cannot watch heartbeats")?;
        let events = client
            .subscribe(lwc_wire::subjects::packet_events(lattice_name))
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
            let component = Arc::new(invoke::ProbeComponent::new(wasm::imports::GuestHandles::new(&node, name.clone()), pre, config.reuse));
            let subject = lwc_wire::subjects::rpc(lattice_name, &spec.name);
            // A queue group: more hosts may serve the same component.
            let sub = client
                .queue_subscribe(subject.clone(), spec.name.clone())
                .await
                .with_context(|| format!("cannot subscribe to {subject}"))?;
            let (tx, rx) = tokio::sync::mpsc::channel(queue_len);
            let mut stop = stopped.clone();
            // With replicas, a hop runs only on its sender's word (see
            // `lattice::protocol::replicas`).
            let replicated = spec.hosts.len() > 1;
            let receiver = lattice::run_receiver(lattice.clone(), sub, tx, replicated, chaos.clone(), async move { stop.wait().await });
            serving.spawn(format!("receiver {}", spec.name), receiver);
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
    let health_subject = lwc_wire::subjects::health(lattice_name, &host);
    let health_sub = client.subscribe(health_subject).await.context("cannot subscribe to health")?;
    tasks.spawn("health", reporter.clone().run_health(health_sub));
    tasks.spawn("heartbeat", reporter.run_heartbeat());
    tasks.spawn("telemetry publisher", telemetry::run_publisher(node.clone()));
    if let Some(drops) = drops {
        let sub = crate::dropping::subscribe(&client, lattice_name, &host).await?;
        tasks.spawn("drop listener", crate::dropping::run_listener(client.clone(), host.clone(), sub, drops));
    }

    // Subscriptions reach the server before anyone is told we are ready.
    client.flush().await.context("cannot flush subscriptions to NATS")?;
    tracing::info!(host = %host, lattice = %lattice_name, reuse = config.reuse, max_concurrent, "host ready");
    Ok(Serving { host, bound, tasks, serving, ingress, stop, node, conn, client, otel, injects })
}

impl Serving {
    /// Until `shutdown` (None) or one of the host's tasks ends (its error).
    pub async fn until(&mut self, shutdown: impl Future<Output = ()>) -> Option<anyhow::Error> {
        tokio::select! {
            _ = shutdown => None,
            err = self.tasks.first_end() => Some(err),
            err = self.serving.first_end() => Some(err),
            err = self.ingress.first_end() => Some(err),
        }
    }

    /// Drain after a shutdown (`died` None), or not after a task died; then
    /// stop every task and flush what is left. Err: `died`, or a task that
    /// died while draining.
    pub async fn finish(mut self, config: &Config, died: Option<anyhow::Error>) -> Result<()> {
        let result = match died {
            Some(err) => Err(err),
            None => {
                self.ingress.abort_all();
                let bound = drain::bound(config.hop_timeout(), config.hop_retries, Duration::from_millis(config.finish_timeout_ms));
                let draining = drain(&self.host, self.stop, &mut self.serving, &self.node, &self.conn, self.injects, bound);
                tokio::select! {
                    () = draining => Ok(()),
                    err = self.tasks.first_end() => Err(err),
                }
            }
        };
        self.serving.abort_all();
        self.tasks.abort_all();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.client.flush()).await;
        if self.otel.enabled() {
            // The last batch of spans, metrics and logs goes out before we exit.
            let otel = self.otel;
            let flush = tokio::task::spawn_blocking(move || otel.shutdown());
            let _ = tokio::time::timeout(Duration::from_secs(5), flush).await;
        }
        result
    }
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
    // Batched acks go out the ack window after their first entry.
    tokio::time::sleep(node.lattice.policy().ack_window + ACK_FLUSH_SLACK).await;
    tracing::info!(host, "drained in {:?}", started.elapsed());
}

/// How much longer than the lattice's ack window the drain waits for the
/// acker's last batch.
const ACK_FLUSH_SLACK: Duration = Duration::from_millis(20);

/// Connect to NATS, retrying for a while: hosts may start before the server.
async fn connect(config: &Config, host: &str, conn: Arc<ConnState>) -> Result<async_nats::Client> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match connect_options(config, host, conn.clone())
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

async fn connect_options(config: &Config, host: &str, conn: Arc<ConnState>) -> Result<async_nats::ConnectOptions> {
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
        .name(format!("lwc-host {host}"))
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

/// Fates go through the control host (the component serving HTTP) when the
/// lattice has one; it witnesses them. Without one, straight to the stream.
fn fate_route(manifest: &Manifest, mine: &[ComponentSpec]) -> lattice::Fates {
    if mine.iter().any(|c| c.http.is_some()) {
        lattice::Fates::Witness
    } else if manifest.components.values().any(|c| c.http.is_some()) {
        lattice::Fates::ToWitness
    } else {
        lattice::Fates::Direct
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn config(extra: &[&str]) -> Config {
        let ring = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/ring.toml");
        let mut args = vec!["lwc-host", "--manifest", ring];
        args.extend_from_slice(extra);
        Config::try_parse_from(args).unwrap()
    }

    fn refusal(extra: &[&str]) -> String {
        format!("{:#}", Shared::new(config(extra)).err().expect("refused"))
    }

    #[test]
    fn hosts_must_be_the_manifest_s_and_given_once() {
        let err = refusal(&["--host", "north,nowhere"]);
        assert!(err.contains("host \"nowhere\" is not in") && err.contains("north, south"), "{err}");
        let err = refusal(&["--host", "north", "--host", "north"]);
        assert!(err.contains("--host north is given twice"), "{err}");
    }

    #[test]
    fn hosts_of_one_process_share_one_compiled_probe() {
        let dir = std::env::temp_dir().join(format!("lwc-serve-test-{}", std::process::id()));
        let dir_arg = dir.to_str().unwrap();
        let shared = Shared::new(config(&["--host", "north,south,east", "--compile-cache", dir_arg])).unwrap();
        let cache = shared.rt.compile_cache().expect("a cache");
        use std::sync::atomic::Ordering::Relaxed;
        // Three hosts run the probe: compiled once, then shared.
        assert_eq!((cache.hits.load(Relaxed), cache.misses.load(Relaxed)), (0, 1));
        let again = Shared::new(config(&["--host", "west", "--compile-cache", dir_arg])).unwrap();
        let cache = again.rt.compile_cache().expect("a cache");
        assert_eq!((cache.hits.load(Relaxed), cache.misses.load(Relaxed)), (1, 0), "the next process loads it");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
