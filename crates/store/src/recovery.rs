//! Crash recovery: rebuild the index by scanning every segment.
//!
//! Each segment is read with one large sequential read into a reused buffer
//! and parsed in place (no per-record allocation). Every record's checksum
//! is verified. A torn tail of the last segment is truncated; a damaged
//! region anywhere else is reported, and scanning re-synchronises on the
//! next valid record so intact records after it are kept.
//!
//! A sealed segment must hold every seq up to the next segment's first one
//! unless they were removed on purpose. Such gaps are settled once every
//! segment is read: seqs below the first-seq marker, named by a tombstone or
//! inside a range tombstone (written when a segment is retired or compacted)
//! were removed; the rest were written and are lost (e.g. a sealed segment
//! cut at a record boundary).

use crate::error::IoContext;
use crate::ranges::{covered, merge};
use crate::record::{
    self, RecordError, RecordView, FILE_HEADER_BYTES, FLAG_ERASED, FORMAT_VERSION, KIND_FIRST_SEQ,
    KIND_MSG, KIND_RANGE, KIND_SEGMENT_FILE, KIND_TOMBSTONE, MIN_RECORD_BYTES,
    RANGES_SINCE_VERSION, SEGMENT_MAGIC,
};
use crate::segment::Segment;
use crate::table::Table;
use crate::{msg_size, CorruptRange, LostData, RecoveryReport, StoreError};
use std::fs::OpenOptions;
use std::io::Read;
use std::path::PathBuf;

pub(crate) struct Recovered {
    pub table: Table,
    pub segments: Vec<Segment>,
    pub marker_seq: u64,
    pub lost: Option<LostData>,
}

struct Scan<'r> {
    table: Table,
    marker_seq: u64,
    lost_msgs: Vec<u64>,
    lost_bytes: u64,
    /// Index into `report.corrupt` of a damaged region whose lost seqs are
    /// settled by the next message record (or segment boundary).
    open_gap: Option<usize>,
    /// Every seq named by a tombstone, and every range tombstone, seen.
    tombstoned: Vec<u64>,
    ranges: Vec<(u64, u64)>,
    /// Seqs missing at the end of a sealed segment (from, to, segment index),
    /// settled against the removals once every segment is read.
    gaps: Vec<(u64, u64, usize)>,
    report: &'r mut RecoveryReport,
}

impl Scan<'_> {
    /// Called where a segment starting at `next_first` begins; `prev` is the
    /// sealed segment before it and its index.
    fn boundary(&mut self, next_first: u64, prev: Option<(&Segment, usize)>) {
        let from = self.table.last_seq + 1;
        // Version 1 segments predate range tombstones: their gaps cannot be
        // told apart from retired segments, so they are not checked.
        if let Some((seg, idx)) = prev {
            if self.open_gap.is_none() && next_first > from && seg.version >= RANGES_SINCE_VERSION {
                self.gaps.push((from, next_first - 1, idx));
            }
        }
        // Damage at the end of the previous segment lost every seq up to here.
        self.close_gap(next_first);
        // Never hand out a seq below the next segment's first one again.
        if next_first > self.table.last_seq + 1 {
            let ts = self.table.last_ts_ns;
            self.table.skip_seq(next_first - 1, ts);
        }
    }

    fn close_gap(&mut self, next_seq: u64) {
        if let Some(ci) = self.open_gap.take() {
            let from = self.table.last_seq + 1;
            if next_seq > from {
                let to = next_seq - 1;
                // A range may already start at the damaged record's own seq.
                let start = self.report.corrupt[ci]
                    .seqs
                    .map_or(from, |(a, _)| a.min(from));
                self.report.corrupt[ci].seqs = Some((start, to));
                self.lost_msgs.extend(from..=to);
            }
        }
    }

    fn apply(
        &mut self,
        v: &RecordView<'_>,
        offset: u64,
        seg: &mut Segment,
        path: &std::path::Path,
    ) {
        self.report.scanned_records += 1;
        let h = v.hdr;
        match h.kind {
            KIND_MSG => {
                if h.seq <= self.table.last_seq {
                    seg.damaged = true;
                    self.report.corrupt.push(CorruptRange {
                        segment: path.to_path_buf(),
                        offset_bytes: offset,
                        len_bytes: u64::from(h.len),
                        seqs: None,
                        reason: format!("message seq {} not after {}", h.seq, self.table.last_seq),
                    });
                    return;
                }
                self.close_gap(h.seq);
                // Header lengths survive erase, so this is the size it had.
                let size = msg_size(
                    h.subject_len as usize,
                    h.headers_len as usize,
                    h.payload_len as usize,
                ) as u32;
                seg.total_size += u64::from(size);
                if h.flags & FLAG_ERASED != 0 || v.subject.is_empty() {
                    self.table.skip_seq(h.seq, h.ts_ns);
                    return;
                }
                self.table
                    .push(h.seq, v.subject, size, offset as u32, h.ts_ns, h.ttl_ns);
                seg.live += 1;
            }
            KIND_TOMBSTONE => {
                self.table.remove(h.seq, &mut |_| {});
                seg.tombstones.push(h.seq);
                self.tombstoned.push(h.seq);
            }
            KIND_RANGE => {
                let end = record::range_end(v);
                self.table.remove_range(h.seq, end, &mut |_| {});
                seg.ranges.push((h.seq, end));
                self.ranges.push((h.seq, end));
            }
            KIND_FIRST_SEQ => {
                self.table.remove_below(h.seq, &mut |_| {});
                self.marker_seq = self.marker_seq.max(h.seq);
            }
            _ => {}
        }
    }
}

