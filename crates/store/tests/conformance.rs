//! One conformance suite, run against MemStore and FileStore (small blocks
//! so segment rollover and removal are exercised, with and without lz4).
//! Every test ends with a clean restart and checks nothing changed.

mod common;

use bytes::Bytes;
use common::*;
use weir_store::*;

const SEC: i64 = 1_000_000_000;

fn lim() -> StoreLimits {
    StoreLimits::default()
}

fn put<S: Store>(s: &mut S, subject: &str, payload: &str) -> u64 {
    s.append(
        subject.as_bytes(),
        b"",
        payload.as_bytes(),
        1_000 * SEC,
        None,
    )
    .unwrap()
}

fn put_at<S: Store>(s: &mut S, subject: &str, ts_ns: i64, ttl_ns: Option<i64>) -> u64 {
    s.append(subject.as_bytes(), b"", b"x", ts_ns, ttl_ns)
        .unwrap()
}

fn seqs<S: Store>(s: &S) -> Vec<u64> {
    dump(s).1.iter().map(|m| m.seq).collect()
}

/// Restarts and asserts the observable contents are unchanged.
fn restart_same<F: Factory>(f: &mut F, s: F::S) -> F::S {
    let before = dump(&s);
    let deleted = s.deleted();
    let subjects = s.subjects(b">");
    let s = f.restart(s);
    assert_eq!(dump(&s), before);
    assert_eq!(s.deleted(), deleted);
    assert_eq!(s.subjects(b">"), subjects);
    s
}

fn append_get<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 1);
    let st = s.state();
    assert_eq!((st.msgs, st.first_seq, st.last_seq, st.bytes), (0, 1, 0, 0));
    let hdr = b"NATS/1.0\r\nA: b\r\n\r\n";
    assert_eq!(s.append(b"a.b", hdr, b"one", 10, None).unwrap(), 1);
    assert_eq!(s.append(b"a.c", b"", b"", 20, None).unwrap(), 2);
    let big = vec![b'z'; 20_000];
    assert_eq!(s.append(b"a.b", b"", &big, 30, None).unwrap(), 3);
    let m = s.get(1).unwrap().unwrap();
    assert_eq!(
        (
            m.seq,
            m.ts_ns,
            &m.subject[..],
            &m.headers[..],
            &m.payload[..]
        ),
        (1, 10, &b"a.b"[..], &hdr[..], &b"one"[..])
    );
    let m = s.get(2).unwrap().unwrap();
    assert!(m.headers.is_empty() && m.payload.is_empty());
    assert_eq!(s.get(3).unwrap().unwrap().payload, Bytes::from(big.clone()));
    assert_eq!(s.get(0).unwrap(), None);
    assert_eq!(s.get(4).unwrap(), None);
    let st = s.state();
    assert_eq!(
        (
            st.msgs,
            st.first_seq,
            st.last_seq,
            st.first_ts_ns,
            st.last_ts_ns
        ),
        (3, 1, 3, 10, 30)
    );
    assert_eq!(
        st.bytes,
        msg_size(3, hdr.len(), 3) + msg_size(3, 0, 0) + msg_size(3, 0, big.len())
    );
    assert_eq!((st.num_deleted, st.num_subjects, st.lost), (0, 2, None));
    assert!(
        s.append(b"", b"", b"x", 0, None).is_err(),
        "empty subject rejected"
    );
    let s = restart_same(f, s);
    assert_eq!(s.get(3).unwrap().unwrap().payload.len(), 20_000);
}

fn first_seq<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 100);
    let st = s.state();
    assert_eq!((st.first_seq, st.last_seq, st.msgs), (100, 99, 0));
    assert_eq!(put(&mut s, "a", "1"), 100);
    assert_eq!(put(&mut s, "a", "2"), 101);
    assert_eq!(s.get(99).unwrap(), None);
    let st = s.state();
    assert_eq!((st.first_seq, st.last_seq, st.msgs), (100, 101, 2));
    let mut s = restart_same(f, s);
    assert_eq!(put(&mut s, "a", "3"), 102);
}

