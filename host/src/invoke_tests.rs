use super::*;
use crate::wasm::imports::GuestHandles;
use std::sync::atomic::AtomicU64;
use crate::lattice::testing::{self as live, next_acks, next_event, next_hop, queued, Live};
use crate::lattice::HopPolicy;
use lwc_wire::acks::AckStatus::{Accepted, Done};
use lwc_wire::events::PacketEvent;
use std::time::Duration;

#[test]
fn only_a_forward_leaves_the_fate_to_the_next_holder() {
    assert!(!Fate::Forwarded.ended());
    assert!(!Fate::TrappedAfterForward("x".into()).ended());
    assert!(Fate::Expired.ended());
    assert!(Fate::Lost(LostReason::NoLink, String::new()).ended());
}

#[test]
fn fates_map_onto_the_metric_outcomes() {
    let lost = |r| Fate::Lost(r, String::new()).metric();
    assert_eq!(Fate::Forwarded.metric(), MetricOutcome::Forwarded);
    assert_eq!(Fate::TrappedAfterForward("x".into()).metric(), MetricOutcome::Trap);
    assert_eq!(Fate::Expired.metric(), MetricOutcome::Expired);
    assert_eq!(lost(LostReason::TrapBeforeForward), MetricOutcome::Trap);
    assert_eq!(lost(LostReason::Timeout), MetricOutcome::Timeout);
    assert_eq!(lost(LostReason::Dropped), MetricOutcome::Lost);
    assert_eq!(lost(LostReason::Overloaded), MetricOutcome::Lost);
}

#[test]
fn an_interrupt_is_a_timeout_and_any_other_error_a_trap_with_its_text() {
    assert!(matches!(classify(&wasmtime::Error::from(wasmtime::Trap::Interrupt)), Outcome::Timeout));
    match classify(&wasmtime::Error::from(wasmtime::Trap::UnreachableCodeReached)) {
        Outcome::Trap(msg) => assert!(msg.contains("unreachable"), "{msg}"),
        _ => panic!("unreachable code is a trap"),
    }
    match classify(&wasmtime::Error::msg("host said no")) {
        Outcome::Trap(msg) => assert_eq!(msg, "host said no"),
        _ => panic!("a host error is a trap"),
    }
}

// The run and settle paths, with the real release-built guests
// (`cargo build --release --target wasm32-wasip2 -p lwc-probe -p lwc-runaway`)
// on a lattice over a real nats-server: what each way a hop can end
// publishes, counts and acks. Host control sends each hop to east's `east`.

fn wasm(name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/wasm32-wasip2/release/{name}.wasm"))
}

/// East's `east`, running `guest`, fed by its receiver, and what the
/// test hears: acks to control, hops to north, the packet events.
struct East {
    node: Arc<Node>,
    live: Live,
    rt: Runtime,
    probe: ProbeComponent,
    queue: mpsc::Receiver<Inbound>,
    control: async_nats::Subscriber,
    north: async_nats::Subscriber,
    events: async_nats::Subscriber,
}

impl East {
    async fn start(guest: &str) -> East {
        let server = live::Server::start().await;
        let manifest = crate::node::testing::ring();
        let otel = Arc::new(crate::otel::Otel::disabled());
        let (client, probe) = (server.client.clone(), server.probe());
        let parts = crate::node::wire(Arc::from("east"), client, &manifest, live::LATTICE, otel, HopPolicy::default(), probe);
        let node = parts.node;
        let mut live = Live::around(server, parts.lattice, parts.acks_rx, parts.chaos).await;
        let limits = crate::wasm::runtime::Limits {
            max_memory: 16 << 20,
            deadline: Duration::from_millis(100),
            max_instances: 8,
        };
        let rt = Runtime::new(limits, 0).unwrap();
        let pre = rt.load_probe(&wasm(guest)).unwrap();
        let queue = live.receiver("east", 8).await;
        let control = live.acks_to("control").await;
        let north = live.hops_to("north").await;
        let events = live.events().await;
        East {
            probe: ProbeComponent::new(GuestHandles::new(&node, Arc::from("east")), pre, 1),
            node,
            live,
            rt,
            queue,
            control,
            north,
            events,
        }
    }

    fn node(&self) -> &Arc<Node> {
        &self.node
    }

    /// Hop `hop_id` of `packet` from control, as east's receiver takes it.
    async fn take(&mut self, hop: &live::Hop) -> Inbound {
        self.live.send_hop("east", hop).await;
        assert_eq!(next_acks(&mut self.control, "accepted").await, vec![(hop.inv.hop_id, Accepted)]);
        queued(&mut self.queue, "the hop").await
    }

