//! Invocations in, on a real nats-server: what is acked, queued, refused,
//! counted and answered. The receiver is the one `lib::run` starts.

use async_nats::{Message, Subject};
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::lattice::testing::{next, next_acks, queued, Hop, Live};
use crate::lattice::HopPolicy;
use lwc_wire::acks::AckStatus::{self, Accepted, Overloaded};
use lwc_wire::invocation::MAX_LEN;
use lwc_wire::whohas::{self, Answer, Ask, AskKind};

fn rejected(live: &Live, kind: &str) -> u64 {
    live.lattice.ledger.counters.snapshot().rejected.get(kind).copied().unwrap_or(0)
}

/// Ack entries sent to a host, frame by frame, until `n` have come.
async fn entries(sub: &mut async_nats::Subscriber, n: usize) -> Vec<(u64, AckStatus)> {
    let mut all = Vec::new();
    while all.len() < n {
        all.extend(next_acks(sub, "an ack frame").await);
    }
    all
}

#[tokio::test]
async fn a_hop_is_acked_accepted_and_queued_once_however_often_it_is_sent() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let mut queue = live.receiver("east", 8).await;
    let mut acks = live.acks_to("west").await;
    let hop = Hop::new("west", 7, 100, 3);
    live.send_hop("east", &hop).await;
    live.send_hop("east", &hop).await;
    // The re-send is acked again, so its sender stops re-sending...
    assert_eq!(entries(&mut acks, 2).await, vec![(7, Accepted), (7, Accepted)]);
    // ...and not run again: the next hop queued after it is a new one.
    live.send_hop("east", &Hop::new("west", 8, 101, 3)).await;
    let first = queued(&mut queue, "hop 7").await;
    assert_eq!((first.inv.hop_id, first.inv.packet, first.inv.ttl), (7, 100, 3));
    assert_eq!((&*first.sender, first.caller.as_str()), ("west", "west"));
    assert_eq!(queued(&mut queue, "hop 8").await.inv.hop_id, 8);
    assert_eq!(rejected(&live, "rpc-duplicate"), 1);
}

#[tokio::test]
async fn a_bad_frame_is_counted_and_answered_and_the_receiver_goes_on() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let mut queue = live.receiver("east", 8).await;
    let subject = lwc_wire::subjects::rpc(live.name(), "east");
    let good = Hop::new("west", 1, 100, 3).frame();
    let mut old = good.clone();
    old[0] = lwc_wire::invocation::VERSION - 1;
    let mut short = good.clone();
    short.truncate(20);
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"hello, east".to_vec(), "error: "),
        (old, "error: unsupported invocation frame version 2 (this host speaks version 3)"),
        (short, "error: "),
        (vec![lwc_wire::invocation::VERSION; MAX_LEN + 1], "error: invocation body too large"),
    ];
    // Without a reply subject: counted, answered nowhere.
    live.send(subject.clone(), b"no reply".to_vec()).await;
    for (frame, answer) in &cases {
        let reply = live.peer.request(subject.clone(), Bytes::from(frame.clone()));
        let msg = tokio::time::timeout(crate::lattice::testing::WITHIN, reply)
            .await
            .expect("an answer within the deadline")
            .expect("an answer");
        let text = String::from_utf8_lossy(&msg.payload);
        assert!(text.starts_with(answer), "{text:?} does not start with {answer:?}");
    }
    assert_eq!(rejected(&live, "rpc"), 5);
    live.send(subject, good).await;
    assert_eq!(queued(&mut queue, "the good hop").await.inv.hop_id, 1);
}

fn message(subject: &str, payload: Vec<u8>) -> Message {
    Message {
        subject: Subject::from(subject),
        reply: None,
        length: payload.len(),
        payload: Bytes::from(payload),
        headers: None,
        status: None,
        description: None,
    }
}

#[tokio::test]
async fn one_batch_sends_each_sender_one_accepted_frame_then_queues_in_order() {
    let live = Live::start("east", HopPolicy::default()).await;
    let mut west = live.acks_to("west").await;
    let mut north = live.acks_to("north").await;
    let subject = lwc_wire::subjects::rpc(live.name(), "east");
    let frames = [
        Hop::new("west", 1, 100, 3).frame(),
        Hop::new("north", 2, 101, 3).frame(),
        b"garbage".to_vec(),
        Hop::new("west", 3, 102, 3).frame(),
        Hop::new("north", 4, 103, 3).frame(),
        Hop::new("west", 5, 104, 3).frame(),
    ];
    let mut batch: Vec<Message> = frames.into_iter().map(|f| message(&subject, f)).collect();
    let (tx, mut queue) = mpsc::channel(8);
    live.lattice.receive("east", false, &mut batch, &tx).await;
    assert!(batch.is_empty(), "the batch is taken");
    assert_eq!(next_acks(&mut west, "west's acks").await, vec![(1, Accepted), (3, Accepted), (5, Accepted)]);
    assert_eq!(next_acks(&mut north, "north's acks").await, vec![(2, Accepted), (4, Accepted)]);
    let ids: Vec<u64> = std::iter::from_fn(|| queue.try_recv().ok()).map(|h| h.inv.hop_id).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5], "queued as soon as receive returns, in order");
    assert_eq!(rejected(&live, "rpc"), 1);
}

