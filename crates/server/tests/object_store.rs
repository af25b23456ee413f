//! Object Store through the official client (`async_nats::jetstream::object_store`): buckets
//! (the `OBJ_<bucket>` stream on `$O.<bucket>.C.>` and `$O.<bucket>.M.>`, open a missing one,
//! delete), objects streamed in and out (a 100 MiB object, small, empty and chunk-boundary
//! sizes, a custom chunk size) with the SHA-256 digest checked independently of the client,
//! info, list, delete, overwrite, links to objects and to buckets, watch, seal, metadata,
//! headers, renames, and the bucket's state as the server reports it (async-nats 0.51 has no
//! object store `status()`; the stream info is read instead).
//!
//! Runs against Weir or (`WEIR_TEST_TARGET=nats-server`) the reference nats-server 2.9.10;
//! compression (2.10+) is requested and checked on Weir only.

mod common;
mod js_common;
mod kv_common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use async_nats::jetstream::object_store::{
    self, AddLinkErrorKind, DeleteErrorKind, GetErrorKind, InfoErrorKind, ObjectInfo,
    ObjectMetadata, ObjectStore, PutErrorKind, UpdateMetadata, UpdateMetadataErrorKind,
};
use async_nats::jetstream::stream::StorageType;
use async_nats::HeaderMap;
use common::within;
use js_common::*;
use kv_common::*;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

const SEC: u64 = 1_000_000_000;
const DEFAULT_CHUNK: usize = 128 * 1024;
/// Bound for putting or reading one small object.
const OBJ_TIMEOUT: Duration = Duration::from_secs(10);

