//! Key-Value watchers, key history and key listings through the official client
//! (`async_nats::jetstream::kv`): `watch` / `watch_all` (new updates only), `watch_with_history`
//! (the latest value per key, then updates), `watch_from_revision` /
//! `watch_all_from_revision`, wildcard keys, `watch_many` (2.10+ multi-filter consumers),
//! `history`, `keys`; each watcher is checked for the operation (put, delete, purge), revision,
//! delta and `seen_current` of what it yields.
//!
//! Runs against Weir or (`WEIR_TEST_TARGET=nats-server`) the reference nats-server 2.9.10;
//! `watch_many*` needs consumers with several filter subjects (2.10+) and runs on Weir only.
//! Buckets are made with `kv_common::create_bucket` (on 2.9.10 through the stream API, which
//! async-nats 0.51's `create_key_value` cannot use there).
//! async-nats 0.51 has no "ignore deletes" watch option and no filtered key listing, so those
//! are not exercised here. Expiry markers seen by watchers are in `kv_ttl.rs` (Weir only).

mod common;
mod js_common;
mod kv_common;

use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::jetstream::kv::{self, Operation};
use futures::StreamExt;
use js_common::*;
use kv_common::*;

async fn bucket(j: &Js, name: &str, history: i64) -> kv::Store {
    create_bucket(
        j,
        kv::Config {
            bucket: name.to_string(),
            history,
            ..Default::default()
        },
    )
    .await
}

/// `watch_all` yields only what happens after it starts: puts, deletes and purges with their
/// operation, value, revision, bucket; `seen_current` on every live update, and delta 0 when
/// nothing else is pending (each change is made after the previous one was seen).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_all_sees_new_puts_deletes_and_purges() {
    let j = setup!();
    let kv = bucket(&j, "W", 5).await;
    kv.put("a", "old".into()).await.unwrap();
    kv.put("c", "old".into()).await.unwrap();
    let mut w = kv.watch_all().await.unwrap();
    assert!(
        next_within(&mut w, QUIET).await.is_none(),
        "existing values are not replayed"
    );
    let mut got = Vec::new();
    for (i, op) in ["put b", "delete a", "purge c", "put a"]
        .into_iter()
        .enumerate()
    {
        match op {
            "put b" => kv.put("b", "1".into()).await.map(drop).unwrap(),
            "delete a" => kv.delete("a").await.unwrap(),
            "purge c" => kv.purge("c").await.unwrap(),
            _ => kv.put("a", "2".into()).await.map(drop).unwrap(),
        }
        let e = next_ok(&mut w, &format!("update {i}: {op}")).await;
        assert_eq!(e.bucket, "W");
        assert_eq!(e.delta, 0, "{op}: {e:?}");
        assert!(e.seen_current, "{op}: {e:?}");
        got.push(e);
    }
    assert_eq!(
        got.iter().map(kov).collect::<Vec<_>>(),
        vec![put("b", "1"), del("a"), purged("c"), put("a", "2")]
    );
    assert_eq!(
        got.iter().map(|e| e.revision).collect::<Vec<_>>(),
        vec![3, 4, 5, 6]
    );
    // Changes made back to back arrive in order, each once.
    kv.put("x", "1".into()).await.unwrap();
    kv.delete("x").await.unwrap();
    kv.put("x", "2".into()).await.unwrap();
    let mut burst = Vec::new();
    for i in 0..3 {
        let e = next_ok(&mut w, &format!("burst {i}")).await;
        burst.push((kov(&e), e.revision));
    }
    assert_eq!(
        burst,
        vec![(put("x", "1"), 7), (del("x"), 8), (put("x", "2"), 9)]
    );
    assert!(next_within(&mut w, QUIET).await.is_none());
}

