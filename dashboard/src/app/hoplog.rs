//! The live hop log: sampled hop events, losses and guest `wasi:logging`
//! lines, newest last, kept to a fixed count. Formatting happens when drawn,
//! and only for the lines on screen.

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
    /// Guest lines a host sampled away (counted, not carried).
    GuestDropped { host: String, count: u64 },
}

#[derive(Default)]
pub struct HopLog {
    lines: VecDeque<Line>,
    pub paused: bool,
    /// Lines that arrived while paused (not kept).
    pub missed: u64,
    /// Lines seen in total.
    pub total: u64,
}

impl HopLog {
    pub fn push(&mut self, line: Line) {
        self.total += 1;
        if self.paused {
            self.missed += 1;
            return;
        }
        if self.lines.len() >= CAPACITY {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    pub fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if !self.paused {
            self.missed = 0;
        }
    }

    /// The newest `n` lines, oldest of them first.
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
mod tests {
    use super::*;

    fn line(n: u64) -> Line {
        Line::GuestDropped {
            host: "north".into(),
            count: n,
        }
    }

    #[test]
    fn bounded_and_pausable() {
        let mut log = HopLog::default();
        for n in 0..(CAPACITY as u64 + 10) {
            log.push(line(n));
        }
        assert_eq!(log.len(), CAPACITY);
        assert_eq!(log.tail(1).next(), Some(&line(CAPACITY as u64 + 9)));
        log.toggle_pause();
        log.push(line(1_000));
        assert_eq!((log.missed, log.tail(1).next()), (1, Some(&line(CAPACITY as u64 + 9))));
        log.toggle_pause();
        assert_eq!(log.missed, 0);
        assert_eq!(log.tail(3).count(), 3);
    }
}
