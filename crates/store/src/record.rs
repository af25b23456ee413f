//! Record and file-header encoding. Every record is self-delimiting and
//! carries a CRC32C over all of its bytes, so recovery can validate each one
//! and re-synchronise after a damaged region. All integers little-endian.
//!
//! ```text
//! record := len u32 | kind u8 | flags u8 | subject_len u16 | seq u64 | ts_ns i64
//!           | headers_len u32 | payload_len u32 | [ttl_ns i64 if FLAG_TTL]
//!           | subject | body | crc32c u32        (crc over every preceding byte)
//! body   := headers ++ payload, or lz4(headers ++ payload) if FLAG_LZ4
//! ```
//!
//! A range tombstone (kind 4, format version 2) uses the same layout with an
//! 8-byte payload: the last seq of the range.

use bytes::Bytes;

pub(crate) const KIND_MSG: u8 = 1;
/// Interior delete of message `seq`.
pub(crate) const KIND_TOMBSTONE: u8 = 2;
/// Every message with a sequence below `seq` is gone (purge / limits).
pub(crate) const KIND_FIRST_SEQ: u8 = 3;
/// Every message in `seq..=end` is deleted (`end` is the 8-byte payload).
/// Written when a segment is retired or compacted, so recovery can tell
/// sequences deliberately removed from those written but lost. Version 2.
pub(crate) const KIND_RANGE: u8 = 4;
const LAST_KIND: u8 = KIND_RANGE;
/// Encoded size of a range tombstone.
#[cfg(test)]
pub(crate) const RANGE_RECORD_BYTES: usize = MIN_RECORD_BYTES + 8;

pub(crate) const FLAG_TTL: u8 = 1;
pub(crate) const FLAG_LZ4: u8 = 2;
/// The message was deleted with erase: subject and body are zeroed.
pub(crate) const FLAG_ERASED: u8 = 4;
const KNOWN_FLAGS: u8 = FLAG_TTL | FLAG_LZ4 | FLAG_ERASED;

pub(crate) const FIXED_BYTES: usize = 32;
pub(crate) const CRC_BYTES: usize = 4;
pub(crate) const MIN_RECORD_BYTES: usize = FIXED_BYTES + CRC_BYTES;
/// Upper bound for any record; checked before allocating for one.
pub(crate) const MAX_RECORD_BYTES: usize = (64 << 20) + (1 << 17);

/// Compress only bodies at least this long (smaller rarely shrink).
const COMPRESS_MIN_BYTES: usize = 128;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    pub subject_len: u16,
    pub seq: u64,
    pub ts_ns: i64,
    pub headers_len: u32,
    pub payload_len: u32,
    pub ttl_ns: Option<i64>,
}

impl RecordHeader {
    fn prefix_bytes(&self) -> usize {
        FIXED_BYTES + if self.flags & FLAG_TTL != 0 { 8 } else { 0 }
    }
}

/// A validated record borrowed from a buffer.
pub(crate) struct RecordView<'a> {
    pub hdr: RecordHeader,
    pub subject: &'a [u8],
    pub body: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RecordError {
    /// The record claims more bytes than the buffer holds (torn tail).
    Truncated,
    BadLength,
    BadChecksum,
    BadField,
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecordError::Truncated => "record extends past end of file",
            RecordError::BadLength => "implausible record length",
            RecordError::BadChecksum => "checksum mismatch",
            RecordError::BadField => "malformed record fields",
        })
    }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Encodes a message record onto `out`; returns its length.