#[tokio::test]
async fn a_full_queue_answers_overloaded_and_takes_nothing() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let mut queue = live.receiver("east", 1).await;
    let mut acks = live.acks_to("west").await;
    live.send_hop("east", &Hop::new("west", 1, 100, 3)).await;
    live.send_hop("east", &Hop::new("west", 2, 101, 3)).await;
    let mut got = entries(&mut acks, 2).await;
    got.sort_unstable_by_key(|(id, _)| *id);
    assert_eq!(got, vec![(1, Accepted), (2, Overloaded)]);
    assert_eq!(live.lattice.ledger.counters.overloaded.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(queued(&mut queue, "hop 1").await.inv.hop_id, 1);
    // Room again: the sender's re-send of hop 2 is taken.
    live.send_hop("east", &Hop::new("west", 2, 101, 3)).await;
    assert_eq!(queued(&mut queue, "hop 2, re-sent").await.inv.hop_id, 2);
}

/// Ask every host about `packet`, as host west.
async fn ask(live: &Live, kind: AskKind, qid: u64, packet: u64, hops: u32) {
    let ask = Ask {
        kind,
        qid,
        packet,
        hops,
        host: "west".into(),
    };
    live.send(lwc_wire::subjects::whohas(live.name()), whohas::encode_ask(&ask)).await;
}

#[tokio::test]
async fn a_packet_fenced_by_a_query_is_refused_unacked_and_not_run() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let mut queue = live.receiver("east", 8).await;
    let mut acks = live.acks_to("west").await;
    let mut answers = live.hear(lwc_wire::subjects::answers(live.name(), "west")).await;
    ask(&live, AskKind::Query, 5, 100, 1).await;
    // A second query while the first fence stands is told it is pending:
    // so the first one has fenced the packet.
    ask(&live, AskKind::Query, 6, 100, 1).await;
    let msg = next(&mut answers, "an answer to query 6").await;
    assert_eq!(whohas::decode_answer(&msg.payload).unwrap(), (6, 100, Answer::Pending));

    live.send_hop("east", &Hop::new("west", 1, 100, 2)).await;
    live.send_hop("east", &Hop::new("west", 2, 200, 2)).await;
    // Hop 1 was taken off the wire first, and neither acked nor queued.
    assert_eq!(next_acks(&mut acks, "the acks").await, vec![(2, Accepted)]);
    assert_eq!(queued(&mut queue, "the unfenced hop").await.inv.hop_id, 2);
    assert_eq!(rejected(&live, "rpc-fenced"), 1);

    // Declared lost: the fence is a tombstone, and says so when asked.
    ask(&live, AskKind::Declare, 5, 100, 1).await;
    ask(&live, AskKind::Query, 7, 100, 1).await;
    let msg = next(&mut answers, "an answer to query 7").await;
    assert_eq!(whohas::decode_answer(&msg.payload).unwrap(), (7, 100, Answer::Tombstone));
}

#[tokio::test]
async fn a_waiting_done_rides_on_the_next_accepted_frame_to_its_sender() {
    // A window longer than the test: the `done` can only come early by
    // riding on an `accepted` frame.
    let policy = HopPolicy {
        ack_window: std::time::Duration::from_secs(600),
        ..HopPolicy::default()
    };
    let mut live = Live::start("east", policy).await;
    let mut queue = live.receiver("east", 8).await;
    let mut acks = live.acks_to("west").await;
    live.send_hop("east", &Hop::new("west", 7, 100, 0)).await;
    assert_eq!(next_acks(&mut acks, "hop 7 accepted").await, vec![(7, Accepted)]);
    let hop = queued(&mut queue, "hop 7").await;
    // The packet ends here: hop 7's `done` waits in the acker's batch.
    live.lattice.settled(&hop, true).await;
    crate::lattice::testing::until("hop 7's done waits for west", || live.lattice.acker.waiting_for("west") == 1).await;
    live.send_hop("east", &Hop::new("west", 8, 101, 3)).await;
    assert_eq!(next_acks(&mut acks, "hop 8 accepted, with 7's done").await, vec![(8, Accepted), (7, AckStatus::Done)]);
    assert_eq!(live.lattice.acker.waiting_for("west"), 0);
}