/// `watch(key)` follows one key; `watch("a.*")` one level under `a`; `watch("a.>")` every key
/// under `a`. Each sees only its keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_one_key_and_wildcards() {
    let j = setup!();
    let kv = bucket(&j, "WK", 1).await;
    let mut one = kv.watch("a").await.unwrap();
    let mut star = kv.watch("a.*").await.unwrap();
    let mut full = kv.watch("a.>").await.unwrap();
    for (k, v) in [
        ("a", "1"),
        ("a.b", "2"),
        ("a.c.d", "3"),
        ("b", "4"),
        ("ab", "5"),
    ] {
        kv.put(k, v.into()).await.unwrap();
    }
    kv.delete("a.b").await.unwrap();
    kv.put("a", "6".into()).await.unwrap();

    let e1 = next_ok(&mut one, "a").await;
    let e2 = next_ok(&mut one, "a again").await;
    assert_eq!(vec![kov(&e1), kov(&e2)], vec![put("a", "1"), put("a", "6")]);
    assert_eq!((e1.revision, e2.revision), (1, 7));
    assert!(next_within(&mut one, QUIET).await.is_none());

    let s1 = next_ok(&mut star, "a.b").await;
    let s2 = next_ok(&mut star, "a.b deleted").await;
    assert_eq!(vec![kov(&s1), kov(&s2)], vec![put("a.b", "2"), del("a.b")]);
    assert!(next_within(&mut star, QUIET).await.is_none());

    let mut f = Vec::new();
    for i in 0..3 {
        f.push(kov(&next_ok(&mut full, &format!("a.> {i}")).await));
    }
    assert_eq!(f, vec![put("a.b", "2"), put("a.c.d", "3"), del("a.b")]);
    assert!(next_within(&mut full, QUIET).await.is_none());
}

/// `watch_with_history` first yields the latest entry of each key (markers included) in
/// revision order, counting `delta` down to 0 and turning `seen_current` on with the last
/// one, then follows updates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_with_history_replays_latest_then_follows() {
    let j = setup!();
    let kv = bucket(&j, "WH", 5).await;
    kv.put("a", "1".into()).await.unwrap(); // 1
    kv.put("b", "1".into()).await.unwrap(); // 2
    kv.put("a", "2".into()).await.unwrap(); // 3
    kv.put("c", "1".into()).await.unwrap(); // 4
    kv.delete("b").await.unwrap(); // 5
    kv.put("d", "1".into()).await.unwrap(); // 6
    kv.purge("d").await.unwrap(); // 7

    let mut w = kv.watch_with_history(">").await.unwrap();
    let mut got = Vec::new();
    for i in 0..4 {
        got.push(next_ok(&mut w, &format!("initial {i}")).await);
    }
    assert_eq!(
        got.iter()
            .map(|e| (kov(e), e.revision, e.delta, e.seen_current))
            .collect::<Vec<_>>(),
        vec![
            (put("a", "2"), 3, 3, false),
            (put("c", "1"), 4, 2, false),
            (del("b"), 5, 1, false),
            (purged("d"), 7, 0, true),
        ]
    );
    assert!(next_within(&mut w, QUIET).await.is_none());
    kv.put("b", "2".into()).await.unwrap();
    let e = next_ok(&mut w, "live update").await;
    assert_eq!((kov(&e), e.revision, e.delta), (put("b", "2"), 8, 0));
    assert!(e.seen_current);

    // One key with history: its latest entry only.
    let mut one = kv.watch_with_history("a").await.unwrap();
    let e = next_ok(&mut one, "latest of a").await;
    assert_eq!(
        (kov(&e), e.revision, e.seen_current),
        (put("a", "2"), 3, true)
    );
    assert!(next_within(&mut one, QUIET).await.is_none());
}

/// An empty bucket: a watcher with history yields nothing until the first put, which comes
/// with `seen_current`; `keys` is empty and ends; a key's history is empty and ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_bucket_watch_keys_and_history() {
    let j = setup!();
    let kv = bucket(&j, "EMPTY", 3).await;
    let keys: Vec<String> = collect_all(kv.keys().await.unwrap(), "keys of an empty bucket").await;
    assert!(keys.is_empty(), "{keys:?}");
    let hist = collect_all(kv.history("nothing").await.unwrap(), "empty history").await;
    assert!(hist.is_empty(), "{hist:?}");

    let mut w = kv.watch_with_history(">").await.unwrap();
    assert!(next_within(&mut w, QUIET).await.is_none());
    kv.put("first", "1".into()).await.unwrap();
    let e = next_ok(&mut w, "the first put").await;
    assert_eq!((kov(&e), e.revision, e.delta), (put("first", "1"), 1, 0));
    assert!(e.seen_current);
}

