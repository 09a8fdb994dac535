//! `done` and `overloaded` acks, batched per sending host: one ack frame
//! per sender every [`ACK_BATCH_WINDOW`] (or sooner when a batch fills).
//! `accepted` acks do not wait here: the receiver publishes them itself,
//! before the hops they confirm can lead anywhere (see `receive`), and
//! takes along whatever waits here for the same host ([`AckQueue::take_for`]):
//! on a ring each host sends its upstream peer an `accepted` for every hop
//! it gets, so a `done` rarely needs a message of its own.

use async_nats::{Client, Subject};
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::mpsc;

use super::protocol::Peer;
use lwc_wire::acks::{self, AckStatus};

/// How long an ack batch collects entries after its first one, unless the
/// host's `HopPolicy::ack_window` says otherwise. Long
/// enough that the next hop from the same sender usually comes first and
/// carries the batch on its `accepted` (a `done` is off the packet's path:
/// it only lets the sender stop watching a hop).
pub const ACK_BATCH_WINDOW: Duration = Duration::from_millis(20);

type Entries = Vec<(u64, AckStatus)>;

/// Entries waiting for their frame, per sending host: shared by the acker
/// (which flushes them) and the receiver (which carries them).
#[derive(Clone, Default)]
struct Waiting(Arc<Mutex<HashMap<Peer, Entries>>>);

impl Waiting {
    fn lock(&self) -> MutexGuard<'_, HashMap<Peer, Entries>> {
        // A panic elsewhere must not lose the acks: the map stays usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The acker's end: the queue's entries as they come, and the waiting map.
pub struct AckRx {
    rx: mpsc::Receiver<(Peer, u64, AckStatus)>,
    waiting: Waiting,
}

/// The sending end, held by the lattice.
pub struct AckQueue {
    tx: mpsc::Sender<(Peer, u64, AckStatus)>,
    waiting: Waiting,
}

pub fn channel() -> (AckQueue, AckRx) {
    let (tx, rx) = mpsc::channel(16 * 1024);
    let waiting = Waiting::default();
    (AckQueue { tx, waiting: waiting.clone() }, AckRx { rx, waiting })
}

impl AckQueue {
    pub async fn send(&self, to: Peer, hop_id: u64, status: AckStatus) {
        if self.tx.send((to, hop_id, status)).await.is_err() {
            tracing::warn!("acker stopped; hop {hop_id} not acked");
        }
    }

    /// From code that cannot wait: a full queue drops the ack (the sender
    /// then asks, and is answered).
    pub fn try_send(&self, to: Peer, hop_id: u64, status: AckStatus) {
        if self.tx.try_send((to, hop_id, status)).is_err() {
            tracing::warn!("ack queue full or closed; hop {hop_id} not acked");
        }
    }

    /// Take the entries waiting for `to`, to send them in a frame that goes
    /// there now anyway; the acker then has nothing left to send `to`.
    pub fn take_for(&self, to: &Peer) -> Entries {
        self.waiting.lock().remove(to).unwrap_or_default()
    }

    /// How many entries wait for `to` in the acker's batch (queued ones
    /// the acker has not taken yet do not count).
    #[cfg(test)]
    pub fn waiting_for(&self, to: &str) -> usize {
        self.waiting.lock().get(to).map_or(0, Vec::len)
    }
}

/// Batch acks per sender until the channel closes (the host stopping):
/// what is queued then is still flushed. A batch goes `window` after its
/// first entry, unless an `accepted` frame took it along before.
pub async fn run_acker(client: Client, lattice: String, me: Peer, acks: AckRx, window: Duration) {
    let AckRx { mut rx, waiting } = acks;
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        let deadline = tokio::time::Instant::now() + window;
        loop {
            if let Some((to, id, status)) = next.take() {
                let full = {
                    let mut map = waiting.lock();
                    let batch = map.entry(to.clone()).or_default();
                    batch.push((id, status));
                    if batch.len() >= acks::MAX_ENTRIES { map.remove(&to) } else { None }
                };
                if let Some(full) = full {
                    flush(&client, &lattice, &me, &to, &full).await;
                }
            }
            tokio::select! {
                entry = rx.recv() => match entry {
                    Some(entry) => next = Some(entry),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        // Taken whole: the map is empty again, so it cannot grow forever.
        let due = std::mem::take(&mut *waiting.lock());
        for (to, entries) in due {
            flush(&client, &lattice, &me, &to, &entries).await;
        }
    }
}

/// Publish one ack frame (no clock sample) from `me` to `to`'s ack subject.
pub async fn flush(client: &Client, lattice: &str, me: &str, to: &str, entries: &[(u64, AckStatus)]) {
    publish(client, lattice, to, acks::encode(me, entries)).await;
}

/// Publish an encoded ack frame to `to`'s ack subject.
pub async fn publish(client: &Client, lattice: &str, to: &str, frame: Vec<u8>) {
    let subject = Subject::from(lwc_wire::subjects::acks(lattice, to));
    if let Err(e) = client.publish(subject, Bytes::from(frame)).await {
        tracing::warn!("cannot publish acks: {e}");
    }
}
