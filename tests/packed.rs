//! Many hosts per process (DESIGN, Host runtime): one `lwc-host` runs
//! north, south and east (`--host north,south,east`), sharing one engine
//! and one compiled probe; each is still its own lattice member. West and
//! control run alone. Dropping one packed host (the drop request `lwc kill`
//! sends) looks like `kill -9` from the lattice; its neighbours go on.

use lwc_tests::{assert_one_fate_each, fates, packet_ids, settled_fates, Ring, RingOpts};
use std::time::Duration;

const PACKED: &str = "north,south,east";

fn packed_ring(extra: &[&str]) -> RingOpts {
    let mut opts = RingOpts {
        hosts: vec![PACKED, "west", "control"],
        ..RingOpts::default()
    };
    // Faster failure detection: 2 s to pass a packet on.
    opts.host_args.extend(["--finish-timeout-ms", "2000"].map(String::from));
    opts.host_args.extend(extra.iter().map(|s| s.to_string()));
    opts
}

fn proc<'a>(ring: &'a mut Ring, name: &str) -> &'a mut lwc_tests::Proc {
    ring.hosts.iter_mut().find(|p| p.name == name).expect("process started")
}

async fn inject(ring: &Ring, body: &str) -> Vec<u64> {
    let (status, answer) = ring.post("/packets", body);
    assert_eq!(status, 200, "{answer}");
    packet_ids(&answer)
}

/// Ask host `host` of process `pid` to drop; the answer as JSON.
async fn drop_request(ring: &Ring, host: &str, pid: u32) -> serde_json::Value {
    let client = ring.client().await.unwrap();
    let subject = lwc_wire::subjects::host_drop(&ring.lattice, host);
    let body = serde_json::json!({ "pid": pid }).to_string();
    let answer = client.request(subject, body.into()).await.expect("an answer to the drop request");
    serde_json::from_slice(&answer.payload).unwrap()
}

