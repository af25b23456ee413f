//! FileStore against MemStore (the model) under random operations including
//! clean restarts and crashes (drop without close after flush + sync).

mod common;

use bytes::Bytes;
use common::*;
use proptest::prelude::*;
use weir_store::*;

const SUBJECTS: [&str; 6] = ["a", "b", "c.x", "c.y", "d.1.z", "e"];
const FILTERS: [&str; 6] = ["a", "c.*", "c.x", ">", "d.>", "*"];

#[derive(Debug, Clone)]
enum Op {
    Append {
        subj: usize,
        len: usize,
        ttl_s: Option<i64>,
    },
    Delete {
        back: u64,
        erase: bool,
    },
    /// Appends `n` messages and deletes each at once (KV-style churn): whole
    /// segments die with their own tombstones inside, between live ones.
    Churn {
        n: usize,
        len: usize,
    },
    /// File store compaction (nothing observable may change).
    Compact,
    Purge {
        filter: Option<usize>,
        up_to_back: Option<u64>,
        keep: Option<u64>,
    },
    Limits {
        max_msgs: i64,
        max_bytes: i64,
        max_age_s: i64,
        per_subject: i64,
    },
    Expire {
        advance_s: i64,
    },
    Restart,
    Crash,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (0..SUBJECTS.len(), 0..300usize, prop::option::weighted(0.2, prop_oneof![Just(-1i64), 1..20i64]))
            .prop_map(|(subj, len, ttl_s)| Op::Append { subj, len, ttl_s }),
        3 => (0..30u64, any::<bool>()).prop_map(|(back, erase)| Op::Delete { back, erase }),
        1 => (1..40usize, 0..300usize).prop_map(|(n, len)| Op::Churn { n, len }),
        1 => Just(Op::Compact),
        1 => (prop::option::of(0..FILTERS.len()), prop::option::weighted(0.3, 0..20u64), prop::option::weighted(0.3, 0..10u64))
            .prop_map(|(filter, up_to_back, keep)| Op::Purge { filter, up_to_back, keep: if up_to_back.is_some() { None } else { keep } }),
        1 => (prop_oneof![Just(-1i64), 5..60i64], prop_oneof![Just(-1i64), 2000..20000i64], prop_oneof![Just(-1i64), 5..50i64], prop_oneof![Just(-1i64), 1..6i64])
            .prop_map(|(max_msgs, max_bytes, max_age_s, per_subject)| Op::Limits { max_msgs, max_bytes, max_age_s, per_subject }),
        2 => (0..15i64).prop_map(|advance_s| Op::Expire { advance_s }),
        1 => Just(Op::Restart),
        1 => Just(Op::Crash),
    ]
}

const SEC: i64 = 1_000_000_000;

fn compare(model: &MemStore, file: &FileStore) {
    assert_eq!(dump(file), dump(model));
    assert_eq!(file.deleted(), model.deleted());
    assert_eq!(file.subjects(b">"), model.subjects(b">"));
    for subj in SUBJECTS {
        assert_eq!(
            file.subject_state(subj.as_bytes()),
            model.subject_state(subj.as_bytes()),
            "{subj}"
        );
        assert_eq!(
            file.last_for_subject(subj.as_bytes()).unwrap(),
            model.last_for_subject(subj.as_bytes()).unwrap()
        );
    }
    let st = model.state();
    for f in FILTERS {
        for start in [st.first_seq, st.first_seq + 3, st.last_seq] {
            assert_eq!(
                file.next_matching(start, Some(f.as_bytes())).unwrap(),
                model.next_matching(start, Some(f.as_bytes())).unwrap()
            );
        }
        assert_eq!(
            file.last_for_subject(f.as_bytes()).unwrap(),
            model.last_for_subject(f.as_bytes()).unwrap()
        );
    }
    assert_eq!(file.next_expiry_ns(), model.next_expiry_ns());
}

