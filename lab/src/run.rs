//! Running an experiment: start the load, walk the timeline, collect events
//! and telemetry, settle, judge, write the report. Progress goes to stderr;
//! every second the state goes out on `lwc.<l>.lab.status`.

use anyhow::{Context, Result};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::figures::{Figures, Timeline};
use crate::report::{self, LoadReport, Report};
use crate::ring::{ring_command, Api, RingAddr};
use crate::spec::{Experiment, Phase};

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    /// The ring could not be reached or an action failed.
    Aborted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Aborted => "aborted",
        }
    }
}

/// Why a run could not start: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0:#}")]
pub struct Unreachable(pub anyhow::Error);

type Shared = Arc<Mutex<Figures>>;

fn lock(f: &Shared) -> std::sync::MutexGuard<'_, Figures> {
    f.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run `exp` (read from `file`) against `ring`; write the report into `out`.
pub async fn run(exp: &Experiment, file: &str, ring: &RingAddr, out: &Path) -> Result<(Outcome, Report)> {
    let api = Api::new(&ring.http);
    let client = connect(ring).await.map_err(Unreachable)?;
    blocking({
        let api = api.clone();
        move || api.expect("GET", "/status", None, 200)
    })
    .await
    .map_err(|e| Unreachable(e.context("the ring's HTTP API does not answer")))?;

    let mut events = client.subscribe(lwc_wire::subjects::packet_events(&ring.lattice)).await?;
    let mut telemetry = client.subscribe(format!("lwc.{}.telemetry.*", ring.lattice)).await?;
    client.flush().await?;

    let load = exp.load.get_ref();
    let body = json!({"rate": load.rate.get_ref(), "ttl": load.ttl.get_ref(), "chaos": load.chaos.get_ref(),
                      "route": load.route.get_ref(), "duration_s": exp.duration_s.get_ref()});
    let timeline = Timeline {
        t0_ns: lwc_wire::now_ns(),
        starts_s: exp.phases.iter().map(|p| *p.get_ref().at_s.get_ref()).collect(),
        duration_s: *exp.duration_s.get_ref(),
    };
    let figures: Shared = Arc::new(Mutex::new(Figures::new(timeline)));
    let collector = {
        let figures = figures.clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    Some(msg) = events.next() => {
                        let now = lwc_wire::now_ns();
                        match serde_json::from_slice(&msg.payload) {
                            Ok(ev) => lock(&figures).event(ev, now),
                            Err(_) => lock(&figures).garbage += 1,
                        }
                    }
                    Some(msg) = telemetry.next() => match lwc_wire::telemetry::Snapshot::decode(&msg.payload) {
                        Ok(snap) => lock(&figures).snapshot(&snap),
                        Err(_) => lock(&figures).garbage += 1,
                    },
                    else => break,
                }
            }
        })
    };

    let started = blocking({
        let api = api.clone();
        move || api.expect("POST", "/load", Some(&body), 202)
    })
    .await
    .map_err(|e| Unreachable(e.context("cannot start the load")))?;
    let t0 = started["load"]["started_ns"].as_u64().unwrap_or_else(lwc_wire::now_ns);
    lock(&figures).timeline.t0_ns = t0;

    let bar = progress_bar(exp);
    let status = StatusPublisher::new(client.clone(), ring.lattice.clone(), exp, file);
    let ticker = {
        let (status, figures, bar) = (status.clone(), figures.clone(), bar.clone());
        tokio::spawn(async move {
            loop {
                let body = status.body(&lock(&figures), &bar.message(), "running", false);
                status.send(body).await;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };

    let walked = tokio::select! {
        r = walk(exp, ring, &api, t0, &bar) => r,
        _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
    };
    let stopped = blocking({
        let api = api.clone();
        move || api.expect("DELETE", "/load", None, 200)
    })
    .await;
    let outcome_so_far = match &walked {
        Ok(()) => None,
        Err(e) => {
            say(&bar, format!("✗ aborted: {e:#}"));
            Some(Outcome::Aborted)
        }
    };
    let last = stopped.as_ref().map(|v| v["last"].clone()).unwrap_or(Value::Null);
    let injected = last["injected"].as_u64().unwrap_or(0);
    bar.set_message("settling");
    settle(&figures, injected, Duration::from_secs(u64::from(*exp.settle_s.get_ref()))).await;
    bar.finish_and_clear();
    ticker.abort();
    collector.abort();

    // The figures are locked only here, never across an await.
    let (outcome, report, body) = {
        let guard = lock(&figures);
        let figures = &*guard;
        let verdicts = report::evaluate(exp, figures, true);
        let outcome = outcome_so_far.unwrap_or(if verdicts.iter().all(|v| v.ok == Some(true)) {
            Outcome::Passed
        } else {
            Outcome::Failed
        });
        let load_report = LoadReport {
            rate: *load.rate.get_ref(),
            injected,
            unseen: injected.saturating_sub(figures.injected_and_open().0),
            late_p99_ms: last["late_p99_ms"].as_f64().unwrap_or(0.0),
            late_max_ms: last["late_max_ms"].as_f64().unwrap_or(0.0),
        };
        let report = report::build(exp, file, figures, load_report, outcome.as_str(), verdicts);
        write_reports(out, exp, &report, figures)?;
        let body = status.body(figures, "done", outcome.as_str(), true);
        (outcome, report, body)
    };
    status.send(body).await;
    let _ = client.flush().await;
    Ok((outcome, report))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.context("a blocking task failed")?
}

async fn connect(ring: &RingAddr) -> Result<async_nats::Client> {
    let mut opts = async_nats::ConnectOptions::new()
        .name("lwc-lab")
        .subscription_capacity(1 << 20)
        .connection_timeout(Duration::from_secs(5))
        .max_reconnects(None);
    if let Some(token) = &ring.nats_token {
        opts = opts.token(token.clone());
    }
    tokio::time::timeout(Duration::from_secs(8), opts.connect(ring.nats_url.as_str()))
        .await
        .map_err(|_| anyhow::anyhow!("NATS at {} did not answer within 8 s", ring.nats_url))?
        .with_context(|| format!("cannot connect to NATS at {}", ring.nats_url))
}

fn progress_bar(exp: &Experiment) -> ProgressBar {
    let bar = ProgressBar::new(u64::from(*exp.duration_s.get_ref()));
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} s  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(exp.name.get_ref().clone());
    bar
}

/// Sleep until each phase is due, apply it; then until the end.
async fn walk(exp: &Experiment, ring: &RingAddr, api: &Api, t0: u64, bar: &ProgressBar) -> Result<()> {
    let at = |s: u32| t0 + u64::from(s) * 1_000_000_000;
    for phase in &exp.phases {
        let p = phase.get_ref();
        sleep_until_ns(at(*p.at_s.get_ref()), bar, t0).await;
        bar.set_message(p.name.get_ref().clone());
        say(bar, format!("▸ {:>4} s  phase {}{}", p.at_s.get_ref(), p.name.get_ref(), describe(p)));
        let said = apply(p, ring, api).await.with_context(|| format!("phase {}", p.name.get_ref()))?;
        for line in said.lines().filter(|l| !l.trim().is_empty()) {
            say(bar, format!("         {line}"));
        }
    }
    sleep_until_ns(at(*exp.duration_s.get_ref()), bar, t0).await;
    bar.set_position(u64::from(*exp.duration_s.get_ref()));
    Ok(())
}

/// A line above the bar, or on stderr when there is no bar (not a terminal).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn describe(p: &Phase) -> String {
    let actions = p.actions();
    if actions.is_empty() {
        String::new()
    } else {
        format!(": {}", actions.join(", "))
    }
}

