//! Crash recovery: rebuild the index by scanning every segment.
//!
//! Each segment is read with one large sequential read into a reused buffer
//! and parsed in place (no per-record allocation). Every record's checksum
//! is verified. A torn tail of the last segment is truncated; a damaged
//! region anywhere else is reported, and scanning re-synchronises on the
//! next valid record so intact records after it are kept.

use crate::error::IoContext;
use crate::record::{
    self, RecordError, RecordView, FILE_HEADER_BYTES, FLAG_ERASED, KIND_FIRST_SEQ, KIND_MSG,
    KIND_SEGMENT_FILE, KIND_TOMBSTONE, MIN_RECORD_BYTES, SEGMENT_MAGIC,
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
    report: &'r mut RecoveryReport,
}

impl Scan<'_> {
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
                if h.flags & FLAG_ERASED != 0 || v.subject.is_empty() {
                    self.table.skip_seq(h.seq, h.ts_ns);
                    return;
                }
                let size = msg_size(
                    v.subject.len(),
                    h.headers_len as usize,
                    h.payload_len as usize,
                ) as u32;
                self.table
                    .push(h.seq, v.subject, size, offset as u32, h.ts_ns, h.ttl_ns);
                seg.live += 1;
            }
            KIND_TOMBSTONE => {
                self.table.remove(h.seq, &mut |_| {});
                seg.tombstones.push(h.seq);
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
        if len >= MIN_RECORD_BYTES
            && p + len <= buf.len()
            && (KIND_MSG..=KIND_FIRST_SEQ).contains(&buf[p + 4])
        {
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
        let header_first = match record::decode_file_header(&buf, SEGMENT_MAGIC, KIND_SEGMENT_FILE)
        {
            Ok(h) => h,
            Err(_) if is_last && buf.len() < FILE_HEADER_BYTES => {
                // Created but its header never reached the disk: nothing in it.
                let mut seg = Segment::open(path.clone(), *name_seq, 0)?;
                seg.file.set_len(0).ctx(path)?;
                seg.pending.extend_from_slice(&record::encode_file_header(
                    SEGMENT_MAGIC,
                    KIND_SEGMENT_FILE,
                    *name_seq,
                ));
                seg.dirty = true;
                s.report.truncated_bytes += buf.len() as u64;
                s.close_gap(*name_seq);
                if s.table.msgs == 0 && s.table.last_seq + 1 < *name_seq {
                    s.table.remove_below(*name_seq, &mut |_| {});
                }
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
        // Damage at the end of the previous segment lost every seq up to here.
        s.close_gap(header_first);
        let mut seg = Segment::open(path.clone(), header_first, buf.len() as u64)?;
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
                    if let Some(next) = resync(&buf, pos + 1, s.table.last_seq) {
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
                    let torn = err == RecordError::Truncated || tail.iter().all(|&b| b == 0);
                    if is_last && torn {
                        // A write that never completed (and was never synced).
                        seg.file.set_len(pos as u64).ctx(path)?;
                        seg.written_bytes = pos as u64;
                        seg.dirty = true;
                        s.report.truncated_bytes += tail.len() as u64;
                    } else {
                        // A complete record that fails its checksum, or damage
                        // in a sealed segment: report it, keep the bytes.
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
    let Scan {
        mut table,
        marker_seq,
        mut lost_msgs,
        lost_bytes,
        ..
    } = s;
    table.fix_stale();
    // Seqs later purged (below first_seq) are no longer lost to anyone.
    lost_msgs.retain(|&q| q >= table.first_seq);
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
