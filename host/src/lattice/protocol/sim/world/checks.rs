//! What must hold at the end of a seed, and what it comes to.

use std::collections::HashSet;

use super::super::net::MS;
use super::World;

#[derive(Debug, Default, Clone, Copy)]
pub struct Summary {
    pub packets: u64,
    pub expired: u64,
    pub lost: u64,
    pub orphaned: u64,
}

impl Summary {
    pub fn add(&mut self, o: &Summary) {
        self.packets += o.packets;
        self.expired += o.expired;
        self.lost += o.lost;
        self.orphaned += o.orphaned;
    }
}

impl World {
    /// Every packet has exactly one fate, unless two probe hosts died in
    /// its lifetime; a calm schedule (no kill, trap, overload or cut host)
    /// lost nothing.
    pub(super) fn final_check(&self) -> Result<Summary, String> {
        let mut s = Summary::default();
        let calm = self.crashes.is_empty() && self.trap_pct == 0 && self.overload_pct == 0 && !self.receiver_cut;
        for (&packet, &born) in &self.injected {
            s.packets += 1;
            match self.fates.get(&packet).map(Vec::as_slice) {
                Some([f]) if f.lost => {
                    s.lost += 1;
                    if calm {
                        return Err(format!("packet {packet} lost with no kill, trap or overload: {}", f.why));
                    }
                }
                Some([_]) => s.expired += 1,
                _ => {
                    // Excused only when two probe hosts died in its lifetime.
                    let killed: HashSet<usize> = self.crashes.iter().filter(|(t, _)| *t >= born).map(|(_, h)| *h).collect();
                    if killed.len() < 2 {
                        return Err(format!("packet {packet} (injected at {} ms) never got a fate", born / MS));
                    }
                    s.orphaned += 1;
                }
            }
        }
        Ok(s)
    }
}
