//! Key-Value buckets through the official client (`async_nats::jetstream::kv`): bucket
//! lifecycle (create with every option the client exposes, the stream config the server makes
//! of it, update, delete, open a missing bucket, re-create with another config), republish
//! (whole values and headers only), mirrors and sources, and a restart.
//!
//! Runs against Weir or (`WEIR_TEST_TARGET=nats-server`) the reference nats-server 2.9.10.
//! Compression (2.10+) is requested and checked on Weir only. async-nats 0.51 cannot create or
//! update a bucket on 2.9.10 at all (it first reads `$JS.API.INFO` into a struct with 2.10+
//! fields), so there the same stream config is created with the stream API
//! (`kv_common::try_create_bucket`). The replication of mirrors and sources is ignored on Weir,
//! which accepts them but does not replicate yet. Key operations are in `kv_keys.rs`, per-key
//! TTL and limit markers in `kv_ttl.rs`, watchers, history and key listings in `kv_watch.rs`.

mod common;
mod js_common;
mod kv_common;

use std::time::Duration;

use async_nats::jetstream::context::{
    CreateKeyValueError, CreateKeyValueErrorKind, CreateStreamError, CreateStreamErrorKind,
    KeyValueErrorKind, UpdateKeyValueError, UpdateKeyValueErrorKind,
};
use async_nats::jetstream::kv::{self, Operation, PutErrorKind, UpdateErrorKind};
use async_nats::jetstream::stream::{Republish, Source, StorageType};
use bytes::Bytes;
use js_common::*;
use kv_common::*;
use serde_json::json;

// ---------------------------------------------------------------------------------------------
// Buckets
// ---------------------------------------------------------------------------------------------

/// A bucket created with every option async-nats exposes becomes the stream nats-server makes
/// of it: `KV_<bucket>` on `$KV.<bucket>.>`, history as max_msgs_per_subject, roll-ups allowed,
/// deletes denied, purges allowed, direct get on, discard new, the limits as given and the
/// server's defaults for the rest. Compression (2.10+) is requested and checked on Weir only.
/// (On 2.9.10 the bucket's stream is made from the same config with `create_stream`: see
/// `kv_common::try_create_bucket`.) async-nats 0.51's `kv::Config` has no metadata field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_with_every_option_becomes_the_stream_config() {
    let j = setup!();
    let newer = !j.server.is_reference();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "ALL".into(),
            description: "every option".into(),
            max_value_size: 1024,
            history: 64,
            max_age: Duration::from_secs(3600),
            max_bytes: 1 << 20,
            storage: StorageType::Memory,
            num_replicas: 1,
            republish: Some(Republish {
                source: "$KV.ALL.>".into(),
                destination: "repub.ALL.>".into(),
                headers_only: false,
            }),
            compression: newer,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(kv.name, "ALL");
    assert_eq!(kv.stream_name, "KV_ALL");
    assert_eq!(kv.prefix, "$KV.ALL.");

    let c = config_json(&j, "KV_ALL").await;
    assert_eq!(c["name"], "KV_ALL", "{c}");
    assert_eq!(c["description"], "every option", "{c}");
    assert_eq!(c["subjects"], json!(["$KV.ALL.>"]), "{c}");
    assert_eq!(c["retention"], "limits", "{c}");
    assert_eq!(c["max_consumers"], -1, "{c}");
    assert_eq!(c["max_msgs"], -1, "{c}");
    assert_eq!(c["max_bytes"], 1 << 20, "{c}");
    assert_eq!(c["max_age"], 3600 * SEC, "{c}");
    assert_eq!(c["max_msgs_per_subject"], 64, "{c}");
    assert_eq!(c["max_msg_size"], 1024, "{c}");
    assert_eq!(c["discard"], "new", "{c}");
    assert_eq!(c["storage"], "memory", "{c}");
    assert_eq!(c["num_replicas"], 1, "{c}");
    // The default 2 min window (max_age is longer).
    assert_eq!(c["duplicate_window"], 120 * SEC, "{c}");
    assert_eq!(c["allow_rollup_hdrs"], true, "{c}");
    assert_eq!(c["deny_delete"], true, "{c}");
    assert_eq!(c["deny_purge"], false, "{c}");
    assert_eq!(c["allow_direct"], true, "{c}");
    assert_eq!(c["mirror_direct"], false, "{c}");
    assert_eq!(c["sealed"], false, "{c}");
    assert_eq!(c["republish"]["src"], "$KV.ALL.>", "{c}");
    assert_eq!(c["republish"]["dest"], "repub.ALL.>", "{c}");
    assert_ne!(c["republish"]["headers_only"], true, "{c}");
    if newer {
        assert_eq!(c["compression"], "s2", "{c}");
        // No limit markers asked for: no per-message TTL.
        assert_ne!(c["allow_msg_ttl"], true, "{c}");
        assert!(
            c.get("subject_delete_marker_ttl").is_none() || c["subject_delete_marker_ttl"] == 0,
            "{c}"
        );
    }

    let status = kv.status().await.expect("status");
    assert_eq!(status.bucket(), "ALL");
    assert_eq!(status.history(), 64);
    assert_eq!(status.max_age(), Duration::from_secs(3600));
    assert_eq!(status.values(), 0);
    assert_eq!(status.info.config.max_message_size, 1024);
    assert_eq!(status.info.config.max_bytes, 1 << 20);
    assert_eq!(status.info.config.storage, StorageType::Memory);
    assert_eq!(
        status.info.config.description.as_deref(),
        Some("every option")
    );

    // The bucket works as configured: values up to max_value_size are stored.
    assert_eq!(kv.put("k", Bytes::from(vec![b'x'; 1024])).await.unwrap(), 1);
    assert_eq!(kv.get("k").await.unwrap().unwrap().len(), 1024);
}

