//! More JetStream stream behaviour, through raw `$JS.API` requests and publishes: republish
//! destinations, subject delete markers (ADR-43/ADR-48), API counters, subject detail paging.
//! Same conventions as `js_streams.rs`: every test also runs against the reference with
//! `WEIR_TEST_TARGET=nats-server` (nats-server 2.9.10), and tests of 2.10+ behaviour say
//! `// 2.10+: not checked against the 2.9.10 reference` and skip there.

mod common;
mod js_common;

use std::time::{Duration, Instant};

use async_nats::Client;
use bytes::Bytes;
use js_common::*;
use serde_json::{json, Value};

/// Polls `stream`'s state until `done` holds (bounded).
async fn wait_state(c: &Client, stream: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = stream_state(c, stream).await;
        if done(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn account(c: &Client) -> (u64, u64) {
    let v = api_ok(c, "$JS.API.INFO", "").await;
    (u(&v["api"]["total"]), u(&v["api"]["errors"]))
}

// ---------------------------------------------------------------------------------------------
// Republish
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republish_to_a_dollar_destination() {
    // A `$` token that is not `$` + a number (`$KV`) is a literal in a mapping destination, so
    // a stream may republish into a KV bucket's subjects (checked against the reference too).
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "SRC", "subjects": ["A.>", "B.>"], "max_msgs_per_subject": 10,
               "republish": {"src": "A.>", "dest": "$KV.test.>"}}),
    )
    .await;
    create_stream(
        c,
        json!({"name": "KV_test", "subjects": ["$KV.test.>"], "max_msgs_per_subject": 10}),
    )
    .await;
    publish_ok(c, "B.foo", &[], "data").await;
    publish_ok(c, "A.orange", &[], "key").await;
    wait_state(c, "KV_test", "the republished copy is stored", |s| {
        s["messages"] == 1
    })
    .await;
    let v = api_ok(
        c,
        "$JS.API.STREAM.MSG.GET.KV_test",
        r#"{"last_by_subj":"$KV.test.orange"}"#,
    )
    .await;
    assert_eq!(v["message"]["seq"], 1);

    // `$n` is still a wildcard reference: out of range is refused.
    let err = api_err(
        c,
        "$JS.API.STREAM.CREATE.BAD",
        json!({"name": "BAD", "subjects": ["x.*"],
               "republish": {"src": "x.*", "dest": "y.$2"}})
        .to_string(),
    )
    .await;
    assert_eq!(err.err_code, 10052, "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Subject delete markers
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_purge_marker_with_ttl_expires_without_a_replacement() {
    // 2.10+: not checked against the 2.9.10 reference (ADR-43/ADR-48 are 2.11). A KV purge
    // with a TTL (what `purge_with_ttl` sends) is itself a marker: when it expires the
    // subject is left empty, with no delete marker in its place (and so no endless chain).
    let j = setup!();
    if j.server.is_reference() {
        println!("note: 2.11 feature; skipped on the 2.9.10 reference");
        return;
    }
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "KV_ttl", "subjects": ["$KV.ttl.>"], "max_msgs_per_subject": 15,
               "allow_rollup_hdrs": true, "subject_delete_marker_ttl": 1_000_000_000u64}),
    )
    .await;
    for _ in 0..3 {
        publish_ok(c, "$KV.ttl.key1", &[], "value").await;
        publish_ok(c, "$KV.ttl.key2", &[], "value").await;
    }
    publish_ok(
        c,
        "$KV.ttl.key1",
        &[
            ("KV-Operation", "PURGE"),
            ("Nats-Rollup", "sub"),
            ("Nats-TTL", "1s"),
        ],
        "",
    )
    .await;
    assert_eq!(stream_state(c, "KV_ttl").await["messages"], 4);
    wait_state(c, "KV_ttl", "the purge marker expires", |s| {
        s["messages"] == 3
    })
    .await;
    // Past another marker TTL: still nothing on key1.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let s = stream_state(c, "KV_ttl").await;
    assert_eq!(s["messages"], 3, "{s}");
    assert_eq!(s["last_seq"], 7, "no marker was stored: {s}");
    let err = api_err(
        c,
        "$JS.API.STREAM.MSG.GET.KV_ttl",
        r#"{"last_by_subj":"$KV.ttl.key1"}"#,
    )
    .await;
    assert_eq!(err.err_code, 10037, "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_marker_reaches_a_waiting_consumer_and_is_republished() {
    // 2.10+: not checked against the 2.9.10 reference (ADR-43 markers are 2.11). The marker
    // is stored like a publish: a pull request already waiting gets it, republish copies it,
    // and it carries nats-server's headers (reason MaxAge, the marker TTL, a subject roll-up).
    let j = setup!();
    if j.server.is_reference() {
        println!("note: 2.11 feature; skipped on the 2.9.10 reference");
        return;
    }
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "AGE", "subjects": ["age.>"], "max_age": 500_000_000u64,
               "subject_delete_marker_ttl": 10_000_000_000u64,
               "republish": {"src": "age.>", "dest": "copy.>"}}),
    )
    .await;
    create_consumer(
        c,
        "AGE",
        json!({"durable_name": "W", "ack_policy": "none", "deliver_policy": "new"}),
    )
    .await;
    let mut copies = c.subscribe("copy.>").await.unwrap();
    let mut ib = inbox(c).await;
    c.flush().await.unwrap();
    publish_ok(c, "age.k", &[], "value").await;
    pull(c, "AGE", "W", &ib.subject, r#"{"batch":1}"#).await;
    let first = next_msg(&mut ib.sub, "the message").await;
    assert_eq!(first.payload, "value");
    assert_eq!(next_msg(&mut copies, "its copy").await.payload, "value");

    // The marker (due about 500 ms after the publish) answers this request.
    pull(
        c,
        "AGE",
        "W",
        &ib.subject,
        r#"{"batch":1,"expires":5000000000}"#,
    )
    .await;
    let marker = next_msg(&mut ib.sub, "the delete marker").await;
    assert_eq!(marker.subject.as_str(), "age.k");
    assert!(marker.payload.is_empty());
    assert_eq!(
        header(&marker, "Nats-Marker-Reason").as_deref(),
        Some("MaxAge")
    );
    assert_eq!(header(&marker, "Nats-TTL").as_deref(), Some("10s"));
    assert_eq!(header(&marker, "Nats-Rollup").as_deref(), Some("sub"));
    let copy = next_msg(&mut copies, "the marker's copy").await;
    assert_eq!(copy.subject.as_str(), "copy.k");
    assert_eq!(
        header(&copy, "Nats-Marker-Reason").as_deref(),
        Some("MaxAge")
    );
    assert_eq!(header(&copy, "Nats-Sequence").as_deref(), Some("2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_message_ttl_expiry_places_a_max_age_marker() {
    // 2.10+: not checked against the 2.9.10 reference (ADR-43 is 2.11). nats-server 2.14
    // marks a subject emptied by a message's own TTL the same way as by max_age.
    let j = setup!();
    if j.server.is_reference() {
        println!("note: 2.11 feature; skipped on the 2.9.10 reference");
        return;
    }
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "T", "subjects": ["t.*"], "allow_msg_ttl": true,
               "subject_delete_marker_ttl": 60_000_000_000u64}),
    )
    .await;
    publish_ok(c, "t.a", &[("Nats-TTL", "1s")], "short").await;
    wait_state(c, "T", "a marker replaces the expired message", |s| {
        s["last_seq"] == 2 && s["messages"] == 1
    })
    .await;
    let v = api_ok(c, "$JS.API.STREAM.MSG.GET.T", r#"{"seq":2}"#).await;
    let hdrs = v["message"]["hdrs"].as_str().unwrap();
    let hdrs = String::from_utf8(base64_decode(hdrs)).unwrap();
    assert!(hdrs.contains("Nats-Marker-Reason: MaxAge"), "{hdrs}");
    assert!(hdrs.contains("Nats-TTL: 1m0s"), "{hdrs}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for ch in s.bytes().filter(|&c| c != b'=') {
        let v = A.iter().position(|&a| a == ch).expect("base64") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// API counters
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_counters_count_each_answered_request_after_answering_it() {
    // nats-server counts a request when it sends the response, so an account info does not
    // include itself; an error counts in both; DIRECT.GET (the stream's own) is not counted.
    let j = setup!();
    let c = &j.c;
    let (t0, e0) = account(c).await;
    // Before it, `setup!` made two requests: `$JS.API.INFO`, and a consumer names request on
    // a stream that does not exist (an error). The info just answered is not among them.
    assert_eq!((t0, e0), (2, 1));
    let (t1, e1) = account(c).await;
    assert_eq!((t1, e1), (t0 + 1, e0));
    let _ = api(c, "$JS.API.STREAM.INFO.NOPE", "").await;
    let (t2, e2) = account(c).await;
    assert_eq!((t2, e2), (t1 + 2, e1 + 1));
    create_stream(
        c,
        json!({"name": "D", "subjects": ["d"], "allow_direct": true}),
    )
    .await;
    publish_ok(c, "d", &[], "x").await;
    let got = request_msg(c, "$JS.API.DIRECT.GET.D", r#"{"seq":1}"#).await;
    assert_eq!(got.payload, "x");
    let (t3, e3) = account(c).await;
    assert_eq!((t3, e3), (t2 + 2, e2), "create and the previous info only");
}

// ---------------------------------------------------------------------------------------------
// Subject details
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_info_pages_subject_details() {
    // nats-server pages subject details 100,000 at a time (sorted), `total` counting all
    // matched; without a filter, or when it matches nothing, total/offset/limit are 0
    // (checked against the reference too).
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "MANY", "subjects": ["m.>"], "storage": "memory"}),
    )
    .await;
    const N: usize = 100_002;
    // Acknowledged publishes, a window at a time (a stream's ingest queue is bounded).
    let js = async_nats::jetstream::new(c.clone());
    let mut acks = Vec::with_capacity(5_000);
    for i in 0..N {
        let ack = js
            .publish(format!("m.{i:06}"), Bytes::from_static(b"x"))
            .await
            .unwrap();
        acks.push(ack);
        if acks.len() == 5_000 || i + 1 == N {
            for ack in acks.drain(..) {
                ack.await.unwrap();
            }
        }
    }
    assert_eq!(stream_state(c, "MANY").await["messages"], N as u64);

    let first = stream_info_with(c, "MANY", json!({"subjects_filter": "m.>"})).await;
    assert_eq!(
        (&first["total"], &first["offset"], &first["limit"]),
        (&json!(N), &json!(0), &json!(100_000))
    );
    let page = first["state"]["subjects"].as_object().unwrap();
    assert_eq!(page.len(), 100_000);
    assert!(page.contains_key("m.000000") && page.contains_key("m.099999"));
    assert!(!page.contains_key("m.100000"));

    let rest = stream_info_with(
        c,
        "MANY",
        json!({"subjects_filter": "m.>", "offset": 100_000}),
    )
    .await;
    assert_eq!(
        (&rest["total"], &rest["offset"], &rest["limit"]),
        (&json!(N), &json!(100_000), &json!(100_000))
    );
    let page = rest["state"]["subjects"].as_object().unwrap();
    let keys: Vec<&String> = page.keys().collect();
    assert_eq!(keys, ["m.100000", "m.100001"]);

    let past = stream_info_with(
        c,
        "MANY",
        json!({"subjects_filter": "m.>", "offset": 200_000}),
    )
    .await;
    // The offset past the end is reported clamped (measured on 2.9.10).
    assert_eq!((&past["total"], &past["offset"]), (&json!(N), &json!(N)));
    assert!(past["state"].get("subjects").is_none(), "{}", past["state"]);

    let one = stream_info_with(c, "MANY", json!({"subjects_filter": "m.000007"})).await;
    assert_eq!((&one["total"], &one["limit"]), (&json!(1), &json!(100_000)));
    assert_eq!(one["state"]["subjects"], json!({"m.000007": 1}));

    for body in [json!({"subjects_filter": "nope"}), json!({})] {
        let none = stream_info_with(c, "MANY", body.clone()).await;
        assert_eq!(
            (&none["total"], &none["offset"], &none["limit"]),
            (&json!(0), &json!(0), &json!(0)),
            "{body}"
        );
        assert!(none["state"].get("subjects").is_none(), "{body}");
    }
}

