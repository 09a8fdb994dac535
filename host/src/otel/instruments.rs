//! OTLP metrics: counters of invocations, errors and packet fates, and
//! duration histograms per component and per edge.
//!
//! Every label comes from a small closed set: component names are the
//! manifest's (a caller header naming anything else counts as `unknown`),
//! outcomes, error kinds and loss reasons are enums. A stranger on the
//! lattice cannot grow the number of series.

use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use std::sync::Arc;

use lwc_wire::events::LostReason;

/// Histogram bucket bounds in seconds, 50 µs to 5 s: a hop on a quiet
/// machine is a few hundred µs; chaos delays reach seconds.
const BOUNDS_S: [f64; 16] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

pub struct Instruments {
    pub(super) provider: SdkMeterProvider,
    components: Vec<Arc<str>>,
    invocations: Counter<u64>,
    errors: Counter<u64>,
    injected: Counter<u64>,
    expired: Counter<u64>,
    lost: Counter<u64>,
    invocation_duration: Histogram<f64>,
    hop_duration: Histogram<f64>,
}

/// What became of one invocation, as a metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Forwarded,
    Expired,
    Lost,
    Trap,
    Timeout,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Forwarded => "forwarded",
            Outcome::Expired => "expired",
            Outcome::Lost => "lost",
            Outcome::Trap => "trap",
            Outcome::Timeout => "timeout",
        }
    }

    /// The error kind counted in `lwc.errors`, if this outcome is one.
    fn error_kind(self) -> Option<&'static str> {
        match self {
            Outcome::Trap => Some("trap"),
            Outcome::Timeout => Some("timeout"),
            _ => None,
        }
    }
}

impl Instruments {
    pub fn new(provider: SdkMeterProvider, components: Vec<Arc<str>>) -> Instruments {
        let meter = provider.meter("lwc-host");
        let counter = |name: &'static str, description: &'static str| {
            meter.u64_counter(name).with_description(description).build()
        };
        let histogram = |name: &'static str, description: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(description)
                .with_boundaries(BOUNDS_S.to_vec())
                .build()
        };
        Instruments {
            components,
            invocations: counter("lwc.invocations", "Component invocations, by component and outcome"),
            errors: counter("lwc.errors", "Failed invocations and refused hops, by component and kind"),
            injected: counter("lwc.packets.injected", "Packets injected on this host"),
            expired: counter("lwc.packets.expired", "Packets that reached ttl 0 on this host"),
            lost: counter("lwc.packets.lost", "Packets lost, by reason"),
            invocation_duration: histogram("lwc.invocation.duration", "Time to instantiate and run a component"),
            hop_duration: histogram(
                "lwc.hop.duration",
                "Lattice latency of a hop: sent by the caller to received here",
            ),
            provider,
        }
    }

    /// `key` = the manifest's name for `name`, or `unknown`: bounded values.
    fn label(&self, key: &'static str, name: &str) -> KeyValue {
        match self.components.iter().find(|c| ***c == *name) {
            Some(c) => KeyValue::new(key, c.clone()),
            None => KeyValue::new(key, "unknown"),
        }
    }

    fn component(&self, name: &str) -> KeyValue {
        self.label("lwc.component", name)
    }

    /// One invocation of `component`, called from `caller`.
    pub fn invocation(&self, component: &str, caller: &str, outcome: Outcome, invoke_s: f64, hop_s: f64) {
        let component = self.component(component);
        self.invocations
            .add(1, &[component.clone(), KeyValue::new("lwc.outcome", outcome.as_str())]);
        if let Some(kind) = outcome.error_kind() {
            self.errors.add(1, &[component.clone(), KeyValue::new("error.type", kind)]);
        }
        self.invocation_duration.record(invoke_s, std::slice::from_ref(&component));
        self.hop_duration.record(hop_s, &[self.label("lwc.caller", caller), component]);
    }

    /// A hop refused before it ran (its queue wait ran out).
    pub fn overloaded(&self, component: &str) {
        self.errors
            .add(1, &[self.component(component), KeyValue::new("error.type", "overloaded")]);
    }

    pub fn injected(&self) {
        self.injected.add(1, &[]);
    }

    pub fn expired(&self) {
        self.expired.add(1, &[]);
    }

    pub fn lost(&self, reason: LostReason) {
        self.lost.add(1, &[KeyValue::new("lwc.loss.reason", reason.as_str())]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instruments() -> Instruments {
        let components = ["north", "east"].map(Arc::from).to_vec();
        Instruments::new(SdkMeterProvider::builder().build(), components)
    }

    #[test]
    fn a_name_outside_the_manifest_is_labelled_unknown() {
        let m = instruments();
        assert_eq!(m.component("north"), KeyValue::new("lwc.component", "north"));
        assert_eq!(m.label("lwc.caller", "east"), KeyValue::new("lwc.caller", "east"));
        for stranger in ["mallory", "North", "north ", ""] {
            assert_eq!(m.label("lwc.caller", stranger), KeyValue::new("lwc.caller", "unknown"), "{stranger:?}");
        }
        // Recording with strangers is fine (and adds no series of theirs).
        m.invocation("mallory", "eve", Outcome::Trap, 0.001, 0.002);
        m.overloaded("mallory");
    }

    #[test]
    fn only_traps_and_timeouts_are_errors() {
        let kinds: Vec<_> = [Outcome::Forwarded, Outcome::Expired, Outcome::Lost, Outcome::Trap, Outcome::Timeout]
            .map(|o| (o.as_str(), o.error_kind()))
            .to_vec();
        assert_eq!(
            kinds,
            [
                ("forwarded", None),
                ("expired", None),
                ("lost", None),
                ("trap", Some("trap")),
                ("timeout", Some("timeout")),
            ]
        );
    }
}