/// A bucket with nothing but a name: history 1, no limits (-1 as the server reports them),
/// file storage, and the stream flags every KV bucket has. A max_age shorter than the default
/// duplicate window (2 min) shortens the window to max_age, as nats-server does. Replicas > 1
/// are refused on a single server (10074).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_defaults_and_short_max_age() {
    let j = setup!();
    let kv = create_bucket(&j, cfg("PLAIN")).await;
    let c = config_json(&j, "KV_PLAIN").await;
    assert_eq!(c["subjects"], json!(["$KV.PLAIN.>"]), "{c}");
    assert_eq!(c["max_msgs_per_subject"], 1, "{c}");
    assert_eq!(c["max_msgs"], -1, "{c}");
    assert_eq!(c["max_bytes"], -1, "{c}");
    assert_eq!(c["max_msg_size"], -1, "{c}");
    assert_eq!(c["max_age"], 0, "{c}");
    assert_eq!(c["storage"], "file", "{c}");
    assert_eq!(c["discard"], "new", "{c}");
    assert_eq!(c["duplicate_window"], 120 * SEC, "{c}");
    assert_eq!(c["allow_rollup_hdrs"], true, "{c}");
    assert_eq!(c["deny_delete"], true, "{c}");
    assert_eq!(c["deny_purge"], false, "{c}");
    assert_eq!(c["allow_direct"], true, "{c}");
    assert!(
        c.get("republish").is_none() || c["republish"].is_null(),
        "{c}"
    );
    let status = kv.status().await.unwrap();
    assert_eq!(status.history(), 1);
    assert_eq!(status.max_age(), Duration::ZERO);

    create_bucket(
        &j,
        kv::Config {
            bucket: "SHORT".into(),
            max_age: Duration::from_secs(30),
            ..Default::default()
        },
    )
    .await;
    let c = config_json(&j, "KV_SHORT").await;
    assert_eq!(c["max_age"], 30 * SEC, "{c}");
    assert_eq!(c["duplicate_window"], 30 * SEC, "{c}");

    // One server: more than one replica is refused.
    let err = try_create_bucket(
        &j,
        kv::Config {
            bucket: "R3".into(),
            num_replicas: 3,
            ..Default::default()
        },
    )
    .await
    .expect_err("replicas 3 on a single server");
    let e = expect_js_err(&*err, "replicas 3");
    assert_eq!((e.code, e.err_code), (500, 10074), "{e:?}");
    assert_eq!(
        e.description, "replicas > 1 not supported in non-clustered mode",
        "{e:?}"
    );
}

