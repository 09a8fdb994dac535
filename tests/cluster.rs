//! Many machines, stood in for by three network namespaces on a bridge:
//! a 3-server NATS cluster (one server per namespace), seven hosts spread
//! over them, and 64 packets in flight while one NATS server is killed.
//! Every packet must expire, with exactly one fate each, counted on the
//! event stream `lwc.<l>.events.packet`. The hosts of the dead server's
//! namespace reconnect to a survivor they learnt from the cluster.
//!
//! Needs root and `ip` (CI runs as root); elsewhere it says why and skips.
//! Every namespace and interface it made is gone afterwards, also when it
//! fails (the lab's drop removes them).

use lwc_tests::{host_bin, nats_server_bin, wasm, Heartbeats, Proc, Tap};
use lwc_testkit::cluster::{NatsCluster, Place};
use lwc_testkit::host::{wait_ready, HostCmd};
use lwc_testkit::netns::{link_exists, netns_exists, NetLab};
use lwc_wire::events::PacketEvent;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

const LATTICE: &str = "cluster";
const PACKETS: usize = 64;
/// Long enough that every packet is still in flight when the server dies.
const TTL: u64 = 500;
const NATS_PORT: u16 = 4222;
const ROUTE_PORT: u16 = 6222;
const HTTP_PORT: u16 = 30000;

/// Namespace of each host: control and two probes on 0, two on 1 and 2.
/// The ring crosses a namespace on every hop: a0 → a1 → a2 → b0 → b1 → b2 → a0.
const HOSTS: [(&str, usize); 7] = [("control", 0), ("a0", 0), ("b0", 0), ("a1", 1), ("b1", 1), ("a2", 2), ("b2", 2)];
const RING: [&str; 6] = ["a0", "a1", "a2", "b0", "b1", "b2"];

fn manifest(http: SocketAddr) -> String {
    let probe = wasm("lwc_probe").display().to_string();
    let mut t = format!("[lattice]\nname = \"{LATTICE}\"\n");
    for (h, _) in HOSTS {
        t += &format!("[hosts.{h}]\n");
    }
    t += &format!(
        "[components.control]\nhost = \"control\"\nwasm = {:?}\nhttp = \"{http}\"\n",
        wasm("lwc_control").display().to_string()
    );
    for (i, h) in RING.iter().enumerate() {
        let next = RING[(i + 1) % RING.len()];
        t += &format!("[components.{h}]\nhost = \"{h}\"\nwasm = {probe:?}\n[links.{h}]\ndefault = \"{next}\"\n");
    }
    t + "[links.control]\ndefault = \"a0\"\n"
}

/// Each packet's fates so far: id → number of `expired` + `lost` events.
fn fates(events: &[PacketEvent]) -> (BTreeMap<u64, usize>, Vec<String>) {
    let mut count = BTreeMap::new();
    let mut losses = Vec::new();
    for e in events {
        match e {
            PacketEvent::Expired(x) => *count.entry(x.packet).or_default() += 1,
            PacketEvent::Lost(l) => {
                *count.entry(l.packet).or_default() += 1;
                losses.push(format!("{} {:?} at {}", l.packet, l.reason, l.at));
            }
            _ => {}
        }
    }
    (count, losses)
}

fn post_packets(http: SocketAddr, token: &str, body: &str) -> Vec<u64> {
    let answer = ureq::post(&format!("http://{http}/packets"))
        .set("Authorization", &format!("Bearer {token}"))
        .send_string(body)
        .unwrap_or_else(|e| panic!("POST /packets: {e}"));
    let json: serde_json::Value = serde_json::from_str(&answer.into_string().unwrap()).unwrap();
    json["packets"].as_array().unwrap().iter().map(|p| p.as_u64().unwrap()).collect()
}

