//! JetStream acknowledgements: the ack reply subject, every ack form, ack policies, redelivery
//! (ack wait, backoff, max deliver) and the advisories they raise, with the consumer info
//! counters after each step. Part of the consumer suite (see `js_consumers.rs`); measured on
//! nats-server 2.9.10 unless a test says otherwise; tests skip while Weir does not serve
//! consumers.
//!
//! # Acks on nats-server 2.9.10
//!
//! Sent to the message's reply subject
//! `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp ns>.<pending>`:
//!
//! | body | effect |
//! |---|---|
//! | empty, `+ACK`, `+OK` | ack; the ack floor moves over every contiguous acked message |
//! | `-NAK` | redeliver now (delivered count +1, new consumer seq; the pending token is the consumer's num_pending as ever); `MSG_NAKED` advisory |
//! | `-NAK {"delay": <ns>}`, `-NAK <Go duration>` (e.g. `-NAK 400ms`) | redeliver after the delay; advisory |
//! | `-NAK bogus` | a plain NAK (immediate redelivery) |
//! | `+WPI` | restarts the ack wait from now |
//! | `+TERM` | never redelivered, counts as acked for the floor; `MSG_TERMINATED` advisory |
//! | `+TERM <reason>` | 2.9.10: **not** recognised (ignored, so redelivered after ack wait); 2.10+: a TERM whose advisory carries `"reason"` |
//! | `+NXT`, `+NXT <n>`, `+NXT {"batch":n}` | ack, then a pull request answered to the ack's reply subject |
//!
//! An ack with a reply subject is confirmed with an empty message ("double ack"); so is any
//! body, also a repeated ack of an acked message (`+NXT` answers with messages instead).
//! Ack policy `all`: acking seq n acks everything up to n. Ack policy `none`: messages still
//! carry the ack subject; the ack floor follows delivered (without `last_active`).
//!
//! Counters: `num_ack_pending` (delivered, not acked), `num_redelivered` (messages currently
//! pending that were delivered more than once; 0 again once acked), `delivered`
//! `{consumer_seq, stream_seq, last_active}` (consumer seq counts redeliveries), `ack_floor`
//! (highest contiguous acked pair, `last_active` = last ack).
//!
//! Redelivery after `ack_wait`; with `backoff` the n-th redelivery waits `backoff[n-1]` (the
//! last value repeats) and `ack_wait` is `backoff[0]`. At `max_deliver` deliveries the message
//! is no longer pending; 2.9.10 sends the advisory when it next tries to deliver (so with a pull
//! request waiting) and leaves the ack floor where it was (2.14 moves it over the message).
//!
//! Advisory and metric JSON (`id` is a nuid, `timestamp` RFC 3339; 2.14 adds `domain` when set):
//!
//! - `$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.<stream>.<consumer>`: `{"type":"io.nats.jetstream.advisory.v1.nak","id","timestamp","stream","consumer","consumer_seq","stream_seq","deliveries"}` (present in 2.9.10 already)
//! - `$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.<stream>.<consumer>`: `{"type":"io.nats.jetstream.advisory.v1.terminated","id","timestamp","stream","consumer","consumer_seq","stream_seq","deliveries"}` (+ `"reason"` in 2.10+ when given)
//! - `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>`: `{"type":"io.nats.jetstream.advisory.v1.max_deliver","id","timestamp","stream","consumer","stream_seq","deliveries"}`
//! - `$JS.EVENT.METRIC.CONSUMER.ACK.<stream>.<consumer>` (with `sample_freq`): `{"type":"io.nats.jetstream.metric.v1.consumer_ack","id","timestamp","stream","consumer","consumer_seq","stream_seq","ack_time":<ns>,"deliveries"}`

mod common;
mod js_common;

use std::time::{Duration, Instant};

use async_nats::{Client, Message};

use js_common::*;
use serde_json::{json, Value};

