//! `index.snap`: the full index written at clean shutdown so a restart need
//! not scan the segments. Versioned header + body + CRC32C over all of it.
//! It records each segment's length; any mismatch (or any damage) makes it
//! stale and recovery scans instead. It is deleted whenever the store is
//! opened for writing, so it can only ever describe a closed store.
//!
//! ```text
//! header (32 B, kind 2) | first_seq u64 | last_seq u64 | last_ts_ns i64 | marker_seq u64
//! | limits 4 x i64 | n_segments u32 | n x segment
//! | n_subjects u32 | n x (id u32, len u16, name) | n_slots u64 | n x (subj u32, size u32, loc u32)
//! | n_ttl u64 | n x (at_ns i64, seq u64) | n_never u64 | n x u64
//! | lost u8 [bytes u64, n u64, n x u64] | crc32c u32
//! segment := first_seq u64 | len u64 | total_size u64 | flags u8 (bit0 damaged)
//!            | n_tomb u32 | n_tomb x u64
//!            | n_ranges u32 | n_ranges x (from u64, to u64)
//! ```
//! Version 2; a version 1 snapshot is stale (recovery scans instead).

use crate::error::IoContext;
use crate::file::FileStore;
use crate::record::{
    self, FILE_HEADER_BYTES, KIND_SEGMENT_FILE, KIND_SNAPSHOT_FILE, SEGMENT_MAGIC, SNAPSHOT_MAGIC,
};
use crate::recovery::Recovered;
use crate::segment::Segment;
use crate::subject_index::NO_SUBJECT;
use crate::table::{Slot, Table};
use crate::{LostData, StoreError};
use bytes::Bytes;
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

pub(crate) const SNAPSHOT_FILE: &str = "index.snap";
const SNAPSHOT_TMP: &str = "index.snap.tmp";

pub(crate) fn write(store: &FileStore) -> Result<(), StoreError> {
    let (table, segments, marker_seq, limits, lost) = store.parts();
    let mut b: Vec<u8> =
        Vec::with_capacity(64 + table.slots().len() * 12 + table.subjects.len() * 32);
    b.extend_from_slice(&record::encode_file_header(
        SNAPSHOT_MAGIC,
        KIND_SNAPSHOT_FILE,
        table.first_seq,
    ));
    let put64 = |b: &mut Vec<u8>, v: u64| b.extend_from_slice(&v.to_le_bytes());
    let put32 = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_le_bytes());
    put64(&mut b, table.first_seq);
    put64(&mut b, table.last_seq);
    put64(&mut b, table.last_ts_ns as u64);
    put64(&mut b, marker_seq);
    for l in [
        limits.max_msgs,
        limits.max_bytes,
        limits.max_age_ns,
        limits.max_msgs_per_subject,
    ] {
        put64(&mut b, l as u64);
    }
    put32(&mut b, segments.len() as u32);
    for s in segments {
        debug_assert!(s.pending.is_empty(), "flushed before the snapshot");
        put64(&mut b, s.first_seq);
        put64(&mut b, s.len_bytes());
        put64(&mut b, s.total_size);
        b.push(u8::from(s.damaged));
        put32(&mut b, s.tombstones.len() as u32);
        for &t in &s.tombstones {
            put64(&mut b, t);
        }
        put32(&mut b, s.ranges.len() as u32);
        for &(a, z) in &s.ranges {
            put64(&mut b, a);
            put64(&mut b, z);
        }
    }
    put32(&mut b, table.subjects.len() as u32);
    for id in table.subjects.ids() {
        let name = table.subjects.name(id);
        put32(&mut b, id);
        b.extend_from_slice(&(name.len() as u16).to_le_bytes());
        b.extend_from_slice(name);
    }
    put64(&mut b, table.slots().len() as u64);
    for s in table.slots() {
        put32(&mut b, s.subj);
        put32(&mut b, s.size);
        put32(&mut b, s.loc);
    }
    let ttl: Vec<(i64, u64)> = table.ttl_entries().collect();
    put64(&mut b, ttl.len() as u64);
    for (at, seq) in ttl {
        put64(&mut b, at as u64);
        put64(&mut b, seq);
    }
    put64(&mut b, table.never_expire.len() as u64);
    for &seq in &table.never_expire {
        put64(&mut b, seq);
    }
    match lost {
        None => b.push(0),
        Some(l) => {
            b.push(1);
            put64(&mut b, l.bytes);
            put64(&mut b, l.msgs.len() as u64);
            for &q in &l.msgs {
                put64(&mut b, q);
            }
        }
    }
    let crc = crc32c::crc32c(&b);
    put32(&mut b, crc);

    let dir = store.dir();
    let tmp = dir.join(SNAPSHOT_TMP);
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .ctx(&tmp)?;
    f.write_all(&b).ctx(&tmp)?;
    f.sync_all().ctx(&tmp)?;
    drop(f);
    let dst = dir.join(SNAPSHOT_FILE);
    std::fs::rename(&tmp, &dst).ctx(&dst)?;
    File::open(dir).and_then(|d| d.sync_all()).ctx(dir)
}

