//! Test harness: a real nats-server on a port it picked itself, real
//! `lwc-host` processes running the real compiled components, and taps on
//! the lattice's events and heartbeats. Everything started here is killed
//! on drop. The processes, the server and the waits come from
//! `lwc-testkit` (shared with the bench); this adds the five-host ring.
//!
//! Tests wait on events (an event, a heartbeat, a screen, a ledger that
//! adds up) with a deadline that only bounds a failure; they never sleep.
//!
//! Build first (`scripts/test.sh` does): `. scripts/lib.sh && build_all`.

pub mod docs;
pub mod helps;
pub mod fates;
pub mod otlp;

use anyhow::{Context, Result};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use lwc_wire::events::PacketEvent;
use lwc_wire::status::Heartbeat;

pub use lwc_testkit::{nats_server_bin, wait, Heartbeats, Nats, Proc, Tap};
pub use fates::{assert_one_fate_each, fates, settled_fates};
use lwc_testkit::host::{http_plan, HttpPlan};

/// `target/release`, found from the running test binary (`target/release/deps/x`).
pub fn release_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .expect("test binary lives in target/<profile>/deps")
}

pub fn host_bin() -> PathBuf {
    let bin = release_dir().join("lwc-host");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/test.sh (or cargo build --release) first",
        bin.display()
    );
    bin
}

/// A component built for wasm32-wasip2, e.g. `lwc_probe`.
pub fn wasm(name: &str) -> PathBuf {
    let target = release_dir().parent().expect("target dir").to_path_buf();
    let path = target.join("wasm32-wasip2/release").join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run cargo build --release --target wasm32-wasip2 -p lwc-probe -p lwc-control",
        path.display()
    );
    path
}

fn project_root() -> PathBuf {
    lwc_testkit::project_root()
}

/// A loopback port that was free a moment ago. Racy (someone else may bind
/// it before the caller does): prefer letting the server pick its own, as
/// [`Nats`] does.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// How to start a ring.
#[derive(Clone)]
pub struct RingOpts {
    /// Hosts to start (default: all five).
    pub hosts: Vec<&'static str>,
    /// Extra flags for every host.
    pub host_args: Vec<String>,
    /// Extra flags for one host (after `host_args`).
    pub args_for: Vec<(&'static str, Vec<String>)>,
    /// Lattice name.
    pub lattice: String,
    /// A manifest of its own instead of scripts/ring.toml (see [`ring_manifest`]
    /// for the placeholders it may use).
    pub manifest: Option<String>,
    /// Environment for every host. `OTEL_*` variables of the test's own
    /// environment are never passed on: a ring exports only when asked here.
    pub env: Vec<(String, String)>,
}

impl Default for RingOpts {
    fn default() -> Self {
        RingOpts {
            hosts: vec!["north", "south", "east", "west", "control"],
            // Short hop timeout: tests of loss should not wait long.
            host_args: vec!["--hop-timeout-ms".into(), "200".into()],
            args_for: Vec::new(),
            lattice: "default".into(),
            manifest: None,
            env: Vec::new(),
        }
    }
}

/// The five-host ring of scripts/ring.toml, on its own NATS server and port.
pub struct Ring {
    pub dir: tempfile::TempDir,
    pub nats: Nats,
    /// `http://127.0.0.1:PORT` of the control component.
    pub http: String,
    pub manifest: PathBuf,
    pub lattice: String,
    pub hosts: Vec<Proc>,
    opts: RingOpts,
    http_plan: HttpPlan,
}

impl Ring {
    pub async fn start() -> Result<Ring> {
        Ring::start_with(RingOpts::default()).await
    }

    pub async fn start_with(opts: RingOpts) -> Result<Ring> {
        let dir = tempfile::tempdir()?;
        let nats = Nats::start(dir.path())?;
        let http_plan = http_plan()?;
        let port = http_plan.manifest_port();
        let manifest = dir.path().join("ring.toml");
        let text = match &opts.manifest {
            Some(text) => fill_manifest(text, port, &opts.lattice),
            None => ring_manifest(port, &opts.lattice),
        };
        std::fs::write(&manifest, text)?;
        let mut ring = Ring {
            nats,
            // Moved to the bound port once a host reports one.
            http: http_plan.url(),
            manifest,
            lattice: opts.lattice.clone(),
            hosts: Vec::new(),
            opts: opts.clone(),
            http_plan,
            dir,
        };
        for host in &opts.hosts {
            ring.start_host(host)?;
        }
        for host in &opts.hosts {
            ring.wait_ready(host, Duration::from_secs(60))?;
        }
        Ok(ring)
    }

    fn ready_file(&self, host: &str) -> PathBuf {
        self.dir.path().join(format!("{host}.ready"))
    }

