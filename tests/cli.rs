//! `lwc`, the CLI that runs rings: every subcommand against a real
//! nats-server and real hosts, no orphan processes after any way out
//! (down, kill, Ctrl-C, the supervisor itself killed), and clear errors for
//! bad manifests and bad flags. Each test has a state directory and ports
//! of its own, so a ring on port 30000 and the repo's .lwc/ are untouched.

use futures::StreamExt;
use lwc_tests::{free_port, nats_server_bin, release_dir, wait, wasm, Heartbeats};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// A two-host ring: a probe `a` that loops to itself, and control.
fn manifest(dir: &Path) -> PathBuf {
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

struct Lwc {
    dir: tempfile::TempDir,
    manifest: PathBuf,
    http_port: u16,
}

impl Lwc {
    fn new() -> Lwc {
        let dir = tempfile::tempdir().unwrap();
        let manifest = manifest(dir.path());
        Lwc {
            dir,
            manifest,
            http_port: free_port(),
        }
    }

    /// The test's own directory: every process of its ring names it.
    fn root(&self) -> String {
        self.dir.path().display().to_string()
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn cmd(&self, args: &[&str]) -> Command {
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

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run lwc")
    }

    fn up_args(&self) -> Vec<String> {
        let port = self.http_port.to_string();
        // Ports of its own: parallel tests would all take 4222 otherwise.
        let nats = free_port().to_string();
        ["up", "--http-port", &port, "--nats-port", &nats, "--host-args", "--hop-timeout-ms 200"].map(String::from).to_vec()
    }

    fn up_detached(&self) -> Output {
        let mut args = self.up_args();
        args.push("--detach".into());
        let out = self.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(out.status.success(), "lwc up --detach: {}", text(&out));
        out
    }

    fn pid(&self, name: &str) -> Option<u32> {
        std::fs::read_to_string(self.state().join(format!("{name}.pid"))).ok()?.trim().parse().ok()
    }

    fn pids(&self) -> Vec<u32> {
        ["a", "control", "nats"].iter().map(|n| self.pid(n).unwrap_or_else(|| panic!("no {n}.pid"))).collect()
    }

    fn ring_env(&self) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.state().join("ring.env")).unwrap();
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn env(&self, key: &str) -> String {
        self.ring_env().into_iter().find(|(k, _)| k == key).map(|(_, v)| v).unwrap()
    }

    async fn client(&self) -> async_nats::Client {
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

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout)
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|s| !matches!(s.rsplit_once(')').and_then(|(_, r)| r.split_whitespace().next()), Some("Z" | "X")))
}

/// Wait until every pid has exited; the deadline only bounds a failure.
fn wait_gone(pids: &[u32], within: Duration) {
    let gone = wait::until(within, "the processes to exit", || Ok(pids.iter().all(|p| !alive(*p)).then_some(())));
    if let Err(e) = gone {
        panic!("{e}: still running: {:?}", pids.iter().filter(|p| alive(**p)).collect::<Vec<_>>());
    }
}

