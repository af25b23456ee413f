//! File store compaction: mostly-deleted sealed segments are rewritten with
//! only their live records; disk usage drops, nothing observable changes, and
//! a crash at any point leaves one complete version of the segment.

mod common;

use common::*;
use std::fs;
use std::path::{Path, PathBuf};
use weir_store::*;

const BLOCK: u64 = 8192;

fn cfg() -> FileStoreConfig {
    FileStoreConfig {
        block_size_bytes: BLOCK,
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

fn disk_bytes(dir: &Path) -> u64 {
    segments(dir)
        .iter()
        .map(|p| fs::metadata(p).unwrap().len())
        .sum()
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

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, to.join(p.file_name().unwrap())).unwrap();
    }
}

type Observed = ((StreamState, Vec<StoredMsg>), Vec<u64>);

fn observe(s: &FileStore) -> Observed {
    (dump(s), s.deleted())
}

/// 600 messages; in the older two thirds three of every four are deleted
/// (by tombstones in later segments), so those segments are ~25% live.
fn mostly_deleted(dir: &Path) -> FileStore {
    let (mut s, _) = open_file_store(dir, cfg()).unwrap();
    for i in 0..600u64 {
        let subj = format!("k.{}", i % 5);
        s.append(subj.as_bytes(), b"", &[i as u8; 150], i as i64, None)
            .unwrap();
    }
    for q in (2..=400u64).filter(|q| q % 4 != 0) {
        assert!(s.delete(q, false).unwrap());
    }
    sync(&mut s);
    s
}

fn compact_all(s: &mut FileStore) -> Vec<CompactReport> {
    let mut out = Vec::new();
    loop {
        let r = s.compact().unwrap();
        let more = r.more;
        if r.segments > 0 {
            out.push(r);
        }
        if !more {
            return out;
        }
        assert!(out.len() < 1000, "compaction does not converge");
    }
}

#[test]
fn compaction_frees_space_and_changes_nothing_observable() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = mostly_deleted(dir.path());
    let expect = observe(&s);
    let before = disk_bytes(dir.path());
    let reports = compact_all(&mut s);
    assert!(reports.len() >= 4, "{reports:?}");
    for r in &reports {
        assert!(r.bytes_after * 2 < r.bytes_before, "{r:?}");
    }
    let after = disk_bytes(dir.path());
    assert!(
        after * 10 < before * 7,
        "disk usage {before} -> {after} bytes"
    );
    assert_eq!(observe(&s), expect);
    assert_eq!(s.compact().unwrap(), CompactReport::default());
    // Compacted segments keep working: erase rewrites in place, appends go on.
    assert!(s.delete(4, true).unwrap());
    assert_eq!(s.append(b"k.x", b"", b"after", 1, None).unwrap(), 601);
    sync(&mut s);
    let expect = observe(&s);
    // Crash (full scan) and clean restart (snapshot) both see the same.
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(!report.clean_shutdown);
    assert!(report.corrupt.is_empty(), "{report:?}");
    assert_eq!(observe(&s), expect);
    let mut s = s;
    s.close().unwrap();
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(report.clean_shutdown);
    assert_eq!(observe(&s), expect);
}

#[test]
fn compaction_is_off_when_disabled_and_skips_lively_segments() {
    let dir = tempfile::tempdir().unwrap();
    let s = mostly_deleted(dir.path());
    drop(s);
    let (mut s, _) = open_file_store(
        dir.path(),
        FileStoreConfig {
            compact_live_percent: 0,
            ..cfg()
        },
    )
    .unwrap();
    assert_eq!(s.compact().unwrap(), CompactReport::default());
    drop(s);
    // At 20% only segments under a fifth live qualify: none here (~25%).
    let (mut s, _) = open_file_store(
        dir.path(),
        FileStoreConfig {
            compact_live_percent: 20,
            ..cfg()
        },
    )
    .unwrap();
    assert_eq!(s.compact().unwrap(), CompactReport::default());
}

/// Every state a crash can leave: the temp file partly or fully written
/// (before the rename), or the new file in place (after it). Compaction
/// writes nothing else, so a copy of the directory taken after the last sync
/// plus the compacted file reproduces each of them exactly.
#[test]
fn crash_at_any_point_of_compaction_loses_and_duplicates_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("live");
    let pre = root.path().join("pre");
    let mut s = mostly_deleted(&dir);
    let expect = observe(&s);
    copy_dir(&dir, &pre);
    let r = s.compact().unwrap();
    assert_eq!(r.segments, 1);
    drop(s);
    let changed: Vec<PathBuf> = segments(&dir)
        .into_iter()
        .filter(|p| fs::read(p).unwrap() != fs::read(pre.join(p.file_name().unwrap())).unwrap())
        .collect();
    assert_eq!(changed.len(), 1, "compaction rewrote one file only");
    let name = changed[0].file_name().unwrap().to_owned();
    let new_bytes = fs::read(&changed[0]).unwrap();
    assert_eq!(new_bytes.len() as u64, r.bytes_after);

    let tmp_name = format!("{}.compact", name.to_str().unwrap());
    let name = name.to_str().unwrap().to_string();
    let half = new_bytes[..new_bytes.len() / 2].to_vec();
    // (what, file written into a copy of the pre-compaction directory)
    let images = [
        ("temp file half written", Some((tmp_name.clone(), half))),
        (
            "temp file complete, not renamed",
            Some((tmp_name.clone(), new_bytes.clone())),
        ),
        ("renamed", Some((name, new_bytes.clone()))),
        ("nothing written yet", None),
    ];
    for (i, (what, write)) in images.iter().enumerate() {
        let img = root.path().join(format!("img{i}"));
        copy_dir(&pre, &img);
        if let Some((file, bytes)) = write {
            fs::write(img.join(file), bytes).unwrap();
        }
        let (s, report) = open_file_store(&img, cfg()).unwrap();
        assert!(report.corrupt.is_empty(), "{what}: {report:?}");
        assert_eq!(observe(&s), expect, "{what}");
        assert!(!img.join(&tmp_name).exists(), "{what}: temp file removed");
        drop(s);
    }
    // And the directory the store itself left.
    let (s, report) = open_file_store(&dir, cfg()).unwrap();
    assert!(report.corrupt.is_empty());
    assert_eq!(observe(&s), expect);
}