async fn store(j: &Js, bucket: &str) -> ObjectStore {
    js_ctx(j)
        .create_object_store(object_store::Config {
            bucket: bucket.to_string(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("create object store {bucket}: {e}"))
}

/// Puts `data` under `name` (bounded).
async fn put_bytes(os: &ObjectStore, meta: impl Into<ObjectMetadata>, data: &[u8]) -> ObjectInfo {
    let meta = meta.into();
    let what = format!("put {}", meta.name);
    let mut reader = data;
    within(OBJ_TIMEOUT, &what, os.put(meta, &mut reader))
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Reads a whole object (bounded); the client checks the digest at the end.
async fn get_bytes(os: &ObjectStore, name: &str) -> Vec<u8> {
    let what = format!("get {name}");
    within(OBJ_TIMEOUT, &what, async {
        let mut obj = os.get(name).await.unwrap_or_else(|e| panic!("{what}: {e}"));
        let mut out = Vec::new();
        obj.read_to_end(&mut out)
            .await
            .unwrap_or_else(|e| panic!("{what}: read: {e}"));
        out
    })
    .await
}

/// `subject -> message count` of a stream (`STREAM.INFO` with `subjects_filter: ">"`).
async fn subjects(j: &Js, stream: &str) -> BTreeMap<String, u64> {
    let v = stream_info_with(&j.c, stream, json!({"subjects_filter": ">"})).await;
    v["state"]["subjects"]
        .as_object()
        .map(|m| m.iter().map(|(k, n)| (k.clone(), u(n))).collect())
        .unwrap_or_default()
}

/// The stored meta message of `name` in bucket `bucket`, parsed (raw, from the stream).
async fn raw_meta(j: &Js, bucket: &str, name: &str) -> (Value, Value) {
    let subject = format!("$O.{bucket}.M.{}", base64_url(name.as_bytes()));
    let raw = raw_last_msg(j, &format!("OBJ_{bucket}"), &subject).await;
    let data = base64_decode(raw["message"]["data"].as_str().expect("meta has data"));
    let info: Value = serde_json::from_slice(&data).expect("meta is JSON");
    (raw, info)
}

fn chunk_count(size: usize, chunk: usize) -> usize {
    size.div_ceil(chunk)
}

// ---------------------------------------------------------------------------------------------
// Buckets
// ---------------------------------------------------------------------------------------------

/// A bucket is the stream `OBJ_<bucket>` on `$O.<bucket>.C.>` and `$O.<bucket>.M.>` with
/// discard new, roll-ups and direct get, and the limits given; a missing bucket cannot be
/// opened (`GetStore`, 10059); a deleted bucket's stream is gone. Compression on Weir only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_stream_config_open_and_delete() {
    let j = setup!();
    let js = js_ctx(&j);
    let newer = !j.server.is_reference();
    let os = js
        .create_object_store(object_store::Config {
            bucket: "CFG".into(),
            description: Some("objects".into()),
            max_age: Duration::from_secs(3600),
            max_bytes: 10 << 20,
            storage: StorageType::Memory,
            num_replicas: 1,
            compression: newer,
            ..Default::default()
        })
        .await
        .expect("create object store");
    let c = config_json(&j, "OBJ_CFG").await;
    assert_eq!(c["name"], "OBJ_CFG", "{c}");
    assert_eq!(c["description"], "objects", "{c}");
    assert_eq!(c["subjects"], json!(["$O.CFG.C.>", "$O.CFG.M.>"]), "{c}");
    assert_eq!(c["retention"], "limits", "{c}");
    assert_eq!(c["max_age"], 3600 * SEC, "{c}");
    assert_eq!(c["max_bytes"], 10 << 20, "{c}");
    assert_eq!(c["max_msgs"], -1, "{c}");
    assert_eq!(c["max_msgs_per_subject"], -1, "{c}");
    assert_eq!(c["max_msg_size"], -1, "{c}");
    assert_eq!(c["storage"], "memory", "{c}");
    assert_eq!(c["num_replicas"], 1, "{c}");
    assert_eq!(c["discard"], "new", "{c}");
    assert_eq!(c["allow_rollup_hdrs"], true, "{c}");
    assert_eq!(c["allow_direct"], true, "{c}");
    assert_eq!(c["deny_delete"], false, "{c}");
    assert_eq!(c["deny_purge"], false, "{c}");
    assert_eq!(c["sealed"], false, "{c}");
    if newer {
        assert_eq!(c["compression"], "s2", "{c}");
    }
    let st = state_json(&j, "OBJ_CFG").await;
    assert_eq!((u(&st["messages"]), u(&st["bytes"])), (0, 0), "{st}");

    put_bytes(&os, "x", b"hello").await;
    let opened = js.get_object_store("CFG").await.expect("open bucket");
    assert_eq!(get_bytes(&opened, "x").await, b"hello");

    let Err(err) = js.get_object_store("NOPE").await else {
        panic!("opened a bucket that does not exist");
    };
    assert_eq!(
        err.kind(),
        async_nats::jetstream::context::ObjectStoreErrorKind::GetStore,
        "{err}"
    );
    let e = expect_js_err(&err, "open missing bucket");
    assert_eq!((e.code, e.err_code), (404, 10059), "{e:?}");

    js.delete_object_store("CFG").await.expect("delete bucket");
    let v = api(&j.c, "$JS.API.STREAM.INFO.OBJ_CFG", "").await;
    assert_eq!(err_of(&v).err_code, 10059, "{v}");
    assert!(js.get_object_store("CFG").await.is_err());
    let Err(err) = js.delete_object_store("CFG").await else {
        panic!("deleted a deleted bucket");
    };
    assert_eq!(expect_js_err(&err, "delete twice").err_code, 10059);
    // Re-created after delete: empty.
    let os = store(&j, "CFG").await;
    let err = os.get("x").await.expect_err("new bucket is empty");
    assert_eq!(err.kind(), GetErrorKind::NotFound, "{err}");
}

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

/// A 100 MiB object streamed in (generated as it is read, never held whole) and streamed out
/// compared byte by byte with the same sequence; its info's digest is the SHA-256 computed here
/// independently of the client (which also checks it when the read ends); 800 chunks of
/// 128 KiB, one meta message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_object_round_trip_100_mib() {
    const SIZE: usize = 100 << 20;
    const SEED: u64 = 0x5eed_0b1e;
    let j = setup!();
    let os = store(&j, "BIG").await;

    // Our own digest, on a blocking thread while the put runs.
    let digest = tokio::task::spawn_blocking(|| {
        let mut p = Prng::new(SEED);
        let mut sha = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut left = SIZE;
        while left > 0 {
            let n = left.min(buf.len());
            p.fill(&mut buf[..n]);
            sha.update(&buf[..n]);
            left -= n;
        }
        sha.finish()
    });

    let started = Instant::now();
    let mut reader = PrngReader::new(SEED, SIZE);
    let info = within(
        Duration::from_secs(90),
        "put of 100 MiB",
        os.put("big.bin", &mut reader),
    )
    .await
    .expect("put 100 MiB");
    let put_time = started.elapsed();
    let digest = digest.await.unwrap();
    assert_eq!(info.size, SIZE);
    assert_eq!(info.digest.as_deref(), Some(object_digest(digest).as_str()));
    assert_eq!(
        info.options.as_ref().and_then(|o| o.max_chunk_size),
        Some(DEFAULT_CHUNK)
    );

    let stored = os.info("big.bin").await.expect("info");
    assert_eq!(stored.size, SIZE);
    assert_eq!(stored.chunks, info.chunks);
    assert_eq!(stored.digest, info.digest);
    assert_eq!(stored.nuid, info.nuid);
    let subs = subjects(&j, "OBJ_BIG").await;
    let chunk_subject = format!("$O.BIG.C.{}", info.nuid);
    assert_eq!(subs.get(&chunk_subject).copied(), Some(info.chunks as u64));
    assert_eq!(
        subs.len(),
        2,
        "one chunk subject and one meta subject: {subs:?}"
    );
    assert!(
        info.chunks >= chunk_count(SIZE, DEFAULT_CHUNK),
        "{} chunks",
        info.chunks
    );

    let started = Instant::now();
    within(Duration::from_secs(90), "get of 100 MiB", async {
        let mut obj = os.get("big.bin").await.expect("get");
        assert_eq!(obj.info().size, SIZE);
        let mut expected = Prng::new(SEED);
        let mut want = vec![0u8; 256 * 1024];
        let mut got = vec![0u8; 256 * 1024];
        let mut total = 0usize;
        loop {
            let n = obj
                .read(&mut got)
                .await
                .expect("read (digest checked at the end)");
            if n == 0 {
                break;
            }
            assert!(total + n <= SIZE, "more than {SIZE} bytes");
            expected.fill(&mut want[..n]);
            assert!(
                got[..n] == want[..n],
                "bytes differ in [{total}, {})",
                total + n
            );
            total += n;
        }
        assert_eq!(total, SIZE);
    })
    .await;
    eprintln!(
        "100 MiB: put {put_time:?}, get {:?}, {} chunks",
        started.elapsed(),
        info.chunks
    );
}

/// Empty, one-byte and chunk-boundary objects: size, chunk count, digest (checked against
/// our SHA-256), the chunk messages in the stream, and the bytes read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_empty_and_boundary_objects() {
    let j = setup!();
    let os = store(&j, "SMALL").await;
    let sizes = [
        ("empty", 0usize),
        ("one", 1),
        ("exact", DEFAULT_CHUNK),
        ("plus1", DEFAULT_CHUNK + 1),
        ("three", 3 * DEFAULT_CHUNK - 7),
    ];
    let mut infos = Vec::new();
    for (i, (name, size)) in sizes.iter().enumerate() {
        let data = Prng::bytes(i as u64 + 1, *size);
        let info = put_bytes(&os, *name, &data).await;
        assert_eq!(info.name, *name);
        assert_eq!(info.bucket, "SMALL");
        assert_eq!(info.size, *size, "{name}");
        assert_eq!(info.chunks, chunk_count(*size, DEFAULT_CHUNK), "{name}");
        assert_eq!(
            info.digest.as_deref(),
            Some(object_digest(Sha256::digest(&data)).as_str()),
            "{name}"
        );
        assert!(!info.deleted);
        assert_eq!(get_bytes(&os, name).await, data, "{name}");
        infos.push(info);
    }
    // The empty object has no chunk messages; each other one its chunks.
    let subs = subjects(&j, "OBJ_SMALL").await;
    for info in &infos {
        let n = subs
            .get(&format!("$O.SMALL.C.{}", info.nuid))
            .copied()
            .unwrap_or(0);
        assert_eq!(n, info.chunks as u64, "{}: {subs:?}", info.name);
    }
    let metas = subs.keys().filter(|s| s.starts_with("$O.SMALL.M.")).count();
    assert_eq!(metas, sizes.len(), "{subs:?}");
    let st = state_json(&j, "OBJ_SMALL").await;
    let chunks: usize = infos.iter().map(|i| i.chunks).sum();
    assert_eq!(u(&st["messages"]) as usize, chunks + sizes.len(), "{st}");
}

