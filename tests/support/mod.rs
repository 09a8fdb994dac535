//! Test harness: a real nats-server on a free loopback port, real `lwc-host`
//! processes running the real compiled components, and a tap on the
//! lattice's events. Everything started here is killed on drop.
//!
//! Build first (`scripts/test.sh` does): `cargo build --release` and
//! `cargo build --release --target wasm32-wasip2 -p lwc-probe -p lwc-control`.

pub mod otlp;

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lwc_wire::events::PacketEvent;
use lwc_wire::status::Heartbeat;

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
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf()
}

pub fn nats_server_bin() -> PathBuf {
    if let Ok(p) = std::env::var("LWC_NATS_SERVER") {
        return PathBuf::from(p);
    }
    let venv = project_root().join(".lwc/venv/bin/nats-server");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("nats-server")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A child process killed (and reaped) on drop.
pub struct Proc {
    pub name: String,
    child: Option<Child>,
    pub log: PathBuf,
}

impl Proc {
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A nats-server of the test's own, with a token.
pub struct Nats {
    pub url: String,
    pub token: String,
    port: u16,
    conf: PathBuf,
    proc: Proc,
}

impl Nats {
    pub fn start(dir: &Path) -> Result<Nats> {
        let port = free_port();
        let token = format!("t{}", lwc_wire::now_ns());
        let conf = dir.join("nats.conf");
        std::fs::write(&conf, format!("authorization {{ token: \"{token}\" }}\n"))?;
        let proc = Nats::spawn(port, &conf)?;
        Ok(Nats {
            url: format!("nats://127.0.0.1:{port}"),
            token,
            port,
            conf,
            proc,
        })
    }

    fn spawn(port: u16, conf: &Path) -> Result<Proc> {
        let log = conf.with_file_name("nats.log");
        let child = Command::new(nats_server_bin())
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-c"])
            .arg(conf)
            .stdout(Stdio::null())
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(&log)?)
            .spawn()
            .context("cannot start nats-server (run scripts/setup.sh)")?;
        let proc = Proc {
            name: "nats".into(),
            child: Some(child),
            log,
        };
        wait_for_port(port, Duration::from_secs(10))?;
        Ok(proc)
    }

    /// Kill the server and start it again on the same port with the same token.
    pub fn restart(&mut self) -> Result<()> {
        self.proc.kill();
        self.proc = Nats::spawn(self.port, &self.conf)?;
        Ok(())
    }

    pub async fn client(&self) -> Result<async_nats::Client> {
        Ok(async_nats::ConnectOptions::new()
            .token(self.token.clone())
            .subscription_capacity(1 << 20)
            .connect(self.url.as_str())
            .await?)
    }
}

fn wait_for_port(port: u16, within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("nothing listening on port {port} after {within:?}")
}

/// How to start a ring.
#[derive(Clone)]
pub struct RingOpts {
    /// Hosts to start (default: all five).
    pub hosts: Vec<&'static str>,
    /// Extra flags for every host.
    pub host_args: Vec<String>,
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
    pub http: String,
    pub manifest: PathBuf,
    pub lattice: String,
    pub hosts: Vec<Proc>,
    opts: RingOpts,
}

impl Ring {
    pub async fn start() -> Result<Ring> {
        Ring::start_with(RingOpts::default()).await
    }

    pub async fn start_with(opts: RingOpts) -> Result<Ring> {
        let dir = tempfile::tempdir()?;
        let nats = Nats::start(dir.path())?;
        let port = free_port();
        let manifest = dir.path().join("ring.toml");
        let text = match &opts.manifest {
            Some(text) => fill_manifest(text, port, &opts.lattice),
            None => ring_manifest(port, &opts.lattice),
        };
        std::fs::write(&manifest, text)?;
        let mut ring = Ring {
            nats,
            http: format!("http://127.0.0.1:{port}"),
            manifest,
            lattice: opts.lattice.clone(),
            hosts: Vec::new(),
            opts: opts.clone(),
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
        let _ = std::fs::remove_file(self.ready_file(host));
        let log = self.dir.path().join(format!("{host}.log"));
        let mut cmd = Command::new(host_bin());
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("OTEL_") {
                cmd.env_remove(var);
            }
        }
        cmd.envs(self.opts.env.iter().map(|(k, v)| (k, v)));
        let child = cmd
            .arg("--manifest")
            .arg(&self.manifest)
            .args(["--host", host, "--ready-file"])
            .arg(self.ready_file(host))
            .args(&self.opts.host_args)
            .env("LWC_NATS_URL", &self.nats.url)
            .env("LWC_NATS_TOKEN", &self.nats.token)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(&log)?)
            .spawn()
            .context("cannot start lwc-host")?;
        self.hosts.retain(|p| p.name != host);
        self.hosts.push(Proc {
            name: host.to_string(),
            child: Some(child),
            log,
        });
        Ok(())
    }

    pub fn wait_ready(&mut self, host: &str, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.ready_file(host).exists() {
                return Ok(());
            }
            if let Some(p) = self.hosts.iter_mut().find(|p| p.name == host) {
                if !p.is_running() {
                    bail!("host {host} exited: {}", self.log_tail(host));
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("host {host} not ready after {within:?}: {}", self.log_tail(host))
    }

    pub fn kill_host(&mut self, host: &str) {
        if let Some(p) = self.hosts.iter_mut().find(|p| p.name == host) {
            p.kill();
        }
    }

    pub fn log_tail(&self, host: &str) -> String {
        let log = self.dir.path().join(format!("{host}.log"));
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
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
    /// flight; returns the ledger then (or at the deadline).
    pub async fn settled_ledger(&self, injected: u64, within: Duration) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let ledger = self.ledger();
            let seen = ledger["injected"].as_u64().unwrap_or(0) >= injected;
            if (seen && ledger["in_flight"] == 0) || Instant::now() > deadline {
                return ledger;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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

    /// The latest heartbeat of every host, gathered for a little over a second.
    pub async fn heartbeats(&self) -> Result<Vec<Heartbeat>> {
        let client = self.client().await?;
        let mut sub = client
            .subscribe(format!("lwc.{}.hosts.*.heartbeat", self.lattice))
            .await?;
        let mut latest = std::collections::BTreeMap::new();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1300);
        while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, sub.next()).await {
            if let Ok(hb) = serde_json::from_slice::<Heartbeat>(&msg.payload) {
                latest.insert(hb.host.clone(), hb);
            }
        }
        Ok(latest.into_values().collect())
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

/// Packet events collected in the background.
pub struct Tap {
    events: Arc<Mutex<Vec<PacketEvent>>>,
    pub garbage: Arc<Mutex<usize>>,
}

impl Tap {
    async fn start(client: &async_nats::Client, subject: &str) -> Result<Tap> {
        let mut sub = client.subscribe(subject.to_string()).await?;
        client.flush().await?;
        let events = Arc::new(Mutex::new(Vec::new()));
        let garbage = Arc::new(Mutex::new(0));
        let (ev, gb) = (events.clone(), garbage.clone());
        tokio::spawn(async move {
            while let Some(msg) = sub.next().await {
                match serde_json::from_slice::<PacketEvent>(&msg.payload) {
                    Ok(e) => ev.lock().unwrap().push(e),
                    Err(_) => *gb.lock().unwrap() += 1,
                }
            }
        });
        Ok(Tap { events, garbage })
    }

    pub fn events(&self) -> Vec<PacketEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Wait until `done` holds for the events so far; panic with them if not.
    pub async fn wait_until(&self, within: Duration, what: &str, done: impl Fn(&[PacketEvent]) -> bool) -> Vec<PacketEvent> {
        let deadline = Instant::now() + within;
        loop {
            let events = self.events();
            if done(&events) {
                return events;
            }
            if Instant::now() > deadline {
                let tail: Vec<String> = events.iter().rev().take(10).map(|e| format!("{e:?}")).collect();
                let garbage = *self.garbage.lock().unwrap();
                panic!(
                    "timed out after {within:?} waiting for {what}; {} events ({garbage} unparsable), last: {tail:#?}",
                    events.len()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Ids of packets that ended (expired or lost).
    pub fn fates(&self) -> (Vec<u64>, Vec<lwc_wire::events::Lost>) {
        let mut expired = Vec::new();
        let mut lost = Vec::new();
        for e in self.events() {
            match e {
                PacketEvent::Expired(x) => expired.push(x.packet),
                PacketEvent::Lost(l) => lost.push(l),
                _ => {}
            }
        }
        (expired, lost)
    }
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
    let events = tap
        .wait_until(Duration::from_secs(20), "the packet to end", |evs| {
            evs.iter().any(|e| match e {
                PacketEvent::Expired(x) => x.packet == id,
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