/// Stream `S` on `s.>` with `n` messages `m0..` on `s.a`.
async fn stream_with(c: &Client, n: usize) {
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    for i in 0..n {
        publish_ok(c, "s.a", &[], format!("m{i}")).await;
    }
}

/// A durable on `S` named `name` with explicit acks plus `extra`.
async fn durable(c: &Client, name: &str, extra: Value) -> Value {
    let mut cfg = json!({"durable_name": name, "ack_policy": "explicit"});
    for (k, v) in extra.as_object().expect("object") {
        cfg[k] = v.clone();
    }
    create_consumer(c, "S", cfg).await
}

/// Pulls `n` messages now.
async fn fetch(c: &Client, ib: &mut Inbox, consumer: &str, n: usize) -> Vec<Message> {
    pull(c, "S", consumer, &ib.subject, &n.to_string()).await;
    take_msgs(&mut ib.sub, n, "a fetch").await
}

/// Waits (pull with `expires`) for the next delivery; returns it and when it arrived.
async fn wait_delivery(
    c: &Client,
    ib: &mut Inbox,
    consumer: &str,
    expires_ms: u64,
) -> (Message, Instant) {
    let body = json!({"batch": 1, "expires": expires_ms * 1_000_000}).to_string();
    pull(c, "S", consumer, &ib.subject, &body).await;
    let m = next_msg(&mut ib.sub, "a (re)delivery").await;
    assert!(m.status.is_none(), "expected a delivery, got {m:?}");
    (m, Instant::now())
}

/// Asserts a pull with `expires_ms` times out without a delivery.
async fn expect_no_delivery(c: &Client, ib: &mut Inbox, consumer: &str, expires_ms: u64) {
    let body = json!({"batch": 1, "expires": expires_ms * 1_000_000}).to_string();
    pull(c, "S", consumer, &ib.subject, &body).await;
    let m = next_msg(&mut ib.sub, "the request timeout").await;
    expect_status(&m, 408, "Request Timeout");
}

fn counters(info: &Value) -> (u64, u64, (u64, u64), (u64, u64), u64) {
    (
        u(&info["num_ack_pending"]),
        u(&info["num_redelivered"]),
        seqs(&info["delivered"]),
        seqs(&info["ack_floor"]),
        u(&info["num_pending"]),
    )
}

