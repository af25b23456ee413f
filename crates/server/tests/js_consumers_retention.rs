//! JetStream consumers and stream retention: work-queue and interest streams drop what their
//! consumers are done with, limits streams keep everything; fan-out to several durables;
//! competing workers on one durable; a durable consumer's state across a server restart. Part of
//! the consumer suite (see `js_consumers.rs`); measured on nats-server 2.9.10; tests skip while
//! Weir does not serve consumers.
//!
//! # Retention with consumers on nats-server 2.9.10
//!
//! - Work queue: a message is removed once acked (`+ACK`/empty) or terminated (`+TERM`); the
//!   stream reports the holes as `num_deleted`. Deleting the consumer keeps what is left, and a
//!   new consumer starts from the first remaining message.
//! - Interest: a message published while the stream has no consumer is dropped at once (state
//!   `messages` 0, `first_seq` past it). With consumers, a message stays until every consumer
//!   acked it; deleting a consumer drops what only it held back. An ack-none consumer counts a
//!   message as acked when delivered.
//! - Limits: acks remove nothing; a later consumer sees every message.
//! - Restart (clean shutdown): a file-backed durable keeps config, `delivered`, `ack_floor`,
//!   `num_ack_pending` and `num_pending`; acked messages are not redelivered, unacked ones are
//!   redelivered after `ack_wait` (delivered count 2) after the new messages. `last_active`
//!   values are not restored, and 2.9.10 re-stamps `created` (a few µs later). After SIGKILL
//!   2.9.10 had lost the acks of the last moments (so this test stops the server with SIGTERM).

mod common;
mod js_common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::{jetstream, Client, Message};
use common::{ServerProcess, TempDir};
use futures::StreamExt;
use js_common::*;
use serde_json::{json, Value};

async fn fetch(c: &Client, ib: &mut Inbox, stream: &str, consumer: &str, n: usize) -> Vec<Message> {
    pull(c, stream, consumer, &ib.subject, &n.to_string()).await;
    take_msgs(&mut ib.sub, n, "a fetch").await
}

async fn state(c: &Client, stream: &str) -> (u64, u64, u64) {
    let s = stream_state(c, stream).await;
    (u(&s["messages"]), u(&s["first_seq"]), u(&s["last_seq"]))
}

