//! One hop on the wire.
//!
//! The body is a fixed little-endian frame, versioned by its first byte:
//!
//! ```text
//! u8 version (=1) | u64 packet | u64 ttl | u16 chaos | u32 hops | u64 hop_id
//! | u8 route_len | route bytes ([a-z0-9_-], 1..=64)
//! ```
//!
//! `hops` counts probe visits so far including the receiving one; `hop_id`
//! is unique per sending host and lets the receiver ack (and de-duplicate).
//! Context that is not the packet's own travels in headers ([`headers`]).

use thiserror::Error;

pub const VERSION: u8 = 1;
const FIXED_LEN: usize = 1 + 8 + 8 + 2 + 4 + 8 + 1;
/// Largest valid frame; anything longer is rejected before parsing.
pub const MAX_LEN: usize = FIXED_LEN + MAX_ROUTE_LEN;
pub const MAX_ROUTE_LEN: usize = 64;

/// Header names carried with every invocation.
pub mod headers {
    /// Component that sent the hop (`control`, `north`, …).
    pub const CALLER: &str = "lwc-caller";
    /// Wall-clock nanoseconds at which the caller published the hop.
    pub const SENT_NS: &str = "lwc-sent-ns";
    /// W3C trace context of the caller's span.
    pub const TRACEPARENT: &str = "traceparent";
    /// `1` when the packet is traced: every hop of it is published as an event.
    pub const TRACE: &str = "lwc-trace";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub packet: u64,
    pub ttl: u64,
    pub chaos: u16,
    pub hops: u32,
    pub hop_id: u64,
    pub route: String,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty invocation body")]
    Empty,
    #[error("unsupported invocation version {0} (this host speaks {VERSION})")]
    Version(u8),
    #[error("invocation body is {0} bytes; expected {FIXED_LEN}..={MAX_LEN}")]
    Length(usize),
    #[error("route length byte says {declared} but {actual} bytes follow")]
    RouteLength { declared: usize, actual: usize },
    #[error("route is not 1-64 characters of [a-z0-9_-]")]
    Route,
    #[error("chaos {0} is over 100")]
    Chaos(u16),
}

impl Invocation {
    /// Append the frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let route = self.route.as_bytes();
        let route_len = route.len().min(MAX_ROUTE_LEN);
        out.reserve(FIXED_LEN + route_len);
        out.push(VERSION);
        out.extend_from_slice(&self.packet.to_le_bytes());
        out.extend_from_slice(&self.ttl.to_le_bytes());
        out.extend_from_slice(&self.chaos.to_le_bytes());
        out.extend_from_slice(&self.hops.to_le_bytes());
        out.extend_from_slice(&self.hop_id.to_le_bytes());
        out.push(route_len as u8);
        out.extend_from_slice(&route[..route_len]);
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FIXED_LEN + self.route.len());
        self.encode_into(&mut out);
        out
    }

    /// Check the frame's shape first (no allocation), then parse it.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let version = *buf.first().ok_or(DecodeError::Empty)?;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        if buf.len() < FIXED_LEN || buf.len() > MAX_LEN {
            return Err(DecodeError::Length(buf.len()));
        }
        let declared = buf[FIXED_LEN - 1] as usize;
        let route = &buf[FIXED_LEN..];
        if declared != route.len() {
            return Err(DecodeError::RouteLength {
                declared,
                actual: route.len(),
            });
        }
        let route = std::str::from_utf8(route).map_err(|_| DecodeError::Route)?;
        if !crate::subjects::is_valid_token(route) {
            return Err(DecodeError::Route);
        }
        let chaos = u16::from_le_bytes([buf[17], buf[18]]);
        if chaos > 100 {
            return Err(DecodeError::Chaos(chaos));
        }
        Ok(Invocation {
            packet: read_u64(&buf[1..9]),
            ttl: read_u64(&buf[9..17]),
            chaos,
            hops: u32::from_le_bytes([buf[19], buf[20], buf[21], buf[22]]),
            hop_id: read_u64(&buf[23..31]),
            route: route.to_owned(),
        })
    }
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Invocation {
        Invocation {
            packet: 1_763_700_000_000_000_000,
            ttl: 9,
            chaos: 30,
            hops: 2,
            hop_id: u64::MAX - 1,
            route: "special".into(),
        }
    }

    #[test]
    fn round_trips() {
        let inv = sample();
        assert_eq!(Invocation::decode(&inv.encode()), Ok(inv));
    }

    #[test]
    fn rejects_every_truncation_and_extension() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(Invocation::decode(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut longer = bytes.clone();
        longer.push(b'x');
        assert!(Invocation::decode(&longer).is_err());
    }

    #[test]
    fn rejects_bad_fields() {
        let mut bytes = sample().encode();
        bytes[0] = 2;
        assert_eq!(Invocation::decode(&bytes), Err(DecodeError::Version(2)));

        let mut bytes = sample().encode();
        bytes[17] = 101;
        assert_eq!(Invocation::decode(&bytes), Err(DecodeError::Chaos(101)));

        let mut bad = sample();
        bad.route = "Sp.cial".into();
        assert_eq!(Invocation::decode(&bad.encode()), Err(DecodeError::Route));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..20_000 {
            let _ = Invocation::decode(&crate::garbage(len % 200, &mut seed));
        }
        // Valid frames with one byte flipped: decode or refuse, never panic,
        // and anything accepted re-encodes to the same bytes.
        let good = sample().encode();
        for i in 0..good.len() {
            for b in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                if let Ok(inv) = Invocation::decode(&bad) {
                    assert_eq!(inv.encode(), bad);
                }
            }
        }
    }
}
