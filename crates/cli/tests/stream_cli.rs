//! End-to-end tests of `weir stream`: the built `weir` binary against a real server, checking
//! what it prints (for people and as JSON) and, through async-nats, what it left on the server.
//!
//! Each test starts its own weir-server in-process with JetStream on an ephemeral port. Set
//! `NATS_SERVER_BIN` to run them against another binary instead (e.g. the reference
//! nats-server 2.9); checks of features that server lacks (metadata, compression, per-message
//! TTL) are then skipped.

mod common;
use common::{temp_dir, Server};

use async_nats::HeaderMap;
use serde_json::Value;

/// Publishes `(subject, body)` pairs to JetStream, waiting for each ack; the first message
/// gets a header `Order-Kind: new`.
fn publish(server: &Server, messages: &[(&str, &str)]) {
    let messages: Vec<(String, String)> = messages
        .iter()
        .map(|(s, b)| (s.to_string(), b.to_string()))
        .collect();
    server.with_js(async move |js| {
        for (i, (subject, body)) in messages.into_iter().enumerate() {
            let ack = if i == 0 {
                let mut headers = HeaderMap::new();
                headers.insert("Order-Kind", "new");
                js.publish_with_headers(subject, headers, body.into())
                    .await
                    .expect("publish")
            } else {
                js.publish(subject, body.into()).await.expect("publish")
            };
            ack.await.expect("the stream acks");
        }
    });
}

/// The kv_table row whose first cell is `key`, as its value cell.
fn row<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let mut cells = line.trim_matches(|c| c == '│').split('┆');
        let first = cells.next()?.trim();
        (first == key).then(|| cells.next().map(str::trim))?
    })
}

#[test]
fn add_with_flags_sets_every_config_field() {
    let server = Server::start_js();
    let mut args = vec![
        "stream",
        "add",
        "ORDERS",
        "--subjects",
        "orders.*,returns.>",
        "--subjects",
        "audit",
        "--storage",
        "memory",
        "--retention",
        "work",
        "--discard",
        "new",
        "--discard-per-subject",
        "--max-age=1h",
        "--max-msgs",
        "1000",
        "--max-bytes",
        "1MiB",
        "--max-msg-size",
        "2KiB",
        "--max-msgs-per-subject",
        "7",
        "--max-consumers",
        "3",
        "--dupe-window",
        "30s",
        "--replicas",
        "1",
        "--no-ack",
        "--allow-rollup",
        "--deny-delete",
        "--allow-direct",
        "--description",
        "all the orders",
    ];
    if server.is_weir {
        args.extend([
            "--metadata",
            "owner=ops",
            "--metadata",
            "tier=gold",
            "--compression",
            "s2",
            "--allow-msg-ttl",
        ]);
    }
    let added = server.ok(&args);
    assert!(
        added.starts_with("Information for Stream ORDERS created "),
        "{added}"
    );
    assert_eq!(row(&added, "Retention"), Some("WorkQueue"), "{added}");
    assert_eq!(row(&added, "Maximum Age"), Some("1h"), "{added}");
    assert_eq!(row(&added, "Storage"), Some("Memory"), "{added}");

    let info = server.json(&["stream", "info", "ORDERS"]);
    let config = &info["config"];
    assert_eq!(
        config["subjects"],
        serde_json::json!(["orders.*", "returns.>", "audit"]),
        "{info}"
    );
    for (field, want) in [
        ("name", Value::from("ORDERS")),
        ("storage", "memory".into()),
        ("retention", "workqueue".into()),
        ("discard", "new".into()),
        ("discard_new_per_subject", true.into()),
        ("max_age", 3_600_000_000_000u64.into()),
        ("max_msgs", 1000.into()),
        ("max_bytes", (1u64 << 20).into()),
        ("max_msg_size", 2048.into()),
        ("max_msgs_per_subject", 7.into()),
        ("max_consumers", 3.into()),
        ("duplicate_window", 30_000_000_000u64.into()),
        ("num_replicas", 1.into()),
        ("no_ack", true.into()),
        ("allow_rollup_hdrs", true.into()),
        ("deny_delete", true.into()),
        ("allow_direct", true.into()),
        ("description", "all the orders".into()),
    ] {
        assert_eq!(config[field], want, "{field} in {info}");
    }
    if server.is_weir {
        assert_eq!(config["metadata"]["owner"], "ops", "{info}");
        assert_eq!(config["metadata"]["tier"], "gold", "{info}");
        assert_eq!(config["compression"], "s2", "{info}");
        assert_eq!(config["allow_msg_ttl"], true, "{info}");
    }

    // The server holds what the CLI said it holds.
    let stored = server.with_js(async |js| {
        let stream = js.get_stream("ORDERS").await.expect("ORDERS exists");
        stream.cached_info().config.max_messages_per_subject
    });
    assert_eq!(stored, 7);
}

