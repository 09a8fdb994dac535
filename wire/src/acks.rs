//! Batched hop acknowledgements.
//!
//! A receiving host does not answer each hop with its own message: it
//! collects the hop ids it accepted (or refused), and later those it
//! finished, per sender, and flushes a sender's batch 20 ms after its first
//! entry (`ACK_BATCH_WINDOW` in the host's lattice) or at [`MAX_ENTRIES`]
//! entries, whichever comes first; an `accepted` frame to the same sender
//! takes the waiting entries along sooner. Frame:
//!
//! ```text
//! u8 version (=3) | u8 from_len | from | u16 count
//! | count × (u64 hop_id | u8 status) | u8 samples (0 or 1) | [clock sample]
//! clock sample: u64 sent_ns | u64 recv_ns | u64 ack_ns
//!             | u8 host_len | host | u8 component_len | component
//! ```
//!
//! A frame of `accepted` acks carries one clock sample: the `sent_ns` of
//! one of the hops it acks (the sender's clock, echoed), when this host
//! received it and when it sent the ack (this host's clock), and who
//! acked (host and component). With the ack's arrival on its own clock the
//! sender has the four times NTP uses to estimate this host's offset.
//!
//! `from` names the host that sent the frame. It matters for replicas: a
//! hop to a replicated component is `held` by whichever replica took it,
//! and its sender answers that host, by name, `commit` or `abort` (frames
//! that go the other way, to the replica's ack subject).

use std::borrow::Cow;
use thiserror::Error;

pub const VERSION: u8 = 3;
pub const MAX_ENTRIES: usize = 512;
const ENTRY_LEN: usize = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckStatus {
    /// The hop was accepted and will be (or was) invoked.
    Accepted = 0,
    /// The receiving component is over its concurrency cap and queue.
    Overloaded = 1,
    /// The hop was run and its packet settled: forwarded, expired or lost.
    /// Until then the sender keeps the hop, so a host that dies holding a
    /// packet cannot lose it silently.
    Done = 2,
    /// A replica took the hop and waits for its sender's word before it
    /// runs it (a re-send may have reached another replica too).
    Held = 3,
    /// Sender to replica: run the hop you hold (it is yours alone).
    Commit = 4,
    /// Sender to replica: another replica runs it; drop yours.
    Abort = 5,
}

impl AckStatus {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Accepted),
            1 => Some(Self::Overloaded),
            2 => Some(Self::Done),
            3 => Some(Self::Held),
            4 => Some(Self::Commit),
            5 => Some(Self::Abort),
            _ => None,
        }
    }
}

/// One NTP-style round trip, as the acking host saw it (see the module docs).
/// Borrowed when encoded (the acking host's own names, no copy per ack
/// frame), owned when decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockSample<'a> {
    /// The acking host and the component the hop was for.
    pub host: Cow<'a, str>,
    pub component: Cow<'a, str>,
    /// The hop's `sent_ns`, echoed: the sender's clock.
    pub sent_ns: u64,
    /// When the acking host received the hop, and when it sent this ack.
    pub recv_ns: u64,
    pub ack_ns: u64,
}

/// A decoded ack frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AckFrame {
    /// The host that sent the frame.
    pub from: String,
    pub entries: Vec<(u64, AckStatus)>,
    pub sample: Option<ClockSample<'static>>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AckDecodeError {
    #[error("ack frame too short")]
    Short,
    #[error("unsupported ack frame version {0} (this host speaks version {VERSION})")]
    Version(u8),
    #[error("bad sender name in ack frame")]
    From,
    #[error("bad clock sample: {0}")]
    Sample(&'static str),
    #[error("ack frame declares {declared} entries but is {len} bytes")]
    Length { declared: usize, len: usize },
    #[error("unknown ack status {0}")]
    Status(u8),
}

/// An ack frame from host `from`, without a clock sample.
pub fn encode(from: &str, entries: &[(u64, AckStatus)]) -> Vec<u8> {
    encode_with(from, entries, None)
}

/// An ack frame; at most [`MAX_ENTRIES`] entries are taken, and names are
/// clipped to 255 bytes.
pub fn encode_with(from: &str, entries: &[(u64, AckStatus)], sample: Option<&ClockSample<'_>>) -> Vec<u8> {
    let n = entries.len().min(MAX_ENTRIES);
    let mut out = Vec::with_capacity(5 + from.len() + n * ENTRY_LEN + sample.map_or(0, |_| 40));
    out.push(VERSION);
    push_name(&mut out, from);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    for (hop_id, status) in &entries[..n] {
        out.extend_from_slice(&hop_id.to_le_bytes());
        out.push(*status as u8);
    }
    match sample {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            for t in [s.sent_ns, s.recv_ns, s.ack_ns] {
                out.extend_from_slice(&t.to_le_bytes());
            }
            for name in [&s.host, &s.component] {
                push_name(&mut out, name);
            }
        }
    }
    out
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    let b = &name.as_bytes()[..name.len().min(255)];
    out.push(b.len() as u8);
    out.extend_from_slice(b);
}

/// The entries of an ack frame (its clock sample, if any, is checked and
/// dropped).
pub fn decode(buf: &[u8]) -> Result<Vec<(u64, AckStatus)>, AckDecodeError> {
    decode_frame(buf).map(|f| f.entries)
}