fn stream_seqs(ms: &[Message]) -> Vec<u64> {
    ms.iter().map(|m| ack_of(m).stream_seq).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workqueue_removes_acked_and_terminated() {
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "WQ", "subjects": ["wq.>"], "retention": "workqueue"}),
    )
    .await;
    for i in 0..4 {
        publish_ok(c, "wq.a", &[], format!("m{i}")).await;
    }
    create_consumer(
        c,
        "WQ",
        json!({"durable_name": "W", "ack_policy": "explicit"}),
    )
    .await;
    let mut ib = inbox(c).await;
    let ms = fetch(c, &mut ib, "WQ", "W", 4).await;
    assert_eq!(state(c, "WQ").await, (4, 1, 4), "delivery removes nothing");
    ack_sync(c, &ms[1], "").await;
    ack_sync(c, &ms[3], "+TERM").await;
    let s = stream_state(c, "WQ").await;
    assert_eq!(s["messages"], 2, "{s}");
    assert_eq!(s["num_deleted"], 2, "{s}");
    assert_eq!(s["first_seq"], 1, "{s}");
    ack_sync(c, &ms[0], "+ACK").await;
    assert_eq!(state(c, "WQ").await, (1, 3, 4));
    let info = consumer_info(c, "WQ", "W").await;
    assert_eq!(seqs(&info["ack_floor"]), (2, 2), "{info}");
    assert_eq!(info["num_ack_pending"], 1, "{info}");

    // The consumer goes, the unacked message stays for the next one.
    api_ok(c, "$JS.API.CONSUMER.DELETE.WQ.W", "").await;
    assert_eq!(state(c, "WQ").await, (1, 3, 4));
    let v = create_consumer(
        c,
        "WQ",
        json!({"durable_name": "W2", "ack_policy": "explicit"}),
    )
    .await;
    assert_eq!(v["num_pending"], 1, "{v}");
    let ms = fetch(c, &mut ib, "WQ", "W2", 1).await;
    assert_eq!(stream_seqs(&ms), [3]);
    assert_eq!(ms[0].payload.as_ref(), b"m2");
    ack_sync(c, &ms[0], "").await;
    assert_eq!(state(c, "WQ").await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interest_removes_when_every_consumer_acked() {
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "IN", "subjects": ["in.>"], "retention": "interest"}),
    )
    .await;
    publish_ok(c, "in.a", &[], "nobody listens").await;
    let s = stream_state(c, "IN").await;
    assert_eq!(
        (u(&s["messages"]), u(&s["first_seq"]), u(&s["last_seq"])),
        (0, 2, 1),
        "{s}"
    );

    for name in ["A", "B"] {
        create_consumer(
            c,
            "IN",
            json!({"durable_name": name, "ack_policy": "explicit"}),
        )
        .await;
    }
    for i in 0..3 {
        publish_ok(c, "in.a", &[], format!("m{i}")).await;
    }
    assert_eq!(state(c, "IN").await, (3, 2, 4));
    let mut ib = inbox(c).await;
    let a = fetch(c, &mut ib, "IN", "A", 3).await;
    for m in &a {
        ack_sync(c, m, "").await;
    }
    assert_eq!(state(c, "IN").await, (3, 2, 4), "B still holds all three");
    let b = fetch(c, &mut ib, "IN", "B", 2).await;
    for m in &b {
        ack_sync(c, m, "").await;
    }
    assert_eq!(state(c, "IN").await, (1, 4, 4), "acked by both: gone");
    api_ok(c, "$JS.API.CONSUMER.DELETE.IN.B", "").await;
    assert_eq!(state(c, "IN").await.0, 0, "only B held seq 4 back");

    // Ack none: delivered is done.
    create_consumer(c, "IN", json!({"durable_name": "N", "ack_policy": "none"})).await;
    publish_ok(c, "in.a", &[], "x").await;
    let a = fetch(c, &mut ib, "IN", "A", 1).await;
    ack_sync(c, &a[0], "").await;
    assert_eq!(state(c, "IN").await.0, 1, "N has not had it yet");
    fetch(c, &mut ib, "IN", "N", 1).await;
    // The delivery to N is the last step; a consumer info round trip orders us after it.
    consumer_info(c, "IN", "N").await;
    assert_eq!(state(c, "IN").await.0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_keeps_acked_messages() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "L", "subjects": ["l.>"]})).await;
    for i in 0..3 {
        publish_ok(c, "l.a", &[], format!("m{i}")).await;
    }
    create_consumer(
        c,
        "L",
        json!({"durable_name": "A", "ack_policy": "explicit"}),
    )
    .await;
    let mut ib = inbox(c).await;
    for m in fetch(c, &mut ib, "L", "A", 3).await {
        ack_sync(c, &m, "+TERM").await;
    }
    assert_eq!(state(c, "L").await, (3, 1, 3));
    create_consumer(
        c,
        "L",
        json!({"durable_name": "B", "ack_policy": "explicit"}),
    )
    .await;
    assert_eq!(
        stream_seqs(&fetch(c, &mut ib, "L", "B", 3).await),
        [1, 2, 3]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_to_two_durables() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "F", "subjects": ["f.>"]})).await;
    for name in ["X", "Y"] {
        create_consumer(
            c,
            "F",
            json!({"durable_name": name, "ack_policy": "explicit"}),
        )
        .await;
    }
    for i in 0..20 {
        publish_ok(c, &format!("f.{}", i % 3), &[], format!("m{i}")).await;
    }
    let mut ib = inbox(c).await;
    let x = fetch(c, &mut ib, "F", "X", 20).await;
    for m in &x {
        ack_sync(c, m, "").await;
    }
    let y = fetch(c, &mut ib, "F", "Y", 20).await;
    let all: Vec<u64> = (1..=20).collect();
    assert_eq!(stream_seqs(&x), all);
    assert_eq!(stream_seqs(&y), all, "X's acks do not affect Y");
    let xi = consumer_info(c, "F", "X").await;
    let yi = consumer_info(c, "F", "Y").await;
    assert_eq!(
        (u(&xi["num_ack_pending"]), seqs(&xi["ack_floor"])),
        (0, (20, 20))
    );
    assert_eq!(
        (u(&yi["num_ack_pending"]), seqs(&yi["ack_floor"])),
        (20, (0, 0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn competing_workers_process_each_message_once() {
    let j = setup!();
    const N: u64 = 60;
    let ctx = jetstream::new(j.c.clone());
    let stream = ctx
        .create_stream(jetstream::stream::Config {
            name: "WORK".to_string(),
            subjects: vec!["work.>".to_string()],
            ..Default::default()
        })
        .await
        .expect("create_stream");
    stream
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some("W".to_string()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .expect("create_consumer");
    for i in 0..N {
        publish_ok(&j.c, "work.job", &[], format!("job{i}")).await;
    }
    let processed: Arc<Mutex<Vec<(usize, u64)>>> = Arc::default();
    let mut workers = Vec::new();
    for w in 0..3 {
        let url = j.server.url();
        let processed = processed.clone();
        workers.push(tokio::spawn(async move {
            let c = connect(&url).await;
            let consumer: jetstream::consumer::PullConsumer = jetstream::new(c.clone())
                .get_stream("WORK")
                .await
                .expect("get_stream")
                .get_consumer("W")
                .await
                .expect("get_consumer");
            while (processed.lock().unwrap().len() as u64) < N {
                let mut batch = consumer
                    .batch()
                    .max_messages(5)
                    .expires(Duration::from_millis(300))
                    .messages()
                    .await
                    .expect("batch");
                while let Some(m) = batch.next().await {
                    let m = m.expect("message");
                    let seq = m.info().expect("info").stream_sequence;
                    m.double_ack().await.expect("ack");
                    processed.lock().unwrap().push((w, seq));
                }
            }
        }));
    }
    for w in workers {
        common::within(Duration::from_secs(30), "the workers", w)
            .await
            .expect("worker");
    }
    let processed = processed.lock().unwrap().clone();
    let seqs: BTreeSet<u64> = processed.iter().map(|(_, s)| *s).collect();
    assert_eq!(processed.len() as u64, N, "no message twice: {processed:?}");
    assert_eq!(seqs, (1..=N).collect::<BTreeSet<u64>>());
    let per_worker: Vec<usize> = (0..3)
        .map(|w| processed.iter().filter(|(x, _)| *x == w).count())
        .collect();
    println!("jobs per worker: {per_worker:?}");
    let info = consumer_info(&j.c, "WORK", "W").await;
    assert_eq!(seqs_of(&info), (0, (N, N), 0), "{info}");
}

fn seqs_of(info: &Value) -> (u64, (u64, u64), u64) {
    (
        u(&info["num_ack_pending"]),
        seqs(&info["ack_floor"]),
        u(&info["num_redelivered"]),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_state_survives_a_restart() {
    let store = TempDir::new();
    let mut server = ServerProcess::start_js(store.path());
    let c = connect(&server.url()).await;
    if !jetstream_served(&c).await || !consumers_served(&c).await {
        return;
    }
    create_stream(
        &c,
        json!({"name": "R", "subjects": ["r.>"], "storage": "file"}),
    )
    .await;
    for i in 0..6 {
        publish_ok(&c, "r.a", &[], format!("m{i}")).await;
    }
    let created = create_consumer(
        &c,
        "R",
        json!({"durable_name": "D", "ack_policy": "explicit", "ack_wait": 500_000_000u64}),
    )
    .await;
    let mut ib = inbox(&c).await;
    let ms = fetch(&c, &mut ib, "R", "D", 4).await;
    ack_sync(&c, &ms[0], "").await;
    ack_sync(&c, &ms[2], "").await;
    let before = consumer_info(&c, "R", "D").await;
    let counters = |v: &Value| {
        (
            seqs(&v["delivered"]),
            seqs(&v["ack_floor"]),
            u(&v["num_ack_pending"]),
            u(&v["num_pending"]),
            u(&v["num_redelivered"]),
        )
    };
    assert_eq!(counters(&before), ((4, 4), (1, 1), 2, 2, 0), "{before}");
    drop(ib);
    drop(c);

    terminate_gracefully(&server);
    server.restart();
    let c = connect(&server.url()).await;
    let after = within_recovery(&c).await;
    assert_eq!(counters(&after), counters(&before), "{after}");
    assert_eq!(after["config"], created["config"], "{after}");

    // New messages first, then the unacked ones after ack_wait; never 1 or 3.
    let mut ib = inbox(&c).await;
    pull(
        &c,
        "R",
        "D",
        &ib.subject,
        r#"{"batch":4,"expires":5000000000}"#,
    )
    .await;
    let got = take_msgs(&mut ib.sub, 4, "deliveries after the restart").await;
    let pairs: Vec<(u64, u64)> = got
        .iter()
        .map(|m| (ack_of(m).stream_seq, ack_of(m).delivered))
        .collect();
    assert_eq!(pairs, [(5, 1), (6, 1), (2, 2), (4, 2)]);
    for m in &got {
        ack_sync(&c, m, "").await;
    }
    pull(
        &c,
        "R",
        "D",
        &ib.subject,
        r#"{"batch":1,"expires":800000000}"#,
    )
    .await;
    let m = next_msg(&mut ib.sub, "the timeout: nothing left").await;
    expect_status(&m, 408, "Request Timeout");
    let end = consumer_info(&c, "R", "D").await;
    assert_eq!(seqs(&end["ack_floor"]), (6, 8), "{end}");
    assert_eq!(u(&end["num_ack_pending"]), 0, "{end}");
}

/// Consumer info once the restarted server has recovered the stream (bounded by 20 s).
async fn within_recovery(c: &Client) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let v = api(c, "$JS.API.CONSUMER.INFO.R.D", "").await;
        if v.get("error").is_none() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "consumer not back after a restart: {v}"
        );
        // Short poll interval of a bounded wait for recovery.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