/// `watch_all_from_revision(n)` replays every entry from revision n (all history, not just
/// the latest per key) and then follows; `watch_from_revision(key, n)` the same for one key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_revision() {
    let j = setup!();
    let kv = bucket(&j, "WR", 10).await;
    for (k, v) in [("a", "1"), ("b", "1"), ("a", "2"), ("b", "2"), ("a", "3")] {
        kv.put(k, v.into()).await.unwrap();
    }
    kv.delete("b").await.unwrap(); // 6

    let mut all = kv.watch_all_from_revision(3).await.unwrap();
    let mut got = Vec::new();
    for i in 0..4 {
        got.push(next_ok(&mut all, &format!("from 3, {i}")).await);
    }
    assert_eq!(
        got.iter().map(|e| (kov(e), e.revision)).collect::<Vec<_>>(),
        vec![
            (put("a", "2"), 3),
            (put("b", "2"), 4),
            (put("a", "3"), 5),
            (del("b"), 6),
        ]
    );
    assert_eq!(
        got.iter().map(|e| e.delta).collect::<Vec<_>>(),
        vec![3, 2, 1, 0]
    );
    assert!(got[3].seen_current);

    let mut a = kv.watch_from_revision("a", 2).await.unwrap();
    let e1 = next_ok(&mut a, "a from 2").await;
    let e2 = next_ok(&mut a, "a from 2, next").await;
    assert_eq!(
        vec![(kov(&e1), e1.revision), (kov(&e2), e2.revision)],
        vec![(put("a", "2"), 3), (put("a", "3"), 5)]
    );
    assert!(next_within(&mut a, QUIET).await.is_none());

    kv.put("a", "4".into()).await.unwrap();
    let live_all = next_ok(&mut all, "live on all").await;
    let live_a = next_ok(&mut a, "live on a").await;
    assert_eq!((kov(&live_all), live_all.revision), (put("a", "4"), 7));
    assert_eq!((kov(&live_a), live_a.revision), (put("a", "4"), 7));

    // A start past the end: only what comes later.
    let mut later = kv.watch_all_from_revision(100).await.unwrap();
    assert!(next_within(&mut later, QUIET).await.is_none());
}

/// A watcher keeps up with a burst of updates from another connection: every revision, in
/// order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_keeps_order_under_a_burst() {
    let j = setup!();
    let kv = bucket(&j, "BURST", 1).await;
    let mut w = kv.watch_all().await.unwrap();
    let other = connect(&j.server.url()).await;
    let writer = async_nats::jetstream::new(other)
        .get_key_value("BURST")
        .await
        .unwrap();
    let task = tokio::spawn(async move {
        for i in 0..500u32 {
            writer
                .put(format!("k{}", i % 7), i.to_string().into())
                .await
                .unwrap();
        }
    });
    for i in 0..500u64 {
        let e = next_ok(&mut w, &format!("update {i}")).await;
        assert_eq!(e.revision, i + 1);
        assert_eq!(e.key, format!("k{}", i % 7));
        assert_eq!(e.value, i.to_string().as_bytes());
        assert_eq!(e.operation, Operation::Put);
    }
    common::within(ENTRY_TIMEOUT, "the writer", task)
        .await
        .unwrap();
}

