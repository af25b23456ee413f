//! End-to-end tests of `weir consumer`: the built `weir` binary against a real server,
//! checking what it prints (for people and as JSON) and what it left on the server.
//!
//! Each test starts its own weir-server in-process with JetStream on an ephemeral port; the
//! streams are made through async-nats. Set `NATS_SERVER_BIN` to run them against another
//! binary (e.g. the reference nats-server 2.9); checks of features that server lacks
//! (metadata, several filters, pause) are then skipped.

use async_nats::jetstream::stream;
use async_nats::HeaderMap;
use serde_json::Value;

mod common;
use common::{temp_dir, wait_bounded, Server, LIMIT};

/// A server with stream ORDERS on `orders.>` holding `messages` (subject, body) in order;
/// the first message also carries the header `X-Id: 1`.
fn server_with(messages: &[(&str, &str)]) -> Server {
    let server = Server::start_js();
    let messages: Vec<(String, String)> = messages
        .iter()
        .map(|(s, b)| (s.to_string(), b.to_string()))
        .collect();
    server.with_js(async |js| {
        js.create_stream(stream::Config {
            name: "ORDERS".to_string(),
            subjects: vec!["orders.>".to_string()],
            ..Default::default()
        })
        .await
        .expect("create stream ORDERS");
        for (i, (subject, body)) in messages.into_iter().enumerate() {
            let ack = if i == 0 {
                let mut headers = HeaderMap::new();
                headers.insert("X-Id", "1");
                js.publish_with_headers(subject, headers, body.into()).await
            } else {
                js.publish(subject, body.into()).await
            };
            ack.expect("publish").await.expect("stored");
        }
    });
    server
}

fn publish(server: &Server, subject: &str, body: &str) {
    let (subject, body) = (subject.to_string(), body.to_string());
    server.with_js(async |js| {
        js.publish(subject, body.into())
            .await
            .expect("publish")
            .await
            .expect("stored");
    });
}

fn consumer_info(server: &Server, consumer: &str) -> Value {
    server.json(&["consumer", "info", "ORDERS", consumer])
}

