//! The alignment lint (`check`) and the provisioning model (`plan::desired`).

use serde_json::json;
use weir_asyncapi::check::check;
use weir_asyncapi::plan::{desired, Kind};
use weir_asyncapi::{Diagnostic, Document, Severity};

/// A contract with the given channels and operations (YAML fragments indented for their
/// section) and one permissive message.
fn contract(channels: &str, operations: &str) -> Document {
    let text = format!(
        "asyncapi: '3.1.0'\ninfo: {{title: t, version: '1'}}\nchannels:\n{channels}operations:\n{operations}\
         components:\n  messages:\n    M: {{payload: {{type: object}}}}\n"
    );
    Document::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn channel(id: &str, address: &str) -> String {
    let params = address
        .split('{')
        .skip(1)
        .filter_map(|p| p.split('}').next())
        .map(|p| format!("{p}: {{}}"))
        .collect::<Vec<_>>();
    let params = if params.is_empty() {
        String::new()
    } else {
        format!("\n    parameters: {{{}}}", params.join(", "))
    };
    format!("  {id}:\n    address: '{address}'{params}\n    messages: {{m: {{$ref: '#/components/messages/M'}}}}\n")
}

fn operation(id: &str, action: &str, channel: &str, js: &str) -> String {
    format!(
        "  {id}:\n    action: {action}\n    channel: {{$ref: '#/channels/{channel}'}}\n    \
         messages: [{{$ref: '#/channels/{channel}/messages/m'}}]\n    x-jetstream: {js}\n"
    )
}

fn findings(doc: &Document, severity: Severity) -> Vec<Diagnostic> {
    check(doc)
        .0
        .into_iter()
        .filter(|d| d.severity == severity)
        .collect()
}

fn codes(found: &[Diagnostic]) -> Vec<(&str, &str)> {
    found.iter().map(|d| (d.code, d.path.as_str())).collect()
}

#[test]
fn the_example_contracts_are_aligned() {
    for path in [
        "examples/orders/orders.asyncapi.yaml",
        "examples/files/files.asyncapi.yaml",
    ] {
        let text = std::fs::read_to_string(format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR")))
            .expect("example");
        let doc = Document::parse(&text).unwrap();
        assert_eq!(findings(&doc, Severity::Error), vec![], "{path}");
    }
}

#[test]
fn stream_subjects_that_miss_the_channel() {
    let doc = contract(
        &channel("created", "orders.created"),
        &(operation(
            "pub",
            "send",
            "created",
            "{stream: ORDERS, stream_config: {subjects: [orders.paid]}}",
        ) + &operation("sub", "receive", "created", "{consumer: workers}")),
    );
    let errors = findings(&doc, Severity::Error);
    assert_eq!(
        codes(&errors),
        vec![
            ("uncaptured-channel", "/channels/created/address"),
            ("consumer-without-stream", "/operations/sub/x-jetstream"),
        ],
        "{errors:#?}"
    );
    assert!(
        errors[0].message.contains("orders.created"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].fix.contains("ORDERS's stream_config.subjects"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[0].line, Some(5));
}

#[test]
fn consumer_filter_that_matches_no_channel() {
    let doc = contract(
        &channel("created", "orders.created"),
        &(operation(
            "pub",
            "send",
            "created",
            "{stream: ORDERS, stream_config: {subjects: ['orders.>']}}",
        ) + &operation(
            "sub",
            "receive",
            "created",
            "{stream: ORDERS, consumer: workers, consumer_config: {filter_subject: orders.shiped}}",
        )),
    );
    let errors = findings(&doc, Severity::Error);
    assert_eq!(
        codes(&errors),
        vec![(
            "filter-matches-nothing",
            "/operations/sub/x-jetstream/consumer_config/filter_subject"
        )],
        "{errors:#?}"
    );
    assert!(errors[0].message.contains("orders.shiped"));
    assert!(
        errors[0].fix.contains("orders.created"),
        "lists the known addresses"
    );
}

#[test]
fn overlapping_streams_and_wildcards_capturing_other_streams_channels() {
    // ORDERS takes orders.> explicitly, which overlaps PAYMENTS's orders.paid.
    let doc = contract(
        &(channel("created", "orders.created") + &channel("paid", "orders.paid")),
        &(operation(
            "pubCreated",
            "send",
            "created",
            "{stream: ORDERS, stream_config: {subjects: ['orders.>']}}",
        ) + &operation("pubPaid", "send", "paid", "{stream: PAYMENTS}")),
    );
    let errors = findings(&doc, Severity::Error);
    assert_eq!(
        codes(&errors),
        vec![(
            "stream-overlap",
            "/operations/pubCreated/x-jetstream/stream_config/subjects"
        )],
        "{errors:#?}"
    );
    assert!(
        errors[0]
            .message
            .contains("ORDERS (orders.>) and PAYMENTS (orders.paid)"),
        "{}",
        errors[0]
    );

    // PAYMENTS misses its own channel while ORDERS's wildcard takes it.
    let doc = contract(
        &(channel("created", "orders.created") + &channel("paid", "orders.paid")),
        &(operation(
            "pubCreated",
            "send",
            "created",
            "{stream: ORDERS, stream_config: {subjects: ['orders.*']}}",
        ) + &operation(
            "pubPaid",
            "send",
            "paid",
            "{stream: PAYMENTS, stream_config: {subjects: ['payments.>']}}",
        )),
    );
    let errors = findings(&doc, Severity::Error);
    assert_eq!(
        codes(&errors),
        vec![(
            "foreign-capture",
            "/operations/pubCreated/x-jetstream/stream_config/subjects"
        )],
        "{errors:#?}"
    );
    assert!(errors[0]
        .message
        .contains("captures channel paid (orders.paid), which belongs to stream PAYMENTS"));
}

#[test]
fn parameters_are_single_token_wildcards() {
    let doc = contract(
        &channel("shipped", "orders.{orderId}.shipped"),
        &(operation("pub", "send", "shipped", "{stream: SHIPPING}")
            + &operation("sub", "receive", "shipped", "{consumer: shippers}")),
    );
    let (found, intent) = check(&doc);
    assert_eq!(found, vec![]);
    let intent = intent.expect("valid");
    assert_eq!(intent.streams[0].subjects, vec!["orders.*.shipped"]);
    assert_eq!(intent.consumers[0].filters, vec!["orders.*.shipped"]);
    assert_eq!(intent.consumers[0].stream.as_deref(), Some("SHIPPING"));
}

#[test]
fn receive_without_consumer_and_notes() {
    let doc = contract(
        &(channel("created", "orders.created") + &channel("pings", "ping")),
        &(operation("pub", "send", "created", "{stream: ORDERS}")
            + "  sub:\n    action: receive\n    channel: {$ref: '#/channels/created'}\n    \
               bindings: {nats: {queue: q}}\n"),
    );
    assert_eq!(
        codes(&findings(&doc, Severity::Warning)),
        vec![("receive-without-consumer", "/operations/sub")]
    );
    assert_eq!(
        codes(&findings(&doc, Severity::Info)),
        vec![("plain-channel", "/channels/pings/address")]
    );

    let doc = contract(
        &channel("created", "orders.created"),
        "  pub: {action: send, channel: {$ref: '#/channels/created'}}\n",
    );
    assert_eq!(
        codes(&findings(&doc, Severity::Info)),
        vec![("no-intent", "/")]
    );
}

#[test]
fn queue_bindings_are_noted_on_consumers() {
    let doc = contract(
        &channel("created", "orders.created"),
        &(operation("pub", "send", "created", "{stream: ORDERS}")
            + &operation("sub", "receive", "created", "{consumer: workers}").replace(
                "    x-jetstream",
                "    bindings: {nats: {queue: workers, bindingVersion: '0.1.0'}}\n    x-jetstream",
            )),
    );
    let infos = findings(&doc, Severity::Info);
    assert_eq!(
        codes(&infos),
        vec![("queue-binding", "/operations/sub/x-jetstream")]
    );
}

#[test]
fn nats_bindings_are_checked() {
    let doc = contract(
        &channel("created", "orders.created"),
        &(operation("pub", "send", "created", "{stream: ORDERS}")
            + &operation("sub", "receive", "created", "{consumer: workers}").replace(
                "    x-jetstream",
                "    bindings: {nats: {queue: 'two words', deliverGroup: x}}\n    x-jetstream",
            )),
    );
    assert_eq!(
        codes(&findings(&doc, Severity::Error)),
        vec![("invalid-queue", "/operations/sub/bindings/nats/queue")]
    );
    assert_eq!(
        codes(&findings(&doc, Severity::Warning)),
        vec![(
            "unknown-field",
            "/operations/sub/bindings/nats/deliverGroup"
        )]
    );
}

#[test]
fn desired_configs() {
    let text = std::fs::read_to_string(format!(
        "{}/../../examples/files/files.asyncapi.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (_, intent) = check(&Document::parse(&text).unwrap());
    let wanted = desired(&intent.unwrap());
    let summary: Vec<_> = wanted
        .iter()
        .map(|d| (d.kind, d.stream.as_str(), d.name.as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Kind::Stream, "FILE_EVENTS", "FILE_EVENTS"),
            (Kind::Consumer, "FILE_EVENTS", "delete-audit"),
            (Kind::Consumer, "FILE_EVENTS", "trash-purger"),
        ]
    );
    assert_eq!(
        serde_json::Value::Object(wanted[0].config.clone()),
        json!({"name": "FILE_EVENTS", "subjects": ["files.deleted", "files.trashed"],
               "storage": "file", "retention": "limits", "max_age": 2592000000000000u64,
               "description": "File trash events"})
    );
    assert_eq!(
        serde_json::Value::Object(wanted[2].config.clone()),
        json!({"durable_name": "trash-purger", "ack_policy": "explicit",
               "filter_subject": "files.trashed", "max_deliver": 5})
    );
}

#[test]
fn bundled_schemas_per_stored_subject() {
    // What payload enforcement will need: per subject, a schema that compiles on its own.
    let text = std::fs::read_to_string(format!(
        "{}/../../examples/files/files.asyncapi.yaml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let doc = Document::parse(&text).unwrap();
    let intent = check(&doc).1.unwrap();
    let schemas = weir_asyncapi::bundle::subject_schemas(&doc.root, &intent).unwrap();
    let subjects: Vec<_> = schemas
        .iter()
        .map(|s| (s.stream.as_str(), s.subject.as_str()))
        .collect();
    assert_eq!(
        subjects,
        vec![
            ("FILE_EVENTS", "files.deleted"),
            ("FILE_EVENTS", "files.trashed")
        ]
    );
    let trashed = jsonschema::draft7::new(&schemas[1].schema).expect("self-contained");
    assert!(trashed.is_valid(
        &json!({"fileId": "file_42", "path": "/a", "trashedAt": "2026-05-04T12:00:00Z"})
    ));
    assert!(!trashed
        .is_valid(&json!({"fileId": "42", "path": "/a", "trashedAt": "2026-05-04T12:00:00Z"})));
}
