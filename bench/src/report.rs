//! The table, the aims line and, with `--json`, one JSON line.

use crate::figures::{Figures, Timing};
use crate::raw_ring::RAW_NODES;
use crate::sizes::SizeFigures;
use crate::{IN_FLIGHT, REUSE};

/// Every figure of one run.
pub struct Results {
    pub fresh: Figures,
    pub reuse: Figures,
    pub raw: Figures,
    /// Fresh instances, OTLP export on (default sampling: traced packets).
    pub otlp: Figures,
    /// Fresh instances, OTLP export on, every packet traced.
    pub otlp_all: Figures,
    /// Export requests the sink took during the OTLP runs.
    pub otlp_requests: u64,
    /// `--size`: one generated ring per size, in the order asked.
    pub sizes: Vec<SizeFigures>,
    /// `--size`: start-up of the process that filled the compile cache.
    pub cold_start_ms: f64,
}

pub fn print(quick: bool, json: bool, timing: &Timing, results: &Results) {
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    println!(
        "lwc benchmark: {} cores, {} run (lwc latency: 1 traced packet, ttl {}; raw NATS latency: {:?}; \
         throughput and CPU: {IN_FLIGHT} in flight, {:?} warm-up + {:?} window)",
        nproc,
        if quick { "quick" } else { "full" },
        timing.ttl,
        timing.nats_latency,
        timing.warmup,
        timing.window,
    );
    println!();
    main_table(results);
    println!();
    let Results { fresh, reuse, .. } = results;
    println!(
        "where an lwc hop goes (p50 over the traced packet's hops): fresh: lattice {:.0} µs (sender's forward → receipt) \
         + invocation {:.0} µs (instantiate + run); reuse: lattice {:.0} µs + invocation {:.0} µs",
        fresh.transit_p50_us, fresh.invoke_p50_us, reuse.transit_p50_us, reuse.invoke_p50_us
    );
    println!("CPU µs/hop: user + system time of every process of the ring (hosts or raw nodes, and nats-server) over the throughput window, from /proc, divided by the hops in it.");
    println!();
    otel_table(results);
    println!();
    if !results.sizes.is_empty() {
        sizes_table(results);
        println!();
    }
    aims(results);
    sizes_aims(results);
    if json {
        println!("{}", to_json(quick, nproc, results));
    }
}

fn main_table(results: &Results) {
    let Results { fresh, reuse, raw, .. } = results;
    println!(
        "| {:<28} | {:>11} | {:>11} | {:>9} | {:>10} | {:>10} | {:>10} | {:>13} |",
        "what", "hop p50 µs", "hop p99 µs", "samples", "hops/s", "CPU µs/hop", "p50 ÷ NATS", "hops/s ÷ NATS"
    );
    let dashes = |n: usize| "-".repeat(n);
    println!(
        "|{}|{}:|{}:|{}:|{}:|{}:|{}:|{}:|",
        dashes(30),
        dashes(12),
        dashes(12),
        dashes(10),
        dashes(11),
        dashes(11),
        dashes(11),
        dashes(14)
    );
    let row = |name: &str, f: &Figures| {
        println!(
            "| {:<28} | {:>11.1} | {:>11.1} | {:>9} | {:>10.0} | {:>10.1} | {:>10.2} | {:>13.2} |",
            name,
            f.p50_us,
            f.p99_us,
            f.samples,
            f.hops_per_s,
            f.cpu_us_per_hop,
            f.p50_us / raw.p50_us,
            f.hops_per_s / raw.hops_per_s,
        )
    };
    row("lwc ring, fresh instances", fresh);
    row(&format!("lwc ring, --reuse {REUSE}"), reuse);
    row(&format!("raw NATS ring, {RAW_NODES} processes"), raw);
}

