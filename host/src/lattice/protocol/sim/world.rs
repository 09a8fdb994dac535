//! One seed's world: a control host (0) that injects and watches fates,
//! probe hosts 1..=5 on a ring, their protocols, and the invariant checks.
//! In a world with replicas, host 6 runs component 3 too (see `replicas`).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::sync::Arc;

use super::net::{Event, Msg, Net, SimFrame, MS, US};
use crate::lattice::protocol::fates::{Outbox, Witness};
use crate::lattice::protocol::{Action, HopKey, Nanos, Peer, Policy, Protocol, Upstream, Verdict};
use lwc_wire::whohas::AskKind;

mod checks;
mod replicas;
mod witness;

pub use checks::Summary;

const PROBES: usize = 5;
const TICK: Nanos = 20 * MS;
/// Virtual time after the last fault by which every packet must have ended.
const SETTLE: Nanos = 60_000 * MS;

struct Host {
    name: Peer,
    proto: Option<Protocol<SimFrame>>,
    /// Fates reported to the witness and not yet acked: (lost, why).
    outbox: Outbox<(bool, String)>,
    next_hop_id: u64,
}

#[derive(Debug, Clone)]
struct Fate {
    lost: bool,
    host: usize,
    at: Nanos,
    why: String,
}

pub struct World {
    /// Host 6, a second replica of component 3, is in this world.
    replica: bool,
    net: Net,
    hosts: Vec<Host>,
    policy: Policy,
    trap_pct: u32,
    overload_pct: u32,
    fates: HashMap<u64, Vec<Fate>>,
    /// The control host's memory of the fates it published.
    witness: Witness,
    /// Hop id → (host, run of that host) that ran it.
    ran: HashMap<u64, (usize, u32)>,
    injected: HashMap<u64, Nanos>,
    crashes: Vec<(Nanos, usize)>,
    last_fault: Nanos,
    /// A probe host lost its connection for a while (not a NATS outage).
    receiver_cut: bool,
    /// Per host: when its acker's last batched ack goes out (acks keep order).
    ack_release: Vec<Nanos>,
    /// Hops held by replicas for their senders' word: (host, hop id) → hop.
    held: HashMap<(usize, u64), (Peer, SimFrame)>,
    /// Cuts still to aim at a replica just after it takes a hop.
    cuts_left: u32,
    error: Option<String>,
}

fn name(i: usize) -> Peer {
    Arc::from(format!("h{i}"))
}

fn index(peer: &str) -> usize {
    peer.trim_start_matches(['h', 'c']).parse().unwrap_or(0)
}

impl World {
    /// The classic world: five probe hosts, no replicas.
    pub fn new(seed: u64) -> World {
        World::build(seed, false)
    }

    /// With host 6 as a second replica of component 3.
    pub fn with_replicas(seed: u64) -> World {
        World::build(seed, true)
    }