#[allow(clippy::too_many_arguments)]
pub(crate) fn encode_msg(
    out: &mut Vec<u8>,
    seq: u64,
    ts_ns: i64,
    ttl_ns: Option<i64>,
    subject: &[u8],
    headers: &[u8],
    payload: &[u8],
    compress: bool,
) -> usize {
    let start = out.len();
    let mut flags = 0;
    if ttl_ns.is_some() {
        flags |= FLAG_TTL;
    }
    let body_len = headers.len() + payload.len();
    let compressed = if compress && body_len >= COMPRESS_MIN_BYTES {
        let mut plain = Vec::with_capacity(body_len);
        plain.extend_from_slice(headers);
        plain.extend_from_slice(payload);
        let c = lz4_flex::block::compress(&plain);
        (c.len() < body_len).then_some(c)
    } else {
        None
    };
    if compressed.is_some() {
        flags |= FLAG_LZ4;
    }
    out.extend_from_slice(&[0; 4]);
    out.push(KIND_MSG);
    out.push(flags);
    out.extend_from_slice(&(subject.len() as u16).to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ts_ns.to_le_bytes());
    out.extend_from_slice(&(headers.len() as u32).to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    if let Some(t) = ttl_ns {
        out.extend_from_slice(&t.to_le_bytes());
    }
    out.extend_from_slice(subject);
    match &compressed {
        Some(c) => out.extend_from_slice(c),
        None => {
            out.extend_from_slice(headers);
            out.extend_from_slice(payload);
        }
    }
    finish(out, start)
}

/// Encodes a tombstone or first-seq marker.
pub(crate) fn encode_marker(out: &mut Vec<u8>, kind: u8, seq: u64, ts_ns: i64) -> usize {
    debug_assert!(kind == KIND_TOMBSTONE || kind == KIND_FIRST_SEQ);
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(kind);
    out.push(0);
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&ts_ns.to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    finish(out, start)
}

/// Encodes a range tombstone for `from..=to`.
pub(crate) fn encode_range(out: &mut Vec<u8>, from: u64, to: u64, ts_ns: i64) -> usize {
    debug_assert!(from <= to);
    let start = out.len();
    out.extend_from_slice(&[0; 4]);
    out.push(KIND_RANGE);
    out.push(0);
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&from.to_le_bytes());
    out.extend_from_slice(&ts_ns.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&8u32.to_le_bytes());
    out.extend_from_slice(&to.to_le_bytes());
    finish(out, start)
}

/// The last seq of a validated range tombstone.
pub(crate) fn range_end(view: &RecordView<'_>) -> u64 {
    debug_assert_eq!(view.hdr.kind, KIND_RANGE);
    u64_at(view.body, 0)
}

fn finish(out: &mut Vec<u8>, start: usize) -> usize {
    let len = out.len() - start + CRC_BYTES;
    out[start..start + 4].copy_from_slice(&(len as u32).to_le_bytes());
    let crc = crc32c::crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
    len
}

/// Zeroes subject and body of an encoded message record in place, flags it
/// erased and re-seals its checksum.
pub(crate) fn erase_in_place(rec: &mut [u8]) -> Result<(), RecordError> {
    let hdr = parse(rec)?.hdr;
    let prefix = hdr.prefix_bytes();
    let end = rec.len() - CRC_BYTES;
    rec[prefix..end].fill(0);
    rec[5] |= FLAG_ERASED;
    let crc = crc32c::crc32c(&rec[..end]);
    rec[end..].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Reads the length field and checks it is plausible; no checksum.
pub(crate) fn peek_len(buf: &[u8]) -> Result<usize, RecordError> {
    if buf.len() < 4 {
        return Err(RecordError::Truncated);
    }
    let len = u32_at(buf, 0) as usize;
    if !(MIN_RECORD_BYTES..=MAX_RECORD_BYTES).contains(&len) {
        return Err(RecordError::BadLength);
    }
    Ok(len)
}

/// Validates the record at the start of `buf` (length bounds, checksum,
/// field bounds) and returns a view of it.
pub(crate) fn parse(buf: &[u8]) -> Result<RecordView<'_>, RecordError> {
    let len = peek_len(buf)?;
    if len > buf.len() {
        return Err(RecordError::Truncated);
    }
    let rec = &buf[..len];
    let stored = u32_at(rec, len - CRC_BYTES);
    if crc32c::crc32c(&rec[..len - CRC_BYTES]) != stored {
        return Err(RecordError::BadChecksum);
    }
    let kind = rec[4];
    let flags = rec[5];
    if !is_known_kind(kind) || flags & !KNOWN_FLAGS != 0 {
        return Err(RecordError::BadField);
    }
    let mut hdr = RecordHeader {
        len: len as u32,
        kind,
        flags,
        subject_len: u16_at(rec, 6),
        seq: u64_at(rec, 8),
        ts_ns: u64_at(rec, 16) as i64,
        headers_len: u32_at(rec, 24),
        payload_len: u32_at(rec, 28),
        ttl_ns: None,
    };
    let prefix = hdr.prefix_bytes();
    if prefix + CRC_BYTES > len {
        return Err(RecordError::BadField);
    }
    if flags & FLAG_TTL != 0 {
        hdr.ttl_ns = Some(u64_at(rec, FIXED_BYTES) as i64);
    }
    let subject_end = prefix + hdr.subject_len as usize;
    if subject_end > len - CRC_BYTES {
        return Err(RecordError::BadField);
    }
    let body = &rec[subject_end..len - CRC_BYTES];
    let plain_len = hdr.headers_len as usize + hdr.payload_len as usize;
    if plain_len > MAX_RECORD_BYTES
        || (flags & (FLAG_LZ4 | FLAG_ERASED) == 0 && body.len() != plain_len)
    {
        return Err(RecordError::BadField);
    }
    if kind == KIND_RANGE
        && (flags != 0
            || hdr.subject_len != 0
            || hdr.headers_len != 0
            || body.len() != 8
            || u64_at(body, 0) < hdr.seq)
    {
        return Err(RecordError::BadField);
    }
    Ok(RecordView {
        hdr,
        subject: &rec[prefix..subject_end],
        body,
    })
}

