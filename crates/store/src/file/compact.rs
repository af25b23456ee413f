//! Compaction: a sealed segment whose messages are mostly deleted is
//! rewritten with only what still matters, and the new file replaces the old
//! one atomically.
//!
//! The new file holds, in order: the current first-seq marker; range
//! tombstones for every removed run of the segment's seqs (up to the next
//! segment's first seq); the tombstones and ranges it held about earlier
//! segments that still matter; then its live message records, byte for
//! byte. Ranges come before messages so that if the file is later cut at a
//! record boundary, what is cut off is messages, and recovery reports
//! exactly the live ones as lost.
//!
//! Crash safety: the store is flushed and synced first, so the new file
//! describes durable state; it is written to `<name>.compact`, fsynced,
//! renamed over `<name>`, and the directory fsynced. Nothing else is
//! written. A crash before the rename leaves the old file (the temp file is
//! removed at open); after it, the new one. Both are complete and describe
//! the same messages: removed seqs are removed by the old tombstones (which
//! stay in their files) or by the new ranges, and no live record is copied
//! twice under one name.

use super::FileStore;
use crate::error::IoContext;
use crate::record::{
    self, encode_file_header, FORMAT_VERSION, KIND_FIRST_SEQ, KIND_MSG, KIND_SEGMENT_FILE,
    KIND_TOMBSTONE, SEGMENT_MAGIC,
};
use crate::segment::COMPACT_SUFFIX;
use crate::{CompactReport, Store, StoreError};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::Arc;

/// Rewrite only if the file shrinks to at most 3/4 of its size.
const KEEP_AT_MOST_NUM: u64 = 3;
const KEEP_AT_MOST_DEN: u64 = 4;

/// The new contents of a segment and what changes in memory with it.
struct Plan {
    bytes: Vec<u8>,
    /// (seq, new offset) of every live message.
    moved: Vec<(u64, u32)>,
    tombstones: Vec<u64>,
    ranges: Vec<(u64, u64)>,
}

impl FileStore {
    /// Sealed segments whose live share (by accounted message size) is under
    /// the configured percentage: the one with the most dead bytes. Damaged
    /// segments and segments with lost seqs are kept as they are (evidence).
    fn compaction_candidate(&self) -> Option<usize> {
        let pct = u64::from(self.cfg.compact_live_percent);
        if pct == 0 {
            return None;
        }
        (0..self.segments.len().saturating_sub(1))
            .filter(|&i| {
                let s = &self.segments[i];
                s.live > 0
                    && !s.damaged
                    && u128::from(s.live_size) * 100 < u128::from(s.total_size) * u128::from(pct)
                    && s.compact_skip_live.is_none_or(|at| s.live < at)
                    && !self.has_lost_in(s.first_seq, self.segments[i + 1].first_seq)
            })
            .max_by_key(|&i| {
                let s = &self.segments[i];
                s.total_size.saturating_sub(s.live_size)
            })
    }

    fn has_lost_in(&self, from: u64, to: u64) -> bool {
        self.lost.as_ref().is_some_and(|l| {
            let i = l.msgs.partition_point(|&q| q < from);
            l.msgs.get(i).is_some_and(|&q| q < to)
        })
    }

    /// Rewrites at most one segment (see the module docs).
    pub(super) fn compact_one(&mut self) -> Result<CompactReport, StoreError> {
        self.check_open()?;
        let mut report = CompactReport::default();
        let Some(i) = self.compaction_candidate() else {
            return Ok(report);
        };
        self.flush()?.sync().ctx(&self.dir)?;
        let before = self.segments[i].len_bytes();
        let live = self.segments[i].live;
        match self.plan(i) {
            Ok(Some(plan)) => {
                self.install(i, plan)?;
                report.segments = 1;
                report.bytes_before = before;
                report.bytes_after = self.segments[i].len_bytes();
            }
            Ok(None) => self.segments[i].compact_skip_live = Some(live),
            Err(e) => {
                self.segments[i].compact_skip_live = Some(live);
                return Err(e);
            }
        }
        report.more = self.compaction_candidate().is_some();
        Ok(report)
    }