/// `update_key_value` changes history, max_age and description in place and keeps the data;
/// a bucket that does not exist cannot be updated (`NotFound`; 10059 from the server); storage
/// cannot change (10052). `create_or_update_key_value` creates, then updates. (On 2.9.10 the
/// same stream updates are made with `update_stream`/`create_or_update_stream`, see
/// `kv_common::try_create_bucket`, and only the server's errors are checked.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_update_and_create_or_update() {
    let j = setup!();
    let kv = create_bucket(&j, cfg("UPD")).await;
    kv.put("a", "1".into()).await.unwrap();
    kv.put("a", "2".into()).await.unwrap();
    // History 1: the first value is gone.
    assert_eq!(u(&state_json(&j, "KV_UPD").await["messages"]), 1);

    let kv = try_update_bucket(
        &j,
        kv::Config {
            bucket: "UPD".into(),
            description: "updated".into(),
            history: 10,
            max_age: Duration::from_secs(600),
            ..Default::default()
        },
    )
    .await
    .expect("update bucket");
    let status = kv.status().await.unwrap();
    assert_eq!(status.history(), 10);
    assert_eq!(status.max_age(), Duration::from_secs(600));
    let c = config_json(&j, "KV_UPD").await;
    assert_eq!(c["max_msgs_per_subject"], 10, "{c}");
    assert_eq!(c["max_age"], 600 * SEC, "{c}");
    assert_eq!(c["description"], "updated", "{c}");
    assert_eq!(kv.get("a").await.unwrap().as_deref(), Some(&b"2"[..]));
    // The new history applies from now on.
    kv.put("a", "3".into()).await.unwrap();
    kv.put("a", "4".into()).await.unwrap();
    assert_eq!(u(&state_json(&j, "KV_UPD").await["messages"]), 3);

    // Storage type cannot change.
    let err = try_update_bucket(
        &j,
        kv::Config {
            bucket: "UPD".into(),
            history: 10,
            storage: StorageType::Memory,
            ..Default::default()
        },
    )
    .await
    .expect_err("file -> memory is refused");
    if let Some(e) = err.downcast_ref::<UpdateKeyValueError>() {
        assert_eq!(e.kind(), UpdateKeyValueErrorKind::JetStream, "{e}");
    }
    let e = expect_js_err(&*err, "storage change");
    assert_eq!((e.code, e.err_code), (500, 10052), "{e:?}");
    assert_eq!(
        e.description, "stream configuration update can not change storage type",
        "{e:?}"
    );

    let err = try_update_bucket(&j, cfg("MISSING"))
        .await
        .expect_err("no such bucket");
    match err.downcast_ref::<UpdateKeyValueError>() {
        Some(e) => assert_eq!(e.kind(), UpdateKeyValueErrorKind::NotFound, "{e}"),
        // 2.9.10 path (`update_stream`): the client maps 10059 to its `NotFound` kind.
        None => {
            let e = err
                .downcast_ref::<CreateStreamError>()
                .unwrap_or_else(|| panic!("unexpected error {err:?}"));
            assert_eq!(e.kind(), CreateStreamErrorKind::NotFound, "{e}");
        }
    }

    let kv = try_create_or_update_bucket(
        &j,
        kv::Config {
            bucket: "COU".into(),
            history: 2,
            ..Default::default()
        },
    )
    .await
    .expect("create_or_update creates");
    assert_eq!(kv.status().await.unwrap().history(), 2);
    let kv = try_create_or_update_bucket(
        &j,
        kv::Config {
            bucket: "COU".into(),
            history: 7,
            ..Default::default()
        },
    )
    .await
    .expect("create_or_update updates");
    assert_eq!(kv.status().await.unwrap().history(), 7);
    assert_eq!(config_json(&j, "KV_COU").await["max_msgs_per_subject"], 7);
}

