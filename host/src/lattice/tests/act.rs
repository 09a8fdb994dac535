//! The protocol's actions carried out on a real nats-server: hops published
//! and settled by acks, `done` passed upstream, questions asked and
//! answered, bad frames counted, a loss declared once nobody has the packet.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;

use crate::lattice::testing::{next, next_acks, next_event, next_hop, queued, until, Hop, Live};
use crate::lattice::{HopPolicy, OutHop};
use lwc_wire::acks::AckStatus::{Accepted, Done};
use lwc_wire::events::{LostReason, PacketEvent};
use lwc_wire::invocation::Invocation;
use lwc_wire::whohas::{self, Answer, Ask, AskKind};

/// A hop from east's `east` to `north`, as a forward hands it over.
fn out(live: &Live, packet: u64) -> OutHop {
    OutHop {
        inv: Invocation {
            packet,
            ttl: 4,
            chaos: 0,
            hops: 3,
            gen: 0,
            hop_id: live.lattice.next_hop_id(),
            route: "default".into(),
        },
        from: Arc::from("east"),
        target: Arc::from("north"),
        trace: false,
        traceparent: None,
        sent_ns: lwc_wire::now_ns(),
        age_ns: 0,
        held: false,
    }
}

/// Acks from north, to east's ack subject.
async fn ack_from_north(live: &Live, entries: &[(u64, lwc_wire::acks::AckStatus)]) {
    live.send(lwc_wire::subjects::acks(live.name(), "east"), lwc_wire::acks::encode("north", entries)).await;
}

fn decode_ask(msg: &async_nats::Message) -> Ask {
    whohas::decode_ask(&msg.payload).expect("a valid whohas frame")
}

#[tokio::test]
async fn a_sent_hop_carries_our_context_and_is_tracked_until_done() {
    let live = Live::start("east", HopPolicy::default()).await;
    let mut north = live.hops_to("north").await;
    let hop = out(&live, 100);
    let id = hop.inv.hop_id;
    live.lattice.send_hop(hop.clone(), None).await;
    let (inv, ctx) = next_hop(&mut north, "the hop").await;
    assert_eq!(inv, hop.inv);
    assert_eq!((ctx.caller.as_str(), ctx.sender.as_str(), ctx.sent_ns), ("east", "east", hop.sent_ns));
    assert_eq!(live.lattice.ledger.counters.hops_sent.load(Relaxed), 1);
    assert_eq!(live.lattice.awaiting_ack(), 1);
    ack_from_north(&live, &[(id, Accepted)]).await;
    ack_from_north(&live, &[(id, Done)]).await;
    until("the hop to be done", || live.lattice.awaiting_ack() == 0).await;
}

#[tokio::test]
async fn done_goes_upstream_only_once_the_forward_is_accepted() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let mut queue = live.receiver("east", 8).await;
    let mut west = live.acks_to("west").await;
    let received = Hop::new("west", 7, 100, 4);
    live.send_hop("east", &received).await;
    assert_eq!(next_acks(&mut west, "accepted").await, vec![(7, Accepted)]);
    let inbound = queued(&mut queue, "hop 7").await;
    let fwd = out(&live, 100);
    let fwd_id = fwd.inv.hop_id;
    live.lattice.send_hop(fwd, Some(inbound.upstream())).await;
    // Not passed on yet: west's re-send is only acked `accepted` again.
    live.send_hop("east", &received).await;
    assert_eq!(next_acks(&mut west, "accepted, again").await, vec![(7, Accepted)]);
    ack_from_north(&live, &[(fwd_id, Accepted)]).await;
    assert_eq!(next_acks(&mut west, "done").await, vec![(7, Done)]);
    // Passed on: a late re-send is told `done` at once.
    live.send_hop("east", &received).await;
    assert_eq!(next_acks(&mut west, "done, again").await, vec![(7, Done)]);
}

