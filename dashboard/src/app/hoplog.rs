//! The live hop log: sampled hop events, losses and guest `wasi:logging`
//! lines in time order, latest last, kept to a fixed count. Guest lines come
//! with each host's snapshot, up to a second late: they are slotted in by
//! their time. Formatting happens when drawn, and only for the lines on
//! screen.

use std::collections::VecDeque;

use lwc_wire::events::{Hop, Lost};
use lwc_wire::telemetry::GuestLog;

/// How many lines the log remembers.
pub const CAPACITY: usize = 500;

#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Hop(Box<Hop>),
    /// A loss, with the local time it was heard of.
    Lost { at_ns: u64, lost: Box<Lost> },
    Guest { host: String, log: Box<GuestLog> },
}

impl Line {
    /// Wall-clock ns the line is about.
    pub fn at_ns(&self) -> u64 {
        match self {
            Line::Hop(h) => h.recv_ns,
            Line::Lost { at_ns, .. } => *at_ns,
            Line::Guest { log, .. } => log.at_ns,
        }
    }
}

#[derive(Default)]
pub struct HopLog {
    lines: VecDeque<Line>,
    pub paused: bool,
    /// Lines that arrived while paused (not kept).
    pub missed: u64,
    /// Lines seen in total.
    pub total: u64,
    /// Guest lines the hosts sampled away (only counted).
    pub guest_not_sent: u64,
}

impl HopLog {
    pub fn push(&mut self, line: Line) {
        self.total += 1;
        if self.paused {
            self.missed += 1;
            return;
        }
        let at = line.at_ns();
        // Usually the last slot; late lines walk back a little.
        let pos = self.lines.iter().rposition(|l| l.at_ns() <= at).map_or(0, |p| p + 1);
        if self.lines.len() >= CAPACITY {
            if pos == 0 {
                return; // older than everything kept
            }
            self.lines.pop_front();
            self.lines.insert(pos - 1, line);
        } else {
            self.lines.insert(pos, line);
        }
    }

    pub fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if !self.paused {
            self.missed = 0;
        }
    }

    /// The latest `n` lines, oldest of them first.
    pub fn tail(&self, n: usize) -> impl Iterator<Item = &Line> {
        self.lines.iter().skip(self.lines.len().saturating_sub(n))
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

#[cfg(test)]
mod tests;