/// Opening a bucket that does not exist fails with `GetBucket` (stream not found, 10059);
/// deleting one removes its stream (a second delete fails with 10059 too); creating one that
/// exists with the same config is fine, with another config fails (10058).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_open_missing_delete_and_recreate() {
    let j = setup!();
    let js = js_ctx(&j);

    let err = js.get_key_value("NOPE").await.expect_err("no such bucket");
    assert_eq!(err.kind(), KeyValueErrorKind::GetBucket, "{err}");
    let e = expect_js_err(&err, "get missing bucket");
    assert_eq!((e.code, e.err_code), (404, 10059), "{e:?}");
    assert_eq!(e.description, "stream not found", "{e:?}");

    let life = |history| kv::Config {
        bucket: "LIFE".into(),
        history,
        ..Default::default()
    };
    let kv = create_bucket(&j, life(3)).await;
    kv.put("k", "v".into()).await.unwrap();

    // Same config again: the existing bucket, data intact.
    let again = try_create_bucket(&j, life(3))
        .await
        .expect("create with the same config is idempotent");
    assert_eq!(again.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));

    // Another config: refused.
    let err = try_create_bucket(&j, life(4))
        .await
        .expect_err("create with another config");
    if let Some(e) = err.downcast_ref::<CreateKeyValueError>() {
        assert_eq!(e.kind(), CreateKeyValueErrorKind::BucketCreate, "{e}");
    }
    let e = expect_js_err(&*err, "create existing bucket");
    assert_eq!((e.code, e.err_code), (400, 10058), "{e:?}");
    assert_eq!(
        e.description, "stream name already in use with a different configuration",
        "{e:?}"
    );

    // Opening the existing bucket works and sees the data.
    let opened = js.get_key_value("LIFE").await.expect("open bucket");
    assert_eq!(opened.get("k").await.unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(opened.status().await.unwrap().history(), 3);

    let deleted = js.delete_key_value("LIFE").await.expect("delete bucket");
    assert!(deleted.success);
    let err = js.get_key_value("LIFE").await.expect_err("deleted bucket");
    assert_eq!(err.kind(), KeyValueErrorKind::GetBucket, "{err}");
    let e = expect_js_err(&err, "get deleted bucket");
    assert_eq!(e.err_code, 10059, "{e:?}");
    let v = api(&j.c, "$JS.API.STREAM.INFO.KV_LIFE", "").await;
    assert_eq!(err_of(&v).err_code, 10059, "{v}");
    let Err(err) = js.delete_key_value("LIFE").await else {
        panic!("deleting a deleted bucket succeeded");
    };
    assert_eq!(err.kind(), KeyValueErrorKind::JetStream, "{err}");
    let e = expect_js_err(&err, "delete deleted bucket");
    assert_eq!((e.code, e.err_code), (404, 10059), "{e:?}");

    // A put to a deleted bucket's subject has no stream behind it.
    let err = kv.put("k", "v".into()).await.expect_err("no stream");
    assert_eq!(err.kind(), PutErrorKind::Ack, "{err}");

    // A stream named like a bucket but without per-subject history is not a bucket.
    create_stream(&j.c, json!({"name": "KV_RAW", "subjects": ["raw.>"]})).await;
    let err = js.get_key_value("RAW").await.expect_err("not a KV stream");
    assert_eq!(err.kind(), KeyValueErrorKind::InvalidStoreName, "{err}");

    // The name is free again, with any config.
    let kv = create_bucket(&j, life(4)).await;
    assert_eq!(kv.get("k").await.unwrap(), None);
    assert_eq!(kv.status().await.unwrap().history(), 4);
}

// ---------------------------------------------------------------------------------------------
// Republish, mirrors and sources, restart
// ---------------------------------------------------------------------------------------------

/// A bucket with republish: every stored value is published again on the destination with
/// the stream, subject, sequence and last-sequence headers (`Nats-Last-Sequence` is the
/// previous sequence *of that subject*, 0 for a key's first value, as nats-server sends it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republish_copies_values() {
    let j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "RP".into(),
            history: 5,
            republish: Some(Republish {
                source: "$KV.RP.>".into(),
                destination: "repub.>".into(),
                headers_only: false,
            }),
            ..Default::default()
        },
    )
    .await;
    let mut sub = j.c.subscribe("repub.>").await.unwrap();
    common::round_trip(&j.c).await;
    kv.put("a", "1".into()).await.unwrap();
    kv.put("b", "2".into()).await.unwrap();
    kv.put("a", "3".into()).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(next_msg(&mut sub, "a republished value").await);
    }
    let view: Vec<_> = got
        .iter()
        .map(|m| {
            (
                m.subject.to_string(),
                String::from_utf8_lossy(&m.payload).to_string(),
                header(m, "Nats-Stream"),
                header(m, "Nats-Subject"),
                header(m, "Nats-Sequence"),
                header(m, "Nats-Last-Sequence"),
            )
        })
        .collect();
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        view,
        vec![
            (
                "repub.a".into(),
                "1".into(),
                s("KV_RP"),
                s("$KV.RP.a"),
                s("1"),
                s("0")
            ),
            (
                "repub.b".into(),
                "2".into(),
                s("KV_RP"),
                s("$KV.RP.b"),
                s("2"),
                s("0")
            ),
            (
                "repub.a".into(),
                "3".into(),
                s("KV_RP"),
                s("$KV.RP.a"),
                s("3"),
                s("1")
            ),
        ]
    );
    // Deletes are republished too, with their operation header.
    kv.delete("b").await.unwrap();
    let m = next_msg(&mut sub, "a republished delete").await;
    assert_eq!(m.subject.as_str(), "repub.b");
    assert_eq!(header(&m, "KV-Operation").as_deref(), Some("DEL"));
    assert!(m.payload.is_empty());
}