/// Finds the next offset >= `from` holding a record that validates.
fn resync(buf: &[u8], from: usize, last_seq: u64) -> Option<usize> {
    let mut p = from;
    while p + MIN_RECORD_BYTES <= buf.len() {
        // Cheap filters before the checksum: plausible length and kind.
        let len = record::u32_at(buf, p) as usize;
        if len >= MIN_RECORD_BYTES && p + len <= buf.len() && record::is_known_kind(buf[p + 4]) {
            if let Ok(v) = record::parse(&buf[p..]) {
                // A message must move forward; anything else is an old
                // record embedded in a payload.
                if v.hdr.kind != KIND_MSG || v.hdr.seq > last_seq {
                    return Some(p);
                }
            }
        }
        p += 1;
    }
    None
}

pub(crate) fn scan(
    files: &[(u64, PathBuf, u64)],
    report: &mut RecoveryReport,
) -> Result<Recovered, StoreError> {
    let first = files.first().map_or(1, |f| f.0);
    let mut s = Scan {
        table: Table::new(first),
        marker_seq: first,
        lost_msgs: Vec::new(),
        lost_bytes: 0,
        open_gap: None,
        tombstoned: Vec::new(),
        ranges: Vec::new(),
        gaps: Vec::new(),
        report,
    };
    let mut segments = Vec::with_capacity(files.len());
    let mut buf: Vec<u8> = Vec::new();
    for (idx, (name_seq, path, _)) in files.iter().enumerate() {
        let is_last = idx + 1 == files.len();
        buf.clear();
        let mut f = OpenOptions::new().read(true).open(path).ctx(path)?;
        f.read_to_end(&mut buf).ctx(path)?;
        drop(f);
        let prev = segments.last().map(|p| (p, idx - 1));
        let header = match record::decode_file_header(&buf, SEGMENT_MAGIC, KIND_SEGMENT_FILE) {
            Ok(h) => h,
            Err(_) if is_last && buf.len() < FILE_HEADER_BYTES => {
                // Created but its header never reached the disk: nothing in it.
                let mut seg = Segment::open(path.clone(), *name_seq, FORMAT_VERSION, 0)?;
                seg.reinit()?;
                s.report.truncated_bytes += buf.len() as u64;
                s.boundary(*name_seq, prev);
                segments.push(seg);
                continue;
            }
            Err(reason) => {
                return Err(StoreError::Inconsistent {
                    path: path.clone(),
                    reason,
                })
            }
        };
        let header_first = header.first_seq;
        if header_first != *name_seq {
            return Err(StoreError::Inconsistent {
                path: path.clone(),
                reason: format!("header says first seq {header_first}, file name says {name_seq}"),
            });
        }
        if header_first <= s.table.last_seq {
            return Err(StoreError::Inconsistent {
                path: path.clone(),
                reason: format!(
                    "segment starts at {header_first} but seq {} was already seen",
                    s.table.last_seq
                ),
            });
        }
        s.boundary(header_first, prev);
        let mut seg = Segment::open(path.clone(), header_first, header.version, buf.len() as u64)?;
        let mut pos = FILE_HEADER_BYTES;
        while pos < buf.len() {
            match record::parse(&buf[pos..]) {
                Ok(v) => {
                    let len = v.hdr.len as usize;
                    s.apply(&v, pos as u64, &mut seg, path);
                    pos += len;
                }
                Err(err) => {
                    let tail = &buf[pos..];
                    // Zeros to the end: the log ends here (a preallocated tail,
                    // or blocks never written); no record has length 0. Version 1
                    // files were never preallocated, so in a sealed one that is
                    // damage, handled below.
                    let zeros = tail.iter().all(|&b| b == 0);
                    if zeros && (is_last || seg.version >= RANGES_SINCE_VERSION) {
                        seg.written_bytes = pos as u64;
                        if !is_last {
                            // Sealing cuts the tail; a crash came first.
                            seg.file.set_len(pos as u64).ctx(path)?;
                            seg.allocated = pos as u64;
                            seg.dirty = true;
                        }
                        break;
                    }
                    if let Some(next) = resync(&buf, pos + 1, s.table.last_seq) {
                        seg.damaged = true;
                        s.report.corrupt.push(CorruptRange {
                            segment: path.clone(),
                            offset_bytes: pos as u64,
                            len_bytes: (next - pos) as u64,
                            seqs: None,
                            reason: err.to_string(),
                        });
                        s.lost_bytes += (next - pos) as u64;
                        s.open_gap = Some(s.report.corrupt.len() - 1);
                        pos = next;
                        continue;
                    }
                    // Judged as if the file ended at its last non-zero byte:
                    // with preallocation, a write that never completed runs
                    // into zeros instead of past the end of the file.
                    let data_end = buf.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                    let torn = err == RecordError::Truncated
                        || zeros
                        || (pos < data_end
                            && record::parse(&buf[pos..data_end]).err()
                                == Some(RecordError::Truncated));
                    if is_last && torn {
                        // A write that never completed (and was never synced);
                        // zeros after it are preallocation, not torn bytes.
                        seg.file.set_len(pos as u64).ctx(path)?;
                        seg.written_bytes = pos as u64;
                        seg.allocated = pos as u64;
                        seg.dirty = true;
                        let written = tail.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
                        s.report.truncated_bytes += written as u64;
                    } else {
                        // A complete record that fails its checksum, or damage
                        // in a sealed segment: report it, keep the bytes.
                        seg.damaged = true;
                        let plausible_seq = (tail.len() >= 16 && tail.get(4) == Some(&KIND_MSG))
                            .then(|| record::u64_at(tail, 8))
                            .filter(|&q| q == s.table.last_seq + 1);
                        s.report.corrupt.push(CorruptRange {
                            segment: path.clone(),
                            offset_bytes: pos as u64,
                            len_bytes: tail.len() as u64,
                            seqs: plausible_seq.map(|q| (q, q)),
                            reason: err.to_string(),
                        });
                        s.lost_bytes += tail.len() as u64;
                        if let Some(q) = plausible_seq {
                            s.lost_msgs.push(q);
                            s.table.skip_seq(q, s.table.last_ts_ns);
                        }
                        // In a sealed segment, everything after the damage up to the next
                        // segment's first seq is gone too.
                        if !is_last {
                            s.open_gap = Some(s.report.corrupt.len() - 1);
                        }
                    }
                    break;
                }
            }
        }
        segments.push(seg);
    }
    s.settle_gaps(&segments);
    let Scan {
        mut table,
        marker_seq,
        lost_msgs,
        lost_bytes,
        ..
    } = s;
    table.fix_stale();
    let lost = (lost_bytes > 0 || !lost_msgs.is_empty()).then_some(LostData {
        msgs: lost_msgs,
        bytes: lost_bytes,
    });
    Ok(Recovered {
        table,
        segments,
        marker_seq,
        lost,
    })
}