pub(crate) fn is_known_kind(kind: u8) -> bool {
    (KIND_MSG..=LAST_KIND).contains(&kind)
}

/// The (headers, payload) of a message record, decompressing if needed.
/// `backing` must be the buffer `view` borrows from, as `Bytes`, so the
/// uncompressed case is zero-copy.
pub(crate) fn body_parts(
    view: &RecordView<'_>,
    backing: &Bytes,
) -> Result<(Bytes, Bytes), RecordError> {
    let h = view.hdr.headers_len as usize;
    let p = view.hdr.payload_len as usize;
    if view.hdr.flags & FLAG_LZ4 != 0 {
        let plain =
            lz4_flex::block::decompress(view.body, h + p).map_err(|_| RecordError::BadField)?;
        if plain.len() != h + p {
            return Err(RecordError::BadField);
        }
        let b = Bytes::from(plain);
        return Ok((b.slice(..h), b.slice(h..)));
    }
    let off = view.body.as_ptr() as usize - backing.as_ptr() as usize;
    Ok((
        backing.slice(off..off + h),
        backing.slice(off + h..off + h + p),
    ))
}

/// Fixed header of every file: magic, format version, kind, first seq.
pub(crate) const FILE_HEADER_BYTES: usize = 32;
pub(crate) const SEGMENT_MAGIC: &[u8; 8] = b"WEIRSEG\0";
pub(crate) const SNAPSHOT_MAGIC: &[u8; 8] = b"WEIRSNP\0";
/// Version written into new files. Version 2 added range tombstones; a
/// version 1 segment is still read (it simply holds none of them).
pub(crate) const FORMAT_VERSION: u16 = 2;
/// First version whose segments may hold range tombstones.
pub(crate) const RANGES_SINCE_VERSION: u16 = 2;
/// Oldest segment version this build reads.
pub(crate) const MIN_SEGMENT_VERSION: u16 = 1;
pub(crate) const KIND_SEGMENT_FILE: u16 = 1;
pub(crate) const KIND_SNAPSHOT_FILE: u16 = 2;