fn next_matching<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 1);
    for subj in ["a.1", "a.2", "b.1", "a.1", "b.2.x", "c"] {
        put(&mut s, subj, subj);
    }
    let nm = |s: &F::S, start: u64, filter: Option<&str>| {
        s.next_matching(start, filter.map(|f| f.as_bytes()))
            .unwrap()
            .map(|m| m.seq)
    };
    assert_eq!(nm(&s, 1, Some("a.1")), Some(1));
    assert_eq!(nm(&s, 2, Some("a.1")), Some(4));
    assert_eq!(nm(&s, 5, Some("a.1")), None);
    assert_eq!(nm(&s, 0, Some("zzz")), None);
    assert_eq!(nm(&s, 2, Some("a.*")), Some(2));
    assert_eq!(nm(&s, 3, Some("a.*")), Some(4));
    assert_eq!(nm(&s, 1, Some("b.>")), Some(3));
    assert_eq!(nm(&s, 4, Some("b.>")), Some(5));
    assert_eq!(nm(&s, 1, Some("*.2")), Some(2));
    assert_eq!(nm(&s, 3, Some("*.2")), None);
    assert_eq!(nm(&s, 4, Some(">")), Some(4));
    assert_eq!(nm(&s, 6, None), Some(6));
    assert_eq!(nm(&s, 7, None), None);
    assert!(s.delete(4, false).unwrap());
    assert_eq!(nm(&s, 2, Some("a.1")), None);
    assert_eq!(nm(&s, 4, None), Some(5), "skips the deleted seq");
    let s = restart_same(f, s);
    assert_eq!(nm(&s, 2, Some("a.*")), Some(2));
}

fn last_for_subject<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 1);
    for subj in ["a.1", "a.2", "b.1", "a.1", "b.2"] {
        put(&mut s, subj, subj);
    }
    let last = |s: &F::S, f: &str| s.last_for_subject(f.as_bytes()).unwrap().map(|m| m.seq);
    assert_eq!(last(&s, "a.1"), Some(4));
    assert_eq!(last(&s, "a.*"), Some(4));
    assert_eq!(last(&s, "b.*"), Some(5));
    assert_eq!(last(&s, ">"), Some(5));
    assert_eq!(last(&s, "x"), None);
    s.delete(4, false).unwrap();
    assert_eq!(last(&s, "a.1"), Some(1));
    assert_eq!(last(&s, "a.*"), Some(2));
    s.delete(5, false).unwrap();
    assert_eq!(last(&s, ">"), Some(3));
    let m = s.last_for_subject(b"a.1").unwrap().unwrap();
    assert_eq!(&m.payload[..], b"a.1");
    let s = restart_same(f, s);
    assert_eq!(last(&s, "b.*"), Some(3));
}

fn deletes<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 1);
    for i in 0..10 {
        put(&mut s, if i % 2 == 0 { "even" } else { "odd" }, "v");
    }
    // interior
    assert!(s.delete(5, false).unwrap());
    assert!(!s.delete(5, false).unwrap(), "second delete is a no-op");
    assert!(!s.delete(11, false).unwrap());
    let st = s.state();
    assert_eq!(
        (st.msgs, st.first_seq, st.last_seq, st.num_deleted),
        (9, 1, 10, 1)
    );
    assert_eq!(s.deleted(), vec![5]);
    // first: first_seq moves to the next live message
    assert!(s.delete(1, false).unwrap());
    assert!(s.delete(2, true).unwrap());
    let st = s.state();
    assert_eq!((st.msgs, st.first_seq, st.num_deleted), (7, 3, 1));
    assert_eq!(
        s.subject_state(b"even"),
        Some(SubjectState {
            first_seq: 3,
            last_seq: 9,
            msgs: 3
        })
    );
    assert_eq!(
        s.subject_state(b"odd"),
        Some(SubjectState {
            first_seq: 4,
            last_seq: 10,
            msgs: 4
        })
    );
    // last: last_seq stays
    assert!(s.delete(10, false).unwrap());
    let st = s.state();
    assert_eq!((st.msgs, st.last_seq, st.num_deleted), (6, 10, 2));
    assert_eq!(s.deleted(), vec![5, 10]);
    assert_eq!(
        s.subject_state(b"odd"),
        Some(SubjectState {
            first_seq: 4,
            last_seq: 8,
            msgs: 3
        })
    );
    s.delete(3, false).unwrap();
    s.delete(4, false).unwrap();
    assert_eq!(s.state().first_seq, 6, "skips the interior deleted 5");
    assert_eq!(s.deleted(), vec![10]);
    let mut s = restart_same(f, s);
    for q in [6, 7, 8, 9] {
        assert!(s.delete(q, false).unwrap());
    }
    let st = s.state();
    assert_eq!(
        (
            st.msgs,
            st.first_seq,
            st.last_seq,
            st.num_deleted,
            st.num_subjects
        ),
        (0, 11, 10, 0, 0)
    );
    assert_eq!(put(&mut s, "z", "v"), 11);
    restart_same(f, s);
}

