//! The baseline: a raw NATS ring of four processes of this binary
//! (`--node i`), plain async-nats, no wasm, no acks. Each node forwards a
//! 16-byte message to the next one's subject, stamping its receive time in
//! it, so hops are timed receive to receive as in the lwc ring.

use anyhow::{bail, Context, Result};
use bytes::Bytes;
use futures::StreamExt;
use lwc_testkit::{Nats, Proc};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::figures::{new_hist, pct_us, record, CpuMeter, Figures, Timing};
use crate::IN_FLIGHT;

pub const RAW_NODES: usize = 4;

/// Data message: phase (u32 LE), 4 spare bytes, previous receive time (u64 LE ns, 0 = none).
fn data_msg(phase: u32, prev_ns: u64) -> Bytes {
    let mut b = Vec::with_capacity(16);
    b.extend_from_slice(&phase.to_le_bytes());
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&prev_ns.to_le_bytes());
    Bytes::from(b)
}

/// The nodes of one raw ring, driven over their control subjects.
struct Ring {
    client: async_nats::Client,
    prefix: String,
    nodes: Vec<Proc>,
}

impl Ring {
    async fn start(nats: &Nats, dir: &Path) -> Result<Ring> {
        let prefix = format!("bench.raw{}", std::process::id());
        let client = nats.client().await?;
        let mut ready = client.subscribe(format!("{prefix}.ready")).await?;
        client.flush().await?;
        let exe = std::env::current_exe()?;
        let mut nodes = Vec::new();
        for i in 0..RAW_NODES {
            let mut cmd = Command::new(&exe);
            cmd.args(["--node", &i.to_string(), "--url", &nats.url, "--token", &nats.token])
                .args(["--prefix", &prefix]);
            nodes.push(Proc::spawn(&format!("raw node {i}"), cmd, &dir.join(format!("raw-{i}.log")))?);
        }
        for _ in 0..RAW_NODES {
            tokio::time::timeout(Duration::from_secs(20), ready.next())
                .await
                .context("raw NATS nodes not ready")?;
        }
        Ok(Ring { client, prefix, nodes })
    }

    async fn ctl(&self, i: usize, cmd: &str) -> Result<Bytes> {
        let subject = format!("{}.ctl.{i}", self.prefix);
        let m = tokio::time::timeout(Duration::from_secs(10), self.client.request(subject, Bytes::from(cmd.to_string())))
            .await
            .context("node control timed out")??;
        Ok(m.payload)
    }

    async fn all(&self, cmd: &str) -> Result<()> {
        for i in 0..RAW_NODES {
            self.ctl(i, cmd).await?;
        }
        Ok(())
    }

    /// The sum of the nodes' hop counts and their merged histogram.
    async fn report(&self) -> Result<(u64, hdrhistogram::Histogram<u64>)> {
        let mut hops = 0;
        let mut hist = new_hist();
        for i in 0..RAW_NODES {
            let v: serde_json::Value = serde_json::from_slice(&self.ctl(i, "report").await?)?;
            hops += v["hops"].as_u64().unwrap_or(0);
            for pair in v["hist"].as_array().into_iter().flatten() {
                let (value, count) = (pair[0].as_u64().unwrap_or(0), pair[1].as_u64().unwrap_or(0));
                hist.record_n(value.max(1_000), count)?;
            }
        }
        Ok((hops, hist))
    }

    async fn send(&self, node: usize, phase: u32) -> Result<()> {
        self.client.publish(format!("{}.n{node}", self.prefix), data_msg(phase, 0)).await?;
        Ok(())
    }

    /// Ask the nodes to quit, give them a moment to, then kill what is left.
    async fn stop(mut self) {
        for i in 0..RAW_NODES {
            let _ = self.ctl(i, "quit").await;
        }
        for n in &mut self.nodes {
            let _ = n.wait_exit(Duration::from_secs(2));
        }
    }
}

/// Latency with one message in flight, then throughput and CPU per hop
/// with [`IN_FLIGHT`].
pub async fn measure(nats: &Nats, dir: &Path, timing: &Timing) -> Result<Figures> {
    let ring = Ring::start(nats, dir).await?;
    let mut figures = Figures::default();

    // Phase 1: one message in flight.
    ring.all("phase 1").await?;
    ring.send(0, 1).await?;
    ring.client.flush().await?;
    tokio::time::sleep(timing.nats_latency).await;
    let (_, hist) = ring.report().await?;
    figures.p50_us = pct_us(&hist, 0.50);
    figures.p99_us = pct_us(&hist, 0.99);
    figures.samples = hist.len();

    // Phase 2: 64 in flight (the phase-1 message is dropped by the nodes).
    ring.all("phase 2").await?;
    for k in 0..IN_FLIGHT {
        ring.send(k % RAW_NODES, 2).await?;
    }
    ring.client.flush().await?;
    tokio::time::sleep(timing.warmup).await;
    let mut pids: Vec<u32> = ring.nodes.iter().filter_map(Proc::pid).collect();
    pids.extend(nats.pid());
    let cpu = CpuMeter::start(pids)?;
    let t0 = Instant::now();
    let (h0, _) = ring.report().await?;
    tokio::time::sleep(timing.window).await;
    let (h1, _) = ring.report().await?;
    figures.hops_per_s = (h1 - h0) as f64 / t0.elapsed().as_secs_f64();
    figures.cpu_us_per_hop = cpu.us_per_hop(figures.hops_per_s)?;

    ring.stop().await;
    if figures.samples < 10 {
        bail!("raw NATS ring recorded only {} hops", figures.samples);
    }
    Ok(figures)
}

/// One raw NATS ring node: forward every message of the current phase to
/// the next node, recording receive-to-receive hop times.
pub async fn node(i: usize, url: String, token: String, prefix: String) -> Result<()> {
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
