//! End-to-end tests: run the built `weir` binary against a real server.
//!
//! Each test starts its own weir-server in-process on an ephemeral port. Set
//! `NATS_SERVER_BIN` to aim them at another binary instead (for example the reference
//! nats-server), which is spawned on a free port.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{free_port, wait_bounded, Server, WEIR};
use serde_json::Value;

/// Waits for `child` to exit (killing it after `limit`); returns whether it succeeded and its
/// stdout.
fn finish(child: Child, limit: Duration) -> (bool, String) {
    let out = wait_bounded(child, limit);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn pub_sub_round_trip_with_headers_and_template() {
    let server = Server::start(false);
    let sub = server.spawn_until(
        &["sub", "test.rt", "--count", "2"],
        "Subscribing on test.rt",
    );
    let out = server.weir(&[
        "pub",
        "test.rt",
        "hello {{Count}}",
        "-H",
        "X-Test:yes",
        "--count",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Published 2 messages"));
    let (ok, stdout) = finish(sub, Duration::from_secs(10));
    assert!(ok);
    assert!(
        stdout.contains("[#1] Received on \"test.rt\"\nX-Test: yes\n\nhello 1\n"),
        "{stdout}"
    );
    assert!(stdout.contains("[#2] Received on \"test.rt\""), "{stdout}");
    assert!(stdout.contains("hello 2"), "{stdout}");
}

#[test]
fn sub_shows_reply_subject_and_raw_mode() {
    let server = Server::start(false);
    let sub = server.spawn_until(&["sub", "test.raw", "--count", "1", "--raw"], "Subscribing");
    let out = server.weir(&["pub", "test.raw", "just the body", "--reply", "answers"]);
    assert!(out.status.success());
    let (ok, stdout) = finish(sub, Duration::from_secs(10));
    assert!(ok);
    assert_eq!(stdout, "just the body\n");

    let sub = server.spawn_until(&["sub", "test.reply", "--count", "1"], "Subscribing");
    let out = server.weir(&["pub", "test.reply", "x", "--reply", "answers"]);
    assert!(out.status.success());
    let (_, stdout) = finish(sub, Duration::from_secs(10));
    assert!(
        stdout.contains("Received on \"test.reply\" with reply \"answers\""),
        "{stdout}"
    );
}

#[test]
fn request_reply_and_no_responders() {
    let server = Server::start(false);
    let replier = server.spawn_until(
        &["reply", "svc.time", "pong {{Count}}", "--count", "1"],
        "Listening on",
    );
    let out = server.weir(&["req", "svc.time", "ping", "--raw"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "pong 1\n");
    let (ok, stdout) = finish(replier, Duration::from_secs(10));
    assert!(ok);
    assert!(stdout.contains("ping"), "{stdout}");

    let echo = server.spawn_until(
        &["reply", "svc.echo", "--echo", "--count", "1"],
        "Listening on",
    );
    let reply = server.json(&["req", "svc.echo", "echo me", "-H", "K:v"]);
    assert_eq!(reply["data"], "echo me");
    assert_eq!(reply["headers"][0], serde_json::json!(["K", "v"]));
    finish(echo, Duration::from_secs(10));

    let out = server.weir(&["req", "nobody.home", "hi"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no responders are available for nobody.home"),
        "{stderr}"
    );
}

#[test]
fn server_info_json_parses() {
    let server = Server::start(false);
    let info = server.json(&["server", "info"]);
    assert!(
        info["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{info}"
    );
    assert!(
        info["server_id"].as_str().is_some_and(|v| !v.is_empty()),
        "{info}"
    );
    assert!(
        info["max_payload"].as_u64().is_some_and(|v| v > 0),
        "{info}"
    );
    assert_eq!(info["headers"], Value::Bool(true));

    let out = server.weir(&["server", "info"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("Max payload") && table.contains("Version"),
        "{table}"
    );
}

#[test]
fn tiny_pubsub_bench_reports_every_message() {
    let server = Server::start(false);
    for client in ["nats", "raw"] {
        let summary = server.json(&[
            "bench",
            "pubsub",
            "bench.tiny",
            "--pub",
            "2",
            "--sub",
            "2",
            "--msgs",
            "1000",
            "--client",
            client,
        ]);
        assert_eq!(summary["complete"], Value::Bool(true), "{summary}");
        assert_eq!(summary["lost_msgs"], 0, "{summary}");
        assert_eq!(summary["received_msgs"], 2000, "{summary}");
        assert_eq!(summary["publishers"]["msgs"], 1000, "{summary}");
        assert_eq!(summary["subscribers"]["msgs"], 2000, "{summary}");
        assert_eq!(summary["subscribers"]["bytes"], 2000 * 128, "{summary}");
        assert!(summary["overall"]["msgs_per_sec"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn tiny_request_bench_records_latencies() {
    let server = Server::start(false);
    let summary = server.json(&[
        "bench",
        "request",
        "bench.req",
        "--clients",
        "2",
        "--msgs",
        "200",
        "--warmup",
        "5",
    ]);
    assert_eq!(summary["completed"], 200, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    let p50 = summary["latency"]["p50_us"].as_f64().unwrap();
    let max = summary["latency"]["max_us"].as_f64().unwrap();
    assert!(p50 > 0.0 && max >= p50, "{summary}");

    let out = server.weir(&[
        "bench",
        "request",
        "bench.none",
        "--no-reply",
        "--msgs",
        "5",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("weir reply bench.none --echo"));
}

#[test]
fn conns_and_subs_benches_report_server_memory() {
    let server = Server::start(false);
    let pid = server.pid().to_string();
    let conns = server.json(&["bench", "conns", "--count", "50", "--pid", &pid]);
    assert_eq!(conns["connected"], 50, "{conns}");
    assert_eq!(conns["failed"], 0, "{conns}");
    assert!(
        conns["server_memory"]["rss_after_bytes"].as_u64().unwrap() > 0,
        "{conns}"
    );

    let subs = server.json(&[
        "bench", "subs", "--count", "2000", "--pid", &pid, "--hold", "1",
    ]);
    assert_eq!(subs["subscriptions"], 2000, "{subs}");
    assert_eq!(subs["still_open_after_hold"], Value::Bool(true), "{subs}");
    assert!(
        subs["server_memory"]["rss_before_bytes"].as_u64().unwrap() > 0,
        "{subs}"
    );
}

#[test]
fn tiny_js_pub_bench_acks_and_stores_every_message() {
    let server = Server::start_js();
    let runs: [&[&str]; 4] = [
        &["--client", "nats", "--storage", "file", "--mode", "async"],
        &[
            "--client",
            "raw",
            "--storage",
            "file",
            "--mode",
            "async",
            "--pubs",
            "2",
        ],
        &["--client", "raw", "--storage", "memory", "--mode", "sync"],
        &[
            "--client",
            "nats",
            "--storage",
            "memory",
            "--mode",
            "sync",
            "--subjects",
            "7",
        ],
    ];
    for (i, extra) in runs.iter().enumerate() {
        let stream = format!("TINY{i}");
        let subject = format!("js.tiny{i}");
        let summary = server.json(
            &[
                &[
                    "bench", "js", "pub", &subject, "--stream", &stream, "--msgs", "300",
                ][..],
                &["--size", "64", "--window", "16", "--recreate"][..],
                extra,
            ]
            .concat(),
        );
        assert_eq!(
            summary["complete"],
            Value::Bool(true),
            "{extra:?}: {summary}"
        );
        assert_eq!(summary["acked_msgs"], 300, "{extra:?}: {summary}");
        assert_eq!(summary["ack_errors"], 0, "{extra:?}: {summary}");
        assert_eq!(summary["stored_msgs"], 300, "{extra:?}: {summary}");
        assert_eq!(
            summary["stream_after"]["messages"], 300,
            "{extra:?}: {summary}"
        );
        assert_eq!(
            summary["publishers"]["bytes"],
            300 * 64,
            "{extra:?}: {summary}"
        );
        assert!(
            summary["ack_latency"]["p50_us"].as_f64().unwrap() > 0.0,
            "{extra:?}: {summary}"
        );
    }
    // Publishing again without --recreate or --purge adds to the stream; the check counts
    // only this run's messages.
    let again = server.json(&[
        "bench", "js", "pub", "js.tiny0", "--stream", "TINY0", "--msgs", "50", "--client", "raw",
    ]);
    assert_eq!(again["stream_before"]["messages"], 300, "{again}");
    assert_eq!(again["stored_msgs"], 50, "{again}");
    let purged = server.json(&[
        "bench", "js", "pub", "js.tiny0", "--stream", "TINY0", "--msgs", "10", "--purge",
    ]);
    assert_eq!(purged["stream_before"]["messages"], 0, "{purged}");
    assert_eq!(purged["stream_after"]["messages"], 10, "{purged}");
}

#[test]
fn js_bench_without_jetstream_fails_cleanly() {
    let server = Server::start(false);
    let out = server.weir(&["bench", "js", "pub", "js.off", "--msgs", "5"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("JetStream"), "{stderr}");
}

#[test]
fn unreachable_server_error_names_the_fix() {
    let port = free_port();
    let out = Command::new(WEIR)
        .args(["-s", &format!("nats://127.0.0.1:{port}"), "pub", "x", "y"])
        .stdin(Stdio::null())
        .output()
        .expect("cannot run weir");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot connect to nats://127.0.0.1:{port}: connection refused"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("weir-server -js"), "{stderr}");
}

#[test]
fn bad_flags_fail_without_panicking() {
    for args in [
        &["pub", "x", "y", "-H", "no-colon"][..],
        &["--timeout", "soon", "pub", "x"][..],
        &["bench", "pubsub", "x", "--pub", "0", "--sub", "0"][..],
        &["bench", "js", "pub", "x", "--window", "0"][..],
        &["bench", "js", "pub", "x", "--purge", "--recreate"][..],
        &["bench", "js", "pub", "x", "--storage", "tape"][..],
    ] {
        let out = Command::new(WEIR)
            .args(["-s", "nats://127.0.0.1:1"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run weir");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// Checks one consumer run of a consumer bench's JSON.
fn assert_drained(run: &Value, msgs: u64, pending: u64, what: &str) {
    assert_eq!(run["complete"], Value::Bool(true), "{what}: {run}");
    assert_eq!(run["received_msgs"], msgs, "{what}: {run}");
    assert_eq!(run["errors"], 0, "{what}: {run}");
    assert_eq!(run["consumer"]["msgs"], msgs, "{what}: {run}");
    assert!(
        run["consumer"]["msgs_per_sec"].as_f64().unwrap() > 0.0,
        "{what}: {run}"
    );
    if let Some(state) = run.get("consumer_state") {
        assert_eq!(state["delivered_msgs"], msgs, "{what}: {run}");
        assert_eq!(state["num_pending"], pending, "{what}: {run}");
        assert_eq!(state["num_ack_pending"], 0, "{what}: {run}");
    }
}

#[test]
fn tiny_js_consumer_benches_drain_every_message() {
    let server = Server::start_js();
    let common = [
        "--msgs", "300", "--size", "32", "--stream", "TINYC", "--settle", "0",
    ];
    let runs: [&[&str]; 11] = [
        &[
            "fetch", "--batch", "100", "--ack", "explicit", "--client", "nats",
        ],
        &["consume", "--batch", "50", "--ack", "explicit"],
        &["consume", "--ack", "none", "--storage", "memory"],
        &[
            "fetch", "--batch", "7", "--ack", "explicit", "--client", "raw",
        ],
        &[
            "fetch",
            "--batch",
            "1000",
            "--ack",
            "none",
            "--client",
            "raw",
            "--storage",
            "memory",
        ],
        &[
            "fetch",
            "--batch",
            "100",
            "--ack",
            "none",
            "--client",
            "nats",
            "--storage",
            "memory",
        ],
        &["push", "--ack", "explicit", "--client", "raw"],
        &[
            "push",
            "--ack",
            "none",
            "--client",
            "nats",
            "--storage",
            "memory",
        ],
        &[
            "push",
            "--ack",
            "explicit",
            "--client",
            "nats",
            "--max-ack-pending",
            "50",
        ],
        &["ordered", "--kind", "pull"],
        &["ordered", "--kind", "push", "--storage", "memory"],
    ];
    for extra in runs {
        let summary = server.json(&[&["bench", "js"][..], extra, &common[..]].concat());
        assert_drained(&summary, 300, 0, &format!("{extra:?}"));
        assert_eq!(summary["fill"]["msgs"], 300, "{extra:?}: {summary}");
        assert_eq!(
            summary["consumer"]["bytes"],
            300 * 32,
            "{extra:?}: {summary}"
        );
        assert_eq!(summary["bench"], format!("js-{}", extra[0]), "{summary}");
        if extra[0] == "ordered" {
            assert_eq!(summary["out_of_order"], 0, "{extra:?}: {summary}");
            assert!(summary.get("consumer_state").is_none(), "{summary}");
        } else {
            assert!(summary.get("consumer_state").is_some(), "{summary}");
        }
    }
    // The stream is deleted after each run unless --keep.
    let info = server.weir(&["req", "$JS.API.STREAM.INFO.TINYC", ""]);
    assert!(
        String::from_utf8_lossy(&info.stdout).contains("stream not found"),
        "{}",
        String::from_utf8_lossy(&info.stdout)
    );

    // Human output names the rate and the server's view.
    let out = server.weir(&[&["bench", "js", "fetch", "--no-progress"][..], &common[..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("msgs/sec") && text.contains("received 300 of 300"),
        "{text}"
    );
}

#[test]
fn tiny_js_filtered_bench_compares_filtered_and_unfiltered() {
    let server = Server::start_js();
    for extra in [
        &["--client", "raw"][..],
        &["--client", "nats", "--ack", "explicit", "--batch", "9"][..],
    ] {
        let summary = server.json(
            &[
                &[
                    "bench",
                    "js",
                    "filtered",
                    "--subjects",
                    "500",
                    "--per-subject",
                    "2",
                ][..],
                &[
                    "--msgs",
                    "40",
                    "--size",
                    "16",
                    "--storage",
                    "memory",
                    "--settle",
                    "0",
                ][..],
                extra,
            ]
            .concat(),
        );
        assert_eq!(
            summary["complete"],
            Value::Bool(true),
            "{extra:?}: {summary}"
        );
        assert_eq!(summary["stream_msgs"], 1040, "{summary}");
        assert_eq!(summary["fill"]["msgs"], 1040, "{summary}");
        assert_eq!(summary["hot_subject"], "js.consume.hot", "{summary}");
        assert_drained(&summary["unfiltered"], 40, 1000, "unfiltered");
        assert_drained(&summary["filtered"], 40, 0, "filtered");
        assert!(summary["ratio"].as_f64().unwrap() > 0.0, "{summary}");
        assert_eq!(summary["target_ratio"], 0.5, "{summary}");
    }
}

#[test]
fn consumer_benches_without_jetstream_say_how_to_enable_it() {
    let server = Server::start(false);
    for bench in ["fetch", "consume", "push", "ordered", "filtered"] {
        let out = server.weir(&["bench", "js", bench, "--msgs", "5"]);
        assert!(!out.status.success(), "{bench}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "JetStream is not enabled on the server at {}: start it with -js",
                server.url
            )),
            "{bench}: {stderr}"
        );
    }
}

#[test]
fn bad_consumer_bench_flags_fail_without_panicking() {
    for args in [
        &["bench", "js", "fetch", "--batch", "0"][..],
        &["bench", "js", "fetch", "--ack", "all"][..],
        &["bench", "js", "fetch", "--max-ack-pending", "0"][..],
        &["bench", "js", "push", "--msgs", "0"][..],
        &["bench", "js", "ordered", "--kind", "sideways"][..],
        &["bench", "js", "filtered", "--subjects", "0"][..],
        &["bench", "js", "filtered", "--subject", "a.*"][..],
    ] {
        let out = Command::new(WEIR)
            .args(["-s", "nats://127.0.0.1:1"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run weir");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("cannot connect"),
            "{args:?} must fail before connecting: {stderr}"
        );
    }
}

#[test]
fn tiny_kv_benches_complete_every_operation() {
    let server = Server::start_js();
    for (op, clients) in [("put", "1"), ("put", "3"), ("get", "2")] {
        let summary = server.json(&[
            "bench",
            "kv",
            op,
            "--ops",
            "200",
            "--keys",
            "50",
            "--clients",
            clients,
            "--size",
            "16",
        ]);
        assert_eq!(summary["bench"], format!("kv-{op}"), "{summary}");
        assert_eq!(summary["completed"], 200, "{summary}");
        assert_eq!(
            (summary["missing"].as_u64(), summary["errors"].as_u64()),
            (Some(0), Some(0))
        );
        assert_eq!(summary["complete"], true, "{summary}");
        assert!(summary["ops_per_sec"].as_f64().unwrap() > 0.0, "{summary}");
    }
    // `bench js kv` is the same bench; --pid adds the server's CPU time per operation.
    let pid = server.pid().to_string();
    let summary = server.json(&[
        "bench", "js", "kv", "get", "--ops", "100", "--keys", "10", "--pid", &pid,
    ]);
    assert_eq!(summary["complete"], true, "{summary}");
    assert!(
        summary["server_cpu_us_per_op"]
            .as_f64()
            .is_some_and(|us| us >= 0.0),
        "{summary}"
    );
    let scale = server.json(&[
        "bench",
        "kv",
        "scale",
        "--keys",
        "500",
        "--sample",
        "20",
        "--storage",
        "memory",
    ]);
    assert_eq!(scale["complete"], true, "{scale}");
    assert_eq!(scale["keys_listing"]["count"], 500, "{scale}");
    assert_eq!(scale["watch_replay"]["count"], 500, "{scale}");
    assert_eq!(scale["stream"]["messages"], 500, "{scale}");
}