/// A custom chunk size: the object is cut into chunks of that size (the last one shorter),
/// `max_chunk_size` is recorded, and the chunk messages carry exactly those bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_chunk_size() {
    let j = setup!();
    let os = store(&j, "CHUNK").await;
    let data = Prng::bytes(9, 10_500);
    let info = put_bytes(
        &os,
        ObjectMetadata {
            name: "chunked".into(),
            chunk_size: Some(1000),
            ..Default::default()
        },
        &data,
    )
    .await;
    assert_eq!(info.chunks, 11);
    assert_eq!(info.size, 10_500);
    assert_eq!(
        info.options.as_ref().and_then(|o| o.max_chunk_size),
        Some(1000)
    );
    assert_eq!(
        os.info("chunked")
            .await
            .unwrap()
            .options
            .and_then(|o| o.max_chunk_size),
        Some(1000)
    );
    // Chunks are sequences 1..=11, in order, 1000 bytes each but the last.
    let mut joined = Vec::new();
    for seq in 1..=11u64 {
        let raw = raw_msg(&j, "OBJ_CHUNK", seq).await;
        assert_eq!(
            raw["message"]["subject"],
            format!("$O.CHUNK.C.{}", info.nuid),
            "{raw}"
        );
        let body = base64_decode(raw["message"]["data"].as_str().unwrap_or(""));
        assert_eq!(body.len(), if seq < 11 { 1000 } else { 500 }, "chunk {seq}");
        joined.extend_from_slice(&body);
    }
    assert_eq!(joined, data);
    assert_eq!(get_bytes(&os, "chunked").await, data);
    let (raw, meta) = raw_meta(&j, "CHUNK", "chunked").await;
    assert_eq!(u(&raw["message"]["seq"]), 12, "{raw}");
    assert_eq!(meta["options"]["max_chunk_size"], 1000, "{meta}");
}

