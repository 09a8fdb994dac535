//! "Who has packet P?": the frames a host uses before it declares a loss.
//!
//! Asked on `lwc.<l>.packets.whohas` (every host listens), answered on the
//! asker's `lwc.<l>.hosts.<host>.answers`. Frames, little endian:
//!
//! ```text
//! ask:    u8 version (=1) | u8 kind (0 query, 1 unfence, 2 declare)
//!         | u64 qid | u64 packet | u32 hops | u8 host_len | host
//! answer: u8 version (=1) | u64 qid | u64 packet | u8 answer | u32 hops | u8 passed
//! ```

use thiserror::Error;

pub const VERSION: u8 = 1;
const ASK_FIXED: usize = 1 + 1 + 8 + 8 + 4 + 1;
const ANSWER_LEN: usize = 1 + 8 + 8 + 1 + 4 + 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AskKind {
    /// Who has the packet at hop ≥ `hops`? Hosts that do not, fence it.
    Query = 0,
    /// The asker found the packet: drop the fence of `qid`.
    Unfence = 1,
    /// Nobody had it: the loss is declared, the fence becomes a tombstone.
    Declare = 2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub kind: AskKind,
    pub qid: u64,
    pub packet: u64,
    pub hops: u32,
    /// The asking host (answers go to its answers subject).
    pub host: String,
}

/// What a host knows about a packet it was asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Seen here up to hop `hops`; `passed`: and passed on from there.
    Has { hops: u32, passed: bool },
    /// Its fate was published.
    Ended,
    /// Declared lost by some host already.
    Tombstone,
    /// Another host's query about it is still open.
    Pending,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WhohasError {
    #[error("whohas frame too short ({0} bytes)")]
    Short(usize),
    #[error("whohas frame version {found}, this host speaks {VERSION}")]
    Version { found: u8 },
    #[error("whohas frame has unknown kind {0}")]
    Kind(u8),
    #[error("whohas frame length {len} does not match its host name ({host_len} bytes)")]
    Length { len: usize, host_len: usize },
    #[error("whohas host name is not a valid token")]
    Host,
}

pub fn encode_ask(ask: &Ask) -> Vec<u8> {
    let host = &ask.host.as_bytes()[..ask.host.len().min(255)];
    let mut out = Vec::with_capacity(ASK_FIXED + host.len());
    out.push(VERSION);
    out.push(ask.kind as u8);
    out.extend_from_slice(&ask.qid.to_le_bytes());
    out.extend_from_slice(&ask.packet.to_le_bytes());
    out.extend_from_slice(&ask.hops.to_le_bytes());
    out.push(host.len() as u8);
    out.extend_from_slice(host);
    out
}

pub fn decode_ask(buf: &[u8]) -> Result<Ask, WhohasError> {
    if buf.len() < ASK_FIXED {
        return Err(WhohasError::Short(buf.len()));
    }
    if buf[0] != VERSION {
        return Err(WhohasError::Version { found: buf[0] });
    }
    let kind = match buf[1] {
        0 => AskKind::Query,
        1 => AskKind::Unfence,
        2 => AskKind::Declare,
        k => return Err(WhohasError::Kind(k)),
    };
    let host_len = usize::from(buf[ASK_FIXED - 1]);
    if buf.len() != ASK_FIXED + host_len {
        return Err(WhohasError::Length { len: buf.len(), host_len });
    }
    let host = std::str::from_utf8(&buf[ASK_FIXED..]).map_err(|_| WhohasError::Host)?;
    if !crate::subjects::is_valid_token(host) {
        return Err(WhohasError::Host);
    }
    Ok(Ask {
        kind,
        qid: u64_at(buf, 2),
        packet: u64_at(buf, 10),
        hops: u32_at(buf, 18),
        host: host.to_string(),
    })
}

pub fn encode_answer(qid: u64, packet: u64, answer: Answer) -> Vec<u8> {
    let (code, hops, passed) = match answer {
        Answer::Has { hops, passed } => (0u8, hops, passed),
        Answer::Ended => (1, 0, false),
        Answer::Tombstone => (2, 0, false),
        Answer::Pending => (3, 0, false),
    };
    let mut out = Vec::with_capacity(ANSWER_LEN);
    out.push(VERSION);
    out.extend_from_slice(&qid.to_le_bytes());
    out.extend_from_slice(&packet.to_le_bytes());
    out.push(code);
    out.extend_from_slice(&hops.to_le_bytes());
    out.push(u8::from(passed));
    out
}

/// Decode an answer: (qid, packet, answer).
pub fn decode_answer(buf: &[u8]) -> Result<(u64, u64, Answer), WhohasError> {
    if buf.len() != ANSWER_LEN {
        return Err(WhohasError::Short(buf.len()));
    }
    if buf[0] != VERSION {
        return Err(WhohasError::Version { found: buf[0] });
    }
    let answer = match buf[17] {
        0 => Answer::Has {
            hops: u32_at(buf, 18),
            passed: buf[22] != 0,
        },
        1 => Answer::Ended,
        2 => Answer::Tombstone,
        3 => Answer::Pending,
        k => return Err(WhohasError::Kind(k)),
    };
    Ok((u64_at(buf, 1), u64_at(buf, 9), answer))
}

fn u64_at(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let ask = Ask {
            kind: AskKind::Declare,
            qid: 7,
            packet: u64::MAX,
            hops: 12,
            host: "north".into(),
        };
        assert_eq!(decode_ask(&encode_ask(&ask)), Ok(ask));
        for a in [Answer::Has { hops: 3, passed: true }, Answer::Ended, Answer::Tombstone, Answer::Pending] {
            assert_eq!(decode_answer(&encode_answer(1, 2, a)), Ok((1, 2, a)));
        }
    }

    #[test]
    fn refuses_other_versions_naming_both() {
        let mut f = encode_answer(1, 2, Answer::Ended);
        f[0] = 9;
        let e = decode_answer(&f).unwrap_err();
        assert_eq!(e.to_string(), "whohas frame version 9, this host speaks 1");
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        for len in 0..20_000 {
            let g = crate::garbage(len % 64, &mut seed);
            let _ = decode_ask(&g);
            let _ = decode_answer(&g);
        }
    }
}
