//! Control-plane messages on `lwc.<l>.ctl.>`, JSON.
//!
//! The control host publishes every change on [`subjects`](crate::subjects)
//! `ctl.links` / `ctl.chaos` with a reply subject; every host applies it and
//! answers an [`Ack`]. Changes carry a version that grows by one per change,
//! so a host that starts late asks `ctl.state` for the newest [`State`] and
//! ignores anything older than what it has.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of `PUT /chaos` (and an experiment's chaos change): one host's
/// chaos fields to change (`host` may be `*`); a field left out stays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosPatch {
    pub host: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trap: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drop: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub down_s: Option<u32>,
}

impl ChaosPatch {
    /// `chaos east: delay 20 ms ±5 ms, drop 1 %`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match (self.delay_ms, self.jitter_ms) {
            (Some(d), Some(j)) if j > 0 => parts.push(format!("delay {d} ms ±{j} ms")),
            (Some(d), _) => parts.push(format!("delay {d} ms")),
            (None, Some(j)) => parts.push(format!("jitter {j} ms")),
            (None, None) => {}
        }
        if let Some(t) = self.trap {
            parts.push(format!("trap {t} %"));
        }
        if let Some(d) = self.drop {
            parts.push(format!("drop {d} %"));
        }
        if let Some(d) = self.down_s {
            parts.push(format!("down {d} s"));
        }
        let host = if self.host == "*" { "every host" } else { &self.host };
        if parts.is_empty() {
            format!("chaos {host}: unchanged")
        } else {
            format!("chaos {host}: {}", parts.join(", "))
        }
    }
}

/// Chaos of one host as it travels: an outage is an absolute deadline so it
/// means the same to every host and to a late joiner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChaosWire {
    pub trap: u8,
    pub delay_ms: u32,
    pub jitter_ms: u32,
    pub drop: u8,
    /// Wall-clock ns until which the host is down; 0 = serving.
    pub down_until_ns: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkWire {
    pub source: String,
    pub name: String,
    pub target: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Change {
    LinkPut { version: u64, link: LinkWire },
    LinkDelete { version: u64, source: String, name: String },
    ChaosSet { version: u64, host: String, chaos: ChaosWire },
}

impl Change {
    pub fn version(&self) -> u64 {
        match self {
            Change::LinkPut { version, .. }
            | Change::LinkDelete { version, .. }
            | Change::ChaosSet { version, .. } => *version,
        }
    }
}

/// Everything the control plane has changed, as of `version`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub version: u64,
    pub links: Vec<LinkWire>,
    pub chaos: BTreeMap<String, ChaosWire>,
}

/// A host's answer to a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub host: String,
    pub version: u64,
    #[serde(default)]
    pub error: Option<String>,
}

/// Largest control message a host reads; anything longer is rejected.
pub const MAX_LEN: usize = 256 * 1024;

pub fn decode_change(buf: &[u8]) -> Result<Change, String> {
    if buf.len() > MAX_LEN {
        return Err(format!("control message of {} bytes is over {MAX_LEN}", buf.len()));
    }
    serde_json::from_slice(buf).map_err(|e| format!("bad control message: {e}"))
}

pub fn decode_state(buf: &[u8]) -> Result<State, String> {
    if buf.len() > MAX_LEN {
        return Err(format!("state of {} bytes is over {MAX_LEN}", buf.len()));
    }
    serde_json::from_slice(buf).map_err(|e| format!("bad state: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x853c_49e6_748f_ea9bu64;
        for len in 0..5_000 {
            let g = crate::garbage(len % 300, &mut seed);
            let _ = decode_change(&g);
            let _ = decode_state(&g);
        }
        // Valid JSON of the wrong shapes.
        for text in [r#"{"op":"chaos-set","version":1,"host":"n","chaos":{"trap":300}}"#, r#"{"op":"link-put","version":-1}"#, "null", "1e999"] {
            assert!(decode_change(text.as_bytes()).is_err(), "{text}");
        }
    }

    #[test]
    fn changes_round_trip_and_garbage_is_refused() {
        let c = Change::ChaosSet {
            version: 3,
            host: "north".into(),
            chaos: ChaosWire {
                trap: 20,
                ..Default::default()
            },
        };
        let json = serde_json::to_vec(&c).unwrap();
        assert!(String::from_utf8_lossy(&json).contains("\"op\":\"chaos-set\""));
        assert_eq!(decode_change(&json), Ok(c));
        for bad in [&b""[..], b"{}", b"[]", b"{\"op\":\"link-put\"}", b"\xff", b"{\"op\":\"nuke\",\"version\":1}"] {
            assert!(decode_change(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(decode_change(&vec![b' '; MAX_LEN + 1]).is_err());
    }
}
