//! Key-Value key operations through the official client (`async_nats::jetstream::kv`):
//! put/get/entry, create (only if absent), update (compare-and-set on the revision, also under
//! concurrency), delete and purge markers, reading a revision, the history limit (and lowering
//! it), max_value_size, max_bytes, client-side key validation and the bucket's status.
//!
//! Runs against Weir or (`WEIR_TEST_TARGET=nats-server`) the reference nats-server 2.9.10;
//! buckets are made with `kv_common::create_bucket` (on 2.9.10 through the stream API, which
//! async-nats 0.51's `create_key_value` cannot use there). The max_bytes test is skipped on
//! 2.9.10, which drops old values under discard new instead of refusing new ones. Bucket
//! lifecycle is in `kv_bucket.rs`, per-key TTL in `kv_ttl.rs`, watchers and history in
//! `kv_watch.rs`.

mod common;
mod js_common;
mod kv_common;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation, PutErrorKind, UpdateErrorKind};
use bytes::Bytes;
use common::within;
use js_common::*;
use kv_common::*;

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/// put returns the revision (the stream sequence); get and entry read the latest value; keys
/// may use every character the client allows; missing keys read as None; empty values are
/// values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_and_entry() {
    let j = setup!();
    let js = js_ctx(&j);
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "K".into(),
            history: 5,
            ..Default::default()
        },
    )
    .await;
    let odd = "b.c/d_e=f-G9";
    assert_eq!(kv.put("a", "1".into()).await.unwrap(), 1);
    assert_eq!(kv.put(odd, "2".into()).await.unwrap(), 2);
    assert_eq!(kv.put("a", "3".into()).await.unwrap(), 3);
    assert_eq!(kv.put("empty", Bytes::new()).await.unwrap(), 4);

    assert_eq!(kv.get("a").await.unwrap().as_deref(), Some(&b"3"[..]));
    assert_eq!(kv.get(odd).await.unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(kv.get("empty").await.unwrap().as_deref(), Some(&b""[..]));
    assert_eq!(kv.get("missing").await.unwrap(), None);
    assert_eq!(kv.entry("missing").await.unwrap(), None);
    // A prefix of a key or a key under another is another key.
    assert_eq!(kv.get("b").await.unwrap(), None);
    assert_eq!(kv.get("b.c").await.unwrap(), None);

    let e = kv.entry("a").await.unwrap().expect("entry a");
    assert_eq!(e.bucket, "K");
    assert_eq!(e.key, "a");
    assert_eq!(e.value.as_ref(), b"3");
    assert_eq!(e.revision, 3);
    assert_eq!(e.operation, Operation::Put);
    assert_eq!(e.delta, 0);
    let age = unix_now() - e.created.unix_timestamp();
    assert!((-5..60).contains(&age), "created {:?}", e.created);

    // Stored on `$KV.K.<key>`, no headers for a plain put.
    let raw = raw_msg(&j, "KV_K", 2).await;
    assert_eq!(raw["message"]["subject"], format!("$KV.K.{odd}"), "{raw}");
    assert_eq!(raw_payload(&raw), b"2");
    assert_eq!(raw_headers(&raw), "", "{raw}");

    let status = kv.status().await.unwrap();
    assert_eq!(status.bucket(), "K");
    // `status()` in async-nats 0.51 returns the info cached at open; the server's count:
    assert_eq!(u(&state_json(&j, "KV_K").await["messages"]), 4);
    let fresh = js.get_key_value("K").await.unwrap().status().await.unwrap();
    assert_eq!(fresh.values(), 4);
    assert_eq!(fresh.history(), 5);
}