    async fn run(&mut self, hop: &live::Hop) {
        let inbound = self.take(hop).await;
        self.probe.run(&self.rt, &self.node, inbound).await;
    }

    /// The next fate published (hop events skipped).
    async fn fate(&mut self) -> PacketEvent {
        next_event(&mut self.events, "a fate", |ev| match ev {
            PacketEvent::Expired(_) | PacketEvent::Lost(_) => Some(ev),
            _ => None,
        })
        .await
    }

    async fn lost(&mut self) -> lwc_wire::events::Lost {
        match self.fate().await {
            PacketEvent::Lost(l) => l,
            other => panic!("expected a loss, got {other:?}"),
        }
    }

    /// A hop that expires here: its fate is the next one published, so no
    /// other fate came before it.
    async fn then_only_the_marker(&mut self) {
        self.run(&live::Hop::new("control", 999, 999, 0)).await;
        match self.fate().await {
            PacketEvent::Expired(x) => assert_eq!(x.packet, 999, "no other fate before the marker's"),
            other => panic!("expected the marker's expiry, got {other:?}"),
        }
    }

    fn count(&self, c: impl Fn(&crate::ledger::Counters) -> &AtomicU64) -> u64 {
        c(&self.node().ledger().counters).load(Relaxed)
    }
}

fn hop(hop_id: u64, packet: u64, ttl: u64) -> live::Hop {
    live::Hop::new("control", hop_id, packet, ttl)
}

#[tokio::test]
async fn an_ok_hop_at_ttl_zero_expires_here_and_is_done_at_once() {
    let mut east = East::start("lwc_probe").await;
    let mut last = hop(1, 100, 0);
    last.trace = true;
    east.run(&last).await;
    let seen = next_event(&mut east.events, "the hop event", |ev| match ev {
        PacketEvent::Hop(h) => Some(h),
        _ => None,
    })
    .await;
    assert_eq!((seen.packet, seen.from.as_str(), seen.to.as_str(), seen.host.as_str()), (100, "control", "east", "east"));
    assert_eq!(seen.outcome, HopOutcome::Ok);
    match east.fate().await {
        PacketEvent::Expired(x) => assert_eq!((x.packet, x.hops, x.host.as_str()), (100, 2, "east")),
        other => panic!("expected an expiry, got {other:?}"),
    }
    assert_eq!(next_acks(&mut east.control, "done").await, vec![(1, Done)]);
    assert_eq!((east.count(|c| &c.invocations), east.count(|c| &c.ok), east.count(|c| &c.expired)), (1, 1, 1));
}

#[tokio::test]
async fn a_forwarded_hop_is_done_only_once_the_next_holder_takes_it() {
    let mut east = East::start("lwc_probe").await;
    let first = hop(1, 100, 3);
    east.run(&first).await;
    let (inv, ctx) = next_hop(&mut east.north, "the forward").await;
    assert_eq!((inv.packet, inv.ttl, inv.hops, ctx.caller.as_str()), (100, 2, 3, "east"));
    // Still held here: control's re-send is acked `accepted`, not `done`.
    east.live.send_hop("east", &first).await;
    assert_eq!(next_acks(&mut east.control, "accepted again").await, vec![(1, Accepted)]);
    let acks = lwc_wire::subjects::acks(east.live.name(), "east");
    east.live.send(acks, lwc_wire::acks::encode("north", &[(inv.hop_id, Accepted)])).await;
    assert_eq!(next_acks(&mut east.control, "done").await, vec![(1, Done)]);
    assert_eq!(east.count(|c| &c.ok), 1);
    east.then_only_the_marker().await;
}

#[tokio::test]
async fn a_trap_after_the_forward_is_counted_and_the_packet_goes_on() {
    let mut east = East::start("lwc_probe").await;
    let mut trapping = hop(1, 100, 3);
    trapping.inv.chaos = 100;
    east.run(&trapping).await;
    let (inv, _) = next_hop(&mut east.north, "the forward").await;
    assert_eq!((inv.packet, inv.ttl), (100, 2));
    assert_eq!((east.count(|c| &c.trap), east.count(|c| &c.ok)), (1, 0));
    assert_eq!(east.node().lattice.awaiting_ack(), 1, "the forward is watched");
    east.then_only_the_marker().await;
}