/// Tombstones in later segments about a compacted segment are redundant once
/// the compacted file records its removed runs itself: when the segment
/// holding them is retired they are not carried forward, and the deleted
/// messages stay deleted after a crash.
#[test]
fn tombstones_about_a_compacted_segment_are_dropped_safely() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg()).unwrap();
    for i in 0..50u64 {
        s.append(b"a", b"", &[1; 150], i as i64, None).unwrap();
    }
    for i in 0..60u64 {
        s.append(b"b", b"", &[2; 150], i as i64, None).unwrap();
    }
    // Deleted while a later segment is active: tombstones live there.
    for q in (2..=45u64).filter(|q| q % 5 != 0) {
        assert!(s.delete(q, false).unwrap());
    }
    sync(&mut s);
    let first_seg = segments(dir.path())[0].clone();
    let last_in_first = records(&first_seg).last().unwrap().2;
    assert!(last_in_first < 45, "deleted seqs span two segments");
    assert_eq!(compact_all(&mut s).len(), 1);
    // Tombstone records naming a seq <= seq_max, in all segments.
    let tombstones_up_to = |seq_max: u64| -> usize {
        segments(dir.path())
            .iter()
            .flat_map(|p| records(p))
            .filter(|r| r.1 == 2 && r.2 <= seq_max)
            .count()
    };
    assert!(tombstones_up_to(last_in_first) > 0);
    assert!(
        records(&first_seg).iter().any(|r| r.1 == 4),
        "the compacted segment records its removed runs"
    );
    // Retire every segment after the first: "b" goes, plus more churn.
    s.purge(&PurgeRequest {
        filter: Some("b".into()),
        ..Default::default()
    })
    .unwrap();
    for i in 0..200u64 {
        let q = s.append(b"c", b"", &[3; 150], i as i64, None).unwrap();
        assert!(s.delete(q, false).unwrap());
    }
    s.append(b"z", b"", b"last", 0, None).unwrap();
    sync(&mut s);
    assert_eq!(
        tombstones_up_to(last_in_first),
        0,
        "tombstones about the compacted segment dropped"
    );
    assert!(
        tombstones_up_to(45) > 0,
        "tombstones about the other segment kept"
    );
    let expect = observe(&s);
    assert_eq!(
        expect
            .0
             .1
            .iter()
            .filter(|m| &m.subject[..] == b"a")
            .count(),
        50 - 35
    );
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(report.corrupt.is_empty(), "{report:?}");
    assert_eq!(observe(&s), expect);
}

/// A compacted segment cut at a record boundary: only the live messages cut
/// off are lost, not the seqs it had recorded as removed.
#[test]
fn boundary_cut_of_a_compacted_segment_reports_only_live_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = mostly_deleted(dir.path());
    let r = s.compact().unwrap();
    assert_eq!(r.segments, 1);
    sync(&mut s);
    drop(s);
    let seg = segments(dir.path())
        .into_iter()
        .find(|p| fs::metadata(p).unwrap().len() == r.bytes_after)
        .unwrap();
    let msgs: Vec<(u64, u8, u64)> = records(&seg).into_iter().filter(|r| r.1 == 1).collect();
    assert!(msgs.len() > 4);
    let cut_at = &msgs[msgs.len() / 2];
    let lost: Vec<u64> = msgs[msgs.len() / 2..].iter().map(|r| r.2).collect();
    fs::OpenOptions::new()
        .write(true)
        .open(&seg)
        .unwrap()
        .set_len(cut_at.0)
        .unwrap();
    let (s, report) = open_file_store(dir.path(), cfg()).unwrap();
    assert!(!report.corrupt.is_empty());
    assert!(report.corrupt.iter().all(|c| c.segment == seg));
    assert_eq!(s.state().lost.map(|l| l.msgs), Some(lost.clone()));
    for q in lost {
        assert_eq!(s.get(q).unwrap(), None);
    }
    assert!(s.get(msgs[0].2).unwrap().is_some());
}