/// Checks the common advisory fields and returns the JSON.
fn advisory(m: &Message, subject: &str, kind: &str) -> Value {
    assert_eq!(m.subject.as_str(), subject);
    let v = json_of(m);
    assert_eq!(
        v["type"],
        format!("io.nats.jetstream.advisory.v1.{kind}"),
        "{v}"
    );
    assert_eq!(v["stream"], "S", "{v}");
    assert!(v["id"].is_string(), "{v}");
    assert!(
        v["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{v}"
    );
    v
}

// ---------------------------------------------------------------------------------------------
// Ack forms and counters
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_forms_double_ack_and_counters() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 6).await;
    durable(c, "A", json!({})).await;
    let mut ib = inbox(c).await;
    let ms = fetch(c, &mut ib, "A", 6).await;
    for (i, m) in ms.iter().enumerate() {
        let a = ack_of(m);
        assert_eq!(
            (a.delivered, a.stream_seq, a.consumer_seq),
            (1, i as u64 + 1, i as u64 + 1)
        );
        assert_eq!(a.pending, 5 - i as u64);
    }
    let info = consumer_info(c, "S", "A").await;
    assert_eq!(counters(&info), (6, 0, (6, 6), (0, 0), 0), "{info}");

    ack_sync(c, &ms[0], "+ACK").await;
    let info = consumer_info(c, "S", "A").await;
    assert_eq!(counters(&info), (5, 0, (6, 6), (1, 1), 0), "{info}");
    assert!(info["ack_floor"]["last_active"].is_string(), "{info}");
    ack_sync(c, &ms[1], "").await;
    ack_sync(c, &ms[3], "+OK").await;
    let info = consumer_info(c, "S", "A").await;
    assert_eq!(
        counters(&info),
        (3, 0, (6, 6), (2, 2), 0),
        "a gap holds the floor: {info}"
    );
    ack_sync(c, &ms[2], "+ACK").await;
    let info = consumer_info(c, "S", "A").await;
    assert_eq!(
        counters(&info),
        (2, 0, (6, 6), (4, 4), 0),
        "the floor jumps the gap: {info}"
    );
    // Acking again: confirmed, nothing changes.
    ack_sync(c, &ms[0], "+ACK").await;
    ack_sync(c, &ms[3], "").await;
    let again = consumer_info(c, "S", "A").await;
    assert_eq!(counters(&again), counters(&info), "{again}");
    // A plain publish (no reply) acks too.
    c.publish(ms[4].reply.clone().unwrap(), "+ACK".into())
        .await
        .expect("publish ack");
    ack_sync(c, &ms[5], "").await; // processed after the one before it
    let info = consumer_info(c, "S", "A").await;
    assert_eq!(counters(&info), (0, 0, (6, 6), (6, 6), 0), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nak_redelivers_with_a_higher_delivery_count() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 2).await;
    durable(c, "N", json!({})).await;
    let mut adv = c
        .subscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.S.N")
        .await
        .expect("subscribe");
    let mut ib = inbox(c).await;
    let ms = fetch(c, &mut ib, "N", 1).await;
    ack_sync(c, &ms[0], "-NAK").await;
    let v = advisory(
        &next_msg(&mut adv, "MSG_NAKED").await,
        "$JS.EVENT.ADVISORY.CONSUMER.MSG_NAKED.S.N",
        "nak",
    );
    assert_eq!(v["consumer"], "N", "{v}");
    assert_eq!(v["consumer_seq"], 1, "{v}");
    assert_eq!(v["stream_seq"], 1, "{v}");
    assert_eq!(v["deliveries"], 1, "{v}");
    // The NAKed message comes before the next new one.
    let ms = fetch(c, &mut ib, "N", 2).await;
    let a = ack_of(&ms[0]);
    assert_eq!(
        (a.delivered, a.stream_seq, a.consumer_seq, a.pending),
        (2, 1, 2, 1),
        "pending is the consumer's num_pending (seq 2 not yet delivered): {a:?}"
    );
    assert_eq!(ms[0].payload.as_ref(), b"m0");
    let b = ack_of(&ms[1]);
    assert_eq!(
        (b.delivered, b.stream_seq, b.consumer_seq),
        (1, 2, 3),
        "{b:?}"
    );
    let info = consumer_info(c, "S", "N").await;
    assert_eq!(counters(&info), (2, 1, (2, 3), (0, 0), 0), "{info}");
    // An unreadable NAK delay is a plain NAK.
    ack_sync(c, &ms[1], "-NAK bogus").await;
    let (m, _) = wait_delivery(c, &mut ib, "N", 2000).await;
    assert_eq!(
        (ack_of(&m).delivered, ack_of(&m).stream_seq),
        (2, 2),
        "redelivered at once"
    );
    let info = consumer_info(c, "S", "N").await;
    assert_eq!(counters(&info), (2, 2, (2, 4), (0, 0), 0), "{info}");
    ack_sync(c, &ms[0], "").await;
    ack_sync(c, &m, "").await;
    let info = consumer_info(c, "S", "N").await;
    assert_eq!(counters(&info), (0, 0, (2, 4), (2, 4), 0), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nak_with_delay_json_and_duration() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 1).await;
    for (name, nak) in [("J", r#"-NAK {"delay": 400000000}"#), ("G", "-NAK 400ms")] {
        durable(c, name, json!({})).await;
        let mut ib = inbox(c).await;
        let ms = fetch(c, &mut ib, name, 1).await;
        let t = Instant::now();
        ack_sync(c, &ms[0], nak).await;
        let (m, at) = wait_delivery(c, &mut ib, name, 3000).await;
        assert_eq!(ack_of(&m).delivered, 2, "{nak}");
        let waited = at - t;
        assert!(
            waited >= Duration::from_millis(350),
            "{nak}: redelivered after {waited:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wpi_restarts_the_ack_wait() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 1).await;
    durable(c, "W", json!({"ack_wait": 600_000_000u64})).await;
    let mut ib = inbox(c).await;
    let ms = fetch(c, &mut ib, "W", 1).await;
    // Halfway through the ack wait; timing is the point.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let wpi = Instant::now();
    ack_sync(c, &ms[0], "+WPI").await;
    let (m, at) = wait_delivery(c, &mut ib, "W", 3000).await;
    let a = ack_of(&m);
    assert_eq!(
        (a.delivered, a.stream_seq, a.consumer_seq),
        (2, 1, 2),
        "{a:?}"
    );
    assert!(
        at - wpi >= Duration::from_millis(500),
        "redelivered {:?} after +WPI (ack wait 600 ms)",
        at - wpi
    );
    let info = consumer_info(c, "S", "W").await;
    assert_eq!(counters(&info), (1, 1, (1, 2), (0, 0), 0), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn term_stops_redelivery() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 2).await;
    durable(c, "T", json!({"ack_wait": 300_000_000u64})).await;
    let mut adv = c
        .subscribe("$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.S.T")
        .await
        .expect("subscribe");
    let mut ib = inbox(c).await;
    let ms = fetch(c, &mut ib, "T", 1).await;
    ack_sync(c, &ms[0], "+TERM").await;
    let v = advisory(
        &next_msg(&mut adv, "MSG_TERMINATED").await,
        "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED.S.T",
        "terminated",
    );
    assert_eq!(v["consumer"], "T", "{v}");
    assert_eq!(v["consumer_seq"], 1, "{v}");
    assert_eq!(v["stream_seq"], 1, "{v}");
    assert_eq!(v["deliveries"], 1, "{v}");
    assert!(v.get("reason").is_none(), "no reason given: {v}");
    let info = consumer_info(c, "S", "T").await;
    assert_eq!(counters(&info), (0, 0, (1, 1), (1, 1), 1), "{info}");
    // Next comes seq 2, never seq 1 again.
    let ms = fetch(c, &mut ib, "T", 1).await;
    assert_eq!(ack_of(&ms[0]).stream_seq, 2);
    ack_sync(c, &ms[0], "").await;
    expect_no_delivery(c, &mut ib, "T", 700).await;

    // A reason after +TERM.
    publish_ok(c, "s.a", &[], "m2").await;
    let ms = fetch(c, &mut ib, "T", 1).await;
    ack_sync(c, &ms[0], "+TERM bad thing").await;
    if j.server.is_reference() {
        // 2.9.10 does not know `+TERM <reason>`: the body is ignored, ack wait redelivers.
        let (m, _) = wait_delivery(c, &mut ib, "T", 2000).await;
        assert_eq!((ack_of(&m).stream_seq, ack_of(&m).delivered), (3, 2));
    } else {
        // 2.10+: not checked against the 2.9.10 reference (reason in the advisory).
        let v = json_of(&next_msg(&mut adv, "MSG_TERMINATED with a reason").await);
        assert_eq!(v["reason"], "bad thing", "{v}");
        assert_eq!(v["stream_seq"], 3, "{v}");
        expect_no_delivery(c, &mut ib, "T", 700).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nxt_acks_and_pulls_the_next() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 6).await;
    durable(c, "X", json!({})).await;
    let mut ib = inbox(c).await;
    let ms = fetch(c, &mut ib, "X", 1).await;
    let mut last = ms[0].clone();
    let mut seen = vec![ack_of(&last).stream_seq];
    for (body, n) in [("+NXT", 1), (r#"+NXT {"batch":2}"#, 2), ("+NXT 2", 2)] {
        c.publish_with_reply(
            last.reply.clone().unwrap(),
            ib.subject.clone(),
            body.to_string().into(),
        )
        .await
        .expect("publish +NXT");
        let got = take_msgs(&mut ib.sub, n, body).await;
        seen.extend(got.iter().map(|m| ack_of(m).stream_seq));
        last = got.last().unwrap().clone();
    }
    assert_eq!(seen, [1, 2, 3, 4, 5, 6]);
    let info = consumer_info(c, "S", "X").await;
    // +NXT acked the message it was sent for: 1, 2 and 4 (the last of each batch).
    assert_eq!(counters(&info), (3, 0, (6, 6), (2, 2), 0), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_all_and_ack_none_policies() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 6).await;
    let v = durable(c, "AA", json!({"ack_policy": "all"})).await;
    assert_eq!(v["config"]["ack_wait"], 30_000_000_000u64, "{v}");
    let mut ib = inbox(c).await;
    let ms = fetch(c, &mut ib, "AA", 4).await;
    ack_sync(c, &ms[2], "").await;
    let info = consumer_info(c, "S", "AA").await;
    assert_eq!(
        counters(&info),
        (1, 0, (4, 4), (3, 3), 2),
        "acking 3 acks 1..3: {info}"
    );
    ack_sync(c, &ms[0], "").await; // below the floor: nothing changes
    assert_eq!(
        counters(&consumer_info(c, "S", "AA").await),
        counters(&info)
    );

    let v = durable(c, "AN", json!({"ack_policy": "none"})).await;
    assert!(v["config"].get("ack_wait").is_none(), "{v}");
    let ms = fetch(c, &mut ib, "AN", 2).await;
    let a = ack_of(&ms[1]);
    assert_eq!(
        (a.stream, a.consumer, a.stream_seq, a.pending),
        ("S".into(), "AN".into(), 2, 4)
    );
    let info = consumer_info(c, "S", "AN").await;
    assert_eq!(counters(&info), (0, 0, (2, 2), (2, 2), 4), "{info}");
    assert!(info["ack_floor"].get("last_active").is_none(), "{info}");
}

// ---------------------------------------------------------------------------------------------
// Redelivery, backoff, max deliver
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redelivery_after_ack_wait() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 2).await;
    durable(c, "R", json!({"ack_wait": 300_000_000u64})).await;
    let mut ib = inbox(c).await;
    let t = Instant::now();
    let ms = fetch(c, &mut ib, "R", 2).await;
    ack_sync(c, &ms[0], "").await;
    let (m, at) = wait_delivery(c, &mut ib, "R", 3000).await;
    let a = ack_of(&m);
    assert_eq!(
        (a.delivered, a.stream_seq, a.consumer_seq, a.pending),
        (2, 2, 3, 0),
        "{a:?}"
    );
    assert!(
        at - t >= Duration::from_millis(250),
        "after the ack wait: {:?}",
        at - t
    );
    let info = consumer_info(c, "S", "R").await;
    assert_eq!(counters(&info), (1, 1, (2, 3), (1, 1), 0), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_schedule_and_max_deliveries() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 1).await;
    let v = durable(
        c,
        "B",
        json!({"backoff": [200_000_000u64, 600_000_000u64], "max_deliver": 4}),
    )
    .await;
    assert_eq!(v["config"]["ack_wait"], 200_000_000u64, "{v}");
    let mut adv = c
        .subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.B")
        .await
        .expect("subscribe");
    let mut ib = inbox(c).await;
    pull(
        c,
        "S",
        "B",
        &ib.subject,
        r#"{"batch":4,"expires":4000000000}"#,
    )
    .await;
    let mut at = Vec::new();
    for n in 1..=4 {
        let m = next_msg(&mut ib.sub, "a backoff delivery").await;
        assert_eq!(ack_of(&m).delivered, n, "{m:?}");
        at.push(Instant::now());
    }
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps[0] >= Duration::from_millis(150),
        "backoff[0] 200 ms: {gaps:?}"
    );
    assert!(
        gaps[1] >= Duration::from_millis(500),
        "backoff[1] 600 ms: {gaps:?}"
    );
    assert!(
        gaps[2] >= Duration::from_millis(500),
        "the last value repeats: {gaps:?}"
    );
    // No fifth delivery; the advisory once the consumer next looks (2.9.10 needs a request).
    expect_no_delivery(c, &mut ib, "B", 1000).await;
    let v = advisory(
        &next_msg(&mut adv, "MAX_DELIVERIES").await,
        "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.B",
        "max_deliver",
    );
    assert_eq!(v["consumer"], "B", "{v}");
    assert_eq!(v["stream_seq"], 1, "{v}");
    assert_eq!(v["deliveries"], 4, "{v}");
    let info = consumer_info(c, "S", "B").await;
    assert_eq!(u(&info["num_ack_pending"]), 0, "{info}");
    assert_eq!(seqs(&info["delivered"]), (1, 4), "{info}");
    if j.server.is_reference() {
        assert_eq!(
            seqs(&info["ack_floor"]),
            (0, 0),
            "2.9.10 keeps the floor: {info}"
        );
    } else {
        // 2.14 (hasMaxDeliveries → moveAckFloor) moves the floor over the dead message.
        assert_eq!(u(&info["ack_floor"]["stream_seq"]), 1, "{info}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_deliver_with_naks() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 1).await;
    durable(c, "M", json!({"max_deliver": 2})).await;
    let mut adv = c
        .subscribe("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.S.M")
        .await
        .expect("subscribe");
    let mut ib = inbox(c).await;
    let ms = fetch(c, &mut ib, "M", 1).await;
    ack_sync(c, &ms[0], "-NAK").await;
    let (m, _) = wait_delivery(c, &mut ib, "M", 2000).await;
    assert_eq!(ack_of(&m).delivered, 2);
    ack_sync(c, &m, "-NAK").await;
    expect_no_delivery(c, &mut ib, "M", 500).await;
    let v = json_of(&next_msg(&mut adv, "MAX_DELIVERIES").await);
    assert_eq!(
        v["type"], "io.nats.jetstream.advisory.v1.max_deliver",
        "{v}"
    );
    assert_eq!(v["stream_seq"], 1, "{v}");
    assert_eq!(v["deliveries"], 2, "{v}");
    let info = consumer_info(c, "S", "M").await;
    assert_eq!(u(&info["num_ack_pending"]), 0, "{info}");
    assert_eq!(seqs(&info["delivered"]), (1, 2), "{info}");
    if j.server.is_reference() {
        // 2.9.10 still counts the dead message as redelivered and keeps the floor.
        assert_eq!(u(&info["num_redelivered"]), 1, "{info}");
        assert_eq!(seqs(&info["ack_floor"]), (0, 0), "{info}");
    } else {
        // 2.14 moves the ack floor over it (hasMaxDeliveries → moveAckFloor).
        assert_eq!(seqs(&info["ack_floor"]), (1, 2), "{info}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ack_metric_with_sample_freq() {
    let j = setup!();
    let c = &j.c;
    stream_with(c, 1).await;
    durable(c, "Q", json!({"sample_freq": "100%"})).await;
    let mut met = c
        .subscribe("$JS.EVENT.METRIC.CONSUMER.ACK.S.Q")
        .await
        .expect("subscribe");
    let mut ib = inbox(c).await;
    let ms = fetch(c, &mut ib, "Q", 1).await;
    ack_sync(c, &ms[0], "").await;
    let m = next_msg(&mut met, "the ack metric").await;
    let v = json_of(&m);
    assert_eq!(v["type"], "io.nats.jetstream.metric.v1.consumer_ack", "{v}");
    assert_eq!(v["stream"], "S");
    assert_eq!(v["consumer"], "Q");
    assert_eq!(v["consumer_seq"], 1, "{v}");
    assert_eq!(v["stream_seq"], 1, "{v}");
    assert_eq!(v["deliveries"], 1, "{v}");
    assert!(u(&v["ack_time"]) > 0, "{v}");
}