/// A bucket with `republish` and `headers_only`: the copy has no body but the
/// `Nats-Msg-Size` header with the value's size.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republish_headers_only() {
    let j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "RH".into(),
            republish: Some(Republish {
                source: "$KV.RH.>".into(),
                destination: "meta.>".into(),
                headers_only: true,
            }),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        config_json(&j, "KV_RH").await["republish"]["headers_only"],
        true
    );
    let mut sub = j.c.subscribe("meta.>").await.unwrap();
    common::round_trip(&j.c).await;
    kv.put("big", Bytes::from(vec![1u8; 777])).await.unwrap();
    let m = next_msg(&mut sub, "the headers-only copy").await;
    assert_eq!(m.subject.as_str(), "meta.big");
    assert!(m.payload.is_empty(), "{m:?}");
    assert_eq!(header(&m, "Nats-Msg-Size").as_deref(), Some("777"));
    assert_eq!(header(&m, "Nats-Subject").as_deref(), Some("$KV.RH.big"));
    assert_eq!(header(&m, "Nats-Sequence").as_deref(), Some("1"));
}

/// The origin bucket ORIG (3 values) and, when `mirror`, the bucket COPY mirroring it, and
/// when `sources`, ORIG2 (1 value) and AGG sourcing both.
async fn mirror_and_sources(j: &Js) -> kv::Store {
    let src = create_bucket(
        j,
        kv::Config {
            bucket: "ORIG".into(),
            history: 3,
            ..Default::default()
        },
    )
    .await;
    src.put("a", "1".into()).await.unwrap();
    src.put("b", "1".into()).await.unwrap();
    src.put("a", "2".into()).await.unwrap();
    create_bucket(
        j,
        kv::Config {
            bucket: "COPY".into(),
            history: 3,
            mirror: Some(Source {
                name: "ORIG".into(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
    .await;
    let s2 = create_bucket(j, cfg("ORIG2")).await;
    s2.put("z", "9".into()).await.unwrap();
    create_bucket(
        j,
        kv::Config {
            bucket: "AGG".into(),
            history: 3,
            sources: Some(vec![
                Source {
                    name: "ORIG".into(),
                    ..Default::default()
                },
                Source {
                    name: "ORIG2".into(),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        },
    )
    .await;
    src
}

/// A bucket that mirrors another (`mirror`) is the stream `KV_<bucket>` mirroring
/// `KV_<origin>`, with no subjects and `mirror_direct`; a bucket with `sources` names the
/// `KV_` streams of its sources.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_mirror_and_sources_config() {
    let j = setup!();
    mirror_and_sources(&j).await;
    let c = config_json(&j, "KV_COPY").await;
    assert_eq!(c["mirror"]["name"], "KV_ORIG", "{c}");
    assert_eq!(c["mirror_direct"], true, "{c}");
    assert!(
        c.get("subjects").is_none() || c["subjects"] == json!([]) || c["subjects"].is_null(),
        "{c}"
    );
    assert_eq!(c["max_msgs_per_subject"], 3, "{c}");
    let c = config_json(&j, "KV_AGG").await;
    let names: Vec<&str> = c["sources"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["KV_ORIG", "KV_ORIG2"], "{c}");
    assert!(c.get("mirror").is_none() || c["mirror"].is_null(), "{c}");
}

/// A mirror bucket copies every value of its origin with the original subject, now and
/// later, reports `mirror` (name, lag 0) in its info and answers direct gets; a sourced bucket
/// aggregates its sources' values, reports `sources`, and gets the default duplicate window
/// (only mirrors have none). Read back through the raw stream (async-nats reads a mirror
/// bucket under its own prefix, which the copies do not use).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "weir: mirrors and sources are accepted but never replicate (no messages, no mirror/sources info)"]
async fn bucket_mirror_and_sources_replicate() {
    let j = setup!();
    let src = mirror_and_sources(&j).await;
    let copied = first_stream_msgs(&j, "KV_COPY", 3).await;
    assert_eq!(
        copied,
        vec![
            ("$KV.ORIG.a".to_string(), b"1".to_vec()),
            ("$KV.ORIG.b".to_string(), b"1".to_vec()),
            ("$KV.ORIG.a".to_string(), b"2".to_vec()),
        ]
    );
    // Later values follow.
    src.put("b", "2".into()).await.unwrap();
    let copied = first_stream_msgs(&j, "KV_COPY", 4).await;
    assert_eq!(copied[3], ("$KV.ORIG.b".to_string(), b"2".to_vec()));
    let info = info_json(&j, "KV_COPY").await;
    assert_eq!(info["mirror"]["name"], "KV_ORIG", "{info}");
    assert_eq!(info["mirror"]["lag"], 0, "{info}");
    assert_eq!(u(&info["state"]["messages"]), 4, "{info}");
    let last = raw_last_msg(&j, "KV_COPY", "$KV.ORIG.a").await;
    assert_eq!(raw_payload(&last), b"2");
    let direct = request_msg(
        &j.c,
        "$JS.API.DIRECT.GET.KV_COPY",
        r#"{"last_by_subj":"$KV.ORIG.b"}"#,
    )
    .await;
    assert_eq!(direct.payload.as_ref(), b"2", "{direct:?}");
    assert_eq!(header(&direct, "Nats-Stream").as_deref(), Some("KV_COPY"));

    let agg = first_stream_msgs(&j, "KV_AGG", 5).await;
    let mut got: Vec<_> = agg.into_iter().collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("$KV.ORIG.a".to_string(), b"1".to_vec()),
            ("$KV.ORIG.a".to_string(), b"2".to_vec()),
            ("$KV.ORIG.b".to_string(), b"1".to_vec()),
            ("$KV.ORIG.b".to_string(), b"2".to_vec()),
            ("$KV.ORIG2.z".to_string(), b"9".to_vec()),
        ]
    );
    let info = info_json(&j, "KV_AGG").await;
    let mut sources: Vec<(&str, u64)> = info["sources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| (s["name"].as_str().unwrap_or(""), u(&s["lag"])))
                .collect()
        })
        .unwrap_or_default();
    sources.sort();
    assert_eq!(sources, vec![("KV_ORIG", 0), ("KV_ORIG2", 0)], "{info}");
    assert_eq!(info["config"]["duplicate_window"], 120 * SEC, "{info}");
}

/// A file-storage bucket survives a server restart: values, revisions, markers, history and
/// the key listing are the same afterwards, and revisions continue where they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_survives_restart() {
    let mut j = setup!();
    let kv = create_bucket(
        &j,
        kv::Config {
            bucket: "DUR".into(),
            history: 5,
            ..Default::default()
        },
    )
    .await;
    kv.put("a", "1".into()).await.unwrap();
    kv.put("a", "2".into()).await.unwrap();
    kv.put("b", "1".into()).await.unwrap();
    kv.delete("b").await.unwrap();
    kv.put("c", "1".into()).await.unwrap();
    kv.purge("c").await.unwrap();
    kv.put("d", "1".into()).await.unwrap();
    drop(kv);

    j.server.restart().await;
    let c = connect(&j.server.url()).await;
    let kv = async_nats::jetstream::new(c)
        .get_key_value("DUR")
        .await
        .expect("open after restart");
    assert_eq!(kv.get("a").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(kv.get("b").await.unwrap(), None);
    assert_eq!(
        kv.entry("b")
            .await
            .unwrap()
            .map(|e| (e.operation, e.revision)),
        Some((Operation::Delete, 4))
    );
    assert_eq!(
        kv.entry("c")
            .await
            .unwrap()
            .map(|e| (e.operation, e.revision)),
        Some((Operation::Purge, 6))
    );
    let hist = collect_all(kv.history("a").await.unwrap(), "history of a").await;
    assert_eq!(
        hist.iter().map(kov).collect::<Vec<_>>(),
        vec![put("a", "1"), put("a", "2")]
    );
    let mut keys: Vec<String> = collect_all(kv.keys().await.unwrap(), "keys").await;
    keys.sort();
    assert_eq!(keys, vec!["a".to_string(), "d".to_string()]);
    assert_eq!(kv.put("e", "1".into()).await.unwrap(), 8);
    let err = kv
        .update("a", "x".into(), 1)
        .await
        .expect_err("stale after restart");
    assert_eq!(err.kind(), UpdateErrorKind::WrongLastRevision, "{err}");
    assert_eq!(kv.update("a", "3".into(), 2).await.unwrap(), 9);
}