fn run(ops: Vec<Op>, block_size_bytes: u64, compression: bool, preallocate_bytes: u64) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("stream");
    let cfg = |limits| FileStoreConfig {
        block_size_bytes,
        compression,
        limits,
        first_seq: 1,
        preallocate_bytes,
        ..Default::default()
    };
    let mut model = memory_store(MemStoreConfig::default());
    let (mut file, _) = open_file_store(&dir, cfg(StoreLimits::default())).unwrap();
    let mut now = 1_000 * SEC;
    for op in ops {
        match op {
            Op::Append { subj, len, ttl_s } => {
                now += SEC;
                let payload: Vec<u8> = (0..len).map(|i| (i % 7) as u8 + b'a').collect();
                let hdr: &[u8] = if len % 3 == 0 {
                    b"NATS/1.0\r\nX: y\r\n\r\n"
                } else {
                    b""
                };
                let ttl = ttl_s.map(|t| if t < 0 { -1 } else { t * SEC });
                let a = model
                    .append(SUBJECTS[subj].as_bytes(), hdr, &payload, now, ttl)
                    .unwrap();
                let b = file
                    .append(SUBJECTS[subj].as_bytes(), hdr, &payload, now, ttl)
                    .unwrap();
                assert_eq!(a, b);
            }
            Op::Delete { back, erase } => {
                let seq = model.state().last_seq.saturating_sub(back);
                assert_eq!(
                    model.delete(seq, erase).unwrap(),
                    file.delete(seq, erase).unwrap()
                );
            }
            Op::Churn { n, len } => {
                for _ in 0..n {
                    now += SEC;
                    let payload = vec![b'c'; len];
                    let a = model.append(b"churn", b"", &payload, now, None).unwrap();
                    let b = file.append(b"churn", b"", &payload, now, None).unwrap();
                    assert_eq!(a, b);
                    assert!(model.delete(a, false).unwrap());
                    assert!(file.delete(b, false).unwrap());
                }
            }
            Op::Compact => {
                let before = file.state();
                let r = file.compact().unwrap();
                assert!(r.bytes_after <= r.bytes_before, "{r:?}");
                assert_eq!(file.state(), before);
            }
            Op::Purge {
                filter,
                up_to_back,
                keep,
            } => {
                let req = PurgeRequest {
                    filter: filter.map(|f| Bytes::from_static(FILTERS[f].as_bytes())),
                    up_to_seq: up_to_back.map(|b| model.state().last_seq.saturating_sub(b)),
                    keep,
                };
                assert_eq!(model.purge(&req).unwrap(), file.purge(&req).unwrap());
            }
            Op::Limits {
                max_msgs,
                max_bytes,
                max_age_s,
                per_subject,
            } => {
                let l = StoreLimits {
                    max_msgs,
                    max_bytes,
                    max_age_ns: if max_age_s > 0 { max_age_s * SEC } else { -1 },
                    max_msgs_per_subject: per_subject,
                };
                model.set_limits(l).unwrap();
                file.set_limits(l).unwrap();
            }
            Op::Expire { advance_s } => {
                now += advance_s * SEC;
                assert_eq!(model.expire(now).unwrap(), file.expire(now).unwrap());
            }
            Op::Restart => {
                let limits = file.limits();
                file.close().unwrap();
                drop(file);
                let (f, report) = open_file_store(&dir, cfg(limits)).unwrap();
                assert!(report.clean_shutdown && report.scanned_records == 0);
                file = f;
            }
            Op::Crash => {
                let limits = file.limits();
                sync(&mut file);
                drop(file);
                let (f, report) = open_file_store(&dir, cfg(limits)).unwrap();
                assert!(!report.clean_shutdown);
                assert!(
                    report.corrupt.is_empty() && report.truncated_bytes == 0,
                    "{report:?}"
                );
                file = f;
            }
        }
        compare(&model, &file);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn file_store_matches_model_small_blocks(ops in prop::collection::vec(op(), 1..80)) {
        run(ops, 4096, false, 0);
    }

    #[test]
    fn file_store_matches_model_lz4(ops in prop::collection::vec(op(), 1..80)) {
        run(ops, 16 << 10, true, 0);
    }

    /// Preallocated active segments: crashes leave zero tails that must read
    /// as the end of the log, never as damage or torn bytes.
    #[test]
    fn file_store_matches_model_preallocated(ops in prop::collection::vec(op(), 1..80)) {
        run(ops, 8 << 10, false, 4096);
    }
}
