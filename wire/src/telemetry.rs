//! Telemetry snapshots: each host's latency histograms, one per second.
//!
//! Every host publishes a [`Snapshot`] every second on
//! `lwc.<l>.telemetry.<host>` ([`crate::subjects::telemetry`]). It is JSON;
//! its histograms are HdrHistogram V2 serializations (uncompressed, the
//! format every HdrHistogram port reads), base64-encoded. A snapshot holds
//! only what was recorded in its interval `[start_ns, end_ns)`: a reader
//! merges snapshots to get a window (the last N seconds) or a whole run.
//! Every histogram value is in microseconds, tracked from [`LOWEST_US`] to
//! [`HIGHEST_US`] with [`SIGNIFICANT_DIGITS`] digits. `docs/telemetry.md`
//! describes the format for outside tools.

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::status::Counters;

/// Version of the snapshot format (`"v"`).
pub const VERSION: u32 = 1;
/// Smallest value a histogram tells apart: 1 µs.
pub const LOWEST_US: u64 = 1;
/// Largest value a histogram tracks: 60 s (larger values are clamped).
pub const HIGHEST_US: u64 = 60_000_000;
pub const SIGNIFICANT_DIGITS: u8 = 3;
/// Largest snapshot a reader accepts; anything longer is rejected unread.
pub const MAX_LEN: usize = 1 << 20;
/// Guest log lines a snapshot carries at most (the rest are only counted).
pub const MAX_LOG_LINES: usize = 8;
/// Characters of one guest log message kept.
pub const MAX_LOG_LEN: usize = 240;

/// A histogram with the bounds every lwc histogram uses.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        .expect("constant histogram bounds are valid")
}

/// What one host recorded in one interval.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Format version, [`VERSION`].
    pub v: u32,
    pub host: String,
    /// Grows by one per snapshot; a gap means snapshots were lost.
    pub seq: u64,
    /// Wall-clock ns at which the interval started and ended.
    pub start_ns: u64,
    pub end_ns: u64,
    /// The host's counters since it started (the heartbeat's).
    pub counters: Counters,
    /// Lattice latency per edge: receive time at the callee minus the send
    /// time in the caller's header. Recorded by the receiving host.
    #[serde(default)]
    pub edges: Vec<EdgeHist>,
    /// Time to instantiate and run each component, per invocation.
    #[serde(default)]
    pub invoke: Vec<ComponentHist>,
    /// Lifetimes of the packets that expired on this host (injection to
    /// the last stop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<Hist>,
    /// A sample of the interval's `wasi:logging` lines, oldest first.
    #[serde(default)]
    pub logs: Vec<GuestLog>,
    /// Guest log lines of the interval that were not carried.
    #[serde(default)]
    pub logs_dropped: u64,
}

/// Latency of hops from component `from` into component `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdgeHist {
    pub from: String,
    pub to: String,
    pub hist: Hist,
}

/// Invocation time of one component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentHist {
    pub component: String,
    pub hist: Hist,
}

/// One `wasi:logging` line of a guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestLog {
    pub at_ns: u64,
    pub component: String,
    /// `trace`, `debug`, `info`, `warn`, `error` or `critical`.
    pub level: String,
    #[serde(default)]
    pub context: String,
    pub message: String,
}

/// A histogram on the wire: base64 of its V2 serialization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Hist(pub String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TelemetryError {
    #[error("snapshot of {0} bytes is over {MAX_LEN}")]
    TooLarge(usize),
    #[error("bad snapshot JSON: {0}")]
    Json(String),
    #[error("unsupported snapshot version {0} (this reader speaks {VERSION})")]
    Version(u32),
    #[error("host name is not 1-64 characters of [a-z0-9_-]")]
    Host,
    #[error("histogram is not base64")]
    Base64,
    #[error("histogram header: {0}")]
    Header(&'static str),
    #[error("histogram: {0}")]
    Histogram(String),
}

/// Cookie of an uncompressed V2 histogram.
const V2_COOKIE: u32 = 0x1c84_9303 | 0x10;
const V2_HEADER_LEN: usize = 40;

impl Hist {
    /// Serialize `h`; `scratch` is reused between calls to avoid allocating.
    pub fn encode(h: &Histogram<u64>, serializer: &mut V2Serializer, scratch: &mut Vec<u8>) -> Hist {
        scratch.clear();
        // Serializing into a Vec cannot fail for our bounds; an empty
        // histogram is the honest fallback if it ever did.
        if serializer.serialize(h, scratch).is_err() {
            scratch.clear();
            let _ = serializer.serialize(&histogram(), scratch);
        }
        Hist(base64::engine::general_purpose::STANDARD.encode(scratch.as_slice()))
    }