#[tokio::test]
async fn a_hop_ended_here_is_done_at_once_and_answered_for() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let mut queue = live.receiver("east", 8).await;
    let mut west = live.acks_to("west").await;
    let mut answers = live.hear(lwc_wire::subjects::answers(live.name(), "west")).await;
    let query = |qid, packet| Ask {
        kind: AskKind::Query,
        qid,
        packet,
        hops: 2,
        host: "west".into(),
    };
    let whohas = lwc_wire::subjects::whohas(live.name());
    live.send_hop("east", &Hop::new("west", 7, 100, 0)).await;
    assert_eq!(next_acks(&mut west, "accepted").await, vec![(7, Accepted)]);
    let inbound = queued(&mut queue, "hop 7").await;
    live.send(whohas.clone(), whohas::encode_ask(&query(1, 100))).await;
    let msg = next(&mut answers, "an answer while it runs").await;
    let has = Answer::Has { hops: 2, passed: false };
    assert_eq!(whohas::decode_answer(&msg.payload).unwrap(), (1, 100, has));

    live.lattice.settled(&inbound, true).await;
    assert_eq!(next_acks(&mut west, "done").await, vec![(7, Done)]);
    live.send(whohas.clone(), whohas::encode_ask(&query(2, 100))).await;
    let msg = next(&mut answers, "an answer once it ended").await;
    assert_eq!(whohas::decode_answer(&msg.payload).unwrap(), (2, 100, Answer::Ended));

    // A fate seen on the event stream (the control host) is answered too.
    live.lattice.fate_seen(200);
    live.send(whohas, whohas::encode_ask(&query(3, 200))).await;
    let msg = next(&mut answers, "an answer for a fate seen").await;
    assert_eq!(whohas::decode_answer(&msg.payload).unwrap(), (3, 200, Answer::Ended));
}

#[tokio::test]
async fn bad_ack_whohas_and_answer_frames_are_counted_and_change_nothing() {
    let live = Live::start("east", HopPolicy::default()).await;
    let rejected = |kind: &str| live.lattice.ledger.counters.snapshot().rejected.get(kind).copied().unwrap_or(0);
    let mut answers = live.hear(lwc_wire::subjects::answers(live.name(), "west")).await;
    let name = live.name().to_string();
    live.send(lwc_wire::subjects::acks(&name, "east"), vec![9, 1, 0]).await;
    live.send(lwc_wire::subjects::answers(&name, "east"), b"yes".to_vec()).await;
    let bad_host = Ask {
        kind: AskKind::Query,
        qid: 1,
        packet: 100,
        hops: 1,
        host: "not a host".into(),
    };
    let whohas = lwc_wire::subjects::whohas(&name);
    live.send(whohas.clone(), whohas::encode_ask(&bad_host)).await;
    live.send(whohas.clone(), vec![whohas::VERSION]).await;
    until("the bad frames counted", || {
        rejected("ack") == 1 && rejected("answer") == 1 && rejected("whohas") == 2
    })
    .await;
    // The listeners still listen: a query for a packet seen ended is answered.
    live.lattice.fate_seen(100);
    let ok = Ask { host: "west".into(), ..bad_host };
    live.send(whohas, whohas::encode_ask(&ok)).await;
    let msg = next(&mut answers, "an answer").await;
    assert_eq!(whohas::decode_answer(&msg.payload).unwrap(), (1, 100, Answer::Ended));
    assert_eq!(live.lattice.awaiting_ack(), 0);
}

/// Short clocks, so that giving up takes milliseconds.
fn impatient() -> HopPolicy {
    HopPolicy {
        timeout: Duration::from_millis(20),
        retries: 1,
        ..HopPolicy::default()
    }
}

