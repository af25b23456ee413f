//! One segment file: `<first seq, 20 digits>.blk`, a file header, then
//! records. Only the last (active) segment is appended to; appends are
//! buffered in `pending` and handed to the OS in large writes.

use crate::error::IoContext;
use crate::record::{
    self, encode_file_header, FILE_HEADER_BYTES, KIND_SEGMENT_FILE, SEGMENT_MAGIC,
};
use crate::StoreError;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) const SEGMENT_EXT: &str = "blk";

pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}.{SEGMENT_EXT}")
}

/// Parses `<20 digits>.blk`; other names are not segments.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".blk")?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

pub(crate) struct Segment {
    pub first_seq: u64,
    pub path: PathBuf,
    pub file: Arc<File>,
    /// Bytes already handed to the OS.
    pub written_bytes: u64,
    /// Encoded records not yet written (active segment only).
    pub pending: Vec<u8>,
    /// Live messages stored in this segment.
    pub live: u64,
    /// Seqs whose tombstone records live in this segment (carried to the
    /// active segment if this one is removed while they still matter).
    pub tombstones: Vec<u64>,
    /// Written (or rewritten) since the last flush: needs fdatasync.
    pub dirty: bool,
}

impl Segment {
    /// Creates a new segment file; its header is buffered like a record.
    pub fn create(dir: &Path, first_seq: u64) -> Result<Segment, StoreError> {
        let path = dir.join(segment_name(first_seq));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .ctx(&path)?;
        let mut pending = Vec::with_capacity(64 << 10);
        pending.extend_from_slice(&encode_file_header(
            SEGMENT_MAGIC,
            KIND_SEGMENT_FILE,
            first_seq,
        ));
        Ok(Segment {
            first_seq,
            path,
            file: Arc::new(file),
            written_bytes: 0,
            pending,
            live: 0,
            tombstones: Vec::new(),
            dirty: true,
        })
    }

    /// Opens an existing segment whose valid data ends at `len_bytes`.
    pub fn open(path: PathBuf, first_seq: u64, len_bytes: u64) -> Result<Segment, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .ctx(&path)?;
        Ok(Segment {
            first_seq,
            path,
            file: Arc::new(file),
            written_bytes: len_bytes,
            pending: Vec::new(),
            live: 0,
            tombstones: Vec::new(),
            dirty: false,
        })
    }

    pub fn len_bytes(&self) -> u64 {
        self.written_bytes + self.pending.len() as u64
    }

    pub fn has_records(&self) -> bool {
        self.len_bytes() > FILE_HEADER_BYTES as u64
    }

    /// Buffers an encoded record; returns its offset.
    pub fn append(&mut self, rec: &[u8]) -> u64 {
        let at = self.len_bytes();
        self.pending.extend_from_slice(rec);
        at
    }

    /// Hands `pending` to the OS (no fsync).
    pub fn write_out(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        self.file
            .write_all_at(&self.pending, self.written_bytes)
            .ctx(&self.path)?;
        self.written_bytes += self.pending.len() as u64;
        self.pending.clear();
        self.dirty = true;
        Ok(())
    }

    /// Reads exactly `buf.len()` bytes at `offset` from disk or `pending`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StoreError> {
        if offset >= self.written_bytes {
            let from = (offset - self.written_bytes) as usize;
            let src = self
                .pending
                .get(from..from + buf.len())
                .ok_or_else(|| self.corrupt(offset, "read past end"))?;
            buf.copy_from_slice(src);
            return Ok(());
        }
        if offset + buf.len() as u64 > self.written_bytes {
            return Err(self.corrupt(offset, "record straddles the write buffer"));
        }
        self.file.read_exact_at(buf, offset).ctx(&self.path)
    }

    /// Reads the whole record at `offset` (length-checked before allocating).
    pub fn read_record(&self, offset: u64) -> Result<Vec<u8>, StoreError> {
        let mut len_buf = [0u8; 4];
        self.read_at(offset, &mut len_buf)?;
        let len = record::peek_len(&len_buf).map_err(|e| self.corrupt(offset, &e.to_string()))?;
        if offset + len as u64 > self.len_bytes() {
            return Err(self.corrupt(offset, "record extends past end of segment"));
        }
        let mut buf = vec![0u8; len];
        self.read_at(offset, &mut buf)?;
        Ok(buf)
    }

    /// Overwrites an already-encoded record of the same length.
    pub fn rewrite(&mut self, offset: u64, rec: &[u8]) -> Result<(), StoreError> {
        if offset >= self.written_bytes {
            let from = (offset - self.written_bytes) as usize;
            self.pending[from..from + rec.len()].copy_from_slice(rec);
            return Ok(());
        }
        self.file.write_all_at(rec, offset).ctx(&self.path)?;
        self.dirty = true;
        Ok(())
    }

    pub fn corrupt(&self, offset: u64, reason: &str) -> StoreError {
        StoreError::Corrupt {
            segment: self.path.clone(),
            offset_bytes: offset,
            reason: reason.to_string(),
        }
    }
}