#[test]
fn add_with_flags_sets_each_config_field() {
    let server = server_with(&[("orders.created", "one")]);
    let text = server.ok(&[
        "consumer",
        "add",
        "ORDERS",
        "PROC",
        "--filter",
        "orders.created",
        "--ack",
        "all",
        "--pull",
        "--deliver",
        "1",
        "--replay",
        "instant",
        "--wait",
        "45s",
        "--max-deliver",
        "7",
        "--max-pending",
        "250",
        "--max-waiting",
        "33",
        "--inactive-threshold",
        "1h",
        "--description",
        "order processor",
        "--metadata",
        "team=core",
        "--headers-only",
        "--sample",
        "40",
        "--max-pull-batch",
        "10",
        "--max-pull-expire",
        "1m",
    ]);
    assert!(
        text.contains("Information for Consumer ORDERS > PROC"),
        "{text}"
    );
    assert!(
        text.contains("Configuration:") && text.contains("State:"),
        "{text}"
    );

    let info = consumer_info(&server, "PROC");
    let config = &info["config"];
    assert_eq!(info["stream_name"], "ORDERS");
    assert_eq!(config["durable_name"], "PROC");
    assert_eq!(config["filter_subject"], "orders.created");
    assert_eq!(config["ack_policy"], "all");
    assert_eq!(config["deliver_policy"], "by_start_sequence");
    assert_eq!(config["opt_start_seq"], 1);
    assert_eq!(config["replay_policy"], "instant");
    assert_eq!(config["ack_wait"], 45_000_000_000u64);
    assert_eq!(config["max_deliver"], 7);
    assert_eq!(config["max_ack_pending"], 250);
    assert_eq!(config["max_waiting"], 33);
    assert_eq!(config["inactive_threshold"], 3_600_000_000_000u64);
    assert_eq!(config["description"], "order processor");
    assert_eq!(config["headers_only"], true);
    assert_eq!(config["sample_freq"], "40");
    assert_eq!(config["max_batch"], 10);
    assert_eq!(config["max_expires"], 60_000_000_000u64);
    assert!(config.get("deliver_subject").is_none(), "{config}");
    if server.is_weir {
        assert_eq!(config["metadata"]["team"], "core");
    }

    // A push consumer with a start time, backoff, heartbeat and flow control.
    server.ok(&[
        "consumer",
        "add",
        "ORDERS",
        "PUSHER",
        "--target",
        "deliver.here",
        "--deliver-group",
        "workers",
        "--deliver",
        "2020-01-01T00:00:00Z",
        "--ack",
        "explicit",
        "--heartbeat",
        "5s",
        "--flow-control",
        "--backoff",
        "1s,5s",
        "--max-deliver",
        "3",
        "--replay",
        "original",
    ]);
    let config = consumer_info(&server, "PUSHER")["config"].clone();
    assert_eq!(config["deliver_subject"], "deliver.here");
    assert_eq!(config["deliver_group"], "workers");
    assert_eq!(config["deliver_policy"], "by_start_time");
    assert!(
        config["opt_start_time"]
            .as_str()
            .is_some_and(|t| t.starts_with("2020-01-01T00:00:00")),
        "{config}"
    );
    assert_eq!(config["idle_heartbeat"], 5_000_000_000u64);
    assert_eq!(config["flow_control"], true);
    assert_eq!(
        config["backoff"],
        serde_json::json!([1_000_000_000u64, 5_000_000_000u64])
    );
    assert_eq!(config["replay_policy"], "original");

    // A duration means "that long ago"; several filters need filter_subjects (2.10+).
    server.ok(&["consumer", "add", "ORDERS", "RECENT", "--deliver", "1h"]);
    let config = consumer_info(&server, "RECENT")["config"].clone();
    assert_eq!(config["deliver_policy"], "by_start_time");
    assert_eq!(
        config["ack_policy"], "explicit",
        "pull consumers ack explicitly"
    );
    if server.is_weir {
        server.ok(&[
            "consumer", "add", "ORDERS", "MULTI", "--filter", "orders.a", "--filter", "orders.b",
        ]);
        let config = consumer_info(&server, "MULTI")["config"].clone();
        assert_eq!(
            config["filter_subjects"],
            serde_json::json!(["orders.a", "orders.b"])
        );
    }
}

