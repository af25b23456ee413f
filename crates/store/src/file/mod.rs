//! The file store: segments of checksummed records, the shared `Table` as
//! the in-memory index, tombstones, range tombstones and first-seq markers
//! for removals, compaction, and a snapshot written at clean shutdown. See
//! docs/storage-format.md.

mod compact;
mod open;
mod retire;

pub use open::open_file_store;

use crate::error::IoContext;
use crate::limits;
use crate::memory::validate;
use crate::query::{last_seq_for, next_matching_seq, state_of, subjects_of};
use crate::record::{self, KIND_FIRST_SEQ, KIND_MSG, KIND_TOMBSTONE};
use crate::recovery::Recovered;
use crate::segment::Segment;
use crate::snapshot;
use crate::table::{Removed, Table};
use crate::{
    msg_size, CompactReport, ExpiredMsg, LostData, PurgeRequest, StorageKind, Store, StoreError,
    StoreLimits, StoredMsg, StreamState, SubjectState, SyncBatch,
};
use bytes::Bytes;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct FileStoreConfig {
    /// A segment is sealed once it would grow past this (default 8 MiB).
    pub block_size_bytes: u64,
    /// lz4-compress headers + payload of records where it helps.
    pub compression: bool,
    pub limits: StoreLimits,
    /// Sequence of the first message of a new stream (ignored on reopen).
    pub first_seq: u64,
    /// `compact` rewrites a sealed segment once less than this percentage of
    /// its message bytes is live (default 50; 0 disables compaction).
    pub compact_live_percent: u8,
    /// Grow the active segment file in steps of this many zero bytes ahead
    /// of its records, so each fdatasync need not commit a new file size
    /// (0 = off; capped at `block_size_bytes`). The tail is cut off when the
    /// segment is sealed or the store closes; after a crash the zeros read
    /// as end of log.
    pub preallocate_bytes: u64,
}

impl Default for FileStoreConfig {
    fn default() -> Self {
        Self {
            block_size_bytes: 8 << 20,
            compression: false,
            limits: StoreLimits::default(),
            first_seq: 1,
            compact_live_percent: 50,
            preallocate_bytes: 0,
        }
    }
}

const MIN_BLOCK_BYTES: u64 = 4 << 10;
/// Offsets are u32 in the index.
const MAX_BLOCK_BYTES: u64 = 1 << 30;
/// Hand buffered records to the OS once this much is pending.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

pub struct FileStore {
    dir: PathBuf,
    dir_file: Arc<File>,
    cfg: FileStoreConfig,
    limits: StoreLimits,
    table: Table,
    /// Sorted by `first_seq`; the last one is the active (appended) segment.
    segments: Vec<Segment>,
    /// `first_seq` as last recorded by a marker record (or a segment header).
    marker_seq: u64,
    first_ts_ns: i64,
    /// Seqs removed from the middle during the current operation.
    interior: Vec<u64>,
    unlink: Vec<PathBuf>,
    dir_dirty: bool,
    lost: Option<LostData>,
    scratch: Vec<u8>,
    closed: bool,
}

fn seg_index(segments: &[Segment], seq: u64) -> usize {
    segments
        .partition_point(|s| s.first_seq <= seq)
        .saturating_sub(1)
}

