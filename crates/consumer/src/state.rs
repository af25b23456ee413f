//! The persisted state of a consumer: delivered and ack-floor positions, the pending
//! messages and their delivery counts. One small file, rewritten whole (the server writes it
//! to a temp file, fsyncs and renames), so it is always either the old or the new state.
//!
//! Layout (little endian): magic `WCST`, `u16` version (1), `u16` reserved (0), delivered
//! (`u64` consumer seq, `u64` stream seq), ack floor (same), `u32` pending count, then per
//! pending message `u64` stream seq, `u64` consumer seq, `i64` delivery time (Unix ns),
//! `u32` redelivered count, then per entry `u64` stream seq, `u64` deliveries; finally a
//! `u32` CRC32C of every byte before it.

use crate::tracker::{AckTracker, SeqPair};

const MAGIC: &[u8; 4] = b"WCST";
const VERSION: u16 = 1;
/// Fixed part: magic, version, reserved, two seq pairs, two counts, checksum.
const MIN_LEN: usize = 4 + 2 + 2 + 32 + 4 + 4 + 4;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConsumerState {
    pub delivered: SeqPair,
    pub ack_floor: SeqPair,
    /// (stream seq, consumer seq, delivered at ns)
    pub pending: Vec<(u64, u64, i64)>,
    /// (stream seq, deliveries) for messages delivered more than once.
    pub redelivered: Vec<(u64, u64)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    #[error("consumer state is truncated ({0} bytes)")]
    Truncated(usize),
    #[error("consumer state has a bad magic number")]
    BadMagic,
    #[error("consumer state version {0} is not supported (this build reads version {VERSION})")]
    Version(u16),
    #[error("consumer state checksum mismatch")]
    Checksum,
}

impl ConsumerState {
    pub fn of(tracker: &AckTracker) -> ConsumerState {
        let mut redelivered: Vec<(u64, u64)> = tracker.redelivered_counts().collect();
        redelivered.sort_unstable();
        ConsumerState {
            delivered: tracker.delivered,
            ack_floor: tracker.ack_floor,
            pending: tracker
                .pending()
                .map(|(seq, p)| (seq, p.consumer_seq, p.delivered_ns))
                .collect(),
            redelivered,
        }
    }

    pub fn restore_into(self, tracker: &mut AckTracker, now_ns: i64) {
        tracker.restore(
            self.delivered,
            self.ack_floor,
            self.pending,
            self.redelivered,
            now_ns,
        );
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(MIN_LEN + self.pending.len() * 24 + self.redelivered.len() * 16);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        for pair in [self.delivered, self.ack_floor] {
            out.extend_from_slice(&pair.consumer_seq.to_le_bytes());
            out.extend_from_slice(&pair.stream_seq.to_le_bytes());
        }
        out.extend_from_slice(&(self.pending.len() as u32).to_le_bytes());
        for (seq, cseq, ts) in &self.pending {
            out.extend_from_slice(&seq.to_le_bytes());
            out.extend_from_slice(&cseq.to_le_bytes());
            out.extend_from_slice(&ts.to_le_bytes());
        }
        out.extend_from_slice(&(self.redelivered.len() as u32).to_le_bytes());
        for (seq, n) in &self.redelivered {
            out.extend_from_slice(&seq.to_le_bytes());
            out.extend_from_slice(&n.to_le_bytes());
        }
        let crc = crc32c::crc32c(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
    }

    pub fn decode(buf: &[u8]) -> Result<ConsumerState, StateError> {
        if buf.len() < MIN_LEN {
            return Err(StateError::Truncated(buf.len()));
        }
        let (body, crc) = buf.split_at(buf.len() - 4);
        if &body[..4] != MAGIC {
            return Err(StateError::BadMagic);
        }
        let version = u16::from_le_bytes([body[4], body[5]]);
        if version != VERSION {
            return Err(StateError::Version(version));
        }
        let crc = u32::from_le_bytes([crc[0], crc[1], crc[2], crc[3]]);
        if crc32c::crc32c(body) != crc {
            return Err(StateError::Checksum);
        }
        let mut r = Reader { buf: body, at: 8 };
        let truncated = StateError::Truncated(buf.len());
        let pair = |r: &mut Reader| -> Option<SeqPair> {
            Some(SeqPair {
                consumer_seq: r.u64()?,
                stream_seq: r.u64()?,
            })
        };
        let delivered = pair(&mut r).ok_or(truncated.clone())?;
        let ack_floor = pair(&mut r).ok_or(truncated.clone())?;
        let n = r.u32().ok_or(truncated.clone())? as usize;
        let mut pending = Vec::with_capacity(n.min(body.len() / 24));
        for _ in 0..n {
            let entry = (|| Some((r.u64()?, r.u64()?, r.u64()? as i64)))();
            pending.push(entry.ok_or(truncated.clone())?);
        }
        let n = r.u32().ok_or(truncated.clone())? as usize;
        let mut redelivered = Vec::with_capacity(n.min(body.len() / 16));
        for _ in 0..n {
            let entry = (|| Some((r.u64()?, r.u64()?)))();
            redelivered.push(entry.ok_or(truncated.clone())?);
        }
        Ok(ConsumerState {
            delivered,
            ack_floor,
            pending,
            redelivered,
        })
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let bytes = self.buf.get(self.at..self.at + N)?;
        self.at += N;
        bytes.try_into().ok()
    }
    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> ConsumerState {
        ConsumerState {
            delivered: SeqPair {
                consumer_seq: 12,
                stream_seq: 10,
            },
            ack_floor: SeqPair {
                consumer_seq: 4,
                stream_seq: 4,
            },
            pending: vec![(5, 11, 100), (9, 12, 200)],
            redelivered: vec![(5, 3)],
        }
    }

    #[test]
    fn round_trips() {
        let s = sample();
        assert_eq!(ConsumerState::decode(&s.encode()).unwrap(), s);
    }

    #[test]
    fn every_flipped_bit_and_cut_is_detected() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(ConsumerState::decode(&bad).is_err(), "flip at {i}");
            assert!(ConsumerState::decode(&bytes[..i]).is_err(), "cut at {i}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = ConsumerState::decode(&bytes);
        }
    }
}