/// Deletes the snapshot (and a leftover temp file) durably.
pub(crate) fn remove(dir: &Path, dir_file: &File) -> Result<(), StoreError> {
    let mut removed = false;
    for name in [SNAPSHOT_FILE, SNAPSHOT_TMP] {
        let p = dir.join(name);
        match std::fs::remove_file(&p) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Io { path: p, source: e }),
        }
    }
    if removed {
        dir_file.sync_all().ctx(dir)?;
    }
    Ok(())
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or("snapshot truncated")?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64, String> {
        Ok(record::u64_at(self.take(8)?, 0))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(record::u32_at(self.take(4)?, 0))
    }
    fn u16(&mut self) -> Result<u16, String> {
        let s = self.take(2)?;
        Ok(u16::from_le_bytes([s[0], s[1]]))
    }
    /// A count of items of `item_bytes` each, bounded by what is left.
    fn count(&mut self, wide: bool, item_bytes: usize) -> Result<usize, String> {
        let n = if wide {
            self.u64()?
        } else {
            u64::from(self.u32()?)
        };
        let left = (self.b.len() - self.at) as u64;
        if n.saturating_mul(item_bytes as u64) > left {
            return Err(format!("snapshot count {n} exceeds its size"));
        }
        Ok(n as usize)
    }
}

