//! The control plane's tests, on a nats-server of their own: every host's
//! `ControlPlane` is built by `node::wire` on a client of its own, as
//! `serve` builds it, with its listener subscribed before the test goes on.
//! [`watch`] tests what only the control host does (`/status`, the ledger,
//! the census).

use async_nats::{Client, Subscriber};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

use super::{ChaosPatch, ControlPlane, CtlError};
use crate::chaos::{Chaos, ChaosSettings};
use crate::lattice::testing::{next, until, LATTICE};
use crate::lattice::HopPolicy;
use crate::ledger::Ledger;
use crate::links::Links;
use crate::otel::Otel;
use lwc_testkit::nats::round_trip;
use lwc_testkit::Nats;
use lwc_wire::ctl::{Ack, Change, ChaosWire, LinkWire};
use lwc_wire::status::Heartbeat;
use lwc_wire::subjects;

mod watch;

/// A nats-server, and the tasks of the hosts started on it.
struct Ring {
    nats: Nats,
    tasks: JoinSet<()>,
    _dir: tempfile::TempDir,
}

/// One host's control-plane parts, as `node::wire` made them.
struct Host {
    ctl: Arc<ControlPlane>,
    chaos: Arc<Chaos>,
    links: Links,
    ledger: Arc<Ledger>,
    client: Client,
}

impl Ring {
    async fn start() -> Ring {
        let dir = tempfile::tempdir().expect("a temp dir");
        let nats = Nats::start(dir.path()).expect("a nats-server (scripts/setup.sh or LWC_NATS_SERVER)");
        Ring { nats, tasks: JoinSet::new(), _dir: dir }
    }

    async fn client(&self) -> Client {
        self.nats.client().await.expect("a client")
    }

    /// Host `name` of `scripts/ring.toml`, its control-plane listener on
    /// the server before this returns.
    async fn host(&mut self, name: &str) -> Host {
        let client = self.client().await;
        let manifest = crate::node::testing::ring();
        let parts = crate::node::wire(
            Arc::from(name),
            client.clone(),
            &manifest,
            LATTICE,
            Arc::new(Otel::disabled()),
            HopPolicy::default(),
            Box::new(|| (true, 0)),
        );
        let sub = super::subscribe(&client, LATTICE).await.expect("ctl subscription");
        self.tasks.spawn(parts.ctl.clone().run_listener(sub));
        round_trip(&client).await.expect("a round trip");
        Host {
            ctl: parts.ctl,
            chaos: parts.chaos,
            links: parts.node.links.clone(),
            ledger: parts.ledger,
            client,
        }
    }

    /// The control host, watching heartbeats (so it waits for live hosts'
    /// acks) with its subscription registered.
    async fn control(&mut self) -> Host {
        let control = self.host("control").await;
        let hb = control.client.subscribe(format!("lwc.{LATTICE}.hosts.*.heartbeat")).await.expect("subscribe");
        self.tasks.spawn(control.ctl.clone().run_heartbeat_watch(hb));
        round_trip(&control.client).await.expect("a round trip");
        control
    }

    /// Subscribe a client of its own to `subject`, registered on return.
    async fn hear(&self, subject: &str) -> (Client, Subscriber) {
        let client = self.client().await;
        let sub = client.subscribe(subject.to_string()).await.expect("subscribe");
        round_trip(&client).await.expect("a round trip");
        (client, sub)
    }
}

/// Publish a heartbeat for each of `hosts` and wait until `control` has them.
async fn alive(control: &Host, peer: &Client, hosts: &[&str]) {
    for host in hosts {
        let hb = Heartbeat { host: host.to_string(), connected: true, ..Heartbeat::default() };
        let json = serde_json::to_vec(&hb).expect("json");
        peer.publish(subjects::heartbeat(LATTICE, host), json.into()).await.expect("publish");
    }
    round_trip(peer).await.expect("a round trip");
    until("the heartbeats at the control host", || {
        let status: serde_json::Value = serde_json::from_str(&control.ctl.status()).expect("status JSON");
        hosts.iter().all(|h| host_status(&status, h)["up"] == true)
    })
    .await;
}

/// Host `name`'s entry in a `/status` JSON.
fn host_status<'a>(status: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let hosts = status["hosts"].as_array().expect("hosts");
    hosts.iter().find(|h| h["host"] == name).unwrap_or_else(|| panic!("{name} in {status}"))
}

/// Host `host`'s chaos in a replica's view.
fn chaos_of(ctl: &ControlPlane, host: &str) -> ChaosSettings {
    let all = ctl.get_chaos();
    all.into_iter().find(|(h, _)| h == host).map(|(_, s)| s).expect("every manifest host")
}

/// The next control-plane ack heard on `_INBOX.>` (other inbox traffic skipped).
async fn next_ack(sub: &mut Subscriber) -> Ack {
    loop {
        let msg = next(sub, "a control-plane ack").await;
        if let Ok(ack) = serde_json::from_slice::<Ack>(&msg.payload) {
            return ack;
        }
    }
}