fn purge_all<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 1);
    for _ in 0..5 {
        put(&mut s, "a", "v");
    }
    assert_eq!(s.purge(&PurgeRequest::default()).unwrap(), 5);
    let st = s.state();
    assert_eq!(
        (
            st.msgs,
            st.bytes,
            st.first_seq,
            st.last_seq,
            st.num_subjects
        ),
        (0, 0, 6, 5, 0)
    );
    assert!(s.subjects(b">").is_empty());
    let mut s = restart_same(f, s);
    assert_eq!(put(&mut s, "a", "v"), 6);
    assert_eq!(s.state().first_seq, 6);
    assert_eq!(s.purge(&PurgeRequest::default()).unwrap(), 1);
    restart_same(f, s);
}

fn purge_variants<F: Factory>(f: &mut F) {
    let mk = |f: &mut F| {
        let mut s = f.create(lim(), 1);
        for subj in ["a", "b", "a", "c", "a", "b"] {
            put(&mut s, subj, "v");
        }
        s
    };
    let filter = |x: &str| Some(Bytes::copy_from_slice(x.as_bytes()));
    // by filter
    let mut s = mk(f);
    assert_eq!(
        s.purge(&PurgeRequest {
            filter: filter("a"),
            ..Default::default()
        })
        .unwrap(),
        3
    );
    assert_eq!(seqs(&s), vec![2, 4, 6]);
    assert_eq!(s.state().first_seq, 2);
    assert_eq!(s.subject_state(b"a"), None);
    restart_same(f, s);
    // wildcard filter
    let mut s = mk(f);
    assert_eq!(
        s.purge(&PurgeRequest {
            filter: filter("*"),
            up_to_seq: Some(4),
            ..Default::default()
        })
        .unwrap(),
        3
    );
    assert_eq!(seqs(&s), vec![4, 5, 6]);
    restart_same(f, s);
    // up_to_seq
    let mut s = mk(f);
    assert_eq!(
        s.purge(&PurgeRequest {
            up_to_seq: Some(3),
            ..Default::default()
        })
        .unwrap(),
        2
    );
    assert_eq!(seqs(&s), vec![3, 4, 5, 6]);
    assert_eq!(s.state().first_seq, 3);
    restart_same(f, s);
    // filter + up_to_seq
    let mut s = mk(f);
    assert_eq!(
        s.purge(&PurgeRequest {
            filter: filter("a"),
            up_to_seq: Some(5),
            ..Default::default()
        })
        .unwrap(),
        2
    );
    assert_eq!(seqs(&s), vec![2, 4, 5, 6]);
    assert_eq!(
        s.subject_state(b"a"),
        Some(SubjectState {
            first_seq: 5,
            last_seq: 5,
            msgs: 1
        })
    );
    restart_same(f, s);
    // keep
    let mut s = mk(f);
    assert_eq!(
        s.purge(&PurgeRequest {
            keep: Some(2),
            ..Default::default()
        })
        .unwrap(),
        4
    );
    assert_eq!(seqs(&s), vec![5, 6]);
    assert_eq!(
        s.purge(&PurgeRequest {
            keep: Some(5),
            ..Default::default()
        })
        .unwrap(),
        0
    );
    restart_same(f, s);
    // keep + filter: keep the newest N among matching messages
    let mut s = mk(f);
    assert_eq!(
        s.purge(&PurgeRequest {
            filter: filter("a"),
            keep: Some(1),
            ..Default::default()
        })
        .unwrap(),
        2
    );
    assert_eq!(seqs(&s), vec![2, 4, 5, 6]);
    assert_eq!(s.state().num_deleted, 1);
    assert_eq!(s.deleted(), vec![3]);
    let st = s.state();
    assert_eq!((st.msgs, st.num_subjects), (4, 3));
    // keep + up_to_seq is refused
    assert!(s
        .purge(&PurgeRequest {
            keep: Some(1),
            up_to_seq: Some(3),
            ..Default::default()
        })
        .is_err());
    // up_to_seq past the end restarts the stream there
    assert_eq!(
        s.purge(&PurgeRequest {
            up_to_seq: Some(50),
            ..Default::default()
        })
        .unwrap(),
        4
    );
    let st = s.state();
    assert_eq!((st.msgs, st.first_seq, st.last_seq), (0, 50, 49));
    let mut s = restart_same(f, s);
    assert_eq!(put(&mut s, "a", "v"), 50);
    restart_same(f, s);
}

