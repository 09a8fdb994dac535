//! Replicas in the simulated world: host 6 runs component 3 beside host 3,
//! so a hop to component 3 goes to either (a queue group), and the world's
//! check that no hop runs twice covers re-sends that find the other one.

use rand::Rng;

use super::super::net::{Event, SimFrame, MS, US};
use super::{World, PROBES};
use crate::lattice::protocol::Peer;

/// The replicated component, and the host that runs it beside its own.
const REPLICATED: usize = 3;
const SECOND: usize = PROBES + 1;

/// The hosts that run component `c`.
pub fn of(replica: bool, c: usize) -> Vec<usize> {
    if replica && c == REPLICATED {
        vec![REPLICATED, SECOND]
    } else {
        vec![c]
    }
}

/// The component host `h` runs (a probe host runs its own number).
pub fn runs(h: usize) -> usize {
    if h == SECOND {
        REPLICATED
    } else {
        h
    }
}

impl World {
    /// Now and then, cut a replica off just after it took a hop, before its
    /// ack reaches the server: the case a re-send to the other replica
    /// would run twice, were the hop run on arrival.
    pub(super) fn maybe_cut(&mut self, host: usize) {
        if self.cuts_left == 0 || self.net.rng.random_range(0..8) != 0 {
            return;
        }
        self.cuts_left -= 1;
        let at = self.net.now + self.net.rng.random_range(0..300 * US);
        let back = at + self.net.rng.random_range(50 * MS..2_000 * MS);
        self.net.at(at, Event::Disconnect { host, cut: true });
        self.net.at(back, Event::Reconnect { host });
        self.last_fault = self.last_fault.max(back);
        // Cut off at every re-send, a receiver looks dead: a loss is by design.
        self.receiver_cut = true;
    }

    /// The guest on `host` starts on a hop now and finishes a little later.
    pub(super) fn run_later(&mut self, host: usize, from: Peer, frame: SimFrame) {
        let run = if self.net.rng.random_range(0..30) == 0 {
            self.net.rng.random_range(MS..200 * MS)
        } else {
            self.net.rng.random_range(50 * US..2 * MS)
        };
        let inc = self.net.conns[host].inc;
        self.net.at(self.net.now + run, Event::Invoked { host, inc, from, frame });
    }
}
