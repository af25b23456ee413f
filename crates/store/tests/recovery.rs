//! Crash recovery and snapshot behaviour of the file store.

mod common;

use common::*;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use weir_store::*;

fn cfg(block_size_bytes: u64) -> FileStoreConfig {
    FileStoreConfig {
        block_size_bytes,
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

/// 1 + 32-byte header... every record here: 32 fixed + 1 subject + 20 payload + 4 crc.
const REC: u64 = 57;
const HDR: u64 = 32;

fn fill(dir: &Path, n: u64) -> FileStore {
    let (mut s, _) = open_file_store(dir, cfg(8 << 20)).unwrap();
    for i in 1..=n {
        let payload = format!("payload-{i:012}");
        assert_eq!(
            s.append(b"s", b"", payload.as_bytes(), i as i64, None)
                .unwrap(),
            i
        );
    }
    sync(&mut s);
    s
}

#[test]
fn torn_tail_is_truncated_and_earlier_records_kept() {
    let dir = tempfile::tempdir().unwrap();
    let s = fill(dir.path(), 10);
    drop(s); // crash after sync
    let seg = &segments(dir.path())[0];
    let len = fs::metadata(seg).unwrap().len();
    assert_eq!(len, HDR + 10 * REC);
    OpenOptions::new()
        .write(true)
        .open(seg)
        .unwrap()
        .set_len(len - 20)
        .unwrap();
    let (mut s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert!(!report.clean_shutdown);
    assert_eq!(report.truncated_bytes, REC - 20);
    assert!(report.corrupt.is_empty());
    assert_eq!(report.scanned_records, 9);
    let st = s.state();
    assert_eq!(
        (st.msgs, st.first_seq, st.last_seq, st.lost),
        (9, 1, 9, None)
    );
    for i in 1..=9 {
        assert_eq!(
            s.get(i).unwrap().unwrap().payload,
            format!("payload-{i:012}").as_bytes()
        );
    }
    // Appends continue right after the last intact record.
    assert_eq!(s.append(b"s", b"", b"after", 11, None).unwrap(), 10);
    sync(&mut s);
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert_eq!(report.truncated_bytes, 0);
    assert_eq!(s.get(10).unwrap().unwrap().payload, &b"after"[..]);
}

#[test]
fn flipped_byte_in_middle_record_is_reported_and_neighbours_served() {
    let dir = tempfile::tempdir().unwrap();
    let s = fill(dir.path(), 10);
    drop(s);
    let seg = &segments(dir.path())[0];
    let f = OpenOptions::new().read(true).write(true).open(seg).unwrap();
    let at = HDR + 4 * REC + 45; // inside seq 5's payload
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0x01], at).unwrap();
    drop(f);
    let (mut s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert_eq!(report.corrupt.len(), 1, "{report:?}");
    let c = &report.corrupt[0];
    assert_eq!(
        (c.offset_bytes, c.len_bytes, c.seqs),
        (HDR + 4 * REC, REC, Some((5, 5)))
    );
    assert_eq!(&c.segment, seg);
    let st = s.state();
    assert_eq!(
        (st.msgs, st.first_seq, st.last_seq, st.num_deleted),
        (9, 1, 10, 1)
    );
    assert_eq!(
        st.lost,
        Some(LostData {
            msgs: vec![5],
            bytes: REC
        })
    );
    assert_eq!(s.get(5).unwrap(), None);
    assert_eq!(
        s.get(4).unwrap().unwrap().payload,
        &b"payload-000000000004"[..]
    );
    assert_eq!(
        s.get(6).unwrap().unwrap().payload,
        &b"payload-000000000006"[..]
    );
    assert_eq!(s.deleted(), vec![5]);
    // The stream stays writable and the loss stays reported across a clean restart.
    assert_eq!(s.append(b"s", b"", b"more", 11, None).unwrap(), 11);
    s.close().unwrap();
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert!(report.clean_shutdown);
    assert_eq!(
        s.state().lost,
        Some(LostData {
            msgs: vec![5],
            bytes: REC
        })
    );
    assert_eq!(s.get(11).unwrap().unwrap().payload, &b"more"[..]);
}

#[test]
fn corruption_on_read_is_an_error_not_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let s = fill(dir.path(), 3);
    let seg = &segments(dir.path())[0];
    let f = OpenOptions::new().write(true).open(seg).unwrap();
    f.write_all_at(b"X", HDR + REC + 40).unwrap();
    assert!(matches!(s.get(2), Err(StoreError::Corrupt { .. })));
    assert!(s.get(1).unwrap().is_some());
    assert!(s.get(3).unwrap().is_some());
}

#[test]
fn corrupt_tail_of_sealed_segment_loses_only_its_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg(4096)).unwrap();
    for i in 1..=200u64 {
        s.append(
            b"s",
            b"",
            format!("payload-{i:012}").as_bytes(),
            i as i64,
            None,
        )
        .unwrap();
    }
    sync(&mut s);
    drop(s);
    let segs = segments(dir.path());
    assert!(segs.len() > 2);
    // Damage the last record of the first segment.
    let len = fs::metadata(&segs[0]).unwrap().len();
    let per_seg = (len - HDR) / REC;
    let f = OpenOptions::new().write(true).open(&segs[0]).unwrap();
    f.write_all_at(b"\xff\xff", len - 10).unwrap();
    drop(f);
    let (s, report) = open_file_store(dir.path(), cfg(4096)).unwrap();
    assert_eq!(report.corrupt.len(), 1);
    assert_eq!(report.corrupt[0].seqs, Some((per_seg, per_seg)));
    assert_eq!(s.state().msgs, 199);
    assert!(s.get(per_seg).unwrap().is_none());
    assert!(s.get(per_seg + 1).unwrap().is_some());
}

