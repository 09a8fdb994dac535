//! `lwc-bench`: the measuring half of `scripts/bench.sh`.
//!
//! One run, one nats-server of its own, on this machine:
//! - the five-host lwc ring with fresh instances (the default), then again
//!   with `--reuse 1000`: hop latency p50/p99 with one traced packet in
//!   flight (receive-to-receive time of consecutive hop events, so a hop
//!   includes the invocation), and hops/s with 64 packets in flight (from
//!   the hosts' heartbeat `counters.invocations`);
//! - a raw NATS ring as the baseline: four processes of this binary
//!   (`--node i`), each forwarding a small message to the next one's subject,
//!   the message carrying the previous receive time; the same two figures.
//!
//! - the fresh-instance ring again with OpenTelemetry export on, to an OTLP
//!   sink in this process: once with the default sampling (only traced
//!   packets make spans) and once with every packet traced, to put a number
//!   on what telemetry costs.
//!
//! Latencies go into HdrHistograms; with one message in flight there is no
//! coordinated omission. With `--json` the last line of output is one JSON
//! object.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use clap::Parser;
use futures::StreamExt;
use hdrhistogram::Histogram;
use lwc_wire::events::PacketEvent;
use lwc_wire::status::Heartbeat;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const HOSTS: [&str; 5] = ["north", "south", "east", "west", "control"];
const RAW_NODES: usize = 4;
const IN_FLIGHT: usize = 64;
const REUSE: u32 = 1000;

#[derive(Parser, Debug)]
#[command(about = "lwc ring vs raw NATS ring benchmark (run it through scripts/bench.sh)")]
struct Cli {
    /// A few seconds per figure (smoke run).
    #[arg(long)]
    quick: bool,
    /// Print one JSON object as the last line.
    #[arg(long)]
    json: bool,
    /// The nats-server binary.
    #[arg(long, default_value = "nats-server")]
    nats_server: PathBuf,
    /// Project root (default: found from this binary, target/release/lwc-bench).
    #[arg(long)]
    root: Option<PathBuf>,

    // ---- raw NATS ring node mode (spawned by the benchmark itself)
    #[arg(long, hide = true)]
    node: Option<usize>,
    #[arg(long, hide = true)]
    url: Option<String>,
    #[arg(long, hide = true)]
    token: Option<String>,
    #[arg(long, hide = true)]
    prefix: Option<String>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.node {
        Some(i) => rt.block_on(node(
            i,
            cli.url.context("--url")?,
            cli.token.context("--token")?,
            cli.prefix.context("--prefix")?,
        )),
        None => rt.block_on(bench(cli)),
    }
}

// ------------------------------------------------------------------ figures

#[derive(Clone, Copy, Debug, Default)]
struct Figures {
    p50_us: f64,
    p99_us: f64,
    /// Hops that went into the latency histogram.
    samples: u64,
    hops_per_s: f64,
    /// lwc only, p50 of the traced packet's hops: the lattice part (the
    /// sender's forward to our receipt) and the invocation (instantiate + run).
    transit_p50_us: f64,
    invoke_p50_us: f64,
}

fn new_hist() -> Histogram<u64> {
    // 1 µs .. 60 s in ns, 3 significant digits.
    Histogram::new_with_bounds(1_000, 60_000_000_000, 3).expect("histogram bounds")
}

fn record(h: &mut Histogram<u64>, ns: u64) {
    h.saturating_record(ns.max(1_000));
}

fn pct_us(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1_000.0
}

struct Timing {
    /// ttl of the traced packet for the lwc latency figure.
    ttl: u64,
    /// How long the raw NATS ring runs with one message in flight.
    nats_latency: Duration,
    warmup: Duration,
    window: Duration,
}

// ------------------------------------------------------------------ processes

/// A child process killed (and reaped) on drop.
struct Proc(Option<Child>);

