//! `done` and `overloaded` acks, batched per sending host: one ack frame
//! per sender every [`ACK_BATCH_WINDOW`] (or sooner when a batch fills).
//! `accepted` acks do not wait here: the receiver publishes them itself,
//! before the hops they confirm can lead anywhere (see `receive`).

use async_nats::{Client, Subject};
use bytes::Bytes;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;

use super::protocol::Peer;
use lwc_wire::acks::{self, AckStatus};

/// How long an ack batch collects entries after its first one.
pub const ACK_BATCH_WINDOW: Duration = Duration::from_millis(5);

pub type AckRx = mpsc::Receiver<(Peer, u64, AckStatus)>;

/// The sending end, held by the lattice.
pub struct AckQueue(mpsc::Sender<(Peer, u64, AckStatus)>);

pub fn channel() -> (AckQueue, AckRx) {
    let (tx, rx) = mpsc::channel(16 * 1024);
    (AckQueue(tx), rx)
}

impl AckQueue {
    pub async fn send(&self, to: Peer, hop_id: u64, status: AckStatus) {
        if self.0.send((to, hop_id, status)).await.is_err() {
            tracing::warn!("acker stopped; hop {hop_id} not acked");
        }
    }
}

impl AckQueue {
    /// From code that cannot wait: a full queue drops the ack (the sender
    /// then asks, and is answered).
    pub fn try_send(&self, to: Peer, hop_id: u64, status: AckStatus) {
        if self.0.try_send((to, hop_id, status)).is_err() {
            tracing::warn!("ack queue full or closed; hop {hop_id} not acked");
        }
    }
}

/// Batch acks per sender until the channel closes (the host stopping):
/// what is queued then is still flushed.
pub async fn run_acker(client: Client, lattice: String, me: Peer, mut rx: AckRx) {
    let mut batches: HashMap<Peer, Vec<(u64, AckStatus)>> = HashMap::new();
    while let Some((to, id, status)) = rx.recv().await {
        batches.entry(to).or_default().push((id, status));
        let deadline = tokio::time::Instant::now() + ACK_BATCH_WINDOW;
        loop {
            tokio::select! {
                next = rx.recv() => match next {
                    Some((to, id, status)) => {
                        let batch = batches.entry(to.clone()).or_default();
                        batch.push((id, status));
                        if batch.len() >= acks::MAX_ENTRIES {
                            let full = std::mem::take(batch);
                            flush(&client, &lattice, &me, &to, &full).await;
                        }
                    }
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        for (to, batch) in batches.iter_mut() {
            if !batch.is_empty() {
                let entries = std::mem::take(batch);
                flush(&client, &lattice, &me, to, &entries).await;
            }
        }
        // Forget senders that went quiet so the map cannot grow forever.
        if batches.len() > 1024 {
            batches.clear();
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
