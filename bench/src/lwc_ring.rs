//! The five-host lwc ring of `scripts/ring.toml`, on a lattice and HTTP
//! port of its own: hop latency from one traced packet, then throughput
//! and CPU per hop with [`IN_FLIGHT`] packets. [`measure_ring`] measures
//! any started ring the same way (the generated rings of `--size` too).

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use lwc_testkit::{HostCmd, Nats, Proc};
use lwc_wire::events::PacketEvent;
use lwc_wire::status::Heartbeat;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::figures::{new_hist, pct_us, record, CpuMeter, Figures, Timing};
use crate::IN_FLIGHT;

const HOSTS: [&str; 5] = ["north", "south", "east", "west", "control"];

/// How one ring is set up: its lattice, extra host flags and environment.
pub struct Setup<'a> {
    pub lattice: &'a str,
    pub host_args: &'a [String],
    pub env: &'a [(String, String)],
}

impl<'a> Setup<'a> {
    pub fn new(lattice: &'a str, host_args: &'a [String], env: &'a [(String, String)]) -> Setup<'a> {
        Setup { lattice, host_args, env }
    }
}

/// A started ring: its control URL and its host processes.
pub struct Ring {
    pub http: String,
    pub hosts: Vec<Proc>,
}

impl Ring {
    fn start(nats: &Nats, root: &Path, dir: &Path, setup: &Setup) -> Result<Ring> {
        let lattice = setup.lattice;
        let http_plan = lwc_testkit::host::http_plan()?;
        let http_port = http_plan.manifest_port();
        let manifest_text = std::fs::read_to_string(root.join("scripts/ring.toml"))
            .context("scripts/ring.toml")?
            .replace("\"../target/", &format!("\"{}/target/", root.display()))
            .replace("127.0.0.1:30000", &format!("127.0.0.1:{http_port}"))
            .replace("name = \"default\"", &format!("name = \"{lattice}\""));
        let manifest = dir.join(format!("{lattice}.toml"));
        std::fs::write(&manifest, manifest_text)?;
        let cmd = HostCmd::new(&root.join("target/release/lwc-host"), &manifest, &nats.url, &nats.token)
            .args(http_plan.host_args())
            .args(setup.host_args)
            // Extra flags for every host, to compare settings (as ring.sh).
            .args(std::env::var("LWC_HOST_ARGS").unwrap_or_default().split_whitespace())
            .envs(setup.env.iter().map(|(k, v)| (k, v)))
            .rust_log("warn");
        let ready = |host: &str| dir.join(format!("{lattice}-{host}.ready"));
        let mut hosts = Vec::new();
        for host in HOSTS {
            let log = dir.join(format!("{lattice}-{host}.log"));
            hosts.push(cmd.clone().host(host).spawn(host, &ready(host), &log)?);
        }
        let mut http = http_plan.url();
        for p in &mut hosts {
            let file = ready(&p.name);
            if let Some(addr) = lwc_testkit::host::wait_ready(p, &file, Duration::from_secs(120), false)?.http {
                http = format!("http://{addr}");
            }
        }
        Ok(Ring { http, hosts })
    }
}

pub async fn measure(nats: &Nats, root: &Path, dir: &Path, setup: &Setup<'_>, timing: &Timing) -> Result<Figures> {
    let ring = Ring::start(nats, root, dir, setup)?;
    measure_ring(nats, &ring, setup.lattice, 4, timing).await
}

/// Latency, then throughput and CPU per hop of `ring`, which must hear
/// heartbeats from at least `min_beating` hosts in the window.
pub async fn measure_ring(nats: &Nats, ring: &Ring, lattice: &str, min_beating: usize, timing: &Timing) -> Result<Figures> {
    let client = nats.client().await?;
    let mut figures = latency(&client, ring, lattice, timing).await?;
    let pids = ring_pids(nats, ring);
    (figures.hops_per_s, figures.cpu_us_per_hop) = throughput(&client, ring, lattice, &pids, min_beating, timing).await?;
    Ok(figures)
}

/// Every process of the ring: its hosts and nats-server.
pub fn ring_pids(nats: &Nats, ring: &Ring) -> Vec<u32> {
    let mut pids: Vec<u32> = ring.hosts.iter().filter_map(Proc::pid).collect();
    pids.extend(nats.pid());
    pids
}

/// One traced packet: a hop is the difference of consecutive `recv_ns`.
async fn latency(client: &async_nats::Client, ring: &Ring, lattice: &str, timing: &Timing) -> Result<Figures> {
    let mut events = client.subscribe(lwc_wire::subjects::packet_events(lattice)).await?;
    client.flush().await?;
    post(&ring.http, &format!("{{\"ttl\":{},\"trace\":true}}", timing.ttl)).await?;
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
    Ok(Figures {
        p50_us: pct_us(&hist, 0.50),
        p99_us: pct_us(&hist, 0.99),
        samples: hist.len(),
        transit_p50_us: pct_us(&transit, 0.50),
        invoke_p50_us: pct_us(&invoke, 0.50),
        ..Figures::default()
    })
}

/// [`IN_FLIGHT`] packets: invocations/s from the heartbeats'
/// `counters.invocations`, and CPU µs per hop of `pids` meanwhile.
async fn throughput(
    client: &async_nats::Client,
    ring: &Ring,
    lattice: &str,
    pids: &[u32],
    min_beating: usize,
    timing: &Timing,
) -> Result<(f64, f64)> {
    let mut beats = client.subscribe(lwc_wire::subjects::heartbeat(lattice, "*")).await?;
    client.flush().await?;
    post(&ring.http, &format!("{{\"ttl\":1000000,\"count\":{IN_FLIGHT}}}")).await?;
    tokio::time::sleep(timing.warmup).await;
    // Drop heartbeats queued during the warm-up.
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(1), beats.next()).await {}
    let cpu = CpuMeter::start(pids.to_vec())?;
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
    if first.len() < min_beating {
        bail!("heartbeats from only {} hosts", first.len());
    }
    let mut rate = 0.0;
    for (host, (t0, n0)) in &first {
        let (t1, n1) = last[host];
        if t1 > *t0 {
            rate += (n1 - n0) as f64 / ((t1 - t0) as f64 / 1e9);
        }
    }
    Ok((rate, cpu.us_per_hop(rate)?))
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