    fn build(seed: u64, replica: bool) -> World {
        let hosts_n = if replica { PROBES + 2 } else { PROBES + 1 };
        let last_probe = hosts_n - 1;
        let mut rng = StdRng::seed_from_u64(seed);
        let dup_pct = if rng.random_range(0..3) == 0 { rng.random_range(1..20) } else { 0 };
        let trap_pct = if rng.random_range(0..4) == 0 { rng.random_range(1..30) } else { 0 };
        let overload_pct = if rng.random_range(0..5) == 0 { rng.random_range(1..30) } else { 0 };
        let mut net = Net::new(hosts_n, StdRng::seed_from_u64(seed ^ 0x5eed), dup_pct);
        // The replicas' world is harsher: a cut connection loses what was
        // in it, as a broken TCP connection does. (The classic world keeps
        // its model, so that its regression seeds replay as they were.)
        net.lossy_cuts = replica;
        let policy = Policy::default();
        let hosts = (0..hosts_n)
            .map(|i| Host {
                name: name(i),
                proto: Some(Protocol::new(name(i), policy, rng.random::<u64>() >> 1)),
                outbox: Outbox::default(),
                next_hop_id: rng.random::<u64>() >> 1,
            })
            .collect();
        for h in 0..hosts_n {
            net.at(rng.random_range(0..TICK), Event::Tick { host: h, inc: 0 });
        }
        let packets = rng.random_range(1..30u64);
        for p in 0..packets {
            let ttl = rng.random_range(0..60);
            net.at(rng.random_range(0..2_000 * MS), Event::Inject { packet: 1_000 + p, ttl });
        }
        let mut last_fault = 0;
        let mut receiver_cut = false;
        for _ in 0..rng.random_range(0..5) {
            let at = rng.random_range(0..3_000 * MS);
            match rng.random_range(0..3) {
                0 => {
                    let host = rng.random_range(1..=last_probe);
                    let back = at + rng.random_range(50 * MS..3_000 * MS);
                    net.at(at, Event::Crash { host });
                    net.at(back, Event::Restart { host });
                    last_fault = last_fault.max(back);
                }
                1 => {
                    let up = at + rng.random_range(100 * MS..5_000 * MS);
                    net.at(at, Event::ServerDown);
                    net.at(up, Event::ServerUp);
                    last_fault = last_fault.max(up);
                }
                _ => {
                    let host = rng.random_range(0..hosts_n);
                    let back = at + rng.random_range(50 * MS..2_000 * MS);
                    // A receiver cut off at every re-send looks dead to its
                    // senders: a loss there is by design, not a bug.
                    receiver_cut |= host != 0;
                    net.at(at, Event::Disconnect { host, cut: true });
                    net.at(back, Event::Reconnect { host });
                    last_fault = last_fault.max(back);
                }
            }
        }
        World {
            replica,
            net,
            hosts,
            policy,
            trap_pct,
            overload_pct,
            fates: HashMap::new(),
            witness: Witness::default(),
            ran: HashMap::new(),
            injected: HashMap::new(),
            crashes: Vec::new(),
            last_fault,
            receiver_cut,
            ack_release: vec![0; hosts_n],
            held: HashMap::new(),
            cuts_left: if replica { 3 } else { 0 },
            error: None,
        }
    }

    pub fn run(&mut self) -> Result<Summary, String> {
        let horizon = self.last_fault.max(2_000 * MS) + SETTLE;
        // LWC_SIM_TRACE=1 prints every event of a replayed seed.
        let trace = std::env::var_os("LWC_SIM_TRACE").is_some();
        while let Some(ev) = self.net.next() {
            if self.net.now > horizon {
                break;
            }
            if trace && !matches!(ev, Event::Tick { .. }) {
                eprintln!("{:>9.3} ms {ev:?}", self.net.now as f64 / MS as f64);
            }
            self.step(ev);
            if let Some(e) = self.error.take() {
                return Err(format!("at {} ms: {e}", self.net.now / MS));
            }
            if self.all_settled() && self.net.now > self.last_fault + 2 * self.policy.finish_timeout {
                break;
            }
        }
        self.final_check()
    }

    fn all_settled(&self) -> bool {
        self.injected.len() == self.fates.len() && self.injected.keys().all(|p| self.fates.contains_key(p))
    }