/// Every host is heard through server 0 (a heartbeat crossed the routes)
/// and answers its health request there.
async fn all_healthy(client: &async_nats::Client) {
    let mut beats = Heartbeats::subscribe(client, LATTICE).await.unwrap();
    beats
        .until(Duration::from_secs(30), "a heartbeat from every host through server 0", |hbs| {
            HOSTS.iter().all(|(h, _)| hbs.iter().any(|b| b.host == *h))
        })
        .await
        .unwrap();
    for (h, _) in HOSTS {
        let subject = lwc_wire::subjects::health(LATTICE, h);
        let answer = tokio::time::timeout(Duration::from_secs(5), client.request(subject, "".into())).await;
        let msg = answer.unwrap_or_else(|_| panic!("{h}: no health answer")).unwrap_or_else(|e| panic!("{h}: {e}"));
        let health: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap();
        assert_eq!(health["healthy"], true, "{h}: {health}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_server_dies_under_64_packets_and_none_is_lost() {
    if let Some(why) = NetLab::unavailable() {
        eprintln!("SKIPPED tests/cluster.rs: {why}; it needs root and iproute2 to make network namespaces");
        return;
    }
    let lab = match NetLab::new(3) {
        Ok(lab) => lab,
        // Root in a container without CAP_SYS_ADMIN / CAP_NET_ADMIN.
        Err(e) if format!("{e:#}").contains("Operation not permitted") => {
            eprintln!("SKIPPED tests/cluster.rs: cannot make network namespaces here: {e:#}");
            return;
        }
        Err(e) => panic!("cannot make three network namespaces: {e:#}"),
    };
    let (links, namespaces) = lab.made();
    run(&lab).await;
    drop(lab);
    for l in links {
        assert!(!link_exists(&l), "interface {l} left behind");
    }
    for ns in namespaces {
        assert!(!netns_exists(&ns), "namespace {ns} left behind");
    }
}

/// Everything started here is dropped (killed) before the lab goes.
async fn run(lab: &NetLab) {
    let dir = tempfile::tempdir().unwrap();
    let places = (0..3)
        .map(|i| Place { prefix: lab.exec_prefix(i), client: SocketAddr::from((lab.ip(i), NATS_PORT)), route_port: ROUTE_PORT })
        .collect();
    let mut cluster = NatsCluster::start(&nats_server_bin(), dir.path(), places).expect("a meshed 3-server cluster");
    let http = SocketAddr::from((lab.ip(0), HTTP_PORT));
    let manifest_path = dir.path().join("ring.toml");
    std::fs::write(&manifest_path, manifest(http)).unwrap();
    let api_token = format!("api{}", lwc_wire::now_ns());
    let hosts: Vec<Proc> = HOSTS.iter().map(|(h, ns)| start_host(lab, &cluster, dir.path(), &manifest_path, h, *ns, &api_token)).collect();

    let client = cluster.client(0).await.unwrap();
    all_healthy(&client).await;
    let tap = Tap::start(&client, &lwc_wire::subjects::packet_events(LATTICE)).await.unwrap();
    let ids = post_packets(http, &api_token, &format!("{{\"ttl\":{TTL},\"count\":{PACKETS}}}"));
    assert_eq!(ids.len(), PACKETS);
    tap.wait_until(Duration::from_secs(10), "64 injected events", |e| {
        e.iter().filter(|e| matches!(e, PacketEvent::Injected(_))).count() >= PACKETS
    })
    .await;
    let (done, _) = fates(&tap.events());
    assert!(done.len() < PACKETS / 2, "the packets are in flight when the server dies: {} done already", done.len());
    cluster.kill(1);
    let killed_ns = lwc_wire::now_ns();
    let mut beats = Heartbeats::subscribe(&client, LATTICE).await.unwrap();
    eprintln!("killed nats-server 1 (namespace {}) with {} of {PACKETS} packets in flight", lab.namespaces[1], PACKETS - done.len());

    let events = tap
        .wait_until(Duration::from_secs(120), "a fate for every packet", |e| {
            let (count, _) = fates(e);
            ids.iter().all(|id| count.contains_key(id))
        })
        .await;
    // The hosts of namespace 1 are back, through another server.
    beats
        .until(Duration::from_secs(20), "a heartbeat from every host after the kill", |hbs| {
            HOSTS.iter().all(|(h, _)| hbs.iter().any(|b| b.host == *h && b.connected && b.at_ns > killed_ns))
        })
        .await
        .unwrap();
    let (_, losses) = fates(&events);
    assert!(losses.is_empty(), "no packet lost when one NATS server dies: {losses:?}");

    // A later packet's fate: any second fate of the 64 would have come by now.
    let marker = post_packets(http, &api_token, "{\"ttl\":6}")[0];
    let events = tap.wait_until(Duration::from_secs(30), "the marker's fate", |e| fates(e).0.contains_key(&marker)).await;
    let (count, losses) = fates(&events);
    for id in &ids {
        assert_eq!(count.get(id), Some(&1), "packet {id}: exactly one fate (losses: {losses:?})");
    }
    let expired = events.iter().filter(|e| matches!(e, PacketEvent::Expired(x) if ids.contains(&x.packet))).count();
    assert_eq!(expired, PACKETS, "all 64 expired");
    drop(hosts);
}

fn start_host(lab: &NetLab, cluster: &NatsCluster, dir: &Path, manifest: &Path, host: &str, ns: usize, api_token: &str) -> Proc {
    let ready = dir.join(format!("{host}.ready"));
    let log = dir.join(format!("{host}.log"));
    let cmd = HostCmd::new(&host_bin(), manifest, &cluster.url(ns), &cluster.token)
        .host(host)
        .prefix(lab.exec_prefix(ns))
        .envs([("LWC_LATTICE", LATTICE), ("LWC_API_TOKEN", api_token)]);
    let mut proc = cmd.spawn(host, &ready, &log).expect("start a host");
    wait_ready(&mut proc, &ready, Duration::from_secs(60), false).unwrap_or_else(|e| panic!("{e:#}"));
    proc
}
