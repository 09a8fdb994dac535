//! The lattice's loops on a real nats-server: a host down by chaos takes
//! nothing, and the loops end (for `run` to report) when NATS ends their
//! subscriptions. The timer's re-sends, questions and declared losses are
//! in `act`, where the timer is the only clock.

use crate::lattice::testing::{next_acks, queued, until, Hop, Live, WITHIN};
use crate::lattice::HopPolicy;
use lwc_wire::acks::AckStatus::Accepted;
use lwc_wire::ctl::ChaosWire;

#[tokio::test]
async fn a_host_down_by_chaos_neither_acks_nor_runs_what_arrives() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let mut queue = live.receiver("east", 8).await;
    let mut acks = live.acks_to("west").await;
    // An outage of one second: hop 1 arrives inside it (it is taken off
    // the wire within it, unless this machine stalls for that long).
    live.chaos.apply(ChaosWire {
        down_until_ns: lwc_wire::now_ns() + 1_000_000_000,
        ..Default::default()
    });
    live.send_hop("east", &Hop::new("west", 1, 100, 3)).await;
    until("the outage to end", || !live.chaos.is_down()).await;
    live.send_hop("east", &Hop::new("west", 2, 101, 3)).await;
    // Hop 1 came first and left no trace: the first ack and the first
    // hop queued are hop 2's.
    assert_eq!(next_acks(&mut acks, "the first ack").await, vec![(2, Accepted)]);
    assert_eq!(queued(&mut queue, "the first hop").await.inv.hop_id, 2);
    let snapshot = live.lattice.ledger.counters.snapshot();
    assert!(snapshot.rejected.is_empty(), "{:?}", snapshot.rejected);
}

#[tokio::test]
async fn the_listeners_and_receivers_end_when_nats_ends_their_subscriptions() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let _queue = live.receiver("east", 8).await;
    // Every loop but two reads a subscription (acks, questions, answers,
    // the receiver, ...). The timer and the acker (its channel still open
    // while the lattice lives) do not.
    let readers = live.tasks.len() - 2;
    live.lattice.client().drain().await.expect("drain");
    for _ in 0..readers {
        let ended = tokio::time::timeout(WITHIN, live.tasks.join_next()).await;
        let ended = ended.expect("a loop ends once its subscription does");
        assert!(ended.expect("a task").is_ok(), "ended, not panicked");
    }
    assert_eq!(live.tasks.len(), 2, "the timer and the acker are left");
}
