//! One hop on the wire: the packet and the hop's context in one binary
//! frame, so an untraced hop needs no NATS headers and no reply subject.
//!
//! Little-endian, versioned by its first byte:
//!
//! ```text
//! u8 version (=3) | u64 packet | u64 ttl | u16 chaos | u32 hops | u16 gen
//! | u64 hop_id | u64 sent_ns | i64 offset_ns | u64 age_ns
//! | u8 flags (bit 0: traced, bit 1: held)
//! | u8 route_len | u8 caller_len | u8 sender_len | u8 traceparent_len
//! | route | caller | sender | traceparent
//! ```
//!
//! `hops` counts probe visits so far including the receiving one; `hop_id`
//! is unique per sending host and lets the receiver ack (and de-duplicate).
//! `gen` is the packet's lineage: a hop re-sent after the lattice found
//! nobody holding it goes out one generation up, and hosts refuse the older
//! generation of that packet from then on (a replica cut off while holding
//! it cannot pass on a second copy). `age_ns` is how old the packet was when
//! the hop was sent, summed hop by hop with each hop's latency corrected for
//! the peers' clock offset, so a lifetime needs no clock shared by hosts.
//! `offset_ns` is the sender's estimate of the receiver's wall clock minus
//! its own (from the ack round trips, NTP-style; 0 before it has one): the
//! receiver measures the edge as `recv_ns − (sent_ns + offset_ns)`.
//! `route`, `caller` (the sending component) and `sender` (the sending host,
//! whose ack subject `lwc.<l>.hosts.<sender>.acks` is derived from it) are
//! 1–64 characters of `[a-z0-9_-]`; `traceparent` is empty or a W3C
//! `traceparent` (printable ASCII, at most 64 bytes).

use thiserror::Error;

pub const VERSION: u8 = 3;
const FIXED_LEN: usize = 1 + 8 + 8 + 2 + 4 + 2 + 8 + 8 + 8 + 8 + 1 + 4;
/// Where the flags byte sits; the four length bytes follow it.
const FLAGS_AT: usize = FIXED_LEN - 5;
/// Where `gen` sits, so a re-send can go out one generation up.
pub const GEN_AT: usize = 23;
pub const MAX_ROUTE_LEN: usize = 64;
const MAX_NAME_LEN: usize = 64;
const MAX_TRACEPARENT_LEN: usize = 64;
/// Largest valid frame; anything longer is rejected before parsing.
pub const MAX_LEN: usize = FIXED_LEN + MAX_ROUTE_LEN + 2 * MAX_NAME_LEN + MAX_TRACEPARENT_LEN;

/// Header names: only the W3C one is still used, for traces exported over
/// OTLP (the hop's own context travels in the frame).
pub mod headers {
    /// W3C trace context of the caller's span.
    pub const TRACEPARENT: &str = "traceparent";
}

/// The packet, as it travels from hop to hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub packet: u64,
    pub ttl: u64,
    pub chaos: u16,
    pub hops: u32,
    /// Lineage generation (see the module docs); 0 until a re-send needs it.
    pub gen: u16,
    pub hop_id: u64,
    pub route: String,
}

/// What one hop carries besides the packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    /// Component that sent the hop (`control`, `north`, …).
    pub caller: String,
    /// Host that sent it: its acks go to that host's ack subject.
    pub sender: String,
    /// Wall-clock nanoseconds at which the caller handed the hop over.
    pub sent_ns: u64,
    /// The sender's estimate of the receiver's clock minus its own.
    pub offset_ns: i64,
    /// The packet's age when the hop was sent (see the module docs).
    pub age_ns: u64,
    /// Traced: every hop of the packet is published as an event.
    pub trace: bool,
    /// Held before it was published (a chaos delay): `sent_ns` is not when
    /// it went on the wire, so the receiver takes no clock sample from it.
    pub held: bool,
    /// W3C trace context of the caller's span, when one is exported.
    pub traceparent: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("empty invocation body")]
    Empty,
    #[error("unsupported invocation frame version {0} (this host speaks version {VERSION})")]
    Version(u8),
    #[error("invocation body is {0} bytes; expected {FIXED_LEN}..={MAX_LEN}")]
    Length(usize),
    #[error("length bytes say {declared} bytes of route, caller, sender and traceparent but {actual} follow")]
    Lengths { declared: usize, actual: usize },
    #[error("route is not 1-64 characters of [a-z0-9_-]")]
    Route,
    #[error("caller is not 1-64 characters of [a-z0-9_-]")]
    Caller,
    #[error("sender is not 1-64 characters of [a-z0-9_-]")]
    Sender,
    #[error("traceparent is not printable ASCII of at most 64 bytes")]
    Traceparent,
    #[error("chaos {0} is over 100")]
    Chaos(u16),
    #[error("unknown flags {0:#04x} (this host knows only bit 0, traced, and bit 1, held)")]
    Flags(u8),
}

