//! Key-Value per-key TTL with limit markers (ADR-43/ADR-48) through the official client
//! (`async_nats::jetstream::kv`): the `limit_markers` config and its updates, `create_with_ttl`
//! expiring into a `MaxAge` marker (and the marker expiring), `purge_with_ttl`, a TTL on a
//! bucket without limit markers, a TTL'd value over an older revision, and max_age expiry
//! with and without markers.
//!
//! Weir only: limit markers and per-message TTL need nats-server 2.11+, so against the
//! reference nats-server 2.9.10 (`WEIR_TEST_TARGET=nats-server`) each test prints a note and
//! returns. Bucket lifecycle is in `kv_bucket.rs`, key operations in `kv_keys.rs`, watchers in
//! `kv_watch.rs`.

mod common;
mod js_common;
mod kv_common;

use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use common::within;
use futures::StreamExt;
use js_common::*;
use kv_common::*;

// ---------------------------------------------------------------------------------------------
// Per-key TTL and limit markers (ADR-43, ADR-48): Weir only (nats-server 2.11+)
// ---------------------------------------------------------------------------------------------

/// Waits (bounded) until the stream's message count is `n`. A removal by expiry sends no event
/// a client can wait on, so this polls `STREAM.INFO` at a short interval.
async fn until_messages(j: &Js, stream: &str, n: u64, what: &str) {
    within(EXPIRY_TIMEOUT, what, async {
        loop {
            let st = state_json(j, stream).await;
            if u(&st["messages"]) == n {
                return;
            }
            // Poll interval of a bounded wait for a removal (no event exists for it).
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
}

/// `limit_markers` sets `allow_msg_ttl` and `subject_delete_marker_ttl`; it can be turned on
/// by an update and not off again (10052). Weir only (nats-server 2.11+); also checks that
/// Weir reports the API level >= 1 that async-nats requires before it sends limit markers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limit_markers_config() {
    let j = setup!();
    let js = js_ctx(&j);
    let with_markers = kv::Config {
        bucket: "LM".into(),
        history: 5,
        limit_markers: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    if j.server.is_reference() {
        // async-nats cannot create any bucket on 2.9.10 (see `kv_common::try_create_bucket`);
        // it would refuse limit markers there anyway (no API level).
        eprintln!("note: limit markers need nats-server 2.11+; skipped on 2.9.10");
        return;
    }
    let level = api_ok(&j.c, "$JS.API.INFO", "").await;
    assert!(
        level["api"]["level"].as_u64().unwrap_or(0) >= 1,
        "API level >= 1 in {level}"
    );
    js.create_key_value(with_markers).await.expect("create LM");
    let c = config_json(&j, "KV_LM").await;
    assert_eq!(c["allow_msg_ttl"], true, "{c}");
    assert_eq!(c["subject_delete_marker_ttl"], 10 * SEC, "{c}");
    assert_eq!(c["allow_rollup_hdrs"], true, "{c}");
    assert_eq!(c["deny_purge"], false, "{c}");

    // Turned on by an update.
    js.create_key_value(cfg("LATER")).await.unwrap();
    assert_ne!(config_json(&j, "KV_LATER").await["allow_msg_ttl"], true);
    js.update_key_value(kv::Config {
        bucket: "LATER".into(),
        limit_markers: Some(Duration::from_secs(5)),
        ..Default::default()
    })
    .await
    .expect("enable limit markers by update");
    let c = config_json(&j, "KV_LATER").await;
    assert_eq!(c["allow_msg_ttl"], true, "{c}");
    assert_eq!(c["subject_delete_marker_ttl"], 5 * SEC, "{c}");
    // The marker TTL can change...
    js.update_key_value(kv::Config {
        bucket: "LATER".into(),
        limit_markers: Some(Duration::from_secs(7)),
        ..Default::default()
    })
    .await
    .expect("change the marker TTL");
    assert_eq!(
        config_json(&j, "KV_LATER").await["subject_delete_marker_ttl"],
        7 * SEC
    );
    // ...but per-message TTL cannot be turned off.
    let err = js
        .update_key_value(cfg("LATER"))
        .await
        .expect_err("disabling per-message TTL");
    let e = expect_js_err(&err, "disable TTL");
    assert_eq!((e.code, e.err_code), (500, 10052), "{e:?}");
    assert_eq!(
        e.description, "message TTL status can not be disabled",
        "{e:?}"
    );
}

/// `create_with_ttl` (header `Nats-TTL: <secs>`) stores a key that expires: when it does, the
/// server puts a delete marker in its place (`Nats-Marker-Reason: MaxAge`, `Nats-TTL` = the
/// bucket's marker TTL as a Go duration, empty body), which the client reads as a purge and
/// a watcher sees; the marker itself expires after the marker TTL without a new marker.
/// Weir only (nats-server 2.11+).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_with_ttl_expires_into_a_marker() {
    let j = setup!();
    if j.server.is_reference() {
        eprintln!("note: per-key TTL needs nats-server 2.11+; skipped on 2.9.10");
        return;
    }
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "TTL".into(),
            history: 5,
            limit_markers: Some(Duration::from_secs(2)),
            ..Default::default()
        },
    )
    .await;
    let mut watch = kv.watch("k").await.unwrap();
    let rev = kv
        .create_with_ttl("k", "short".into(), Duration::from_secs(1))
        .await
        .expect("create with ttl");
    assert_eq!(rev, 1);
    let raw = raw_msg(&j, "KV_TTL", 1).await;
    assert!(
        raw_headers(&raw).contains("Nats-TTL: 1"),
        "{}",
        raw_headers(&raw)
    );
    // Another key without TTL stays.
    kv.put("stays", "x".into()).await.unwrap();
    // A second create of the live key is refused.
    let err = kv
        .create_with_ttl("k", "again".into(), Duration::from_secs(1))
        .await
        .expect_err("exists");
    assert_eq!(err.kind(), CreateErrorKind::AlreadyExists, "{err}");

    let e = next_ok(&mut watch, "the put of k").await;
    assert_eq!((kov(&e), e.revision), (put("k", "short"), 1));
    let marker = within(EXPIRY_TIMEOUT, "the expiry marker of k", watch.next())
        .await
        .expect("watch open")
        .expect("marker entry");
    assert_eq!(kov(&marker), purged("k"), "{marker:?}");
    assert_eq!(marker.revision, 3);

    assert_eq!(kv.get("k").await.unwrap(), None);
    let e = kv.entry("k").await.unwrap().expect("the marker");
    assert_eq!((e.operation, e.revision), (Operation::Purge, 3));
    let raw = raw_msg(&j, "KV_TTL", 3).await;
    assert_eq!(raw["message"]["subject"], "$KV.TTL.k", "{raw}");
    assert_eq!(
        raw_header(&raw, "Nats-Marker-Reason").as_deref(),
        Some("MaxAge")
    );
    assert_eq!(raw_header(&raw, "Nats-TTL").as_deref(), Some("2s"));
    assert!(raw_payload(&raw).is_empty());
    assert_eq!(kv.get("stays").await.unwrap().as_deref(), Some(&b"x"[..]));
    // A watcher with history sees the marker as the key's latest entry.
    let mut hist = kv.watch_with_history(">").await.unwrap();
    let first = next_ok(&mut hist, "latest of stays").await;
    let second = next_ok(&mut hist, "latest of k").await;
    assert_eq!(
        vec![
            (kov(&first), first.revision),
            (kov(&second), second.revision)
        ],
        vec![(put("stays", "x"), 2), (purged("k"), 3)]
    );

    // The marker expires after 2 s, leaving nothing for k and no new marker.
    until_messages(&j, "KV_TTL", 1, "the marker to expire").await;
    assert_eq!(kv.entry("k").await.unwrap(), None);
    let st = state_json(&j, "KV_TTL").await;
    assert_eq!(u(&st["last_seq"]), 3, "no marker for the marker: {st}");
    assert!(next_within(&mut watch, QUIET).await.is_none());
    // The key is free again.
    assert_eq!(kv.create("k", "new".into()).await.unwrap(), 4);
}