/// `create` stores only if the key is absent: a second create is `AlreadyExists` (the server
/// refused the expected-last-subject-sequence 0 with 10071); after a delete or a purge the
/// key can be created again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_only_if_absent() {
    let j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "C".into(),
            history: 10,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(kv.create("k", "first".into()).await.unwrap(), 1);
    // The stored create keeps the expectation header it was published with.
    let raw = raw_msg(&j, "KV_C", 1).await;
    assert!(
        raw_headers(&raw).contains("Nats-Expected-Last-Subject-Sequence: 0"),
        "{}",
        raw_headers(&raw)
    );
    let err = kv
        .create("k", "second".into())
        .await
        .expect_err("key exists");
    assert_eq!(err.kind(), CreateErrorKind::AlreadyExists, "{err}");
    // `create` reads the entry after the refusal and reports `AlreadyExists` without the
    // server's error; the refusal itself is what `update(key, value, 0)` gets.
    let err = kv
        .update("k", "second".into(), 0)
        .await
        .expect_err("key exists");
    let e = expect_js_err(&err, "expected last subject sequence 0");
    assert_eq!((e.code, e.err_code), (400, 10071), "{e:?}");
    assert_eq!(e.description, "wrong last sequence: 1", "{e:?}");
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"first"[..]));

    kv.delete("k").await.unwrap();
    assert_eq!(kv.create("k", "again".into()).await.unwrap(), 3);
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"again"[..]));

    kv.purge("k").await.unwrap();
    assert_eq!(kv.create("k", "after purge".into()).await.unwrap(), 5);
    assert_eq!(
        kv.get("k").await.unwrap().as_deref(),
        Some(&b"after purge"[..])
    );
}

/// `update` is compare-and-set on the key's revision: the right revision stores, a stale one
/// is `WrongLastRevision` (10071 "wrong last sequence: <actual>"), and revision 0 means "no
/// value yet". Another key's writes do not move this key's revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_compare_and_set() {
    let j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "U".into(),
            history: 10,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(kv.update("k", "v0".into(), 0).await.unwrap(), 1);
    let r1 = kv.put("k", "v1".into()).await.unwrap();
    assert_eq!(r1, 2);
    // Another key in between.
    assert_eq!(kv.put("other", "x".into()).await.unwrap(), 3);
    let r2 = kv
        .update("k", "v2".into(), r1)
        .await
        .expect("right revision");
    assert_eq!(r2, 4);

    let err = kv
        .update("k", "stale".into(), r1)
        .await
        .expect_err("stale revision");
    assert_eq!(err.kind(), UpdateErrorKind::WrongLastRevision, "{err}");
    let e = expect_js_err(&err, "stale update");
    assert_eq!((e.code, e.err_code), (400, 10071), "{e:?}");
    assert_eq!(e.description, "wrong last sequence: 4", "{e:?}");

    // The other key's revision is not this key's.
    let err = kv
        .update("k", "wrong key rev".into(), 3)
        .await
        .expect_err("another key's revision");
    assert_eq!(err.kind(), UpdateErrorKind::WrongLastRevision, "{err}");

    let err = kv
        .update("k", "zero".into(), 0)
        .await
        .expect_err("0 = must not exist");
    assert_eq!(err.kind(), UpdateErrorKind::WrongLastRevision, "{err}");
    let err = kv
        .update("fresh", "x".into(), 2)
        .await
        .expect_err("revision of a key that has none");
    assert_eq!(err.kind(), UpdateErrorKind::WrongLastRevision, "{err}");
    let e = expect_js_err(&err, "update of a missing key");
    assert_eq!(e.description, "wrong last sequence: 0", "{e:?}");

    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(u(&state_json(&j, "KV_U").await["messages"]), 4);
    // After a delete, the delete marker's revision is the one to update from.
    kv.delete("k").await.unwrap();
    let marker = kv.entry("k").await.unwrap().unwrap();
    assert_eq!(marker.operation, Operation::Delete);
    assert_eq!(marker.revision, 5);
    assert_eq!(kv.update("k", "v3".into(), 5).await.unwrap(), 6);
}