    fn step(&mut self, ev: Event) {
        let now = self.net.now;
        match ev {
            Event::Inject { packet, ttl } => {
                self.injected.insert(packet, now);
                let key = HopKey {
                    hop_id: self.new_hop_id(0),
                    packet,
                    hops: 1,
                };
                self.with(0, |p, acts| p.send(now, key, Arc::from("c1"), SimFrame { key, ttl }, None, acts));
            }
            Event::AtServer { src, inc, link, msg } => {
                if let Msg::Fate { packet, lost, why } = &msg {
                    if self.net.accepts(src, inc, link) {
                        self.record_fate(src, *packet, *lost, why.clone());
                    }
                }
                let (n, replica) = (self.hosts.len(), self.replica);
                self.net.route(src, inc, link, msg, n, |c| replicas::of(replica, c))
            }
            Event::Deliver { dst, inc, link, msg } => {
                if self.net.reaches(dst, inc, link) {
                    self.deliver(dst, msg);
                }
            }
            Event::Invoked { host, inc, from, frame } => {
                if self.net.conns[host].up && self.net.conns[host].inc == inc {
                    self.invoked(host, from, frame);
                }
            }
            Event::AckOut { host, inc, msg } => {
                if self.net.conns[host].up && self.net.conns[host].inc == inc {
                    self.net.publish(host, msg);
                }
            }
            Event::Tick { host, inc } => {
                if self.net.conns[host].up && self.net.conns[host].inc == inc {
                    self.with(host, |p, acts| p.tick(now, acts));
                    self.with_outbox(host, |o, policy, acts| o.tick(now, policy, acts));
                    self.net.at(now + TICK, Event::Tick { host, inc });
                }
            }
            Event::Crash { host } => {
                let c = &mut self.net.conns[host];
                c.up = false;
                c.inc += 1;
                c.buffered.clear();
                self.hosts[host].proto = None;
                self.hosts[host].outbox = Outbox::default();
                self.held.retain(|(h, _), _| *h != host);
                self.crashes.push((now, host));
            }
            Event::Restart { host } => {
                if self.net.conns[host].up {
                    return; // overlapping crashes: an earlier restart came first
                }
                let seed = self.net.rng.random::<u64>() >> 1;
                let mut proto = Protocol::new(self.hosts[host].name.clone(), self.policy, seed);
                let connected = self.net.server_up;
                let mut outbox = Outbox::default();
                if !connected {
                    proto.disconnected();
                    outbox.disconnected();
                }
                self.hosts[host].proto = Some(proto);
                self.hosts[host].outbox = outbox;
                self.hosts[host].next_hop_id = self.net.rng.random::<u64>() >> 1;
                let c = &mut self.net.conns[host];
                c.up = true;
                c.connected = connected;
                let inc = c.inc;
                self.net.at(now + TICK, Event::Tick { host, inc });
            }
            Event::Disconnect { host, cut } => {
                self.net.conns[host].connected = false;
                if cut {
                    self.net.conns[host].link += 1;
                }
                if let Some(p) = self.hosts[host].proto.as_mut() {
                    p.disconnected();
                }
                self.hosts[host].outbox.disconnected();
            }
            Event::Reconnect { host } => {
                if !self.net.server_up || !self.net.conns[host].up || self.net.conns[host].connected {
                    return;
                }
                self.net.conns[host].connected = true;
                self.net.flush_buffer(host);
                self.with(host, |p, acts| p.reconnected(now, acts));
                self.with_outbox(host, |o, policy, acts| o.reconnected(now, policy, acts));
            }
            Event::ServerDown => {
                self.net.server_up = false;
                for host in 0..self.hosts.len() {
                    // Each client notices the closed socket after reading
                    // what the server had already written to it.
                    let drained = self.net.last_delivery_to(host) + US;
                    let t = (now + self.net.rng.random_range(MS..5 * MS)).max(drained);
                    self.net.at(t, Event::Disconnect { host, cut: false });
                }
            }
            Event::ServerUp => {
                self.net.server_up = true;
                for host in 0..self.hosts.len() {
                    let t = now + self.net.rng.random_range(0..300 * MS);
                    self.net.at(t, Event::Reconnect { host });
                }
            }
        }
    }

    fn deliver(&mut self, dst: usize, msg: Msg) {
        let now = self.net.now;
        match msg {
            Msg::Hop { from, frame, .. } => {
                let room = self.net.rng.random_range(0..100) >= self.overload_pct;
                let key = frame.key;
                let mut verdict = Verdict::Refused;
                let replica = replicas::of(self.replica, replicas::runs(dst)).len() > 1;
                let replicated = replica && std::env::var_os("LWC_SIM_NO_HOLD").is_none();
                self.with(dst, |p, acts| verdict = p.on_hop(now, &from, key, room, replicated, acts));
                if replica {
                    self.maybe_cut(dst);
                }
                match verdict {
                    Verdict::Accept => self.run_later(dst, from, frame),
                    Verdict::Held => {
                        self.held.insert((dst, key.hop_id), (from, frame));
                    }
                    _ => {}
                }
            }
            Msg::Acks { from, entries, .. } => self.with(dst, |p, acts| p.on_acks(now, &from, &entries, acts)),
            Msg::Ask { kind, from, qid, packet, hops } => self.with(dst, |p, acts| match kind {
                AskKind::Query => p.on_query(now, &from, qid, packet, hops, acts),
                AskKind::Unfence => p.on_unfence(qid, packet),
                AskKind::Declare => p.on_declare(now, qid, packet, hops),
            }),
            Msg::Answer { qid, answer, .. } => self.with(dst, |p, acts| p.on_answer(now, qid, answer, acts)),
            Msg::Fate { packet, .. } => self.with(dst, |p, acts| p.fate_seen(now, packet, acts)),
            Msg::FateReport { from, packet, lost, why } => self.witness_report(dst, from, packet, lost, why),
            Msg::FateAck { packet, .. } => {
                self.hosts[dst].outbox.acked(packet);
                self.with(dst, |p, acts| p.fate_seen(now, packet, acts));
            }
        }
    }

