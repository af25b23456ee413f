//! JetStream pull consumers: `$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>` request forms, the
//! status messages that end or refuse a request, deliver policies and filters. Part of the
//! consumer suite (see `js_consumers.rs`); same conventions: every expectation was measured on
//! nats-server 2.9.10 (`WEIR_TEST_TARGET=nats-server`) unless a test says otherwise, and tests
//! skip (with a note) while Weir does not answer `$JS.API.CONSUMER.NAMES.<stream>`.
//!
//! Requests are published with `publish_with_reply` to an inbox the test subscribes to, so every
//! message and status the server sends for the request is seen as sent.
//!
//! # Pull requests on nats-server 2.9.10
//!
//! Body: empty (batch 1), a bare integer (batch), or JSON `{"batch", "expires" (ns), "no_wait",
//! "max_bytes", "idle_heartbeat" (ns)}`. A request without `expires` and without `no_wait`
//! waits until it is served (or its reply subject loses interest). Delivered messages keep their
//! subject, headers and payload; the reply subject is the ack subject
//! `$JS.ACK.<stream>.<consumer>.<delivered count>.<stream seq>.<consumer seq>.<timestamp ns>.<pending>`
//! where timestamp is the message's stored time in ns since the epoch and pending is the
//! consumer's num_pending after this delivery (also on redeliveries, where
//! it is what is still undelivered).
//!
//! Status messages are HMSGs with an empty body; header block exactly as below (raw bytes
//! checked in `raw_status_header_bytes`; 2.9.10 writes the HMSG line with an empty reply token,
//! `HMSG <inbox> <sid>  <hlen> <tlen>`, which clients read as no reply):
//!
//! | when | header block |
//! |---|---|
//! | `no_wait`, nothing pending | `NATS/1.0 404 No Messages\r\n\r\n` |
//! | `no_wait` after delivering fewer than `batch` | `NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: <batch left>\r\nNats-Pending-Bytes: <max_bytes left or 0>\r\n\r\n` (40 of 40 runs; one earlier run ended with `404 No Messages` instead) |
//! | `expires` reached | same `408 Request Timeout` with pending headers |
//! | `idle_heartbeat` while waiting | `NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: <delivered consumer seq>\r\nNats-Last-Stream: <delivered stream seq>\r\n\r\n` every interval |
//! | `idle_heartbeat` > `expires`/2, or without `expires` | `NATS/1.0 400 Bad Request - heartbeat value too large\r\n\r\n` |
//! | invalid JSON body `{` | `NATS/1.0 400 Bad Request - unexpected end of JSON input\r\n\r\n` (Go's decoder text) |
//! | next message larger than what is left of `max_bytes` | `NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: <batch left>\r\nNats-Pending-Bytes: <bytes left>\r\n\r\n` |
//! | batch > consumer `max_batch` | `NATS/1.0 409 Exceeded MaxRequestBatch of <max_batch>\r\n\r\n` |
//! | expires > consumer `max_expires` | `NATS/1.0 409 Exceeded MaxRequestExpires of <Go duration, e.g. 1s>\r\n\r\n` |
//! | max_bytes > consumer `max_bytes` | `NATS/1.0 409 Exceeded MaxRequestMaxBytes of <max_bytes>\r\n\r\n` |
//! | `max_waiting` requests already waiting | `NATS/1.0 409 Exceeded MaxWaiting\r\n\r\n` (a `no_wait` request with nothing pending still gets 404) |
//! | request to a push consumer | `NATS/1.0 409 Consumer is push based\r\n\r\n` |
//! | consumer deleted while a request waits | `NATS/1.0 409 Consumer Deleted\r\n\r\n` |
//! | unknown consumer or stream | no reply at all |
//!
//! A message's size against `max_bytes` is subject + ack reply subject + headers + payload
//! (e.g. 3 + 39 + 0 + 24 = 66: `max_bytes` 200 leaves `Nats-Pending-Bytes: 134`).
//! `max_ack_pending` stalls delivery: a waiting request gets only what fits, then times out.
//!
//! # Deliver policies (stream s.a.1, s.b.1, s.a.2, s.b.2, s.a.1, s.c = seqs 1..6)
//!
//! | config | delivered stream seqs | create reply |
//! |---|---|---|
//! | `last` | 6 | delivered.stream_seq 5, num_pending 1 |
//! | `new` | later publishes only | delivered.stream_seq 6, num_pending 0 |
//! | `by_start_sequence` 4 | 4, 5, 6 | delivered.stream_seq 3, num_pending 3 |
//! | `by_start_sequence` 100 | none (404 on no_wait) | delivered.stream_seq 6 (the last), num_pending 0 (2.14: 99, an explicit start past the end is kept) |
//! | `by_start_time` = time of seq 4 | 4, 5, 6 | delivered.stream_seq 3 |
//! | `last_per_subject` filter `s.>` | 2, 3, 4, 5, 6 | delivered.stream_seq 1, num_pending 5 |
//! | `last_per_subject` filter `s.a.*` | 3, 5 | num_pending 2 |
//! | `last` filter `s.b.*` | 4 | num_pending 1 |
//! | filter `s.*.1` / `s.a.>` / `s.>` / `s.nope` | 1,2,5 / 1,3,5 / 1..6 / none | num_pending 3 / 3 / 6 / 0 |
//!
//! 2.14 also reports `ack_floor.stream_seq` = start - 1 at create (2.9.10: 0); not asserted.
//!
//! `replay_policy: original` spaces deliveries as the messages were stored (a 400 ms gap between
//! publishes reappears between deliveries).