fn limit_max_msgs<F: Factory>(f: &mut F) {
    let mut s = f.create(
        StoreLimits {
            max_msgs: 3,
            ..lim()
        },
        1,
    );
    for i in 0..5 {
        put(&mut s, &format!("s.{i}"), "v");
    }
    assert_eq!(seqs(&s), vec![3, 4, 5]);
    let st = s.state();
    assert_eq!(
        (st.msgs, st.first_seq, st.last_seq, st.num_subjects),
        (3, 3, 5, 3)
    );
    let mut s = restart_same(f, s);
    put(&mut s, "s.x", "v");
    assert_eq!(seqs(&s), vec![4, 5, 6]);
    s.set_limits(StoreLimits {
        max_msgs: 1,
        ..lim()
    })
    .unwrap();
    assert_eq!(seqs(&s), vec![6]);
    s.set_limits(lim()).unwrap();
    put(&mut s, "s.x", "v");
    assert_eq!(seqs(&s), vec![6, 7]);
    restart_same(f, s);
}

fn limit_max_bytes<F: Factory>(f: &mut F) {
    let one = msg_size(1, 0, 10);
    let mut s = f.create(
        StoreLimits {
            max_bytes: (one * 3) as i64,
            ..lim()
        },
        1,
    );
    for _ in 0..5 {
        put(&mut s, "a", "0123456789");
    }
    assert_eq!(seqs(&s), vec![3, 4, 5]);
    assert_eq!(s.state().bytes, one * 3);
    s.set_limits(StoreLimits {
        max_bytes: (one * 2 - 1) as i64,
        ..lim()
    })
    .unwrap();
    assert_eq!(seqs(&s), vec![5]);
    assert_eq!(s.state().bytes, one);
    restart_same(f, s);
}

fn limit_per_subject<F: Factory>(f: &mut F) {
    let mut s = f.create(
        StoreLimits {
            max_msgs_per_subject: 2,
            ..lim()
        },
        1,
    );
    for subj in ["a", "b", "a", "a", "b", "a", "c"] {
        put(&mut s, subj, "v");
    }
    assert_eq!(seqs(&s), vec![2, 4, 5, 6, 7]);
    assert_eq!(
        s.subject_state(b"a"),
        Some(SubjectState {
            first_seq: 4,
            last_seq: 6,
            msgs: 2
        })
    );
    assert_eq!(s.deleted(), vec![3]);
    let mut s = restart_same(f, s);
    s.set_limits(StoreLimits {
        max_msgs_per_subject: 1,
        ..lim()
    })
    .unwrap();
    assert_eq!(seqs(&s), vec![5, 6, 7]);
    assert_eq!(
        s.subjects(b">"),
        vec![
            (Bytes::from("a"), 1),
            (Bytes::from("b"), 1),
            (Bytes::from("c"), 1)
        ]
    );
    restart_same(f, s);
}

fn limit_max_age<F: Factory>(f: &mut F) {
    let mut s = f.create(
        StoreLimits {
            max_age_ns: 10 * SEC,
            ..lim()
        },
        1,
    );
    put_at(&mut s, "a", 100 * SEC, None);
    put_at(&mut s, "b", 101 * SEC, Some(-1)); // TTL "never": exempt from max_age
    put_at(&mut s, "a", 105 * SEC, None);
    put_at(&mut s, "c", 120 * SEC, None);
    assert_eq!(s.next_expiry_ns(), Some(110 * SEC));
    assert!(s.expire(109 * SEC).unwrap().is_empty());
    let gone = s.expire(116 * SEC).unwrap();
    assert_eq!(
        gone.iter().map(|e| (e.seq, e.by_ttl)).collect::<Vec<_>>(),
        vec![(1, false), (3, false)]
    );
    assert_eq!(&gone[0].subject[..], b"a");
    assert_eq!(seqs(&s), vec![2, 4]);
    let st = s.state();
    assert_eq!(
        (st.first_seq, st.first_ts_ns, st.num_deleted),
        (2, 101 * SEC, 1)
    );
    let mut s = restart_same(f, s);
    assert_eq!(s.expire(1000 * SEC).unwrap().len(), 1);
    assert_eq!(seqs(&s), vec![2]);
    restart_same(f, s);
}