fn bad_request(result: Result<impl std::fmt::Debug, CtlError>) -> String {
    match result {
        Err(CtlError::BadRequest(msg)) => msg,
        other => panic!("expected a bad request, got {other:?}"),
    }
}

const DELAY: Duration = Duration::from_millis(250);

#[tokio::test]
async fn a_chaos_change_is_applied_and_acked_by_every_live_host_before_it_returns() {
    let mut ring = Ring::start().await;
    let control = ring.control().await;
    let east = ring.host("east").await;
    let west = ring.host("west").await;
    let (peer, mut acks) = ring.hear("_INBOX.>").await;
    alive(&control, &peer, &["east", "west"]).await;

    let patch = ChaosPatch { delay_ms: Some(250), ..ChaosPatch::default() };
    let all = control.ctl.set_chaos("east", patch).await.expect("set_chaos");
    assert!(all.iter().any(|(h, s)| h == "east" && s.delay_ms == 250), "{all:?}");
    // No wait here: set_chaos returned only once the live hosts had acked.
    assert_eq!(east.chaos.delay(), Some(DELAY), "east obeys its new chaos");
    assert_eq!(chaos_of(&west.ctl, "east").delay_ms, 250, "west's replica has it");
    assert_eq!(west.chaos.delay(), None, "west's own chaos is unchanged");
    assert_eq!(control.chaos.delay(), None);

    let mut acked = Vec::new();
    while acked.len() < 3 {
        let ack = next_ack(&mut acks).await;
        assert_eq!((ack.version, &ack.error), (1, &None), "{ack:?}");
        acked.push(ack.host);
    }
    acked.sort();
    assert_eq!(acked, ["control", "east", "west"]);

    // "*" sets every host of the manifest, one version each.
    let patch = ChaosPatch { trap: Some(100), ..ChaosPatch::default() };
    control.ctl.set_chaos("*", patch).await.expect("set_chaos *");
    assert!(east.chaos.trap_now() && west.chaos.trap_now() && control.chaos.trap_now());
    assert_eq!(east.chaos.delay(), Some(DELAY), "a patch keeps the settings it does not name");
    for (host, s) in west.ctl.get_chaos() {
        assert_eq!(s.trap, 100, "{host} in west's replica");
    }
    assert_eq!(west.ctl.state().version, 6, "1 + one per host");
}

#[tokio::test]
async fn a_bad_patch_is_refused_naming_the_field_and_changes_nothing_anywhere() {
    let mut ring = Ring::start().await;
    let control = ring.control().await;
    let east = ring.host("east").await;
    let (peer, mut acks) = ring.hear("_INBOX.>").await;
    alive(&control, &peer, &["east"]).await;

    let refusals = [
        ("east", ChaosPatch { trap: Some(101), ..ChaosPatch::default() }, "trap"),
        ("east", ChaosPatch { drop: Some(101), ..ChaosPatch::default() }, "drop"),
        ("east", ChaosPatch { down_s: Some(3601), ..ChaosPatch::default() }, "down_s"),
        ("*", ChaosPatch { down_s: Some(3601), ..ChaosPatch::default() }, "down_s"),
        ("nowhere", ChaosPatch { trap: Some(50), ..ChaosPatch::default() }, "unknown host \"nowhere\""),
    ];
    for (host, patch, field) in refusals {
        let msg = bad_request(control.ctl.set_chaos(host, patch).await);
        assert!(msg.contains(field), "{patch:?} on {host}: {msg:?} does not name {field}");
    }
    for ctl in [&control.ctl, &east.ctl] {
        assert_eq!(ctl.state().version, 0);
        assert!(ctl.get_chaos().iter().all(|(_, s)| *s == ChaosSettings::default()));
    }
    assert!(!east.chaos.is_down() && !east.chaos.trap_now());

    // The first change east ever hears is the next good one, version 1.
    let patch = ChaosPatch { down_s: Some(3600), ..ChaosPatch::default() };
    control.ctl.set_chaos("east", patch).await.expect("the edge of the range is fine");
    assert!(east.chaos.is_down());
    let mut acked = Vec::new();
    while acked.len() < 2 {
        let ack = next_ack(&mut acks).await;
        assert_eq!((ack.version, &ack.error), (1, &None), "{ack:?}");
        acked.push(ack.host);
    }
    acked.sort();
    assert_eq!(acked, ["control", "east"]);
    assert_eq!(chaos_of(&east.ctl, "east").trap, 0);
}