/// delete leaves a `DEL` marker (empty value, `KV-Operation: DEL` header): get is None, entry
/// shows the operation and revision; older revisions stay readable. `delete_expect_revision`
/// checks the revision like update does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_leaves_a_marker() {
    let j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "D".into(),
            history: 10,
            ..Default::default()
        },
    )
    .await;
    kv.put("k", "v1".into()).await.unwrap();
    kv.put("k", "v2".into()).await.unwrap();
    kv.delete("k").await.unwrap();
    assert_eq!(kv.get("k").await.unwrap(), None);
    let e = kv
        .entry("k")
        .await
        .unwrap()
        .expect("the marker is an entry");
    assert_eq!(e.operation, Operation::Delete);
    assert_eq!(e.revision, 3);
    assert!(e.value.is_empty());
    let raw = raw_msg(&j, "KV_D", 3).await;
    assert!(
        raw_headers(&raw).contains("KV-Operation: DEL"),
        "{}",
        raw_headers(&raw)
    );
    assert!(raw_payload(&raw).is_empty());
    // Nothing was removed: history keeps the values.
    assert_eq!(u(&state_json(&j, "KV_D").await["messages"]), 3);
    assert_eq!(
        kv.entry_for_revision("k", 1)
            .await
            .unwrap()
            .map(|e| e.value),
        Some(Bytes::from("v1"))
    );
    // Deleting a deleted key adds another marker.
    kv.delete("k").await.unwrap();
    assert_eq!(kv.entry("k").await.unwrap().unwrap().revision, 4);

    kv.put("k", "v3".into()).await.unwrap();
    let err = kv
        .delete_expect_revision("k", Some(4))
        .await
        .expect_err("stale revision");
    assert_eq!(err.kind(), UpdateErrorKind::WrongLastRevision, "{err}");
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"v3"[..]));
    kv.delete_expect_revision("k", Some(5))
        .await
        .expect("right revision");
    assert_eq!(kv.get("k").await.unwrap(), None);
    assert_eq!(kv.entry("k").await.unwrap().unwrap().revision, 6);
}

/// purge rolls the key up to one `PURGE` marker (`KV-Operation: PURGE`, `Nats-Rollup: sub`):
/// every older revision of that key is gone, other keys are untouched, history of the key is
/// the marker alone; `purge_expect_revision` checks the revision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_keeps_only_the_marker() {
    let j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "P".into(),
            history: 10,
            ..Default::default()
        },
    )
    .await;
    for i in 0..4 {
        kv.put("k", format!("k{i}").into()).await.unwrap();
        kv.put("other", format!("o{i}").into()).await.unwrap();
    }
    assert_eq!(u(&state_json(&j, "KV_P").await["messages"]), 8);
    kv.purge("k").await.unwrap();
    assert_eq!(kv.get("k").await.unwrap(), None);
    let e = kv.entry("k").await.unwrap().unwrap();
    assert_eq!(e.operation, Operation::Purge);
    assert_eq!(e.revision, 9);
    assert!(e.value.is_empty());
    let st = state_json(&j, "KV_P").await;
    assert_eq!(u(&st["messages"]), 5, "4 of `other` and the marker: {st}");
    let raw = raw_msg(&j, "KV_P", 9).await;
    let h = raw_headers(&raw);
    assert!(h.contains("KV-Operation: PURGE"), "{h}");
    assert!(h.contains("Nats-Rollup: sub"), "{h}");
    // Old revisions of the key are gone; of the other key, kept.
    assert_eq!(kv.entry_for_revision("k", 1).await.unwrap(), None);
    assert_eq!(
        kv.entry_for_revision("other", 8)
            .await
            .unwrap()
            .map(|e| e.value),
        Some(Bytes::from("o3"))
    );
    let hist = collect_all(kv.history("k").await.unwrap(), "history of k").await;
    assert_eq!(
        hist.iter().map(kov).collect::<Vec<_>>(),
        vec![purged("k")],
        "{hist:?}"
    );
    assert_eq!(hist[0].revision, 9);
    assert_eq!(kv.get("other").await.unwrap().as_deref(), Some(&b"o3"[..]));

    // After a purge, new values build history again.
    kv.put("k", "new".into()).await.unwrap();
    let hist = collect_all(kv.history("k").await.unwrap(), "history of k").await;
    assert_eq!(
        hist.iter().map(kov).collect::<Vec<_>>(),
        vec![purged("k"), put("k", "new")]
    );

    let err = kv
        .purge_expect_revision("k", Some(9))
        .await
        .expect_err("stale revision");
    assert_eq!(err.kind(), UpdateErrorKind::WrongLastRevision, "{err}");
    kv.purge_expect_revision("k", Some(10)).await.unwrap();
    let hist = collect_all(kv.history("k").await.unwrap(), "history of k").await;
    assert_eq!(hist.iter().map(kov).collect::<Vec<_>>(), vec![purged("k")]);
    assert_eq!(hist[0].revision, 11);
}