/// info describes an object (and is `NotFound` for a missing one); list yields the live
/// objects and ends; delete marks the object deleted (its meta rolled up to one message with
/// `deleted: true`, size and chunks 0) and purges its chunks: get is then `NotFound`, list
/// leaves it out, a second delete of a missing name is `NotFound`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_list_and_delete() {
    let j = setup!();
    let os = store(&j, "LIST").await;
    let empty: Vec<ObjectInfo> = collect_all(os.list().await.unwrap(), "list empty").await;
    assert!(empty.is_empty(), "{empty:?}");

    let a = Prng::bytes(1, 200_000);
    let b = Prng::bytes(2, 10);
    let c = Prng::bytes(3, 1);
    put_bytes(&os, "a", &a).await;
    put_bytes(&os, "dir/b.txt", &b).await;
    put_bytes(&os, "c", &c).await;

    let info = os.info("a").await.expect("info a");
    assert_eq!(info.name, "a");
    assert_eq!(info.bucket, "LIST");
    assert_eq!(info.size, 200_000);
    assert_eq!(info.chunks, 2);
    assert_eq!(info.nuid.len(), 22, "{info:?}");
    assert!(info.modified.is_some());
    assert!(!info.deleted);
    let err = os.info("missing").await.expect_err("missing object");
    assert_eq!(err.kind(), InfoErrorKind::NotFound, "{err}");
    let err = os.get("missing").await.expect_err("missing object");
    assert_eq!(err.kind(), GetErrorKind::NotFound, "{err}");

    // The meta message: on `$O.<bucket>.M.<base64url(name)>`, rolled up, JSON info.
    let (raw, meta) = raw_meta(&j, "LIST", "dir/b.txt").await;
    assert_eq!(
        raw["message"]["subject"],
        format!("$O.LIST.M.{}", base64_url(b"dir/b.txt")),
        "{raw}"
    );
    assert_eq!(
        raw_header(&raw, "Nats-Rollup").as_deref(),
        Some("sub"),
        "{raw}"
    );
    assert_eq!(meta["name"], "dir/b.txt", "{meta}");
    assert_eq!(meta["bucket"], "LIST", "{meta}");
    assert_eq!(meta["size"], 10, "{meta}");
    assert_eq!(meta["chunks"], 1, "{meta}");

    let listed: Vec<ObjectInfo> = collect_all(os.list().await.unwrap(), "list").await;
    let names: BTreeSet<String> = listed.iter().map(|i| i.name.clone()).collect();
    assert_eq!(
        names,
        ["a", "c", "dir/b.txt"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    assert_eq!(listed.len(), 3);

    os.delete("a").await.expect("delete a");
    let err = os.get("a").await.expect_err("deleted");
    assert_eq!(err.kind(), GetErrorKind::NotFound, "{err}");
    let gone = os.info("a").await.expect("info of a deleted object");
    assert!(gone.deleted);
    assert_eq!((gone.size, gone.chunks), (0, 0));
    let subs = subjects(&j, "OBJ_LIST").await;
    assert!(
        !subs.contains_key(&format!("$O.LIST.C.{}", info.nuid)),
        "chunks purged: {subs:?}"
    );
    assert_eq!(
        subs.get(&format!("$O.LIST.M.{}", base64_url(b"a")))
            .copied(),
        Some(1),
        "{subs:?}"
    );
    // 2 objects with 1 chunk each, 3 meta messages.
    assert_eq!(u(&state_json(&j, "OBJ_LIST").await["messages"]), 5);

    let listed: Vec<ObjectInfo> = collect_all(os.list().await.unwrap(), "list").await;
    let names: BTreeSet<String> = listed.iter().map(|i| i.name.clone()).collect();
    assert_eq!(
        names,
        ["c", "dir/b.txt"].into_iter().map(String::from).collect()
    );
    let err = os.delete("never").await.expect_err("missing");
    assert_eq!(err.kind(), DeleteErrorKind::NotFound, "{err}");
    // Put again after delete: a live object.
    put_bytes(&os, "a", b"back").await;
    assert_eq!(get_bytes(&os, "a").await, b"back");
}

/// Putting an object under an existing name replaces it: the new contents, a new nuid, one
/// meta message, and the old chunks purged from the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overwrite_replaces_and_purges_old_chunks() {
    let j = setup!();
    let os = store(&j, "OVER").await;
    let first = Prng::bytes(1, 3 * DEFAULT_CHUNK);
    let old = put_bytes(&os, "o", &first).await;
    assert_eq!(old.chunks, 3);
    let second = Prng::bytes(2, 100);
    let new = put_bytes(&os, "o", &second).await;
    assert_ne!(new.nuid, old.nuid);
    assert_eq!(get_bytes(&os, "o").await, second);
    let subs = subjects(&j, "OBJ_OVER").await;
    assert_eq!(
        subs,
        BTreeMap::from([
            (format!("$O.OVER.C.{}", new.nuid), 1),
            (format!("$O.OVER.M.{}", base64_url(b"o")), 1),
        ])
    );
    let info = os.info("o").await.unwrap();
    assert_eq!((info.size, info.chunks), (100, 1));
    assert_eq!(
        info.digest.as_deref(),
        Some(object_digest(Sha256::digest(&second)).as_str())
    );
}

