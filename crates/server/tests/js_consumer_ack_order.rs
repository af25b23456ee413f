//! Acks sent in one write take effect in the order they were sent, relative to everything else
//! in that write. Weir applies a read's acks together (one lock, one delivery pass) but before
//! anything that follows them: a pull request, a `CONSUMER.INFO`, a `PING`.
//!
//! nats-server 2.9.10 queues acks to the consumer's goroutine: measured, a `CONSUMER.INFO` in
//! the same write as 15 acks before it saw none of them. Weir guarantees more (an API request
//! sees every ack sent before it on the same connection), so that test is Weir's own; the NAK
//! then pull test runs against both (`WEIR_TEST_TARGET=nats-server`).

mod common;
mod js_common;

use common::{RawConn, ServerOp};
use js_common::*;
use serde_json::{json, Value};

/// Stream `S` on `s.>` with `n` messages, a durable explicit-ack pull consumer `A`, and the
/// ack subjects of all `n` messages fetched at once.
async fn fetched(j: &Js, n: usize) -> Vec<String> {
    let c = &j.c;
    create_stream(c, json!({"name": "S", "subjects": ["s.>"]})).await;
    for i in 0..n {
        publish_ok(c, "s.a", &[], format!("m{i}")).await;
    }
    create_consumer(
        c,
        "S",
        json!({"durable_name": "A", "ack_policy": "explicit", "ack_wait": 60_000_000_000u64}),
    )
    .await;
    let mut ib = inbox(c).await;
    pull(c, "S", "A", &ib.subject, &n.to_string()).await;
    take_msgs(&mut ib.sub, n, "the fetch")
        .await
        .iter()
        .map(|m| m.reply.clone().expect("ack subject").to_string())
        .collect()
}

fn ack_ops(acks: &[String], body: &str) -> String {
    acks.iter()
        .map(|a| format!("PUB {a} {}\r\n{body}\r\n", body.len()))
        .collect()
}

/// Reads until PONG and `want` messages have arrived (API replies may come after the PONG:
/// both servers answer the API off the connection's read path); returns their payloads.
async fn replies_and_pong(raw: &mut RawConn, want: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut pong = false;
    while !pong || out.len() < want {
        match raw.next_op().await {
            ServerOp::Pong => pong = true,
            ServerOp::Msg { payload, .. } => {
                out.push(serde_json::from_slice(&payload).expect("API reply is JSON"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    out
}

fn ack_state(info: &Value) -> (u64, (u64, u64)) {
    (u(&info["num_ack_pending"]), seqs(&info["ack_floor"]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_in_the_same_write_sees_the_acks_before_it() {
    let j = setup!();
    let acks = fetched(&j, 20).await;
    let mut raw = RawConn::connect_quiet(j.server.addr()).await;
    let info = "PUB $JS.API.CONSUMER.INFO.S.A _R 0\r\n\r\n";
    let write = format!(
        "SUB _R 1\r\n{}{info}{}{info}PING\r\n",
        ack_ops(&acks[..10], ""),
        ack_ops(&acks[10..15], "+ACK"),
    );
    raw.send(write.as_bytes()).await;
    let infos = replies_and_pong(&mut raw, 2).await;
    assert_eq!(infos.len(), 2, "{infos:?}");
    if j.server.is_reference() {
        return;
    }
    // The API answers off the read path, so an info may also see later acks; never fewer.
    let (pending, floor) = ack_state(&infos[0]);
    assert!(pending <= 10 && floor.0 >= 10, "{}", infos[0]);
    assert_eq!(ack_state(&infos[1]), (5, (15, 15)), "{}", infos[1]);

    // Acks then PING: once PONG is back, another connection sees them applied.
    raw.send(format!("{}PING\r\n", ack_ops(&acks[15..], "")).as_bytes())
        .await;
    assert!(replies_and_pong(&mut raw, 0).await.is_empty());
    let info = consumer_info(&j.c, "S", "A").await;
    assert_eq!(ack_state(&info), (0, (20, 20)), "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nak_then_pull_in_one_write_redelivers_the_naked_message() {
    let j = setup!();
    let acks = fetched(&j, 3).await;
    let mut raw = RawConn::connect_quiet(j.server.addr()).await;
    // Ack 1 and 3, NAK 2, then ask for one message: it must be the NAKed seq 2.
    let write = format!(
        "SUB _R 1\r\n{}{}{}PUB $JS.API.CONSUMER.MSG.NEXT.S.A _R 1\r\n1\r\nPING\r\n",
        ack_ops(&acks[..1], ""),
        ack_ops(&acks[1..2], "-NAK"),
        ack_ops(&acks[2..], ""),
    );
    raw.send(write.as_bytes()).await;
    let redelivered = loop {
        match raw.next_op().await {
            ServerOp::Msg { subject, reply, .. } | ServerOp::HMsg { subject, reply, .. }
                if subject == "s.a" =>
            {
                break parse_ack_reply(&reply.expect("ack subject"));
            }
            ServerOp::Pong => {}
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(
        (redelivered.stream_seq, redelivered.delivered),
        (2, 2),
        "the NAKed message comes back, delivered twice"
    );
    let info = consumer_info(&j.c, "S", "A").await;
    assert_eq!(ack_state(&info), (1, (1, 1)), "{info}");
    assert_eq!(u(&info["num_redelivered"]), 1, "{info}");
}
