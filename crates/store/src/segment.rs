//! One segment file: `<first seq, 20 digits>.blk`, a file header, then
//! records. Only the last (active) segment is appended to; appends are
//! buffered in `pending` and handed to the OS in large writes.

use crate::error::IoContext;
use crate::record::{
    self, encode_file_header, FILE_HEADER_BYTES, FORMAT_VERSION, KIND_SEGMENT_FILE, SEGMENT_MAGIC,
};
use crate::StoreError;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

pub(crate) const SEGMENT_EXT: &str = "blk";
/// `<segment name>` + this: a compacted copy being written; renamed over
/// the segment once complete and synced.
pub(crate) const COMPACT_SUFFIX: &str = ".compact";

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
    /// Format version of the file header (range tombstones need 2).
    pub version: u16,
    pub path: PathBuf,
    pub file: Arc<File>,
    /// Bytes already handed to the OS: the logical end of the file's records.
    pub written_bytes: u64,
    /// Size of the file on disk: beyond `written_bytes` only while the
    /// active segment is preallocated (zeros, which read as end of log).
    pub allocated: u64,
    /// Preallocation step (0 = none); set on the active segment only.
    pub prealloc_step: u64,
    /// Encoded records not yet written (active segment only).
    pub pending: Vec<u8>,
    /// Live messages stored in this segment.
    pub live: u64,
    /// Accounted size (`msg_size`) of the live messages, and of every
    /// message record in the file (live or not): their ratio estimates the
    /// share of the file that compaction would keep.
    pub live_size: u64,
    pub total_size: u64,
    /// Seqs whose tombstone records live in this segment (carried to the
    /// active segment if this one is removed while they still matter).
    pub tombstones: Vec<u64>,
    /// Range tombstones (inclusive) whose records live in this segment.
    pub ranges: Vec<(u64, u64)>,
    /// Written (or rewritten) since the last flush: needs fdatasync.
    pub dirty: bool,
    /// Compaction was declined at this live count (no worthwhile gain, or a
    /// record failed to read); not retried until more of it is deleted.
    pub compact_skip_live: Option<u64>,
    /// Recovery found damage here: kept as evidence, never compacted.
    pub damaged: bool,
    /// The last block read from disk, so a consumer reading forward costs one `pread` per
    /// block, not two per message. Only bytes below `written_bytes`, which change only by
    /// `rewrite` (erase), which clears it.
    readahead: Mutex<Option<(u64, Bytes)>>,
    /// Where the last read ended: a read starting there (or a little past it) is part of a
    /// forward scan and gets a whole read-ahead block; any other read (a KV get) reads only a
    /// small one.
    last_read_end: AtomicU64,
}

