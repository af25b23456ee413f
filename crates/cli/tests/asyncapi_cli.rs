//! End-to-end tests of `weir asyncapi`: validate and check on files, plan and apply against a
//! real server (weir-server in process; `NATS_SERVER_BIN=/path/to/nats-server` runs the
//! server tests against that binary instead, e.g. nats-server 2.9), and agreement with the
//! official AsyncAPI CLI where one can run.

mod common;
use common::{temp_dir, wait_bounded, Server, WEIR};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

const ORDERS: &str = "examples/orders/orders.asyncapi.yaml";
const FILES: &str = "examples/files/files.asyncapi.yaml";

/// Runs weir without a server (validate and check need none).
fn weir(args: &[&str]) -> Output {
    let child = Command::new(WEIR)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run weir");
    wait_bounded(child, common::LIMIT)
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("invalid JSON ({e}): {}", text(out)))
}

/// The orders contract with extra text after its `x-jetstream: {stream: ORDERS` (e.g. a
/// stream_config), written to a temp file.
fn orders_variant(dir: &Path, name: &str, stream_extra: &str) -> String {
    let base = std::fs::read_to_string(repo(ORDERS)).expect("orders contract");
    let changed = base.replace(
        "x-jetstream: {stream: ORDERS}",
        &format!("x-jetstream: {{stream: ORDERS{stream_extra}}}"),
    );
    assert_ne!(base, changed, "the contract has the stream declaration");
    let path = dir.join(name);
    std::fs::write(&path, changed).expect("write variant");
    path.display().to_string()
}

