//! `lwc-bench`: the measuring half of `scripts/bench.sh`.
//!
//! One run, one nats-server of its own, on this machine:
//! - the five-host lwc ring with fresh instances (the default), then again
//!   with `--reuse 1000`: hop latency p50/p99 with one traced packet in
//!   flight (receive-to-receive time of consecutive hop events, so a hop
//!   includes the invocation), hops/s with 64 packets in flight (from the
//!   hosts' heartbeat `counters.invocations`), and CPU per hop meanwhile;
//! - a raw NATS ring as the baseline: four processes of this binary
//!   (`--node i`), each forwarding a small message to the next one's
//!   subject, the message carrying the previous receive time; the same
//!   figures;
//! - the fresh-instance ring again with OpenTelemetry export on, to an OTLP
//!   sink in this process: once with the default sampling (only traced
//!   packets make spans) and once with every packet traced;
//! - with `--size 5,50,200`, a generated ring of each size as `lwc up
//!   --size N` starts it (hosts packed into processes): the same figures,
//!   plus start-up time and total RSS.
//!
//! Latencies go into HdrHistograms; with one message in flight there is no
//! coordinated omission. CPU per hop is user + system time from
//! `/proc/<pid>/stat` of every process of the ring, nats-server included.
//! With `--json` the last line of output is one JSON object.
//!
//! Modules:
//! - [`figures`]: what a ring measures, the run's timing, histogram and CPU helpers
//! - [`lwc_ring`]: the five-host lwc ring (processes from `lwc-testkit`)
//! - [`raw_ring`]: the raw NATS ring and its `--node` mode
//! - [`otlp_sink`]: an OTLP/HTTP endpoint that counts and discards exports
//! - [`sizes`]: `--size`, generated rings of many hosts
//! - [`report`]: the table, the aims and the JSON line

mod figures;
mod lwc_ring;
mod otlp_sink;
mod raw_ring;
mod report;
mod sizes;

use anyhow::{bail, Context, Result};
use clap::Parser;
use lwc_testkit::Nats;
use std::path::{Path, PathBuf};

use figures::Timing;
use report::Results;

/// Packets in flight for the throughput and CPU figures.
pub const IN_FLIGHT: usize = 64;
/// `--reuse` of the second lwc ring.
pub const REUSE: u32 = 1000;

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
    /// Also measure generated rings of these sizes (comma list, each
    /// 2..=1000 probe hosts), packed as `lwc up --size N` packs them.
    #[arg(long, value_name = "LIST", value_parser = sizes::parse)]
    size: Option<sizes::Sizes>,

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
        Some(i) => rt.block_on(raw_ring::node(
            i,
            cli.url.context("--url")?,
            cli.token.context("--token")?,
            cli.prefix.context("--prefix")?,
        )),
        None => rt.block_on(bench(cli)),
    }
}

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
    let timing = Timing::new(cli.quick);
    let dir = std::env::temp_dir().join(format!("lwc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = run_all(&cli, &root, &dir, &timing).await;
    if result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("lwc-bench: logs kept in {}", dir.display());
    }
    report::print(cli.quick, cli.json, &timing, &result?);
    Ok(())
}

async fn run_all(cli: &Cli, root: &Path, dir: &Path, timing: &Timing) -> Result<Results> {
    let nats = Nats::start_bin(&cli.nats_server, dir)?;
    eprintln!("lwc-bench: nats-server at {}", nats.url);
    eprintln!("lwc-bench: raw NATS ring ({} processes) ...", raw_ring::RAW_NODES);
    let raw = raw_ring::measure(&nats, dir, timing).await.context("raw NATS ring")?;

    eprintln!("lwc-bench: lwc ring, fresh instances ...");
    let fresh = lwc_ring::measure(&nats, root, dir, &lwc_ring::Setup::new("bench-fresh", &[], &[]), timing)
        .await
        .context("lwc ring (fresh)")?;
    eprintln!("lwc-bench: lwc ring, --reuse {REUSE} ...");
    let reuse_args = ["--reuse".to_string(), REUSE.to_string()];
    let reuse = lwc_ring::measure(&nats, root, dir, &lwc_ring::Setup::new("bench-reuse", &reuse_args, &[]), timing)
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
    let otlp = lwc_ring::measure(&nats, root, dir, &lwc_ring::Setup::new("bench-otlp", &[], &env), timing)
        .await
        .context("lwc ring (OTLP)")?;
    eprintln!("lwc-bench: lwc ring, fresh instances, OTLP export on, every packet traced ...");
    env.push(("OTEL_TRACES_SAMPLER".to_string(), "always_on".to_string()));
    let otlp_all = lwc_ring::measure(&nats, root, dir, &lwc_ring::Setup::new("bench-otlp-all", &[], &env), timing)
        .await
        .context("lwc ring (OTLP, all traced)")?;
    let otlp_requests = sink.requests();
    if otlp_requests == 0 {
        bail!("the OTLP sink received nothing: export did not happen");
    }
    drop(sink);

    let mut sized = Vec::new();
    let mut cold_start_ms = 0.0;
    if let Some(sizes::Sizes(list)) = &cli.size {
        let cache = dir.join("compile-cache");
        eprintln!("lwc-bench: filling the compile cache {} ...", cache.display());
        cold_start_ms = sizes::prime_cache(&nats, root, dir, &cache).context("filling the compile cache")?.as_secs_f64() * 1e3;
        for &size in list {
            eprintln!("lwc-bench: generated ring of {size} probe hosts ...");
            sized.push(
                sizes::measure(&nats, root, dir, &cache, size, timing)
                    .await
                    .with_context(|| format!("generated ring of {size}"))?,
            );
        }
    }
    Ok(Results {
        fresh,
        reuse,
        raw,
        otlp,
        otlp_all,
        otlp_requests,
        sizes: sized,
        cold_start_ms,
    })
}
