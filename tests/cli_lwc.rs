//! The `lwc` tests' harness: [`Lwc`], a ring's state directory, manifest
//! and ports of its own, and the process checks the tests make (alive,
//! gone, which processes mention the test's directory).

use lwc_tests::{free_port, nats_server_bin, release_dir, wait, wasm, Heartbeats};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A two-host ring: a probe `a` that loops to itself, and control.
pub fn manifest(dir: &Path) -> PathBuf {
    let text = format!(
        "[lattice]\nname = \"cli\"\n[hosts.a]\n[hosts.control]\n\
         [components.a]\nhost = \"a\"\nwasm = \"{}\"\n\
         [components.control]\nhost = \"control\"\nwasm = \"{}\"\nhttp = \"127.0.0.1:30000\"\n\
         [links.a]\ndefault = \"a\"\n[links.control]\ndefault = \"a\"\n",
        wasm("lwc_probe").display(),
        wasm("lwc_control").display()
    );
    let path = dir.join("ring.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub struct Lwc {
    pub dir: tempfile::TempDir,
    pub manifest: PathBuf,
    pub http_port: u16,
}

impl Lwc {
    pub fn new() -> Lwc {
        let dir = tempfile::tempdir().unwrap();
        let manifest = manifest(dir.path());
        Lwc {
            dir,
            manifest,
            http_port: free_port(),
        }
    }

    /// The test's own directory: every process of its ring names it.
    pub fn root(&self) -> String {
        self.dir.path().display().to_string()
    }

    pub fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(release_dir().join("lwc"));
        cmd.arg("--dir")
            .arg(self.state())
            .arg("--manifest")
            .arg(&self.manifest)
            .args(args)
            .env("LWC_NATS_SERVER", nats_server_bin())
            .env("LWC_DASH", "none")
            .env_remove("LWC_HOST_ARGS")
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run lwc")
    }

    pub fn up_args(&self) -> Vec<String> {
        let port = self.http_port.to_string();
        // Ports of its own: parallel tests would all take 4222 otherwise.
        let nats = free_port().to_string();
        ["up", "--http-port", &port, "--nats-port", &nats, "--host-args", "--hop-timeout-ms 200"].map(String::from).to_vec()
    }

    pub fn up_detached(&self) -> Output {
        let mut args = self.up_args();
        args.push("--detach".into());
        let out = self.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(out.status.success(), "lwc up --detach: {}", text(&out));
        out
    }

    pub fn pid(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.state().join(format!("{name}.pid"))).ok()?.trim().parse().ok()
    }

    pub fn pids(&self) -> Vec<u32> {
        ["a", "control", "nats"].iter().map(|n| self.pid(n).unwrap_or_else(|| panic!("no {n}.pid"))).collect()
    }

    pub fn ring_env(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.state().join("ring.env")).unwrap();
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub fn env(&self, key: &str) -> String {
        self.ring_env().into_iter().find(|(k, _)| k == key).map(|(_, v)| v).unwrap()
    }

    pub async fn client(&self) -> async_nats::Client {
        async_nats::ConnectOptions::new()
            .token(self.env("LWC_NATS_TOKEN"))
            .connect(self.env("LWC_NATS_URL"))
            .await
            .unwrap()
    }
}

impl Drop for Lwc {
    fn drop(&mut self) {
        // Whatever a failed test left running.
        let _ = self.run(&["down"]);
    }
}

pub fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout)
}

pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !matches!(s.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().next()), Some("Z" | "X")))
}

/// Wait until every pid has exited; the deadline only bounds a failure.
pub fn wait_gone(pids: &[u32], within: Duration) {
    let gone = wait::until(within, "the processes to exit", || Ok(pids.iter().all(|p| !alive(*p)).then_some(())));
    if let Err(e) = gone {
        panic!("{e}: still running: {:?}", pids.iter().filter(|p| alive(**p)).collect::<Vec<_>>());
    }
}

/// Processes whose command line mentions `needle` (here: the test's state dir).
pub fn processes_mentioning(needle: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| alive(*pid) && *pid != std::process::id())
        .filter(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle)))
        .collect()
}

/// A health request answered `healthy: true`, asked once the host's
/// heartbeat says it is connected (a host reconnecting after a NATS restart
/// answers once it is back).
pub async fn healthy(client: &async_nats::Client, host: &str) {
    let mut beats = Heartbeats::subscribe(client, "cli").await.unwrap();
    beats
        .until(Duration::from_secs(20), &format!("a heartbeat of {host}, connected"), |hbs| {
            hbs.iter().any(|h| h.host == host && h.connected)
        })
        .await
        .unwrap();
    let subject = format!("lwc.cli.hosts.{host}.health");
    let answer = tokio::time::timeout(Duration::from_secs(5), client.request(subject, "".into())).await;
    let msg = answer.unwrap_or_else(|_| panic!("{host} gave no health answer")).unwrap();
    let h: Value = serde_json::from_slice(&msg.payload).unwrap();
    assert_eq!(h["healthy"], true, "{h}");
}

/// The NATS URL a process was started with (its LWC_NATS_URL).
pub fn nats_url_of(pid: u32) -> String {
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    env.split(|b| *b == 0)
        .find_map(|kv| String::from_utf8_lossy(kv).strip_prefix("LWC_NATS_URL=").map(str::to_string))
        .unwrap_or_default()
}

/// Start `lwc up` attached (logs view: no terminal) and wait for "ring up".
pub fn up_attached(lwc: &Lwc) -> (Child, BufReader<std::process::ChildStderr>) {
    let mut child = lwc.cmd(&lwc.up_args().iter().map(String::as_str).collect::<Vec<_>>())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        let n = err.read_line(&mut line).unwrap();
        if n == 0 {
            // Reaped before failing, so no zombie outlives the test.
            let status = child.wait();
            panic!("lwc up ended ({status:?}) before the ring was up: {seen}");
        }
        seen.push_str(&line);
        if line.contains("ring up") {
            return (child, err);
        }
    }
}
