//! The sending side: every hop we sent, until the next holder has it.
//!
//! ```text
//!   Sent ──accepted──▶ Accepted ──done──▶ (gone)
//!    │ ▲ overloaded       │ finish timeout
//!    ▼ │                  ▼
//!   Backoff            Querying ──answer: has it / ended──▶ (gone)
//!    (retries out) ───▶   │ ──answer: holder alive──▶ Accepted
//!                         └──window, no answer──▶ declared lost
//! ```
//!
//! To a replicated component, `held` comes before `accepted`: the first
//! replica to say it is committed, for good, and any other aborted (see
//! `replicas`).

use std::collections::HashMap;
use std::sync::Arc;

use lwc_wire::acks::AckStatus;
use lwc_wire::events::LostReason;

use super::{backoff, jitter, Action, Answer, HopKey, Nanos, Peer, Policy, Upstream};

enum State {
    Sent,
    Backoff,
    Accepted,
    Querying {
        qid: u64,
        epoch: u64,
        /// Another host's query about this packet is still open.
        pending: bool,
        /// Silence means "never taken": re-send instead of declaring.
        then_resend: bool,
        reason: LostReason,
        detail: String,
    },
}

struct Pending<F> {
    key: HopKey,
    target: Arc<str>,
    frame: F,
    /// `done` owed upstream once this hop is taken; `None` once sent.
    upstream: Option<Upstream>,
    state: State,
    due: Nanos,
    tries: u32,
    nacks: u32,
    /// The receiver said it took the hop (so the visit counts).
    accepted: bool,
    /// The replica told to run it: the only one that ever may.
    committed: Option<Peer>,
    /// Sent before an outage: its `accepted` may have been lost, so ask the
    /// lattice before re-sending (a restarted receiver would run it again).
    check_first: bool,
}

/// What one timer pass did.
#[derive(Default)]
pub struct Ticked {
    pub resent: u64,
    pub queried: u64,
    /// Losses declared: (packet, from hop, query id, `done` owed upstream).
    pub declared: Vec<(u64, u32, u64, Option<Upstream>)>,
}

pub struct Outgoing<F> {
    hops: HashMap<u64, Pending<F>>,
    /// Our open queries: query id → hop id.
    queries: HashMap<u64, u64>,
    next_qid: u64,
    /// When each target component last acked anything of ours.
    alive: HashMap<Arc<str>, Nanos>,
}