fn otel_table(results: &Results) {
    let Results {
        fresh,
        otlp,
        otlp_all,
        otlp_requests,
        ..
    } = results;
    println!("OpenTelemetry export on (fresh instances, OTLP/HTTP to a sink in the benchmark, metrics every 1 s; {otlp_requests} export requests received):");
    println!();
    println!(
        "| {:<52} | {:>11} | {:>10} | {:>10} | {:>22} |",
        "what", "hop p50 µs", "hops/s", "CPU µs/hop", "hops/s ÷ without OTLP"
    );
    println!("|{}|{}:|{}:|{}:|{}:|", "-".repeat(54), "-".repeat(12), "-".repeat(11), "-".repeat(11), "-".repeat(23));
    let row = |name: &str, f: &Figures| {
        println!(
            "| {:<52} | {:>11.1} | {:>10.0} | {:>10.1} | {:>22.2} |",
            name,
            f.p50_us,
            f.hops_per_s,
            f.cpu_us_per_hop,
            f.hops_per_s / fresh.hops_per_s
        )
    };
    row("default sampling (traced packets only)", otlp);
    row("every packet traced (OTEL_TRACES_SAMPLER=always_on)", otlp_all);
}

fn sizes_table(results: &Results) {
    let Results {
        fresh,
        sizes,
        cold_start_ms,
        ..
    } = results;
    println!(
        "generated rings (`lwc up --size N`: N probe hosts + control, up to {} hosts per lwc-host process, control alone; \
         fresh instances; ratios to the five-host ring above; one compile cache, filled first: {:.0} ms cold):",
        lwc_cli::pack::DEFAULT_PER_SIZED_RING,
        cold_start_ms
    );
    println!();
    println!(
        "| {:>5} | {:>9} | {:>11} | {:>11} | {:>10} | {:>10} | {:>8} | {:>10} | {:>8} | {:>11} | {:>10} |",
        "size",
        "processes",
        "start-up ms",
        "hop p50 µs",
        "hops/s",
        "CPU µs/hop",
        "RSS MB",
        "idle CPU %",
        "p50 ÷ 5",
        "hops/s ÷ 5",
        "CPU ÷ 5"
    );
    let d = |n: usize| "-".repeat(n);
    println!(
        "|{}:|{}:|{}:|{}:|{}:|{}:|{}:|{}:|{}:|{}:|{}:|",
        d(6),
        d(10),
        d(12),
        d(12),
        d(11),
        d(11),
        d(9),
        d(11),
        d(9),
        d(12),
        d(11)
    );
    for s in sizes {
        let f = &s.figures;
        println!(
            "| {:>5} | {:>9} | {:>11.0} | {:>11.1} | {:>10.0} | {:>10.1} | {:>8.0} | {:>10.0} | {:>8.2} | {:>11.2} | {:>10.2} |",
            s.size,
            s.processes,
            s.startup_ms,
            f.p50_us,
            f.hops_per_s,
            f.cpu_us_per_hop,
            s.rss_mb,
            s.idle_cpu_pct,
            f.p50_us / fresh.p50_us,
            f.hops_per_s / fresh.hops_per_s,
            f.cpu_us_per_hop / fresh.cpu_us_per_hop,
        );
    }
    println!(
        "RSS: VmRSS of the ring's lwc-host processes and nats-server (shared by every ring of the run) after the throughput window. \
         idle CPU: the same processes with no packet in flight, % of one core, 3 s after start-up, before the latency run."
    );
}

/// Issue 15's aims, for a ring of 200 when one was measured.
fn sizes_aims(results: &Results) {
    let Some(s) = results.sizes.iter().find(|s| s.size == 200) else {
        return;
    };
    let fresh = &results.fresh;
    let aim = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "aims at 200 hosts: up within 30 s {} ({:.1} s), RSS ≤ 2 GB {} ({:.0} MB); \
         hops/s ≥ 0.7× the five-host ring's {} ({:.2}×); hop p50 ≤ 1.3× {} ({:.2}×)",
        aim(s.startup_ms <= 30_000.0),
        s.startup_ms / 1e3,
        aim(s.rss_mb <= 2048.0),
        s.rss_mb,
        aim(s.figures.hops_per_s >= 0.7 * fresh.hops_per_s),
        s.figures.hops_per_s / fresh.hops_per_s,
        aim(s.figures.p50_us <= 1.3 * fresh.p50_us),
        s.figures.p50_us / fresh.p50_us,
    );
}