/// Bytes read from disk at once by a forward scan when a record is not in the read-ahead block.
const READAHEAD_BYTES: usize = 64 * 1024;
/// How far past the last read a read may start and still count as a forward scan.
const FORWARD_GAP_BYTES: u64 = 16 * 1024;
/// Bytes read at once for a lone (random) read: most records fit, and a larger record costs
/// a second, exact read.
const POINT_READ_BYTES: usize = 4 * 1024;

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
            dirty: true,
            pending,
            ..Segment::with_file(path, file, first_seq, FORMAT_VERSION, 0)
        })
    }

    /// Opens an existing segment whose valid data ends at `len_bytes`.
    pub fn open(
        path: PathBuf,
        first_seq: u64,
        version: u16,
        len_bytes: u64,
    ) -> Result<Segment, StoreError> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .ctx(&path)?;
        Ok(Segment::with_file(
            path, file, first_seq, version, len_bytes,
        ))
    }

    pub fn with_file(
        path: PathBuf,
        file: File,
        first_seq: u64,
        version: u16,
        len_bytes: u64,
    ) -> Segment {
        Segment {
            first_seq,
            version,
            path,
            file: Arc::new(file),
            written_bytes: len_bytes,
            allocated: len_bytes,
            prealloc_step: 0,
            pending: Vec::new(),
            live: 0,
            live_size: 0,
            total_size: 0,
            tombstones: Vec::new(),
            ranges: Vec::new(),
            dirty: false,
            compact_skip_live: None,
            damaged: false,
            readahead: Mutex::new(None),
            last_read_end: AtomicU64::new(u64::MAX),
        }
    }

    /// Empties the file and starts it over with a current-version header
    /// (buffered): for a segment that holds no records.
    pub fn reinit(&mut self) -> Result<(), StoreError> {
        self.file.set_len(0).ctx(&self.path)?;
        self.written_bytes = 0;
        self.allocated = 0;
        self.pending.clear();
        self.pending.extend_from_slice(&encode_file_header(
            SEGMENT_MAGIC,
            KIND_SEGMENT_FILE,
            self.first_seq,
        ));
        self.version = FORMAT_VERSION;
        self.tombstones.clear();
        self.ranges.clear();
        self.total_size = 0;
        self.dirty = true;
        Ok(())
    }

    /// Seqs this segment's messages may have: `first_seq..end` where `end`
    /// is the next segment's first seq.
    pub fn holds(&self, seq: u64, end: u64) -> bool {
        seq >= self.first_seq && seq < end
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

    /// Hands `pending` to the OS (no fsync), preallocating ahead of it.
    pub fn write_out(&mut self) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let end = self.written_bytes + self.pending.len() as u64;
        if self.prealloc_step > 0 && end > self.allocated {
            self.preallocate(end);
        }
        self.file
            .write_all_at(&self.pending, self.written_bytes)
            .ctx(&self.path)?;
        self.written_bytes = end;
        self.allocated = self.allocated.max(end);
        self.pending.clear();
        self.dirty = true;
        Ok(())
    }

    /// Extends the file with zeros to the next step past `end`, so later
    /// fdatasyncs overwrite allocated blocks instead of growing the file (no
    /// size or allocation metadata to commit each time). Best effort: on any
    /// error the segment just stops preallocating; writes surface real errors.
    fn preallocate(&mut self, end: u64) {
        let step = self.prealloc_step;
        let target = end.div_ceil(step) * step;
        match fallocate(&self.file, self.allocated, target - self.allocated) {
            Ok(()) => self.allocated = target,
            Err(e) => {
                tracing::debug!(segment = %self.path.display(), error = %e, "preallocation off for this segment");
                self.prealloc_step = 0;
            }
        }
    }

    /// Cuts a preallocated tail off (when the segment is sealed or the store
    /// closes), so the file ends at its last record again.
    pub fn trim(&mut self) -> Result<(), StoreError> {
        self.prealloc_step = 0;
        self.write_out()?;
        if self.allocated > self.written_bytes {
            self.file.set_len(self.written_bytes).ctx(&self.path)?;
            self.allocated = self.written_bytes;
            self.dirty = true;
        }
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

    /// Drops the read-ahead block: the bytes on disk changed (erase, compaction).
    pub fn forget_readahead(&self) {
        if let Ok(mut slot) = self.readahead.lock() {
            *slot = None;
        }
    }

    /// The whole record at `offset`, from the read-ahead block when it holds it.
    pub fn read_record_shared(&self, offset: u64) -> Result<Bytes, StoreError> {
        if offset >= self.written_bytes {
            return self.read_record(offset).map(Bytes::from);
        }
        let cached = self.readahead.lock().ok().and_then(|b| b.clone());
        let sequential = match &cached {
            Some((at, block)) => {
                if let Some(rec) = record_in(block, *at, offset) {
                    self.note_read(offset, rec.len());
                    return Ok(rec);
                }
                offset == at + block.len() as u64
            }
            None => false,
        } || self.continues_forward(offset);
        let limit = if sequential {
            READAHEAD_BYTES
        } else {
            POINT_READ_BYTES
        };
        let want = (self.written_bytes - offset).min(limit as u64) as usize;
        let mut block = vec![0u8; want];
        self.file
            .read_exact_at(&mut block, offset)
            .ctx(&self.path)?;
        let block = Bytes::from(block);
        let rec = match record_in(&block, offset, offset) {
            Some(rec) => {
                if sequential {
                    if let Ok(mut slot) = self.readahead.lock() {
                        *slot = Some((offset, block));
                    }
                }
                rec
            }
            // Larger than the block (or damaged: the exact read reports it).
            None => Bytes::from(self.read_record(offset)?),
        };
        self.note_read(offset, rec.len());
        Ok(rec)
    }

    /// A read at or a little past where the last one ended: a forward scan, possibly skipping
    /// records (a filtered consumer), which a read-ahead block serves.
    fn continues_forward(&self, offset: u64) -> bool {
        offset
            .checked_sub(self.last_read_end.load(Ordering::Relaxed))
            .is_some_and(|gap| gap <= FORWARD_GAP_BYTES)
    }

    fn note_read(&self, offset: u64, len: usize) {
        self.last_read_end
            .store(offset + len as u64, Ordering::Relaxed);
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
        self.forget_readahead();
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

#[cfg(target_os = "linux")]
fn fallocate(file: &File, offset: u64, len: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return Err(std::io::ErrorKind::InvalidInput.into());
    };
    // SAFETY: fallocate(2) takes an open descriptor (borrowed from `file`,
    // alive for the call) and plain integers; no memory is shared.
    let rc = unsafe { libc::fallocate(file.as_raw_fd(), PREALLOC_MODE, offset, len) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// 0: extend the file size too (writes then change no size metadata).
#[cfg(target_os = "linux")]
const PREALLOC_MODE: libc::c_int = 0;

#[cfg(not(target_os = "linux"))]
fn fallocate(_file: &File, _offset: u64, _len: u64) -> std::io::Result<()> {
    Err(std::io::ErrorKind::Unsupported.into())
}

/// The record at `offset` if the block read at `block_at` holds all of it.
fn record_in(block: &Bytes, block_at: u64, offset: u64) -> Option<Bytes> {
    let start = usize::try_from(offset.checked_sub(block_at)?).ok()?;
    let len_bytes: [u8; 4] = block.get(start..start + 4)?.try_into().ok()?;
    let len = record::peek_len(&len_bytes).ok()?;
    (start + len <= block.len()).then(|| block.slice(start..start + len))
}