impl Proc {
    fn kill(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
    fn running(&mut self) -> bool {
        matches!(self.0.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_port(port: u16, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("nothing listens on 127.0.0.1:{port} after {within:?}")
}

struct Nats {
    url: String,
    token: String,
    _proc: Proc,
}

impl Nats {
    fn start(bin: &Path, dir: &Path) -> Result<Nats> {
        let port = free_port()?;
        let token = format!("bench{}", lwc_wire::now_ns());
        let conf = dir.join("nats.conf");
        std::fs::write(&conf, format!("authorization {{ token: \"{token}\" }}\n"))?;
        let child = Command::new(bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-c"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("nats.log"))?)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let proc = Proc(Some(child));
        wait_port(port, Duration::from_secs(10))?;
        Ok(Nats {
            url: format!("nats://127.0.0.1:{port}"),
            token,
            _proc: proc,
        })
    }

    async fn client(&self) -> Result<async_nats::Client> {
        Ok(async_nats::ConnectOptions::new()
            .token(self.token.clone())
            .subscription_capacity(1 << 20)
            .connect(self.url.as_str())
            .await?)
    }
}

// ------------------------------------------------------------------ main run

async fn bench(cli: Cli) -> Result<()> {
    let root = match &cli.root {
        Some(r) => r.clone(),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .context("binary is not in <root>/target/release")?
            .to_path_buf(),
    };
    let timing = if cli.quick {
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
    };
    let dir = std::env::temp_dir().join(format!("lwc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_all(&cli, &root, &dir, &timing).await;
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("lwc-bench: logs kept in {}", dir.display());
    }
    print_report(&cli, &timing, &result?);
    Ok(())
}

/// Every figure of one run.
struct Results {
    fresh: Figures,
    reuse: Figures,
    raw: Figures,
    /// Fresh instances, OTLP export on (default sampling: traced packets).
    otlp: Figures,
    /// Fresh instances, OTLP export on, every packet traced.
    otlp_all: Figures,
    /// Export requests the sink took during the OTLP runs.
    otlp_requests: u64,
}

async fn run_all(cli: &Cli, root: &Path, dir: &Path, timing: &Timing) -> Result<Results> {
    let nats = Nats::start(&cli.nats_server, dir)?;
    eprintln!("lwc-bench: nats-server at {}", nats.url);
    eprintln!("lwc-bench: raw NATS ring ({RAW_NODES} processes) ...");
    let raw = raw_ring(&nats, timing).await.context("raw NATS ring")?;
    eprintln!("lwc-bench: lwc ring, fresh instances ...");
    let fresh = lwc_ring(&nats, root, dir, "bench-fresh", &[], &[], timing)
        .await
        .context("lwc ring (fresh)")?;
    eprintln!("lwc-bench: lwc ring, --reuse {REUSE} ...");
    let reuse_args = ["--reuse".to_string(), REUSE.to_string()];
    let reuse = lwc_ring(&nats, root, dir, "bench-reuse", &reuse_args, &[], timing)
        .await
        .context("lwc ring (--reuse)")?;

    let sink = otlp_sink::Sink::start().await?;
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".to_string(), sink.endpoint()),
        // Metrics every second rather than the SDK's 60 s: an upper bound
        // on what their export costs.
        ("OTEL_METRIC_EXPORT_INTERVAL".to_string(), "1000".to_string()),
    ];
    eprintln!("lwc-bench: lwc ring, fresh instances, OTLP export on ...");
    let otlp = lwc_ring(&nats, root, dir, "bench-otlp", &[], &env, timing)
        .await
        .context("lwc ring (OTLP)")?;
    eprintln!("lwc-bench: lwc ring, fresh instances, OTLP export on, every packet traced ...");
    env.push(("OTEL_TRACES_SAMPLER".to_string(), "always_on".to_string()));
    let otlp_all = lwc_ring(&nats, root, dir, "bench-otlp-all", &[], &env, timing)
        .await
        .context("lwc ring (OTLP, all traced)")?;
    let otlp_requests = sink.requests();
    if otlp_requests == 0 {
        bail!("the OTLP sink received nothing: export did not happen");
    }
    Ok(Results {
        fresh,
        reuse,
        raw,
        otlp,
        otlp_all,
        otlp_requests,
    })
}

// ------------------------------------------------------------------ lwc ring

async fn lwc_ring(
    nats: &Nats,
    root: &Path,
    dir: &Path,
    lattice: &str,
    host_args: &[String],
    env: &[(String, String)],
    timing: &Timing,
) -> Result<Figures> {
    let http_port = free_port()?;
    let http = format!("http://127.0.0.1:{http_port}");
    let manifest_text = std::fs::read_to_string(root.join("scripts/ring.toml"))
        .context("scripts/ring.toml")?
        .replace("\"../target/", &format!("\"{}/target/", root.display()))
        .replace("127.0.0.1:30000", &format!("127.0.0.1:{http_port}"))
        .replace("name = \"default\"", &format!("name = \"{lattice}\""));
    let manifest = dir.join(format!("{lattice}.toml"));
    std::fs::write(&manifest, manifest_text)?;
    let host_bin = root.join("target/release/lwc-host");

    let mut procs = Vec::new();
    for host in HOSTS {
        let ready = dir.join(format!("{lattice}-{host}.ready"));
        let _ = std::fs::remove_file(&ready);
        let mut cmd = Command::new(&host_bin);
        // Export only where this benchmark asks for it.
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("OTEL_") {
                cmd.env_remove(var);
            }
        }
        let child = cmd
            .arg("--manifest")
            .arg(&manifest)
            .args(["--host", host, "--ready-file"])
            .arg(&ready)
            .args(host_args)
            // Extra flags for every host, to compare settings (as ring.sh).
            .args(std::env::var("LWC_HOST_ARGS").unwrap_or_default().split_whitespace())
            .env("LWC_NATS_URL", &nats.url)
            .env("LWC_NATS_TOKEN", &nats.token)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{lattice}-{host}.log")))?)
            .spawn()
            .with_context(|| format!("cannot start {}", host_bin.display()))?;
        procs.push((host, ready, Proc(Some(child))));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for (host, ready, proc) in procs.iter_mut() {
        while !ready.exists() {
            if !proc.running() {
                bail!("host {host} exited (log in {})", dir.display());
            }
            if Instant::now() > deadline {
                bail!("host {host} not ready after 120 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    let client = nats.client().await?;
    let mut figures = Figures::default();

    // Latency: one traced packet, hop = difference of consecutive recv_ns.
    let mut events = client
        .subscribe(lwc_wire::subjects::packet_events(lattice))
        .await?;
    client.flush().await?;
    post(&http, &format!("{{\"ttl\":{},\"trace\":true}}", timing.ttl)).await?;
    let mut recv = Vec::with_capacity(timing.ttl as usize + 1);
    let (mut transit, mut invoke) = (new_hist(), new_hist());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30 + timing.ttl / 500);
    let mut ended = None;
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, events.next()).await {
        match serde_json::from_slice::<PacketEvent>(&msg.payload) {
            Ok(PacketEvent::Hop(h)) => {
                recv.push(h.recv_ns);
                record(&mut transit, h.latency_us * 1_000);
                record(&mut invoke, h.invoke_us * 1_000);
            }
            Ok(PacketEvent::Expired(e)) => {
                ended = Some(format!("expired after {} hops", e.hops));
                break;
            }
            Ok(PacketEvent::Lost(l)) => {
                ended = Some(format!("LOST after {} hops ({})", l.hops, l.reason));
                break;
            }
            _ => {}
        }
    }
    drop(events);
    // Hop events of the last hop may arrive just after `expired`: a moment more.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let ended = ended.unwrap_or_else(|| "no end event before the deadline".into());
    recv.sort_unstable();
    let mut hist = new_hist();
    for w in recv.windows(2) {
        record(&mut hist, w[1] - w[0]);
    }
    if hist.len() < 10 {
        bail!("traced packet gave only {} hop events ({ended})", recv.len());
    }
    eprintln!("lwc-bench:   traced packet: {} hop events, {ended}", recv.len());
    figures.p50_us = pct_us(&hist, 0.50);
    figures.p99_us = pct_us(&hist, 0.99);
    figures.samples = hist.len();
    figures.transit_p50_us = pct_us(&transit, 0.50);
    figures.invoke_p50_us = pct_us(&invoke, 0.50);

    // Throughput: 64 packets in flight, invocations/s from heartbeats.
    let mut beats = client
        .subscribe(format!("lwc.{lattice}.hosts.*.heartbeat"))
        .await?;
    client.flush().await?;
    post(&http, &format!("{{\"ttl\":1000000,\"count\":{IN_FLIGHT}}}")).await?;
    tokio::time::sleep(timing.warmup).await;
    // Drop heartbeats queued during the warm-up.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(1), beats.next()).await {}
    let mut first: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut last: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    // A heartbeat a second: one more second so the window is covered at both ends.
    let deadline = tokio::time::Instant::now() + timing.window + Duration::from_millis(1100);
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, beats.next()).await {
        if let Ok(hb) = serde_json::from_slice::<Heartbeat>(&msg.payload) {
            let v = (hb.at_ns, hb.counters.invocations);
            first.entry(hb.host.clone()).or_insert(v);
            last.insert(hb.host, v);
        }
    }
    let mut rate = 0.0;
    for (host, (t0, n0)) in &first {
        let (t1, n1) = last[host];
        if t1 > *t0 {
            rate += (n1 - n0) as f64 / ((t1 - t0) as f64 / 1e9);
        }
    }
    if first.len() < 4 {
        bail!("heartbeats from only {} hosts", first.len());
    }
    figures.hops_per_s = rate;
    drop(procs); // stop the ring
    Ok(figures)
}

async fn post(http: &str, body: &str) -> Result<()> {
    let url = format!("{http}/packets");
    let body = body.to_string();
    tokio::task::spawn_blocking(move || -> Result<()> {
        match ureq::post(&url)
            .set("content-type", "application/json")
            .timeout(Duration::from_secs(10))
            .send_string(&body)
        {
            Ok(_) => Ok(()),
            Err(ureq::Error::Status(code, r)) => {
                bail!("POST {url} {body}: {code} {}", r.into_string().unwrap_or_default())
            }
            Err(e) => bail!("POST {url}: {e}"),
        }
    })
    .await?
}

// ------------------------------------------------------------------ raw NATS ring

/// Data message: phase (u32 LE), 4 spare bytes, previous receive time (u64 LE ns, 0 = none).
fn data_msg(phase: u32, prev_ns: u64) -> Bytes {
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&phase.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&prev_ns.to_le_bytes());
    Bytes::from(b)
}

async fn raw_ring(nats: &Nats, timing: &Timing) -> Result<Figures> {
    let prefix = format!("bench.raw{}", std::process::id());
    let client = nats.client().await?;
    let mut ready = client.subscribe(format!("{prefix}.ready")).await?;
    client.flush().await?;
    let exe = std::env::current_exe()?;
    let mut nodes = Vec::new();
    for i in 0..RAW_NODES {
        let child = Command::new(&exe)
            .args(["--node", &i.to_string(), "--url", &nats.url, "--token", &nats.token])
            .args(["--prefix", &prefix])
            .stdout(Stdio::null())
            .spawn()?;
        nodes.push(Proc(Some(child)));
    }
    for _ in 0..RAW_NODES {
        tokio::time::timeout(Duration::from_secs(20), ready.next())
            .await
            .context("raw NATS nodes not ready")?;
    }
    let ctl = |i: usize, body: String| {
        let client = client.clone();
        let subject = format!("{prefix}.ctl.{i}");
        async move {
            let m = tokio::time::timeout(
                Duration::from_secs(10),
                client.request(subject, Bytes::from(body)),
            )
            .await
            .context("node control timed out")??;
            Ok::<_, anyhow::Error>(m.payload)
        }
    };
    // Returns the sum of the nodes' hop counts and their merged histogram.
    let report = || async {
        let mut hops = 0;
        let mut hist = new_hist();
        for i in 0..RAW_NODES {
            let v: serde_json::Value = serde_json::from_slice(&ctl(i, "report".into()).await?)?;
            hops += v["hops"].as_u64().unwrap_or(0);
            for pair in v["hist"].as_array().into_iter().flatten() {
                let (value, count) = (pair[0].as_u64().unwrap_or(0), pair[1].as_u64().unwrap_or(0));
                hist.record_n(value.max(1_000), count)?;
            }
        }
        Ok::<_, anyhow::Error>((hops, hist))
    };
    let mut figures = Figures::default();

    // Phase 1: one message in flight.
    for i in 0..RAW_NODES {
        ctl(i, "phase 1".into()).await?;
    }
    client.publish(format!("{prefix}.n0"), data_msg(1, 0)).await?;
    client.flush().await?;
    tokio::time::sleep(timing.nats_latency).await;
    let (_, hist) = report().await?;
    figures.p50_us = pct_us(&hist, 0.50);
    figures.p99_us = pct_us(&hist, 0.99);
    figures.samples = hist.len();

    // Phase 2: 64 in flight (the phase-1 message is dropped by the nodes).
    for i in 0..RAW_NODES {
        ctl(i, "phase 2".into()).await?;
    }
    for k in 0..IN_FLIGHT {
        client
            .publish(format!("{prefix}.n{}", k % RAW_NODES), data_msg(2, 0))
            .await?;
    }
    client.flush().await?;
    tokio::time::sleep(timing.warmup).await;
    let t0 = Instant::now();
    let (h0, _) = report().await?;
    tokio::time::sleep(timing.window).await;
    let (h1, _) = report().await?;
    let secs = t0.elapsed().as_secs_f64();
    figures.hops_per_s = (h1 - h0) as f64 / secs;

    for i in 0..RAW_NODES {
        let _ = ctl(i, "quit".into()).await;
    }
    for mut n in nodes {
        if let Some(c) = n.0.as_mut() {
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        n.kill();
    }
    if figures.samples < 10 {
        bail!("raw NATS ring recorded only {} hops", figures.samples);
    }
    Ok(figures)
}

/// One raw NATS ring node: forward every message of the current phase to
/// the next node, recording receive-to-receive hop times.
async fn node(i: usize, url: String, token: String, prefix: String) -> Result<()> {
    let client = async_nats::ConnectOptions::new()
        .token(token)
        .subscription_capacity(1 << 20)
        .connect(url.as_str())
        .await?;
    let mut data = client.subscribe(format!("{prefix}.n{i}")).await?;
    let mut ctl = client.subscribe(format!("{prefix}.ctl.{i}")).await?;
    let next = format!("{prefix}.n{}", (i + 1) % RAW_NODES);
    client.flush().await?;
    client.publish(format!("{prefix}.ready"), Bytes::new()).await?;
    client.flush().await?;
    let mut phase = 0u32;
    let mut hops = 0u64;
    let mut hist = new_hist();
    loop {
        tokio::select! {
            Some(msg) = data.next() => {
                let now = lwc_wire::now_ns();
                let p = &msg.payload;
                if p.len() != 16 { continue; }
                let mp = u32::from_le_bytes(p[0..4].try_into()?);
                if mp != phase || phase == 0 { continue; }
                let prev = u64::from_le_bytes(p[8..16].try_into()?);
                if prev != 0 && now > prev {
                    record(&mut hist, now - prev);
                }
                hops += 1;
                client.publish(next.clone(), data_msg(phase, now)).await?;
            }
            Some(msg) = ctl.next() => {
                let cmd = String::from_utf8_lossy(&msg.payload).to_string();
                let reply = if let Some(p) = cmd.strip_prefix("phase ") {
                    phase = p.trim().parse()?;
                    hops = 0;
                    hist.reset();
                    "ok".to_string()
                } else if cmd == "report" {
                    let pairs: Vec<[u64; 2]> = hist
                        .iter_recorded()
                        .map(|v| [v.value_iterated_to(), v.count_at_value()])
                        .collect();
                    serde_json::json!({ "hops": hops, "hist": pairs }).to_string()
                } else if cmd == "quit" {
                    if let Some(r) = msg.reply { client.publish(r, "ok".into()).await?; }
                    client.flush().await?;
                    return Ok(());
                } else {
                    format!("unknown command {cmd:?}")
                };
                if let Some(r) = msg.reply {
                    client.publish(r, reply.into()).await?;
                }
            }
            else => return Ok(()),
        }
    }
}

// ------------------------------------------------------------------ OTLP sink

mod otlp_sink {
    //! Takes OTLP/HTTP exports and throws them away (counting them), so the
    //! benchmark measures what exporting costs the hosts, not a collector.
    use anyhow::Result;
    use bytes::Bytes;
    use http_body_util::{BodyExt, Full};
    use hyper_util::rt::TokioIo;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;

    pub struct Sink {
        port: u16,
        requests: Arc<AtomicU64>,
        task: tokio::task::JoinHandle<()>,
    }

    impl Drop for Sink {
        fn drop(&mut self) {
            self.task.abort();
        }
    }

    impl Sink {
        pub async fn start() -> Result<Sink> {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let port = listener.local_addr()?.port();
            let requests = Arc::new(AtomicU64::new(0));
            let counter = requests.clone();
            let task = tokio::spawn(async move {
                while let Ok((conn, _)) = listener.accept().await {
                    let counter = counter.clone();
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                            let counter = counter.clone();
                            async move {
                                let _ = req.into_body().collect().await;
                                counter.fetch_add(1, Relaxed);
                                // An empty protobuf message is a valid export response.
                                Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(Bytes::new())))
                            }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(conn), service)
                            .await;
                    });
                }
            });
            Ok(Sink { port, requests, task })
        }

        pub fn endpoint(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }

        pub fn requests(&self) -> u64 {
            self.requests.load(Relaxed)
        }
    }
}

// ------------------------------------------------------------------ report

fn print_report(cli: &Cli, timing: &Timing, results: &Results) {
    let Results {
        fresh,
        reuse,
        raw,
        otlp,
        otlp_all,
        otlp_requests,
    } = results;
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    println!(
        "lwc benchmark: {} cores, {} run (lwc latency: 1 traced packet, ttl {}; raw NATS latency: {:?}; \
         throughput: {IN_FLIGHT} in flight, {:?} warm-up + {:?} window)",
        nproc,
        if cli.quick { "quick" } else { "full" },
        timing.ttl,
        timing.nats_latency,
        timing.warmup,
        timing.window,
    );
    println!();
    println!(
        "| {:<28} | {:>11} | {:>11} | {:>9} | {:>10} | {:>10} | {:>13} |",
        "what", "hop p50 µs", "hop p99 µs", "samples", "hops/s", "p50 ÷ NATS", "hops/s ÷ NATS"
    );
    println!("|{}|{}:|{}:|{}:|{}:|{}:|{}:|", "-".repeat(30), "-".repeat(12), "-".repeat(12), "-".repeat(10), "-".repeat(11), "-".repeat(11), "-".repeat(14));
    let row = |name: &str, f: &Figures| {
        println!(
            "| {:<28} | {:>11.1} | {:>11.1} | {:>9} | {:>10.0} | {:>10.2} | {:>13.2} |",
            name,
            f.p50_us,
            f.p99_us,
            f.samples,
            f.hops_per_s,
            f.p50_us / raw.p50_us,
            f.hops_per_s / raw.hops_per_s,
        )
    };
    row("lwc ring, fresh instances", fresh);
    row(&format!("lwc ring, --reuse {REUSE}"), reuse);
    row(&format!("raw NATS ring, {RAW_NODES} processes"), raw);
    println!();
    println!(
        "where an lwc hop goes (p50 over the traced packet's hops): fresh: lattice {:.0} µs (sender's forward → receipt) \
         + invocation {:.0} µs (instantiate + run); reuse: lattice {:.0} µs + invocation {:.0} µs",
        fresh.transit_p50_us, fresh.invoke_p50_us, reuse.transit_p50_us, reuse.invoke_p50_us
    );
    println!();
    println!("OpenTelemetry export on (fresh instances, OTLP/HTTP to a sink in the benchmark, metrics every 1 s; {otlp_requests} export requests received):");
    println!();
    println!("| {:<52} | {:>11} | {:>10} | {:>22} |", "what", "hop p50 µs", "hops/s", "hops/s ÷ without OTLP");
    println!("|{}|{}:|{}:|{}:|", "-".repeat(54), "-".repeat(12), "-".repeat(11), "-".repeat(23));
    let otel_row = |name: &str, f: &Figures| {
        println!("| {:<52} | {:>11.1} | {:>10.0} | {:>22.2} |", name, f.p50_us, f.hops_per_s, f.hops_per_s / fresh.hops_per_s)
    };
    otel_row("default sampling (traced packets only)", otlp);
    otel_row("every packet traced (OTEL_TRACES_SAMPLER=always_on)", otlp_all);
    println!();
    let aim = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "aims: hop p50 ≤ 1.5× NATS: fresh {} ({:.2}×), reuse {} ({:.2}×); \
         hops/s ≥ 0.15× NATS fresh {} ({:.2}×); ≥ 0.5× NATS reuse {} ({:.2}×); \
         OTLP export costs ≤ 10% of throughput {} ({:.2}× the throughput without, default sampling)",
        aim(fresh.p50_us <= 1.5 * raw.p50_us),
        fresh.p50_us / raw.p50_us,
        aim(reuse.p50_us <= 1.5 * raw.p50_us),
        reuse.p50_us / raw.p50_us,
        aim(fresh.hops_per_s >= 0.15 * raw.hops_per_s),
        fresh.hops_per_s / raw.hops_per_s,
        aim(reuse.hops_per_s >= 0.5 * raw.hops_per_s),
        reuse.hops_per_s / raw.hops_per_s,
        aim(otlp.hops_per_s >= 0.9 * fresh.hops_per_s),
        otlp.hops_per_s / fresh.hops_per_s,
    );
    if cli.json {
        let r1 = |x: f64| (x * 10.0).round() / 10.0;
        let j = serde_json::json!({
            "hop_p50_us": r1(fresh.p50_us),
            "hop_p99_us": r1(fresh.p99_us),
            "hops_per_s": fresh.hops_per_s.round(),
            "hop_lattice_p50_us": r1(fresh.transit_p50_us),
            "hop_invoke_p50_us": r1(fresh.invoke_p50_us),
            "nats_hop_p50_us": r1(raw.p50_us),
            "nats_hop_p99_us": r1(raw.p99_us),
            "nats_hops_per_s": raw.hops_per_s.round(),
            "reuse": {
                "hop_p50_us": r1(reuse.p50_us),
                "hop_p99_us": r1(reuse.p99_us),
                "hops_per_s": reuse.hops_per_s.round(),
                "hop_lattice_p50_us": r1(reuse.transit_p50_us),
                "hop_invoke_p50_us": r1(reuse.invoke_p50_us),
            },
            "otlp": {
                "hop_p50_us": r1(otlp.p50_us),
                "hops_per_s": otlp.hops_per_s.round(),
                "throughput_vs_off": (otlp.hops_per_s / fresh.hops_per_s * 100.0).round() / 100.0,
                "all_traced_hops_per_s": otlp_all.hops_per_s.round(),
                "all_traced_throughput_vs_off": (otlp_all.hops_per_s / fresh.hops_per_s * 100.0).round() / 100.0,
            },
            "cores": nproc,
            "quick": cli.quick,
        });
        println!("{j}");
    }
}