    /// Check the V2 header (so a hostile header cannot make us allocate
    /// gigabytes), then deserialize.
    pub fn decode(&self) -> Result<Histogram<u64>, TelemetryError> {
        if self.0.len() > MAX_LEN * 4 / 3 + 4 {
            return Err(TelemetryError::TooLarge(self.0.len()));
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(self.0.as_bytes())
            .map_err(|_| TelemetryError::Base64)?;
        check_header(&bytes)?;
        Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| TelemetryError::Histogram(format!("{e:?}")))
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn be_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_be_bytes(a)
}

fn check_header(b: &[u8]) -> Result<(), TelemetryError> {
    if b.len() < V2_HEADER_LEN {
        return Err(TelemetryError::Header("too short"));
    }
    if be_u32(&b[0..4]) != V2_COOKIE {
        return Err(TelemetryError::Header("not an uncompressed V2 histogram"));
    }
    if be_u32(&b[4..8]) as usize != b.len() - V2_HEADER_LEN {
        return Err(TelemetryError::Header("payload length does not match"));
    }
    let digits = be_u32(&b[12..16]);
    let (low, high) = (be_u64(&b[16..24]), be_u64(&b[24..32]));
    // Our own bounds, give or take: enough for another version's choice,
    // never enough for a huge counts array.
    if !(1..=SIGNIFICANT_DIGITS as u32).contains(&digits) {
        return Err(TelemetryError::Header("significant digits out of range"));
    }
    if low == 0 || low > 1_000 || high < 2 * low || high > 60 * HIGHEST_US {
        return Err(TelemetryError::Header("value range out of bounds"));
    }
    Ok(())
}

impl Snapshot {
    pub fn encode(&self) -> Vec<u8> {
        // Plain data: serializing cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Check size, JSON shape, version and host name. Histograms are decoded
    /// one by one with [`Hist::decode`], so one bad histogram costs only itself.
    pub fn decode(buf: &[u8]) -> Result<Snapshot, TelemetryError> {
        if buf.len() > MAX_LEN {
            return Err(TelemetryError::TooLarge(buf.len()));
        }
        let snap: Snapshot = serde_json::from_slice(buf).map_err(|e| TelemetryError::Json(e.to_string()))?;
        if snap.v != VERSION {
            return Err(TelemetryError::Version(snap.v));
        }
        if !crate::subjects::is_valid_token(&snap.host) {
            return Err(TelemetryError::Host);
        }
        Ok(snap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_hist() -> Histogram<u64> {
        let mut h = histogram();
        for v in [1, 90, 150, 150, 2_000, 59_000_000] {
            h.record(v).unwrap();
        }
        h.saturating_record(u64::MAX);
        h
    }

    #[test]
    fn histograms_round_trip() {
        let h = sample_hist();
        let wire = Hist::encode(&h, &mut V2Serializer::new(), &mut Vec::new());
        let back = wire.decode().unwrap();
        assert_eq!(back.len(), 7);
        assert_eq!(back.max(), h.max());
        assert_eq!(back.value_at_quantile(0.5), h.value_at_quantile(0.5));
        // An empty histogram is small.
        let empty = Hist::encode(&histogram(), &mut V2Serializer::new(), &mut Vec::new());
        assert!(empty.0.len() < 80, "{}", empty.0.len());
        assert_eq!(empty.decode().unwrap().len(), 0);
    }

    #[test]
    fn snapshots_round_trip() {
        let mut ser = V2Serializer::new();
        let mut scratch = Vec::new();
        let snap = Snapshot {
            v: VERSION,
            host: "north".into(),
            seq: 3,
            start_ns: 10,
            end_ns: 1_000_000_010,
            counters: Counters {
                invocations: 6,
                ..Default::default()
            },
            edges: vec![EdgeHist {
                from: "east".into(),
                to: "north".into(),
                hist: Hist::encode(&sample_hist(), &mut ser, &mut scratch),
            }],
            invoke: vec![],
            lifetime: None,
            logs: vec![GuestLog {
                at_ns: 5,
                component: "north".into(),
                level: "info".into(),
                context: String::new(),
                message: "hi".into(),
            }],
            logs_dropped: 2,
        };
        let back = Snapshot::decode(&snap.encode()).unwrap();
        assert_eq!(back, snap);
        assert_eq!(back.edges[0].hist.decode().unwrap().len(), 7);
    }

    #[test]
    fn garbage_is_refused_without_panics() {
        for bad in [&b""[..], b"{}", b"[]", b"\xff", b"{\"v\":2,\"host\":\"n\"}"] {
            assert!(Snapshot::decode(bad).is_err());
        }
        let no_host = br#"{"v":1,"host":"No.Good","seq":0,"start_ns":0,"end_ns":0,"counters":{"invocations":0,"ok":0,"trap":0,"timeout":0,"overloaded":0,"hops_sent":0,"retries":0,"injected":0,"expired":0,"lost":{},"rejected":{},"slow_consumer":0}}"#;
        assert_eq!(Snapshot::decode(no_host), Err(TelemetryError::Host));
        assert!(Snapshot::decode(&vec![b' '; MAX_LEN + 1]).is_err());

        assert_eq!(Hist("!!".into()).decode(), Err(TelemetryError::Base64));
        let good = base64::engine::general_purpose::STANDARD
            .decode(Hist::encode(&sample_hist(), &mut V2Serializer::new(), &mut Vec::new()).0)
            .unwrap();
        // Every truncation fails cleanly.
        for n in 0..good.len() {
            let cut = Hist(base64::engine::general_purpose::STANDARD.encode(&good[..n]));
            assert!(cut.decode().is_err(), "prefix {n}");
        }
        // A header asking for a vast counts array is refused before allocating.
        let mut huge = good.clone();
        huge[24..32].copy_from_slice(&u64::MAX.to_be_bytes());
        huge[12..16].copy_from_slice(&5u32.to_be_bytes());
        let huge = Hist(base64::engine::general_purpose::STANDARD.encode(&huge));
        assert!(matches!(huge.decode(), Err(TelemetryError::Header(_))));
        let mut long = good.clone();
        long[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        let long = Hist(base64::engine::general_purpose::STANDARD.encode(&long));
        assert!(matches!(long.decode(), Err(TelemetryError::Header(_))));
    }
}