fn per_message_ttl<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 1);
    put_at(&mut s, "a", 100 * SEC, Some(5 * SEC));
    put_at(&mut s, "b", 100 * SEC, None);
    put_at(&mut s, "c", 101 * SEC, Some(2 * SEC));
    put_at(&mut s, "d", 101 * SEC, Some(60 * SEC));
    assert_eq!(s.next_expiry_ns(), Some(103 * SEC));
    let gone = s.expire(103 * SEC).unwrap();
    assert_eq!(
        gone,
        vec![ExpiredMsg {
            seq: 3,
            subject: Bytes::from("c"),
            by_ttl: true,
            last_headers: Some(Bytes::new()),
        }]
    );
    let mut s = restart_same(f, s);
    let gone = s.expire(105 * SEC).unwrap();
    assert_eq!(gone.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1]);
    assert_eq!(seqs(&s), vec![2, 4]);
    // deleted before expiry: nothing to expire later
    s.delete(4, false).unwrap();
    assert!(s.expire(1000 * SEC).unwrap().is_empty());
    assert_eq!(seqs(&s), vec![2]);
    restart_same(f, s);
}

/// Expiry hands back the headers of a subject's last message (the writer's delete-marker
/// decision), and only of the last one.
fn expired_last_headers<F: Factory>(f: &mut F) {
    let mut s = f.create(
        StoreLimits {
            max_age_ns: 10 * SEC,
            ..lim()
        },
        1,
    );
    let hdr = b"NATS/1.0\r\nKV-Operation: PURGE\r\n\r\n";
    s.append(b"a", b"", b"1", 100 * SEC, None).unwrap();
    s.append(b"a", hdr, b"", 101 * SEC, Some(SEC)).unwrap();
    s.append(b"b", b"", b"2", 101 * SEC, None).unwrap();
    s.append(b"b", b"", b"3", 120 * SEC, None).unwrap();
    let gone = s.expire(112 * SEC).unwrap();
    let got: Vec<_> = gone
        .iter()
        .map(|e| (e.seq, e.by_ttl, e.last_headers.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (2, true, None),
            (1, false, Some(Bytes::new())),
            (3, false, None)
        ]
    );
    let mut s = restart_same(f, s);
    s.append(b"c", hdr, b"", 200 * SEC, Some(SEC)).unwrap();
    let gone = s.expire(201 * SEC).unwrap();
    assert_eq!(gone.len(), 2);
    assert_eq!(gone[0].seq, 5);
    assert_eq!(gone[0].last_headers.as_deref(), Some(&hdr[..]));
    assert_eq!(
        (gone[1].seq, gone[1].last_headers.as_deref()),
        (4, Some(&b""[..]))
    );
}

fn subjects_and_state<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 1);
    for subj in ["x.a", "x.b", "y.a", "x.a", "x.a"] {
        put(&mut s, subj, "v");
    }
    assert_eq!(
        s.subjects(b"x.*"),
        vec![(Bytes::from("x.a"), 3), (Bytes::from("x.b"), 1)]
    );
    assert_eq!(
        s.subjects(b"*.a"),
        vec![(Bytes::from("x.a"), 3), (Bytes::from("y.a"), 1)]
    );
    assert_eq!(s.subjects(b">").len(), 3);
    assert_eq!(
        s.subject_state(b"x.a"),
        Some(SubjectState {
            first_seq: 1,
            last_seq: 5,
            msgs: 3
        })
    );
    assert_eq!(s.subject_state(b"nope"), None);
    s.delete(1, false).unwrap();
    s.delete(5, false).unwrap();
    assert_eq!(
        s.subject_state(b"x.a"),
        Some(SubjectState {
            first_seq: 4,
            last_seq: 4,
            msgs: 1
        })
    );
    s.delete(2, false).unwrap();
    assert_eq!(s.subject_state(b"x.b"), None);
    assert_eq!(s.state().num_subjects, 2);
    restart_same(f, s);
}

