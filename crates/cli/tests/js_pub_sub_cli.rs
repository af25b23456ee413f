//! `weir pub --wait` (publish acks, message IDs, expected-* headers) and `weir sub` replaying
//! a stream, end to end against a real server (weir-server in process, or NATS_SERVER_BIN).

mod common;

use async_nats::jetstream::stream::Config;
use common::{wait_bounded, Server, LIMIT};

fn orders(server: &Server) {
    server.with_js(async |js| {
        js.create_stream(Config {
            name: "ORDERS".to_string(),
            subjects: vec!["orders.*".to_string()],
            ..Config::default()
        })
        .await
        .expect("create ORDERS");
    });
}

#[test]
fn pub_wait_prints_stream_and_sequence_and_json_acks() {
    let server = Server::start_js();
    orders(&server);
    let out = server.ok(&["pub", "orders.created", "--wait", "one"]);
    assert_eq!(out, "Stored in Stream: ORDERS Sequence: 1\n");
    let out = server.ok(&["pub", "orders.created", "-J", "n{{Count}}", "--count", "2"]);
    assert!(
        out.contains("Sequence: 2\n") && out.contains("Sequence: 3\n"),
        "{out}"
    );
    // --json: one publish ack per line, as the server sent it.
    let out = server.ok(&[
        "--json",
        "pub",
        "orders.x",
        "--jetstream",
        "j",
        "--count",
        "2",
    ]);
    let acks: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON ack per line"))
        .collect();
    assert_eq!(acks.len(), 2, "{out}");
    assert_eq!(acks[0]["stream"], "ORDERS");
    assert_eq!(acks[1]["seq"], 5);
    let stored = server.with_js(async |js| {
        let mut stream = js.get_stream("ORDERS").await.expect("stream");
        stream.info().await.expect("info").state.messages
    });
    assert_eq!(stored, 5);
}

#[test]
fn message_ids_deduplicate_and_expectations_are_enforced() {
    let server = Server::start_js();
    orders(&server);
    server.ok(&["pub", "orders.a", "--wait", "x", "--id", "order-1"]);
    let out = server.ok(&["pub", "orders.a", "--wait", "x", "--id", "order-1"]);
    assert!(out.contains("Sequence: 1 (duplicate)"), "{out}");
    let err = server.fails(&["pub", "orders.a", "--wait", "x", "--expected-last-seq", "7"]);
    assert!(err.contains("wrong last sequence"), "{err}");
    assert!(err.contains("10071"), "{err}");
    let err = server.fails(&[
        "pub",
        "orders.a",
        "--wait",
        "x",
        "--expected-stream",
        "OTHER",
    ]);
    assert!(err.contains("expected stream does not match"), "{err}");
    let out = server.ok(&[
        "pub",
        "orders.a",
        "--wait",
        "x",
        "--expected-last-subject-seq",
        "1",
        "--expected-last-msg-id",
        "order-1",
    ]);
    assert!(out.contains("Sequence: 2"), "{out}");
}

#[test]
fn pub_wait_without_a_stream_or_jetstream_names_the_fix() {
    let server = Server::start_js();
    let err = server.fails(&["pub", "nowhere.x", "--wait", "x"]);
    assert!(err.contains("no stream stores this subject"), "{err}");
    assert!(err.contains("weir stream add"), "{err}");
    let plain = Server::start(false);
    let err = plain.fails(&["pub", "orders.x", "--wait", "x"]);
    assert!(err.contains("start it with -js"), "{err}");
    // --id only makes sense with an ack to wait for.
    let err = server.fails(&["pub", "orders.x", "x", "--id", "a"]);
    assert!(err.contains("--wait"), "{err}");
}

#[test]
fn sub_replays_a_stream_from_the_chosen_start() {
    let server = Server::start_js();
    orders(&server);
    for (subject, body) in [
        ("orders.a", "first"),
        ("orders.b", "second"),
        ("orders.a", "third"),
    ] {
        server.ok(&["pub", subject, "--wait", body]);
    }
    // The stream is found from the subject; --all replays everything.
    let out = server.ok(&["sub", "orders.*", "--all", "--count", "3", "--raw"]);
    assert_eq!(out, "first\nsecond\nthird\n");
    let out = server.ok(&["sub", "orders.*", "--stream", "ORDERS", "--count", "1"]);
    assert!(
        out.contains("Received JetStream message: stream: ORDERS seq 1 / subject: \"orders.a\""),
        "{out}"
    );
    let out = server.ok(&["sub", "orders.a", "--last", "--count", "1", "--raw"]);
    assert_eq!(out, "third\n");
    let out = server.ok(&["sub", "orders.*", "--deliver", "2", "--count", "2", "--raw"]);
    assert_eq!(out, "second\nthird\n");
    let out = server.ok(&[
        "sub",
        "orders.*",
        "--last-per-subject",
        "--count",
        "2",
        "--raw",
    ]);
    assert_eq!(out, "second\nthird\n");
    let out = server.ok(&["sub", "orders.*", "--since", "1h", "--count", "3", "--raw"]);
    assert_eq!(out, "first\nsecond\nthird\n");
    // --json: one object per message.
    let out = server.ok(&["--json", "sub", "orders.b", "--all", "--count", "1"]);
    let msg: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON message");
    assert_eq!(msg["subject"], "orders.b");
    assert_eq!(msg["data"], "second");
}

#[test]
fn sub_new_waits_for_messages_stored_after_it_starts() {
    let server = Server::start_js();
    orders(&server);
    server.ok(&["pub", "orders.a", "--wait", "old"]);
    let sub = server.spawn_until(
        &["sub", "orders.a", "--new", "--count", "1", "--raw"],
        "Subscribing to JetStream stream ORDERS",
    );
    server.ok(&["pub", "orders.a", "--wait", "fresh"]);
    let out = wait_bounded(sub, LIMIT);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fresh\n");
}

#[test]
fn sub_replay_errors_name_the_fix() {
    let server = Server::start_js();
    orders(&server);
    let err = server.fails(&["sub", "elsewhere.x", "--all"]);
    assert!(err.contains("no stream stores"), "{err}");
    let err = server.fails(&["sub", "orders.a", "--stream", "NOPE"]);
    assert!(err.contains("weir stream ls"), "{err}");
    let err = server.fails(&["sub", "orders.a", "--deliver", "sometimes"]);
    assert!(err.contains("--deliver"), "{err}");
    let err = server.fails(&["sub", "orders.a", "--all", "--last"]);
    assert!(err.contains("cannot be used with"), "{err}");
}
