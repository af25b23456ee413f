//! `validate` on the example contracts and on one broken variant per class of error: each
//! fails with the right code, JSON path, line, column and message.

use weir_asyncapi::validate::validate;
use weir_asyncapi::{Diagnostic, Document, Severity};

fn read(path: &str) -> String {
    let full = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {full}: {e}"))
}

fn diagnostics(path: &str) -> Vec<Diagnostic> {
    let doc = Document::parse(&read(path)).expect("parses");
    validate(&doc)
}

fn errors(path: &str) -> Vec<Diagnostic> {
    diagnostics(path)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect()
}

/// Exactly one error, with this code, path, position and message fragment.
fn single_error(fixture: &str, code: &str, path: &str, line: usize, column: usize, text: &str) {
    let errors = errors(&format!("tests/fixtures/{fixture}"));
    assert_eq!(errors.len(), 1, "{fixture}: {errors:#?}");
    let e = &errors[0];
    assert_eq!((e.code, e.path.as_str()), (code, path), "{fixture}: {e}");
    assert_eq!(
        (e.line, e.column),
        (Some(line), Some(column)),
        "{fixture}: {e}"
    );
    assert!(e.message.contains(text), "{fixture}: {e}");
    assert!(
        !e.fix.is_empty(),
        "{fixture}: every error says how to fix it"
    );
}

#[test]
fn the_orders_contract_is_valid() {
    let found = diagnostics("../../examples/orders/orders.asyncapi.yaml");
    assert!(
        found.iter().all(|d| d.severity != Severity::Error),
        "{found:#?}"
    );
    // Its operations reference the component rather than the channel's message: accepted
    // (same message once resolved) with a warning, since the official tooling refuses it.
    let warnings: Vec<_> = found.iter().map(|d| (d.code, d.path.as_str())).collect();
    assert_eq!(
        warnings,
        vec![
            (
                "message-not-via-channel",
                "/operations/publishOrderCreated/messages/0/$ref"
            ),
            (
                "message-not-via-channel",
                "/operations/receiveOrderCreated/messages/0/$ref"
            ),
        ]
    );
}

#[test]
fn the_files_contract_is_clean() {
    assert_eq!(
        diagnostics("../../examples/files/files.asyncapi.yaml"),
        vec![]
    );
}

#[test]
fn bad_version() {
    single_error(
        "bad-version.yaml",
        "unsupported-version",
        "/asyncapi",
        1,
        1,
        "\"2.6.0\"",
    );
}

#[test]
fn operation_referencing_a_missing_channel() {
    single_error(
        "missing-channel.yaml",
        "missing-channel",
        "/operations/receiveOrderCreated/channel/$ref",
        19,
        15,
        "#/channels/orderCreated does not exist (known: ordersCreated)",
    );
}

#[test]
fn message_not_in_the_channel() {
    single_error(
        "message-not-in-channel.yaml",
        "message-not-in-channel",
        "/operations/receiveOrderCreated/messages/0/$ref",
        20,
        17,
        "\"#/components/messages/OrderCancelled\", which is not one of the messages of its channel #/channels/ordersCreated",
    );
}

#[test]
fn invalid_json_schema_payload() {
    single_error(
        "invalid-schema.yaml",
        "invalid-schema",
        "/components/messages/OrderCreated/payload/properties/status/type",
        32,
        20,
        "\"strin\" is not a JSON Schema type",
    );
}

#[test]
fn example_not_matching_its_schema() {
    single_error(
        "example-mismatch.yaml",
        "example-mismatch",
        "/components/messages/OrderCreated/examples/0/payload/status",
        35,
        62,
        "\"shipped\" is not one of",
    );
}

#[test]
fn server_protocol_not_nats() {
    single_error(
        "server-protocol.yaml",
        "server-protocol",
        "/servers/local/protocol",
        5,
        35,
        "\"kafka\"",
    );
}

#[test]
fn unresolvable_ref() {
    single_error(
        "unresolved-ref.yaml",
        "unresolved-ref",
        "/channels/ordersCreated/messages/orderCreated/$ref",
        10,
        22,
        "#/components/messages/OrderCreatd does not exist (known: OrderCreated)",
    );
}

#[test]
fn json_documents_and_schema_refs() {
    // JSON input; a payload whose properties reference #/components/schemas; a bad example
    // found through that reference; a channel parameter that is not declared.
    let text = r##"{
  "asyncapi": "3.0.0",
  "info": {"title": "t", "version": "1"},
  "channels": {
    "shipped": {
      "address": "orders.{orderId}.shipped",
      "messages": {"m": {"$ref": "#/components/messages/Shipped"}}
    }
  },
  "components": {
    "schemas": {"Id": {"type": "string", "pattern": "^ord_"}},
    "messages": {"Shipped": {
      "payload": {"type": "object", "properties": {"orderId": {"$ref": "#/components/schemas/Id"}}},
      "examples": [{"payload": {"orderId": "x1"}}]
    }}
  }
}"##;
    let found = validate(&Document::parse(text).unwrap());
    let codes: Vec<_> = found
        .iter()
        .map(|d| (d.code, d.path.as_str(), d.line))
        .collect();
    assert_eq!(
        codes,
        vec![
            ("undeclared-parameter", "/channels/shipped/address", Some(6)),
            (
                "example-mismatch",
                "/components/messages/Shipped/examples/0/payload/orderId",
                Some(14)
            ),
        ]
    );
}

#[test]
fn syntax_errors_name_the_line() {
    let err = Document::parse("asyncapi: '3.1.0'\ninfo: {title: x\n").unwrap_err();
    assert!(err.to_string().contains("line"), "{err}");
}