fn many_subjects_and_rollover<F: Factory>(f: &mut F) {
    let mut s = f.create(
        StoreLimits {
            max_msgs_per_subject: 3,
            ..lim()
        },
        1,
    );
    let payload = "p".repeat(300);
    for i in 0..2000u64 {
        let subj = format!("k.{}", i % 200);
        s.append(subj.as_bytes(), b"", payload.as_bytes(), i as i64, None)
            .unwrap();
        if i % 500 == 0 {
            sync(&mut s);
        }
    }
    let st = s.state();
    assert_eq!(
        (st.msgs, st.num_subjects, st.first_seq, st.last_seq),
        (600, 200, 1401, 2000)
    );
    assert_eq!(
        s.subject_state(b"k.7"),
        Some(SubjectState {
            first_seq: 1408,
            last_seq: 1808,
            msgs: 3
        })
    );
    let mut s = restart_same(f, s);
    assert_eq!(
        s.purge(&PurgeRequest {
            filter: Some(Bytes::from("k.1*")),
            ..Default::default()
        })
        .unwrap(),
        0
    );
    assert_eq!(
        s.purge(&PurgeRequest {
            filter: Some(Bytes::from("k.*")),
            keep: Some(10),
            ..Default::default()
        })
        .unwrap(),
        590
    );
    assert_eq!(seqs(&s), (1991..=2000).collect::<Vec<_>>());
    restart_same(f, s);
}

fn pending_and_multi_last<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 1);
    // 1:a.1 2:a.2 3:b.1 4:a.1 5:b.2 6:a.2
    for subj in ["a.1", "a.2", "b.1", "a.1", "b.2", "a.2"] {
        put(&mut s, subj, subj);
    }
    assert_eq!(s.num_pending(1, None), 6);
    assert_eq!(s.num_pending(4, None), 3);
    assert_eq!(s.num_pending(7, None), 0);
    assert_eq!(s.num_pending(1, Some(b"a.1")), 2);
    assert_eq!(s.num_pending(2, Some(b"a.1")), 1);
    assert_eq!(s.num_pending(1, Some(b"a.*")), 4);
    assert_eq!(s.num_pending(5, Some(b"a.*")), 1);
    assert_eq!(s.num_pending(1, Some(b"x")), 0);
    assert_eq!(s.last_seqs_per_subject(&[b"a.*"], u64::MAX), vec![4, 6]);
    assert_eq!(
        s.last_seqs_per_subject(&[b"a.*", b"b.*"], u64::MAX),
        vec![3, 4, 5, 6]
    );
    // As of seq 3: a.1's last was 1, a.2's was 2.
    assert_eq!(s.last_seqs_per_subject(&[b"a.*"], 3), vec![1, 2]);
    assert_eq!(s.last_seqs_per_subject(&[b">"], 4), vec![2, 3, 4]);
    s.delete(4, false).unwrap();
    assert_eq!(s.num_pending(1, Some(b"a.*")), 3);
    assert_eq!(s.last_seqs_per_subject(&[b"a.1"], u64::MAX), vec![1]);
    let s = restart_same(f, s);
    assert_eq!(s.num_pending(1, None), 5);
    assert_eq!(s.last_seqs_per_subject(&[b"b.*"], u64::MAX), vec![3, 5]);
}

/// Compaction never changes what a store serves (the memory store has
/// nothing to compact; the file store rewrites mostly-deleted segments).
fn compact_keeps_contents<F: Factory>(f: &mut F) {
    let mut s = f.create(lim(), 1);
    let payload = "c".repeat(200);
    for i in 0..600u64 {
        let subj = format!("k.{}", i % 5);
        s.append(subj.as_bytes(), b"", payload.as_bytes(), i as i64, None)
            .unwrap();
    }
    // Three of every four deleted in the older two thirds.
    for q in (1..=400u64).filter(|q| q % 4 != 0) {
        assert!(s.delete(q, q % 7 == 0).unwrap());
    }
    sync(&mut s);
    let before = (dump(&s), s.deleted(), s.subjects(b">"));
    let mut calls = 0;
    loop {
        let r = s.compact().unwrap();
        assert!(r.bytes_after <= r.bytes_before, "{r:?}");
        assert_eq!((dump(&s), s.deleted(), s.subjects(b">")), before);
        calls += 1;
        if !r.more {
            break;
        }
        assert!(calls < 1000, "compaction does not converge");
    }
    assert_eq!(s.compact().unwrap().segments, 0, "nothing left to do");
    // Still writable and deletable after compaction.
    let q = put(&mut s, "k.new", "after");
    assert!(s.delete(8, true).unwrap());
    assert_eq!(s.get(q).unwrap().unwrap().payload, &b"after"[..]);
    restart_same(f, s);
}