pub fn decode_frame(buf: &[u8]) -> Result<AckFrame, AckDecodeError> {
    if buf.is_empty() {
        return Err(AckDecodeError::Short);
    }
    if buf[0] != VERSION {
        return Err(AckDecodeError::Version(buf[0]));
    }
    let from_len = *buf.get(1).ok_or(AckDecodeError::Short)? as usize;
    let from = buf.get(2..2 + from_len).ok_or(AckDecodeError::Short)?;
    let from = std::str::from_utf8(from)
        .ok()
        .filter(|s| crate::subjects::is_valid_token(s))
        .ok_or(AckDecodeError::From)?
        .to_owned();
    let buf = &buf[1 + from_len..];
    if buf.len() < 4 {
        return Err(AckDecodeError::Short);
    }
    let declared = u16::from_le_bytes([buf[1], buf[2]]) as usize;
    let entries_end = 3 + declared * ENTRY_LEN;
    if declared > MAX_ENTRIES || buf.len() <= entries_end {
        return Err(AckDecodeError::Length {
            declared,
            len: buf.len(),
        });
    }
    let entries = buf[3..entries_end]
        .chunks_exact(ENTRY_LEN)
        .map(|c| {
            let status = AckStatus::from_byte(c[8]).ok_or(AckDecodeError::Status(c[8]))?;
            Ok((read_u64(&c[..8]), status))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let rest = &buf[entries_end..];
    let sample = match rest[0] {
        0 if rest.len() == 1 => None,
        0 => return Err(AckDecodeError::Sample("bytes after the end")),
        1 => Some(sample(&rest[1..])?),
        _ => return Err(AckDecodeError::Sample("count is not 0 or 1")),
    };
    Ok(AckFrame { from, entries, sample })
}

fn sample(b: &[u8]) -> Result<ClockSample<'static>, AckDecodeError> {
    const TIMES: usize = 24;
    let short = AckDecodeError::Sample("too short");
    if b.len() < TIMES + 1 {
        return Err(short);
    }
    let host_len = b[TIMES] as usize;
    let comp_at = TIMES + 1 + host_len;
    let comp_len = *b.get(comp_at).ok_or(short)? as usize;
    if b.len() != comp_at + 1 + comp_len {
        return Err(AckDecodeError::Sample("names do not match their lengths"));
    }
    let name = |part: &[u8]| {
        std::str::from_utf8(part)
            .ok()
            .filter(|s| crate::subjects::is_valid_token(s))
            .map(|s| Cow::Owned(s.to_owned()))
            .ok_or(AckDecodeError::Sample("a name is not [a-z0-9_-]"))
    };
    Ok(ClockSample {
        host: name(&b[TIMES + 1..comp_at])?,
        component: name(&b[comp_at + 1..])?,
        sent_ns: read_u64(&b[0..8]),
        recv_ns: read_u64(&b[8..16]),
        ack_ns: read_u64(&b[16..24]),
    })
}

fn read_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let entries = vec![(1, AckStatus::Accepted), (u64::MAX, AckStatus::Overloaded), (2, AckStatus::Held), (3, AckStatus::Commit), (4, AckStatus::Abort)];
        assert_eq!(decode(&encode("east", &entries)), Ok(entries.clone()));
        assert_eq!(decode(&encode("east", &[])), Ok(vec![]));
        assert_eq!(decode_frame(&encode("north-2", &entries)).map(|f| f.from), Ok("north-2".to_string()));
        let mut bad = encode("east", &entries);
        bad[2] = b'E';
        assert_eq!(decode(&bad), Err(AckDecodeError::From));
    }

    #[test]
    fn a_clock_sample_round_trips_and_a_bad_one_is_refused() {
        let sample = ClockSample {
            host: "north-2".into(),
            component: "north".into(),
            sent_ns: 1,
            recv_ns: u64::MAX,
            ack_ns: 3,
        };
        let entries = vec![(9, AckStatus::Accepted)];
        let good = encode_with("north-2", &entries, Some(&sample));
        let frame = decode_frame(&good).expect("decodes");
        assert_eq!(frame, AckFrame { from: "north-2".into(), entries, sample: Some(sample) });
        for n in 0..good.len() {
            assert!(decode_frame(&good[..n]).is_err(), "prefix {n}");
        }
        let mut bad = good.clone();
        *bad.last_mut().expect("not empty") = b'!';
        assert_eq!(decode_frame(&bad), Err(AckDecodeError::Sample("a name is not [a-z0-9_-]")));
        let mut old = good;
        old[0] = 2;
        let msg = decode_frame(&old).expect_err("refused").to_string();
        assert_eq!(msg, "unsupported ack frame version 2 (this host speaks version 3)");
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in 0..20_000 {
            if let Ok(entries) = decode(&crate::garbage(len % 600, &mut seed)) {
                assert!(entries.len() <= MAX_ENTRIES);
            }
        }
    }

    #[test]
    fn rejects_bad_frames() {
        let good = encode("h1", &[(7, AckStatus::Overloaded)]);
        for n in 0..good.len() {
            assert!(decode(&good[..n]).is_err());
        }
        let mut bad = good.clone();
        bad[14] = 9; // no such status (after version, "h1" and the count)
        assert_eq!(decode(&bad), Err(AckDecodeError::Status(9)));
    }
}