/// `entry_for_revision` reads one revision of a key: older values while history keeps them,
/// None for a revision of another key, past the end, or dropped by the history limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entry_for_revision_and_history_limit() {
    let j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "R".into(),
            history: 3,
            ..Default::default()
        },
    )
    .await;
    for i in 1..=5 {
        kv.put("k", format!("v{i}").into()).await.unwrap();
    }
    kv.put("x", "other".into()).await.unwrap();
    // History 3: revisions 3..=5 of k remain.
    for rev in 3..=5 {
        let e = kv
            .entry_for_revision("k", rev)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("revision {rev}"));
        assert_eq!(e.revision, rev);
        assert_eq!(e.value, Bytes::from(format!("v{rev}")));
        assert_eq!(e.operation, Operation::Put);
        assert_eq!(e.key, "k");
    }
    assert_eq!(kv.entry_for_revision("k", 1).await.unwrap(), None);
    assert_eq!(kv.entry_for_revision("k", 2).await.unwrap(), None);
    assert_eq!(kv.entry_for_revision("k", 6).await.unwrap(), None, "x's");
    assert_eq!(kv.entry_for_revision("k", 99).await.unwrap(), None);
    let st = state_json(&j, "KV_R").await;
    assert_eq!(u(&st["messages"]), 4, "{st}");
    assert_eq!(u(&st["first_seq"]), 3, "{st}");
    assert_eq!(u(&st["last_seq"]), 6, "{st}");
    let hist = collect_all(kv.history("k").await.unwrap(), "history of k").await;
    assert_eq!(
        hist.iter().map(|e| e.revision).collect::<Vec<_>>(),
        vec![3, 4, 5]
    );
}

/// Lowering a bucket's history trims the revisions already kept to the new limit at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lowering_history_trims_kept_revisions() {
    let j = setup!();
    let hist = |history| kv::Config {
        bucket: "TRIM".into(),
        history,
        ..Default::default()
    };
    let kv = create_bucket(&j, hist(10)).await;
    for i in 1..=6 {
        kv.put("k", format!("{i}").into()).await.unwrap();
    }
    kv.put("other", "x".into()).await.unwrap();
    let kv = try_update_bucket(&j, hist(2)).await.expect("lower history");
    let st = state_json(&j, "KV_TRIM").await;
    assert_eq!(u(&st["messages"]), 3, "2 revisions of k and other: {st}");
    assert_eq!(u(&st["first_seq"]), 5, "{st}");
    let h = collect_all(kv.history("k").await.unwrap(), "history of k").await;
    assert_eq!(h.iter().map(|e| e.revision).collect::<Vec<_>>(), vec![5, 6]);
    assert_eq!(kv.entry_for_revision("k", 4).await.unwrap(), None);
}

