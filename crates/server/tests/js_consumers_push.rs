//! JetStream push consumers: delivery to `deliver_subject`, queue groups, flow control, idle
//! heartbeats, headers-only delivery, `push_bound`, and the async-nats ordered consumer. Part of
//! the consumer suite (see `js_consumers.rs`); measured on nats-server 2.9.10; tests skip while
//! Weir does not serve consumers.
//!
//! # Push consumers on nats-server 2.9.10
//!
//! - Messages go to `deliver_subject` as they are stored, with the ack reply subject (also for
//!   ack none). Nothing is delivered while the deliver subject has no interest; info then has
//!   no `push_bound`; with a subscriber (for a `deliver_group`: a queue subscriber in that group)
//!   `"push_bound": true`.
//! - `deliver_group`: each message goes to one member of the queue group. A plain subscriber or
//!   a queue subscriber in another group does not bind the consumer (nothing is delivered until
//!   a group member subscribes); once bound, deliveries are ordinary publishes to the deliver
//!   subject, so such subscribers get copies too.
//! - Flow control (`flow_control` + `idle_heartbeat`): once more than 1 MiB is unanswered the
//!   server sends `NATS/1.0 100 FlowControl Request\r\n\r\n` (no other headers, empty body) with
//!   reply `$JS.FC.<stream>.<consumer>.<token>` (token e.g. `QH8N`); past 2 MiB it stops
//!   delivering until the client publishes (anything) to that reply. With 200 KiB messages:
//!   the request follows the 6th, delivery stops after the 11th.
//! - Idle heartbeat: after `idle_heartbeat` without traffic,
//!   `NATS/1.0 100 Idle Heartbeat\r\nNats-Last-Consumer: <consumer seq>\r\nNats-Last-Stream: <stream seq>\r\n\r\n`,
//!   and while a flow control request is unanswered also
//!   `Nats-Consumer-Stalled: <that $JS.FC reply subject>`.
//! - `headers_only`: empty payload, the stored headers plus `Nats-Msg-Size: <payload bytes>`.
//! - A push durable's `deliver_subject` can be changed by creating it again only while nobody
//!   listens on the old one (else 400/10013 `consumer name already in use`; see `js_consumers.rs`).

mod common;
mod js_common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use async_nats::{jetstream, Client, Message};
use common::round_trip;
use futures::StreamExt;
use js_common::*;
use serde_json::json;

async fn stream(c: &Client) {
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
}