impl Invocation {
    /// The frame of this hop with its context.
    pub fn encode(&self, ctx: &Context) -> Vec<u8> {
        let clip = |s: &str, max: usize| s.len().min(max);
        let route = &self.route.as_bytes()[..clip(&self.route, MAX_ROUTE_LEN)];
        let caller = &ctx.caller.as_bytes()[..clip(&ctx.caller, MAX_NAME_LEN)];
        let sender = &ctx.sender.as_bytes()[..clip(&ctx.sender, MAX_NAME_LEN)];
        let tp = ctx.traceparent.as_deref().unwrap_or("");
        let tp = &tp.as_bytes()[..clip(tp, MAX_TRACEPARENT_LEN)];
        let mut out = Vec::with_capacity(FIXED_LEN + route.len() + caller.len() + sender.len() + tp.len());
        out.push(VERSION);
        out.extend_from_slice(&self.packet.to_le_bytes());
        out.extend_from_slice(&self.ttl.to_le_bytes());
        out.extend_from_slice(&self.chaos.to_le_bytes());
        out.extend_from_slice(&self.hops.to_le_bytes());
        out.extend_from_slice(&self.gen.to_le_bytes());
        out.extend_from_slice(&self.hop_id.to_le_bytes());
        out.extend_from_slice(&ctx.sent_ns.to_le_bytes());
        out.extend_from_slice(&ctx.offset_ns.to_le_bytes());
        out.extend_from_slice(&ctx.age_ns.to_le_bytes());
        out.push(u8::from(ctx.trace) | u8::from(ctx.held) << 1);
        for part in [route, caller, sender, tp] {
            out.push(part.len() as u8);
        }
        for part in [route, caller, sender, tp] {
            out.extend_from_slice(part);
        }
        out
    }

    /// Check the frame's shape first (no allocation), then parse it.
    pub fn decode(buf: &[u8]) -> Result<(Invocation, Context), DecodeError> {
        let version = *buf.first().ok_or(DecodeError::Empty)?;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        if buf.len() < FIXED_LEN || buf.len() > MAX_LEN {
            return Err(DecodeError::Length(buf.len()));
        }
        let lens: Vec<usize> = buf[FLAGS_AT + 1..FIXED_LEN].iter().map(|&b| b as usize).collect();
        let declared: usize = lens.iter().sum();
        if declared != buf.len() - FIXED_LEN {
            return Err(DecodeError::Lengths {
                declared,
                actual: buf.len() - FIXED_LEN,
            });
        }
        let mut at = FIXED_LEN;
        let mut next = |n: usize| {
            let part = &buf[at..at + n];
            at += n;
            part
        };
        let route = token(next(lens[0]), MAX_ROUTE_LEN).ok_or(DecodeError::Route)?;
        let caller = token(next(lens[1]), MAX_NAME_LEN).ok_or(DecodeError::Caller)?;
        let sender = token(next(lens[2]), MAX_NAME_LEN).ok_or(DecodeError::Sender)?;
        let tp = next(lens[3]);
        if tp.len() > MAX_TRACEPARENT_LEN || !tp.iter().all(|b| b.is_ascii_graphic()) {
            return Err(DecodeError::Traceparent);
        }
        let chaos = u16::from_le_bytes([buf[17], buf[18]]);
        if chaos > 100 {
            return Err(DecodeError::Chaos(chaos));
        }
        let flags = buf[FLAGS_AT];
        if flags > 0b11 {
            // Unknown flags: a newer sender; refuse rather than guess.
            return Err(DecodeError::Flags(flags));
        }
        let inv = Invocation {
            packet: read_u64(&buf[1..9]),
            ttl: read_u64(&buf[9..17]),
            chaos,
            hops: u32::from_le_bytes([buf[19], buf[20], buf[21], buf[22]]),
            gen: u16::from_le_bytes([buf[GEN_AT], buf[GEN_AT + 1]]),
            hop_id: read_u64(&buf[25..33]),
            route: route.to_owned(),
        };
        let ctx = Context {
            caller: caller.to_owned(),
            sender: sender.to_owned(),
            sent_ns: read_u64(&buf[33..41]),
            offset_ns: read_u64(&buf[41..49]) as i64,
            age_ns: read_u64(&buf[49..57]),
            trace: flags & 1 != 0,
            held: flags & 0b10 != 0,
            // Checked ASCII above: the conversion cannot fail.
            traceparent: (!tp.is_empty()).then(|| String::from_utf8_lossy(tp).into_owned()),
        };
        Ok((inv, ctx))
    }
}