/// magic[8] | version u16 | kind u16 | reserved u32 | first_seq u64 |
/// reserved u32 | crc32c u32 (over the preceding 28 bytes)
pub(crate) fn encode_file_header(
    magic: &[u8; 8],
    kind: u16,
    first_seq: u64,
) -> [u8; FILE_HEADER_BYTES] {
    let mut h = [0u8; FILE_HEADER_BYTES];
    h[..8].copy_from_slice(magic);
    h[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    h[10..12].copy_from_slice(&kind.to_le_bytes());
    h[16..24].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[..28]);
    h[28..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// What a valid file header says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileHeader {
    pub first_seq: u64,
    pub version: u16,
}

/// Returns the header, or why it is unusable. Segments of any version from
/// `MIN_SEGMENT_VERSION` are accepted; a snapshot only of the current one
/// (an older snapshot is merely stale: recovery scans instead).
pub(crate) fn decode_file_header(
    buf: &[u8],
    magic: &[u8; 8],
    kind: u16,
) -> Result<FileHeader, String> {
    if buf.len() < FILE_HEADER_BYTES {
        return Err(format!(
            "file shorter than its {FILE_HEADER_BYTES}-byte header"
        ));
    }
    if &buf[..8] != magic {
        return Err("bad magic".into());
    }
    if crc32c::crc32c(&buf[..28]) != u32_at(buf, 28) {
        return Err("header checksum mismatch".into());
    }
    let version = u16_at(buf, 8);
    let oldest = if kind == KIND_SEGMENT_FILE {
        MIN_SEGMENT_VERSION
    } else {
        FORMAT_VERSION
    };
    if !(oldest..=FORMAT_VERSION).contains(&version) {
        return Err(format!(
            "unsupported format version {version} (this build reads {oldest}..={FORMAT_VERSION})"
        ));
    }
    let k = u16_at(buf, 10);
    if k != kind {
        return Err(format!("file kind {k}, expected {kind}"));
    }
    Ok(FileHeader {
        first_seq: u64_at(buf, 16),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_plain_and_compressed() {
        for compress in [false, true] {
            let mut out = Vec::new();
            let payload = vec![7u8; 1000];
            let len = encode_msg(
                &mut out,
                42,
                -5,
                Some(9),
                b"a.b",
                b"NATS/1.0\r\n\r\n",
                &payload,
                compress,
            );
            assert_eq!(len, out.len());
            let v = parse(&out).unwrap();
            assert_eq!(v.hdr.seq, 42);
            assert_eq!(v.hdr.ts_ns, -5);
            assert_eq!(v.hdr.ttl_ns, Some(9));
            assert_eq!(v.subject, b"a.b");
            assert_eq!(compress, v.hdr.flags & FLAG_LZ4 != 0);
            let backing = Bytes::from(out.clone());
            let v = parse(&backing).unwrap();
            let (h, p) = body_parts(&v, &backing).unwrap();
            assert_eq!(&h[..], b"NATS/1.0\r\n\r\n");
            assert_eq!(&p[..], &payload[..]);
        }
    }

    #[test]
    fn every_single_byte_flip_is_detected() {
        let mut out = Vec::new();
        encode_msg(&mut out, 1, 2, None, b"s", b"", b"hello", false);
        for i in 0..out.len() {
            let mut c = out.clone();
            c[i] ^= 0x10;
            assert!(parse(&c).is_err(), "flip at {i} undetected");
        }
    }

    #[test]
    fn range_roundtrip_and_validation() {
        let mut out = Vec::new();
        let len = encode_range(&mut out, 10, 20, 7);
        assert_eq!((len, out.len()), (RANGE_RECORD_BYTES, RANGE_RECORD_BYTES));
        let v = parse(&out).unwrap();
        assert_eq!((v.hdr.kind, v.hdr.seq, range_end(&v)), (KIND_RANGE, 10, 20));
        // A range whose end precedes its start is malformed even if sealed.
        let mut bad = Vec::new();
        encode_range(&mut bad, 10, 10, 7);
        bad[32..40].copy_from_slice(&9u64.to_le_bytes());
        let end = bad.len() - CRC_BYTES;
        let crc = crc32c::crc32c(&bad[..end]);
        bad[end..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(parse(&bad).err(), Some(RecordError::BadField));
    }

    #[test]
    fn headers_of_both_versions_are_read() {
        let h = encode_file_header(SEGMENT_MAGIC, KIND_SEGMENT_FILE, 5);
        let d = decode_file_header(&h, SEGMENT_MAGIC, KIND_SEGMENT_FILE).unwrap();
        assert_eq!((d.first_seq, d.version), (5, FORMAT_VERSION));
        let mut v1 = h;
        v1[8..10].copy_from_slice(&1u16.to_le_bytes());
        let crc = crc32c::crc32c(&v1[..28]);
        v1[28..].copy_from_slice(&crc.to_le_bytes());
        let d = decode_file_header(&v1, SEGMENT_MAGIC, KIND_SEGMENT_FILE).unwrap();
        assert_eq!(d.version, 1);
        let mut v3 = h;
        v3[8..10].copy_from_slice(&3u16.to_le_bytes());
        let crc = crc32c::crc32c(&v3[..28]);
        v3[28..].copy_from_slice(&crc.to_le_bytes());
        assert!(decode_file_header(&v3, SEGMENT_MAGIC, KIND_SEGMENT_FILE).is_err());
    }

    #[test]
    fn truncation_and_erase() {
        let mut out = Vec::new();
        encode_msg(&mut out, 1, 2, None, b"s", b"", b"secret", false);
        assert_eq!(
            parse(&out[..out.len() - 1]).err(),
            Some(RecordError::Truncated)
        );
        erase_in_place(&mut out).unwrap();
        let v = parse(&out).unwrap();
        assert!(v.hdr.flags & FLAG_ERASED != 0);
        assert!(!out.windows(6).any(|w| w == b"secret"));
    }
}
