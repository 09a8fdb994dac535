//! Carrying out what the protocol asks, in the order it asks: hops
//! published, acks sent or queued, questions to the lattice, answers, and
//! the one `lost` event of a packet the protocol declared lost.

use async_nats::Subject;
use bytes::Bytes;
use opentelemetry::KeyValue;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::protocol::{Action, Peer};
use super::{Lattice, SentHop};
use crate::otel::spans;
use lwc_wire::events::LostReason;
use lwc_wire::whohas::{self, Answer, Ask, AskKind};

impl Lattice {
    pub(super) async fn act(&self, acts: Vec<Action<Arc<SentHop>>>) {
        for action in acts {
            match action {
                Action::Publish { frame, .. } => self.publish_hop(&frame).await,
                Action::AckNow { to, hop_id, status } => {
                    super::acker::flush(&self.client, &self.name, &self.me, &to, &[(hop_id, status)]).await
                }
                Action::Run { hop_id } => self.run_held(hop_id),
                Action::Discard { hop_id } => self.discard_held(hop_id),
                Action::Ack { to, hop_id, status } => self.ack_later(to, hop_id, status).await,
                Action::Query { qid, packet, hops } => self.ask(AskKind::Query, qid, packet, hops).await,
                Action::Unfence { qid, packet } => self.ask(AskKind::Unfence, qid, packet, 0).await,
                Action::Declare { qid, packet, hops } => self.ask(AskKind::Declare, qid, packet, hops).await,
                Action::Answer { to, qid, packet, answer } => self.answer(&to, qid, packet, answer).await,
                Action::Lost {
                    frame,
                    target,
                    visits,
                    reason,
                    detail,
                } => {
                    self.trace_loss(&frame, reason, &detail);
                    let inv = &frame.hop.inv;
                    self.ledger.lost(inv.packet, &inv.route, visits, &target, reason, detail).await;
                }
            }
        }
    }

    async fn publish_hop(&self, sent: &SentHop) {
        self.ledger.counters.hops_sent.fetch_add(1, Relaxed);
        // No headers, no reply subject: the frame names the sender, whose
        // ack subject the receiver derives.
        let res = self.client.publish(sent.subject.clone(), sent.payload.clone()).await;
        // A failed publish is not lost: the protocol re-sends or asks.
        if let Err(e) = res {
            tracing::warn!("publish failed (the protocol retries): {e}");
        }
    }

    async fn ask(&self, kind: AskKind, qid: u64, packet: u64, hops: u32) {
        let ask = Ask {
            kind,
            qid,
            packet,
            hops,
            host: self.me.to_string(),
        };
        let frame = Bytes::from(whohas::encode_ask(&ask));
        if let Err(e) = self.client.publish(self.whohas_subject.clone(), frame).await {
            tracing::warn!("cannot ask the lattice about packet {packet}: {e}");
        }
    }

    async fn answer(&self, to: &Peer, qid: u64, packet: u64, answer: Answer) {
        let subject = Subject::from(lwc_wire::subjects::answers(&self.name, to));
        let frame = Bytes::from(whohas::encode_answer(qid, packet, answer));
        if let Err(e) = self.client.publish(subject, frame).await {
            tracing::warn!("cannot answer {to} about packet {packet}: {e}");
        }
    }

    /// A loss found after the sending invocation ended: an error span under
    /// it, so the trace shows where the packet went missing.
    fn trace_loss(&self, sent: &SentHop, reason: LostReason, detail: &str) {
        let Some(traces) = &self.ledger.otel.traces else {
            return;
        };
        let hop = &sent.hop;
        let Some(parent) = hop.traceparent.as_deref().and_then(|tp| traces.parent(tp)) else {
            return;
        };
        let attributes = vec![
            spans::int("lwc.packet.id", hop.inv.packet),
            spans::int("lwc.packet.ttl", hop.inv.ttl),
            KeyValue::new("lwc.caller", hop.from.clone()),
            KeyValue::new("lwc.target", hop.target.clone()),
            KeyValue::new("lwc.loss.reason", reason.as_str()),
        ];
        traces.lost_after(&parent, attributes, format!("lost ({reason}): {detail}"));
    }

    /// Apply one ack frame from a receiving host.
    pub(super) async fn on_acks(&self, payload: &[u8]) {
        let arrived_ns = lwc_wire::now_ns();
        let lwc_wire::acks::AckFrame { from, entries, sample } = match lwc_wire::acks::decode_frame(payload) {
            Ok(f) => f,
            Err(e) => {
                self.ledger.counters.reject("ack");
                tracing::debug!("rejected ack frame: {e}");
                return;
            }
        };
        let mut acts = Vec::new();
        let bad_sample = {
            let mut inner = self.inner();
            let now = self.now();
            let bad = sample.is_some_and(|s| !inner.clocks.observe(now, &s, arrived_ns));
            inner.proto.on_acks(now, &Peer::from(from), &entries, &mut acts);
            bad
        };
        if bad_sample {
            self.ledger.counters.reject("clock-sample");
        }
        self.act(acts).await;
    }

    /// A question to every host (ours included): answer, fence, unfence or
    /// keep a tombstone.
    pub(super) async fn on_ask(&self, payload: &[u8]) {
        let ask = match whohas::decode_ask(payload) {
            Ok(a) if lwc_wire::subjects::is_valid_token(&a.host) => a,
            Ok(a) => {
                self.ledger.counters.reject("whohas");
                tracing::debug!("rejected whohas frame: bad host name {:?}", a.host);
                return;
            }
            Err(e) => {
                self.ledger.counters.reject("whohas");
                tracing::debug!("rejected whohas frame: {e}");
                return;
            }
        };
        let from: Peer = Arc::from(ask.host.as_str());
        let Ask { kind, qid, packet, hops, .. } = ask;
        self.step(|p, now, acts| match kind {
            AskKind::Query => p.on_query(now, &from, qid, packet, hops, acts),
            AskKind::Unfence => p.on_unfence(qid, packet),
            AskKind::Declare => p.on_declare(now, qid, packet, hops),
        })
        .await;
    }

    /// An answer to one of our questions.
    pub(super) async fn on_answer(&self, payload: &[u8]) {
        let (qid, _packet, answer) = match whohas::decode_answer(payload) {
            Ok(a) => a,
            Err(e) => {
                self.ledger.counters.reject("answer");
                tracing::debug!("rejected answer frame: {e}");
                return;
            }
        };
        self.step(|p, now, acts| p.on_answer(now, qid, answer, acts)).await;
    }
}