impl Scan<'_> {
    /// Decides which missing seqs are lost: those in a gap at the end of a
    /// sealed segment (or in a damaged region) that no removal explains.
    fn settle_gaps(&mut self, segments: &[Segment]) {
        let floor = self.marker_seq;
        let ranges = merge(std::mem::take(&mut self.ranges));
        let mut tombstoned = std::mem::take(&mut self.tombstoned);
        tombstoned.sort_unstable();
        tombstoned.dedup();
        let removed = |q: u64| {
            q < floor || tombstoned.binary_search(&q).is_ok() || covered(&ranges, q).is_some()
        };
        // Seqs lost to damage that were later removed are no longer lost to anyone.
        self.lost_msgs.retain(|&q| !removed(q));
        for (from, to, idx) in std::mem::take(&mut self.gaps) {
            let mut q = from.max(floor);
            let mut run: Option<(u64, u64)> = None;
            while q <= to {
                // Skip whole ranges at once: a retired segment may span millions.
                if let Some(end) = covered(&ranges, q) {
                    if end >= to {
                        break;
                    }
                    q = end + 1;
                    continue;
                }
                if tombstoned.binary_search(&q).is_err() {
                    match &mut run {
                        Some((_, b)) if *b + 1 == q => *b = q,
                        _ => {
                            if let Some(r) = run.take() {
                                self.report_missing(&segments[idx], from, to, r);
                            }
                            run = Some((q, q));
                        }
                    }
                }
                if q == to {
                    break;
                }
                q += 1;
            }
            if let Some(r) = run {
                self.report_missing(&segments[idx], from, to, r);
            }
        }
        self.lost_msgs.sort_unstable();
        self.lost_msgs.dedup();
    }

    fn report_missing(&mut self, seg: &Segment, from: u64, to: u64, (a, b): (u64, u64)) {
        self.report.corrupt.push(CorruptRange {
            segment: seg.path.clone(),
            offset_bytes: seg.len_bytes(),
            len_bytes: 0,
            seqs: Some((a, b)),
            reason: format!(
                "sealed segment ends before seq {from} but the next one starts at {}; \
                 seqs {a}..={b} were not removed and are missing (segment cut short?)",
                to + 1
            ),
        });
        self.lost_msgs.extend(a..=b);
    }
}
