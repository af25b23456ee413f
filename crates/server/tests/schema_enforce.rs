//! Payload enforcement: schemas bound to subjects through the `weir_schemas` bucket refuse
//! non-conforming publishes (a publish-ack error for JetStream publishes; a dropped and
//! counted message for core publishes), survive a restart, and unbind on delete. A Weir
//! feature: against nats-server there is nothing to compare, so the test says so and stops.

mod common;

use std::time::Duration;

use base64::Engine;
use common::{test_options, TestServer};
use futures::StreamExt;
use serde_json::{json, Value};

async fn api(client: &async_nats::Client, subject: &str, body: Value) -> Value {
    let reply = client
        .request(subject.to_string(), body.to_string().into())
        .await
        .unwrap_or_else(|e| panic!("{subject}: {e}"));
    serde_json::from_slice(&reply.payload).expect("JSON answer")
}

fn key(subject: &str) -> String {
    format!(
        "$KV.weir_schemas.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(subject)
    )
}

async fn bind(client: &async_nats::Client, subject: &str, schema: Value) {
    let binding = json!({"subject": subject, "name": format!("{subject} event"), "schema": schema});
    let ack = client
        .request(key(subject), binding.to_string().into())
        .await
        .expect("bucket ack");
    let ack: Value = serde_json::from_slice(&ack.payload).expect("ack JSON");
    assert!(ack.get("seq").is_some(), "{ack}");
}

fn order_schema() -> Value {
    json!({"type": "object", "required": ["orderId"], "properties": {"orderId": {"type": "string"}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bound_schemas_refuse_bad_payloads_and_survive_restarts() {
    let mut opts = test_options();
    opts.jetstream = true;
    let dir = std::env::temp_dir().join(format!("weir-schemas-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    opts.store_dir = Some(dir.clone());
    opts.http_port = Some(0);
    let mut s = TestServer::start(opts).await;
    if s.is_reference() {
        eprintln!(
            "payload enforcement is a weir-server feature: nothing to compare on nats-server"
        );
        return;
    }
    let client = async_nats::connect(s.url()).await.expect("connect");
    let bucket = json!({"name": "KV_weir_schemas", "subjects": ["$KV.weir_schemas.>"],
        "max_msgs_per_subject": 1, "allow_rollup_hdrs": true, "allow_direct": true, "storage": "file"});
    assert!(
        api(&client, "$JS.API.STREAM.CREATE.KV_weir_schemas", bucket)
            .await
            .get("error")
            .is_none()
    );
    let orders = json!({"name": "ORDERS", "subjects": ["orders.>"], "storage": "file"});
    assert!(api(&client, "$JS.API.STREAM.CREATE.ORDERS", orders)
        .await
        .get("error")
        .is_none());
    bind(&client, "orders.*", order_schema()).await;
    bind(
        &client,
        "telemetry.>",
        json!({"type": "object", "required": ["v"]}),
    )
    .await;

    // JetStream publish: a publish-ack error naming the schema and the path.
    let refused = client
        .request("orders.new", r#"{"orderId": 7}"#.into())
        .await
        .expect("ack");
    let refused: Value = serde_json::from_slice(&refused.payload).expect("JSON");
    assert_eq!(refused["error"]["err_code"], 11001, "{refused}");
    let description = refused["error"]["description"].as_str().unwrap_or_default();
    assert!(
        description.contains("orders.* event") && description.contains("/orderId"),
        "{refused}"
    );
    let stored = client
        .request("orders.new", r#"{"orderId": "o1"}"#.into())
        .await
        .expect("ack");
    let stored: Value = serde_json::from_slice(&stored.payload).expect("JSON");
    assert_eq!(stored["seq"], 1, "{stored}");

    // Core publish: the bad one never reaches the subscriber, and is counted.
    let mut sub = client.subscribe("telemetry.>").await.expect("subscribe");
    client
        .publish("telemetry.cpu", "not json".into())
        .await
        .expect("publish");
    client
        .publish("telemetry.cpu", r#"{"x": 1}"#.into())
        .await
        .expect("publish");
    client
        .publish("telemetry.cpu", r#"{"v": 1}"#.into())
        .await
        .expect("publish");
    let first = tokio::time::timeout(Duration::from_secs(2), sub.next())
        .await
        .expect("in time")
        .expect("message");
    assert_eq!(
        first.payload, r#"{"v": 1}"#,
        "only the conforming message arrives"
    );
    let (_, metrics) = common::http_get(&format!("{}/metrics", s.monitor_url())).await;
    assert!(
        metrics.contains("weir_schema_rejections_total{account=\"$G\"} 3"),
        "{metrics}"
    );
    drop(sub);
    drop(client);

    // The bindings come back from the bucket after a restart.
    s.restart().await;
    let client = async_nats::connect(s.url()).await.expect("reconnect");
    let refused = client
        .request("orders.new", r#"{}"#.into())
        .await
        .expect("ack");
    let refused: Value = serde_json::from_slice(&refused.payload).expect("JSON");
    assert_eq!(
        refused["error"]["err_code"], 11001,
        "still enforced: {refused}"
    );

    // A delete marker unbinds.
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("KV-Operation", "DEL");
    client
        .publish_with_headers(key("orders.*"), headers, "".into())
        .await
        .expect("delete");
    client.flush().await.expect("flush");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let answer = client
            .request("orders.new", r#"{}"#.into())
            .await
            .expect("ack");
        let answer: Value = serde_json::from_slice(&answer.payload).expect("JSON");
        if answer.get("seq").is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still refused: {answer}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