async fn sleep_until_ns(target: u64, bar: &ProgressBar, t0: u64) {
    loop {
        let now = lwc_wire::now_ns();
        bar.set_position(now.saturating_sub(t0) / 1_000_000_000);
        if now >= target {
            return;
        }
        tokio::time::sleep(Duration::from_nanos((target - now).min(250_000_000))).await;
    }
}

/// A phase's actions, in an order that lets each succeed: hosts start
/// first (so that a chaos change for `*` reaches them), then NATS, chaos and
/// links, and kills last (a dead host cannot acknowledge a change). The
/// answer is what the ring command said.
async fn apply(p: &Phase, ring: &RingAddr, api: &Api) -> Result<String> {
    let cmd = ring.ring_cmd.clone();
    let kills: Vec<String> = p.kill.iter().map(|h| h.get_ref().clone()).collect();
    let starts: Vec<String> = p.start.iter().map(|h| h.get_ref().clone()).collect();
    let nats = p.restart_nats;
    let chaos: Vec<Value> = p.chaos.iter().map(|c| serde_json::to_value(c.get_ref()).unwrap_or_default()).collect();
    let links: Vec<Value> = p.links.iter().map(|l| serde_json::to_value(l.get_ref()).unwrap_or_default()).collect();
    let api = api.clone();
    blocking(move || {
        let mut said = String::new();
        for h in &starts {
            said += &ring_command(&cmd, &["--start", h])?;
            said.push('\n');
        }
        if nats {
            said += &ring_command(&cmd, &["--restart-nats"])?;
            said.push('\n');
        }
        for c in &chaos {
            api.expect("PUT", "/chaos", Some(c), 200)?;
        }
        for l in &links {
            api.expect("PUT", "/links", Some(l), 200)?;
        }
        for h in &kills {
            said += &ring_command(&cmd, &["--kill", h])?;
            said.push('\n');
        }
        Ok(said)
    })
    .await
}