#[tokio::test]
async fn a_host_trap_before_the_forward_loses_the_packet_here() {
    let mut east = East::start("lwc_probe").await;
    east.node().chaos.apply(lwc_wire::ctl::ChaosWire {
        trap: 100,
        ..Default::default()
    });
    east.run(&hop(1, 100, 3)).await;
    let lost = east.lost().await;
    assert_eq!((lost.packet, lost.reason, lost.at.as_str(), lost.hops), (100, LostReason::TrapBeforeForward, "east", 2));
    assert!(lost.detail.contains("chaos: host east trapped east before it forwarded"), "{}", lost.detail);
    assert_eq!(next_acks(&mut east.control, "done").await, vec![(1, Done)]);
    assert_eq!((east.count(|c| &c.trap), east.count(|c| &c.hops_sent)), (1, 0));

    // At the last stop a host trap is a loss too, not an expiry.
    east.run(&hop(2, 101, 0)).await;
    let lost = east.lost().await;
    assert_eq!((lost.packet, lost.reason), (101, LostReason::TrapBeforeForward));
    assert_eq!(lost.detail, "chaos: host east trapped east");
    assert_eq!(east.count(|c| &c.expired), 0);
}

#[tokio::test]
async fn a_guest_past_its_deadline_is_lost_as_a_timeout() {
    let mut east = East::start("lwc_runaway").await;
    let mut spin = hop(1, 100, 3);
    spin.inv.route = "spin".into();
    east.run(&spin).await;
    let lost = east.lost().await;
    assert_eq!((lost.packet, lost.reason), (100, LostReason::Timeout));
    assert_eq!(lost.detail, "east ran past its deadline");
    assert_eq!(next_acks(&mut east.control, "done").await, vec![(1, Done)]);
    assert_eq!((east.count(|c| &c.timeout), east.count(|c| &c.trap)), (1, 0));
}

#[tokio::test]
async fn a_forward_that_goes_nowhere_is_one_loss_and_done() {
    let mut east = East::start("lwc_probe").await;
    let mut nowhere = hop(1, 100, 3);
    nowhere.inv.route = "nowhere".into();
    east.run(&nowhere).await;
    let lost = east.lost().await;
    assert_eq!((lost.packet, lost.reason), (100, LostReason::NoLink));
    assert_eq!(lost.detail, r#"east has no link named "nowhere""#);
    assert_eq!(next_acks(&mut east.control, "done").await, vec![(1, Done)]);
    assert_eq!(east.count(|c| &c.ok), 1, "the guest itself ran fine");
    // Published once, by the forward: settling adds no second fate.
    east.then_only_the_marker().await;
    assert_eq!(east.node().ledger().counters.lost(LostReason::NoLink), 1);
}

#[tokio::test]
async fn a_hop_that_waited_too_long_is_lost_as_overloaded_without_running() {
    let mut east = East::start("lwc_probe").await;
    let mut inbound = east.take(&hop(1, 100, 3)).await;
    let half = east.node().lattice.policy().finish_timeout / 2;
    inbound.accepted_at = Instant::now().checked_sub(half).expect("an instant that long ago");
    east.probe.run(&east.rt, &east.node, inbound).await;
    let lost = east.lost().await;
    assert_eq!((lost.packet, lost.reason, lost.hops), (100, LostReason::Overloaded, 1));
    assert!(lost.detail.starts_with("east queued the hop for "), "{}", lost.detail);
    assert_eq!(next_acks(&mut east.control, "done").await, vec![(1, Done)]);
    assert_eq!((east.count(|c| &c.overloaded), east.count(|c| &c.invocations)), (1, 0));
}

#[tokio::test]
async fn settling_a_return_with_ttl_left_and_no_forward_is_not_forwarded() {
    let mut east = East::start("lwc_probe").await;
    let inbound = east.take(&hop(1, 100, 3)).await;
    let fate = east.probe.settle(&east.node, &inbound, Outcome::Ok, false).await;
    assert!(matches!(&fate, Fate::Lost(LostReason::NotForwarded, d) if d == "east returned with ttl 3 without forwarding"));
    let lost = east.lost().await;
    assert_eq!((lost.packet, lost.reason, lost.hops), (100, LostReason::NotForwarded, 2));
    // Forwarded, trapped or not: nothing is published, the next holder decides.
    let fate = east.probe.settle(&east.node, &inbound, Outcome::Trap("boom".into()), true).await;
    assert!(matches!(&fate, Fate::TrappedAfterForward(m) if m == "boom"));
    assert!(matches!(east.probe.settle(&east.node, &inbound, Outcome::Timeout, true).await, Fate::Forwarded));
    east.then_only_the_marker().await;
}