/// `purge_with_ttl` leaves a purge marker that itself expires (no marker replaces a KV purge);
/// a TTL on a bucket without limit markers is refused (10166). Weir only (2.11+).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_with_ttl_and_ttl_without_markers() {
    let j = setup!();
    if j.server.is_reference() {
        eprintln!("note: per-key TTL needs nats-server 2.11+; skipped on 2.9.10");
        return;
    }
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "PT".into(),
            history: 10,
            limit_markers: Some(Duration::from_secs(1)),
            ..Default::default()
        },
    )
    .await;
    for i in 0..3 {
        kv.put("k1", format!("{i}").into()).await.unwrap();
        kv.put("k2", format!("{i}").into()).await.unwrap();
    }
    kv.purge_with_ttl("k1", Duration::from_secs(1))
        .await
        .expect("purge with ttl");
    let st = state_json(&j, "KV_PT").await;
    assert_eq!(u(&st["messages"]), 4, "{st}");
    let raw = raw_msg(&j, "KV_PT", 7).await;
    let h = raw_headers(&raw);
    assert!(h.contains("KV-Operation: PURGE"), "{h}");
    assert!(h.contains("Nats-TTL: 1"), "{h}");
    assert_eq!(
        kv.entry("k1").await.unwrap().map(|e| e.operation),
        Some(Operation::Purge)
    );
    until_messages(&j, "KV_PT", 3, "the purge marker to expire").await;
    assert_eq!(kv.entry("k1").await.unwrap(), None);
    assert_eq!(u(&state_json(&j, "KV_PT").await["last_seq"]), 7);
    assert_eq!(kv.get("k2").await.unwrap().as_deref(), Some(&b"2"[..]));

    // No limit markers: the server refuses the TTL header.
    let plain = create_bucket(&j, cfg("NOTTL")).await;
    let err = plain
        .create_with_ttl("k", "v".into(), Duration::from_secs(5))
        .await
        .expect_err("TTL on a bucket without limit markers");
    let e = expect_js_err(&err, "ttl refused");
    assert_eq!((e.code, e.err_code), (400, 10166), "{e:?}");
    assert_eq!(e.description, "per-message TTL is disabled", "{e:?}");
    assert_eq!(plain.get("k").await.unwrap(), None);
}

