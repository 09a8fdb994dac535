//! The command line: parse flags, load the file, find the ring, run, print
//! the ✓/✗ table, and map the outcome to the exit code.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::report::Report;
use crate::ring::RingArgs;
use crate::run::{Outcome, Unreachable};

/// Run an experiment file against the ring that is up.
#[derive(Debug, Parser)]
#[command(name = "lwc-lab", version)]
pub struct Args {
    /// The experiment file (TOML; see scenarios/ and README "Experiments").
    pub file: PathBuf,
    /// Where to write report.json and report.html [default:
    /// $LWC_DIR/experiments/<name>-<UTC time>/, LWC_DIR defaulting to .lwc].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only parse and check the file.
    #[arg(long)]
    pub check: bool,
    /// The ring's env file (LWC_NATS_URL, LWC_NATS_TOKEN, LWC_HTTP, LWC_LATTICE).
    #[arg(long, default_value = ".lwc/ring.env")]
    pub ring_env: PathBuf,
    /// NATS URL (else from the ring's env file).
    #[arg(long, env = "LWC_NATS_URL")]
    pub nats: Option<String>,
    #[arg(long, env = "LWC_NATS_TOKEN", hide_env_values = true)]
    pub nats_token: Option<String>,
    /// The control API, e.g. http://127.0.0.1:30000.
    #[arg(long, env = "LWC_HTTP")]
    pub http: Option<String>,
    #[arg(long, env = "LWC_LATTICE")]
    pub lattice: Option<String>,
    /// Run as `CMD --kill HOST`, `CMD --start HOST`, `CMD --restart-nats`.
    #[arg(long, env = "LWC_LAB_RING_CMD", default_value = "scripts/ring.sh")]
    pub ring_cmd: PathBuf,
}

pub fn main() -> ExitCode {
    let args = Args::parse();
    let file = args.file.display().to_string();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => return fail(2, &format!("cannot read {file}: {e}")),
    };
    let exp = match crate::spec::parse(&file, &text) {
        Ok(exp) => exp,
        Err(e) => return fail(2, &e.to_string()),
    };
    if args.check {
        eprintln!("{file}: ok");
        return ExitCode::SUCCESS;
    }
    let ring = RingArgs {
        nats_url: args.nats.clone(),
        nats_token: args.nats_token.clone(),
        http: args.http.clone(),
        lattice: args.lattice.clone(),
        env_file: args.ring_env.clone(),
        ring_cmd: args.ring_cmd.clone(),
    };
    let ring = match ring.resolve() {
        Ok(r) => r,
        Err(e) => return fail(2, &format!("{e:#}")),
    };
    let out = args.out.clone().unwrap_or_else(|| default_out(exp.name.get_ref(), lwc_wire::now_ns() / 1_000_000_000));
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => return fail(2, &format!("cannot start the runtime: {e}")),
    };
    match rt.block_on(crate::run::run(&exp, &file, &ring, &out)) {
        Ok((outcome, report)) => {
            print_table(&report);
            eprintln!("report: {}/report.html", out.display());
            match outcome {
                Outcome::Passed => ExitCode::SUCCESS,
                Outcome::Failed => ExitCode::from(1),
                Outcome::Aborted => ExitCode::from(2),
            }
        }
        Err(e) if e.is::<Unreachable>() => fail(2, &format!("cannot reach the ring: {e:#}")),
        Err(e) => fail(2, &format!("{e:#}")),
    }
}

/// `$LWC_DIR/experiments/<name>-<YYYYmmddTHHMMSSZ>`: the ring's state
/// directory (set by `lwc experiment`), else `.lwc` here.
fn default_out(name: &str, unix_s: u64) -> PathBuf {
    let dir = std::env::var_os("LWC_DIR").filter(|d| !d.is_empty()).map_or_else(|| PathBuf::from(".lwc"), PathBuf::from);
    dir.join("experiments").join(format!("{name}-{}", crate::time::stamp(unix_s)))
}

fn fail(code: u8, message: &str) -> ExitCode {
    eprintln!("lwc-lab: error: {message}");
    ExitCode::from(code)
}

/// The phases' figures and the expectations, ✓ or ✗.
fn print_table(report: &Report) {
    eprintln!();
    eprintln!("{:<14} {:>9} {:>8} {:>6} {:>9} {:>10} {:>10}", "phase", "injected", "expired", "lost", "in flight", "edge p99", "life p99");
    // "–" where nothing was measured (no hops, no packet expired).
    let ms = |count: u64, v: f64| if count == 0 { "–".to_string() } else { format!("{v:.2} ms") };
    for p in &report.phases {
        let p99 = p.edges.values().map(|e| e.p99_ms).fold(0.0, f64::max);
        let hops: u64 = p.edges.values().map(|e| e.count).sum();
        eprintln!(
            "{:<14} {:>9} {:>8} {:>6} {:>9} {:>10} {:>10}",
            p.name,
            p.injected,
            p.expired,
            p.lost.values().sum::<u64>(),
            p.in_flight,
            ms(hops, p99),
            ms(p.lifetime.count, p.lifetime.p99_ms)
        );
    }
    eprintln!();
    for v in &report.expectations {
        let mark = if v.ok == Some(true) { "✓" } else { "✗" };
        let series = crate::html::series_name(v);
        let bound = match (v.min, v.max) {
            (Some(lo), Some(hi)) => format!("in {lo}..={hi}"),
            (Some(lo), None) => format!(">= {lo}"),
            (None, Some(hi)) => format!("<= {hi}"),
            (None, None) => String::new(),
        };
        let value = v.value.map_or("unknown".to_string(), |x| x.to_string());
        eprintln!("{mark} {:<12} {:<12} {:<20} {value} ({bound})", v.phase, v.metric, series);
    }
    if report.load.unseen > 0 {
        eprintln!(
            "\nnote: {} of {} packets injected by the load were never seen on the event stream (lwc-lab's NATS connection was down?); they count in no phase",
            report.load.unseen, report.load.injected
        );
    }
    eprintln!("\n{}: {}", report.scenario, report.status);
}

