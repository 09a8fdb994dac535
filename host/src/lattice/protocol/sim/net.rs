//! The simulated lattice: one NATS server, one connection per host.
//!
//! What it models is what NATS does: a host's publishes reach the server in
//! order; a crash loses the publishes that had not reached it yet (a
//! suffix); the server delivers in order per publisher and subscriber, with
//! delays that reorder messages between publishers; a message for a host
//! that is disconnected, down or restarted is lost; while a host is
//! disconnected its publishes wait in its client and go out on reconnect.
//! On top, it duplicates some hop frames, as a racing re-send would, and
//! `done`/`overloaded` acks wait in a per-host batch, as in a host.

use rand::rngs::StdRng;
use rand::Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::super::{Answer, HopKey, Nanos, Peer};
use lwc_wire::acks::AckStatus;
use lwc_wire::whohas::AskKind;

pub const US: Nanos = 1_000;
pub const MS: Nanos = 1_000_000;

#[derive(Debug, Clone)]
pub struct SimFrame {
    pub key: HopKey,
    pub ttl: u32,
}

#[derive(Debug, Clone)]
pub enum Msg {
    /// To component `target`: delivered to one of its live replicas.
    Hop { from: Peer, frame: SimFrame, target: usize },
    Acks { from: Peer, to: usize, entries: Vec<(u64, AckStatus)> },
    Ask { kind: AskKind, from: Peer, qid: u64, packet: u64, hops: u32 },
    Answer { to: usize, qid: u64, answer: Answer },
    /// A fate event: on the stream once the server has it; the control
    /// host's ledger watch sees it too.
    Fate { packet: u64, lost: bool, why: String },
    /// A host's report of a fate to the witness (the control host).
    FateReport { from: usize, packet: u64, lost: bool, why: String },
    /// The witness has a fate: the reporter may forget it.
    FateAck { to: usize, packet: u64 },
}

#[derive(Debug, Clone)]
pub enum Event {
    /// A publish reaches the server.
    /// `link`: the publisher's connection it was written to.
    AtServer { src: usize, inc: u32, link: u32, msg: Msg },
    /// The server's copy reaches a host.
    Deliver { dst: usize, inc: u32, link: u32, msg: Msg },
    /// A host's guest finished running a hop.
    Invoked { host: usize, inc: u32, from: Peer, frame: SimFrame },
    Tick { host: usize, inc: u32 },
    /// A host's acker publishes an ack it batched (lost if the host died).
    AckOut { host: usize, inc: u32, msg: Msg },
    Crash { host: usize },
    Restart { host: usize },
    /// `cut`: the host's own connection broke (not the server going away).
    Disconnect { host: usize, cut: bool },
    Reconnect { host: usize },
    ServerDown,
    ServerUp,
    Inject { packet: u64, ttl: u32 },
}

/// Per-host connection state, as the network sees it.
#[derive(Default, Clone)]
pub struct Conn {
    pub up: bool,
    pub connected: bool,
    /// Bumped at each restart: what was addressed to an old run is lost.
    pub inc: u32,
    /// Publishes made while disconnected, sent on reconnect.
    pub buffered: Vec<Msg>,
    /// Bumped when the connection is cut (with `Net::lossy_cuts`): what
    /// was written to the old one and not yet at the server, or not yet
    /// read from it, is lost.
    last_at_server: Nanos,
    pub link: u32,
}

pub struct Net {
    pub now: Nanos,
    pub rng: StdRng,
    pub conns: Vec<Conn>,
    pub server_up: bool,
    queue: BinaryHeap<Reverse<(Nanos, u64, usize)>>,
    events: HashMap<usize, Event>,
    seq: u64,
    /// Per (src, dst): the last delivery time, to keep NATS's order.
    last_delivery: HashMap<(usize, usize), Nanos>,
    pub dup_pct: u32,
    /// A cut connection loses what was in it (a broken TCP connection),
    /// rather than delivering it late.
    pub lossy_cuts: bool,
}

impl Net {
    pub fn new(hosts: usize, rng: StdRng, dup_pct: u32) -> Net {
        let conns = (0..hosts)
            .map(|_| Conn {
                up: true,
                connected: true,
                ..Conn::default()
            })
            .collect();
        Net {
            now: 0,
            rng,
            conns,
            server_up: true,
            queue: BinaryHeap::new(),
            events: HashMap::new(),
            seq: 0,
            last_delivery: HashMap::new(),
            dup_pct,
            lossy_cuts: false,
        }
    }