    /// Start (or restart) one host process.
    pub fn start_host(&mut self, host: &str) -> Result<()> {
        let log = self.dir.path().join(format!("{host}.log"));
        let cmd = lwc_testkit::HostCmd::new(&host_bin(), &self.manifest, &self.nats.url, &self.nats.token)
            .host(host)
            .args(self.http_plan.host_args())
            .args(&self.opts.host_args)
            .args(self.opts.args_for.iter().filter(|(h, _)| *h == host).flat_map(|(_, a)| a))
            // Test rings load compiled components from disk after the first
            // host compiled them (the cache is made by this run, in target/).
            .envs([("LWC_COMPILE_CACHE", release_dir().join("lwc-compile-cache"))].iter().map(|(k, v)| (k, v.display().to_string())))
            .envs(self.opts.env.iter().map(|(k, v)| (k, v)));
        let proc = cmd.spawn(host, &self.ready_file(host), &log)?;
        self.hosts.retain(|p| p.name != host);
        self.hosts.push(proc);
        Ok(())
    }

    /// Wait until `host` serves (its ready file is written); fails at once
    /// if it exits. A host that serves HTTP on a port it bound moves
    /// [`Ring::http`] there.
    pub fn wait_ready(&mut self, host: &str, within: Duration) -> Result<()> {
        let ready_file = self.ready_file(host);
        let proc = self
            .hosts
            .iter_mut()
            .find(|p| p.name == host)
            .with_context(|| format!("host {host} was never started"))?;
        let ready = lwc_testkit::host::wait_ready(proc, &ready_file, within, false)?;
        if let Some(addr) = ready.http {
            self.http = format!("http://{addr}");
        }
        Ok(())
    }

    /// Kill `host` and start it again with `args` as its own extra flags
    /// (in place of any it had); wait until it serves.
    pub fn restart_host_with(&mut self, host: &'static str, args: Vec<String>) -> Result<()> {
        self.kill_host(host);
        self.opts.args_for.retain(|(h, _)| *h != host);
        self.opts.args_for.push((host, args));
        self.start_host(host)?;
        self.wait_ready(host, Duration::from_secs(60))
    }

    pub fn kill_host(&mut self, host: &str) {
        if let Some(p) = self.hosts.iter_mut().find(|p| p.name == host) {
            p.kill();
        }
    }

    pub fn log_tail(&self, host: &str) -> String {
        lwc_testkit::process::log_tail(&self.dir.path().join(format!("{host}.log")), 20)
    }

    pub async fn client(&self) -> Result<async_nats::Client> {
        self.nats.client().await
    }

    /// The control host's ledger, from `GET /status`.
    pub fn ledger(&self) -> serde_json::Value {
        let (status, st) = self.get("/status");
        assert_eq!(status, 200, "{st}");
        st["ledger"].clone()
    }

    /// Wait until the ledger has seen `injected` packets and none is in
    /// flight; returns the ledger then (or at the deadline, for the
    /// caller's assertions to show).
    pub async fn settled_ledger(&self, injected: u64, within: Duration) -> serde_json::Value {
        let settled = wait::until_async(within, "a settled ledger", || {
            let ledger = self.ledger();
            let seen = ledger["injected"].as_u64().unwrap_or(0) >= injected;
            Ok((seen && ledger["in_flight"] == 0).then_some(ledger))
        })
        .await;
        settled.unwrap_or_else(|_| self.ledger())
    }

    /// Poll `GET /status` until `done` holds for it; panic with the last
    /// answer if it does not within `within`.
    pub async fn wait_status(&self, within: Duration, what: &str, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
        let waited = wait::until_async(within, what, || {
            let (status, st) = self.get("/status");
            Ok((status == 200 && done(&st)).then_some(st))
        })
        .await;
        waited.unwrap_or_else(|e| panic!("{e}; last /status: {}", self.get("/status").1))
    }

    /// Start collecting packet events (subscribe before injecting).
    pub async fn tap(&self) -> Result<Tap> {
        let client = self.client().await?;
        Tap::start(&client, &lwc_wire::subjects::packet_events(&self.lattice)).await
    }

    pub fn post(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        http(ureq::post(&format!("{}{path}", self.http)).send_string(body))
    }

    pub fn get(&self, path_and_query: &str) -> (u16, serde_json::Value) {
        http(ureq::get(&format!("{}{path_and_query}", self.http)).call())
    }

    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, serde_json::Value) {
        http(ureq::request(method, &format!("{}{path}", self.http)).send_bytes(body))
    }