#[tokio::test]
async fn a_host_refuses_a_change_the_manifest_forbids_and_says_why_in_its_ack() {
    let mut ring = Ring::start().await;
    let east = ring.host("east").await;
    let (peer, mut acks) = ring.hear("_INBOX.>").await;
    let chaos = |host: &str, trap| Change::ChaosSet {
        version: 1,
        host: host.into(),
        chaos: ChaosWire { trap, ..ChaosWire::default() },
    };
    let link = |source: &str, name: &str| Change::LinkPut {
        version: 1,
        link: LinkWire { source: source.into(), name: name.into(), target: "west".into() },
    };
    let forged: [(String, Vec<u8>, &str); 5] = [
        (subjects::ctl_chaos(LATTICE), serde_json::to_vec(&chaos("nowhere", 0)).unwrap(), "unknown host"),
        (subjects::ctl_chaos(LATTICE), serde_json::to_vec(&chaos("east", 150)).unwrap(), "percentages"),
        (subjects::ctl_links(LATTICE), serde_json::to_vec(&link("nowhere", "default")).unwrap(), "unknown source"),
        (subjects::ctl_links(LATTICE), serde_json::to_vec(&link("north", "No Way")).unwrap(), "not 1-64"),
        (subjects::ctl_links(LATTICE), b"{\"op\":\"link-put\"".to_vec(), "bad control message"),
    ];
    for (subject, payload, why) in &forged {
        let reply = peer.new_inbox();
        peer.publish_with_reply(subject.clone(), reply, payload.clone().into()).await.expect("publish");
        let ack = next_ack(&mut acks).await;
        assert_eq!((ack.host.as_str(), ack.version), ("east", 0), "{ack:?}");
        let error = ack.error.unwrap_or_default();
        assert!(error.contains(why), "{error:?} does not say {why:?}");
    }
    assert_eq!(east.ctl.state().version, 0, "nothing applied");
    assert_eq!(east.links.resolve("north", "default").as_deref(), Some("west"));
    assert!(!east.chaos.trap_now());
    assert_eq!(east.ledger.counters.snapshot().rejected.get("ctl"), Some(&5));
}

#[tokio::test]
async fn a_late_joiner_syncs_the_links_and_chaos_in_force() {
    let mut ring = Ring::start().await;
    let control = ring.control().await;
    let east = ring.host("east").await;
    let patch = ChaosPatch { delay_ms: Some(250), ..ChaosPatch::default() };
    control.ctl.set_chaos("south", patch).await.expect("set_chaos");
    let link = LinkWire { source: "north".into(), name: "special".into(), target: "west".into() };
    control.ctl.put_link(link).await.expect("put_link");
    control.ctl.delete_link("west", "special").await.expect("delete_link");
    // East (no heartbeat, so not waited for) has them once its replica is at 3.
    until("east's replica at version 3", || east.ctl.state().version == 3).await;

    let south = ring.host("south").await;
    assert_eq!(south.chaos.delay(), None, "the manifest has no chaos");
    south.ctl.sync().await.expect("sync");
    assert_eq!(south.chaos.delay(), Some(DELAY), "south obeys the chaos set before it started");
    assert_eq!(south.links.resolve("north", "special").as_deref(), Some("west"));
    assert_eq!(south.links.resolve("west", "special"), None);
    assert_eq!(south.links.resolve("north", "default").as_deref(), Some("west"), "untouched links stay");
    assert_eq!(south.ctl.state(), control.ctl.state());
}

#[tokio::test]
async fn a_host_alone_keeps_its_manifest_after_sync() {
    let mut ring = Ring::start().await;
    let north = ring.host("north").await;
    north.ctl.sync().await.expect("sync with nobody else up");
    assert_eq!(north.ctl.state().version, 0);
    assert_eq!(north.links.resolve("north", "default").as_deref(), Some("west"));
}

#[tokio::test]
async fn links_with_an_unknown_source_or_name_are_refused_and_good_ones_reach_live_hosts() {
    let mut ring = Ring::start().await;
    let control = ring.control().await;
    let east = ring.host("east").await;
    let (peer, _acks) = ring.hear("_INBOX.>").await;
    alive(&control, &peer, &["east"]).await;
    let before = control.ctl.get_links();
    let link = |source: &str, name: &str| LinkWire { source: source.into(), name: name.into(), target: "east".into() };

    let msg = bad_request(control.ctl.put_link(link("nowhere", "default")).await);
    assert!(msg.contains("unknown source component \"nowhere\""), "{msg}");
    let msg = bad_request(control.ctl.put_link(link("north", "Not A Token")).await);
    assert!(msg.contains("Not A Token"), "{msg}");
    let msg = bad_request(control.ctl.delete_link("nowhere", "default").await);
    assert!(msg.contains("nowhere"), "{msg}");
    let msg = bad_request(control.ctl.delete_link("north", "nope").await);
    assert!(msg.contains("north has no link named \"nope\""), "{msg}");
    assert_eq!(control.ctl.get_links(), before);
    assert_eq!(east.ctl.get_links(), before);
    assert_eq!(east.ctl.state().version, 0);

    let links = control.ctl.put_link(link("north", "default")).await.expect("put_link");
    assert!(links.contains(&link("north", "default")), "{links:?}");
    assert_eq!(east.links.resolve("north", "default").as_deref(), Some("east"), "acked, so applied");
    control.ctl.delete_link("north", "special").await.expect("delete_link");
    assert_eq!(east.links.resolve("north", "special"), None);
    assert_eq!(east.ctl.get_links(), control.ctl.get_links());
}
