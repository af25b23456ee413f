//! End-to-end consumer flows through the official client: pull with acks and the exact
//! counters, push with the ordered consumer, and durable state across a restart. Runs
//! against Weir or (`WEIR_TEST_TARGET=nats-server`) the reference.

mod common;
mod js_common;

use std::time::Duration;

use async_nats::jetstream::{self, consumer, AckKind};
use common::Target;
use common::{js_options, TempDir, TestServer};
use futures::StreamExt;
use js_common::*;
use serde_json::json;

async fn server() -> (TestServer, TempDir) {
    let store = TempDir::new();
    let server = TestServer::start(js_options(&store.path().join("jetstream"))).await;
    (server, store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_fetch_ack_and_counters() {
    let (server, _store) = server().await;
    let c = connect(&server.url()).await;
    create_stream(&c, json!({"name": "P", "subjects": ["p.>"]})).await;
    for i in 0..100 {
        publish_ok(&c, &format!("p.{}", i % 3), &[], "x").await;
    }
    let js = jetstream::new(c.clone());
    let stream = js.get_stream("P").await.unwrap();
    let cons: consumer::PullConsumer = stream
        .create_consumer(consumer::pull::Config {
            durable_name: Some("W".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut msgs = cons.fetch().max_messages(60).messages().await.unwrap();
    let mut seqs = Vec::new();
    while let Some(msg) = msgs.next().await {
        let msg = msg.unwrap();
        let info = msg.info().unwrap();
        seqs.push(info.stream_sequence);
        if info.stream_sequence % 2 == 0 {
            msg.double_ack().await.unwrap();
        }
    }
    assert_eq!(seqs, (1..=60).collect::<Vec<u64>>());
    let v = api_ok(&c, "$JS.API.CONSUMER.INFO.P.W", "").await;
    assert_eq!(v["delivered"]["stream_seq"], 60, "{v}");
    assert_eq!(v["delivered"]["consumer_seq"], 60, "{v}");
    assert_eq!(v["num_ack_pending"], 30, "{v}");
    assert_eq!(v["num_pending"], 40, "{v}");
    assert_eq!(v["ack_floor"]["stream_seq"], 0, "seq 1 is unacked: {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nak_redelivers_and_term_stops() {
    let (server, _store) = server().await;
    let c = connect(&server.url()).await;
    create_stream(&c, json!({"name": "N", "subjects": ["n"]})).await;
    publish_ok(&c, "n", &[], "one").await;
    let js = jetstream::new(c.clone());
    let cons: consumer::PullConsumer = js
        .get_stream("N")
        .await
        .unwrap()
        .create_consumer(consumer::pull::Config {
            durable_name: Some("C".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut batch = cons.fetch().max_messages(1).messages().await.unwrap();
    let first = batch.next().await.unwrap().unwrap();
    first.ack_with(AckKind::Nak(None)).await.unwrap();
    let mut batch = cons
        .fetch()
        .max_messages(1)
        .expires(Duration::from_secs(2))
        .messages()
        .await
        .unwrap();
    let again = batch.next().await.unwrap().unwrap();
    assert_eq!(again.info().unwrap().delivered, 2);
    // A request to the ack subject is a double ack: the reply confirms the TERM was applied.
    let ack_subject = again.reply.clone().expect("ack subject");
    c.request(ack_subject, "+TERM".into()).await.unwrap();
    let v = api_ok(&c, "$JS.API.CONSUMER.INFO.N.C", "").await;
    assert_eq!(v["num_ack_pending"], 0, "{v}");
    assert_eq!(v["ack_floor"]["stream_seq"], 1, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_push_consumer_replays_while_publishing() {
    let (server, _store) = server().await;
    let c = connect(&server.url()).await;
    create_stream(&c, json!({"name": "O", "subjects": ["o.*"]})).await;
    for i in 0..500 {
        c.publish(format!("o.{}", i % 5), "x".into()).await.unwrap();
    }
    let js = jetstream::new(c.clone());
    let stream = js.get_stream("O").await.unwrap();
    let ordered = stream
        .create_consumer(consumer::push::OrderedConfig {
            deliver_subject: c.new_inbox(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut messages = ordered.messages().await.unwrap();
    let publisher = c.clone();
    tokio::spawn(async move {
        for i in 500..1000 {
            publisher
                .publish(format!("o.{}", i % 5), "y".into())
                .await
                .unwrap();
        }
    });
    let mut expected = 1;
    while expected <= 1000 {
        let msg = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("ordered delivery keeps going")
            .unwrap()
            .unwrap();
        assert_eq!(msg.info().unwrap().stream_sequence, expected);
        expected += 1;
    }
}

/// Confirmed (double) acks survive a restart. Weir only: nats-server 2.9.10 loses them here
/// (after the restart its info shows all six deliveries pending again, ack floor 0).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durable_state_survives_restart() {
    if common::target() == Target::Reference {
        eprintln!("note: nats-server 2.9.10 forgets confirmed acks across this restart; skipped");
        return;
    }
    let (mut server, _store) = server().await;
    let c = connect(&server.url()).await;
    create_stream(&c, json!({"name": "D", "subjects": ["d"]})).await;
    for _ in 0..10 {
        publish_ok(&c, "d", &[], "x").await;
    }
    let js = jetstream::new(c.clone());
    let cons: consumer::PullConsumer = js
        .get_stream("D")
        .await
        .unwrap()
        .create_consumer(consumer::pull::Config {
            durable_name: Some("C".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .unwrap();
    let mut batch = cons.fetch().max_messages(6).messages().await.unwrap();
    while let Some(msg) = batch.next().await {
        let msg = msg.unwrap();
        if msg.info().unwrap().stream_sequence <= 4 {
            msg.double_ack().await.unwrap();
        }
    }
    drop(c);
    server.restart().await;
    let c = connect(&server.url()).await;
    let v = api_ok(&c, "$JS.API.CONSUMER.INFO.D.C", "").await;
    assert_eq!(v["ack_floor"]["stream_seq"], 4, "{v}");
    assert_eq!(v["delivered"]["stream_seq"], 6, "{v}");
    assert_eq!(v["num_ack_pending"], 2, "{v}");
    assert_eq!(v["num_pending"], 4, "{v}");
}
