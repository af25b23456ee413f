//! Helpers for the JetStream integration tests (`js_*.rs`): the "is the JetStream API served?"
//! guard, raw `$JS.API` requests answered with JSON, and publishes that return the raw PubAck
//! JSON, so tests can compare exact `code`/`err_code`/`description` values.
//!
//! Every wait is bounded.

// Each test binary compiles this module separately and uses only part of it.
#![allow(dead_code)]

use std::time::Duration;

use async_nats::{client::RequestErrorKind, Client, HeaderMap, Message};
use bytes::Bytes;
use serde_json::Value;

use crate::common::{js_options, within, TempDir, TestServer};

/// Bound for one API request.
pub const API_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the guard waits for `$JS.API.INFO`.
pub const GUARD_TIMEOUT: Duration = Duration::from_secs(2);
pub const SKIP_NOTE: &str = "note: JetStream API not served by this server yet; skipping";

pub async fn connect(url: &str) -> Client {
    within(API_TIMEOUT, "client connect", async_nats::connect(url))
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"))
}

/// Whether the server answers `$JS.API.INFO` (within 2 s) with an account info. If not (no
/// responders, no reply, or an error reply), prints the skip note and returns false.
///
/// TODO(lead): remove this guard from the tests once Weir serves the JetStream API.
pub async fn jetstream_served(client: &Client) -> bool {
    let reply =
        tokio::time::timeout(GUARD_TIMEOUT, client.request("$JS.API.INFO", Bytes::new())).await;
    let served = match reply {
        Ok(Ok(msg)) => serde_json::from_slice::<Value>(&msg.payload)
            .map(|v| v.get("error").is_none() && v.get("limits").is_some())
            .unwrap_or(false),
        _ => false,
    };
    if !served {
        println!("{SKIP_NOTE}");
    }
    served
}

/// Sends `body` to `subject` and returns the raw reply (a status reply such as 404 included).
pub async fn request_msg(client: &Client, subject: &str, body: impl Into<Bytes>) -> Message {
    within(
        API_TIMEOUT,
        &format!("a reply on {subject}"),
        client.request(subject.to_string(), body.into()),
    )
    .await
    .unwrap_or_else(|e| panic!("request to {subject} failed: {e}"))
}

/// Like `request_msg` with headers.
pub async fn request_msg_with_headers(
    client: &Client,
    subject: &str,
    headers: HeaderMap,
    body: impl Into<Bytes>,
) -> Message {
    within(
        API_TIMEOUT,
        &format!("a reply on {subject}"),
        client.request_with_headers(subject.to_string(), headers, body.into()),
    )
    .await
    .unwrap_or_else(|e| panic!("request to {subject} failed: {e}"))
}

/// True if a request to `subject` got no reply within `dur` (no responders counts too).
pub async fn no_reply(
    client: &Client,
    subject: &str,
    body: impl Into<Bytes>,
    dur: Duration,
) -> bool {
    match tokio::time::timeout(dur, client.request(subject.to_string(), body.into())).await {
        Err(_) => true,
        Ok(Err(e)) => matches!(
            e.kind(),
            RequestErrorKind::NoResponders | RequestErrorKind::TimedOut
        ),
        Ok(Ok(_)) => false,
    }
}

pub fn json_of(msg: &Message) -> Value {
    serde_json::from_slice(&msg.payload).unwrap_or_else(|e| {
        panic!(
            "reply on {} is not JSON ({e}): {:?} (status {:?})",
            msg.subject,
            String::from_utf8_lossy(&msg.payload),
            msg.status
        )
    })
}

/// A `$JS.API` request with a JSON (or any) body; returns the reply as JSON.
pub async fn api(client: &Client, subject: &str, body: impl Into<Bytes>) -> Value {
    json_of(&request_msg(client, subject, body).await)
}

/// `api` that asserts the reply is not an error.
pub async fn api_ok(client: &Client, subject: &str, body: impl Into<Bytes>) -> Value {
    let body = body.into();
    let v = api(client, subject, body.clone()).await;
    assert!(
        v.get("error").is_none(),
        "{subject} {:?} failed: {v}",
        String::from_utf8_lossy(&body)
    );
    v
}

/// An API error: HTTP-like `code`, NATS `err_code`, `description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiErr {
    pub code: u64,
    pub err_code: u64,
    pub description: String,
}

impl ApiErr {
    pub fn new(code: u64, err_code: u64, description: &str) -> ApiErr {
        ApiErr {
            code,
            err_code,
            description: description.to_string(),
        }
    }
}

