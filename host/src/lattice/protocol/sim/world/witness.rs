//! How fates and batched acks leave a simulated host: `done`s wait in the
//! host's acker; fates go to the control host's witness, which publishes
//! each packet's first one on the stream.

use rand::Rng;

use super::super::net::{Event, Msg, MS};
use super::{Fate, World};
use crate::lattice::protocol::fates::{FateAction, Outbox};
use crate::lattice::protocol::Policy;

impl World {
    /// A batched ack waits in its host's acker (up to its 20 ms window, or
    /// not at all when an `accepted` to the same host carries it; now and
    /// then a stalled 100 ms) before it is published; acks keep their order.
    pub(super) fn batch_ack(&mut self, host: usize, msg: Msg) {
        let rng = &mut self.net.rng;
        let wait = if rng.random_range(0..100) == 0 { rng.random_range(20 * MS..100 * MS) } else { rng.random_range(0..20 * MS) };
        let at = (self.net.now + wait).max(self.ack_release[host]);
        self.ack_release[host] = at;
        let inc = self.net.conns[host].inc;
        self.net.at(at, Event::AckOut { host, inc, msg });
    }

    /// A host reports a fate to the witness; it counts once the witness (or,
    /// with no witness answering, the host itself) put it on the stream.
    pub(super) fn fate(&mut self, host: usize, packet: u64, lost: bool, why: String) {
        let now = self.net.now;
        self.with_outbox(host, |o, policy, acts| o.report(now, policy, packet, (lost, why), acts));
    }

    /// Run `f` on a live host's fate outbox and send what it asks.
    pub(super) fn with_outbox(&mut self, host: usize, f: impl FnOnce(&mut Outbox<(bool, String)>, &Policy, &mut Vec<FateAction<(bool, String)>>)) {
        if self.hosts[host].proto.is_none() {
            return; // crashed
        }
        let mut acts = Vec::new();
        let policy = self.policy;
        f(&mut self.hosts[host].outbox, &policy, &mut acts);
        let now = self.net.now;
        for a in acts {
            match a {
                FateAction::Report { packet, payload: (lost, why) } => {
                    self.net.publish(host, Msg::FateReport { from: host, packet, lost, why });
                }
                FateAction::Publish { packet, payload: (lost, why) } => {
                    self.net.publish(host, Msg::Fate { packet, lost, why: format!("{why}, published by h{host}") });
                    self.with(host, |p, acts| p.fate_seen(now, packet, acts));
                }
            }
        }
    }

    pub(super) fn record_fate(&mut self, host: usize, packet: u64, lost: bool, why: String) {
        let at = self.net.now;
        let fates = self.fates.entry(packet).or_default();
        fates.push(Fate { lost, host, at, why });
        if fates.len() > 1 {
            let list: Vec<String> = fates
                .iter()
                .map(|f| format!("{} by h{} at {} ms ({})", if f.lost { "lost" } else { "expired" }, f.host, f.at / MS, f.why))
                .collect();
            self.fail(format!("packet {packet} got {} fates: {}", list.len(), list.join("; ")));
        }
    }

    /// The control host, as witness: publish the first report, ack all.
    pub(super) fn witness_report(&mut self, dst: usize, from: usize, packet: u64, lost: bool, why: String) {
        let now = self.net.now;
        if self.witness.admit(packet) {
            self.net.publish(dst, Msg::Fate { packet, lost, why: format!("{why}, reported by h{from}") });
            self.with(dst, |p, acts| p.fate_seen(now, packet, acts));
        }
        self.net.publish(dst, Msg::FateAck { to: from, packet });
    }
}