mod common;
mod js_common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::Client;
use common::{RawConn, ServerOp};
use js_common::*;
use serde_json::{json, Value};

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64
}

/// A stream `S` on `s.>` and a durable explicit-ack pull consumer `P` (plus `extra` config).
async fn stream_and_consumer(c: &Client, extra: Value) -> Value {
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    let mut cfg = json!({"durable_name": "P", "ack_policy": "explicit"});
    for (k, v) in extra.as_object().expect("object") {
        cfg[k] = v.clone();
    }
    create_consumer(c, "S", cfg).await
}

/// Asserts nothing more arrives on `sub` within `dur`.
async fn expect_quiet(sub: &mut async_nats::Subscriber, dur: Duration, what: &str) {
    if let Some(m) = msg_within(sub, dur).await {
        panic!("expected nothing more ({what}), got {m:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Request forms, ack subject
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_request_forms_and_ack_subject() {
    let j = setup!();
    let c = &j.c;
    stream_and_consumer(c, json!({})).await;
    let before = now_ns();
    publish_ok(c, "s.a", &[("H", "v")], "m1").await;
    for i in 2..=5 {
        publish_ok(c, &format!("s.{i}"), &[], format!("m{i}")).await;
    }
    let after = now_ns();
    let mut ib = inbox(c).await;

    // Empty body: one message, nothing else.
    pull(c, "S", "P", &ib.subject, "").await;
    let m = next_msg(&mut ib.sub, "the empty-body pull").await;
    assert_eq!(m.subject.as_str(), "s.a");
    assert_eq!(m.payload.as_ref(), b"m1");
    assert_eq!(header(&m, "H").as_deref(), Some("v"), "headers kept: {m:?}");
    assert!(m.status.is_none());
    let a = ack_of(&m);
    assert_eq!(
        (
            a.stream.as_str(),
            a.consumer.as_str(),
            a.delivered,
            a.stream_seq,
            a.consumer_seq,
            a.pending
        ),
        ("S", "P", 1, 1, 1, 4),
        "{a:?}"
    );
    assert!(
        (before..=after).contains(&a.timestamp_ns),
        "ack timestamp is the stored time in ns ({before}..={after}): {a:?}"
    );
    expect_quiet(&mut ib.sub, Duration::from_millis(200), "batch 1 is done").await;

    // Bare integer.
    pull(c, "S", "P", &ib.subject, "2").await;
    let ms = take_msgs(&mut ib.sub, 2, "the batch of 2").await;
    let acks: Vec<(u64, u64, u64)> = ms
        .iter()
        .map(|m| {
            let a = ack_of(m);
            (a.stream_seq, a.consumer_seq, a.pending)
        })
        .collect();
    assert_eq!(acks, [(2, 2, 3), (3, 3, 2)]);
    assert_eq!(ms[1].subject.as_str(), "s.3");
    expect_quiet(&mut ib.sub, Duration::from_millis(100), "batch 2 is done").await;

    // JSON with expires: the rest, then 408 with what is left of the batch.
    let t = Instant::now();
    pull(
        c,
        "S",
        "P",
        &ib.subject,
        r#"{"batch":5,"expires":300000000}"#,
    )
    .await;
    let (ms, end) = until_status(&mut ib.sub, "the expiring batch").await;
    assert_eq!(ms.len(), 2);
    assert_eq!(ack_of(&ms[1]).pending, 0);
    expect_status(&end, 408, "Request Timeout");
    assert_eq!(pending_headers(&end), (3, 0));
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );

    let info = consumer_info(c, "S", "P").await;
    assert_eq!(seqs(&info["delivered"]), (5, 5), "{info}");
    assert!(info["delivered"]["last_active"].is_string(), "{info}");
    assert_eq!(seqs(&info["ack_floor"]), (0, 0), "{info}");
    assert!(info["ack_floor"].get("last_active").is_none(), "{info}");
    assert_eq!(info["num_ack_pending"], 5, "{info}");
    assert_eq!(info["num_pending"], 0, "{info}");
    assert_eq!(info["num_waiting"], 0, "{info}");
    assert_eq!(info["num_redelivered"], 0, "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_wait_statuses() {
    let j = setup!();
    let c = &j.c;
    stream_and_consumer(c, json!({})).await;
    let mut ib = inbox(c).await;
    // Nothing pending.
    pull(c, "S", "P", &ib.subject, r#"{"batch":5,"no_wait":true}"#).await;
    let m = next_msg(&mut ib.sub, "404 on an empty consumer").await;
    expect_status(&m, 404, "No Messages");
    assert!(
        m.headers.as_ref().map(|h| h.iter().count()).unwrap_or(0) == 0,
        "404 has no other headers: {m:?}"
    );
    pull(c, "S", "P", &ib.subject, r#"{"batch":0,"no_wait":true}"#).await;
    expect_status(
        &next_msg(&mut ib.sub, "404 for batch 0").await,
        404,
        "No Messages",
    );

    // Fewer than the batch: the messages, then the end of the request.
    for (n, batch) in [(3u64, 5u64), (1, 5), (2, 2)] {
        for _ in 0..n {
            publish_ok(c, "s.a", &[], "x").await;
        }
        pull(
            c,
            "S",
            "P",
            &ib.subject,
            &json!({"batch": batch, "no_wait": true}).to_string(),
        )
        .await;
        if n == batch {
            take_msgs(&mut ib.sub, n as usize, "a full no_wait batch").await;
            expect_quiet(
                &mut ib.sub,
                Duration::from_millis(150),
                "a full batch ends quietly",
            )
            .await;
            continue;
        }
        let (ms, end) = until_status(&mut ib.sub, "a partial no_wait batch").await;
        assert_eq!(ms.len() as u64, n);
        match end.status.map(|s| s.as_u16()) {
            Some(408) => {
                expect_status(&end, 408, "Request Timeout");
                assert_eq!(pending_headers(&end), (batch - n, 0));
            }
            // Seen once on 2.9.10; 408 is what it sends almost always.
            Some(404) => expect_status(&end, 404, "No Messages"),
            _ => panic!("unexpected end of a no_wait batch: {end:?}"),
        }
    }

    // no_wait with expires and nothing pending: waits for expires, then 408.
    let t = Instant::now();
    pull(
        c,
        "S",
        "P",
        &ib.subject,
        r#"{"batch":2,"no_wait":true,"expires":300000000}"#,
    )
    .await;
    let m = next_msg(&mut ib.sub, "the no_wait+expires timeout").await;
    expect_status(&m, 408, "Request Timeout");
    assert_eq!(pending_headers(&m), (2, 0));
    assert!(
        t.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_heartbeats_while_waiting() {
    let j = setup!();
    let c = &j.c;
    stream_and_consumer(c, json!({})).await;
    publish_n_to(c, "s.a", 3).await;
    let mut ib = inbox(c).await;
    pull(c, "S", "P", &ib.subject, "3").await;
    take_msgs(&mut ib.sub, 3, "the first three").await;

    let t = Instant::now();
    pull(
        c,
        "S",
        "P",
        &ib.subject,
        r#"{"batch":2,"expires":1000000000,"idle_heartbeat":250000000}"#,
    )
    .await;
    let mut heartbeats = 0;
    let end = loop {
        let m = next_msg(&mut ib.sub, "heartbeats, then the timeout").await;
        match m.status.map(|s| s.as_u16()) {
            Some(100) => {
                expect_status(&m, 100, "Idle Heartbeat");
                assert_eq!(
                    header(&m, "Nats-Last-Consumer").as_deref(),
                    Some("3"),
                    "{m:?}"
                );
                assert_eq!(
                    header(&m, "Nats-Last-Stream").as_deref(),
                    Some("3"),
                    "{m:?}"
                );
                heartbeats += 1;
            }
            _ => break m,
        }
    };
    expect_status(&end, 408, "Request Timeout");
    assert_eq!(pending_headers(&end), (2, 0));
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert!(
        (2..=4).contains(&heartbeats),
        "a 250 ms heartbeat over 1 s: {heartbeats}"
    );

    // Heartbeat longer than half the expiry, or without expiry.
    for body in [
        r#"{"batch":2,"expires":1000000000,"idle_heartbeat":600000000}"#,
        r#"{"batch":2,"idle_heartbeat":200000000}"#,
    ] {
        pull(c, "S", "P", &ib.subject, body).await;
        let m = next_msg(&mut ib.sub, "the heartbeat rejection").await;
        expect_status(&m, 400, "Bad Request - heartbeat value too large");
    }
}

async fn publish_n_to(c: &Client, subject: &str, n: usize) {
    for i in 0..n {
        publish_ok(c, subject, &[], format!("m{i}")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_bytes_in_requests() {
    let j = setup!();
    let c = &j.c;
    stream_and_consumer(c, json!({})).await;
    let payload = "hello world this is long"; // 24 bytes
    publish_ok(c, "s.a", &[], payload).await;
    publish_ok(c, "s.a", &[], payload).await;
    let mut ib = inbox(c).await;
    // The first message does not fit.
    for body in [
        r#"{"batch":5,"max_bytes":10}"#,
        r#"{"batch":5,"max_bytes":10,"no_wait":true}"#,
    ] {
        pull(c, "S", "P", &ib.subject, body).await;
        let m = next_msg(&mut ib.sub, "the max_bytes refusal").await;
        expect_status(&m, 409, "Message Size Exceeds MaxBytes");
        assert_eq!(pending_headers(&m), (5, 10), "{body}");
    }
    // One fits, the second does not: one message, then 409 with what is left.
    pull(c, "S", "P", &ib.subject, r#"{"batch":5,"max_bytes":100}"#).await;
    let (ms, end) = until_status(&mut ib.sub, "a max_bytes batch").await;
    assert_eq!(ms.len(), 1);
    let reply_len = ms[0].reply.as_ref().expect("ack subject").len() as u64;
    let size = 3 + reply_len + payload.len() as u64;
    expect_status(&end, 409, "Message Size Exceeds MaxBytes");
    assert_eq!(pending_headers(&end), (4, 100 - size));
    // Room for both: both, then the timeout carries the bytes left.
    publish_ok(c, "s.a", &[], payload).await;
    pull(
        c,
        "S",
        "P",
        &ib.subject,
        r#"{"batch":5,"max_bytes":1000,"expires":300000000}"#,
    )
    .await;
    let (ms, end) = until_status(&mut ib.sub, "a roomy max_bytes batch").await;
    assert_eq!(ms.len(), 2);
    let used: u64 = ms
        .iter()
        .map(|m| 3 + m.reply.as_ref().unwrap().len() as u64 + m.payload.len() as u64)
        .sum();
    expect_status(&end, 408, "Request Timeout");
    assert_eq!(pending_headers(&end), (3, 1000 - used));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_request_limits() {
    let j = setup!();
    let c = &j.c;
    let v = stream_and_consumer(
        c,
        json!({"max_batch": 2, "max_expires": 1_000_000_000u64, "max_bytes": 100}),
    )
    .await;
    assert_eq!(v["config"]["max_batch"], 2, "{v}");
    assert_eq!(v["config"]["max_expires"], 1_000_000_000u64, "{v}");
    assert_eq!(v["config"]["max_bytes"], 100, "{v}");
    publish_n_to(c, "s.a", 3).await;
    let mut ib = inbox(c).await;
    for (body, text) in [
        (r#"{"batch":5}"#, "Exceeded MaxRequestBatch of 2"),
        ("3", "Exceeded MaxRequestBatch of 2"),
        (
            r#"{"batch":1,"expires":5000000000}"#,
            "Exceeded MaxRequestExpires of 1s",
        ),
        (
            r#"{"batch":1,"max_bytes":1000}"#,
            "Exceeded MaxRequestMaxBytes of 100",
        ),
    ] {
        pull(c, "S", "P", &ib.subject, body).await;
        let m = next_msg(&mut ib.sub, text).await;
        expect_status(&m, 409, text);
    }
    // Within the limits: served.
    pull(
        c,
        "S",
        "P",
        &ib.subject,
        r#"{"batch":2,"expires":900000000,"max_bytes":100}"#,
    )
    .await;
    let m = next_msg(&mut ib.sub, "a message within the limits").await;
    assert!(m.status.is_none(), "{m:?}");
    assert_eq!(ack_of(&m).stream_seq, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_waiting_and_consumer_deleted() {
    let j = setup!();
    let c = &j.c;
    stream_and_consumer(c, json!({"max_waiting": 1})).await;
    let mut first = inbox(c).await;
    let mut second = inbox(c).await;
    pull(
        c,
        "S",
        "P",
        &first.subject,
        r#"{"batch":1,"expires":5000000000}"#,
    )
    .await;
    let info = consumer_info(c, "S", "P").await;
    assert_eq!(info["num_waiting"], 1, "{info}");
    pull(
        c,
        "S",
        "P",
        &second.subject,
        r#"{"batch":1,"expires":5000000000}"#,
    )
    .await;
    expect_status(
        &next_msg(&mut second.sub, "the MaxWaiting refusal").await,
        409,
        "Exceeded MaxWaiting",
    );
    pull(
        c,
        "S",
        "P",
        &second.subject,
        r#"{"batch":1,"no_wait":true}"#,
    )
    .await;
    expect_status(
        &next_msg(&mut second.sub, "no_wait while full").await,
        404,
        "No Messages",
    );
    // Deleting the consumer ends the waiting request.
    api_ok(c, "$JS.API.CONSUMER.DELETE.S.P", "").await;
    expect_status(
        &next_msg(&mut first.sub, "Consumer Deleted").await,
        409,
        "Consumer Deleted",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_unknown_and_bad_requests() {
    let j = setup!();
    let c = &j.c;
    stream_and_consumer(c, json!({})).await;
    create_consumer(
        c,
        "S",
        json!({"durable_name": "PU", "deliver_subject": "nobody"}),
    )
    .await;
    let mut ib = inbox(c).await;
    pull(c, "S", "PU", &ib.subject, r#"{"batch":1}"#).await;
    expect_status(
        &next_msg(&mut ib.sub, "push based").await,
        409,
        "Consumer is push based",
    );
    // Unknown consumer or stream: 2.9.10 answers nothing; 2.14 (and Weir) no-responders,
    // which the async-nats suite expects.
    pull(c, "S", "nope", &ib.subject, "1").await;
    pull(c, "NOPE", "nope", &ib.subject, "1").await;
    if j.server.is_reference() {
        expect_quiet(&mut ib.sub, Duration::from_millis(500), "unknown consumers").await;
    } else {
        for _ in 0..2 {
            let m = next_msg(&mut ib.sub, "no responders").await;
            assert_eq!(m.status.map(|s| s.as_u16()), Some(503), "{m:?}");
        }
    }
    // Invalid JSON.
    pull(c, "S", "P", &ib.subject, "{").await;
    let m = next_msg(&mut ib.sub, "the bad request").await;
    if j.server.is_reference() {
        expect_status(&m, 400, "Bad Request - unexpected end of JSON input");
    } else {
        // The text after "Bad Request - " is the JSON decoder's.
        assert_eq!(m.status.map(|s| s.as_u16()), Some(400), "{m:?}");
        assert!(
            m.description
                .as_deref()
                .unwrap_or("")
                .starts_with("Bad Request - "),
            "{m:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_ack_pending_stalls_delivery() {
    let j = setup!();
    let c = &j.c;
    stream_and_consumer(c, json!({"max_ack_pending": 2})).await;
    publish_n_to(c, "s.a", 5).await;
    let mut ib = inbox(c).await;
    pull(
        c,
        "S",
        "P",
        &ib.subject,
        r#"{"batch":5,"expires":300000000}"#,
    )
    .await;
    let (ms, end) = until_status(&mut ib.sub, "a batch capped by max_ack_pending").await;
    assert_eq!(ms.len(), 2);
    expect_status(&end, 408, "Request Timeout");
    assert_eq!(pending_headers(&end), (3, 0));
    let info = consumer_info(c, "S", "P").await;
    assert_eq!(info["num_ack_pending"], 2, "{info}");
    assert_eq!(info["num_pending"], 3, "{info}");
    // Acking one makes room for one.
    ack_sync(c, &ms[0], "").await;
    pull(
        c,
        "S",
        "P",
        &ib.subject,
        r#"{"batch":5,"expires":300000000}"#,
    )
    .await;
    let (ms, end) = until_status(&mut ib.sub, "one more after an ack").await;
    assert_eq!(ms.len(), 1);
    assert_eq!(ack_of(&ms[0]).stream_seq, 3);
    expect_status(&end, 408, "Request Timeout");
    assert_eq!(pending_headers(&end), (4, 0));
}

// ---------------------------------------------------------------------------------------------
// Exact bytes of status messages
// ---------------------------------------------------------------------------------------------

/// The next HMSG on a raw connection (answers the server's PINGs).
async fn raw_hmsg(r: &mut RawConn) -> (Option<String>, String, Vec<u8>) {
    loop {
        match Box::pin(r.next_op()).await {
            ServerOp::HMsg {
                reply,
                headers,
                payload,
                ..
            } => {
                return (
                    reply,
                    String::from_utf8_lossy(&headers).into_owned(),
                    payload,
                )
            }
            ServerOp::Ping => r.send(b"PONG\r\n").await,
            other => panic!("expected an HMSG, got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_status_header_bytes() {
    let j = setup!();
    let c = &j.c;
    stream_and_consumer(c, json!({})).await;
    let mut r = Box::pin(RawConn::connect_with(
        j.server.addr(),
        r#"{"verbose":false,"headers":true,"no_responders":true}"#,
    ))
    .await;
    r.send(b"SUB raw.inbox 1\r\nPING\r\n").await;
    Box::pin(r.expect_line_eq("PONG")).await;
    let send_pull = |body: &'static str| {
        format!(
            "PUB $JS.API.CONSUMER.MSG.NEXT.S.P raw.inbox {}\r\n{body}\r\n",
            body.len()
        )
    };
    r.send(send_pull(r#"{"batch":1,"no_wait":true}"#).as_bytes())
        .await;
    let (reply, hdr, payload) = raw_hmsg(&mut r).await;
    assert!(
        reply.as_deref().unwrap_or("").is_empty(),
        "no reply: {reply:?}"
    );
    assert_eq!(hdr, "NATS/1.0 404 No Messages\r\n\r\n");
    assert!(payload.is_empty());

    r.send(send_pull(r#"{"batch":3,"expires":100000000}"#).as_bytes())
        .await;
    let (_, hdr, payload) = raw_hmsg(&mut r).await;
    assert_eq!(
        hdr,
        "NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 3\r\nNats-Pending-Bytes: 0\r\n\r\n"
    );
    assert!(payload.is_empty());

    r.send(send_pull(r#"{"batch":1,"max_bytes":1,"no_wait":true}"#).as_bytes())
        .await;
    // Nothing pending: 404 comes before the size check.
    let (_, hdr, _) = raw_hmsg(&mut r).await;
    assert_eq!(hdr, "NATS/1.0 404 No Messages\r\n\r\n");
    publish_ok(c, "s.a", &[], "0123456789").await;
    r.send(send_pull(r#"{"batch":2,"max_bytes":5}"#).as_bytes())
        .await;
    let (_, hdr, _) = raw_hmsg(&mut r).await;
    assert_eq!(
        hdr,
        "NATS/1.0 409 Message Size Exceeds MaxBytes\r\nNats-Pending-Messages: 2\r\nNats-Pending-Bytes: 5\r\n\r\n"
    );
}

// ---------------------------------------------------------------------------------------------
// Deliver policies and filters
// ---------------------------------------------------------------------------------------------

/// The stream seqs a consumer delivers right now (one no_wait batch of 10).
async fn delivered_seqs(c: &Client, stream: &str, consumer: &str) -> Vec<u64> {
    let mut ib = inbox(c).await;
    pull(
        c,
        stream,
        consumer,
        &ib.subject,
        r#"{"batch":10,"no_wait":true}"#,
    )
    .await;
    let (ms, end) = until_status(&mut ib.sub, "a no_wait batch").await;
    assert!(
        matches!(end.status.map(|s| s.as_u16()), Some(404) | Some(408)),
        "{end:?}"
    );
    ms.iter().map(|m| ack_of(m).stream_seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_policies_and_filters() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    for s in ["s.a.1", "s.b.1", "s.a.2", "s.b.2", "s.a.1", "s.c"] {
        publish_ok(c, s, &[], s).await;
    }
    let t4 = api_ok(c, "$JS.API.STREAM.MSG.GET.S", r#"{"seq":4}"#).await["message"]["time"]
        .as_str()
        .expect("message time")
        .to_string();
    let cases: Vec<(Value, u64, u64, Vec<u64>)> = vec![
        // (config, create delivered.stream_seq, create num_pending, delivered seqs)
        (
            json!({"deliver_policy": "all"}),
            0,
            6,
            vec![1, 2, 3, 4, 5, 6],
        ),
        (json!({"deliver_policy": "last"}), 5, 1, vec![6]),
        (json!({"deliver_policy": "new"}), 6, 0, vec![]),
        (
            json!({"deliver_policy": "by_start_sequence", "opt_start_seq": 4}),
            3,
            3,
            vec![4, 5, 6],
        ),
        (
            json!({"deliver_policy": "by_start_sequence", "opt_start_seq": 100}),
            6,
            0,
            vec![],
        ),
        (
            json!({"deliver_policy": "by_start_time", "opt_start_time": t4}),
            3,
            3,
            vec![4, 5, 6],
        ),
        (
            json!({"deliver_policy": "last_per_subject", "filter_subject": "s.>"}),
            1,
            5,
            vec![2, 3, 4, 5, 6],
        ),
        (
            json!({"deliver_policy": "last_per_subject", "filter_subject": "s.a.*"}),
            2,
            2,
            vec![3, 5],
        ),
        (
            json!({"deliver_policy": "last", "filter_subject": "s.b.*"}),
            3,
            1,
            vec![4],
        ),
        (json!({"filter_subject": "s.*.1"}), 0, 3, vec![1, 2, 5]),
        (json!({"filter_subject": "s.a.>"}), 0, 3, vec![1, 3, 5]),
        (
            json!({"filter_subject": "s.>"}),
            0,
            6,
            vec![1, 2, 3, 4, 5, 6],
        ),
        (json!({"filter_subject": "s.nope"}), 0, 0, vec![]),
    ];
    for (i, (cfg, start, pending, want)) in cases.into_iter().enumerate() {
        let name = format!("C{i}");
        let mut full = cfg.clone();
        full["durable_name"] = json!(name);
        full["ack_policy"] = json!("explicit");
        let v = create_consumer(c, "S", full).await;
        // 2.9.10 clamps a start sequence past the end to the last; 2.14 (selectStartingSeqNo)
        // respects an explicit opt_start_seq, so delivered.stream_seq is opt_start_seq - 1.
        let start = if cfg["opt_start_seq"] == 100 && !j.server.is_reference() {
            99
        } else {
            start
        };
        assert_eq!(
            v["delivered"]["stream_seq"], start,
            "{cfg}: delivered.stream_seq at create: {v}"
        );
        assert_eq!(
            v["num_pending"], pending,
            "{cfg}: num_pending at create: {v}"
        );
        assert_eq!(delivered_seqs(c, "S", &name).await, want, "{cfg}");
        let info = consumer_info(c, "S", &name).await;
        assert_eq!(info["num_pending"], 0, "{cfg}: {info}");
        assert_eq!(info["num_ack_pending"], want.len(), "{cfg}: {info}");
    }
    // `new` sees what comes after it.
    publish_ok(c, "s.d", &[], "late").await;
    assert_eq!(delivered_seqs(c, "S", "C2").await, vec![7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_original_keeps_the_gaps() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    publish_n_to(c, "s.a", 2).await;
    // The gap to replay; timing is what this test is about.
    tokio::time::sleep(Duration::from_millis(400)).await;
    publish_n_to(c, "s.a", 2).await;
    create_consumer(
        c,
        "S",
        json!({"durable_name": "R", "ack_policy": "none", "replay_policy": "original"}),
    )
    .await;
    let mut ib = inbox(c).await;
    pull(
        c,
        "S",
        "R",
        &ib.subject,
        r#"{"batch":4,"expires":3000000000}"#,
    )
    .await;
    let mut arrivals = Vec::new();
    for _ in 0..4 {
        let m = next_msg(&mut ib.sub, "a replayed message").await;
        assert!(m.status.is_none(), "{m:?}");
        arrivals.push(Instant::now());
    }
    let gap = arrivals[2] - arrivals[1];
    assert!(
        gap >= Duration::from_millis(300),
        "the 400 ms gap is replayed: {gap:?}"
    );
}

/// A waiting request whose reply subject nobody listens on any more (a client that went away)
/// is dropped, not served: the next live request gets the message. Measured on 2.9.10.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_without_interest_are_not_served() {
    let j = setup!();
    let c = &j.c;
    stream_and_consumer(c, json!({"ack_policy": "none"})).await;
    // A request to an inbox with no subscriber, waiting for up to 5 s.
    c.publish_with_reply(
        "$JS.API.CONSUMER.MSG.NEXT.S.P",
        "gone.inbox",
        json!({"batch": 1, "expires": 5_000_000_000u64})
            .to_string()
            .into(),
    )
    .await
    .expect("publish request");
    c.flush().await.expect("flush");
    publish_ok(c, "s.a", &[], "m1").await;
    let mut ib = inbox(c).await;
    pull(c, "S", "P", &ib.subject, "1").await;
    let m = next_msg(&mut ib.sub, "the message the dead request did not take").await;
    assert!(m.status.is_none(), "expected a delivery, got {m:?}");
    assert_eq!(ack_of(&m).stream_seq, 1);
    let info = consumer_info(c, "S", "P").await;
    assert_eq!(u(&info["num_waiting"]), 0, "{info}");
}