/// The `error` object of a reply; panics if there is none.
pub fn err_of(v: &Value) -> ApiErr {
    let e = v
        .get("error")
        .unwrap_or_else(|| panic!("expected an error reply, got {v}"));
    ApiErr {
        code: e["code"]
            .as_u64()
            .unwrap_or_else(|| panic!("error.code in {v}")),
        err_code: e["err_code"]
            .as_u64()
            .unwrap_or_else(|| panic!("error.err_code in {v}")),
        description: as_2_9_text(
            e["description"]
                .as_str()
                .unwrap_or_else(|| panic!("error.description in {v}")),
        ),
    }
}

/// The tests pin nats-server 2.9.10's texts; Weir follows 2.14 where only the wording grew
/// (ADR-backed): "invalid JSON: <decoder detail>", "... retention policy to/from
/// workqueue" (2.14 allows limits <-> interest) and the path separators in the invalid
/// stream name text. Map those back before comparing.
fn as_2_9_text(description: &str) -> String {
    if description.starts_with("invalid JSON: ") {
        return "invalid JSON".to_string();
    }
    // 2.14 also forbids path separators in names and says so.
    if let Some(prefix) = description.strip_suffix(", '\\', '/'") {
        return prefix.to_string();
    }
    description
        .strip_suffix(" to/from workqueue")
        .unwrap_or(description)
        .to_string()
}

/// `api` that expects an error reply and returns it.
pub async fn api_err(client: &Client, subject: &str, body: impl Into<Bytes>) -> ApiErr {
    err_of(&api(client, subject, body).await)
}

/// Creates a stream from a JSON config (its `name` names the subject); asserts success.
pub async fn create_stream(client: &Client, config: Value) -> Value {
    let name = config["name"]
        .as_str()
        .expect("config has a name")
        .to_string();
    api_ok(
        client,
        &format!("$JS.API.STREAM.CREATE.{name}"),
        config.to_string(),
    )
    .await
}

/// `$JS.API.STREAM.INFO.<name>` with `body`; asserts success; returns the whole info.
pub async fn stream_info_with(client: &Client, name: &str, body: Value) -> Value {
    api_ok(
        client,
        &format!("$JS.API.STREAM.INFO.{name}"),
        body.to_string(),
    )
    .await
}

/// The `state` of stream `name`.
pub async fn stream_state(client: &Client, name: &str) -> Value {
    api_ok(client, &format!("$JS.API.STREAM.INFO.{name}"), Bytes::new()).await["state"].clone()
}

pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, *v);
    }
    h
}

/// Publishes with a reply subject (a JetStream publish) and returns the PubAck JSON.
pub async fn publish(
    client: &Client,
    subject: &str,
    hdrs: &[(&str, &str)],
    payload: impl Into<Bytes>,
) -> Value {
    let msg = if hdrs.is_empty() {
        request_msg(client, subject, payload).await
    } else {
        request_msg_with_headers(client, subject, headers(hdrs), payload).await
    };
    json_of(&msg)
}

/// `publish` that asserts a PubAck without error; returns its `seq`.
pub async fn publish_ok(
    client: &Client,
    subject: &str,
    hdrs: &[(&str, &str)],
    payload: impl Into<Bytes>,
) -> u64 {
    let ack = publish(client, subject, hdrs, payload).await;
    assert!(
        ack.get("error").is_none(),
        "publish to {subject} with {hdrs:?} rejected: {ack}"
    );
    ack["seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("PubAck without seq: {ack}"))
}

/// `publish` that expects a rejection and returns it.
pub async fn publish_err(
    client: &Client,
    subject: &str,
    hdrs: &[(&str, &str)],
    payload: impl Into<Bytes>,
) -> ApiErr {
    err_of(&publish(client, subject, hdrs, payload).await)
}

/// A header's value in a message, if present.
pub fn header(msg: &Message, name: &str) -> Option<String> {
    msg.headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.as_str().to_string())
}

pub fn u(v: &Value) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected an unsigned number, got {v}"))
}

// ---------------------------------------------------------------------------------------------
// Consumers (`js_consumers*.rs`)
// ---------------------------------------------------------------------------------------------

pub const CONSUMERS_SKIP_NOTE: &str =
    "note: JetStream consumers not served by this server yet; skipping";

