//! The acker on a real nats-server: one frame per sender and window, a full
//! batch sent at once, and what is queued when the host stops still sent.
//! Entries are queued before the acker starts, so every batch below is
//! decided by the acker alone, not by how fast the test queued.

use crate::lattice::acker::{channel, run_acker, ACK_BATCH_WINDOW};
use lwc_wire::acks;
use std::sync::Arc;
use crate::lattice::testing::{next_acks, Live, WITHIN};
use crate::lattice::HopPolicy;
use lwc_wire::acks::AckStatus::{Done, Overloaded};

#[tokio::test]
async fn acks_are_batched_per_sender() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let mut west = live.acks_to("west").await;
    let mut north = live.acks_to("north").await;
    let (queue, rx) = channel();
    queue.send(Arc::from("west"), 1, Done).await;
    queue.send(Arc::from("north"), 2, Overloaded).await;
    queue.send(Arc::from("west"), 3, Done).await;
    queue.send(Arc::from("west"), 4, Overloaded).await;
    live.tasks.spawn(run_acker(live.peer.clone(), live.name().to_string(), Arc::from("me"), rx, ACK_BATCH_WINDOW));
    assert_eq!(next_acks(&mut west, "west's batch").await, vec![(1, Done), (3, Done), (4, Overloaded)]);
    assert_eq!(next_acks(&mut north, "north's batch").await, vec![(2, Overloaded)]);
    // The next window is a new frame.
    queue.send(Arc::from("west"), 5, Done).await;
    assert_eq!(next_acks(&mut west, "the next batch").await, vec![(5, Done)]);
}

#[tokio::test]
async fn a_full_batch_goes_at_once_and_the_rest_after() {
    let mut live = Live::start("east", HopPolicy::default()).await;
    let mut west = live.acks_to("west").await;
    let (queue, rx) = channel();
    let n = acks::MAX_ENTRIES as u64 + 3;
    for id in 0..n {
        queue.send(Arc::from("west"), id, Done).await;
    }
    live.tasks.spawn(run_acker(live.peer.clone(), live.name().to_string(), Arc::from("me"), rx, ACK_BATCH_WINDOW));
    let full = next_acks(&mut west, "the full batch").await;
    assert_eq!(full.len(), acks::MAX_ENTRIES);
    assert!(full.iter().enumerate().all(|(i, e)| *e == (i as u64, Done)));
    let rest = next_acks(&mut west, "the rest").await;
    assert_eq!(rest, vec![(n - 3, Done), (n - 2, Done), (n - 1, Done)]);
}

#[tokio::test]
async fn what_is_queued_when_the_host_stops_is_still_sent() {
    let live = Live::start("east", HopPolicy::default()).await;
    let mut west = live.acks_to("west").await;
    let (queue, rx) = channel();
    queue.send(Arc::from("west"), 1, Done).await;
    queue.send(Arc::from("west"), 2, Done).await;
    drop(queue);
    let acker = run_acker(live.peer.clone(), live.name().to_string(), Arc::from("me"), rx, ACK_BATCH_WINDOW);
    tokio::time::timeout(WITHIN, acker).await.expect("the acker returns once its channel closes");
    live.peer.flush().await.unwrap();
    assert_eq!(next_acks(&mut west, "the last batch").await, vec![(1, Done), (2, Done)]);
}

#[tokio::test]
async fn a_stopped_acker_is_only_logged() {
    let (queue, rx) = channel();
    drop(rx);
    // Must not panic or block: the hop goes un-acked and its sender asks.
    tokio::time::timeout(WITHIN, queue.send(Arc::from("west"), 1, Done)).await.expect("returns at once");
}