#[test]
fn add_leaves_unset_options_to_the_server() {
    let server = Server::start_js();
    let info = server.json(&["stream", "add", "PLAIN"]);
    let config = &info["config"];
    assert_eq!(config["name"], "PLAIN", "{info}");
    // No --subjects: the server stores the stream's own name.
    assert_eq!(config["subjects"], serde_json::json!(["PLAIN"]), "{info}");
    assert_eq!(config["retention"], "limits", "{info}");
    assert_eq!(config["storage"], "file", "{info}");
    assert_eq!(config["max_msgs"], -1, "{info}");
    assert_eq!(config["discard"], "old", "{info}");
}

#[test]
fn add_from_a_config_file_with_an_overriding_flag() {
    let server = Server::start_js();
    let dir = temp_dir("stream-config");
    let file = dir.join("orders.json");
    std::fs::write(
        &file,
        r#"{"name": "IGNORED", "subjects": ["cfg.>"], "storage": "memory",
            "max_msgs": 10, "max_age": 60000000000, "description": "from file"}"#,
    )
    .expect("write the config file");
    let path = file.to_str().expect("utf-8 path");
    let info = server.json(&["stream", "add", "CFG", "--config", path, "--max-msgs", "20"]);
    let config = &info["config"];
    assert_eq!(
        config["name"], "CFG",
        "the argument names the stream: {info}"
    );
    assert_eq!(config["subjects"], serde_json::json!(["cfg.>"]), "{info}");
    assert_eq!(config["storage"], "memory", "{info}");
    assert_eq!(config["max_age"], 60_000_000_000u64, "{info}");
    assert_eq!(config["description"], "from file", "{info}");
    assert_eq!(
        config["max_msgs"], 20,
        "the flag overrides the file: {info}"
    );

    // A broken file is refused before anything is sent.
    std::fs::write(&file, "{not json").expect("write");
    let err = server.fails(&["stream", "add", "BAD", "--config", path]);
    assert!(err.contains("is not valid JSON"), "{err}");
    let missing = dir.join("missing.json");
    let err = server.fails(&[
        "stream",
        "add",
        "BAD",
        "--config",
        missing.to_str().expect("utf-8"),
    ]);
    assert!(err.contains("cannot read --config"), "{err}");
    assert_eq!(server.ok(&["stream", "ls", "--names"]), "CFG\n");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn edit_changes_only_the_given_options() {
    let server = Server::start_js();
    server.ok(&[
        "stream",
        "add",
        "EDITS",
        "--subjects",
        "edits.>",
        "--max-msgs",
        "100",
        "--description",
        "before",
        "--deny-purge",
    ]);
    let edited = server.ok(&[
        "stream",
        "edit",
        "EDITS",
        "--max-msgs",
        "50",
        "--max-age",
        "2h",
        "--subjects",
        "edits.>,more.>",
    ]);
    assert_eq!(row(&edited, "Maximum Messages"), Some("50"), "{edited}");
    assert_eq!(row(&edited, "Maximum Age"), Some("2h"), "{edited}");
    let config = server.json(&["stream", "info", "EDITS"])["config"].clone();
    assert_eq!(config["max_msgs"], 50, "{config}");
    assert_eq!(config["max_age"], 7_200_000_000_000u64, "{config}");
    assert_eq!(
        config["subjects"],
        serde_json::json!(["edits.>", "more.>"]),
        "{config}"
    );
    // Untouched options keep their values.
    assert_eq!(config["description"], "before", "{config}");
    assert_eq!(config["deny_purge"], true, "{config}");

    // --json prints the update's answer.
    let answer = server.json(&["stream", "edit", "EDITS", "--description", "after"]);
    assert_eq!(answer["config"]["description"], "after", "{answer}");

    let err = server.fails(&["stream", "edit", "EDITS"]);
    assert!(err.contains("nothing to change"), "{err}");
    let err = server.fails(&["stream", "edit", "NOPE", "--max-msgs", "5"]);
    assert!(err.contains("weir stream ls"), "{err}");
}