    /// Builds the new contents of segment `i`, or None if not worth it.
    fn plan(&self, i: usize) -> Result<Option<Plan>, StoreError> {
        let seg = &self.segments[i];
        let end = self.segments[i + 1].first_seq;
        let first = self.table.first_seq;
        let ts = self.table.last_ts_ns;
        debug_assert!(seg.pending.is_empty(), "sealed segments buffer nothing");
        let old_len = seg.len_bytes();
        let mut old = vec![0u8; old_len as usize];
        seg.file.read_exact_at(&mut old, 0).ctx(&seg.path)?;

        let mut out = Vec::with_capacity(old.len() / 2);
        out.extend_from_slice(&encode_file_header(
            SEGMENT_MAGIC,
            KIND_SEGMENT_FILE,
            seg.first_seq,
        ));
        record::encode_marker(&mut out, KIND_FIRST_SEQ, self.marker_seq, ts);

        // Removed runs of this segment's seqs (the marker covers those below
        // the first seq), and the live seqs between them.
        let mut ranges = Vec::new();
        let mut live = Vec::with_capacity(seg.live as usize);
        let mut q = seg.first_seq.max(first);
        while q < end {
            match self.table.next_live(q).filter(|&s| s < end) {
                Some(s) => {
                    if s > q {
                        ranges.push((q, s - 1));
                    }
                    live.push(s);
                    q = s + 1;
                }
                None => {
                    ranges.push((q, end - 1));
                    break;
                }
            }
        }
        for &(a, b) in &ranges {
            record::encode_range(&mut out, a, b, ts);
        }

        // What it holds about earlier segments and still matters.
        for &(a, b) in &seg.ranges {
            let a = a.max(first);
            if !seg.holds(a, end) && a <= b {
                record::encode_range(&mut out, a, b, ts);
                ranges.push((a, b));
            }
        }
        let covering = self.merged_ranges();
        let mut tombstones = Vec::new();
        for &t in &seg.tombstones {
            if !seg.holds(t, end) && self.tombstone_matters(t, &covering) {
                record::encode_marker(&mut out, KIND_TOMBSTONE, t, ts);
                tombstones.push(t);
            }
        }

        let mut moved = Vec::with_capacity(live.len());
        for q in live {
            let Some(slot) = self.table.slot(q) else {
                continue;
            };
            let offset = u64::from(slot.loc);
            let rec = old
                .get(slot.loc as usize..)
                .ok_or_else(|| seg.corrupt(offset, "index points past the end of the segment"))?;
            let v = record::parse(rec).map_err(|e| seg.corrupt(offset, &e.to_string()))?;
            if v.hdr.kind != KIND_MSG || v.hdr.seq != q {
                return Err(seg.corrupt(
                    offset,
                    &format!("index points at seq {} kind {}", v.hdr.seq, v.hdr.kind),
                ));
            }
            moved.push((q, out.len() as u32));
            out.extend_from_slice(&rec[..v.hdr.len as usize]);
        }
        if out.len() as u64 * KEEP_AT_MOST_DEN > old_len * KEEP_AT_MOST_NUM {
            return Ok(None);
        }
        Ok(Some(Plan {
            bytes: out,
            moved,
            tombstones,
            ranges,
        }))
    }

    /// Writes the plan beside segment `i`, syncs it, renames it over the
    /// segment, syncs the directory, then points the index at it.
    fn install(&mut self, i: usize, plan: Plan) -> Result<(), StoreError> {
        let path = self.segments[i].path.clone();
        let mut tmp = path.clone().into_os_string();
        tmp.push(COMPACT_SUFFIX);
        let tmp = PathBuf::from(tmp);
        let written = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .and_then(|mut f| {
                f.write_all(&plan.bytes)?;
                f.sync_all()?;
                Ok(f)
            })
            .and_then(|f| std::fs::rename(&tmp, &path).map(|()| f));
        let file = match written {
            Ok(f) => f,
            Err(e) => {
                // The old segment is untouched; a leftover is removed at open too.
                let _ = std::fs::remove_file(&tmp);
                return Err(StoreError::Io {
                    path: tmp,
                    source: e,
                });
            }
        };
        // Renamed: from now on the new file is the segment, whatever follows.
        let seg = &mut self.segments[i];
        seg.file = Arc::new(file);
        seg.forget_readahead();
        seg.written_bytes = plan.bytes.len() as u64;
        seg.allocated = seg.written_bytes;
        seg.version = FORMAT_VERSION;
        seg.tombstones = plan.tombstones;
        seg.ranges = plan.ranges;
        seg.total_size = seg.live_size;
        seg.dirty = false;
        seg.compact_skip_live = None;
        for (q, loc) in plan.moved {
            self.table.set_loc(q, loc);
        }
        self.dir_file.sync_all().ctx(&self.dir)
    }
}
