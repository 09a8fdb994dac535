//! The receiving side's memory: hops accepted recently (to run each once and
//! ack it again when re-sent) and, per packet, the furthest hop seen here and
//! whether its fate is known (to answer queries).

use std::collections::{HashMap, VecDeque};

use super::{Answer, HopKey, Nanos, Peer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Taken; its packet has not moved on from here yet.
    Accepted,
    /// Its packet moved on (next hop accepted) or ended here: `done` sent.
    Passed,
}

struct Received {
    from: Peer,
    packet: u64,
    hops: u32,
    status: Status,
}

#[derive(Clone, Copy)]
struct Seen {
    max_hops: u32,
    /// The hop at `max_hops` has been passed on.
    passed: bool,
    /// Its fate was published (here, or seen on the stream).
    ended: bool,
    /// Last change: a packet still moving is never forgotten.
    touched: Nanos,
}

/// Bounded by age ([`Incoming::forget_before`]) and by count.
#[derive(Default)]
pub struct Incoming {
    hops: HashMap<u64, Received>,
    packets: HashMap<u64, Seen>,
    /// Insertion order of both maps, for forgetting the oldest first.
    order: VecDeque<(Nanos, Entry)>,
}

#[derive(Clone, Copy)]
enum Entry {
    Hop(u64),
    Packet(u64),
}

/// Entries kept at most, whatever their age: a bound on memory (~20 MB),
/// still seconds of hops at full speed (re-sends come within 3.5 s).
const CAPACITY: usize = 1 << 18;

impl Incoming {
    pub fn status(&self, hop_id: u64) -> Option<Status> {
        self.hops.get(&hop_id).map(|r| r.status)
    }

    pub fn packet_of(&self, hop_id: u64) -> Option<u64> {
        self.hops.get(&hop_id).map(|r| r.packet)
    }

    pub fn accept(&mut self, now: Nanos, from: Peer, key: HopKey) {
        let received = Received {
            from,
            packet: key.packet,
            hops: key.hops,
            status: Status::Accepted,
        };
        self.hops.insert(key.hop_id, received);
        self.push(now, Entry::Hop(key.hop_id));
        match self.packets.get_mut(&key.packet) {
            Some(seen) if seen.max_hops >= key.hops => seen.touched = now,
            Some(seen) => {
                seen.max_hops = key.hops;
                seen.passed = false;
                seen.touched = now;
            }
            None => {
                let seen = Seen {
                    max_hops: key.hops,
                    passed: false,
                    ended: false,
                    touched: now,
                };
                self.packets.insert(key.packet, seen);
                self.push(now, Entry::Packet(key.packet));
            }
        }
    }

    /// Mark a received hop passed on; returns who sent it, the first time.
    pub fn pass(&mut self, hop_id: u64) -> Option<Peer> {
        let r = self.hops.get_mut(&hop_id)?;
        if r.status == Status::Passed {
            return None;
        }
        r.status = Status::Passed;
        if let Some(seen) = self.packets.get_mut(&r.packet) {
            if seen.max_hops == r.hops {
                seen.passed = true;
            }
        }
        Some(r.from.clone())
    }

    pub fn ended(&mut self, now: Nanos, packet: u64) {
        match self.packets.get_mut(&packet) {
            Some(seen) => {
                seen.ended = true;
                seen.touched = now;
            }
            None => {
                let seen = Seen {
                    max_hops: 0,
                    passed: true,
                    ended: true,
                    touched: now,
                };
                self.packets.insert(packet, seen);
                self.push(now, Entry::Packet(packet));
            }
        }
    }

    /// Whether `packet`'s fate is known here.
    pub fn is_ended(&self, packet: u64) -> bool {
        self.packets.get(&packet).is_some_and(|s| s.ended)
    }

    /// For the census: `Some(true)` if the packet is here and not passed on,
    /// `Some(false)` if its fate is known here, `None` otherwise.
    pub fn holds(&self, packet: u64) -> Option<bool> {
        let seen = self.packets.get(&packet)?;
        if seen.ended {
            Some(false)
        } else {
            (!seen.passed).then_some(true)
        }
    }

    /// What we can say about `packet` at hop ≥ `hops`, if anything.
    pub fn answer(&self, packet: u64, hops: u32) -> Option<Answer> {
        let seen = self.packets.get(&packet)?;
        if seen.ended {
            Some(Answer::Ended)
        } else if seen.max_hops >= hops {
            Some(Answer::Has {
                hops: seen.max_hops,
                passed: seen.passed,
            })
        } else {
            None
        }
    }

    /// Forget entries older than `cutoff`, and the oldest past capacity.
    pub fn forget_before(&mut self, cutoff: Nanos) {
        while let Some(&(at, entry)) = self.order.front() {
            if at >= cutoff && self.order.len() <= CAPACITY {
                break;
            }
            self.order.pop_front();
            match entry {
                Entry::Hop(id) => {
                    self.hops.remove(&id);
                }
                Entry::Packet(p) => match self.packets.get(&p) {
                    // Still moving: keep it, filed under its last change.
                    Some(seen) if seen.touched > at && seen.touched >= cutoff && self.order.len() < CAPACITY => {
                        self.order.push_back((seen.touched, Entry::Packet(p)));
                    }
                    _ => {
                        self.packets.remove(&p);
                    }
                },
            }
        }
    }

    fn push(&mut self, now: Nanos, entry: Entry) {
        self.order.push_back((now, entry));
    }
}
