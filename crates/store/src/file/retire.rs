//! Retiring sealed segments whose messages are all gone, and the range
//! tombstones that let recovery tell the gaps they leave from lost data.

use super::FileStore;
use crate::ranges::{covered, merge, runs_without};
use crate::record::{self, KIND_FIRST_SEQ, KIND_TOMBSTONE, RANGES_SINCE_VERSION};
use crate::StoreError;

impl FileStore {
    /// Retires every sealed segment with no live messages. Waits while the
    /// active segment is version 1: the range tombstones need a home.
    pub(super) fn retire_dead(&mut self) {
        if self
            .segments
            .last()
            .is_none_or(|a| a.version < RANGES_SINCE_VERSION)
        {
            return;
        }
        let mut i = self.segments.len().saturating_sub(1);
        while i > 0 {
            i -= 1;
            if self.segments[i].live == 0 {
                if let Err(e) = self.retire(i) {
                    tracing::warn!(error = %e, "could not retire segment; it stays until the next attempt");
                }
            }
        }
    }

    /// Drops sealed segment `i`. A range tombstone records that its seqs were
    /// removed (so recovery does not take the gap for lost data); its own
    /// records that still matter are re-written to the active segment, plus
    /// a fresh first-seq marker. The file is unlinked by the next
    /// `SyncBatch::sync`, after those are durable.
    fn retire(&mut self, i: usize) -> Result<(), StoreError> {
        debug_assert!(
            i + 1 < self.segments.len(),
            "the active segment is never retired"
        );
        debug_assert_eq!(self.segments[i].live, 0);
        let end = self.segments[i + 1].first_seq;
        let seg = self.segments.remove(i);
        let first = self.table.first_seq;
        // Below the first seq the marker covers everything already.
        self.write_removed_range(seg.first_seq.max(first), end)?;
        for &(a, b) in &seg.ranges {
            // Its own ranges are covered by the one just written; ranges of
            // earlier segments matter while above the first seq.
            let a = a.max(first);
            if !seg.holds(a, end) && a <= b {
                self.write_range(a, b)?;
            }
        }
        let ranges = if seg.tombstones.is_empty() {
            Vec::new()
        } else {
            self.merged_ranges()
        };
        for &t in &seg.tombstones {
            if !seg.holds(t, end) && self.tombstone_matters(t, &ranges) {
                self.write_marker(KIND_TOMBSTONE, t)?;
            }
        }
        self.write_marker(KIND_FIRST_SEQ, first)?;
        self.unlink.push(seg.path);
        self.dir_dirty = true;
        Ok(())
    }

    /// Writes range tombstones for `from..to` (exclusive end), leaving out
    /// seqs reported lost so that a later scan still reports them.
    fn write_removed_range(&mut self, from: u64, to: u64) -> Result<(), StoreError> {
        let no_lost = Vec::new();
        let lost = self.lost.as_ref().map_or(&no_lost, |l| &l.msgs);
        for (a, b) in runs_without(from, to, lost) {
            self.write_range(a, b)?;
        }
        Ok(())
    }

    fn write_range(&mut self, from: u64, to: u64) -> Result<(), StoreError> {
        debug_assert!(self.active().version >= RANGES_SINCE_VERSION);
        self.scratch.clear();
        record::encode_range(&mut self.scratch, from, to, self.table.last_ts_ns);
        self.write_scratch()?;
        self.active().ranges.push((from, to));
        Ok(())
    }

    /// Every range tombstone held by a segment in use, merged.
    pub(super) fn merged_ranges(&self) -> Vec<(u64, u64)> {
        merge(
            self.segments
                .iter()
                .flat_map(|s| s.ranges.iter().copied())
                .collect(),
        )
    }

    /// Whether tombstone `t`, held by a segment going away, must be written
    /// again: its message is still deleted and no range tombstone covers it.
    pub(super) fn tombstone_matters(&self, t: u64, ranges: &[(u64, u64)]) -> bool {
        t >= self.table.first_seq
            && t <= self.table.last_seq
            && self.table.slot(t).is_none()
            && covered(ranges, t).is_none()
    }
}