fn is_status(m: &Message, code: u16) -> bool {
    m.status.map(|s| s.as_u16()) == Some(code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_durable_delivers_only_with_interest() {
    let j = setup!();
    let c = &j.c;
    stream(c).await;
    for i in 0..3 {
        publish_ok(c, "s.a", &[("H", "v")], format!("m{i}")).await;
    }
    let v = create_consumer(
        c,
        "S",
        json!({"durable_name": "P", "deliver_subject": "dp", "ack_policy": "explicit"}),
    )
    .await;
    assert!(v.get("push_bound").is_none(), "{v}");
    let info = consumer_info(c, "S", "P").await;
    assert_eq!(
        seqs(&info["delivered"]),
        (0, 0),
        "no interest, no delivery: {info}"
    );
    assert_eq!(info["num_pending"], 3, "{info}");

    let mut sub = c.subscribe("dp").await.expect("subscribe");
    let ms = take_msgs(&mut sub, 3, "push deliveries").await;
    for (i, m) in ms.iter().enumerate() {
        assert_eq!(m.subject.as_str(), "s.a");
        assert_eq!(m.payload.as_ref(), format!("m{i}").as_bytes());
        assert_eq!(header(m, "H").as_deref(), Some("v"));
        let a = ack_of(m);
        assert_eq!(
            (
                a.stream.as_str(),
                a.consumer.as_str(),
                a.delivered,
                a.stream_seq,
                a.pending
            ),
            ("S", "P", 1, i as u64 + 1, 2 - i as u64)
        );
    }
    let info = consumer_info(c, "S", "P").await;
    assert_eq!(info["push_bound"], true, "{info}");
    assert_eq!(info["num_ack_pending"], 3, "{info}");
    assert_eq!(seqs(&info["delivered"]), (3, 3), "{info}");
    ack_sync(c, &ms[0], "").await;
    assert_eq!(seqs(&consumer_info(c, "S", "P").await["ack_floor"]), (1, 1));

    // Interest gone: unbound, and new messages wait.
    drop(sub);
    round_trip(c).await;
    let info = consumer_info(c, "S", "P").await;
    assert!(info.get("push_bound").is_none(), "{info}");
    publish_ok(c, "s.a", &[], "later").await;
    let info = consumer_info(c, "S", "P").await;
    assert_eq!(seqs(&info["delivered"]), (3, 3), "{info}");
    assert_eq!(info["num_pending"], 1, "{info}");
    let mut sub = c.subscribe("dp").await.expect("subscribe again");
    let m = next_msg(&mut sub, "the message published while unbound").await;
    assert_eq!(m.payload.as_ref(), b"later");
    assert_eq!(ack_of(&m).stream_seq, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliver_group_delivers_each_message_once() {
    let j = setup!();
    let c = &j.c;
    stream(c).await;
    create_consumer(
        c,
        "S",
        json!({"durable_name": "Q", "deliver_subject": "dq", "deliver_group": "grp",
               "ack_policy": "none"}),
    )
    .await;
    // Subscribers outside the group neither bind nor receive.
    let mut plain = c.subscribe("dq").await.expect("subscribe");
    let mut other = c
        .queue_subscribe("dq", "other".to_string())
        .await
        .expect("queue subscribe");
    publish_ok(c, "s.a", &[], "m0").await;
    round_trip(c).await;
    let info = consumer_info(c, "S", "Q").await;
    assert!(info.get("push_bound").is_none(), "{info}");
    assert_eq!(info["num_pending"], 1, "{info}");

    assert!(
        msg_within(&mut plain, Duration::from_millis(10))
            .await
            .is_none()
            && msg_within(&mut other, Duration::from_millis(10))
                .await
                .is_none(),
        "nothing delivered while the group has no member"
    );
    // Once bound, deliveries are plain publishes to `dq`: other subscribers would get copies.
    drop(plain);
    drop(other);

    let c2 = connect(&j.server.url()).await;
    let mut q1 = c
        .queue_subscribe("dq", "grp".to_string())
        .await
        .expect("queue subscribe");
    let mut q2 = c2
        .queue_subscribe("dq", "grp".to_string())
        .await
        .expect("queue subscribe");
    round_trip(&c2).await;
    for i in 1..40 {
        publish_ok(c, "s.a", &[], format!("m{i}")).await;
    }
    let mut seqs_seen = Vec::new();
    let mut per_member = [0usize; 2];
    while seqs_seen.len() < 40 {
        let (m, k) = common::within(DELIVERY_TIMEOUT, "a group delivery", async {
            tokio::select! {
                Some(m) = q1.next() => (m, 0),
                Some(m) = q2.next() => (m, 1),
            }
        })
        .await;
        per_member[k] += 1;
        seqs_seen.push(ack_of(&m).stream_seq);
    }
    let unique: BTreeSet<u64> = seqs_seen.iter().copied().collect();
    assert_eq!(unique.len(), 40, "each message once: {seqs_seen:?}");
    assert_eq!(unique, (1..=40).collect::<BTreeSet<u64>>());
    assert!(
        msg_within(&mut q1, Duration::from_millis(200))
            .await
            .is_none()
            && msg_within(&mut q2, Duration::from_millis(10))
                .await
                .is_none(),
        "nothing twice"
    );
    let info = consumer_info(c, "S", "Q").await;
    assert_eq!(info["push_bound"], true, "{info}");
    assert_eq!(seqs(&info["delivered"]), (40, 40), "{info}");
    println!("deliveries per group member: {per_member:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_control_requests_and_stalled_heartbeats() {
    let j = setup!();
    let c = &j.c;
    stream(c).await;
    const N: usize = 16;
    let big = vec![b'x'; 200 * 1024];
    for _ in 0..N {
        publish_ok(c, "s.big", &[], big.clone()).await;
    }
    let mut sub = c.subscribe("dfc").await.expect("subscribe");
    create_consumer(
        c,
        "S",
        json!({"durable_name": "FC", "deliver_subject": "dfc", "ack_policy": "none",
               "flow_control": true, "idle_heartbeat": 300_000_000u64}),
    )
    .await;
    // Do not answer flow control: deliveries stop short, heartbeats say who stalls them.
    let mut data = 0usize;
    let mut fc_reply: Option<String> = None;
    let stalled = loop {
        let m = next_msg(&mut sub, "deliveries until the stall").await;
        if is_status(&m, 100) && m.description.as_deref() == Some("FlowControl Request") {
            expect_status(&m, 100, "FlowControl Request");
            let reply = m
                .reply
                .as_ref()
                .expect("flow control has a reply")
                .to_string();
            assert!(reply.starts_with("$JS.FC.S.FC."), "{reply}");
            assert_eq!(reply.split('.').count(), 5, "{reply}");
            fc_reply.get_or_insert(reply);
        } else if is_status(&m, 100) {
            break m;
        } else {
            assert!(m.status.is_none(), "{m:?}");
            assert_eq!(ack_of(&m).stream_seq, data as u64 + 1);
            data += 1;
        }
    };
    let fc_reply = fc_reply.expect("a flow control request before the stall");
    println!("{data} of {N} messages of 200 KiB delivered before the stall");
    assert!(
        data < N,
        "delivery stalls while flow control is unanswered ({data} of {N})"
    );
    expect_status(&stalled, 100, "Idle Heartbeat");
    assert_eq!(
        header(&stalled, "Nats-Consumer-Stalled").as_deref(),
        Some(fc_reply.as_str())
    );
    assert_eq!(
        header(&stalled, "Nats-Last-Consumer").as_deref(),
        Some(data.to_string().as_str()),
        "{stalled:?}"
    );
    assert_eq!(header(&stalled, "Nats-Last-Stream"), Some(data.to_string()));

    // Answer it (and any later ones): the rest arrives.
    c.publish(fc_reply, "".into())
        .await
        .expect("answer flow control");
    while data < N {
        let m = next_msg(&mut sub, "deliveries after answering").await;
        if m.status.is_none() {
            data += 1;
            assert_eq!(ack_of(&m).stream_seq, data as u64);
        } else if let Some(reply) = &m.reply {
            c.publish(reply.clone(), "".into()).await.expect("answer");
        }
    }
    let info = consumer_info(c, "S", "FC").await;
    assert_eq!(seqs(&info["delivered"]), (N as u64, N as u64), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_heartbeats_when_quiet() {
    let j = setup!();
    let c = &j.c;
    stream(c).await;
    publish_ok(c, "s.a", &[], "one").await;
    publish_ok(c, "s.b", &[], "two").await;
    let mut sub = c.subscribe("dhb").await.expect("subscribe");
    create_consumer(
        c,
        "S",
        json!({"durable_name": "HB", "deliver_subject": "dhb", "ack_policy": "explicit",
               "idle_heartbeat": 300_000_000u64}),
    )
    .await;
    take_msgs(&mut sub, 2, "the two messages").await;
    let mut at = Vec::new();
    while at.len() < 3 {
        let m = next_msg(&mut sub, "an idle heartbeat").await;
        expect_status(&m, 100, "Idle Heartbeat");
        assert!(m.reply.is_none(), "{m:?}");
        assert_eq!(header(&m, "Nats-Last-Consumer").as_deref(), Some("2"));
        assert_eq!(header(&m, "Nats-Last-Stream").as_deref(), Some("2"));
        assert!(header(&m, "Nats-Consumer-Stalled").is_none(), "{m:?}");
        at.push(Instant::now());
    }
    for w in at.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(200),
            "{:?}",
            w[1] - w[0]
        );
    }
    // A new message resets the idea of "last".
    publish_ok(c, "s.c", &[], "three").await;
    let m = loop {
        let m = next_msg(&mut sub, "the third message").await;
        if m.status.is_none() {
            break m;
        }
    };
    assert_eq!(ack_of(&m).stream_seq, 3);
    let hb = next_msg(&mut sub, "a heartbeat after it").await;
    assert_eq!(header(&hb, "Nats-Last-Stream").as_deref(), Some("3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_only_delivery() {
    let j = setup!();
    let c = &j.c;
    stream(c).await;
    publish_ok(c, "s.a", &[("H", "v")], "m0").await;
    publish_ok(c, "s.b", &[], "hello world").await;
    let mut sub = c.subscribe("dho").await.expect("subscribe");
    let v = create_consumer(
        c,
        "S",
        json!({"durable_name": "HO", "deliver_subject": "dho", "headers_only": true}),
    )
    .await;
    assert_eq!(v["config"]["headers_only"], true, "{v}");
    let ms = take_msgs(&mut sub, 2, "headers-only deliveries").await;
    assert!(ms.iter().all(|m| m.payload.is_empty()), "{ms:?}");
    assert_eq!(header(&ms[0], "H").as_deref(), Some("v"));
    assert_eq!(header(&ms[0], "Nats-Msg-Size").as_deref(), Some("2"));
    assert_eq!(header(&ms[1], "Nats-Msg-Size").as_deref(), Some("11"));
    assert_eq!(ms[1].subject.as_str(), "s.b");
    assert_eq!(ack_of(&ms[1]).stream_seq, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_consumer_replays_while_messages_arrive() {
    let j = setup!();
    let ctx = jetstream::new(j.c.clone());
    let stream = ctx
        .create_stream(jetstream::stream::Config {
            name: "O".to_string(),
            subjects: vec!["o.>".to_string()],
            ..Default::default()
        })
        .await
        .expect("create_stream");
    for i in 0..50 {
        publish_ok(&j.c, "o.a", &[], format!("m{i}")).await;
    }
    let consumer = stream
        .create_consumer(jetstream::consumer::push::OrderedConfig {
            deliver_subject: j.c.new_inbox(),
            ..Default::default()
        })
        .await
        .expect("ordered consumer");
    let mut msgs = consumer.messages().await.expect("messages");
    let publisher = {
        let c = connect(&j.server.url()).await;
        tokio::spawn(async move {
            for i in 50..100 {
                publish_ok(&c, "o.b", &[], format!("m{i}")).await;
            }
        })
    };
    for i in 0..100u64 {
        let m = common::within(Duration::from_secs(5), "an ordered message", msgs.next())
            .await
            .expect("stream ended")
            .expect("ordered message");
        let info = m.info().expect("info");
        assert_eq!(info.stream_sequence, i + 1);
        assert_eq!(m.payload.as_ref(), format!("m{i}").as_bytes());
    }
    publisher.await.expect("publisher");
}