/// `history(key)` yields every kept revision of the key, markers included, then ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_of_a_key() {
    let j = setup!();
    let kv = bucket(&j, "H", 10).await;
    kv.put("k", "1".into()).await.unwrap();
    kv.put("other", "x".into()).await.unwrap();
    kv.put("k", "2".into()).await.unwrap();
    kv.delete("k").await.unwrap();
    kv.put("k", "3".into()).await.unwrap();
    let hist = collect_all(kv.history("k").await.unwrap(), "history of k").await;
    assert_eq!(
        hist.iter()
            .map(|e| (kov(e), e.revision, e.delta))
            .collect::<Vec<_>>(),
        vec![
            (put("k", "1"), 1, 3),
            (put("k", "2"), 3, 2),
            (del("k"), 4, 1),
            (put("k", "3"), 5, 0),
        ]
    );
    assert!(hist.iter().all(|e| e.bucket == "H"));
    let hist = collect_all(kv.history("other").await.unwrap(), "history of other").await;
    assert_eq!(
        hist.iter().map(kov).collect::<Vec<_>>(),
        vec![put("other", "x")]
    );
    // Wildcards are not keys for the client.
    assert!(kv.history("k.*").await.is_err());
}

/// `keys` lists keys whose latest entry is a value: deleted and purged keys are left out,
/// a key written again after a delete is back; each key once however many revisions it has.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_lists_live_keys_only() {
    let j = setup!();
    let kv = bucket(&j, "KEYS", 5).await;
    for (k, v) in [
        ("a", "1"),
        ("b", "1"),
        ("c.d", "1"),
        ("e", "1"),
        ("a", "2"),
        ("f", "1"),
    ] {
        kv.put(k, v.into()).await.unwrap();
    }
    kv.delete("b").await.unwrap();
    kv.purge("e").await.unwrap();
    kv.delete("f").await.unwrap();
    kv.put("f", "2".into()).await.unwrap();
    let keys: Vec<String> = collect_all(kv.keys().await.unwrap(), "keys").await;
    assert_eq!(keys.len(), 3, "each key once: {keys:?}");
    let set: BTreeSet<String> = keys.into_iter().collect();
    assert_eq!(
        set,
        ["a", "c.d", "f"].into_iter().map(String::from).collect()
    );

    // Everything deleted: no keys.
    for k in ["a", "c.d", "f"] {
        kv.delete(k).await.unwrap();
    }
    let keys: Vec<String> = collect_all(kv.keys().await.unwrap(), "keys after deletes").await;
    assert!(keys.is_empty(), "{keys:?}");
}

/// `watch_many` / `watch_many_with_history` watch several keys (one consumer with several
/// filter subjects). Weir only: consumers with `filter_subjects` are nats-server 2.10+.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_many_keys() {
    let j = setup!();
    if j.server.is_reference() {
        eprintln!("note: multi-filter consumers need nats-server 2.10+; skipped on 2.9.10");
        return;
    }
    let kv = bucket(&j, "MANY", 5).await;
    kv.put("a", "1".into()).await.unwrap(); // 1
    kv.put("b", "1".into()).await.unwrap(); // 2
    kv.put("c.x", "1".into()).await.unwrap(); // 3
    kv.put("a", "2".into()).await.unwrap(); // 4

    let mut hist = kv.watch_many_with_history(["a", "c.>"]).await.unwrap();
    let e1 = next_ok(&mut hist, "c.x").await;
    let e2 = next_ok(&mut hist, "a").await;
    assert_eq!(
        vec![(kov(&e1), e1.revision), (kov(&e2), e2.revision)],
        vec![(put("c.x", "1"), 3), (put("a", "2"), 4)]
    );
    assert!(e2.seen_current);

    let mut live = kv.watch_many(["b", "c.>"]).await.unwrap();
    assert!(next_within(&mut live, QUIET).await.is_none());
    kv.put("a", "3".into()).await.unwrap(); // 5
    kv.put("b", "2".into()).await.unwrap(); // 6
    kv.delete("c.x").await.unwrap(); // 7
    let l1 = next_ok(&mut live, "b").await;
    let l2 = next_ok(&mut live, "c.x deleted").await;
    assert_eq!(
        vec![(kov(&l1), l1.revision), (kov(&l2), l2.revision)],
        vec![(put("b", "2"), 6), (del("c.x"), 7)]
    );
    let h1 = next_ok(&mut hist, "a live").await;
    let h2 = next_ok(&mut hist, "c.x deleted live").await;
    assert_eq!(
        vec![(kov(&h1), h1.revision), (kov(&h2), h2.revision)],
        vec![(put("a", "3"), 5), (del("c.x"), 7)]
    );
    assert!(next_within(&mut live, QUIET).await.is_none());
}

