//! "Which of these packets do you hold?": the control host's census of the
//! packets its book has in flight.
//!
//! A packet whose holder and whose sender die together gets no fate: nobody
//! is left who knows it (design.md, "Fates"). The book cannot tell such a
//! packet from a slow one by waiting, so it asks: a packet that no host
//! claims, round after round, is shown in `/status` as `orphaned`.
//!
//! Asked on `lwc.<l>.packets.census` with a reply subject; every host
//! listens, and a host that holds any of the packets (or published the fate
//! of any) answers on the reply subject. Frames, little endian:
//!
//! ```text
//! ask:    u8 version (=1) | u8 kind (=0) | u32 n | n × u64 packet
//! answer: u8 version (=1) | u8 kind (=1) | u32 n | n × u64 held
//!                                        | u32 m | m × u64 ended here
//! ```

use thiserror::Error;

pub const VERSION: u8 = 1;

/// Most packets one frame may name: a bound on what a decoder allocates
/// (a 32 KB ask at most; NATS' default payload limit is 1 MB).
pub const MAX_PACKETS: usize = 4096;

const ASK: u8 = 0;
const ANSWER: u8 = 1;

/// `lwc.<l>.packets.census`: every host listens.
pub fn subject(lattice: &str) -> String {
    format!("lwc.{lattice}.packets.census")
}

/// A host's answer: which of the asked packets it holds, and which it
/// published the fate of (a fate the book then missed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    pub held: Vec<u64>,
    pub ended: Vec<u64>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CensusError {
    #[error("census frame too short ({0} bytes)")]
    Short(usize),
    #[error("census frame version {found}, this host speaks {VERSION}")]
    Version { found: u8 },
    #[error("census frame kind {found}, expected {expected}")]
    Kind { found: u8, expected: u8 },
    #[error("census frame names {0} packets, at most {MAX_PACKETS} allowed")]
    TooMany(usize),
    #[error("census frame is {len} bytes, its counts say {expected}")]
    Length { len: usize, expected: usize },
}

pub fn encode_ask(packets: &[u64]) -> Vec<u8> {
    let packets = &packets[..packets.len().min(MAX_PACKETS)];
    let mut out = Vec::with_capacity(6 + packets.len() * 8);
    out.push(VERSION);
    out.push(ASK);
    push_list(&mut out, packets);
    out
}

pub fn decode_ask(buf: &[u8]) -> Result<Vec<u64>, CensusError> {
    let mut at = header(buf, ASK)?;
    let packets = take_list(buf, &mut at)?;
    finish(buf, at)?;
    Ok(packets)
}

pub fn encode_answer(claims: &Claims) -> Vec<u8> {
    let held = &claims.held[..claims.held.len().min(MAX_PACKETS)];
    let ended = &claims.ended[..claims.ended.len().min(MAX_PACKETS)];
    let mut out = Vec::with_capacity(10 + (held.len() + ended.len()) * 8);
    out.push(VERSION);
    out.push(ANSWER);
    push_list(&mut out, held);
    push_list(&mut out, ended);
    out
}

pub fn decode_answer(buf: &[u8]) -> Result<Claims, CensusError> {
    let mut at = header(buf, ANSWER)?;
    let held = take_list(buf, &mut at)?;
    let ended = take_list(buf, &mut at)?;
    finish(buf, at)?;
    Ok(Claims { held, ended })
}

fn header(buf: &[u8], kind: u8) -> Result<usize, CensusError> {
    if buf.len() < 2 {
        return Err(CensusError::Short(buf.len()));
    }
    if buf[0] != VERSION {
        return Err(CensusError::Version { found: buf[0] });
    }
    if buf[1] != kind {
        return Err(CensusError::Kind { found: buf[1], expected: kind });
    }
    Ok(2)
}

fn push_list(out: &mut Vec<u8>, packets: &[u64]) {
    out.extend_from_slice(&(packets.len() as u32).to_le_bytes());
    for p in packets {
        out.extend_from_slice(&p.to_le_bytes());
    }
}

fn take_list(buf: &[u8], at: &mut usize) -> Result<Vec<u64>, CensusError> {
    let count = buf.get(*at..*at + 4).ok_or(CensusError::Short(buf.len()))?;
    let n = u32::from_le_bytes([count[0], count[1], count[2], count[3]]) as usize;
    if n > MAX_PACKETS {
        return Err(CensusError::TooMany(n));
    }
    *at += 4;
    let body = buf.get(*at..*at + n * 8).ok_or(CensusError::Length {
        len: buf.len(),
        expected: *at + n * 8,
    })?;
    *at += n * 8;
    Ok(body
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}

fn finish(buf: &[u8], at: usize) -> Result<(), CensusError> {
    if buf.len() == at {
        Ok(())
    } else {
        Err(CensusError::Length { len: buf.len(), expected: at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asks_and_answers_round_trip() {
        let asked = vec![1, u64::MAX, 42];
        assert_eq!(decode_ask(&encode_ask(&asked)), Ok(asked));
        let claims = Claims { held: vec![7], ended: vec![8, 9] };
        assert_eq!(decode_answer(&encode_answer(&claims)), Ok(claims));
        assert_eq!(decode_answer(&encode_answer(&Claims::default())), Ok(Claims::default()));
    }

    #[test]
    fn bad_frames_are_refused_with_what_is_wrong() {
        let ask = encode_ask(&[1, 2]);
        assert_eq!(decode_ask(&ask[..1]), Err(CensusError::Short(1)));
        let mut v2 = ask.clone();
        v2[0] = 2;
        assert_eq!(decode_ask(&v2).unwrap_err().to_string(), "census frame version 2, this host speaks 1");
        assert_eq!(decode_answer(&ask), Err(CensusError::Kind { found: 0, expected: 1 }));
        assert!(matches!(decode_ask(&ask[..ask.len() - 1]), Err(CensusError::Length { .. })));
        let mut long = ask.clone();
        long.push(0);
        assert!(matches!(decode_ask(&long), Err(CensusError::Length { .. })));
        let mut huge = vec![VERSION, ASK];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(decode_ask(&huge), Err(CensusError::TooMany(u32::MAX as usize)));
    }

    #[test]
    fn garbage_never_panics() {
        let mut seed = 0x5eed;
        for len in 0..200 {
            let buf = crate::garbage(len, &mut seed);
            let _ = decode_ask(&buf);
            let _ = decode_answer(&buf);
        }
    }
}
