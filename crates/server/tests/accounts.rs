//! Accounts: isolation of subjects and JetStream assets, exports and imports across
//! accounts, and per-account JetStream limits. Differential: with
//! `WEIR_TEST_TARGET=nats-server` the same tests run against nats-server 2.9.10.

mod common;

use std::time::Duration;

use common::{test_options, TestServer};
use futures::StreamExt;
use weir_server::{
    AccountConfig, AccountJetStreamLimits, ExportConfig, ExportKind, ImportConfig, Options,
    UserConfig,
};

fn user_in(account: &str, name: &str) -> UserConfig {
    UserConfig {
        user: Some(name.into()),
        password: Some(name.into()),
        account: Some(account.into()),
        ..UserConfig::default()
    }
}

fn account(name: &str, jetstream: Option<AccountJetStreamLimits>) -> AccountConfig {
    AccountConfig {
        name: name.into(),
        jetstream,
        ..AccountConfig::default()
    }
}

fn temp_store() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "weir-accounts-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("store dir");
    dir
}

/// Accounts A and B (users `a` and `b`), both with JetStream, and C (user `c`) without.
fn two_accounts() -> Options {
    let mut opts = test_options();
    opts.jetstream = true;
    opts.store_dir = Some(temp_store());
    opts.accounts = vec![
        account("A", Some(AccountJetStreamLimits::default())),
        account("B", Some(AccountJetStreamLimits::default())),
        account("C", None),
    ];
    opts.authorization.users = vec![user_in("A", "a"), user_in("B", "b"), user_in("C", "c")];
    opts
}

/// A round trip through the server: every subscription `client` made before is in place
/// (`flush` only writes; a request waits for the server's answer, here no-responders).
async fn synced(client: &async_nats::Client) {
    let answer = client.request("sync.nobody.listens", "".into()).await;
    assert!(
        matches!(&answer, Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders),
        "{answer:?}"
    );
}

async fn connect(s: &TestServer, name: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(name.into(), name.into())
        .connect(s.url())
        .await
        .unwrap_or_else(|e| panic!("{name} connects: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subjects_are_isolated_between_accounts() {
    let s = TestServer::start(two_accounts()).await;
    let a = connect(&s, "a").await;
    let b = connect(&s, "b").await;
    let mut b_sub = b.subscribe("orders.>").await.expect("subscribe");
    let mut a_sub = a.subscribe("orders.*").await.expect("subscribe");
    synced(&b).await;
    synced(&a).await;

    a.publish("orders.new", "from a".into())
        .await
        .expect("publish");
    let got = tokio::time::timeout(Duration::from_secs(2), a_sub.next()).await;
    assert_eq!(got.expect("a sees its own").expect("msg").payload, "from a");
    // A ping round trip on b after a's publish: anything routed to b would be here by now.
    b.publish("orders.b", "marker".into())
        .await
        .expect("publish");
    let first = tokio::time::timeout(Duration::from_secs(2), b_sub.next())
        .await
        .expect("b's own message")
        .expect("msg");
    assert_eq!(
        first.subject.as_str(),
        "orders.b",
        "b never saw a's message"
    );

    // A request into an account with no responder gets no-responders, even though another
    // account serves that subject.
    let mut service = b.subscribe("svc").await.expect("subscribe");
    synced(&b).await;
    let err = a
        .request("svc", "x".into())
        .await
        .expect_err("nobody in A serves svc");
    assert_eq!(err.kind(), async_nats::RequestErrorKind::NoResponders);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), service.next())
            .await
            .is_err(),
        "B's service never saw A's request"
    );
}

/// A JetStream API request through the raw JSON API (async-nats 0.51's typed answers do not
/// decode everything nats-server 2.9.10 sends, and these tests run against both).
async fn api(
    client: &async_nats::Client,
    subject: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let reply = tokio::time::timeout(
        Duration::from_secs(5),
        client.request(subject.to_string(), body.to_string().into()),
    )
    .await
    .unwrap_or_else(|_| panic!("{subject} answered in time"))
    .unwrap_or_else(|e| panic!("{subject}: {e}"));
    serde_json::from_slice(&reply.payload).expect("JSON answer")
}

fn err_code(answer: &serde_json::Value) -> Option<i64> {
    answer["error"]["err_code"].as_i64()
}

