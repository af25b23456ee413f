//! Sequence gaps at segment boundaries: a sealed segment cut at a record
//! boundary is reported as lost data, while seqs removed on purpose (retired
//! segments, tombstones, first-seq markers) are not.

mod common;

use common::*;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};
use weir_store::*;

fn cfg() -> FileStoreConfig {
    FileStoreConfig {
        block_size_bytes: 4096,
        ..Default::default()
    }
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "blk"))
        .collect();
    v.sort();
    v
}

/// (offset, kind, seq) of every record of an undamaged segment file.
fn records(path: &Path) -> Vec<(u64, u8, u64)> {
    let b = fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut pos = 32;
    while pos < b.len() {
        let len = u32::from_le_bytes(b[pos..pos + 4].try_into().unwrap()) as usize;
        assert!(len >= 36 && pos + len <= b.len(), "record at {pos}");
        let seq = u64::from_le_bytes(b[pos + 8..pos + 16].try_into().unwrap());
        out.push((pos as u64, b[pos + 4], seq));
        pos += len;
    }
    out
}

fn last_msg_seq(path: &Path) -> Option<u64> {
    records(path)
        .iter()
        .filter(|r| r.1 == 1)
        .map(|r| r.2)
        .next_back()
}

fn cut(path: &Path, len: u64) {
    OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn payload(i: u64) -> String {
    format!("payload-{i:012}")
}

#[test]
fn boundary_cut_of_a_middle_segment_reports_exactly_the_lost_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg()).unwrap();
    for i in 1..=200u64 {
        s.append(b"s", b"", payload(i).as_bytes(), i as i64, None)
            .unwrap();
    }
    // Removed on purpose before the damage: not lost.
    assert!(s.delete(1, false).unwrap()); // first-seq marker
    assert!(s.delete(50, false).unwrap()); // tombstone
    sync(&mut s);
    drop(s);
    let segs = segments(dir.path());
    assert!(segs.len() >= 3, "{segs:?}");
    let recs = records(&segs[0]);
    let last1 = last_msg_seq(&segs[0]).unwrap();
    let at = recs.iter().find(|r| r.1 == 1 && r.2 == 40).unwrap().0;
    cut(&segs[0], at);

    let (mut s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(!report.clean_shutdown);
    let ranges: Vec<_> = report.corrupt.iter().map(|c| c.seqs).collect();
    assert_eq!(
        ranges,
        vec![Some((40, 49)), Some((51, last1))],
        "{report:?}"
    );
    assert!(report.corrupt.iter().all(|c| c.segment == segs[0]));
    let lost: Vec<u64> = (40..=49).chain(51..=last1).collect();
    let st = s.state();
    assert_eq!(
        st.lost,
        Some(LostData {
            msgs: lost.clone(),
            bytes: 0
        })
    );
    assert_eq!((st.first_seq, st.last_seq), (2, 200));
    assert_eq!(st.msgs, 200 - 2 - lost.len() as u64);
    for q in &lost {
        assert_eq!(s.get(*q).unwrap(), None, "seq {q}");
    }
    assert_eq!(s.get(39).unwrap().unwrap().payload, payload(39).as_bytes());
    assert_eq!(
        s.get(last1 + 1).unwrap().unwrap().payload,
        payload(last1 + 1).as_bytes()
    );
    assert_eq!(s.append(b"s", b"", b"more", 201, None).unwrap(), 201);

    // Still reported after a clean restart (snapshot) and after a crash (scan).
    s.close().unwrap();
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(report.clean_shutdown);
    assert_eq!(s.state().lost.map(|l| l.msgs), Some(lost.clone()));
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(!report.clean_shutdown);
    assert_eq!(s.state().lost.map(|l| l.msgs), Some(lost));
    assert_eq!(s.get(201).unwrap().unwrap().payload, &b"more"[..]);
}