impl FileStore {
    fn new(dir: &Path, dir_file: Arc<File>, cfg: FileStoreConfig, r: Recovered) -> FileStore {
        FileStore {
            dir: dir.to_path_buf(),
            dir_file,
            limits: cfg.limits,
            cfg,
            table: r.table,
            segments: r.segments,
            marker_seq: r.marker_seq,
            first_ts_ns: 0,
            interior: Vec::new(),
            unlink: Vec::new(),
            dir_dirty: false,
            lost: r.lost,
            scratch: Vec::with_capacity(4096),
            closed: false,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Number of segment files currently in use.
    pub fn segment_count(&self) -> usize {
        self.segments.len()
    }

    pub(crate) fn parts(&self) -> (&Table, &[Segment], u64, &StoreLimits, Option<&LostData>) {
        (
            &self.table,
            &self.segments,
            self.marker_seq,
            &self.limits,
            self.lost.as_ref(),
        )
    }

    fn check_open(&self) -> Result<(), StoreError> {
        if self.closed {
            return Err(StoreError::Closed);
        }
        Ok(())
    }

    /// Creates segment `first` as the new active one (not yet in `segments`).
    fn create_segment(&self, first: u64) -> Result<Segment, StoreError> {
        let mut seg = Segment::create(&self.dir, first)?;
        seg.prealloc_step = self.prealloc_step();
        Ok(seg)
    }

    fn prealloc_step(&self) -> u64 {
        self.cfg.preallocate_bytes.min(self.cfg.block_size_bytes)
    }

    fn active(&mut self) -> &mut Segment {
        let last = self.segments.len() - 1;
        &mut self.segments[last]
    }

    /// Appends the record in `scratch` to the active segment.
    fn write_scratch(&mut self) -> Result<u64, StoreError> {
        let last = self.segments.len() - 1;
        let seg = &mut self.segments[last];
        let at = seg.append(&self.scratch);
        if seg.pending.len() >= WRITE_BUFFER_BYTES {
            seg.write_out()?;
        }
        Ok(at)
    }

    fn write_marker(&mut self, kind: u8, seq: u64) -> Result<(), StoreError> {
        self.scratch.clear();
        record::encode_marker(&mut self.scratch, kind, seq, self.table.last_ts_ns);
        self.write_scratch()?;
        if kind == KIND_TOMBSTONE {
            self.active().tombstones.push(seq);
        } else {
            self.marker_seq = seq;
        }
        Ok(())
    }

    /// Per-segment live counts and sizes from the table (after recovery).
    fn recount_live(&mut self) {
        for s in &mut self.segments {
            s.live = 0;
            s.live_size = 0;
        }
        let first = self.table.first_seq;
        let mut i = 0;
        for (k, slot) in self.table.slots().iter().enumerate() {
            if !slot.is_live() {
                continue;
            }
            let seq = first + k as u64;
            while i + 1 < self.segments.len() && self.segments[i + 1].first_seq <= seq {
                i += 1;
            }
            self.segments[i].live += 1;
            self.segments[i].live_size += u64::from(slot.size);
        }
        for s in &mut self.segments {
            // Never below the live part, whatever the source: the ratio the
            // compaction policy uses stays within 0..=1.
            s.total_size = s.total_size.max(s.live_size);
        }
    }

    /// Finishes a mutating operation: tombstones for interior removals, an
    /// optional first-seq marker, removal of emptied segments.
    fn after_removals(&mut self, marker_now: bool) -> Result<(), StoreError> {
        let first = self.table.first_seq;
        let interior = std::mem::take(&mut self.interior);
        for &seq in &interior {
            if seq >= first {
                self.write_marker(KIND_TOMBSTONE, seq)?;
            }
        }
        self.interior = interior;
        self.interior.clear();
        if marker_now && first > self.marker_seq {
            self.write_marker(KIND_FIRST_SEQ, first)?;
        }
        self.retire_dead();
        self.table.fix_stale();
        self.refresh_first_ts();
        #[cfg(debug_assertions)]
        if self.table.msgs < 4096 {
            self.table.check_invariants();
        }
        Ok(())
    }

    fn refresh_first_ts(&mut self) {
        let first = self.table.first_seq;
        self.first_ts_ns = self.read_ts(first).unwrap_or(0);
    }

    fn read_ts(&self, seq: u64) -> Result<i64, StoreError> {
        let Some(slot) = self.table.slot(seq) else {
            return Ok(0);
        };
        let seg = &self.segments[seg_index(&self.segments, seq)];
        let mut hdr = [0u8; 24];
        seg.read_at(u64::from(slot.loc), &mut hdr)?;
        Ok(record::u64_at(&hdr, 16) as i64)
    }

    fn read_msg(&self, seq: u64) -> Result<Option<StoredMsg>, StoreError> {
        let Some(slot) = self.table.slot(seq) else {
            return Ok(None);
        };
        let seg = &self.segments[seg_index(&self.segments, seq)];
        let offset = u64::from(slot.loc);
        let backing = seg.read_record_shared(offset)?;
        let view = record::parse(&backing).map_err(|e| seg.corrupt(offset, &e.to_string()))?;
        if view.hdr.kind != KIND_MSG || view.hdr.seq != seq {
            return Err(seg.corrupt(
                offset,
                &format!(
                    "index points at seq {} kind {}",
                    view.hdr.seq, view.hdr.kind
                ),
            ));
        }
        let (headers, payload) =
            record::body_parts(&view, &backing).map_err(|e| seg.corrupt(offset, &e.to_string()))?;
        Ok(Some(StoredMsg {
            seq,
            ts_ns: view.hdr.ts_ns,
            subject: self.table.subjects.name(slot.subj).clone(),
            headers,
            payload,
        }))
    }

    fn erase(&mut self, seq: u64) -> Result<(), StoreError> {
        let Some(slot) = self.table.slot(seq) else {
            return Ok(());
        };
        let i = seg_index(&self.segments, seq);
        let offset = u64::from(slot.loc);
        let mut rec = self.segments[i].read_record(offset)?;
        let seg = &mut self.segments[i];
        record::erase_in_place(&mut rec).map_err(|e| seg.corrupt(offset, &e.to_string()))?;
        seg.rewrite(offset, &rec)
    }
}

/// Sink used by mutating operations: keeps segment live counts and notes
/// interior removals (which need tombstones).
fn removal_sink<'a>(
    segments: &'a mut [Segment],
    interior: &'a mut Vec<u64>,
) -> impl FnMut(Removed) + 'a {
    move |r: Removed| {
        if r.seq == 0 {
            // Everything went at once.
            for s in segments.iter_mut() {
                s.live = 0;
                s.live_size = 0;
            }
            return;
        }
        let i = seg_index(segments, r.seq);
        debug_assert!(segments[i].live > 0);
        segments[i].live = segments[i].live.saturating_sub(1);
        segments[i].live_size = segments[i].live_size.saturating_sub(u64::from(r.size));
        if !r.was_first {
            interior.push(r.seq);
        }
    }
}

