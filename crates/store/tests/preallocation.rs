//! Preallocated segments: the active file is grown with zeros ahead of its
//! records; sealed segments and a cleanly closed store end at their last
//! record; after a crash the zeros read as end of log, never as damage.

mod common;

use common::*;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use weir_store::*;

fn cfg(block_size_bytes: u64, preallocate_bytes: u64) -> FileStoreConfig {
    FileStoreConfig {
        block_size_bytes,
        preallocate_bytes,
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

/// Where the records of a segment end: the first length field of 0 (or EOF).
fn records_end(path: &Path) -> u64 {
    let b = fs::read(path).unwrap();
    let mut pos = 32;
    while pos + 4 <= b.len() {
        let len = u32::from_le_bytes(b[pos..pos + 4].try_into().unwrap()) as usize;
        if len == 0 {
            break;
        }
        assert!(len >= 36 && pos + len <= b.len(), "record at {pos}");
        pos += len;
    }
    pos as u64
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

fn put(s: &mut FileStore, i: u64) -> u64 {
    s.append(
        b"s",
        b"",
        format!("payload-{i:012}").as_bytes(),
        i as i64,
        None,
    )
    .unwrap()
}

#[test]
fn preallocated_tail_reads_as_end_of_log() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = || cfg(1 << 20, 64 << 10);
    let (mut s, _) = open_file_store(dir.path(), cfg()).unwrap();
    for i in 1..=10 {
        assert_eq!(put(&mut s, i), i);
    }
    sync(&mut s);
    let seg = segments(dir.path())[0].clone();
    assert_eq!(file_len(&seg), 64 << 10, "grown ahead of the records");
    let end = records_end(&seg);
    assert!(end < 1024);
    drop(s); // crash

    let (mut s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(!report.clean_shutdown);
    assert!(report.corrupt.is_empty(), "{report:?}");
    assert_eq!(report.truncated_bytes, 0, "zeros are not torn bytes");
    assert_eq!((s.state().msgs, s.state().lost), (10, None));
    // Appends continue right after the last record, inside the allocation.
    assert_eq!(put(&mut s, 11), 11);
    sync(&mut s);
    assert_eq!(file_len(&seg), 64 << 10);
    assert!(records_end(&seg) > end);
    drop(s);

    let (mut s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(report.corrupt.is_empty() && report.truncated_bytes == 0);
    assert_eq!(s.state().msgs, 11);
    assert_eq!(
        s.get(11).unwrap().unwrap().payload,
        &b"payload-000000000011"[..]
    );
    // A clean close cuts the tail, so the snapshot's lengths match.
    s.close().unwrap();
    drop(s);
    assert_eq!(file_len(&seg), records_end(&seg));
    let (s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(report.clean_shutdown);
    assert_eq!(s.state().msgs, 11);
}

#[test]
fn sealed_segments_end_at_their_last_record() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg(8192, 4096)).unwrap();
    for i in 1..=400 {
        put(&mut s, i);
    }
    sync(&mut s);
    let segs = segments(dir.path());
    assert!(segs.len() > 2);
    for p in &segs[..segs.len() - 1] {
        assert_eq!(file_len(p), records_end(p), "{}", p.display());
    }
    let active = segs.last().unwrap();
    assert_eq!(file_len(active) % 4096, 0);
    assert!(file_len(active) > records_end(active));
    s.close().unwrap();
    for p in &segs {
        assert_eq!(file_len(p), records_end(p), "{}", p.display());
    }
}

/// A crash after sealing but before the cut reached the disk leaves a sealed
/// segment with a zero tail: the end of its log, not damage.
#[test]
fn sealed_segment_with_a_zero_tail_is_not_damage() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg(8192, 4096)).unwrap();
    for i in 1..=200 {
        put(&mut s, i);
    }
    sync(&mut s);
    let expect = dump(&s);
    drop(s);
    let seg = segments(dir.path())[0].clone();
    let len = file_len(&seg);
    OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(len + 3000)
        .unwrap();
    let (s, report) = open_file_store(dir.path(), cfg(8192, 4096)).unwrap();
    assert!(report.corrupt.is_empty(), "{report:?}");
    assert_eq!(report.truncated_bytes, 0);
    assert_eq!(dump(&s), expect);
    drop(s);
    assert_eq!(file_len(&seg), len, "the tail is cut again");
}

/// A record torn in the middle, followed by preallocated zeros: it is a torn
/// write (not damage), and only the bytes written count as torn.
#[test]
fn torn_record_before_preallocated_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg(1 << 20, 64 << 10)).unwrap();
    for i in 1..=5 {
        put(&mut s, i);
    }
    sync(&mut s);
    drop(s);
    let seg = segments(dir.path())[0].clone();
    let end = records_end(&seg);
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&seg)
        .unwrap();
    let mut rec = [0u8; 20];
    f.read_exact_at(&mut rec, 32).unwrap(); // the start of record 1
    f.write_all_at(&rec, end).unwrap();
    drop(f);
    let (s, report) = open_file_store(dir.path(), cfg(1 << 20, 64 << 10)).unwrap();
    assert!(report.corrupt.is_empty(), "{report:?}");
    // Trailing zeros of what was written cannot be told from the tail's.
    let written = rec.iter().rposition(|&b| b != 0).unwrap() + 1;
    assert_eq!(report.truncated_bytes, written as u64);
    assert_eq!(s.state().msgs, 5);
    assert_eq!(file_len(&seg), end);
}