/// A value published with a TTL over an older revision of the same key (only possible with a
/// raw publish: async-nats offers TTLs on `create` alone, ADR-48) expires without a marker, as
/// it is not the subject's last message: the older value is the key's value again. A TTL under
/// one second is refused (10165). Weir only (2.11+).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttl_over_an_older_revision_leaves_no_marker() {
    let j = setup!();
    if j.server.is_reference() {
        eprintln!("note: per-message TTL needs nats-server 2.11+; skipped on 2.9.10");
        return;
    }
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "UNDER".into(),
            history: 5,
            limit_markers: Some(Duration::from_secs(5)),
            ..Default::default()
        },
    )
    .await;
    kv.put("k", "old".into()).await.unwrap();
    assert_eq!(
        publish_ok(&j.c, "$KV.UNDER.k", &[("Nats-TTL", "1")], "short").await,
        2
    );
    assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"short"[..]));
    let e = publish_err(&j.c, "$KV.UNDER.k", &[("Nats-TTL", "500ms")], "x").await;
    assert_eq!(e, ApiErr::new(400, 10165, "invalid per-message TTL"));
    until_messages(&j, "KV_UNDER", 1, "the TTL'd value to expire").await;
    let e = kv.entry("k").await.unwrap().expect("the older value");
    assert_eq!((e.operation, e.revision), (Operation::Put, 1));
    assert_eq!(e.value.as_ref(), b"old");
    assert_eq!(u(&state_json(&j, "KV_UNDER").await["last_seq"]), 2);
}

/// With limit markers, a value removed by the bucket's max_age leaves a `MaxAge` marker that
/// watchers see as a purge. Without limit markers, max_age removes silently. Weir only (2.11+).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_expiry_leaves_a_marker() {
    let j = setup!();
    if j.server.is_reference() {
        eprintln!("note: limit markers need nats-server 2.11+; skipped on 2.9.10");
        return;
    }
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "AGE".into(),
            history: 5,
            max_age: Duration::from_secs(1),
            limit_markers: Some(Duration::from_secs(90)),
            ..Default::default()
        },
    )
    .await;
    let mut watch = kv.watch_all().await.unwrap();
    kv.put("a", "1".into()).await.unwrap();
    kv.put("a", "2".into()).await.unwrap();
    assert_eq!(kov(&next_ok(&mut watch, "put 1").await), put("a", "1"));
    assert_eq!(kov(&next_ok(&mut watch, "put 2").await), put("a", "2"));
    // Both values age out; one marker for the key (only the last removal of a subject).
    let marker = within(EXPIRY_TIMEOUT, "the max_age marker", watch.next())
        .await
        .expect("watch open")
        .expect("marker entry");
    assert_eq!(kov(&marker), purged("a"), "{marker:?}");
    assert_eq!(marker.revision, 3);
    let raw = raw_last_msg(&j, "KV_AGE", "$KV.AGE.a").await;
    assert_eq!(
        raw_header(&raw, "Nats-Marker-Reason").as_deref(),
        Some("MaxAge")
    );
    // The marker TTL as Go prints a duration.
    assert_eq!(raw_header(&raw, "Nats-TTL").as_deref(), Some("1m30s"));
    assert_eq!(kv.get("a").await.unwrap(), None);
    assert_eq!(
        kv.entry("a").await.unwrap().map(|e| e.operation),
        Some(Operation::Purge)
    );
    let st = state_json(&j, "KV_AGE").await;
    assert_eq!((u(&st["messages"]), u(&st["last_seq"])), (1, 3), "{st}");
    assert!(next_within(&mut watch, QUIET).await.is_none());

    // Without markers the same expiry leaves nothing.
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "AGE2".into(),
            max_age: Duration::from_secs(1),
            ..Default::default()
        },
    )
    .await;
    kv.put("a", "1".into()).await.unwrap();
    until_messages(&j, "KV_AGE2", 0, "max_age removal").await;
    assert_eq!(kv.entry("a").await.unwrap(), None);
    assert_eq!(u(&state_json(&j, "KV_AGE2").await["last_seq"]), 1);
}