#[test]
fn crash_after_sync_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg(4096)).unwrap();
    for i in 0..500u64 {
        s.append(
            format!("k.{}", i % 7).as_bytes(),
            b"H",
            &[i as u8; 40],
            i as i64,
            None,
        )
        .unwrap();
        if i % 13 == 0 {
            s.delete(i / 2 + 1, i % 2 == 0).unwrap();
        }
    }
    s.purge(&PurgeRequest {
        filter: Some("k.3".into()),
        keep: Some(5),
        ..Default::default()
    })
    .unwrap();
    s.purge(&PurgeRequest {
        up_to_seq: Some(40),
        ..Default::default()
    })
    .unwrap();
    sync(&mut s);
    let before = (dump(&s), s.deleted(), s.subjects(b">"));
    // Unsynced work after the last sync may or may not survive: not checked.
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg(4096)).unwrap();
    assert!(!report.clean_shutdown);
    assert!(report.scanned_records > 0);
    assert!(report.corrupt.is_empty());
    assert_eq!((dump(&s), s.deleted(), s.subjects(b">")), before);
}

#[test]
fn snapshot_fast_path_and_stale_snapshot_fallback() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = fill(dir.path(), 100);
    s.delete(50, false).unwrap();
    s.close().unwrap();
    drop(s);
    let snap = dir.path().join("index.snap");
    assert!(snap.exists());
    let old_snap = fs::read(&snap).unwrap();

    let (mut s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert!(report.clean_shutdown);
    assert_eq!(report.scanned_records, 0);
    assert!(
        !snap.exists(),
        "opening for writing invalidates the snapshot"
    );
    assert_eq!(s.state().msgs, 99);
    s.append(b"s", b"", b"new", 101, None).unwrap();
    s.close().unwrap();
    drop(s);

    // An old snapshot describing shorter segments must be ignored.
    fs::write(&snap, &old_snap).unwrap();
    let (s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert!(!report.clean_shutdown);
    assert!(report.scanned_records > 0);
    assert_eq!(s.state().msgs, 100);
    assert_eq!(s.get(101).unwrap().unwrap().payload, &b"new"[..]);
    drop(s);

    // A damaged snapshot is ignored too, never trusted.
    let (mut s, _) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    s.close().unwrap();
    drop(s);
    let mut bytes = fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    fs::write(&snap, &bytes).unwrap();
    let (s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert!(!report.clean_shutdown);
    assert_eq!(s.state().msgs, 100);
}

#[test]
fn emptied_segments_are_removed_after_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg(4096)).unwrap();
    for i in 0..300u64 {
        s.append(b"a", b"", &[1; 100], i as i64, None).unwrap();
    }
    sync(&mut s);
    let n = segments(dir.path()).len();
    assert!(n > 5);
    s.purge(&PurgeRequest {
        up_to_seq: Some(250),
        ..Default::default()
    })
    .unwrap();
    assert!(s.segment_count() < n);
    let batch = s.flush().unwrap();
    assert!(!batch.is_empty());
    assert_eq!(
        segments(dir.path()).len(),
        n,
        "unlinked only once the batch syncs"
    );
    batch.sync().unwrap();
    assert_eq!(segments(dir.path()).len(), s.segment_count());
    drop(s);
    let (s, _) = open_file_store(dir.path(), cfg(4096)).unwrap();
    let st = s.state();
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (51, 250, 300));
}