#[test]
fn ls_and_report_list_every_stream() {
    let server = Server::start_js();
    assert!(
        server.ok(&["stream", "ls"]).contains("No streams defined"),
        "empty listing"
    );
    assert_eq!(
        server.json(&["stream", "ls", "--names"]),
        serde_json::json!([])
    );
    server.ok(&["stream", "add", "BETA", "--subjects", "beta.>"]);
    server.ok(&[
        "stream",
        "add",
        "ALPHA",
        "--subjects",
        "alpha.>",
        "--description",
        "first letter",
        "--storage",
        "memory",
    ]);
    publish(&server, &[("alpha.1", "a"), ("alpha.2", "b")]);

    assert_eq!(server.ok(&["stream", "ls", "--names"]), "ALPHA\nBETA\n");
    assert_eq!(
        server.json(&["stream", "ls", "--names"]),
        serde_json::json!(["ALPHA", "BETA"])
    );
    let table = server.ok(&["stream", "ls"]);
    for header in [
        "Name",
        "Description",
        "Created",
        "Messages",
        "Size",
        "Last Message",
    ] {
        assert!(table.contains(header), "missing {header:?}:\n{table}");
    }
    let alpha = table
        .lines()
        .find(|l| l.contains("ALPHA"))
        .expect("an ALPHA row");
    assert!(
        alpha.contains("first letter") && alpha.contains(" 2 "),
        "{alpha}"
    );
    let beta = table
        .lines()
        .find(|l| l.contains("BETA"))
        .expect("BETA row");
    assert!(beta.contains("never"), "{beta}");
    let infos = server.json(&["stream", "ls"]);
    assert_eq!(infos.as_array().map(Vec::len), Some(2), "{infos}");
    assert_eq!(infos[0]["state"]["messages"], 2, "{infos}");

    let report = server.ok(&["stream", "report"]);
    for header in [
        "Stream",
        "Storage",
        "Replicas",
        "Consumers",
        "Messages",
        "Bytes",
        "Deleted",
    ] {
        assert!(report.contains(header), "missing {header:?}:\n{report}");
    }
    let alpha = report
        .lines()
        .find(|l| l.contains("ALPHA"))
        .expect("an ALPHA row");
    assert!(alpha.contains("Memory") && alpha.contains(" 2 "), "{alpha}");
    let report = server.json(&["stream", "report"]);
    assert_eq!(report[0]["stream"], "ALPHA", "{report}");
    assert_eq!(report[0]["messages"], 2, "{report}");
    assert_eq!(report[0]["storage"], "memory", "{report}");
    assert_eq!(report[1]["stream"], "BETA", "{report}");
    assert_eq!(report[1]["messages"], 0, "{report}");
}

