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
use std::time::{Duration, Instant};

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
    inner: RwLock<State>,
}

#[derive(Debug, Default, Clone, Copy)]
struct State {
    settings: ChaosSettings,
    down_until: Option<Instant>,
}

impl Chaos {
    fn state(&self) -> State {
        *self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set(&self, settings: ChaosSettings) {
        let mut st = self.inner.write().unwrap_or_else(|p| p.into_inner());
        st.down_until = (settings.down_s > 0)
            .then(|| Instant::now() + Duration::from_secs(u64::from(settings.down_s)));
        st.settings = settings;
    }

    /// Current settings, with `down_s` as the seconds of outage still left.
    pub fn get(&self) -> ChaosSettings {
        let st = self.state();
        let mut s = st.settings;
        s.down_s = st
            .down_until
            .map(|t| t.saturating_duration_since(Instant::now()).as_secs_f64().ceil() as u32)
            .unwrap_or(0);
        s
    }

    /// True while a simulated outage is in force.
    pub fn is_down(&self) -> bool {
        self.state()
            .down_until
            .is_some_and(|t| Instant::now() < t)
    }

    /// Roll the host `trap` die for one invocation.
    pub fn trap_now(&self) -> bool {
        roll(self.state().settings.trap)
    }

    /// Roll the `drop` die for one outgoing hop.
    pub fn drop_now(&self) -> bool {
        roll(self.state().settings.drop)
    }

    /// Delay to add to one outgoing hop, if any.
    pub fn delay(&self) -> Option<Duration> {
        let s = self.state().settings;
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
        c.set(ChaosSettings {
            trap: 100,
            drop: 100,
            delay_ms: 5,
            jitter_ms: 0,
            down_s: 2,
        });
        assert!(c.trap_now() && c.drop_now() && c.is_down());
        assert_eq!(c.delay(), Some(Duration::from_millis(5)));
        assert!(c.get().down_s >= 1);
    }
}
