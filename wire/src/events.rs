//! Packet lifecycle events, published as JSON on `lwc.<l>.events.packet`.
//!
//! Ledger invariant: every `injected` packet ends in exactly one `expired`
//! or one `lost`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum PacketEvent {
    Injected(Injected),
    Hop(Hop),
    Expired(Expired),
    Lost(Lost),
}

impl PacketEvent {
    /// The packet this event ends, if it is a fate (`expired` or `lost`).
    pub fn fate_of(&self) -> Option<u64> {
        match self {
            PacketEvent::Expired(e) => Some(e.packet),
            PacketEvent::Lost(l) => Some(l.packet),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Injected {
    pub packet: u64,
    pub ttl: u64,
    pub chaos: u16,
    pub route: String,
    /// Host that injected it (the control host).
    pub host: String,
    pub at_ns: u64,
    #[serde(default)]
    pub trace: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hop {
    pub packet: u64,
    /// ttl the receiving probe was invoked with.
    pub ttl: u64,
    pub route: String,
    /// Calling component.
    pub from: String,
    /// Receiving component.
    pub to: String,
    /// Host that ran the receiving component.
    pub host: String,
    pub sent_ns: u64,
    pub recv_ns: u64,
    /// recv_ns − sent_ns: the lattice's share of the hop.
    pub latency_us: u64,
    /// Time spent instantiating and running the receiving component.
    pub invoke_us: u64,
    pub outcome: HopOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HopOutcome {
    Ok,
    Trap,
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expired {
    pub packet: u64,
    pub route: String,
    /// Probe visits, the last one included (ttl 9 at injection → 10).
    pub hops: u32,
    pub lifetime_us: u64,
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lost {
    pub packet: u64,
    pub route: String,
    /// Probe visits completed before the loss.
    pub hops: u32,
    /// Component at which the packet was lost (the hop's target for
    /// `unreachable`/`overloaded`, the component itself otherwise).
    pub at: String,
    pub reason: LostReason,
    /// Host that decided the loss.
    #[serde(default)]
    pub host: String,
    /// What happened, for people.
    #[serde(default)]
    pub detail: String,
}

/// Why a packet was lost. Serialized kebab-case (`trap-before-forward`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LostReason {
    /// No host acknowledged the hop, after every retry.
    Unreachable,
    /// The component has no link of that name, or it points nowhere.
    NoLink,
    /// Chaos `drop` on the sending host dropped the hop.
    Dropped,
    /// The component (or host chaos `trap`) trapped before forwarding.
    TrapBeforeForward,
    /// The component ran past its epoch deadline.
    Timeout,
    /// The target stayed over its concurrency cap through every retry.
    Overloaded,
    /// The component returned with ttl left but never forwarded.
    NotForwarded,
}

impl LostReason {
    pub const ALL: [LostReason; 7] = [
        LostReason::Unreachable,
        LostReason::NoLink,
        LostReason::Dropped,
        LostReason::TrapBeforeForward,
        LostReason::Timeout,
        LostReason::Overloaded,
        LostReason::NotForwarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LostReason::Unreachable => "unreachable",
            LostReason::NoLink => "no-link",
            LostReason::Dropped => "dropped",
            LostReason::TrapBeforeForward => "trap-before-forward",
            LostReason::Timeout => "timeout",
            LostReason::Overloaded => "overloaded",
            LostReason::NotForwarded => "not-forwarded",
        }
    }
}

impl std::fmt::Display for LostReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes_match_the_design() {
        let lost = PacketEvent::Lost(Lost {
            packet: 1,
            route: "default".into(),
            hops: 3,
            at: "north".into(),
            reason: LostReason::TrapBeforeForward,
            host: "north".into(),
            detail: String::new(),
        });
        let v: serde_json::Value = serde_json::to_value(&lost).unwrap();
        assert_eq!(v["event"], "lost");
        assert_eq!(v["reason"], "trap-before-forward");
        assert_eq!(v["at"], "north");

        let hop: PacketEvent = serde_json::from_str(
            r#"{"event":"hop","packet":1,"ttl":2,"route":"special","from":"east","to":"west",
                "host":"west","sent_ns":10,"recv_ns":20,"latency_us":0,"invoke_us":5,"outcome":"trap"}"#,
        )
        .unwrap();
        assert!(matches!(hop, PacketEvent::Hop(Hop { outcome: HopOutcome::Trap, .. })));
    }

    #[test]
    fn reasons_spell_as_documented() {
        for r in LostReason::ALL {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{}\"", r.as_str()));
        }
    }
}