/// A link to an object reads the object (in the same bucket and from another bucket); a link
/// to a bucket is recorded but cannot be read as an object (`BucketLink`); a link cannot take
/// the name of an object; links are listed like objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn links_to_objects_and_buckets() {
    let j = setup!();
    let os = store(&j, "LINKS").await;
    let other = store(&j, "OTHER").await;
    let data = Prng::bytes(5, 300_000);
    let target = put_bytes(&os, "target", &data).await;

    let link = os.add_link("alias", &target).await.expect("add link");
    let link_opts = link.options.as_ref().and_then(|o| o.link.clone());
    assert_eq!(
        link_opts
            .as_ref()
            .map(|l| (l.bucket.as_str(), l.name.as_deref())),
        Some(("LINKS", Some("target")))
    );
    assert_eq!(get_bytes(&os, "alias").await, data);
    let stored = os.info("alias").await.unwrap();
    assert_eq!(stored.options.and_then(|o| o.link), link_opts);

    // From another bucket.
    other
        .add_link("far", &target)
        .await
        .expect("cross-bucket link");
    assert_eq!(get_bytes(&other, "far").await, data);

    // A link to a bucket.
    os.add_bucket_link("bucket-link", "OTHER")
        .await
        .expect("bucket link");
    let err = os.get("bucket-link").await.expect_err("not an object");
    assert_eq!(err.kind(), GetErrorKind::BucketLink, "{err}");
    let info = os.info("bucket-link").await.unwrap();
    let l = info.options.and_then(|o| o.link).expect("a link");
    assert_eq!((l.bucket.as_str(), l.name), ("OTHER", None));

    // A link cannot replace an object; a link cannot point at a link.
    let err = os
        .add_link("target", &target)
        .await
        .expect_err("name taken");
    assert_eq!(err.kind(), AddLinkErrorKind::AlreadyExists, "{err}");
    let err = os.add_link("link2", &link).await.expect_err("link to link");
    assert_eq!(err.kind(), AddLinkErrorKind::LinkToLink, "{err}");

    let names: BTreeSet<String> = collect_all(os.list().await.unwrap(), "list")
        .await
        .into_iter()
        .map(|i: ObjectInfo| i.name)
        .collect();
    assert_eq!(
        names,
        ["alias", "bucket-link", "target"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    // Deleting the target breaks the link.
    os.delete("target").await.unwrap();
    let err = os.get("alias").await.expect_err("target deleted");
    assert_eq!(err.kind(), GetErrorKind::NotFound, "{err}");
}

/// `watch` yields the info of each object put or deleted after it starts (deletes with
/// `deleted: true`); `watch_with_history` first yields the latest info of each existing
/// object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_puts_and_deletes() {
    let j = setup!();
    let os = store(&j, "WATCH").await;
    put_bytes(&os, "before", b"1").await;
    put_bytes(&os, "before", b"2").await;
    put_bytes(&os, "also", b"3").await;

    let mut hist = os.watch_with_history().await.unwrap();
    let h1 = next_ok(&mut hist, "history 1").await;
    let h2 = next_ok(&mut hist, "history 2").await;
    assert_eq!(
        vec![(h1.name.as_str(), h1.size), (h2.name.as_str(), h2.size)],
        vec![("before", 1), ("also", 1)]
    );
    assert!(next_within(&mut hist, QUIET).await.is_none());

    let mut live = os.watch().await.unwrap();
    assert!(
        next_within(&mut live, QUIET).await.is_none(),
        "watch starts with new changes only"
    );
    put_bytes(&os, "new", b"hello").await;
    os.delete("also").await.unwrap();
    for w in [&mut live, &mut hist] {
        let e = next_ok(w, "put of new").await;
        assert_eq!((e.name.as_str(), e.size, e.deleted), ("new", 5, false));
        assert_eq!(
            e.digest.as_deref(),
            Some(object_digest(Sha256::digest(b"hello")).as_str())
        );
        let e = next_ok(w, "delete of also").await;
        assert_eq!((e.name.as_str(), e.size, e.deleted), ("also", 0, true));
    }
}