#[test]
fn info_shows_configuration_and_state() {
    let server = Server::start_js();
    server.ok(&[
        "stream",
        "add",
        "INFO",
        "--subjects",
        "info.>",
        "--max-age",
        "1d",
    ]);
    publish(&server, &[("info.a", "one"), ("info.b", "two")]);
    let text = server.ok(&["stream", "info", "INFO"]);
    assert!(
        text.starts_with("Information for Stream INFO created "),
        "{text}"
    );
    assert!(
        text.contains("Configuration:") && text.contains("State:"),
        "{text}"
    );
    assert_eq!(row(&text, "Messages"), Some("2"), "{text}");
    assert_eq!(row(&text, "Subjects"), Some("info.>"), "{text}");
    assert_eq!(row(&text, "Maximum Age"), Some("1d"), "{text}");
    assert_eq!(row(&text, "Number of Subjects"), Some("2"), "{text}");
    assert_eq!(row(&text, "Active Consumers"), Some("0"), "{text}");
    let first = row(&text, "First Sequence").expect("a first sequence row");
    assert!(first.starts_with("1 @ 20"), "{first}");
    assert!(
        row(&text, "Last Sequence").is_some_and(|l| l.starts_with("2 @ ")),
        "{text}"
    );

    let info = server.json(&["stream", "info", "INFO"]);
    assert_eq!(info["state"]["messages"], 2, "{info}");
    assert_eq!(info["state"]["last_seq"], 2, "{info}");
    assert!(
        info["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("stream_info_response")),
        "--json prints the API answer as is: {info}"
    );
}

#[test]
fn get_rmm_view_and_subjects_read_stored_messages() {
    let server = Server::start_js();
    server.ok(&["stream", "add", "MSGS", "--subjects", "msgs.>"]);
    publish(
        &server,
        &[
            ("msgs.a", "first"),
            ("msgs.b", "second"),
            ("msgs.a", "third"),
            ("msgs.c", "fourth"),
        ],
    );

    let got = server.ok(&["stream", "get", "MSGS", "1"]);
    assert!(got.starts_with("Item: MSGS#1 received "), "{got}");
    assert!(got.contains("on Subject msgs.a"), "{got}");
    assert!(got.contains("Headers:\n  Order-Kind: new\n"), "{got}");
    assert!(got.ends_with("\nfirst\n"), "{got}");
    let last = server.ok(&["stream", "get", "MSGS", "--last-for", "msgs.a"]);
    assert!(
        last.starts_with("Item: MSGS#3 ") && last.ends_with("third\n"),
        "{last}"
    );
    assert_eq!(
        server.ok(&["stream", "get", "MSGS", "2", "--raw"]),
        "second"
    );
    let answer = server.json(&["stream", "get", "MSGS", "2"]);
    assert_eq!(answer["message"]["seq"], 2, "{answer}");
    assert_eq!(answer["message"]["subject"], "msgs.b", "{answer}");
    assert_eq!(
        answer["message"]["data"], "c2Vjb25k",
        "base64 of 'second': {answer}"
    );
    let err = server.fails(&["stream", "get", "MSGS", "99"]);
    assert!(err.contains("weir stream info MSGS"), "{err}");

    // rmm needs --force without a terminal, then the message is gone.
    let err = server.fails(&["stream", "rmm", "MSGS", "2"]);
    assert!(err.contains("pass --force"), "{err}");
    assert!(server
        .ok(&["stream", "rmm", "MSGS", "2", "-f"])
        .contains("Deleted message 2 from stream MSGS"));
    server.fails(&["stream", "get", "MSGS", "2"]);
    let deleted = server.json(&["stream", "info", "MSGS"])["state"]["num_deleted"].clone();
    assert_eq!(deleted, 1);

    // view skips the deleted sequence and pages with --count / --seq.
    let page = server.ok(&["stream", "view", "MSGS", "--count", "2"]);
    assert!(
        page.contains("Item: MSGS#1 ") && page.contains("Item: MSGS#3 "),
        "{page}"
    );
    assert!(
        !page.contains("MSGS#2 ") && !page.contains("MSGS#4 "),
        "{page}"
    );
    assert!(page.contains("weir stream view MSGS --seq 4"), "{page}");
    let rest = server.ok(&["stream", "view", "MSGS", "--seq", "4"]);
    assert!(
        rest.contains("Item: MSGS#4 ") && rest.contains("fourth"),
        "{rest}"
    );
    assert!(!rest.contains("Next page"), "{rest}");
    let only_a = server.json(&["stream", "view", "MSGS", "--subject", "msgs.a"]);
    let seqs: Vec<u64> = only_a
        .as_array()
        .expect("a list of messages")
        .iter()
        .filter_map(|m| m["seq"].as_u64())
        .collect();
    assert_eq!(seqs, [1, 3], "{only_a}");
    assert!(server
        .ok(&["stream", "view", "MSGS", "--subject", "nothing.here"])
        .contains("No messages on nothing.here"));

    // subjects: counts per subject, sorted, with an optional filter.
    let table = server.ok(&["stream", "subjects", "MSGS"]);
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("msgs.")).collect();
    assert_eq!(rows.len(), 2, "msgs.b lost its only message:\n{table}");
    assert!(
        rows[0].contains("msgs.a") && rows[0].contains(" 2 "),
        "{table}"
    );
    assert!(
        rows[1].contains("msgs.c") && rows[1].contains(" 1 "),
        "{table}"
    );
    assert_eq!(
        server.json(&["stream", "subjects", "MSGS", "msgs.c"]),
        serde_json::json!({"msgs.c": 1})
    );
    assert!(server
        .ok(&["stream", "subjects", "MSGS", "other.>"])
        .contains("No subjects matching other.>"));
}

#[test]
fn purge_by_subject_keep_and_sequence() {
    let server = Server::start_js();
    server.ok(&["stream", "add", "P", "--subjects", "p.>"]);
    publish(
        &server,
        &[
            ("p.a", "1"),
            ("p.b", "2"),
            ("p.a", "3"),
            ("p.b", "4"),
            ("p.a", "5"),
            ("p.b", "6"),
        ],
    );
    let messages =
        |server: &Server| server.json(&["stream", "info", "P"])["state"]["messages"].clone();

    let err = server.fails(&["stream", "purge", "P"]);
    assert!(err.contains("pass --force"), "{err}");
    assert_eq!(messages(&server), 6);

    let out = server.ok(&[
        "stream",
        "purge",
        "P",
        "--subject",
        "p.a",
        "--keep",
        "1",
        "-f",
    ]);
    assert_eq!(out, "Purged 2 messages from stream P\n");
    assert_eq!(messages(&server), 4);
    let subjects = server.json(&["stream", "subjects", "P"]);
    assert_eq!(subjects, serde_json::json!({"p.a": 1, "p.b": 3}));

    // --seq purges up to, not including, the sequence.
    let answer = server.json(&["stream", "purge", "P", "--seq", "5", "--force"]);
    assert_eq!(answer["purged"], 2, "seqs 2 and 4: {answer}");
    let first = server.json(&["stream", "info", "P"])["state"]["first_seq"].clone();
    assert_eq!(first, 5);

    assert_eq!(
        server.ok(&["stream", "purge", "P", "-f"]),
        "Purged 2 messages from stream P\n"
    );
    assert_eq!(messages(&server), 0);
}