/// Whether the server answers `$JS.API.CONSUMER.NAMES.<stream>` within 2 s with a consumer
/// names reply (an error reply such as "stream not found" counts: the endpoint is served). If
/// not, prints the skip note and returns false.
///
/// TODO(lead): remove this guard from the tests once Weir serves consumers.
pub async fn consumers_served(client: &Client) -> bool {
    let reply = tokio::time::timeout(
        GUARD_TIMEOUT,
        client.request("$JS.API.CONSUMER.NAMES.CONSUMERS_GUARD", Bytes::new()),
    )
    .await;
    let served = match reply {
        Ok(Ok(msg)) => serde_json::from_slice::<Value>(&msg.payload)
            .map(|v| v["type"] == "io.nats.jetstream.api.v1.consumer_names_response")
            .unwrap_or(false),
        _ => false,
    };
    if !served {
        println!("{CONSUMERS_SKIP_NOTE}");
    }
    served
}

/// Creates a consumer on `stream` from its config JSON (asserts success; returns the reply):
/// `$JS.API.CONSUMER.CREATE.<stream>.<name>` when the config has a `durable_name` or `name`,
/// else the ephemeral `$JS.API.CONSUMER.CREATE.<stream>`.
pub async fn create_consumer(client: &Client, stream: &str, config: Value) -> Value {
    let name = config
        .get("durable_name")
        .or_else(|| config.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let subject = match &name {
        Some(n) => format!("$JS.API.CONSUMER.CREATE.{stream}.{n}"),
        None => format!("$JS.API.CONSUMER.CREATE.{stream}"),
    };
    let body = serde_json::json!({"stream_name": stream, "config": config});
    api_ok(client, &subject, body.to_string()).await
}

/// `$JS.API.CONSUMER.INFO.<stream>.<name>`; asserts success.
pub async fn consumer_info(client: &Client, stream: &str, name: &str) -> Value {
    api_ok(
        client,
        &format!("$JS.API.CONSUMER.INFO.{stream}.{name}"),
        Bytes::new(),
    )
    .await
}

/// A subscription on a fresh inbox: pull requests name `subject` as their reply, so the test
/// sees every message and status the server sends for them.
pub struct Inbox {
    pub subject: String,
    pub sub: async_nats::Subscriber,
}

pub async fn inbox(client: &Client) -> Inbox {
    let subject = client.new_inbox();
    let sub = client
        .subscribe(subject.clone())
        .await
        .expect("subscribe to an inbox");
    Inbox { subject, sub }
}

/// Sends a pull request (`$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`) with `body`,
/// replies to `reply`. Publishes on the same connection as the inbox's SUB, so the server has
/// the subscription before it answers.
pub async fn pull(client: &Client, stream: &str, consumer: &str, reply: &str, body: &str) {
    client
        .publish_with_reply(
            format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"),
            reply.to_string(),
            Bytes::from(body.to_string()),
        )
        .await
        .expect("publish a pull request");
}

/// Bound for one expected delivery.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// The next message on `sub` (bounded by `DELIVERY_TIMEOUT`).
pub async fn next_msg(sub: &mut async_nats::Subscriber, what: &str) -> Message {
    use futures::StreamExt;
    within(DELIVERY_TIMEOUT, what, sub.next())
        .await
        .unwrap_or_else(|| panic!("subscription ended while waiting for {what}"))
}

/// Whatever arrives on `sub` within `dur` (the test asserts on it; usually that it is None).
pub async fn msg_within(sub: &mut async_nats::Subscriber, dur: Duration) -> Option<Message> {
    use futures::StreamExt;
    tokio::time::timeout(dur, sub.next()).await.ok().flatten()
}

/// Reads messages until the first status message; returns the data messages and the status.
pub async fn until_status(sub: &mut async_nats::Subscriber, what: &str) -> (Vec<Message>, Message) {
    let mut msgs = Vec::new();
    loop {
        let m = next_msg(sub, what).await;
        if m.status.is_some() {
            return (msgs, m);
        }
        msgs.push(m);
    }
}

/// `n` data messages from `sub`; panics on a status message.
pub async fn take_msgs(sub: &mut async_nats::Subscriber, n: usize, what: &str) -> Vec<Message> {
    let mut msgs = Vec::with_capacity(n);
    while msgs.len() < n {
        let m = next_msg(sub, what).await;
        assert!(
            m.status.is_none(),
            "expected {n} messages ({what}), got a status after {}: {:?} {:?} {:?}",
            msgs.len(),
            m.status,
            m.description,
            m.headers
        );
        msgs.push(m);
    }
    msgs
}

/// Asserts `msg` is a status message `code description` (`NATS/1.0 <code> <description>`) with
/// an empty body.
pub fn expect_status(msg: &Message, code: u16, description: &str) {
    assert_eq!(
        msg.status.map(|s| s.as_u16()),
        Some(code),
        "status of {msg:?}"
    );
    assert_eq!(
        msg.description.as_deref(),
        Some(description),
        "status description of {msg:?}"
    );
    assert!(msg.payload.is_empty(), "status with a body: {msg:?}");
}

/// The `Nats-Pending-Messages` and `Nats-Pending-Bytes` headers of a status message.
pub fn pending_headers(msg: &Message) -> (u64, u64) {
    let get = |name: &str| {
        header(msg, name)
            .unwrap_or_else(|| panic!("{name} header missing in {msg:?}"))
            .parse::<u64>()
            .unwrap_or_else(|e| panic!("{name} not a number ({e}) in {msg:?}"))
    };
    (get("Nats-Pending-Messages"), get("Nats-Pending-Bytes"))
}

/// The tokens of a v1 ack reply subject
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<stream_seq>.<consumer_seq>.<timestamp_ns>.<pending>`.
/// A v2 subject (`$JS.ACK.<domain>.<account hash>.<stream>…`, 11+ tokens) is read too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckReply {
    pub stream: String,
    pub consumer: String,
    pub delivered: u64,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    pub timestamp_ns: u64,
    pub pending: u64,
}

pub fn parse_ack_reply(reply: &str) -> AckReply {
    let t: Vec<&str> = reply.split('.').collect();
    assert!(
        t.len() >= 9 && t[0] == "$JS" && t[1] == "ACK",
        "not an ack subject: {reply:?}"
    );
    // v1 has exactly 9 tokens; v2 inserts domain and account hash after `$JS.ACK`.
    let base = if t.len() == 9 { 2 } else { 4 };
    let num = |i: usize| {
        t[base + i]
            .parse::<u64>()
            .unwrap_or_else(|e| panic!("token {} of {reply:?} not a number: {e}", base + i))
    };
    AckReply {
        stream: t[base].to_string(),
        consumer: t[base + 1].to_string(),
        delivered: num(2),
        stream_seq: num(3),
        consumer_seq: num(4),
        timestamp_ns: num(5),
        pending: num(6),
    }
}

/// The parsed ack reply subject of a delivered message.
pub fn ack_of(msg: &Message) -> AckReply {
    let reply = msg
        .reply
        .as_ref()
        .unwrap_or_else(|| panic!("delivered message without a reply subject: {msg:?}"));
    parse_ack_reply(reply)
}

/// (stream_seq, consumer_seq) of an info's `delivered` or `ack_floor`.
pub fn seqs(v: &Value) -> (u64, u64) {
    (u(&v["stream_seq"]), u(&v["consumer_seq"]))
}

/// Sends `body` to a message's ack subject and waits for the server's confirmation (the
/// "double ack": an ack with a reply subject gets an empty reply once processed).
pub async fn ack_sync(client: &Client, msg: &Message, body: &str) {
    let reply = msg.reply.clone().expect("message has an ack subject");
    let r = request_msg(client, reply.as_str(), body.to_string()).await;
    assert!(
        r.payload.is_empty() && r.status.is_none(),
        "ack confirmation is an empty message: {r:?}"
    );
}

/// Stops a `ServerProcess` gracefully: SIGTERM, then waits (bounded, 10 s) until the process
/// has exited (a zombie until `restart` reaps it). Both servers flush consumer state on a clean
/// shutdown; nats-server 2.9.10 loses recent acks on SIGKILL.
pub fn terminate_gracefully(p: &crate::common::ServerProcess) {
    let pid = p.pid().expect("server process is running");
    let status = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .expect("run kill -TERM");
    assert!(status.success(), "kill -TERM {pid} failed: {status}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state is the first field after the parenthesised command name.
        let state = stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .chars()
            .next();
        if stat.is_empty() || state == Some('Z') || state == Some('X') {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server {pid} still running 10 s after SIGTERM"
        );
        // Short poll interval of a bounded wait for process exit.
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// One test's server, its store dir and a client. Dropped in this order: client, server, dir.
pub struct Js {
    pub c: Client,
    pub server: TestServer,
    pub _store: TempDir,
}

/// Starts a JetStream server for one test, or returns None (after printing the skip note) if
/// the server does not serve the JetStream API or consumers.
pub async fn js() -> Option<Js> {
    let store = TempDir::new();
    let server = TestServer::start(js_options(&store.path().join("jetstream"))).await;
    let c = connect(&server.url()).await;
    if !jetstream_served(&c).await || !consumers_served(&c).await {
        return None;
    }
    Some(Js {
        c,
        server,
        _store: store,
    })
}

/// `let j = setup!();`: the test's [`Js`], or return early (skipped) when not served.
#[macro_export]
macro_rules! setup {
    () => {
        match js_common::js().await {
            Some(j) => j,
            None => return,
        }
    };
}