/// A sealed bucket keeps its objects readable but takes no more writes: the stream config
/// says `sealed`, a put fails (the server refuses the chunk), a delete fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seal_stops_writes() {
    let j = setup!();
    let mut os = store(&j, "SEAL").await;
    put_bytes(&os, "kept", b"data").await;
    os.seal().await.expect("seal");
    let c = config_json(&j, "OBJ_SEAL").await;
    assert_eq!(c["sealed"], true, "{c}");
    assert_eq!(get_bytes(&os, "kept").await, b"data");

    let mut reader: &[u8] = b"more";
    let err = within(
        OBJ_TIMEOUT,
        "put to a sealed bucket",
        os.put("new", &mut reader),
    )
    .await
    .expect_err("sealed");
    assert_eq!(err.kind(), PutErrorKind::PublishChunks, "{err}");
    let e = expect_js_err(&err, "put to sealed");
    assert_eq!((e.code, e.err_code), (400, 10109), "{e:?}");
    assert!(
        e.description.contains("invalid operation on sealed stream"),
        "{e:?}"
    );
    assert!(
        os.delete("kept").await.is_err(),
        "delete in a sealed bucket"
    );
    assert_eq!(get_bytes(&os, "kept").await, b"data");
    let st = state_json(&j, "OBJ_SEAL").await;
    assert_eq!(u(&st["messages"]), 2, "{st}");
}