#[test]
fn config_file_and_edit() {
    let server = server_with(&[]);
    let dir = temp_dir("consumer-config");
    let file = dir.join("consumer.json");
    std::fs::write(
        &file,
        r#"{"durable_name": "OTHER", "ack_policy": "explicit", "max_deliver": 3,
            "description": "from file", "max_ack_pending": 10}"#,
    )
    .expect("write config");
    let path = file.to_str().expect("utf-8 path");
    server.ok(&[
        "consumer",
        "add",
        "ORDERS",
        "FILED",
        "--config",
        path,
        "--max-pending",
        "7",
    ]);
    let config = consumer_info(&server, "FILED")["config"].clone();
    assert_eq!(config["durable_name"], "FILED", "the NAME argument wins");
    assert_eq!(config["description"], "from file");
    assert_eq!(config["max_deliver"], 3);
    assert_eq!(config["max_ack_pending"], 7, "flags override the file");

    // `consumer info --json` output is accepted as a config file too.
    let info_file = dir.join("info.json");
    std::fs::write(&info_file, consumer_info(&server, "FILED").to_string()).expect("write info");
    server.ok(&[
        "consumer",
        "add",
        "ORDERS",
        "COPY",
        "--config",
        info_file.to_str().unwrap(),
    ]);
    assert_eq!(
        consumer_info(&server, "COPY")["config"]["description"],
        "from file"
    );

    let text = server.ok(&[
        "consumer",
        "edit",
        "ORDERS",
        "FILED",
        "--description",
        "edited",
        "--max-pending",
        "99",
    ]);
    assert!(text.contains("edited"), "{text}");
    assert!(text.contains("out of maximum 99"), "{text}");
    let config = consumer_info(&server, "FILED")["config"].clone();
    assert_eq!(config["description"], "edited");
    assert_eq!(config["max_ack_pending"], 99);
    assert_eq!(config["max_deliver"], 3, "edit keeps what no flag changed");

    let same = server.ok(&[
        "consumer",
        "edit",
        "ORDERS",
        "FILED",
        "--description",
        "edited",
    ]);
    assert!(same.contains("No difference in configuration"), "{same}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn info_ls_report_and_rm() {
    let server = server_with(&[("orders.created", "one"), ("orders.shipped", "two")]);
    let empty = server.ok(&["consumer", "ls", "ORDERS"]);
    assert!(empty.contains("No Consumers defined"), "{empty}");
    assert_eq!(
        server.json(&["consumer", "ls", "ORDERS"]),
        serde_json::json!([])
    );

    server.ok(&["consumer", "add", "ORDERS", "B", "--description", "second"]);
    server.ok(&["consumer", "add", "ORDERS", "A", "--target", "push.a"]);

    let text = server.ok(&["consumer", "info", "ORDERS", "B"]);
    for want in [
        "Information for Consumer ORDERS > B",
        "Pull Mode",
        "Ack Policy",
        "Explicit",
        "State:",
        "Last Delivered Message",
        "Outstanding Acks",
        "0 out of maximum 1,000",
        "Redelivered Messages",
        "Unprocessed Messages",
        "Waiting Pulls",
    ] {
        assert!(text.contains(want), "{want:?} missing in:\n{text}");
    }
    let push = server.ok(&["consumer", "info", "ORDERS", "A"]);
    assert!(
        push.contains("push.a") && push.contains("Active Interest"),
        "{push}"
    );

    let table = server.ok(&["consumer", "ls", "ORDERS"]);
    for want in [
        "Name",
        "Description",
        "Created",
        "Ack Pending",
        "Unprocessed",
        "second",
    ] {
        assert!(table.contains(want), "{want:?} missing in:\n{table}");
    }
    assert_eq!(
        server.ok(&["consumer", "ls", "ORDERS", "--names"]),
        "A\nB\n"
    );
    assert_eq!(
        server.json(&["consumer", "ls", "ORDERS"]),
        serde_json::json!(["A", "B"])
    );

    let report = server.ok(&["consumer", "report", "ORDERS"]);
    for want in [
        "Consumer report for ORDERS with 2 consumers",
        "Mode",
        "Pull",
        "Push",
        "Ack Wait",
    ] {
        assert!(report.contains(want), "{want:?} missing in:\n{report}");
    }
    let rows = server.json(&["consumer", "report", "ORDERS"]);
    assert_eq!(rows[0]["consumer"], "A");
    assert_eq!(rows[0]["mode"], "push");
    assert_eq!(rows[1]["mode"], "pull");
    assert_eq!(rows[1]["unprocessed"], 2);

    let refused = server.fails(&["consumer", "rm", "ORDERS", "B"]);
    assert!(refused.contains("pass --force"), "{refused}");
    server.ok(&["consumer", "rm", "ORDERS", "B", "--force"]);
    assert_eq!(server.ok(&["consumer", "ls", "ORDERS", "--names"]), "A\n");
}