async fn create_stream(
    client: &async_nats::Client,
    name: &str,
    subject: &str,
) -> serde_json::Value {
    api(
        client,
        &format!("$JS.API.STREAM.CREATE.{name}"),
        serde_json::json!({"name": name, "subjects": [subject], "storage": "file"}),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_and_buckets_are_per_account() {
    let s = TestServer::start(two_accounts()).await;
    let a = connect(&s, "a").await;
    let b = connect(&s, "b").await;
    let created = create_stream(&a, "ORDERS", "orders.>").await;
    assert_eq!(err_code(&created), None, "{created}");
    let ack = a
        .request("orders.1", "x".into())
        .await
        .expect("publish ack");
    assert!(String::from_utf8_lossy(&ack.payload).contains("\"seq\":1"));

    // B sees no stream of A's, and may make its own with the same name and subjects.
    let info = api(&b, "$JS.API.STREAM.INFO.ORDERS", serde_json::json!({})).await;
    assert_eq!(
        err_code(&info),
        Some(10059),
        "stream not found in B: {info}"
    );
    let names = api(&b, "$JS.API.STREAM.NAMES", serde_json::json!({})).await;
    assert_eq!(names["total"], 0, "{names}");
    let created = create_stream(&b, "ORDERS", "orders.>").await;
    assert_eq!(err_code(&created), None, "{created}");
    let b_info = api(&b, "$JS.API.STREAM.INFO.ORDERS", serde_json::json!({})).await;
    assert_eq!(b_info["state"]["messages"], 0, "{b_info}");
    let a_info = api(&a, "$JS.API.STREAM.INFO.ORDERS", serde_json::json!({})).await;
    assert_eq!(a_info["state"]["messages"], 1, "{a_info}");

    // A KV bucket is a stream too: A's bucket is invisible to B.
    let bucket = create_stream(&a, "KV_settings", "$KV.settings.>").await;
    assert_eq!(err_code(&bucket), None, "{bucket}");
    let info = api(&b, "$JS.API.STREAM.INFO.KV_settings", serde_json::json!({})).await;
    assert_eq!(err_code(&info), Some(10059), "{info}");

    // An account without JetStream is told so, in the response type asked for.
    let c = connect(&s, "c").await;
    let info = api(&c, "$JS.API.INFO", serde_json::json!({})).await;
    assert_eq!(err_code(&info), Some(10039), "{info}");
    assert_eq!(
        info["type"],
        "io.nats.jetstream.api.v1.account_info_response"
    );
    assert_eq!(
        info["error"]["description"],
        "JetStream not enabled for account"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_and_service_imports_cross_accounts() {
    let mut opts = test_options();
    let mut a = account("A", None);
    a.exports = vec![
        ExportConfig {
            kind: ExportKind::Stream,
            subject: "events.>".into(),
            accounts: vec![],
        },
        ExportConfig {
            kind: ExportKind::Service,
            subject: "time.now".into(),
            accounts: vec!["B".into()],
        },
    ];
    let mut b = account("B", None);
    b.imports = vec![
        ImportConfig {
            kind: ExportKind::Stream,
            account: "A".into(),
            subject: "events.>".into(),
            prefix: Some("from_a".into()),
            to: None,
        },
        ImportConfig {
            kind: ExportKind::Service,
            account: "A".into(),
            subject: "time.now".into(),
            prefix: None,
            to: Some("clock".into()),
        },
    ];
    opts.accounts = vec![a, b];
    opts.authorization.users = vec![user_in("A", "a"), user_in("B", "b")];
    let s = TestServer::start(opts).await;
    let a = connect(&s, "a").await;
    let b = connect(&s, "b").await;

    // Stream import: A's events arrive in B under the prefix.
    let mut imported = b.subscribe("from_a.events.>").await.expect("subscribe");
    synced(&b).await;
    a.publish("events.login", "alice".into())
        .await
        .expect("publish");
    a.flush().await.expect("flush");
    let msg = tokio::time::timeout(Duration::from_secs(2), imported.next())
        .await
        .expect("imported in time")
        .expect("msg");
    assert_eq!(msg.subject.as_str(), "from_a.events.login");
    assert_eq!(msg.payload, "alice");

    // Service import: B's request on `clock` reaches A's responder on time.now; the reply
    // comes back to B.
    let mut service = a.subscribe("time.now").await.expect("subscribe");
    synced(&a).await;
    let responder = tokio::spawn(async move {
        let request = service.next().await.expect("request");
        let reply = request.reply.expect("a reply subject");
        a.publish(reply, "noon".into()).await.expect("respond");
        a.flush().await.expect("flush");
    });
    let response = tokio::time::timeout(Duration::from_secs(5), b.request("clock", "?".into()))
        .await
        .expect("in time")
        .expect("response");
    assert_eq!(response.payload, "noon");
    responder.await.expect("responder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jetstream_limits_per_account() {
    let mut opts = two_accounts();
    opts.accounts[0].jetstream = Some(AccountJetStreamLimits {
        max_streams: Some(1),
        max_consumers: Some(1),
        ..AccountJetStreamLimits::default()
    });
    let s = TestServer::start(opts).await;
    let a = connect(&s, "a").await;
    let info = api(&a, "$JS.API.INFO", serde_json::json!({})).await;
    assert_eq!(info["limits"]["max_streams"], 1, "{info}");
    assert_eq!(info["limits"]["max_consumers"], 1, "{info}");
    let created = create_stream(&a, "ONE", "one").await;
    assert_eq!(err_code(&created), None, "{created}");
    let refused = create_stream(&a, "TWO", "two").await;
    assert_eq!(
        err_code(&refused),
        Some(10027),
        "maximum streams exceeded: {refused}"
    );
    let consumer = |name: &str| serde_json::json!({"stream_name": "ONE", "config": {"durable_name": name, "ack_policy": "explicit"}});
    let first = api(&a, "$JS.API.CONSUMER.DURABLE.CREATE.ONE.c1", consumer("c1")).await;
    assert_eq!(err_code(&first), None, "{first}");
    let second = api(&a, "$JS.API.CONSUMER.DURABLE.CREATE.ONE.c2", consumer("c2")).await;
    assert_eq!(
        err_code(&second),
        Some(10026),
        "maximum consumers exceeded: {second}"
    );
    // B has no such limits.
    let b = connect(&s, "b").await;
    for name in ["X", "Y"] {
        let created = create_stream(&b, name, &name.to_lowercase()).await;
        assert_eq!(err_code(&created), None, "B is unlimited: {created}");
    }
}