/// Wait until every packet of the run has a fate and the load's count was
/// seen, and at least until the last telemetry came in; at most `within`.
async fn settle(figures: &Shared, injected: u64, within: Duration) {
    let start = tokio::time::Instant::now();
    // Hosts publish telemetry once a second: the last second of the run
    // arrives up to a second after it.
    let telemetry = start + Duration::from_millis(1_500);
    loop {
        let (seen, open) = lock(figures).injected_and_open();
        let now = tokio::time::Instant::now();
        if (seen >= injected && open == 0 && now >= telemetry) || now >= start + within {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn write_reports(out: &Path, exp: &Experiment, report: &Report, figures: &Figures) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let json_path: PathBuf = out.join("report.json");
    std::fs::write(&json_path, serde_json::to_string_pretty(report)?)
        .with_context(|| format!("cannot write {}", json_path.display()))?;
    let html_path = out.join("report.html");
    std::fs::write(&html_path, crate::html::render(exp, report, figures))
        .with_context(|| format!("cannot write {}", html_path.display()))?;
    Ok(())
}

/// Publishes the run's state on `lwc.<l>.lab.status` (for the dashboard).
#[derive(Clone)]
struct StatusPublisher {
    client: async_nats::Client,
    subject: String,
    exp: Arc<Experiment>,
    file: String,
}

impl StatusPublisher {
    fn new(client: async_nats::Client, lattice: String, exp: &Experiment, file: &str) -> StatusPublisher {
        StatusPublisher {
            client,
            subject: format!("lwc.{lattice}.lab.status"),
            exp: Arc::new(exp.clone()),
            file: file.to_string(),
        }
    }

    fn body(&self, figures: &Figures, phase: &str, status: &str, last: bool) -> String {
        let duration = f64::from(*self.exp.duration_s.get_ref());
        let elapsed = (figures.timeline.offset_s(lwc_wire::now_ns())).clamp(0.0, duration);
        let body = json!({
            "experiment": self.exp.name.get_ref(),
            "file": self.file,
            "phase": phase,
            "elapsed_s": (elapsed * 10.0).round() / 10.0,
            "duration_s": self.exp.duration_s.get_ref(),
            "remaining_s": ((duration - elapsed) * 10.0).round() / 10.0,
            "status": status,
            "expectations": report::evaluate(&self.exp, figures, last),
        });
        body.to_string()
    }

    async fn send(&self, body: String) {
        let _ = self.client.publish(self.subject.clone(), body.into()).await;
    }
}