impl<F: Clone> Outgoing<F> {
    pub fn new(qid_base: u64) -> Self {
        Outgoing {
            hops: HashMap::new(),
            queries: HashMap::new(),
            next_qid: qid_base,
            alive: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.hops.len()
    }

    /// The packets of the hops we still watch.
    pub fn packets(&self) -> std::collections::HashSet<u64> {
        self.hops.values().map(|p| p.key.packet).collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub fn send(
        &mut self,
        now: Nanos,
        policy: &Policy,
        key: HopKey,
        target: Arc<str>,
        frame: F,
        upstream: Option<Upstream>,
        _connected: bool,
        acts: &mut Vec<Action<F>>,
    ) {
        // Published even while NATS is away: the client sends it on
        // reconnect, and the resume re-send is de-duplicated.
        acts.push(Action::Publish {
            target: target.clone(),
            frame: frame.clone(),
        });
        let pending = Pending {
            key,
            target,
            frame,
            upstream,
            state: State::Sent,
            due: now + policy.timeout,
            tries: 0,
            nacks: 0,
            accepted: false,
            committed: None,
            check_first: false,
        };
        self.hops.insert(key.hop_id, pending);
    }

    /// Apply one ack from `from`; returns the `done` owed upstream, if now due.
    #[allow(clippy::too_many_arguments)]
    pub fn on_ack(&mut self, now: Nanos, policy: &Policy, epoch: u64, from: &Peer, hop_id: u64, status: AckStatus, acts: &mut Vec<Action<F>>) -> Option<Upstream> {
        let Some(p) = self.hops.get_mut(&hop_id) else {
            if status == AckStatus::Held {
                // Settled (another replica ran it), or never ours: nobody
                // will commit it.
                acts.push(Action::AckNow { to: from.clone(), hop_id, status: AckStatus::Abort });
            }
            return None;
        };
        self.alive.insert(p.target.clone(), now);
        match status {
            AckStatus::Held => {
                let word = match &p.committed {
                    None => {
                        p.committed = Some(from.clone());
                        AckStatus::Commit
                    }
                    // Again: our word (or its `accepted`) was lost.
                    Some(c) if c == from => AckStatus::Commit,
                    Some(_) => AckStatus::Abort,
                };
                acts.push(Action::AckNow { to: from.clone(), hop_id, status: word });
                None
            }
            // Sender-to-replica words never come back here.
            AckStatus::Commit | AckStatus::Abort => None,
            AckStatus::Accepted => {
                if let State::Querying { qid, .. } = p.state {
                    // Taken before our fence went up: the query is moot.
                    self.queries.remove(&qid);
                    acts.push(Action::Unfence { qid, packet: p.key.packet });
                }
                p.state = State::Accepted;
                p.accepted = true;
                p.due = now + policy.finish_timeout;
                p.upstream.take()
            }
            AckStatus::Done => {
                let p = self.hops.remove(&hop_id)?;
                if let State::Querying { qid, .. } = p.state {
                    self.queries.remove(&qid);
                    acts.push(Action::Unfence { qid, packet: p.key.packet });
                }
                p.upstream
            }
            AckStatus::Overloaded => {
                if !matches!(p.state, State::Sent | State::Backoff) {
                    return None;
                }
                p.nacks += 1;
                if p.nacks > policy.overload_retries {
                    let detail = format!("{} stayed overloaded through {} tries", p.target, p.nacks);
                    self.query(now, policy, epoch, hop_id, LostReason::Overloaded, detail, acts);
                } else {
                    let base = (5_000_000u64 << p.nacks.min(8)).min(1_000_000_000);
                    p.state = State::Backoff;
                    p.due = now + base + jitter(hop_id ^ u64::from(p.nacks), 5_000_000);
                }
                None
            }
        }
    }

    /// An answer to one of our queries; returns the `done` owed upstream
    /// when the answer settles the hop.
    pub fn on_answer(&mut self, now: Nanos, policy: &Policy, qid: u64, answer: Answer, acts: &mut Vec<Action<F>>) -> Option<Upstream> {
        let hop_id = *self.queries.get(&qid)?;
        let Some(p) = self.hops.get_mut(&hop_id) else {
            self.queries.remove(&qid);
            return None;
        };
        let State::Querying { qid: open, pending, .. } = &mut p.state else {
            return None;
        };
        if *open != qid {
            return None;
        }
        let k = p.key.hops;
        match answer {
            Answer::Pending => {
                *pending = true;
                None
            }
            Answer::Has { hops, .. } if hops < k => None,
            Answer::Has { hops, passed: false } if hops == k => {
                // The receiver is alive and still holds it: keep watching.
                self.queries.remove(&qid);
                acts.push(Action::Unfence { qid, packet: p.key.packet });
                p.state = State::Accepted;
                p.accepted = true;
                p.due = now + policy.finish_timeout;
                p.upstream.take()
            }
            // Declared lost by someone whose report may not have reached
            // the witness (it may have died since): decide for ourselves at
            // the window's end; the witness keeps one fate of the two.
            Answer::Tombstone if policy.witness => None,
            // Moved on past the receiver, ended, or declared by someone.
            Answer::Has { .. } | Answer::Ended | Answer::Tombstone => {
                self.queries.remove(&qid);
                let p = self.hops.remove(&hop_id)?;
                acts.push(Action::Unfence { qid, packet: p.key.packet });
                p.upstream
            }
        }
    }

    /// After a reconnect: accepted hops are watched afresh; every hop not yet
    /// accepted is asked about (three query windows on, once the others have
    /// reconnected) and re-sent only if nobody has it; open queries are
    /// dropped (asked again when due).
    pub fn resume(&mut self, now: Nanos, policy: &Policy, acts: &mut Vec<Action<F>>) -> u64 {
        let mut resent = 0;
        for p in self.hops.values_mut() {
            if let State::Querying { qid, .. } = p.state {
                self.queries.remove(&qid);
                acts.push(Action::Unfence { qid, packet: p.key.packet });
            }
            if p.accepted {
                // Not re-sent: a receiver restarted meanwhile would run it
                // again. A `done` lost in the outage is found by the query.
                p.state = State::Accepted;
                p.due = now + policy.finish_timeout;
                continue;
            }
            // Give the other hosts time to reconnect, then ask who has it.
            p.state = State::Sent;
            p.tries = 0;
            p.check_first = true;
            p.due = now + policy.query_window * 3;
            resent += 1;
        }
        resent
    }

    pub fn tick(&mut self, now: Nanos, policy: &Policy, epoch: u64, acts: &mut Vec<Action<F>>) -> Ticked {
        let mut t = Ticked::default();
        let due: Vec<u64> = self.hops.iter().filter(|(_, p)| p.due <= now).map(|(id, _)| *id).collect();
        for hop_id in due {
            self.tick_one(now, policy, epoch, hop_id, &mut t, acts);
        }
        t
    }

    fn tick_one(&mut self, now: Nanos, policy: &Policy, epoch: u64, hop_id: u64, t: &mut Ticked, acts: &mut Vec<Action<F>>) {
        let alive = |alive: &HashMap<Arc<str>, Nanos>, target: &str| {
            alive.get(target).is_some_and(|&at| now.saturating_sub(at) < policy.timeout)
        };
        let Some(p) = self.hops.get_mut(&hop_id) else { return };
        match &p.state {
            State::Sent if p.check_first => {
                p.check_first = false;
                let detail = format!("{} never acked it across an outage", p.target);
                self.query(now, policy, epoch, hop_id, LostReason::Unreachable, detail, acts);
                if let Some(State::Querying { then_resend, .. }) = self.hops.get_mut(&hop_id).map(|p| &mut p.state) {
                    *then_resend = true;
                }
                t.queried += 1;
            }
            State::Sent => {
                if p.tries < policy.retries {
                    // Re-sent even to a target that acks other hops: this one
                    // may have been lost (its connection dropped), and a
                    // duplicate only costs the receiver a re-ack.
                    p.tries += 1;
                    p.due = now + backoff(policy, p.tries);
                    acts.push(Action::Publish {
                        target: p.target.clone(),
                        frame: p.frame.clone(),
                    });
                    t.resent += 1;
                } else {
                    let (reason, detail) = if alive(&self.alive, &p.target) {
                        (LostReason::Overloaded, format!("{} is alive but did not take the hop in time", p.target))
                    } else {
                        (LostReason::Unreachable, format!("no ack from {} after {} tries", p.target, p.tries + 1))
                    };
                    self.query(now, policy, epoch, hop_id, reason, detail, acts);
                    t.queried += 1;
                }
            }
            State::Backoff => {
                p.state = State::Sent;
                p.due = now + policy.timeout;
                acts.push(Action::Publish {
                    target: p.target.clone(),
                    frame: p.frame.clone(),
                });
                t.resent += 1;
            }
            State::Accepted => {
                let detail = format!("{} accepted hop {} but never passed it on (host gone?)", p.target, hop_id);
                self.query(now, policy, epoch, hop_id, LostReason::Unreachable, detail, acts);
                t.queried += 1;
            }
            State::Querying { qid, epoch: asked_in, pending, .. } => {
                let qid = *qid;
                if *asked_in != epoch || *pending {
                    // Not everyone could answer, or someone else is deciding:
                    // ask again rather than decide on silence.
                    let State::Querying { reason, detail, then_resend, .. } = std::mem::replace(&mut p.state, State::Sent) else {
                        return;
                    };
                    self.queries.remove(&qid);
                    acts.push(Action::Unfence { qid, packet: p.key.packet });
                    self.query(now, policy, epoch, hop_id, reason, detail, acts);
                    if let Some(State::Querying { then_resend: again, .. }) = self.hops.get_mut(&hop_id).map(|p| &mut p.state) {
                        *again = then_resend;
                    }
                    t.queried += 1;
                    return;
                }
                self.queries.remove(&qid);
                if let State::Querying { then_resend: true, .. } = p.state {
                    // Nobody has it: it was never taken. Lift our fence first
                    // (the same connection carries both, in order), then re-send.
                    acts.push(Action::Unfence { qid, packet: p.key.packet });
                    acts.push(Action::Publish {
                        target: p.target.clone(),
                        frame: p.frame.clone(),
                    });
                    p.state = State::Sent;
                    p.due = now + policy.timeout;
                    t.resent += 1;
                    return;
                }
                let Some(p) = self.hops.remove(&hop_id) else { return };
                let State::Querying { reason, detail, .. } = p.state else { return };
                // The packet made `hops - 1` visits, `hops` if the last was taken.
                let visits = if p.accepted { p.key.hops } else { p.key.hops.saturating_sub(1) };
                acts.push(Action::Lost {
                    frame: p.frame,
                    target: p.target,
                    visits,
                    reason,
                    detail,
                });
                t.declared.push((p.key.packet, p.key.hops, qid, p.upstream));
            }
        }
    }

    /// Ask the lattice who has this hop's packet; decide when the window ends.
    #[allow(clippy::too_many_arguments)]
    fn query(&mut self, now: Nanos, policy: &Policy, epoch: u64, hop_id: u64, reason: LostReason, detail: String, acts: &mut Vec<Action<F>>) {
        let Some(p) = self.hops.get_mut(&hop_id) else { return };
        let qid = self.next_qid;
        self.next_qid = self.next_qid.wrapping_add(1);
        self.queries.insert(qid, hop_id);
        p.state = State::Querying {
            qid,
            epoch,
            pending: false,
            then_resend: false,
            reason,
            detail,
        };
        p.due = now + policy.query_window;
        acts.push(Action::Query {
            qid,
            packet: p.key.packet,
            hops: p.key.hops,
        });
    }
}