/// Compare-and-set is atomic: of many concurrent `create`s of one key exactly one wins, and
/// of many concurrent `update`s from the same revision exactly one wins; the rest get the
/// wrong-revision conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_create_and_update_have_one_winner() {
    let j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "RACE".into(),
            history: 5,
            ..Default::default()
        },
    )
    .await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let kv = kv.clone();
        tasks.push(tokio::spawn(async move {
            kv.create("lock", format!("owner {i}").into()).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match within(API_TIMEOUT, "a create", t).await.unwrap() {
            Ok(rev) => {
                won += 1;
                assert_eq!(rev, 1);
            }
            Err(e) => assert_eq!(e.kind(), CreateErrorKind::AlreadyExists, "{e}"),
        }
    }
    assert_eq!(won, 1);

    let mut tasks = Vec::new();
    for i in 0..20 {
        let kv = kv.clone();
        tasks.push(tokio::spawn(async move {
            kv.update("lock", format!("next {i}").into(), 1).await
        }));
    }
    let mut won = 0;
    for t in tasks {
        match within(API_TIMEOUT, "an update", t).await.unwrap() {
            Ok(rev) => {
                won += 1;
                assert_eq!(rev, 2);
            }
            Err(e) => assert_eq!(e.kind(), UpdateErrorKind::WrongLastRevision, "{e}"),
        }
    }
    assert_eq!(won, 1);
    let st = state_json(&j, "KV_RACE").await;
    assert_eq!((u(&st["messages"]), u(&st["last_seq"])), (2, 2), "{st}");
}

/// A value larger than max_value_size is refused (10054); one of exactly that size is
/// stored. Invalid keys are refused by the client before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_value_size_is_enforced() {
    let j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "MVS".into(),
            max_value_size: 100,
            ..Default::default()
        },
    )
    .await;
    kv.put("ok", Bytes::from(vec![1u8; 100])).await.unwrap();
    let err = kv
        .put("big", Bytes::from(vec![1u8; 101]))
        .await
        .expect_err("over max_value_size");
    assert_eq!(err.kind(), PutErrorKind::Ack, "{err}");
    let e = expect_js_err(&err, "too big");
    assert_eq!((e.code, e.err_code), (400, 10054), "{e:?}");
    assert_eq!(
        e.description, "message size exceeds maximum allowed",
        "{e:?}"
    );
    assert_eq!(kv.get("big").await.unwrap(), None);
    let err = kv
        .create("big", Bytes::from(vec![1u8; 101]))
        .await
        .expect_err("create over max_value_size");
    assert_eq!(expect_js_err(&err, "create too big").err_code, 10054);
    assert_eq!(u(&state_json(&j, "KV_MVS").await["messages"]), 1);

    // Client-side key validation (nothing reaches the server).
    for bad in ["", ".a", "a.", "a b", "a*", "a>"] {
        let err = kv.put(bad, "x".into()).await.expect_err(bad);
        assert_eq!(err.kind(), PutErrorKind::InvalidKey, "{bad:?}");
    }
}

/// max_bytes with discard new: puts that would exceed the bucket size are refused (10077,
/// nothing old is dropped), and purging a key makes room again. The sizes leave room for
/// either way of counting a message's bytes (Weir: subject + headers + payload + 16 for both
/// stores; nats-server's file store: + 30, + 8 more with headers). Skipped on nats-server
/// 2.9.10, which accepts the 4th value and drops the oldest values instead (discard new not
/// applied to max_bytes there); newer servers refuse.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_bytes_refuses_new_values() {
    let j = setup!();
    if j.server.is_reference() {
        eprintln!("note: 2.9.10 drops old values under discard new + max_bytes; skipped");
        return;
    }
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "MB".into(),
            history: 5,
            max_bytes: 1150,
            ..Default::default()
        },
    )
    .await;
    let value = Bytes::from(vec![7u8; 300]);
    for i in 0..3 {
        kv.put(format!("k{i}"), value.clone())
            .await
            .unwrap_or_else(|e| panic!("put {i}: {e}"));
    }
    let err = kv
        .put("k3", value.clone())
        .await
        .expect_err("bucket is full");
    assert_eq!(err.kind(), PutErrorKind::Ack, "{err}");
    let e = expect_js_err(&err, "over max_bytes");
    assert_eq!((e.code, e.err_code), (503, 10077), "{e:?}");
    assert_eq!(e.description, "maximum bytes exceeded", "{e:?}");
    // Nothing old was dropped.
    for i in 0..3 {
        assert_eq!(kv.get(format!("k{i}")).await.unwrap(), Some(value.clone()));
    }
    // A purge replaces k0's 300 bytes by a small marker: room for one more.
    kv.purge("k0").await.unwrap();
    kv.put("k3", value.clone()).await.expect("room after purge");
    let st = state_json(&j, "KV_MB").await;
    assert_eq!(u(&st["messages"]), 4, "{st}");
    assert!(u(&st["bytes"]) <= 1150, "{st}");
}
