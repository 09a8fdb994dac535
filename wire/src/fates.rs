//! Fates through one witness: a host reports each packet's fate (the event's
//! JSON, as it will appear on the stream) to the control host on
//! `lwc.<l>.fates`, with its `fate-acks` subject as the reply; the control
//! host publishes the first report of each packet on `lwc.<l>.events.packet`
//! and acks every report with the packet's id. Why: see the host's
//! `lattice::protocol::fates`.
//!
//! Ack frame: `n × u64` packet ids, little endian (n ≥ 1).

use thiserror::Error;

/// `lwc.<l>.fates`: fate reports, to the witness (the control host).
pub fn subject(lattice: &str) -> String {
    format!("lwc.{lattice}.fates")
}

/// `lwc.<l>.hosts.<host>.fate-acks`: the witness's acks of `host`'s reports.
pub fn acks_subject(lattice: &str, host: &str) -> String {
    format!("lwc.{lattice}.hosts.{host}.fate-acks")
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum FateAckError {
    #[error("fate ack frame of {0} bytes: expected a non-empty multiple of 8")]
    Length(usize),
}

pub fn encode_acks(packets: &[u64]) -> Vec<u8> {
    packets.iter().flat_map(|p| p.to_le_bytes()).collect()
}

pub fn decode_acks(buf: &[u8]) -> Result<Vec<u64>, FateAckError> {
    if buf.is_empty() || !buf.len().is_multiple_of(8) {
        return Err(FateAckError::Length(buf.len()));
    }
    Ok(buf
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acks_round_trip_and_bad_lengths_are_refused() {
        assert_eq!(decode_acks(&encode_acks(&[1, u64::MAX])), Ok(vec![1, u64::MAX]));
        assert_eq!(decode_acks(&[]), Err(FateAckError::Length(0)));
        assert_eq!(decode_acks(&[0; 9]).unwrap_err().to_string(), "fate ack frame of 9 bytes: expected a non-empty multiple of 8");
    }
}
