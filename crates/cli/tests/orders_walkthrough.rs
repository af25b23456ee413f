//! The orders walk-through (`examples/orders/walkthrough.sh`: a public JetStream tutorial with
//! `weir` in place of `nats`) run unchanged against a fresh server, checking that each step
//! shows what the tutorial promises. It runs against weir-server in process and against the
//! reference nats-server, because the CLI is a client, not a Weir-only tool.

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{temp_dir, wait_bounded, Server, LIMIT, WEIR};

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/orders/walkthrough.sh")
}

/// Runs the walk-through against `server` and returns everything it printed.
fn run_walkthrough(server: &Server) -> String {
    let child = Command::new("bash")
        .arg(script())
        .env("WEIR", WEIR)
        .env("NATS_URL", &server.url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run bash");
    let out = wait_bounded(child, LIMIT);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "the walk-through failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The output of the step that ran `command` (up to the next traced command).
fn step<'a>(output: &'a str, command: &str) -> &'a str {
    let marker = format!("$ weir {command}");
    let start = output
        .find(&marker)
        .unwrap_or_else(|| panic!("step {command:?} not traced in:\n{output}"));
    let rest = &output[start + marker.len()..];
    let end = rest.find("\n$ weir ").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

/// A table row `Key ┆ value` (or `Key: value`) with this key and value.
fn has_row(text: &str, key: &str, value: &str) -> bool {
    text.lines().any(|line| {
        let cells: Vec<&str> = line
            .split(['│', '┆', ':'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        cells
            .windows(2)
            .any(|w| w[0] == key && w[1].starts_with(value))
    })
}

fn check_outcome(server: &Server) {
    let output = run_walkthrough(server);

    let account = step(&output, "account info");
    assert!(
        account.contains("JetStream Account Information"),
        "{account}"
    );

    let first = step(
        &output,
        "pub orders.created --wait '{\"orderId\":\"ord_1001\"",
    );
    assert!(
        first.contains("Stored in Stream: ORDERS Sequence: 1"),
        "{first}"
    );
    let second = step(
        &output,
        "pub orders.created --wait '{\"orderId\":\"ord_1002\"",
    );
    assert!(
        second.contains("Stored in Stream: ORDERS Sequence: 2"),
        "{second}"
    );

    let next = step(&output, "consumer next ORDERS order-workers --count 2");
    assert!(next.contains("\"orderId\":\"ord_1001\""), "{next}");
    assert!(next.contains("\"orderId\":\"ord_1002\""), "{next}");
    assert!(next.contains("subj: orders.created"), "{next}");
    assert_eq!(next.matches("Acknowledged message").count(), 2, "{next}");

    let stream = step(&output, "stream info ORDERS");
    assert!(has_row(stream, "Messages", "2"), "{stream}");

    let consumer = step(&output, "consumer info ORDERS order-workers");
    assert!(has_row(consumer, "Outstanding Acks", "0"), "{consumer}");

    // What the tutorial promises, read back as the API reports it.
    let stream = server.json(&["stream", "info", "ORDERS"]);
    assert_eq!(stream["state"]["messages"], 2, "{stream}");
    assert_eq!(stream["config"]["subjects"][0], "orders.*");
    assert_eq!(stream["config"]["max_age"], 3_600_000_000_000u64);
    let consumer = server.json(&["consumer", "info", "ORDERS", "order-workers"]);
    assert_eq!(consumer["num_ack_pending"], 0, "{consumer}");
    assert_eq!(consumer["delivered"]["stream_seq"], 2, "{consumer}");
    assert_eq!(consumer["ack_floor"]["stream_seq"], 2, "{consumer}");
    assert_eq!(consumer["config"]["filter_subject"], "orders.created");
}

#[test]
fn walkthrough_runs_unchanged_on_weir_server() {
    // In process, unless NATS_SERVER_BIN aims the CLI tests at another server.
    check_outcome(&Server::start_js());
}

/// The reference: Debian's nats-server, from NATS_SERVER_BIN or the usual paths. CI installs
/// it and sets WEIR_REQUIRE_NATS_SERVER so a missing binary fails instead of skipping.
#[test]
fn walkthrough_gives_the_same_outcome_on_nats_server() {
    let bin = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
                .into_iter()
                .map(PathBuf::from)
                .find(|p| p.exists())
        });
    let Some(bin) = bin else {
        assert!(
            std::env::var_os("WEIR_REQUIRE_NATS_SERVER").is_none(),
            "nats-server is required (WEIR_REQUIRE_NATS_SERVER is set) but was not found"
        );
        eprintln!("nats-server not installed: reference walk-through skipped");
        return;
    };
    check_outcome(&Server::spawn(bin, true, temp_dir("orders-ref")));
}