    /// Host names the ring runs and has not killed (a `--host a,b` entry
    /// counts as both).
    fn live_host_names(&self) -> Vec<String> {
        self.hosts
            .iter()
            .filter(|p| !p.killed())
            .flat_map(|p| p.name.split(',').map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    /// The latest heartbeat of every host, each sent after this call: so
    /// its counters include everything that happened before. Returns as
    /// soon as every host the ring has not killed was heard (or, after
    /// 3 s, what it heard).
    pub async fn heartbeats(&self) -> Result<Vec<Heartbeat>> {
        let names = self.live_host_names();
        let client = self.client().await?;
        let mut beats = Heartbeats::subscribe(&client, &self.lattice).await?;
        let all = |hbs: &[Heartbeat]| names.iter().all(|n| hbs.iter().any(|h| &h.host == n));
        match beats.until(Duration::from_secs(3), "a heartbeat from every host", all).await {
            Ok(hbs) => Ok(hbs),
            Err(_) => Ok(beats.latest()),
        }
    }

    /// Take heartbeats (sent after this call) until `done` holds for the
    /// latest of each host; panic with them if it does not within `within`.
    pub async fn wait_heartbeats(&self, within: Duration, what: &str, done: impl Fn(&[Heartbeat]) -> bool) -> Vec<Heartbeat> {
        let client = self.client().await.expect("connect to the test's nats-server");
        let mut beats = Heartbeats::subscribe(&client, &self.lattice).await.expect("subscribe to heartbeats");
        beats.until(within, what, done).await.unwrap_or_else(|e| panic!("{e}"))
    }
}

fn http(res: Result<ureq::Response, ureq::Error>) -> (u16, serde_json::Value) {
    let resp = match res {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("HTTP request failed: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap_or_default();
    let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text));
    (status, json)
}

/// scripts/ring.toml with absolute wasm paths and the given HTTP port.
pub fn ring_manifest(http_port: u16, lattice: &str) -> String {
    let text = std::fs::read_to_string(project_root().join("scripts/ring.toml"))
        .expect("scripts/ring.toml");
    fill_manifest(&text, http_port, lattice)
}

/// Point a manifest's `../target/wasm32-wasip2/release/<x>.wasm` paths at
/// the built components, its `127.0.0.1:30000` at `http_port`, and its
/// lattice at `lattice`.
pub fn fill_manifest(text: &str, http_port: u16, lattice: &str) -> String {
    text.replace(
        "../target/wasm32-wasip2/release/lwc_runaway.wasm",
        &wasm("lwc_runaway").display().to_string(),
    )
    .replace(
        "../target/wasm32-wasip2/release/lwc_probe.wasm",
        &wasm("lwc_probe").display().to_string(),
    )
    .replace(
        "../target/wasm32-wasip2/release/lwc_control.wasm",
        &wasm("lwc_control").display().to_string(),
    )
    .replace("127.0.0.1:30000", &format!("127.0.0.1:{http_port}"))
    .replace("name = \"default\"", &format!("name = \"{lattice}\""))
}

/// Packet ids from a `POST /packets` answer.
pub fn packet_ids(answer: &serde_json::Value) -> Vec<u64> {
    answer["packets"]
        .as_array()
        .map(|a| a.iter().filter_map(|v| v.as_u64()).collect())
        .unwrap_or_default()
}

/// Sum a counter over heartbeats.
pub fn total(hbs: &[Heartbeat], f: impl Fn(&Heartbeat) -> u64) -> u64 {
    hbs.iter().map(f).sum()
}

/// Inject one packet with `body` (which should set `"trace":true`), wait
/// until it expires or is lost, and return its hops in order plus every event
/// seen meanwhile.
pub async fn traced(ring: &Ring, body: &str) -> (u64, Vec<lwc_wire::events::Hop>, Vec<PacketEvent>) {
    let tap = ring.tap().await.expect("tap the lattice");
    let (status, answer) = ring.post("/packets", body);
    assert_eq!(status, 200, "{answer}");
    let id = packet_ids(&answer)[0];
    // A host publishes a hop's event after the packet went on, so the last
    // ones may come after the end: an expired packet waits for all of its
    // visits' hop events too.
    let events = tap
        .wait_until(Duration::from_secs(20), "the packet to end, with its hop events", |evs| {
            let hops = evs.iter().filter(|e| matches!(e, PacketEvent::Hop(h) if h.packet == id)).count() as u64;
            evs.iter().any(|e| match e {
                PacketEvent::Expired(x) => x.packet == id && hops >= u64::from(x.hops),
                PacketEvent::Lost(l) => l.packet == id,
                _ => false,
            })
        })
        .await;
    let mut hops: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            PacketEvent::Hop(h) if h.packet == id => Some(h.clone()),
            _ => None,
        })
        .collect();
    // Events from different hosts may arrive out of order; ttl orders hops.
    hops.sort_by(|a, b| b.ttl.cmp(&a.ttl));
    (id, hops, events)
}

/// A two-host lattice: control injects into `spin`, the runaway component
/// (tests/ledger.rs, tests/guest_limits.rs).
pub const RUNAWAY_RING: &str = r#"
[lattice]
name = "default"

[hosts.spin]
[hosts.control]

[components.spin]
host = "spin"
wasm = "../target/wasm32-wasip2/release/lwc_runaway.wasm"

[components.control]
host = "control"
wasm = "../target/wasm32-wasip2/release/lwc_control.wasm"
http = "127.0.0.1:30000"

[links.control]
default = "spin"
"#;