// ---------------------------------------------------------------------------------------------
// Discard new
// ---------------------------------------------------------------------------------------------

/// `discard: new` with `max_bytes` refuses a publish that would not fit, counting each message
/// as the store does (subject + headers + payload + 16 for memory storage), and never evicts
/// an acknowledged message: a message that brings the total to exactly `max_bytes` is
/// accepted, one byte more is refused.
///
/// Weir's own: nats-server 2.9.10 checks only `bytes + headers + payload >= max_bytes`, then
/// its store evicts the oldest messages to get back under the limit. Measured on a memory
/// stream: the second publish below was acknowledged and seq 1, acknowledged before it, was
/// gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discard_new_max_bytes_refuses_and_keeps_what_was_acked() {
    let j = setup!();
    if j.server.is_reference() {
        return;
    }
    let c = &j.c;
    // "dn.k1" + 34 bytes + 16 = 55 bytes a message: the second would make 110.
    create_stream(
        c,
        json!({"name": "DN", "subjects": ["dn.>"], "storage": "memory", "discard": "new",
               "max_bytes": 100}),
    )
    .await;
    let body = vec![b'x'; 34];
    assert_eq!(publish_ok(c, "dn.k1", &[], body.clone()).await, 1);
    for key in ["dn.k2", "dn.k3"] {
        let err = publish_err(c, key, &[], body.clone()).await;
        assert_eq!(err, ApiErr::new(503, 10077, "maximum bytes exceeded"));
    }
    let state = stream_state(c, "DN").await;
    assert_eq!(
        (
            u(&state["messages"]),
            u(&state["first_seq"]),
            u(&state["bytes"])
        ),
        (1, 1, 55),
        "the acknowledged message stays: {state}"
    );

    // "dn2.a" + 35 + 16 = 56 bytes a message: two make exactly 112, a third does not fit.
    create_stream(
        c,
        json!({"name": "DN2", "subjects": ["dn2.>"], "storage": "memory", "discard": "new",
               "max_bytes": 112}),
    )
    .await;
    let body = vec![b'y'; 35];
    assert_eq!(publish_ok(c, "dn2.a", &[], body.clone()).await, 1);
    assert_eq!(publish_ok(c, "dn2.a", &[], body.clone()).await, 2);
    let err = publish_err(c, "dn2.a", &[], body).await;
    assert_eq!(err.err_code, 10077, "{err:?}");
}