fn aims(results: &Results) {
    let Results {
        fresh, reuse, raw, otlp, ..
    } = results;
    let aim = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "aims: hop p50 ≤ 1.5× NATS fresh {} ({:.2}×), ≤ 1.25× reuse {} ({:.2}×); \
         hops/s ≥ 0.15× NATS fresh {} ({:.2}×), ≥ 0.5× reuse {} ({:.2}×); \
         CPU/hop ≤ 50 µs fresh {} ({:.1}), ≤ 16 µs reuse {} ({:.1}); \
         hop p99 ≤ 2.5× NATS fresh {} ({:.2}×), reuse {} ({:.2}×); \
         OTLP export costs ≤ 10% of throughput {} ({:.2}× the throughput without, default sampling)",
        aim(fresh.p50_us <= 1.5 * raw.p50_us),
        fresh.p50_us / raw.p50_us,
        aim(reuse.p50_us <= 1.25 * raw.p50_us),
        reuse.p50_us / raw.p50_us,
        aim(fresh.hops_per_s >= 0.15 * raw.hops_per_s),
        fresh.hops_per_s / raw.hops_per_s,
        aim(reuse.hops_per_s >= 0.5 * raw.hops_per_s),
        reuse.hops_per_s / raw.hops_per_s,
        aim(fresh.cpu_us_per_hop <= 50.0),
        fresh.cpu_us_per_hop,
        aim(reuse.cpu_us_per_hop <= 16.0),
        reuse.cpu_us_per_hop,
        aim(fresh.p99_us <= 2.5 * raw.p99_us),
        fresh.p99_us / raw.p99_us,
        aim(reuse.p99_us <= 2.5 * raw.p99_us),
        reuse.p99_us / raw.p99_us,
        aim(otlp.hops_per_s >= 0.9 * fresh.hops_per_s),
        otlp.hops_per_s / fresh.hops_per_s,
    );
}

fn to_json(quick: bool, nproc: usize, results: &Results) -> serde_json::Value {
    let Results {
        fresh,
        reuse,
        raw,
        otlp,
        otlp_all,
        sizes,
        ..
    } = results;
    let r1 = |x: f64| (x * 10.0).round() / 10.0;
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    serde_json::json!({
        "hop_p50_us": r1(fresh.p50_us),
        "hop_p99_us": r1(fresh.p99_us),
        "hops_per_s": fresh.hops_per_s.round(),
        "cpu_us_per_hop": r1(fresh.cpu_us_per_hop),
        "hop_lattice_p50_us": r1(fresh.transit_p50_us),
        "hop_invoke_p50_us": r1(fresh.invoke_p50_us),
        "nats_hop_p50_us": r1(raw.p50_us),
        "nats_hop_p99_us": r1(raw.p99_us),
        "nats_hops_per_s": raw.hops_per_s.round(),
        "nats_cpu_us_per_hop": r1(raw.cpu_us_per_hop),
        "reuse": {
            "hop_p50_us": r1(reuse.p50_us),
            "hop_p99_us": r1(reuse.p99_us),
            "hops_per_s": reuse.hops_per_s.round(),
            "cpu_us_per_hop": r1(reuse.cpu_us_per_hop),
            "hop_lattice_p50_us": r1(reuse.transit_p50_us),
            "hop_invoke_p50_us": r1(reuse.invoke_p50_us),
        },
        "otlp": {
            "hop_p50_us": r1(otlp.p50_us),
            "hops_per_s": otlp.hops_per_s.round(),
            "cpu_us_per_hop": r1(otlp.cpu_us_per_hop),
            "throughput_vs_off": r2(otlp.hops_per_s / fresh.hops_per_s),
            "all_traced_hops_per_s": otlp_all.hops_per_s.round(),
            "all_traced_cpu_us_per_hop": r1(otlp_all.cpu_us_per_hop),
            "all_traced_throughput_vs_off": r2(otlp_all.hops_per_s / fresh.hops_per_s),
        },
        "sizes": sizes.iter().map(|s| serde_json::json!({
            "size": s.size,
            "processes": s.processes,
            "hop_p50_us": r1(s.figures.p50_us),
            "hops_per_s": s.figures.hops_per_s.round(),
            "cpu_us_per_hop": r1(s.figures.cpu_us_per_hop),
            "rss_mb": r1(s.rss_mb),
            "startup_ms": s.startup_ms.round(),
            "idle_cpu_pct": r1(s.idle_cpu_pct),
        })).collect::<Vec<_>>(),
        "cores": nproc,
        "quick": quick,
    })
}