/// Interior segments emptied by deletes are retired; across every kind of
/// restart the gaps they leave are never taken for lost data.
#[test]
fn retired_interior_segments_are_not_reported_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg()).unwrap();
    let mut ts = 0i64;
    let mut put = |s: &mut FileStore, subject: &[u8]| {
        ts += 1;
        s.append(subject, b"", &[7; 60], ts, None).unwrap()
    };
    for _ in 0..30 {
        put(&mut s, b"keep");
    }
    // Churn: each message deleted at once, so whole segments die with their
    // own tombstones inside them.
    for _ in 0..300 {
        let q = put(&mut s, b"churn");
        assert!(s.delete(q, false).unwrap());
    }
    for _ in 0..30 {
        put(&mut s, b"keep");
    }
    for _ in 0..200 {
        put(&mut s, b"tmp");
    }
    s.purge(&PurgeRequest {
        filter: Some("tmp".into()),
        ..Default::default()
    })
    .unwrap();
    for _ in 0..10 {
        put(&mut s, b"keep");
    }
    sync(&mut s);
    let segs = segments(dir.path());
    let gaps = segs
        .windows(2)
        .filter(|w| {
            let next: u64 = w[1].file_stem().unwrap().to_str().unwrap().parse().unwrap();
            last_msg_seq(&w[0]).is_some_and(|l| l + 1 < next)
        })
        .count();
    assert!(gaps >= 2, "retirement left gaps between segments: {segs:?}");
    let expect = (dump(&s), s.deleted());
    assert_eq!(expect.0 .0.msgs, 70);

    // Crash: full scan.
    drop(s);
    let (mut s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(!report.clean_shutdown);
    assert!(report.corrupt.is_empty(), "{report:?}");
    assert_eq!((dump(&s), s.deleted()), expect);

    // Clean restart: the snapshot carries the range tombstones.
    s.close().unwrap();
    drop(s);
    let (mut s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(report.clean_shutdown);
    assert_eq!((dump(&s), s.deleted()), expect);

    // Delete everything but seq 1, retiring the segments that hold those
    // range tombstones (known only from the snapshot): they must be carried
    // forward, or the gap after segment 1 would look lost after a crash.
    let mut q = 2;
    while let Some(m) = s.next_matching(q, None).unwrap() {
        assert!(s.delete(m.seq, false).unwrap());
        q = m.seq + 1;
    }
    assert_eq!(s.state().msgs, 1);
    assert!(s.get(1).unwrap().is_some());
    for _ in 0..100 {
        let q = put(&mut s, b"churn");
        assert!(s.delete(q, false).unwrap());
    }
    put(&mut s, b"last");
    sync(&mut s);
    let expect = (dump(&s), s.deleted());
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(report.corrupt.is_empty(), "{report:?}");
    assert_eq!(s.state().lost, None);
    assert_eq!((dump(&s), s.deleted()), expect);
}

/// Rewrites a file header's version field (and its checksum).
fn set_header_version(path: &Path, version: u16) {
    let mut b = fs::read(path).unwrap();
    b[8..10].copy_from_slice(&version.to_le_bytes());
    let crc = crc32c(&b[..28]);
    b[28..32].copy_from_slice(&crc.to_le_bytes());
    fs::write(path, b).unwrap();
}

/// CRC32C (Castagnoli), bitwise: the tests do not depend on the store's internals.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A store written by a version 1 build (headers say 1, no range
/// tombstones, a segment retired without a trace) opens without false
/// alarms; new records go to a version 2 segment.
#[test]
fn version_1_segments_open_without_false_alarms() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg()).unwrap();
    for i in 1..=250u64 {
        s.append(b"s", b"", payload(i).as_bytes(), i as i64, None)
            .unwrap();
    }
    sync(&mut s);
    drop(s);
    let segs = segments(dir.path());
    assert!(segs.len() >= 4);
    for p in &segs {
        set_header_version(p, 1);
    }
    // What a version 1 build leaves after retiring segment 2 (its messages
    // deleted by tombstones that were dropped with it).
    let gone_from: u64 = segs[1]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let gone_to: u64 = segs[2]
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    fs::remove_file(&segs[1]).unwrap();

    let (mut s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(report.corrupt.is_empty(), "{report:?}");
    assert_eq!(s.state().lost, None);
    assert_eq!(s.get(gone_from).unwrap(), None);
    assert!(s.get(gone_to).unwrap().is_some());
    assert_eq!(s.append(b"s", b"", b"new", 251, None).unwrap(), 251);
    sync(&mut s);
    let now = segments(dir.path());
    assert_eq!(
        now.len(),
        segs.len(),
        "one removed, one new version 2 segment"
    );
    let newest = fs::read(now.last().unwrap()).unwrap();
    assert_eq!(u16::from_le_bytes([newest[8], newest[9]]), 2);
    let old_active = fs::read(&now[now.len() - 2]).unwrap();
    assert_eq!(u16::from_le_bytes([old_active[8], old_active[9]]), 1);

    // Retiring now writes range tombstones into the version 2 segment only.
    s.purge(&PurgeRequest {
        up_to_seq: Some(gone_to + 80),
        ..Default::default()
    })
    .unwrap();
    s.close().unwrap();
    drop(s);
    // An old snapshot version is not trusted: the store scans instead.
    let snap = dir.path().join("index.snap");
    let mut b = fs::read(&snap).unwrap();
    b[8..10].copy_from_slice(&1u16.to_le_bytes());
    let crc = crc32c(&b[..28]);
    b[28..32].copy_from_slice(&crc.to_le_bytes());
    let n = b.len() - 4;
    let crc = crc32c(&b[..n]);
    b[n..].copy_from_slice(&crc.to_le_bytes());
    fs::write(&snap, b).unwrap();
    let (s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(!report.clean_shutdown);
    assert!(report.corrupt.is_empty(), "{report:?}");
    let st = s.state();
    assert_eq!(
        (st.first_seq, st.last_seq, st.lost),
        (gone_to + 80, 251, None)
    );
}