#[test]
fn rm_needs_force_without_a_terminal() {
    let server = Server::start_js();
    server.ok(&["stream", "add", "GONE"]);
    let err = server.fails(&["stream", "rm", "GONE"]);
    assert!(
        err.contains("refusing to delete stream GONE and all its messages without confirmation: pass --force"),
        "{err}"
    );
    let still = server.with_js(async |js| js.get_stream("GONE").await.is_ok());
    assert!(still, "GONE was deleted without --force");
    assert_eq!(
        server.ok(&["stream", "rm", "GONE", "-f"]),
        "Deleted stream GONE\n"
    );
    let gone = server.with_js(async |js| js.get_stream("GONE").await.is_err());
    assert!(gone, "GONE still exists");
    let err = server.fails(&["stream", "rm", "GONE", "--force"]);
    assert!(
        err.contains("stream not found") && err.contains("weir stream ls"),
        "{err}"
    );
}

#[test]
fn errors_name_the_cause_and_the_fix() {
    let server = Server::start_js();
    let err = server.fails(&["stream", "info", "MISSING"]);
    assert!(err.contains("stream not found"), "{err}");
    assert!(
        err.contains("list the streams with `weir stream ls`"),
        "{err}"
    );

    let err = server.fails(&["stream", "add", "S", "--max-age", "soon"]);
    assert!(
        err.contains("--max-age") && err.contains("invalid duration"),
        "{err}"
    );
    let err = server.fails(&["stream", "add", "S", "--max-bytes", "lots"]);
    assert!(
        err.contains("--max-bytes") && err.contains("invalid size"),
        "{err}"
    );
    let err = server.fails(&["stream", "add", "S", "--retention", "forever"]);
    assert!(err.contains("--retention"), "{err}");

    for bad in ["a.b", "a*", "a b"] {
        let err = server.fails(&["stream", "add", bad]);
        assert!(err.contains("invalid stream name"), "{bad}: {err}");
        let err = server.fails(&["stream", "info", bad]);
        assert!(err.contains("invalid stream name"), "{bad}: {err}");
    }
    // Nothing was created by the refused commands.
    assert_eq!(server.ok(&["stream", "ls", "--names"]), "");

    server.ok(&["stream", "add", "TAKEN", "--max-msgs", "1"]);
    let err = server.fails(&["stream", "add", "TAKEN", "--max-msgs", "2"]);
    assert!(err.contains("weir stream edit"), "{err}");
}

#[test]
fn jetstream_disabled_says_to_start_the_server_with_js() {
    let server = Server::start(false);
    for args in [
        &["stream", "ls"][..],
        &["stream", "add", "S"],
        &["stream", "info", "S"],
        &["stream", "report"],
    ] {
        let err = server.fails(args);
        assert!(err.contains("JetStream is not enabled"), "{args:?}: {err}");
        assert!(err.contains("start the server with -js"), "{args:?}: {err}");
    }
}

#[test]
fn metadata_is_stored_or_its_loss_is_warned_about() {
    let server = Server::start_js();
    let out = server.weir(&["stream", "add", "META", "--metadata", "owner=ops"]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let config = server.json(&["stream", "info", "META"])["config"].clone();
    if server.is_weir {
        assert_eq!(config["metadata"]["owner"], "ops", "{config}");
        assert!(!stderr.contains("warning"), "{stderr}");
        // edit merges new keys into the existing metadata.
        let edited = server.json(&["stream", "edit", "META", "--metadata", "tier=gold"]);
        assert_eq!(edited["config"]["metadata"]["owner"], "ops", "{edited}");
        assert_eq!(edited["config"]["metadata"]["tier"], "gold", "{edited}");
        let text = server.ok(&["stream", "info", "META"]);
        assert!(
            text.contains("owner: ops") && text.contains("tier: gold"),
            "{text}"
        );
    } else {
        // nats-server 2.9 drops metadata silently; the CLI says so.
        assert!(config.get("metadata").is_none(), "{config}");
        assert!(
            stderr.contains("warning: the server at") && stderr.contains("ignored --metadata"),
            "{stderr}"
        );
    }
}