impl Store for FileStore {
    fn kind(&self) -> StorageKind {
        StorageKind::File
    }

    fn append(
        &mut self,
        subject: &[u8],
        headers: &[u8],
        payload: &[u8],
        ts_ns: i64,
        ttl_ns: Option<i64>,
    ) -> Result<u64, StoreError> {
        self.check_open()?;
        validate(subject, headers, payload)?;
        let seq = self.table.last_seq + 1;
        self.scratch.clear();
        let rec_len = record::encode_msg(
            &mut self.scratch,
            seq,
            ts_ns,
            ttl_ns,
            subject,
            headers,
            payload,
            self.cfg.compression,
        ) as u64;
        let active = self.segments.len() - 1;
        // A segment holding no message yet (only markers) is not sealed: the
        // new one would need its name.
        if self.segments[active].has_records()
            && self.segments[active].first_seq < seq
            && self.segments[active].len_bytes() + rec_len > self.cfg.block_size_bytes
        {
            // Sealed: it is never appended to again, so it ends at its last
            // record and its write buffer goes.
            self.segments[active].trim()?;
            self.segments[active].pending = Vec::new();
            let next = self.create_segment(seq)?;
            self.segments.push(next);
            self.dir_dirty = true;
        }
        let offset = self.write_scratch()?;
        debug_assert!(offset <= u64::from(u32::MAX));
        let size = msg_size(subject.len(), headers.len(), payload.len()) as u32;
        let seg = self.active();
        seg.live += 1;
        seg.live_size += u64::from(size);
        seg.total_size += u64::from(size);
        self.table
            .push(seq, subject, size, offset as u32, ts_ns, ttl_ns);
        {
            let mut sink = removal_sink(&mut self.segments, &mut self.interior);
            limits::enforce_after_append(&mut self.table, &self.limits, subject, &mut sink);
        }
        // Front removals by limits are covered by the marker `flush` writes.
        self.after_removals(false)?;
        Ok(seq)
    }

    fn flush(&mut self) -> Result<SyncBatch, StoreError> {
        self.check_open()?;
        if self.table.first_seq > self.marker_seq {
            let first = self.table.first_seq;
            self.write_marker(KIND_FIRST_SEQ, first)?;
        }
        self.active().write_out()?;
        let mut batch = SyncBatch::default();
        for s in &mut self.segments {
            if s.dirty {
                s.dirty = false;
                batch.files.push(s.file.clone());
            }
        }
        batch.unlink = std::mem::take(&mut self.unlink);
        if std::mem::take(&mut self.dir_dirty) || !batch.unlink.is_empty() {
            batch.dir = Some(self.dir_file.clone());
        }
        Ok(batch)
    }

    fn get(&self, seq: u64) -> Result<Option<StoredMsg>, StoreError> {
        self.read_msg(seq)
    }

    fn next_matching(
        &self,
        start: u64,
        filter: Option<&[u8]>,
    ) -> Result<Option<StoredMsg>, StoreError> {
        match next_matching_seq(&self.table, start, filter) {
            Some(seq) => self.read_msg(seq),
            None => Ok(None),
        }
    }

    fn last_for_subject(&self, filter: &[u8]) -> Result<Option<StoredMsg>, StoreError> {
        match last_seq_for(&self.table, filter) {
            Some(seq) => self.read_msg(seq),
            None => Ok(None),
        }
    }

