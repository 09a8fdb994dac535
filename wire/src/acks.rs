//! Batched hop acknowledgements.
//!
//! A receiving host does not answer each hop with its own message: it
//! collects the hop ids it accepted (or refused), and later those it
//! finished, per sender, and flushes a sender's batch 5 ms after its first
//! entry (`ACK_BATCH_WINDOW` in the host's lattice) or at [`MAX_ENTRIES`]
//! entries, whichever comes first. Frame:
//!
//! ```text
//! u8 version (=1) | u16 count | count × (u64 hop_id | u8 status)
//! ```

use thiserror::Error;

pub const VERSION: u8 = 1;
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
}

impl AckStatus {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            0 => Some(Self::Accepted),
            1 => Some(Self::Overloaded),
            2 => Some(Self::Done),
            _ => None,
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AckDecodeError {
    #[error("ack frame too short")]
    Short,
    #[error("unsupported ack version {0}")]
    Version(u8),
    #[error("ack frame declares {declared} entries but is {len} bytes")]
    Length { declared: usize, len: usize },
    #[error("unknown ack status {0}")]
    Status(u8),
}

pub fn encode(entries: &[(u64, AckStatus)]) -> Vec<u8> {
    let n = entries.len().min(MAX_ENTRIES);
    let mut out = Vec::with_capacity(3 + n * ENTRY_LEN);
    out.push(VERSION);
    out.extend_from_slice(&(n as u16).to_le_bytes());
    for (hop_id, status) in &entries[..n] {
        out.extend_from_slice(&hop_id.to_le_bytes());
        out.push(*status as u8);
    }
    out
}

pub fn decode(buf: &[u8]) -> Result<Vec<(u64, AckStatus)>, AckDecodeError> {
    if buf.len() < 3 {
        return Err(AckDecodeError::Short);
    }
    if buf[0] != VERSION {
        return Err(AckDecodeError::Version(buf[0]));
    }
    let declared = u16::from_le_bytes([buf[1], buf[2]]) as usize;
    if declared > MAX_ENTRIES || buf.len() != 3 + declared * ENTRY_LEN {
        return Err(AckDecodeError::Length {
            declared,
            len: buf.len(),
        });
    }
    buf[3..]
        .chunks_exact(ENTRY_LEN)
        .map(|c| {
            let mut id = [0u8; 8];
            id.copy_from_slice(&c[..8]);
            let status = AckStatus::from_byte(c[8]).ok_or(AckDecodeError::Status(c[8]))?;
            Ok((u64::from_le_bytes(id), status))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let entries = vec![(1, AckStatus::Accepted), (u64::MAX, AckStatus::Overloaded)];
        assert_eq!(decode(&encode(&entries)), Ok(entries));
        assert_eq!(decode(&encode(&[])), Ok(vec![]));
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
        let good = encode(&[(7, AckStatus::Overloaded)]);
        for n in 0..good.len() {
            assert!(decode(&good[..n]).is_err());
        }
        let mut bad = good.clone();
        bad[11] = 9; // no such status
        assert_eq!(decode(&bad), Err(AckDecodeError::Status(9)));
    }
}