    /// A guest ran hop `frame` on `host`: check, then end or forward it.
    fn invoked(&mut self, host: usize, from: Peer, frame: SimFrame) {
        let now = self.net.now;
        let key = frame.key;
        let run = (host, self.net.conns[host].inc);
        if let Some((h, inc)) = self.ran.insert(key.hop_id, run) {
            // Ran before by a host that is still that same run: a real
            // second run. (A host killed after running it, whose ack an
            // outage hid, took that run and all it led to with it.)
            if self.net.conns[h].up && self.net.conns[h].inc == inc {
                self.fail(format!("hop {} of packet {} ran twice (h{h}, then h{host})", key.hop_id, key.packet));
                return;
            }
        }
        if let Some(f) = self.fates.get(&key.packet).and_then(|f| f.first()) {
            let f = f.clone();
            self.fail(format!(
                "hop {} of packet {} ran on h{host} after its fate ({} by h{} at {} ms: {})",
                key.hops,
                key.packet,
                if f.lost { "lost" } else { "expired" },
                f.host,
                f.at / MS,
                f.why
            ));
            return;
        }
        let ended = if frame.ttl == 0 {
            self.fate(host, key.packet, false, "expired".into());
            true
        } else if self.net.rng.random_range(0..100) < self.trap_pct {
            self.fate(host, key.packet, true, "trap-before-forward".into());
            true
        } else {
            let next = HopKey {
                hop_id: self.new_hop_id(host),
                packet: key.packet,
                hops: key.hops + 1,
            };
            let target: Arc<str> = Arc::from(format!("c{}", replicas::runs(host) % PROBES + 1));
            let up = Upstream { peer: from, hop_id: key.hop_id };
            let frame = SimFrame { key: next, ttl: frame.ttl - 1 };
            self.with(host, |p, acts| p.send(now, next, target, frame, Some(up), acts));
            false
        };
        self.with(host, |p, acts| p.settled(now, key.hop_id, ended, acts));
    }

    fn new_hop_id(&mut self, host: usize) -> u64 {
        let h = &mut self.hosts[host];
        h.next_hop_id = h.next_hop_id.wrapping_add(1);
        h.next_hop_id
    }

    /// Run `f` on a live host's protocol and carry out what it asks.
    fn with(&mut self, host: usize, f: impl FnOnce(&mut Protocol<SimFrame>, &mut Vec<Action<SimFrame>>)) {
        let Some(proto) = self.hosts[host].proto.as_mut() else { return };
        let mut acts = Vec::new();
        f(proto, &mut acts);
        for a in acts {
            self.act(host, a);
        }
    }

    fn act(&mut self, host: usize, action: Action<SimFrame>) {
        let from = self.hosts[host].name.clone();
        let msg = match action {
            Action::Publish { target, frame } => Msg::Hop { from, frame, target: index(&target) },
            Action::AckNow { to, hop_id, status } => Msg::Acks {
                from,
                to: index(&to),
                entries: vec![(hop_id, status)],
            },
            Action::Run { hop_id } => {
                if let Some((up, frame)) = self.held.remove(&(host, hop_id)) {
                    self.run_later(host, up, frame);
                }
                return;
            }
            Action::Discard { hop_id } => {
                self.held.remove(&(host, hop_id));
                return;
            }
            Action::Ack { to, hop_id, status } => {
                let msg = Msg::Acks { from, to: index(&to), entries: vec![(hop_id, status)] };
                self.batch_ack(host, msg);
                return;
            }
            Action::Query { qid, packet, hops } => Msg::Ask { kind: AskKind::Query, from, qid, packet, hops },
            Action::Unfence { qid, packet } => Msg::Ask { kind: AskKind::Unfence, from, qid, packet, hops: 0 },
            Action::Declare { qid, packet, hops } => Msg::Ask { kind: AskKind::Declare, from, qid, packet, hops },
            Action::Answer { to, qid, answer, .. } => Msg::Answer { to: index(&to), qid, answer },
            Action::Lost { frame, reason, detail, .. } => {
                self.fate(host, frame.key.packet, true, format!("{reason}: {detail}"));
                return;
            }
        };
        self.net.publish(host, msg);
    }

    fn fail(&mut self, e: String) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }
}