    fn delete(&mut self, seq: u64, erase: bool) -> Result<bool, StoreError> {
        self.check_open()?;
        if self.table.slot(seq).is_none() {
            return Ok(false);
        }
        if erase {
            self.erase(seq)?;
        }
        {
            let mut sink = removal_sink(&mut self.segments, &mut self.interior);
            self.table.remove(seq, &mut sink);
        }
        self.after_removals(true)?;
        Ok(true)
    }

    fn purge(&mut self, req: &PurgeRequest) -> Result<u64, StoreError> {
        self.check_open()?;
        let n = {
            let mut sink = removal_sink(&mut self.segments, &mut self.interior);
            limits::purge(&mut self.table, req, &mut sink)?
        };
        self.after_removals(true)?;
        Ok(n)
    }

    fn expire(&mut self, now_ns: i64) -> Result<Vec<ExpiredMsg>, StoreError> {
        self.check_open()?;
        // Timestamps are read from the segments while removals are noted;
        // segment bookkeeping is applied afterwards.
        let mut removed: Vec<(u64, bool, u32)> = Vec::new();
        let out = {
            let segments = &self.segments;
            let mut ts_of = |t: &Table, seq: u64| -> Result<i64, StoreError> {
                let Some(slot) = t.slot(seq) else {
                    return Ok(i64::MIN);
                };
                let seg = &segments[seg_index(segments, seq)];
                let mut hdr = [0u8; 24];
                seg.read_at(u64::from(slot.loc), &mut hdr)?;
                Ok(record::u64_at(&hdr, 16) as i64)
            };
            let mut headers_of = |t: &Table, seq: u64| -> Result<Bytes, StoreError> {
                let Some(slot) = t.slot(seq) else {
                    return Ok(Bytes::new());
                };
                let seg = &segments[seg_index(segments, seq)];
                let offset = u64::from(slot.loc);
                let backing = Bytes::from(seg.read_record(offset)?);
                let view =
                    record::parse(&backing).map_err(|e| seg.corrupt(offset, &e.to_string()))?;
                let (headers, _) = record::body_parts(&view, &backing)
                    .map_err(|e| seg.corrupt(offset, &e.to_string()))?;
                Ok(headers)
            };
            let mut sink = |r: Removed| removed.push((r.seq, r.was_first, r.size));
            limits::expire(
                &mut self.table,
                &self.limits,
                now_ns,
                &mut ts_of,
                &mut headers_of,
                &mut sink,
            )?
        };
        {
            let mut sink = removal_sink(&mut self.segments, &mut self.interior);
            for (seq, was_first, size) in removed {
                sink(Removed {
                    seq,
                    subject: Bytes::new(),
                    loc: 0,
                    size,
                    was_first,
                });
            }
        }
        self.after_removals(true)?;
        Ok(out)
    }

    fn next_expiry_ns(&self) -> Option<i64> {
        let first_ts = (self.table.msgs > 0).then_some(self.first_ts_ns);
        limits::next_expiry(&self.table, &self.limits, first_ts)
    }

    fn set_limits(&mut self, limits: StoreLimits) -> Result<(), StoreError> {
        self.check_open()?;
        self.limits = limits;
        {
            let mut sink = removal_sink(&mut self.segments, &mut self.interior);
            limits::enforce_all(&mut self.table, &self.limits, &mut sink);
        }
        self.after_removals(true)
    }

    fn limits(&self) -> StoreLimits {
        self.limits
    }

    fn state(&self) -> StreamState {
        state_of(&self.table, self.first_ts_ns, self.lost.as_ref())
    }

    fn deleted(&self) -> Vec<u64> {
        self.table.deleted()
    }

    fn subjects(&self, filter: &[u8]) -> Vec<(Bytes, u64)> {
        subjects_of(&self.table, filter)
    }

    fn num_pending(&self, start: u64, filter: Option<&[u8]>) -> u64 {
        crate::query::num_pending(&self.table, start, filter)
    }

    fn last_seqs_per_subject(&self, filters: &[&[u8]], up_to_seq: u64) -> Vec<u64> {
        crate::query::last_seqs_per_subject(&self.table, filters, up_to_seq)
    }

    fn subject_state(&self, subject: &[u8]) -> Option<SubjectState> {
        self.table.subject_state(subject)
    }

    fn compact(&mut self) -> Result<CompactReport, StoreError> {
        self.compact_one()
    }

    fn close(&mut self) -> Result<(), StoreError> {
        if self.closed {
            return Ok(());
        }
        let mut batch = self.flush()?;
        // The snapshot records file lengths: they must end at the last record.
        self.active().trim()?;
        batch.merge(self.flush()?);
        batch.sync().ctx(&self.dir)?;
        snapshot::write(self)?;
        self.closed = true;
        Ok(())
    }
}