/// Description, metadata and headers given at put are kept in the object's info (and its
/// stored meta JSON); `update_metadata` changes the description and renames (the old name is
/// then not found; renaming onto an existing name is refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_headers_and_rename() {
    let j = setup!();
    let os = store(&j, "META").await;
    let mut headers = HeaderMap::new();
    headers.insert("X-Kind", "report");
    headers.insert("X-Owner", "ops");
    let metadata = HashMap::from([
        ("team".to_string(), "storage".to_string()),
        ("tier".to_string(), "gold".to_string()),
    ]);
    let info = put_bytes(
        &os,
        ObjectMetadata {
            name: "doc".into(),
            description: Some("a document".into()),
            metadata: metadata.clone(),
            headers: Some(headers.clone()),
            ..Default::default()
        },
        b"contents",
    )
    .await;
    assert_eq!(info.description.as_deref(), Some("a document"));
    let stored = os.info("doc").await.unwrap();
    assert_eq!(stored.description.as_deref(), Some("a document"));
    assert_eq!(stored.metadata, metadata);
    let h = stored.headers.clone().expect("headers kept");
    assert_eq!(h.get("X-Kind").map(|v| v.as_str()), Some("report"));
    assert_eq!(h.get("X-Owner").map(|v| v.as_str()), Some("ops"));
    let (_, meta) = raw_meta(&j, "META", "doc").await;
    assert_eq!(meta["description"], "a document", "{meta}");
    assert_eq!(meta["metadata"]["team"], "storage", "{meta}");
    assert_eq!(
        meta["headers"]["X-Kind"],
        json!(["report"]),
        "headers as a map of lists: {meta}"
    );

    let updated = os
        .update_metadata(
            "doc",
            UpdateMetadata {
                name: "doc".into(),
                description: Some("revised".into()),
                ..Default::default()
            },
        )
        .await
        .expect("update description");
    assert_eq!(updated.description.as_deref(), Some("revised"));
    assert_eq!(
        os.info("doc").await.unwrap().description.as_deref(),
        Some("revised")
    );

    let renamed = os
        .update_metadata(
            "doc",
            UpdateMetadata {
                name: "doc-v2".into(),
                description: Some("renamed".into()),
                ..Default::default()
            },
        )
        .await
        .expect("rename");
    assert_eq!(renamed.name, "doc-v2");
    assert_eq!(get_bytes(&os, "doc-v2").await, b"contents");
    let err = os.info("doc").await.expect_err("old name");
    assert_eq!(err.kind(), InfoErrorKind::NotFound, "{err}");

    put_bytes(&os, "taken", b"x").await;
    let err = os
        .update_metadata(
            "doc-v2",
            UpdateMetadata {
                name: "taken".into(),
                ..Default::default()
            },
        )
        .await
        .expect_err("name in use");
    assert_eq!(
        err.kind(),
        UpdateMetadataErrorKind::NameAlreadyInUse,
        "{err}"
    );
}

/// The bucket's state as the server reports it (stream info): messages, bytes, subjects, and
/// a bucket limited by max_bytes refusing an object that does not fit (discard new).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_state_and_max_bytes() {
    let j = setup!();
    let os = js_ctx(&j)
        .create_object_store(object_store::Config {
            bucket: "LIM".into(),
            max_bytes: 64 * 1024,
            ..Default::default()
        })
        .await
        .unwrap();
    put_bytes(
        &os,
        ObjectMetadata {
            name: "fits".into(),
            chunk_size: Some(16 * 1024),
            ..Default::default()
        },
        &Prng::bytes(1, 40 * 1024),
    )
    .await;
    let st = state_json(&j, "OBJ_LIM").await;
    assert_eq!(u(&st["messages"]), 4, "3 chunks and a meta: {st}");
    assert_eq!(u(&st["num_subjects"]), 2, "{st}");
    let bytes = u(&st["bytes"]);
    assert!((40 * 1024..64 * 1024).contains(&bytes), "{st}");

    let data = Prng::bytes(2, 40 * 1024);
    let mut reader = data.as_slice();
    let err = within(
        OBJ_TIMEOUT,
        "put over max_bytes",
        os.put("too-big", &mut reader),
    )
    .await
    .expect_err("over max_bytes");
    assert_eq!(err.kind(), PutErrorKind::PublishChunks, "{err}");
    let e = expect_js_err(&err, "over max_bytes");
    assert_eq!(e.err_code, 10077, "{e:?}");
    let err = os.get("too-big").await.expect_err("never stored");
    assert_eq!(err.kind(), GetErrorKind::NotFound, "{err}");
    assert_eq!(get_bytes(&os, "fits").await, Prng::bytes(1, 40 * 1024));
}