/// A watcher left idle longer than twice the ordered consumer's idle heartbeat (5 s) is kept
/// alive by the server's heartbeats: no error, and the next update arrives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_watcher_is_kept_alive_by_heartbeats() {
    let j = setup!();
    let kv = bucket(&j, "IDLE", 1).await;
    let mut w = kv.watch_all().await.unwrap();
    kv.put("k", "1".into()).await.unwrap();
    assert_eq!(kov(&next_ok(&mut w, "first put").await), put("k", "1"));
    // Nothing to deliver for 11 s: only heartbeats, which the client consumes silently.
    let idle = next_within(&mut w, Duration::from_secs(11)).await;
    assert!(
        idle.is_none(),
        "an idle watcher yielded {:?}",
        idle.map(|r| r.map(|e| kov(&e)).map_err(|e| e.to_string()))
    );
    kv.put("k", "2".into()).await.unwrap();
    let e = next_ok(&mut w, "update after idling").await;
    assert_eq!((kov(&e), e.revision), (put("k", "2"), 2));
}

/// A watcher whose server restarts picks up again: once the client notices (on reconnect, or
/// after missing heartbeats for 10 s, with one `MissingHeartbeat` error item; both servers
/// here take the latter path) it recreates its consumer after the last revision it saw, and
/// yields exactly the updates made after the restart, none twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_resumes_after_server_restart() {
    let mut j = setup!();
    let kv = bucket(&j, "RESUME", 5).await;
    let mut w = kv.watch_all().await.unwrap();
    kv.put("a", "1".into()).await.unwrap();
    kv.put("b", "1".into()).await.unwrap();
    assert_eq!(next_ok(&mut w, "a").await.revision, 1);
    assert_eq!(next_ok(&mut w, "b").await.revision, 2);

    j.server.restart().await;
    // Another connection writes after the restart.
    let writer = async_nats::jetstream::new(connect(&j.server.url()).await)
        .get_key_value("RESUME")
        .await
        .unwrap();
    writer.put("a", "2".into()).await.unwrap();
    writer.delete("b").await.unwrap();

    let mut got = Vec::new();
    let mut errors = Vec::new();
    common::within(
        Duration::from_secs(30),
        "updates after the restart",
        async {
            while got.len() < 2 {
                match w.next().await {
                    Some(Ok(e)) => got.push((kov(&e), e.revision)),
                    Some(Err(e)) => errors.push(e.to_string()),
                    None => panic!("watcher ended"),
                }
            }
        },
    )
    .await;
    assert_eq!(got, vec![(put("a", "2"), 3), (del("b"), 4)]);
    assert!(errors.len() <= 1, "{errors:?}");
    assert!(next_within(&mut w, QUIET).await.is_none());
}