#[test]
fn next_prints_and_acknowledges() {
    let server = server_with(&[("orders.created", "hello"), ("orders.shipped", "world")]);
    server.ok(&["consumer", "add", "ORDERS", "P", "--pull"]);
    let out = server.ok(&["consumer", "next", "ORDERS", "P", "--count", "2"]);
    assert!(
        out.contains("] subj: orders.created / tries: 1 / cons seq: 1 / str seq: 1 / pending: 1"),
        "{out}"
    );
    assert!(
        out.contains("] subj: orders.shipped / tries: 1 / cons seq: 2 / str seq: 2 / pending: 0"),
        "{out}"
    );
    assert!(out.contains("X-Id: 1\n\nhello\n"), "{out}");
    assert!(out.contains("world"), "{out}");
    assert_eq!(out.matches("Acknowledged message").count(), 2, "{out}");
    assert!(out.starts_with('['), "{out}");

    let state = consumer_info(&server, "P");
    assert_eq!(state["num_ack_pending"], 0, "{state}");
    assert_eq!(state["num_pending"], 0, "{state}");
    assert_eq!(state["ack_floor"]["stream_seq"], 2, "{state}");
    let text = server.ok(&["consumer", "info", "ORDERS", "P"]);
    assert!(
        text.contains("Outstanding Acks") && text.contains("0 out of maximum"),
        "{text}"
    );

    // --json: one object per message; --raw: the body alone.
    publish(&server, "orders.paid", "three");
    publish(&server, "orders.paid", "four");
    let line = server.ok(&["--json", "consumer", "next", "ORDERS", "P"]);
    let msg: Value = serde_json::from_str(line.trim()).expect("a JSON message");
    assert_eq!(msg["subject"], "orders.paid");
    assert_eq!(msg["stream_seq"], 3);
    assert_eq!(msg["consumer_seq"], 3);
    assert_eq!(msg["data"], "three");
    assert_eq!(msg["ack"], "ack");
    assert_eq!(
        server.ok(&["consumer", "next", "ORDERS", "P", "--raw"]),
        "four\n"
    );
    assert_eq!(consumer_info(&server, "P")["num_ack_pending"], 0);
}

#[test]
fn next_without_ack_nak_and_term() {
    let server = server_with(&[("orders.a", "1"), ("orders.b", "2"), ("orders.c", "3")]);
    server.ok(&["consumer", "add", "ORDERS", "P", "--pull", "--wait", "1m"]);

    let out = server.ok(&[
        "consumer", "next", "ORDERS", "P", "--no-ack", "--count", "2",
    ]);
    assert!(!out.contains("Acknowledged"), "{out}");
    let state = consumer_info(&server, "P");
    assert_eq!(state["num_ack_pending"], 2, "{state}");

    // A NAK makes the server redeliver at once: the next pull gets a second try.
    server.ok(&["consumer", "add", "ORDERS", "N", "--pull"]);
    let nak = server.ok(&["consumer", "next", "ORDERS", "N", "--nak"]);
    assert!(nak.contains("Negative Acknowledged message"), "{nak}");
    let again = server.ok(&["consumer", "next", "ORDERS", "N", "--term"]);
    assert!(again.contains("subj: orders.a / tries: 2"), "{again}");
    assert!(again.contains("Terminated message"), "{again}");
    let state = consumer_info(&server, "N");
    assert_eq!(
        state["num_ack_pending"], 0,
        "a terminated message is done: {state}"
    );
    assert_eq!(state["num_redelivered"], 0, "{state}");
}

#[test]
fn next_on_an_empty_stream_fails_clearly() {
    let server = server_with(&[]);
    server.ok(&["consumer", "add", "ORDERS", "P"]);
    let started = std::time::Instant::now();
    let err = server.fails(&["consumer", "next", "ORDERS", "P", "--wait", "500ms"]);
    assert!(err.contains("no message received within 500ms"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));

    // `next` on a push consumer says to use `sub`.
    server.ok(&["consumer", "add", "ORDERS", "PUSH", "--target", "push.out"]);
    let err = server.fails(&["consumer", "next", "ORDERS", "PUSH"]);
    assert!(
        err.contains("push consumer") && err.contains("weir consumer sub"),
        "{err}"
    );
}

