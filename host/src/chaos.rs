//! Host-side chaos: faults a host injects into its own work.
//!
//! | setting | effect |
//! |---------|--------|
//! | `trap` % | the component traps before it forwards (packet lost, accounted) |
//! | `delay_ms` + `jitter_ms` | added to every outgoing hop |
//! | `drop` % | outgoing hop dropped (packet lost as `dropped`) |
//! | `down_s` | the host stops serving for N seconds |
//!
//! Packet chaos (the `chaos` field of an injected packet) is the probe's own
//! business and is not handled here.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::RwLock;
use std::time::Duration;

use lwc_wire::ctl::ChaosWire;

/// Chaos settings of one host, as the control plane reads and writes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChaosSettings {
    pub trap: u8,
    pub delay_ms: u32,
    pub jitter_ms: u32,
    pub drop: u8,
    /// Seconds of outage left (0 = serving).
    pub down_s: u32,
}

#[derive(Debug, Default)]
pub struct Chaos {
    inner: RwLock<ChaosWire>,
}

impl ChaosSettings {
    /// The settings as they travel on the lattice, the outage as a deadline.
    pub fn to_wire(self) -> ChaosWire {
        let down_until_ns = match self.down_s {
            0 => 0,
            s => lwc_wire::now_ns() + u64::from(s) * 1_000_000_000,
        };
        ChaosWire {
            trap: self.trap,
            delay_ms: self.delay_ms,
            jitter_ms: self.jitter_ms,
            drop: self.drop,
            down_until_ns,
        }
    }

    /// Settings from the wire, `down_s` as the whole seconds of outage left.
    pub fn from_wire(w: &ChaosWire) -> ChaosSettings {
        let left_ns = w.down_until_ns.saturating_sub(lwc_wire::now_ns());
        ChaosSettings {
            trap: w.trap,
            delay_ms: w.delay_ms,
            jitter_ms: w.jitter_ms,
            drop: w.drop,
            down_s: left_ns.div_ceil(1_000_000_000) as u32,
        }
    }
}

impl Chaos {
    fn state(&self) -> ChaosWire {
        *self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn apply(&self, wire: ChaosWire) {
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = wire;
    }

    /// True while a simulated outage is in force.
    pub fn is_down(&self) -> bool {
        let until = self.state().down_until_ns;
        until != 0 && lwc_wire::now_ns() < until
    }

    /// Roll the host `trap` die for one invocation.
    pub fn trap_now(&self) -> bool {
        roll(self.state().trap)
    }

    /// Roll the `drop` die for one outgoing hop.
    pub fn drop_now(&self) -> bool {
        roll(self.state().drop)
    }

    /// Delay to add to one outgoing hop, if any.
    pub fn delay(&self) -> Option<Duration> {
        let s = self.state();
        if s.delay_ms == 0 && s.jitter_ms == 0 {
            return None;
        }
        let jitter = if s.jitter_ms > 0 {
            rand::rng().random_range(0..=s.jitter_ms)
        } else {
            0
        };
        Some(Duration::from_millis(u64::from(s.delay_ms) + u64::from(jitter)))
    }
}

fn roll(percent: u8) -> bool {
    match percent {
        0 => false,
        p if p >= 100 => true,
        p => rand::rng().random_range(0..100u8) < p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_settings_do_nothing() {
        let c = Chaos::default();
        assert!(!c.trap_now() && !c.drop_now() && !c.is_down());
        assert_eq!(c.delay(), None);
    }

    #[test]
    fn full_settings_always_fire() {
        let c = Chaos::default();
        c.apply(ChaosSettings {
            trap: 100,
            drop: 100,
            delay_ms: 5,
            jitter_ms: 0,
            down_s: 2,
        }.to_wire());
        assert!(c.trap_now() && c.drop_now() && c.is_down());
        assert_eq!(c.delay(), Some(Duration::from_millis(5)));
        assert!(ChaosSettings::from_wire(&c.state()).down_s >= 1);
    }
}
