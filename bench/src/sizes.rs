//! `--size 5,50,200`: generated rings as `lwc up --size N` starts them (N
//! probe hosts and control, the cli's own manifest generator and packing,
//! so 32 hosts per `lwc-host` process and control alone), measured like the
//! five-host ring, plus start-up time and total RSS.
//!
//! Every ring of the run shares one compile cache, made by the run and
//! filled once before the first ring (as after any earlier `lwc up`), so
//! start-up times are those of a warm cache; the cold start is reported
//! on its own.

use anyhow::{bail, Context, Result};
use lwc_testkit::{HostCmd, Nats, Proc};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::figures::{Figures, Timing};
use crate::lwc_ring::{self, Ring};

/// Ring sizes `--size` takes, as `lwc up --size`.
pub const MIN_SIZE: u32 = 2;
pub const MAX_SIZE: u32 = lwc_cli::generate::MAX_SIZE;

/// A generated ring may take this long to be ready.
const READY_WITHIN: Duration = Duration::from_secs(300);
/// Wait this long after every ready file before the idle CPU figure: a
/// ring of 200 keeps about one core busy for ~2 s after it (measured).
const SETTLE: Duration = Duration::from_secs(3);

/// The ring sizes of `--size LIST`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sizes(pub Vec<u32>);

/// clap's parser for `--size`: a comma list of sizes, each 2..=1000.
pub fn parse(list: &str) -> Result<Sizes, String> {
    let mut sizes = Vec::new();
    for word in list.split(',').map(str::trim) {
        let n: u32 = word
            .parse()
            .map_err(|_| format!("{word:?} is not a ring size (want a comma list of numbers, e.g. 5,50,200)"))?;
        if !(MIN_SIZE..=MAX_SIZE).contains(&n) {
            return Err(format!("ring size {n} is out of range: each size must be {MIN_SIZE}..={MAX_SIZE}"));
        }
        sizes.push(n);
    }
    Ok(Sizes(sizes))
}

/// What one generated ring measured.
#[derive(Clone, Copy, Debug, Default)]
pub struct SizeFigures {
    pub size: u32,
    /// `lwc-host` processes of the ring.
    pub processes: usize,
    pub figures: Figures,
    /// Sum of VmRSS of the ring's host processes and nats-server, after
    /// the throughput window.
    pub rss_mb: f64,
    /// From spawning the first process to every process's ready file.
    pub startup_ms: f64,
    /// CPU the ring's processes use with no packet in flight (heartbeats
    /// and the like), in % of one core, [`SETTLE`] after start-up: the
    /// part of CPU per hop that grows with hosts, not hops.
    pub idle_cpu_pct: f64,
}

/// Fill the compile cache `cache`: one process runs a ring of two, so it
/// compiles the probe and control components once. Returns its start-up
/// time (a cold cache).
pub fn prime_cache(nats: &Nats, root: &Path, dir: &Path, cache: &Path) -> Result<Duration> {
    std::fs::create_dir_all(cache).with_context(|| format!("cannot create {}", cache.display()))?;
    let lattice = "bench-size-prime";
    let (manifest, m) = write_manifest(root, dir, lattice, MIN_SIZE)?;
    let all: Vec<String> = m.hosts.keys().cloned().collect();
    let t0 = Instant::now();
    let (_ring, _) = start(nats, root, dir, lattice, &manifest, cache, &[all])?;
    Ok(t0.elapsed())
}

pub async fn measure(nats: &Nats, root: &Path, dir: &Path, cache: &Path, size: u32, timing: &Timing) -> Result<SizeFigures> {
    let lattice = format!("bench-size-{size}");
    let (manifest, m) = write_manifest(root, dir, &lattice, size)?;
    let hosts: Vec<String> = m.hosts.keys().cloned().collect();
    let groups = lwc_cli::pack::groups(&m, &hosts, lwc_cli::pack::DEFAULT_PER_SIZED_RING);
    let (ring, startup) = start(nats, root, dir, &lattice, &manifest, cache, &groups)?;
    eprintln!(
        "lwc-bench:   {} hosts in {} processes, ready in {:.1} s",
        hosts.len(),
        groups.len(),
        startup.as_secs_f64()
    );
    tokio::time::sleep(SETTLE).await;
    let idle_cpu_pct = idle_cpu_pct(&lwc_ring::ring_pids(nats, &ring), timing.warmup).await?;
    // Every probe host must beat in the window (control may be the one
    // that misses it, as on the five-host ring).
    let figures = lwc_ring::measure_ring(nats, &ring, &lattice, size as usize, timing).await?;
    let rss: u64 = lwc_ring::ring_pids(nats, &ring)
        .into_iter()
        .map(rss_bytes)
        .sum::<Result<u64>>()?;
    Ok(SizeFigures {
        size,
        processes: groups.len(),
        figures,
        rss_mb: rss as f64 / (1024.0 * 1024.0),
        startup_ms: startup.as_secs_f64() * 1e3,
        idle_cpu_pct,
    })
}