#[tokio::test]
async fn a_hop_nobody_takes_is_resent_asked_about_then_declared_lost_once() {
    let live = Live::start("east", impatient()).await;
    let mut north = live.hops_to("north").await;
    let mut whohas = live.hear(lwc_wire::subjects::whohas(live.name())).await;
    let mut events = live.events().await;
    let hop = out(&live, 100);
    live.lattice.send_hop(hop.clone(), None).await;
    let (first, _) = next_hop(&mut north, "the hop").await;
    let (again, _) = next_hop(&mut north, "the re-send").await;
    assert_eq!((first.hop_id, again.hop_id), (hop.inv.hop_id, hop.inv.hop_id));

    let query = decode_ask(&next(&mut whohas, "the query").await);
    assert_eq!((query.kind, query.packet, query.hops, query.host.as_str()), (AskKind::Query, 100, 3, "east"));
    let declare = decode_ask(&next(&mut whohas, "the declaration").await);
    assert_eq!((declare.kind, declare.qid, declare.packet), (AskKind::Declare, query.qid, 100));
    let lost = next_event(&mut events, "the lost event", |ev| match ev {
        PacketEvent::Lost(l) => Some(l),
        _ => None,
    })
    .await;
    assert_eq!((lost.packet, lost.reason, lost.at.as_str(), lost.hops), (100, LostReason::Unreachable, "north", 2));
    assert_eq!(lost.detail, "no ack from north after 2 tries");
    let counters = &live.lattice.ledger.counters;
    assert_eq!(counters.lost(LostReason::Unreachable), 1);
    assert_eq!(live.lattice.awaiting_ack(), 0);
    until("the re-send counted", || counters.retries.load(Relaxed) >= 1).await;
}

#[tokio::test]
async fn an_answer_that_the_packet_ended_stops_the_question_without_a_loss() {
    let live = Live::start("east", impatient()).await;
    let mut whohas = live.hear(lwc_wire::subjects::whohas(live.name())).await;
    live.lattice.send_hop(out(&live, 100), None).await;
    let query = decode_ask(&next(&mut whohas, "the query").await);
    assert_eq!(query.kind, AskKind::Query);
    let answer = whohas::encode_answer(query.qid, 100, Answer::Ended);
    live.send(lwc_wire::subjects::answers(live.name(), "east"), answer).await;
    let unfence = decode_ask(&next(&mut whohas, "the unfence").await);
    assert_eq!((unfence.kind, unfence.qid, unfence.packet), (AskKind::Unfence, query.qid, 100));
    assert_eq!(live.lattice.awaiting_ack(), 0);
    assert!(LostReason::ALL.iter().all(|r| live.lattice.ledger.counters.lost(*r) == 0));
}

#[tokio::test]
async fn after_an_outage_an_unacked_hop_is_asked_about_then_resent() {
    // Clocks far longer than the test: whatever follows is the reconnect's.
    let policy = HopPolicy {
        timeout: Duration::from_secs(600),
        ..HopPolicy::default()
    };
    let live = Live::start("east", policy).await;
    let mut north = live.hops_to("north").await;
    let mut whohas = live.hear(lwc_wire::subjects::whohas(live.name())).await;
    let hop = out(&live, 100);
    live.lattice.send_hop(hop.clone(), None).await;
    assert_eq!(next_hop(&mut north, "the hop").await.0.hop_id, hop.inv.hop_id);
    live.link.down.store(true, Relaxed);
    live.link.disconnects.store(1, Relaxed);
    live.lattice.tick().await;
    live.link.down.store(false, Relaxed);
    live.lattice.tick().await;
    // It may have run before the outage (its ack lost): ask first, and
    // re-send only when nobody has it, so it never runs twice.
    let query = decode_ask(&next(&mut whohas, "the query").await);
    assert_eq!((query.kind, query.packet, query.hops), (AskKind::Query, 100, 3));
    let unfence = decode_ask(&next(&mut whohas, "the unfence").await);
    assert_eq!((unfence.kind, unfence.qid), (AskKind::Unfence, query.qid));
    assert_eq!(next_hop(&mut north, "the re-send").await.0.hop_id, hop.inv.hop_id);
    assert_eq!(live.lattice.awaiting_ack(), 1, "still watched, not lost");
    assert!(LostReason::ALL.iter().all(|r| live.lattice.ledger.counters.lost(*r) == 0));
}