    pub fn at(&mut self, t: Nanos, ev: Event) {
        self.seq += 1;
        let slot = self.seq as usize;
        self.events.insert(slot, ev);
        self.queue.push(Reverse((t.max(self.now), self.seq, slot)));
    }

    pub fn next(&mut self) -> Option<Event> {
        let Reverse((t, _, slot)) = self.queue.pop()?;
        self.now = t;
        self.events.remove(&slot)
    }

    /// A host publishes: to the server in order, or into its client buffer.
    pub fn publish(&mut self, src: usize, msg: Msg) {
        let c = &mut self.conns[src];
        if !c.up {
            return;
        }
        if !c.connected || !self.server_up {
            c.buffered.push(msg);
            return;
        }
        let d1 = self.rng.random_range(20 * US..400 * US);
        let t = (self.now + d1).max(c.last_at_server);
        c.last_at_server = t;
        let (inc, link) = (c.inc, c.link);
        self.at(t, Event::AtServer { src, inc, link, msg });
    }

    pub fn flush_buffer(&mut self, src: usize) {
        let msgs = std::mem::take(&mut self.conns[src].buffered);
        for m in msgs {
            self.publish(src, m);
        }
    }

    /// Whether a publish that reaches the server now counts (the server is
    /// up, the publisher did not die first).
    pub fn accepts(&self, src: usize, inc: u32, link: u32) -> bool {
        // (A message that finds the server down is re-buffered by `route`.)
        self.server_up && self.conns[src].inc == inc && self.same_link(src, link)
    }

    fn same_link(&self, host: usize, link: u32) -> bool {
        !self.lossy_cuts || self.conns[host].link == link
    }

    /// The server routes a message that reached it. One that finds the
    /// server down stays with its client, which sends it on reconnect
    /// (the model's assumption about the NATS client; see decisions.md).
    /// `replicas` of a component: the hosts a queue group picks from.
    pub fn route(&mut self, src: usize, inc: u32, link: u32, msg: Msg, hosts: usize, replicas: impl Fn(usize) -> Vec<usize>) {
        if self.conns[src].inc != inc || !self.same_link(src, link) {
            return;
        }
        if !self.server_up {
            self.conns[src].buffered.push(msg);
            return;
        }
        let dsts: Vec<usize> = match &msg {
            Msg::Hop { target, .. } => {
                // A queue group: one member the server knows (a crashed
                // host's socket closed; a cut-off one's may not have yet).
                let live: Vec<usize> = replicas(*target).into_iter().filter(|&h| self.conns[h].up).collect();
                match live.len() {
                    0 => vec![],
                    1 => live,
                    n => vec![live[self.rng.random_range(0..n)]],
                }
            }
            Msg::Acks { to, .. } | Msg::Answer { to, .. } | Msg::FateAck { to, .. } => vec![*to],
            Msg::Ask { .. } => (0..hosts).collect(),
            Msg::Fate { .. } | Msg::FateReport { .. } => vec![0],
        };
        let copies = if matches!(msg, Msg::Hop { .. }) && self.rng.random_range(0..100) < self.dup_pct {
            2
        } else {
            1
        };
        for dst in dsts {
            let c = &self.conns[dst];
            if !c.up || !c.connected {
                continue;
            }
            let (inc, link) = (c.inc, c.link);
            for _ in 0..copies {
                let d2 = if self.rng.random_range(0..50) == 0 {
                    self.rng.random_range(MS..20 * MS)
                } else {
                    self.rng.random_range(20 * US..600 * US)
                };
                let last = self.last_delivery.entry((src, dst)).or_default();
                let t = (self.now + d2).max(*last);
                *last = t;
                self.at(t, Event::Deliver { dst, inc, link, msg: msg.clone() });
            }
        }
    }

    /// When the last delivery already on its way to `dst` arrives.
    pub fn last_delivery_to(&self, dst: usize) -> Nanos {
        self.last_delivery.iter().filter(|((_, d), _)| *d == dst).map(|(_, &t)| t).max().unwrap_or(0)
    }

    /// Whether a delivery still reaches the run of the host it was meant for.
    pub fn reaches(&self, dst: usize, inc: u32, link: u32) -> bool {
        let c = &self.conns[dst];
        // Not `server_up`: what the server already wrote to a host's socket
        // still arrives, until the host notices the connection closed.
        c.up && c.connected && c.inc == inc && self.same_link(dst, link)
    }
}