/// CPU time of `pids` over `window` with nothing injected, in % of a core.
async fn idle_cpu_pct(pids: &[u32], window: Duration) -> Result<f64> {
    let cpu0 = lwc_testkit::cpu::total_cpu_time(pids)?;
    let t0 = Instant::now();
    tokio::time::sleep(window).await;
    let cpu = lwc_testkit::cpu::total_cpu_time(pids)? - cpu0;
    Ok(100.0 * cpu.as_secs_f64() / t0.elapsed().as_secs_f64())
}

/// The manifest `lwc up --size N` writes, on a lattice of its own, parsed.
fn write_manifest(root: &Path, dir: &Path, lattice: &str, size: u32) -> Result<(std::path::PathBuf, lwc_manifest::Manifest)> {
    let text = lwc_cli::generate::manifest_text(size, lattice, &root.join("target/wasm32-wasip2/release"));
    let path = dir.join(format!("{lattice}.toml"));
    std::fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    let m = lwc_manifest::Manifest::parse(&text, dir).with_context(|| format!("generated manifest {}", path.display()))?;
    Ok((path, m))
}

/// Spawn a process per group, then wait until each is ready; the time is
/// from the first spawn to the last ready file.
fn start(
    nats: &Nats,
    root: &Path,
    dir: &Path,
    lattice: &str,
    manifest: &Path,
    cache: &Path,
    groups: &[Vec<String>],
) -> Result<(Ring, Duration)> {
    let cmd = HostCmd::new(&root.join("target/release/lwc-host"), manifest, &nats.url, &nats.token)
        .args(std::env::var("LWC_HOST_ARGS").unwrap_or_default().split_whitespace())
        .envs([("LWC_COMPILE_CACHE", cache.display().to_string())])
        .rust_log("warn");
    let ready = |name: &str| dir.join(format!("{lattice}-{name}.ready"));
    let t0 = Instant::now();
    let mut procs: Vec<Proc> = Vec::new();
    for group in groups {
        let name = log_name(group);
        let mut c = cmd.clone().host(&group.join(","));
        if group.iter().any(|h| h == "control") {
            // The control API on a port it picks and reports; the bench
            // never uses the manifest's 30000 (a ring.sh ring's).
            c = c.args(["--http", "127.0.0.1:0"]);
        }
        let log = dir.join(format!("{lattice}-{name}.log"));
        procs.push(c.spawn(&name, &ready(&name), &log)?);
    }
    let mut http = None;
    for p in &mut procs {
        let file = ready(&p.name);
        if let Some(addr) = lwc_testkit::host::wait_ready(p, &file, READY_WITHIN, false)?.http {
            http = Some(format!("http://{addr}"));
        }
    }
    let startup = t0.elapsed();
    let Some(http) = http else {
        bail!("no process of ring {lattice} reported an HTTP address");
    };
    Ok((Ring { http, hosts: procs }, startup))
}

/// `p001+7` for a process of p001 and seven more, as lwc names its logs.
fn log_name(group: &[String]) -> String {
    match group {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first}+{}", rest.len()),
        [] => "none".into(),
    }
}

/// Resident set size of `pid` (`VmRSS` of `/proc/<pid>/status`), bytes.
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    vm_rss(&text).with_context(|| format!("{path}: no VmRSS line in kB"))
}

fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb = line.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_comma_list_of_sizes() {
        assert_eq!(parse("5,50,200"), Ok(Sizes(vec![5, 50, 200])));
        assert_eq!(parse("2"), Ok(Sizes(vec![2])));
        assert_eq!(parse("1000, 3"), Ok(Sizes(vec![1000, 3])));
    }

    #[test]
    fn refuses_sizes_out_of_range_and_garbage_saying_why() {
        for bad in ["0", "1", "1001", "5,1"] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("out of range") && err.contains("2..=1000"), "{bad}: {err}");
        }
        for bad in ["", "five", "5,,50", "5;50", "-3", "50x"] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains("is not a ring size"), "{bad}: {err}");
        }
    }

    #[test]
    fn reads_vm_rss_in_bytes() {
        let status = "Name:\tlwc-host\nVmPeak:\t  999 kB\nVmRSS:\t   51200 kB\nThreads:\t9\n";
        assert_eq!(vm_rss(status), Some(51200 * 1024));
        assert_eq!(vm_rss("Name:\tx\n"), None);
        assert!(rss_bytes(std::process::id()).unwrap() > 0);
    }
}