#[test]
fn sub_reads_push_and_pull_consumers_until_count() {
    let server = server_with(&[("orders.a", "1"), ("orders.b", "2"), ("orders.c", "3")]);
    server.ok(&[
        "consumer", "add", "ORDERS", "PUSH", "--target", "push.out", "--ack", "explicit",
    ]);
    let out = server.ok(&["consumer", "sub", "ORDERS", "PUSH", "--count", "3"]);
    for body in ["subj: orders.a", "subj: orders.b", "subj: orders.c"] {
        assert!(out.contains(body), "{body:?} in {out}");
    }
    assert_eq!(out.matches("Acknowledged message").count(), 3, "{out}");
    assert_eq!(consumer_info(&server, "PUSH")["num_ack_pending"], 0);

    // A running sub prints what is published after it started.
    server.ok(&["consumer", "add", "ORDERS", "PULL", "--deliver", "new"]);
    let child = server.spawn_until(
        &["consumer", "sub", "ORDERS", "PULL", "--count", "1", "--raw"],
        "Consuming from pull consumer",
    );
    publish(&server, "orders.late", "late");
    let output = wait_bounded(child, LIMIT);
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), "late\n");
    assert_eq!(consumer_info(&server, "PULL")["num_ack_pending"], 0);
}

#[test]
fn pause_and_resume() {
    let server = server_with(&[]);
    if !server.is_weir {
        return; // nats-server 2.9 has no consumer pause
    }
    server.ok(&["consumer", "add", "ORDERS", "P"]);
    let out = server.ok(&["consumer", "pause", "ORDERS", "P", "--until", "1h"]);
    assert!(
        out.contains("Paused ORDERS > P until") && out.contains("remaining"),
        "{out}"
    );
    let state = consumer_info(&server, "P");
    assert_eq!(state["paused"], true, "{state}");
    assert!(server
        .ok(&["consumer", "info", "ORDERS", "P"])
        .contains("Paused Until"));

    let answer = server.json(&["consumer", "pause", "ORDERS", "P", "2030-01-01T00:00:00Z"]);
    assert_eq!(answer["paused"], true);
    let out = server.ok(&["consumer", "resume", "ORDERS", "P"]);
    assert!(out.contains("was resumed"), "{out}");
    assert_ne!(consumer_info(&server, "P")["paused"], true);

    let err = server.fails(&["consumer", "pause", "ORDERS", "P", "--until", "soon"]);
    assert!(err.contains("invalid pause time"), "{err}");
}

#[test]
fn errors_name_the_cause_and_the_fix() {
    let server = server_with(&[]);
    let err = server.fails(&["consumer", "info", "NOPE", "C"]);
    assert!(
        err.contains("stream not found") && err.contains("weir stream ls"),
        "{err}"
    );
    let err = server.fails(&["consumer", "add", "NOPE", "C"]);
    assert!(err.contains("stream not found"), "{err}");
    let err = server.fails(&["consumer", "info", "ORDERS", "NOPE"]);
    assert!(
        err.contains("consumer not found") && err.contains("weir consumer ls"),
        "{err}"
    );
    let err = server.fails(&["consumer", "next", "ORDERS", "NOPE"]);
    assert!(err.contains("consumer not found"), "{err}");

    let err = server.fails(&["consumer", "add", "ORDERS", "C", "--deliver", "sometime"]);
    assert!(
        err.contains("invalid --deliver value") && err.contains("last-per-subject"),
        "{err}"
    );
    let err = server.fails(&["consumer", "add", "ORDERS", "C", "--wait", "5parsecs"]);
    assert!(err.contains("invalid duration"), "{err}");
    let err = server.fails(&["consumer", "add", "ORDERS", "C", "--pull", "--target", "x"]);
    assert!(err.contains("--pull and --target conflict"), "{err}");
    let err = server.fails(&["consumer", "info", "ORDERS", "a.b"]);
    assert!(err.contains("invalid consumer name"), "{err}");
    assert_eq!(server.ok(&["consumer", "ls", "ORDERS", "--names"]), "");

    let plain = Server::start(false);
    for args in [
        &["consumer", "add", "ORDERS", "C"][..],
        &["consumer", "ls", "ORDERS"],
        &["consumer", "next", "ORDERS", "C"],
    ] {
        let err = plain.fails(args);
        assert!(
            err.contains("JetStream is not enabled") && err.contains("-js"),
            "{args:?}: {err}"
        );
    }
}