#[test]
fn validate_accepts_the_examples_and_explains_errors() {
    for example in [ORDERS, FILES] {
        let out = weir(&["asyncapi", "validate", &repo(example)]);
        assert!(out.status.success(), "{example}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains(": valid ("));
    }
    let fixture = repo("crates/asyncapi/tests/fixtures/invalid-schema.yaml");
    let out = weir(&["asyncapi", "validate", &fixture]);
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(
        shown.contains("error[invalid-schema]")
            && shown.contains("invalid-schema.yaml:32:20 /components/messages/OrderCreated/payload/properties/status/type")
            && shown.contains("fix: "),
        "{shown}"
    );
    assert!(
        shown.contains("1 error (listed above with their fixes)"),
        "{shown}"
    );

    let out = weir(&["--json", "asyncapi", "validate", &fixture]);
    assert!(!out.status.success());
    let report = json_of(&out);
    assert_eq!(report["valid"], false);
    assert_eq!(report["errors"], 1);
    let first = &report["diagnostics"][0];
    assert_eq!(first["severity"], "error");
    assert_eq!(
        first["path"],
        "/components/messages/OrderCreated/payload/properties/status/type"
    );
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(32), Some(20))
    );

    // A syntax error is a diagnostic like the others, for people and scripts.
    let dir = temp_dir("asyncapi-syntax");
    let broken = dir.join("broken.yaml");
    std::fs::write(&broken, "asyncapi: '3.1.0'\ninfo: {title: x\n").expect("write");
    let out = weir(&["--json", "asyncapi", "validate", broken.to_str().unwrap()]);
    assert!(!out.status.success());
    let report = json_of(&out);
    assert_eq!(report["diagnostics"][0]["code"], "syntax");
    assert_eq!(report["diagnostics"][0]["line"], 3);
    let _ = std::fs::remove_dir_all(dir);

    let out = weir(&["asyncapi", "validate", "/nonexistent/contract.yaml"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cannot read /nonexistent/contract.yaml"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_reports_misaligned_streams_and_consumers() {
    let dir = temp_dir("asyncapi-check");
    let out = weir(&["asyncapi", "check", &repo(FILES)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("aligned with JetStream"));

    let missed = orders_variant(
        &dir,
        "missed.yaml",
        ", stream_config: {subjects: [orders.paid]}",
    );
    let out = weir(&["--json", "asyncapi", "check", &missed]);
    assert!(!out.status.success(), "{}", text(&out));
    let report = json_of(&out);
    let codes: Vec<(&str, &str)> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| (d["code"].as_str().unwrap(), d["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("uncaptured-channel", "/channels/ordersCreated/address"),
            (
                "consumer-without-stream",
                "/operations/receiveOrderCreated/x-jetstream"
            ),
        ]
    );
    let out = weir(&["asyncapi", "check", &missed]);
    assert!(
        text(&out).contains("error[uncaptured-channel]"),
        "{}",
        text(&out)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// `STREAM.INFO` and `CONSUMER.INFO` as weir prints them with --json (the server's answer).
fn stream_info(server: &Server) -> Value {
    server.json(&["stream", "info", "ORDERS"])
}

fn consumer_info(server: &Server) -> Value {
    server.json(&["consumer", "info", "ORDERS", "order-workers"])
}

#[test]
fn apply_provisions_the_contract_once_and_reverts_drift() {
    let server = Server::start_js();
    let orders = repo(ORDERS);

    let plan = server.json(&["asyncapi", "plan", &orders]);
    let actions: Vec<(&str, &str, &str)> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap(),
                s["kind"].as_str().unwrap(),
                s["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        vec![
            ("create", "stream", "ORDERS"),
            ("create", "consumer", "order-workers")
        ]
    );
    assert!(
        server
            .fails(&["stream", "info", "ORDERS"])
            .contains("not found"),
        "plan changes nothing"
    );

    let applied = server.ok(&["asyncapi", "apply", &orders]);
    assert!(applied.contains("2 created"), "{applied}");
    let stream = stream_info(&server);
    let config = &stream["config"];
    assert_eq!(config["subjects"], serde_json::json!(["orders.created"]));
    assert_eq!(
        (config["storage"].as_str(), config["retention"].as_str()),
        (Some("file"), Some("limits"))
    );
    let consumer = consumer_info(&server);
    let cc = &consumer["config"];
    assert_eq!(cc["durable_name"], "order-workers");
    assert_eq!(cc["ack_policy"], "explicit");
    let filter = cc["filter_subject"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            cc["filter_subjects"]
                .as_array()
                .and_then(|f| f.first())
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    assert_eq!(filter.as_deref(), Some("orders.created"));
    assert!(
        cc.get("deliver_subject").is_none_or(Value::is_null),
        "a pull consumer: {cc}"
    );

    // Applying again changes nothing and says so.
    let again = server.ok(&["asyncapi", "apply", &orders]);
    assert!(again.contains("Nothing to do"), "{again}");
    let again = server.json(&["asyncapi", "apply", &orders]);
    assert_eq!(
        (again["nothing_to_do"].as_bool(), again["applied"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(stream_info(&server)["created"], stream["created"]);
    assert_eq!(consumer_info(&server)["created"], consumer["created"]);

    // A contract that sets max_msgs: drift on that field is shown and reverted; drift on a
    // field the contract does not set (max_age) is left alone.
    let dir = temp_dir("asyncapi-apply");
    let limited = orders_variant(&dir, "limited.yaml", ", stream_config: {max_msgs: 1000}");
    let out = server.ok(&["asyncapi", "apply", &limited]);
    assert!(out.contains("1 updated"), "{out}");
    server.ok(&[
        "stream",
        "edit",
        "ORDERS",
        "--max-msgs",
        "5",
        "--max-age",
        "1h",
    ]);
    let plan = server.json(&["asyncapi", "plan", &limited]);
    let update = &plan["steps"][0];
    assert_eq!(update["action"], "update");
    assert_eq!(
        update["changes"],
        serde_json::json!([{"field": "max_msgs", "current": 5, "desired": 1000}])
    );
    assert_eq!(plan["steps"][1]["action"], "unchanged");
    let shown = server.ok(&["asyncapi", "plan", &limited]);
    assert!(
        shown.contains("max_msgs: 5 → 1000") && shown.contains("1 to update"),
        "{shown}"
    );
    server.ok(&["asyncapi", "apply", &limited]);
    let config = &stream_info(&server)["config"];
    assert_eq!(config["max_msgs"], 1000);
    assert_eq!(
        config["max_age"], 3_600_000_000_000u64,
        "fields outside the contract stay"
    );

    // --prune deletes consumers the contract does not name on its streams, nothing else.
    server.ok(&["consumer", "add", "ORDERS", "stray", "--pull"]);
    let plain = server.ok(&["asyncapi", "apply", &limited]);
    assert!(
        plain.contains("Nothing to do"),
        "no --prune, no delete: {plain}"
    );
    let pruned = server.json(&["asyncapi", "apply", "--prune", &limited]);
    let deletes: Vec<&str> = pruned["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "delete")
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(deletes, vec!["stray"]);
    assert!(server
        .fails(&["consumer", "info", "ORDERS", "stray"])
        .contains("not found"));
    consumer_info(&server);

    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn apply_enforce_binds_schemas_that_refuse_bad_payloads() {
    let server = Server::start_js();
    let orders = repo(ORDERS);
    if !server.is_weir {
        // Enforcement is Weir's: nats-server is refused with the reason and the way out.
        let err = server.fails(&["asyncapi", "apply", "--enforce", &orders]);
        assert!(err.contains("needs weir-server"), "{err}");
        return;
    }
    let applied = server.json(&["asyncapi", "apply", "--enforce", &orders]);
    let schemas = applied["schemas"].as_array().expect("schemas");
    assert_eq!(schemas.len(), 1, "{applied}");
    assert_eq!(schemas[0]["subject"], "orders.created");
    assert_eq!(schemas[0]["name"], "OrderCreated");
    assert_eq!(schemas[0]["action"], "bind");
    let again = server.ok(&["asyncapi", "apply", "--enforce", &orders]);
    assert!(again.contains("Nothing to do"), "{again}");

    // A JetStream publish without orderId is refused with the failing schema path.
    let refused = server.fails(&[
        "pub",
        "orders.created",
        r#"{"customerId":"cus_9001","status":"created","createdAt":"2026-05-04T12:00:00Z"}"#,
        "--wait",
    ]);
    assert!(refused.contains("11001"), "{refused}");
    assert!(
        refused.contains("OrderCreated") && refused.contains("orderId"),
        "{refused}"
    );
    // The contract's own example is stored.
    let example = r#"{"orderId":"ord_1001","customerId":"cus_9001","status":"created","createdAt":"2026-05-04T12:00:00Z"}"#;
    let stored = server.ok(&["pub", "orders.created", example, "--wait"]);
    assert!(stored.contains("Stream: ORDERS Sequence: 1"), "{stored}");
    assert_eq!(stream_info(&server)["state"]["messages"], 1);
}

#[test]
fn apply_reverts_consumer_drift_on_contract_fields() {
    let server = Server::start_js();
    let files = repo(FILES);
    let out = server.ok(&["asyncapi", "apply", &files]);
    assert!(out.contains("3 created"), "{out}");
    server.ok(&[
        "consumer",
        "edit",
        "FILE_EVENTS",
        "trash-purger",
        "--max-deliver",
        "9",
    ]);
    let plan = server.ok(&["asyncapi", "plan", &files]);
    assert!(
        plan.contains("max_deliver: 9 → 5") && plan.contains("1 to update"),
        "{plan}"
    );
    let out = server.ok(&["asyncapi", "apply", &files]);
    assert!(out.contains("1 updated, 0 deleted, 2 unchanged"), "{out}");
    let info = server.json(&["consumer", "info", "FILE_EVENTS", "trash-purger"]);
    assert_eq!(info["config"]["max_deliver"], 5);
    assert_eq!(info["config"]["filter_subject"], "files.trashed");
    assert!(server
        .ok(&["asyncapi", "apply", &files])
        .contains("Nothing to do"));
}

#[test]
fn plan_refuses_a_contract_with_errors() {
    let server = Server::start_js();
    let fixture = repo("crates/asyncapi/tests/fixtures/missing-channel.yaml");
    let out = server.weir(&["asyncapi", "plan", &fixture]);
    assert!(!out.status.success());
    let shown = text(&out);
    assert!(
        shown.contains("error[missing-channel]") && shown.contains("fix them first"),
        "{shown}"
    );
}

// ---- agreement with the official AsyncAPI CLI (@asyncapi/cli) ----

/// The official CLI: `$ASYNCAPI_CLI`, else `asyncapi` on PATH. None (with the reason printed)
/// when it cannot run, which fails the test only if `WEIR_REQUIRE_ASYNCAPI_CLI` is set.
fn official_cli() -> Option<PathBuf> {
    let candidate = std::env::var_os("ASYNCAPI_CLI")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("asyncapi"));
    let works = Command::new(&candidate)
        .arg("--version")
        .env("ASYNCAPI_CLI_NO_TELEMETRY", "1")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success());
    if works {
        return Some(candidate);
    }
    let reason = format!(
        "the official AsyncAPI CLI ({}) cannot run here: install it with `npm install -g @asyncapi/cli` or point ASYNCAPI_CLI at it",
        candidate.display()
    );
    if std::env::var_os("WEIR_REQUIRE_ASYNCAPI_CLI").is_some() {
        panic!("{reason}");
    }
    eprintln!("skipped: {reason}");
    None
}

fn official_accepts(cli: &Path, file: &str) -> (bool, String) {
    let child = Command::new(cli)
        .args(["validate", file])
        .env("ASYNCAPI_CLI_NO_TELEMETRY", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the AsyncAPI CLI");
    let out = wait_bounded(child, Duration::from_secs(120));
    (out.status.success(), text(&out))
}

#[test]
fn weir_and_the_official_asyncapi_cli_agree() {
    let Some(cli) = official_cli() else { return };
    let dir = temp_dir("asyncapi-agree");
    let base = std::fs::read_to_string(repo(FILES)).expect("files contract");
    // (name, from, to): broken variants of the files contract both tools must reject.
    let broken = [
        ("bad-version", "asyncapi: '3.0.0'", "asyncapi: '3.9.0'"),
        ("missing-channel", "channel: {$ref: '#/channels/filesDeleted'}\n    messages: [{$ref: '#/channels/filesDeleted/messages/fileDeleted'}]\n    x-jetstream: {consumer", "channel: {$ref: '#/channels/fileDeleted'}\n    messages: [{$ref: '#/channels/filesDeleted/messages/fileDeleted'}]\n    x-jetstream: {consumer"),
        ("message-not-in-channel", "messages: [{$ref: '#/channels/filesDeleted/messages/fileDeleted'}]\n    x-jetstream: {consumer", "messages: [{$ref: '#/channels/filesTrashed/messages/fileTrashed'}]\n    x-jetstream: {consumer"),
        ("invalid-schema", "path: {type: string}", "path: {type: strin}"),
        ("unresolved-ref", "fileDeleted: {$ref: '#/components/messages/FileDeleted'}", "fileDeleted: {$ref: '#/components/messages/FileDeletd'}"),
    ];
    let mut cases = vec![(repo(FILES), true)];
    for (name, from, to) in broken {
        assert!(base.contains(from), "{name}: the variant applies");
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, base.replacen(from, to, 1)).expect("write variant");
        cases.push((path.display().to_string(), false));
    }
    // The official CLI takes seconds per file: run them side by side.
    let verdicts: Vec<(bool, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(file, _)| scope.spawn(|| official_accepts(&cli, file)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("official CLI thread"))
            .collect()
    });
    for ((file, valid), (official, output)) in cases.iter().zip(verdicts) {
        let ours = weir(&["asyncapi", "validate", file]);
        assert_eq!(official, *valid, "official CLI on {file}: {output}");
        assert_eq!(
            ours.status.success(),
            *valid,
            "weir on {file}: {}",
            text(&ours)
        );
    }

    // Where they differ, by design: the orders contract references component messages from
    // its operations, which the official CLI rejects (asyncapi3-operation-messages-from-
    // referred-channel) and weir accepts with a warning naming that rule's fix.
    let (official, output) = official_accepts(&cli, &repo(ORDERS));
    assert!(
        !official && output.contains("operation-messages-from-referred-channel"),
        "{output}"
    );
    let ours = weir(&["asyncapi", "validate", &repo(ORDERS)]);
    assert!(ours.status.success() && text(&ours).contains("warning[message-not-via-channel]"));
    let _ = std::fs::remove_dir_all(dir);
}