/// Whether a health request for `host` finds nobody (its connection is gone).
async fn no_responder(ring: &Ring, host: &str) -> bool {
    let client = ring.client().await.unwrap();
    let subject = lwc_wire::subjects::health(&ring.lattice, host);
    let asked = tokio::time::timeout(Duration::from_millis(500), client.request(subject, "".into())).await;
    matches!(asked, Ok(Err(e)) if e.kind() == async_nats::client::RequestErrorKind::NoResponders)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_in_one_process_serve_the_ring_and_drain_together() {
    let mut ring = Ring::start_with(packed_ring(&[])).await.unwrap();
    let tap = ring.tap().await.unwrap();
    // Every hop visits the packed hosts; each is its own member.
    let hbs = ring
        .wait_heartbeats(Duration::from_secs(20), "heartbeats of all five", |hbs| hbs.len() == 5)
        .await;
    let names: Vec<&str> = hbs.iter().map(|h| h.host.as_str()).collect();
    assert_eq!(names, ["control", "east", "north", "south", "west"]);
    let ids = inject(&ring, r#"{"ttl":200,"count":20}"#).await;
    let events = tap
        .wait_until(Duration::from_secs(60), "every packet to expire", |evs| {
            let f = fates(evs);
            ids.iter().all(|id| f.contains_key(id))
        })
        .await;
    let f = fates(&events);
    assert_one_fate_each(&f, &ids);
    let lost: Vec<&String> = ids.iter().flat_map(|id| &f[id]).filter(|s| s.starts_with("lost")).collect();
    assert!(lost.is_empty(), "nothing is lost on a healthy ring: {lost:#?}");
    let served = ring
        .wait_heartbeats(Duration::from_secs(10), "hops counted on each packed host", |hbs| {
            ["north", "south", "east"]
                .iter()
                .all(|n| hbs.iter().any(|h| h.host == *n && h.counters.invocations > 0))
        })
        .await;
    assert!(served.iter().all(|h| h.connected), "{served:#?}");

    // SIGTERM drains the three, then the process exits 0.
    proc(&mut ring, PACKED).signal(libc::SIGTERM).unwrap();
    let status = proc(&mut ring, PACKED).wait_exit(Duration::from_secs(30)).unwrap();
    let log = std::fs::read_to_string(&proc(&mut ring, PACKED).log).unwrap();
    assert!(status.success(), "{status:?}\n{}", ring.log_tail(PACKED));
    assert_eq!(log.matches("drained in").count(), 3, "{}", ring.log_tail(PACKED));
    for host in ["north", "south", "east"] {
        assert!(log.contains(&format!("host{{name={host}}}")), "{host}'s lines carry its name");
    }
    assert!(log.contains("every host of this process is ready hosts=3"), "{}", ring.log_tail(PACKED));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_one_packed_host_with_20_in_flight_gives_each_packet_one_fate() {
    let mut ring = Ring::start_with(packed_ring(&[])).await.unwrap();
    let pid = proc(&mut ring, PACKED).pid().unwrap();
    // A request meant for another process is refused; east stays.
    let refused = drop_request(&ring, "east", pid + 1).await;
    assert_eq!(refused["dropped"], false, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains(&format!("not {}", pid + 1)), "{refused}");

    let tap = ring.tap().await.unwrap();
    let ids = inject(&ring, r#"{"ttl":3000,"count":20}"#).await;
    ring.wait_heartbeats(Duration::from_secs(20), "hops under way on east", |hbs| {
        hbs.iter().any(|h| h.host == "east" && h.counters.invocations > 200)
    })
    .await;
    let answer = drop_request(&ring, "east", pid).await;
    assert_eq!(answer["dropped"], true, "{answer}");
    // Its connection closes with it: nobody answers its health subject.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !no_responder(&ring, "east").await {
        assert!(tokio::time::Instant::now() < deadline, "east still answers health requests 10 s after its drop");
    }
    assert!(proc(&mut ring, PACKED).is_running(), "the process lives on for north and south");

    // Every packet ends once: those east held are lost (it died holding
    // them), the others expire or are lost on the way to east.
    tap.wait_until(Duration::from_secs(60), "every packet to get a fate", |evs| {
        let f = fates(evs);
        ids.iter().all(|id| f.contains_key(id))
    })
    .await;
    // East again, in a process of its own (as `lwc start east` does).
    ring.start_host("east").unwrap();
    ring.wait_ready("east", Duration::from_secs(60)).unwrap();
    let f = settled_fates(&ring, &tap, &ids, Duration::from_secs(60)).await;
    assert_one_fate_each(&f, &ids);

    // North and south served on: heartbeats keep coming, counters moving.
    let before = ring.heartbeats().await.unwrap();
    let count = |hbs: &[lwc_wire::status::Heartbeat], n: &str| hbs.iter().find(|h| h.host == n).map(|h| h.counters.invocations);
    let (north0, south0) = (count(&before, "north"), count(&before, "south"));
    assert!(north0.is_some() && south0.is_some(), "{before:#?}");
    // control → east → north → west → south → east.
    let marker = inject(&ring, r#"{"ttl":4}"#).await;
    tap.wait_until(Duration::from_secs(20), "a packet through north and south", |evs| fates(evs).contains_key(&marker[0])).await;
    let after = ring
        .wait_heartbeats(Duration::from_secs(10), "north and south to count new hops", |hbs| {
            count(hbs, "north") > north0 && count(hbs, "south") > south0
        })
        .await;
    assert!(after.iter().filter(|h| h.host == "north" || h.host == "south").all(|h| h.connected && !h.down));
    let log = std::fs::read_to_string(&proc(&mut ring, PACKED).log).unwrap();
    assert!(log.contains("dropping this host at once"), "{}", ring.log_tail(PACKED));
    assert!(!log.contains("drained in"), "a dropped host does not drain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_task_in_one_packed_host_ends_the_process_non_zero() {
    let mut opts = packed_ring(&["--test-fail-task", "dispatcher south"]);
    opts.hosts.clear();
    let mut ring = Ring::start_with(opts).await.unwrap();
    // It dies right after it is ready: not waited for.
    ring.start_host(PACKED).unwrap();
    let status = proc(&mut ring, PACKED).wait_exit(Duration::from_secs(30)).unwrap();
    let tail = ring.log_tail(PACKED);
    assert_eq!(status.code(), Some(1), "{tail}");
    assert!(tail.contains("host south") && tail.contains("\"dispatcher south\" panicked"), "{tail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_start_loads_from_the_compile_cache_and_a_damaged_entry_is_compiled_again() {
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap().to_string();
    let mut ring = Ring::start_with(RingOpts {
        hosts: vec![PACKED],
        host_args: vec!["--compile-cache".into(), dir.clone()],
        ..RingOpts::default()
    })
    .await
    .unwrap();
    let log = proc(&mut ring, PACKED).log.clone();
    let read = || std::fs::read_to_string(&log).unwrap();
    assert!(read().contains("compile cache dir") && read().contains("hits=0 misses=1"), "{}", read());

    proc(&mut ring, PACKED).kill();
    ring.start_host(PACKED).unwrap();
    ring.wait_ready(PACKED, Duration::from_secs(60)).unwrap();
    assert!(read().contains("loaded from the compile cache"), "{}", read());
    assert!(read().contains("hits=1 misses=0"), "{}", read());

    // Damage the entry: the next start compiles again and still serves.
    let entry = std::fs::read_dir(cache.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .expect("a cache entry");
    let mut bytes = std::fs::read(&entry).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&entry, bytes).unwrap();
    proc(&mut ring, PACKED).kill();
    ring.start_host(PACKED).unwrap();
    ring.wait_ready(PACKED, Duration::from_secs(60)).unwrap();
    assert!(read().contains("compile cache entry unusable, compiling again: checksum mismatch"), "{}", read());
    assert_eq!(read().matches("hits=0 misses=1").count(), 2, "{}", read());
}