/// Processes whose command line mentions `needle` (here: the test's state dir).
fn processes_mentioning(needle: &str) -> Vec<u32> {
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
async fn healthy(client: &async_nats::Client, host: &str) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detached_ring_through_every_subcommand() {
    let lwc = Lwc::new();
    let out = lwc.up_detached();
    assert!(text(&out).contains("ring up"), "{}", text(&out));
    let env = lwc.ring_env();
    let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["LWC_NATS_URL", "LWC_NATS_TOKEN", "LWC_HTTP", "LWC_LATTICE"]);
    assert_eq!(lwc.env("LWC_HTTP"), format!("http://127.0.0.1:{}", lwc.http_port));
    assert_eq!(lwc.env("LWC_LATTICE"), "cli");
    let first = lwc.pids();

    // A second up finds it and says where it is.
    let again = text(&lwc.run(&["up", "--detach"]));
    assert!(again.contains(&format!("already up at http://127.0.0.1:{}", lwc.http_port)), "{again}");

    // inject, and the packets expire: watched on the lattice itself.
    let client = lwc.client().await;
    let mut events = client.subscribe("lwc.cli.events.packet").await.unwrap();
    client.flush().await.unwrap();
    let out = lwc.run(&["inject", "--count", "3", "--ttl", "4", "--route", "default"]);
    assert!(out.status.success(), "{}", text(&out));
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["packets"].as_array().map(Vec::len), Some(3), "{answer}");
    let mut expired = 0;
    tokio::time::timeout(Duration::from_secs(20), async {
        while expired < 3 {
            let msg = events.next().await.unwrap();
            let e: Value = serde_json::from_slice(&msg.payload).unwrap();
            if e["event"] == "expired" {
                expired += 1;
            }
        }
    })
    .await
    .expect("3 expired events");

    // status, as JSON and as tables. The control host's ledger follows the
    // same events a moment later: look until it has counted them.
    let mut last = Value::Null;
    let status = wait::until_async(Duration::from_secs(10), "the ledger to show 3 expired", || {
        let out = lwc.run(&["status", "--json"]);
        anyhow::ensure!(out.status.success(), "{}", text(&out));
        last = serde_json::from_slice(&out.stdout)?;
        Ok((last["status"]["ledger"]["expired"].as_u64() == Some(3)).then(|| last.clone()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}: {last}"));
    assert_eq!(status["processes"].as_array().map(Vec::len), Some(3), "{status}");
    assert_eq!(status["status"]["lattice"], "cli", "{status}");
    assert_eq!(status["status"]["ledger"]["injected"], 3, "{status}");
    let table = text(&lwc.run(&["status"]));
    assert!(table.contains("HOST") && table.contains("LINK SOURCE") && table.contains("ledger:"), "{table}");

    // kill: the process is gone, its pid file too; start brings it back healthy.
    let out = lwc.run(&["kill", "a"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_gone(&[first[0]], Duration::from_secs(5));
    assert_eq!(lwc.pid("a"), None);
    let out = lwc.run(&["kill", "a"]);
    assert!(!out.status.success() && text(&out).contains("a is not running"), "{}", text(&out));
    let out = lwc.run(&["start", "a"]);
    assert!(out.status.success() && text(&out).contains("a ready"), "{}", text(&out));
    let a2 = lwc.pid("a").unwrap();
    assert_ne!(a2, first[0]);
    healthy(&client, "a").await;

    // restart-nats: a new server on the same port, and the hosts come back.
    let out = lwc.run(&["restart-nats"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_gone(&[first[2]], Duration::from_secs(5));
    assert_ne!(lwc.pid("nats"), Some(first[2]));
    let client = lwc.client().await;
    healthy(&client, "a").await;
    healthy(&client, "control").await;

    // down: nothing of the ring is left.
    let out = lwc.run(&["down"]);
    assert!(out.status.success(), "{}", text(&out));
    wait_gone(&[a2, first[1], lwc.pid("nats").unwrap_or(0)], Duration::from_secs(15));
    assert!(!lwc.state().join("ring.env").exists());
    assert!(processes_mentioning(&lwc.root()).is_empty());
    assert!(text(&lwc.run(&["status"])).contains("no ring is up"));
}

/// The NATS URL a process was started with (its LWC_NATS_URL).
fn nats_url_of(pid: u32) -> String {
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    env.split(|b| *b == 0)
        .find_map(|kv| String::from_utf8_lossy(kv).strip_prefix("LWC_NATS_URL=").map(str::to_string))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_ring_on_a_cluster_survives_a_server_restart() {
    let lwc = Lwc::new();
    let mut up = lwc.up_args();
    up.extend(["--size", "3", "--cluster", "2", "--detach"].map(String::from));
    let out = lwc.run(&up.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("cluster of 2 servers meshed"), "{}", text(&out));
    let manifest = std::fs::read_to_string(lwc.state().join("ring-3.toml")).unwrap();
    assert!(manifest.contains("[links.p003]\ndefault = \"p001\""), "{manifest}");
    let hosts = ["control", "p001", "p002", "p003"];
    for name in hosts.iter().chain(&["nats", "nats-2"]) {
        assert!(lwc.pid(name).is_some(), "{name}.pid: {}", text(&out));
    }
    // Spread over both servers; ring.env names server 1.
    let urls: std::collections::BTreeSet<String> = hosts.iter().map(|h| nats_url_of(lwc.pid(h).unwrap())).collect();
    assert_eq!(urls.len(), 2, "{urls:?}");
    assert!(urls.contains(&lwc.env("LWC_NATS_URL")), "{urls:?}");

    let client = lwc.client().await;
    let tap = lwc_tests::Tap::start(&client, "lwc.default.events.packet").await.unwrap();
    let old = lwc.pid("nats-2").unwrap();
    let out = lwc.run(&["restart-nats", "--server", "2"]);
    assert!(out.status.success() && text(&out).contains("meshed"), "{}", text(&out));
    wait_gone(&[old], Duration::from_secs(5));
    assert_ne!(lwc.pid("nats-2"), Some(old));
    let out = lwc.run(&["restart-nats", "--server", "3"]);
    assert!(!out.status.success() && text(&out).contains("this ring has 2 nats-server(s)"), "{}", text(&out));

    // Packets cross both servers: every one expires.
    let mut beats = Heartbeats::subscribe(&client, "default").await.unwrap();
    beats.until(Duration::from_secs(20), "every host connected", |hbs| {
        hosts.iter().all(|h| hbs.iter().any(|b| b.host == *h && b.connected))
    }).await.unwrap();
    let out = lwc.run(&["inject", "--count", "8", "--ttl", "30"]);
    assert!(out.status.success(), "{}", text(&out));
    let events = tap.wait_until(Duration::from_secs(30), "8 expired", |e| {
        e.iter().filter(|e| matches!(e, lwc_wire::events::PacketEvent::Expired(_))).count() >= 8
    }).await;
    assert!(!events.iter().any(|e| matches!(e, lwc_wire::events::PacketEvent::Lost(_))), "{events:?}");

    // kill and start one host of it; down leaves nothing.
    let out = lwc.run(&["kill", "p002"]);
    assert!(out.status.success(), "{}", text(&out));
    let out = lwc.run(&["start", "p002"]);
    assert!(out.status.success() && text(&out).contains("p002 ready"), "{}", text(&out));
    let out = lwc.run(&["down"]);
    assert!(out.status.success(), "{}", text(&out));
    let none_left = wait::until(Duration::from_secs(15), "no process of the ring left", || {
        Ok(processes_mentioning(&lwc.root()).is_empty().then_some(()))
    });
    none_left.unwrap_or_else(|e| panic!("{e}: {:?}", processes_mentioning(&lwc.root())));
    assert!(!lwc.state().join("nats-2.pid").exists() && !lwc.state().join("nats-2.conf").exists());
}

/// Start `lwc up` attached (logs view: no terminal) and wait for "ring up".
fn up_attached(lwc: &Lwc) -> (Child, BufReader<std::process::ChildStderr>) {
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
        assert!(n > 0, "lwc up ended before the ring was up: {seen}");
        seen.push_str(&line);
        if line.contains("ring up") {
            return (child, err);
        }
    }
}

#[test]
fn ctrl_c_stops_what_an_attached_up_started() {
    let lwc = Lwc::new();
    let (mut child, _err) = up_attached(&lwc);
    let pids = lwc.pids();
    // SAFETY: kill(2) on our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "Ctrl-C exit status");
    wait_gone(&pids, Duration::from_secs(15));
    assert!(!lwc.state().join("ring.env").exists(), "state files removed");
}

#[test]
fn killing_the_supervisor_leaves_no_orphans() {
    let lwc = Lwc::new();
    let (mut child, _err) = up_attached(&lwc);
    // A host restarted by another lwc call must die with the supervisor too.
    let out = lwc.run(&["start", "a"]);
    assert!(out.status.success(), "{}", text(&out));
    let pids = lwc.pids();
    let ours = processes_mentioning(&lwc.root());
    assert!(ours.len() >= 4, "supervisor, a, control, nats (and a guard): {ours:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    wait_gone(&pids, Duration::from_secs(15));
    let none_left = wait::until(Duration::from_secs(15), "no process of the ring left", || {
        Ok(processes_mentioning(&lwc.root()).is_empty().then_some(()))
    });
    if let Err(e) = none_left {
        panic!("{e}: orphans: {:?}", processes_mentioning(&lwc.root()));
    }
    // The stale files are recognised as a ring that is gone.
    assert!(text(&lwc.run(&["status"])).contains("no ring is up"));
}

#[test]
fn bad_input_gets_clear_errors_and_starts_nothing() {
    let lwc = Lwc::new();
    for args in [&["--help"][..], &["up", "--help"], &["down", "--help"], &["kill", "--help"], &["start", "--help"],
                 &["restart-nats", "--help"], &["status", "--help"], &["inject", "--help"], &["dash", "--help"],
                 &["experiment", "--help"]] {
        let out = lwc.run(args);
        assert!(out.status.success() && text(&out).contains("Usage: lwc"), "{args:?}: {}", text(&out));
    }
    let out = lwc.run(&["inject", "--chaos", "101"]);
    assert!(!out.status.success() && text(&out).contains("--chaos"), "{}", text(&out));
    let out = lwc.run(&["up", "--http-port", "0"]);
    assert!(!out.status.success() && text(&out).contains("--http-port"), "{}", text(&out));
    for (args, says) in [(&["up", "--size", "1"][..], "1 is not in 2..=1000"), (&["up", "--size", "1001"], "--size"),
                         (&["up", "--cluster", "6"], "6 is not in 1..=5"), (&["restart-nats", "--server", "0"], "--server")] {
        let out = lwc.run(args);
        assert!(!out.status.success() && text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    let out = lwc.run(&["launch"]);
    assert!(!out.status.success() && text(&out).contains("unrecognized subcommand"), "{}", text(&out));

    let out = lwc.run(&["kill", "zz"]);
    assert!(text(&out).contains("unknown host \"zz\"") && text(&out).contains("a, control"), "{}", text(&out));
    let out = lwc.run(&["status"]);
    assert!(!out.status.success() && text(&out).contains("no ring is up"), "{}", text(&out));

    // A busy HTTP port names the process holding it: this test.
    let holder = std::net::TcpListener::bind(("127.0.0.1", lwc.http_port)).unwrap();
    let out = lwc.run(&lwc.up_args().iter().map(String::as_str).collect::<Vec<_>>());
    assert!(!out.status.success() && text(&out).contains(&format!("pid {}", std::process::id())), "{}", text(&out));
    drop(holder);

    let mut up = lwc.up_args();
    up.push("--detach".into());
    let up: Vec<&str> = up.iter().map(String::as_str).collect();
    let out = lwc.cmd(&up).env("LWC_NATS_SERVER", "/nonexistent/nats-server").output().unwrap();
    assert!(!out.status.success() && text(&out).contains("scripts/setup.sh"), "{}", text(&out));

    let bad = lwc.dir.path().join("bad.toml");
    std::fs::write(&bad, "[hosts.a]\n[components.x]\nhost = \"b\"\nwasm = \"x.wasm\"\n").unwrap();
    let out = lwc.cmd(&up).arg("--manifest").arg(&bad).output().unwrap();
    let msg = text(&out);
    assert!(!out.status.success() && msg.contains("bad.toml: line 3, column 8: components.x.host"), "{msg}");
    assert!(!lwc.state().join("nats.pid").exists(), "nothing started");
    assert!(processes_mentioning(&lwc.root()).is_empty());
}

#[test]
fn dash_and_experiment_hand_over_to_their_binaries() {
    let lwc = Lwc::new();
    // Flags after `--` go to lwc-dash itself.
    let out = lwc.run(&["dash", "--", "--help"]);
    assert!(out.status.success() && text(&out).contains("lwc-dash"), "{}", text(&out));
    // lwc-lab (lab/) may or may not be built: either it refuses the missing
    // file, or lwc says it is missing and how to build it.
    let out = lwc.run(&["experiment", "/nonexistent/x.toml"]);
    let msg = text(&out);
    assert!(!out.status.success(), "{msg}");
    if release_dir().join("lwc-lab").exists() {
        assert!(msg.contains("x.toml"), "lwc-lab names the file: {msg}");
    } else {
        assert!(msg.contains("lwc-lab not found") && msg.contains("cargo build --release -p lwc-lab"), "{msg}");
    }
}

#[test]
fn ring_sh_keeps_its_flags() {
    let ring_sh = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/ring.sh");
    let run = |args: &[&str]| Command::new(&ring_sh).args(args).env("LWC_NO_BUILD", "1").stdin(Stdio::null()).output().unwrap();
    let help = text(&run(&["--help"]));
    for flag in ["--detach", "--stop", "--start HOST", "--kill HOST", "--restart-nats", "--size N", "--cluster K", "--server I", "LWC_DIR", "LWC_MANIFEST", "LWC_DASH",
                 "LWC_NO_BUILD", "LWC_READY_TIMEOUT", "LWC_NATS_SERVER", "LWC_HOST_BIN", "LWC_HOST_ARGS"] {
        assert!(help.contains(flag), "--help mentions {flag}: {help}");
    }
    let out = run(&["--bogus"]);
    assert!(!out.status.success() && text(&out).contains("unknown argument '--bogus'"), "{}", text(&out));
    // Checked before anything touches the repo's .lwc/: the hosts are listed.
    let out = run(&["--kill"]);
    assert!(!out.status.success() && text(&out).contains("missing HOST") && text(&out).contains("north"), "{}", text(&out));
}