fn token(b: &[u8], max: usize) -> Option<&str> {
    let s = std::str::from_utf8(b).ok()?;
    (s.len() <= max && crate::subjects::is_valid_token(s)).then_some(s)
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Invocation, Context) {
        let inv = Invocation {
            packet: 1_763_700_000_000_000_000,
            ttl: 9,
            chaos: 30,
            hops: 2,
            gen: 3,
            hop_id: u64::MAX - 1,
            route: "special".into(),
        };
        let ctx = Context {
            caller: "north".into(),
            sender: "north-1".into(),
            sent_ns: 1_763_700_000_123_456_789,
            offset_ns: -30_000_123,
            age_ns: 4_321_000,
            trace: true,
            held: true,
            traceparent: Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into()),
        };
        (inv, ctx)
    }

    fn bytes() -> Vec<u8> {
        let (inv, ctx) = sample();
        inv.encode(&ctx)
    }

    #[test]
    fn round_trips_with_and_without_a_trace() {
        let (inv, ctx) = sample();
        assert_eq!(Invocation::decode(&inv.encode(&ctx)), Ok((inv.clone(), ctx.clone())));
        let plain = Context {
            trace: false,
            held: false,
            traceparent: None,
            ..ctx
        };
        assert_eq!(Invocation::decode(&inv.encode(&plain)), Ok((inv, plain)));
    }

    #[test]
    fn rejects_every_truncation_and_extension() {
        let bytes = bytes();
        for n in 0..bytes.len() {
            assert!(Invocation::decode(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut longer = bytes.clone();
        longer.push(b'x');
        assert!(Invocation::decode(&longer).is_err());
    }

    #[test]
    fn an_old_frame_is_refused_naming_both_versions() {
        let mut old = bytes();
        old[0] = 2;
        let err = Invocation::decode(&old).unwrap_err();
        assert_eq!(err, DecodeError::Version(2));
        assert_eq!(err.to_string(), "unsupported invocation frame version 2 (this host speaks version 3)");
    }

    #[test]
    fn rejects_bad_fields() {
        let mut b = bytes();
        b[17] = 101;
        assert_eq!(Invocation::decode(&b), Err(DecodeError::Chaos(101)));
        let mut b = bytes();
        b[FLAGS_AT] = 0b111;
        assert_eq!(Invocation::decode(&b), Err(DecodeError::Flags(0b111)));
        let (mut inv, mut ctx) = sample();
        inv.route = "Sp.cial".into();
        assert_eq!(Invocation::decode(&inv.encode(&ctx)), Err(DecodeError::Route));
        inv.route = "special".into();
        ctx.sender = String::new();
        assert_eq!(Invocation::decode(&inv.encode(&ctx)), Err(DecodeError::Sender));
        ctx.sender = "east".into();
        ctx.traceparent = Some("00 spaces".into());
        assert_eq!(Invocation::decode(&inv.encode(&ctx)), Err(DecodeError::Traceparent));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..20_000 {
            let _ = Invocation::decode(&crate::garbage(len % 300, &mut seed));
        }
        // Valid frames with one byte flipped: decode or refuse, never panic,
        // and anything accepted re-encodes to the same bytes.
        let good = bytes();
        for i in 0..good.len() {
            for b in [0u8, 1, 0x7f, 0x80, 0xff] {
                let mut bad = good.clone();
                bad[i] = b;
                if let Ok((inv, ctx)) = Invocation::decode(&bad) {
                    assert_eq!(inv.encode(&ctx), bad);
                }
            }
        }
    }
}