/// A bucket with thousands of keys (some with several revisions, some deleted): `keys` lists
/// each live key once, and `watch_with_history` yields the latest entry of every key, in
/// revision order, with `seen_current` only on the last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_keys_listing_and_history_watch() {
    const KEYS: usize = 3000;
    let j = setup!();
    let kv = bucket(&j, "MANYK", 3).await;
    // Puts in parallel (each still acknowledged), then a second revision of every 10th key
    // and a delete of every 7th.
    let puts = futures::stream::iter(0..KEYS)
        .map(|i| {
            let kv = kv.clone();
            async move { kv.put(format!("key.{i}"), format!("v{i}").into()).await }
        })
        .buffer_unordered(64)
        .collect::<Vec<_>>();
    for r in common::within(Duration::from_secs(60), "the puts", puts).await {
        r.expect("put");
    }
    for i in (0..KEYS).step_by(10) {
        kv.put(format!("key.{i}"), format!("w{i}").into())
            .await
            .unwrap();
    }
    for i in (0..KEYS).step_by(7) {
        kv.delete(format!("key.{i}")).await.unwrap();
    }
    let live: BTreeSet<String> = (0..KEYS)
        .filter(|i| !i.is_multiple_of(7))
        .map(|i| format!("key.{i}"))
        .collect();

    let keys: Vec<String> = common::within(
        Duration::from_secs(30),
        "the key listing",
        kv.keys().await.unwrap().map(|k| k.expect("key")).collect(),
    )
    .await;
    assert_eq!(keys.len(), live.len(), "each live key once");
    assert_eq!(keys.into_iter().collect::<BTreeSet<_>>(), live);

    let mut w = kv.watch_with_history("key.>").await.unwrap();
    let mut last_rev = 0;
    let mut seen = BTreeSet::new();
    for n in 0..KEYS {
        let e = next_ok(&mut w, &format!("latest entry {n}")).await;
        assert!(e.revision > last_rev, "revision order");
        last_rev = e.revision;
        let i: usize = e.key["key.".len()..].parse().unwrap();
        let expected = if i.is_multiple_of(7) {
            del(&e.key)
        } else if i.is_multiple_of(10) {
            put(&e.key, &format!("w{i}"))
        } else {
            put(&e.key, &format!("v{i}"))
        };
        assert_eq!(kov(&e), expected);
        assert_eq!(e.seen_current, n == KEYS - 1, "entry {n}: {e:?}");
        assert!(seen.insert(e.key.clone()), "{} twice", e.key);
    }
    assert!(next_within(&mut w, QUIET).await.is_none());
}

/// A key listing with filters, as other clients do it (async-nats 0.51 has none): an ordered
/// headers-only consumer delivering the last message per subject for several filter
/// subjects. Each matching key arrives once (its latest entry, headers only, `Nats-Msg-Size`
/// giving the value's size), deleted keys as their markers. Weir only: several filter
/// subjects need nats-server 2.10+.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_key_listing_with_a_headers_only_consumer() {
    use async_nats::jetstream::consumer::{push::OrderedConfig, DeliverPolicy};
    let j = setup!();
    if j.server.is_reference() {
        eprintln!("note: multi-filter consumers need nats-server 2.10+; skipped on 2.9.10");
        return;
    }
    let kv = bucket(&j, "FILT", 3).await;
    for (k, v) in [
        ("a.1", "x"),
        ("a.2", "yy"),
        ("b.1", "z"),
        ("c", "www"),
        ("a.1", "xxxx"),
    ] {
        kv.put(k, v.into()).await.unwrap();
    }
    kv.delete("a.2").await.unwrap();
    let stream = js_ctx(&j).get_stream("KV_FILT").await.unwrap();
    let consumer = stream
        .create_consumer(OrderedConfig {
            deliver_subject: j.c.new_inbox(),
            filter_subjects: vec!["$KV.FILT.a.>".into(), "$KV.FILT.c".into()],
            deliver_policy: DeliverPolicy::LastPerSubject,
            headers_only: true,
            ..Default::default()
        })
        .await
        .expect("multi-filter headers-only consumer");
    assert_eq!(consumer.cached_info().num_pending, 3);
    let mut msgs = consumer.messages().await.unwrap();
    let mut got = Vec::new();
    for i in 0..3 {
        let m = next_ok(&mut msgs, &format!("key {i}")).await;
        let info = m.info().expect("jetstream message");
        assert!(m.payload.is_empty(), "headers only: {:?}", m.payload);
        let h = m.headers.clone().unwrap_or_default();
        got.push((
            m.subject.to_string(),
            info.stream_sequence,
            h.get("Nats-Msg-Size").map(|v| v.to_string()),
            h.get("KV-Operation").map(|v| v.to_string()),
            info.pending,
        ));
    }
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        got,
        vec![
            ("$KV.FILT.c".into(), 4, s("3"), None, 2),
            ("$KV.FILT.a.1".into(), 5, s("4"), None, 1),
            ("$KV.FILT.a.2".into(), 6, s("0"), s("DEL"), 0),
        ]
    );
    assert!(next_within(&mut msgs, QUIET).await.is_none());
}
