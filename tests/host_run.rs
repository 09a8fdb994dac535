//! How a host runs and stops (DESIGN, Host runtime): it reports the port it
//! bound, exits non-zero when one of its tasks dies, drains on SIGTERM (the
//! hops it holds are passed on, none is dropped), and exits at once on a
//! second signal.

use lwc_tests::{fates, host_bin, packet_ids, ring_manifest, Nats, Ring, RingOpts};
use lwc_testkit::host::{wait_ready, HostCmd};
use std::time::Duration;

/// One host of scripts/ring.toml on a NATS server of its own.
struct Solo {
    dir: tempfile::TempDir,
    nats: Nats,
    manifest: std::path::PathBuf,
}

impl Solo {
    fn new() -> Solo {
        let dir = tempfile::tempdir().unwrap();
        let nats = Nats::start(dir.path()).unwrap();
        let manifest = dir.path().join("ring.toml");
        std::fs::write(&manifest, ring_manifest(30000, "default")).unwrap();
        Solo { dir, nats, manifest }
    }

    fn cmd(&self, host: &str) -> HostCmd {
        HostCmd::new(&host_bin(), &self.manifest, &self.nats.url, &self.nats.token).host(host)
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

#[test]
fn the_control_host_reports_the_port_it_bound() {
    let solo = Solo::new();
    let ready_file = solo.path("control.ready");
    let mut p = solo
        .cmd("control")
        .args(["--http", "127.0.0.1:0"])
        .spawn("control", &ready_file, &solo.path("control.log"))
        .unwrap();
    let ready = wait_ready(&mut p, &ready_file, Duration::from_secs(60), true).unwrap();
    assert_eq!(ready.pid, p.pid().unwrap());
    let addr = ready.http.expect("an http= line");
    assert!(addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"), "{addr}");
    let resp = ureq::get(&format!("http://{addr}/status")).call().unwrap();
    assert_eq!(resp.status(), 200);
}

#[test]
fn a_host_whose_task_dies_exits_non_zero() {
    let solo = Solo::new();
    let ready_file = solo.path("north.ready");
    let mut p = solo
        .cmd("north")
        .args(["--test-fail-task", "dispatcher north"])
        .spawn("north", &ready_file, &solo.path("north.log"))
        .unwrap();
    let status = p.wait_exit(Duration::from_secs(60)).unwrap();
    let log = p.log_tail(20);
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(log.contains("host task \"dispatcher north\" panicked"), "{log}");
    assert!(!ready_file.exists(), "a dead host takes its ready file away");
}

fn host<'a>(ring: &'a mut Ring, name: &str) -> &'a mut lwc_tests::Proc {
    ring.hosts.iter_mut().find(|p| p.name == name).expect("host started")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_passes_on_every_hop_the_host_holds() {
    let mut ring = Ring::start().await.unwrap();
    let tap = ring.tap().await.unwrap();
    // About 6 s of life each: north holds some of them at any moment.
    let (status, answer) = ring.post("/packets", r#"{"ttl":20000,"count":40}"#);
    assert_eq!(status, 200, "{answer}");
    let ids = packet_ids(&answer);
    ring.wait_heartbeats(Duration::from_secs(20), "hops under way on north", |hbs| {
        hbs.iter().any(|h| h.host == "north" && h.counters.invocations > 200)
    })
    .await;

    host(&mut ring, "north").signal(libc::SIGTERM).unwrap();
    let status = host(&mut ring, "north").wait_exit(Duration::from_secs(20)).unwrap();
    let log = ring.log_tail("north");
    assert!(status.success(), "a drained host exits 0: {status:?}\n{log}");
    assert!(log.contains("drained in"), "{log}");
    assert!(!ring.dir.path().join("north.ready").exists());

    // Every packet ends once. Those that came back to north after it left
    // are lost there (nobody took them); none was dropped by north itself,
    // which would read "north accepted hop … but never passed it on".
    // (The closure gets the events under the tap's lock: it must not ask
    // the tap again.)
    let events = tap
        .wait_until(Duration::from_secs(60), "every packet to get a fate", |evs| {
            let f = fates(evs);
            ids.iter().all(|id| f.contains_key(id))
        })
        .await;
    let f = fates(&events);
    let twice: Vec<_> = f.iter().filter(|(id, v)| ids.contains(id) && v.len() != 1).collect();
    assert!(twice.is_empty(), "one fate each: {twice:#?}");
    let dropped: Vec<&String> = f.values().flatten().filter(|s| s.contains("north accepted hop")).collect();
    assert!(dropped.is_empty(), "north dropped hops it had taken: {dropped:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_sigterm_exits_at_once() {
    // Long hop timeout: north's hops to a silent west stay pending ~14 s.
    let opts = RingOpts {
        host_args: vec!["--hop-timeout-ms".into(), "2000".into()],
        ..RingOpts::default()
    };
    let mut ring = Ring::start_with(opts).await.unwrap();
    let (status, answer) = ring.request("PUT", "/chaos", br#"{"host":"west","down_s":120}"#);
    assert_eq!(status, 200, "{answer}");
    // control → east → north → west, which takes nothing.
    let (status, answer) = ring.post("/packets", r#"{"ttl":100,"count":8}"#);
    assert_eq!(status, 200, "{answer}");
    ring.wait_heartbeats(Duration::from_secs(20), "north waiting on west", |hbs| {
        hbs.iter().any(|h| h.host == "north" && h.awaiting_ack > 0)
    })
    .await;

    host(&mut ring, "north").signal(libc::SIGTERM).unwrap();
    let log = host(&mut ring, "north").log.clone();
    lwc_tests::wait::until(Duration::from_secs(10), "north to start draining", || {
        Ok(std::fs::read_to_string(&log)?.contains("draining").then_some(()))
    })
    .unwrap();
    host(&mut ring, "north").signal(libc::SIGTERM).unwrap();
    // Well inside the ~14 s the drain would wait for west.
    let status = host(&mut ring, "north").wait_exit(Duration::from_secs(5)).unwrap();
    let tail = ring.log_tail("north");
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{tail}");
    assert!(tail.contains("exiting at once") && !tail.contains("drained in"), "{tail}");
}