macro_rules! suite {
    ($name:ident, $factory:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn append_get() {
                super::append_get(&mut $factory)
            }
            #[test]
            fn first_seq() {
                super::first_seq(&mut $factory)
            }
            #[test]
            fn next_matching() {
                super::next_matching(&mut $factory)
            }
            #[test]
            fn last_for_subject() {
                super::last_for_subject(&mut $factory)
            }
            #[test]
            fn deletes() {
                super::deletes(&mut $factory)
            }
            #[test]
            fn purge_all() {
                super::purge_all(&mut $factory)
            }
            #[test]
            fn purge_variants() {
                super::purge_variants(&mut $factory)
            }
            #[test]
            fn limit_max_msgs() {
                super::limit_max_msgs(&mut $factory)
            }
            #[test]
            fn limit_max_bytes() {
                super::limit_max_bytes(&mut $factory)
            }
            #[test]
            fn limit_per_subject() {
                super::limit_per_subject(&mut $factory)
            }
            #[test]
            fn limit_max_age() {
                super::limit_max_age(&mut $factory)
            }
            #[test]
            fn per_message_ttl() {
                super::per_message_ttl(&mut $factory)
            }
            #[test]
            fn expired_last_headers() {
                super::expired_last_headers(&mut $factory)
            }
            #[test]
            fn subjects_and_state() {
                super::subjects_and_state(&mut $factory)
            }
            #[test]
            fn many_subjects_and_rollover() {
                super::many_subjects_and_rollover(&mut $factory)
            }
            #[test]
            fn pending_and_multi_last() {
                super::pending_and_multi_last(&mut $factory)
            }
            #[test]
            fn compact_keeps_contents() {
                super::compact_keeps_contents(&mut $factory)
            }
        }
    };
}

suite!(memory, MemFactory);
suite!(file, FileFactory::new(4096, false));
suite!(file_lz4, FileFactory::new(4096, true));
suite!(file_big_blocks, FileFactory::new(8 << 20, false));
suite!(
    file_prealloc,
    FileFactory::new(8192, false).preallocated(4096)
);

#[test]
fn stores_and_batches_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<MemStore>();
    send_sync::<FileStore>();
    send::<SyncBatch>();
    // The JetStream layer's shape: writes under a write lock, fsync outside it.
    let dir = tempfile::tempdir().unwrap();
    let store = parking_lot::RwLock::new(
        open_file_store(dir.path(), FileStoreConfig::default())
            .unwrap()
            .0,
    );
    let batch = {
        let mut s = store.write();
        s.append(b"a", b"", b"1", 1, None).unwrap();
        s.flush().unwrap()
    };
    let reader = std::thread::scope(|sc| {
        let h = sc.spawn(|| store.read().get(1).unwrap().map(|m| m.seq));
        batch.sync().unwrap();
        h.join().unwrap()
    });
    assert_eq!(reader, Some(1));
}

#[test]
fn wildcard_lookups_far_away_use_the_index() {
    let mut s = memory_store(MemStoreConfig::default());
    s.append(b"rare.x", b"", b"r", 0, None).unwrap();
    for i in 0..10_000u64 {
        s.append(format!("common.{}", i % 100).as_bytes(), b"", b"c", 0, None)
            .unwrap();
    }
    s.append(b"rare.y", b"", b"r", 0, None).unwrap();
    s.append(b"common.z", b"", b"c", 0, None).unwrap();
    assert_eq!(
        s.next_matching(2, Some(b"rare.*")).unwrap().map(|m| m.seq),
        Some(10_002)
    );
    assert_eq!(s.next_matching(10_003, Some(b"rare.*")).unwrap(), None);
    assert_eq!(
        s.last_for_subject(b"rare.*").unwrap().map(|m| m.seq),
        Some(10_002)
    );
    s.delete(10_002, false).unwrap();
    assert_eq!(
        s.last_for_subject(b"rare.*").unwrap().map(|m| m.seq),
        Some(1)
    );
    assert_eq!(s.next_matching(2, Some(b"rare.*")).unwrap(), None);
}
