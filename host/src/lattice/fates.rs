//! Fates through the witness (`protocol::fates`): this host's reports and
//! their acks, and, on the control host, the witness that publishes each
//! packet's first reported fate on the event stream.

use bytes::Bytes;
use tokio::sync::mpsc;

use super::protocol::fates::FateAction;
use super::Lattice;
use lwc_wire::events::PacketEvent;
use lwc_wire::fates;

/// Fates the ledger hands over: (packet, the event's JSON).
pub type FateRx = mpsc::UnboundedReceiver<(u64, Bytes)>;

impl Lattice {
    /// A fate decided here: report it to the witness, until acked.
    pub(super) async fn report_fate(&self, packet: u64, json: Bytes) {
        let mut acts = Vec::new();
        {
            let mut inner = self.inner();
            let (now, policy) = (self.now(), *inner.proto.policy());
            inner.fates.report(now, &policy, packet, json, &mut acts);
        }
        self.fate_act(acts).await;
    }

    /// The witness's acks of our reports: forget them, send the `done`s
    /// that waited for them.
    pub(super) async fn on_fate_acks(&self, payload: &[u8]) {
        let packets = match fates::decode_acks(payload) {
            Ok(p) => p,
            Err(e) => {
                self.ledger.counters.reject("fate-ack");
                tracing::debug!("fate ack refused: {e}");
                return;
            }
        };
        let mut acts = Vec::new();
        {
            let mut inner = self.inner();
            let now = self.now();
            for packet in packets {
                inner.fates.acked(packet);
                inner.proto.fate_seen(now, packet, &mut acts);
            }
        }
        self.act(acts).await;
    }

    pub(super) async fn fate_act(&self, acts: Vec<FateAction<Bytes>>) {
        for act in acts {
            match act {
                FateAction::Report { payload, .. } => {
                    let (to, reply) = (self.fates_subject.clone(), self.fate_acks_subject.clone());
                    if let Err(e) = self.client.publish_with_reply(to, reply, payload).await {
                        tracing::debug!("fate report not sent (re-sent later): {e}");
                    }
                }
                FateAction::Publish { packet, payload } => {
                    let n = self.fates_direct.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    if n.is_power_of_two() {
                        // 1, 2, 4, …: the control host is gone, say so without a line per packet.
                        tracing::warn!(packet, "no witness acked this fate: published directly ({n} so far)");
                    }
                    self.ledger.publish_json(payload).await;
                    self.step(|p, now, acts| p.fate_seen(now, packet, acts)).await;
                }
            }
        }
    }

    /// Control host: publish the first report of each packet, ack them all.
    pub(super) async fn on_fate_report(&self, msg: async_nats::Message) {
        let packet = match serde_json::from_slice::<PacketEvent>(&msg.payload).ok().and_then(|e| e.fate_of()) {
            Some(p) => p,
            None => {
                self.ledger.counters.reject("fate-report");
                return;
            }
        };
        let first = self.inner().witness.admit(packet);
        if first {
            self.ledger.publish_json(msg.payload.clone()).await;
            self.step(|p, now, acts| p.fate_seen(now, packet, acts)).await;
        }
        if let Some(reply) = msg.reply {
            let ack = Bytes::from(fates::encode_acks(&[packet]));
            if let Err(e) = self.client.publish(reply, ack).await {
                tracing::debug!("fate ack not sent: {e}");
            }
        }
    }
}

/// Move the ledger's fates into the lattice until the host stops.
pub async fn run_fate_reporter(lattice: std::sync::Arc<Lattice>, mut rx: FateRx) {
    while let Some((packet, json)) = rx.recv().await {
        lattice.report_fate(packet, json).await;
    }
}