#[test]
fn interior_deletes_survive_removal_of_the_segment_holding_their_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg(4096)).unwrap();
    for i in 0..40u64 {
        s.append(b"keep", b"", &[1; 100], i as i64, None).unwrap();
    }
    s.delete(10, false).unwrap(); // tombstone lands in the current active segment
    for i in 0..200u64 {
        s.append(b"tmp", b"", &[2; 100], i as i64, None).unwrap();
    }
    // Removing every "tmp" empties the segments that hold the tombstone.
    s.purge(&PurgeRequest {
        filter: Some("tmp".into()),
        ..Default::default()
    })
    .unwrap();
    sync(&mut s);
    let before = (dump(&s), s.deleted());
    assert!(before.1.contains(&10));
    drop(s);
    let (s, _) = open_file_store(dir.path(), cfg(4096)).unwrap();
    assert_eq!((dump(&s), s.deleted()), before);
    assert!(s.get(10).unwrap().is_none());
}

#[test]
fn erase_overwrites_the_payload_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    s.append(b"a", b"", b"top-secret-value", 1, None).unwrap();
    s.append(b"a", b"", b"public", 2, None).unwrap();
    sync(&mut s);
    assert!(s.delete(1, true).unwrap());
    sync(&mut s);
    let raw = fs::read(&segments(dir.path())[0]).unwrap();
    assert!(!raw.windows(10).any(|w| w == b"top-secret"));
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert!(report.corrupt.is_empty());
    assert_eq!(s.state().msgs, 1);
    assert_eq!(s.state().first_seq, 2);
}

#[test]
fn inconsistent_metadata_refuses_to_open_and_deletes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, _) = open_file_store(dir.path(), cfg(4096)).unwrap();
    for i in 0..200u64 {
        s.append(b"a", b"", &[1; 100], i as i64, None).unwrap();
    }
    s.close().unwrap();
    drop(s);
    let segs = segments(dir.path());
    let f = OpenOptions::new().write(true).open(&segs[0]).unwrap();
    f.write_all_at(b"JUNK", 0).unwrap();
    drop(f);
    let err = match open_file_store(dir.path(), cfg(4096)) {
        Err(e) => e,
        Ok(_) => panic!("opened a store whose segment header is garbage"),
    };
    assert!(matches!(err, StoreError::Inconsistent { .. }), "{err}");
    assert!(err.to_string().contains("magic"));
    assert_eq!(segments(dir.path()), segs, "no file was removed");
}

#[test]
fn torn_segment_creation_is_repaired() {
    let dir = tempfile::tempdir().unwrap();
    let s = fill(dir.path(), 5);
    drop(s);
    // A crash right after creating the next segment, before its header landed.
    fs::write(dir.path().join(format!("{:020}.blk", 6)), b"WEIR").unwrap();
    let (mut s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert_eq!(report.truncated_bytes, 4);
    assert_eq!(s.state().last_seq, 5);
    assert_eq!(s.append(b"s", b"", b"x", 6, None).unwrap(), 6);
    sync(&mut s);
    drop(s);
    let (s, report) = open_file_store(dir.path(), cfg(8 << 20)).unwrap();
    assert!(report.corrupt.is_empty());
    assert_eq!(s.state().msgs, 6);
}