/// Loads the snapshot if it is intact and matches `files` exactly; the
/// error says why it cannot be used.
pub(crate) fn load(dir: &Path, files: &[(u64, PathBuf, u64)]) -> Result<Recovered, String> {
    let path = dir.join(SNAPSHOT_FILE);
    let mut b = Vec::new();
    File::open(&path)
        .and_then(|mut f| f.read_to_end(&mut b))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    record::decode_file_header(&b, SNAPSHOT_MAGIC, KIND_SNAPSHOT_FILE)?;
    if b.len() < FILE_HEADER_BYTES + 4 {
        return Err("snapshot truncated".into());
    }
    let body_end = b.len() - 4;
    if crc32c::crc32c(&b[..body_end]) != record::u32_at(&b, body_end) {
        return Err("snapshot checksum mismatch".into());
    }
    let mut c = Cursor {
        b: &b[..body_end],
        at: FILE_HEADER_BYTES,
    };
    let first_seq = c.u64()?;
    let last_seq = c.u64()?;
    let last_ts_ns = c.u64()? as i64;
    let marker_seq = c.u64()?;
    for _ in 0..4 {
        c.u64()?; // limits: informational; the opener's config applies
    }
    let n_seg = c.count(false, 33)?;
    if n_seg != files.len() {
        return Err(format!(
            "snapshot lists {n_seg} segments, found {}",
            files.len()
        ));
    }
    let mut segments = Vec::with_capacity(n_seg);
    for (first, path, len) in files {
        let s_first = c.u64()?;
        let s_len = c.u64()?;
        if s_first != *first || s_len != *len {
            return Err(format!(
                "segment {} changed since the snapshot",
                path.display()
            ));
        }
        let total_size = c.u64()?;
        let flags = c.take(1)?[0];
        if flags > 1 {
            return Err(format!("unknown segment flags {flags:#x}"));
        }
        let n_tomb = c.count(false, 8)?;
        let mut tombstones = Vec::with_capacity(n_tomb);
        for _ in 0..n_tomb {
            tombstones.push(c.u64()?);
        }
        let n_ranges = c.count(false, 16)?;
        let mut ranges = Vec::with_capacity(n_ranges);
        for _ in 0..n_ranges {
            let (a, z) = (c.u64()?, c.u64()?);
            if a > z {
                return Err(format!("bad range {a}..={z}"));
            }
            ranges.push((a, z));
        }
        let mut seg = Segment::open(path.clone(), s_first, record::FORMAT_VERSION, s_len)
            .map_err(|e| e.to_string())?;
        // Cheap check that the file still is what the snapshot describes.
        let mut hdr = [0u8; FILE_HEADER_BYTES];
        seg.read_at(0, &mut hdr).map_err(|e| e.to_string())?;
        let h = record::decode_file_header(&hdr, SEGMENT_MAGIC, KIND_SEGMENT_FILE)?;
        if h.first_seq != s_first {
            return Err(format!(
                "segment {} header names first seq {}",
                path.display(),
                h.first_seq
            ));
        }
        seg.version = h.version;
        seg.tombstones = tombstones;
        seg.ranges = ranges;
        seg.total_size = total_size;
        seg.damaged = flags & 1 != 0;
        segments.push(seg);
    }
    let mut table = Table::new(first_seq);
    let n_subj = c.count(false, 6)?;
    for _ in 0..n_subj {
        let id = c.u32()?;
        let len = c.u16()? as usize;
        let name = c.take(len)?;
        if id == NO_SUBJECT
            || name.is_empty()
            || id as usize > n_subj.saturating_mul(64) + 1_000_000
        {
            return Err(format!("bad subject entry {id}"));
        }
        table.subjects.install(id, Bytes::copy_from_slice(name));
    }
    let n_slots = c.count(true, 12)?;
    let expect = if n_slots == 0 {
        0
    } else {
        last_seq.wrapping_sub(first_seq).wrapping_add(1)
    };
    if n_slots as u64 != expect || (n_slots == 0 && first_seq != last_seq.wrapping_add(1)) {
        return Err(format!(
            "slot count {n_slots} does not fit seqs {first_seq}..={last_seq}"
        ));
    }
    let raw = c.take(n_slots * 12)?;
    let mut slots = VecDeque::with_capacity(n_slots);
    for ch in raw.chunks_exact(12) {
        slots.push_back(Slot {
            subj: record::u32_at(ch, 0),
            size: record::u32_at(ch, 4),
            loc: record::u32_at(ch, 8),
        });
    }
    if slots.front().is_some_and(|s| !s.is_live()) {
        return Err("first slot is not live".into());
    }
    if !table.load(first_seq, last_seq, last_ts_ns, slots) {
        return Err("slot refers to an unknown subject".into());
    }
    let n_ttl = c.count(true, 16)?;
    for _ in 0..n_ttl {
        let at = c.u64()? as i64;
        let seq = c.u64()?;
        table.add_ttl(at, seq);
    }
    let n_never = c.count(true, 8)?;
    for _ in 0..n_never {
        table.never_expire.insert(c.u64()?);
    }
    let lost = match c.take(1)?[0] {
        0 => None,
        _ => {
            let bytes = c.u64()?;
            let n = c.count(true, 8)?;
            let mut msgs = Vec::with_capacity(n);
            for _ in 0..n {
                msgs.push(c.u64()?);
            }
            Some(LostData { msgs, bytes })
        }
    };
    if c.at != body_end {
        return Err("trailing bytes in snapshot".into());
    }
    Ok(Recovered {
        table,
        segments,
        marker_seq,
        lost,
    })
}
