//! The JetStream intent a contract declares: `x-jetstream` on channels and operations, and
//! NATS bindings (`bindings.nats.queue`) on operations.
//!
//! ```yaml
//! x-jetstream:
//!   stream: ORDERS            # this channel's messages are stored in ORDERS
//!   consumer: order-workers   # this (receive) operation reads through this durable consumer
//!   stream_config: {max_age: 86400000000000}       # StreamConfig fields, nats JSON names
//!   consumer_config: {max_deliver: 5}              # ConsumerConfig fields
//! ```
//!
//! A stream captures the addresses of every channel naming it (directly or through an
//! operation) unless `stream_config.subjects` is given. A consumer's stream is the one its
//! operation names, else the stream that captures its channel.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diagnostic::Sink;
use crate::document::join;
use crate::{address, refs};

/// A channel with an address.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    pub id: String,
    pub pointer: String,
    pub address: String,
    /// The address as a subject (`{param}` → `*`).
    pub subject: String,
    /// True when some `x-jetstream` names this channel (its own or an operation's).
    pub has_intent: bool,
    /// Streams named for this channel.
    pub streams: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    pub id: String,
    pub pointer: String,
    pub receive: bool,
    /// Index into [`Intent::channels`].
    pub channel: Option<usize>,
    pub stream: Option<String>,
    pub consumer: Option<String>,
    pub queue: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stream {
    pub name: String,
    /// Where it is first named (an `x-jetstream` pointer).
    pub at: String,
    pub subjects: Vec<String>,
    /// Pointer of `stream_config.subjects` when given explicitly.
    pub subjects_at: Option<String>,
    /// `stream_config` fields, merged over every declaration.
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consumer {
    pub name: String,
    pub at: String,
    /// The stream named explicitly next to the consumer, or inferred (see [`Intent::build`]).
    pub stream: Option<String>,
    pub filters: Vec<String>,
    /// Pointer of the explicit `filter_subject(s)`, when given.
    pub filters_at: Option<String>,
    /// Channel indexes of the operations naming it.
    pub channels: Vec<usize>,
    pub config: Map<String, Value>,
    pub queue: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Intent {
    pub channels: Vec<Channel>,
    pub operations: Vec<Operation>,
    pub streams: Vec<Stream>,
    pub consumers: Vec<Consumer>,
    /// True when any `x-jetstream` appears.
    pub any: bool,
}

const KNOWN_FIELDS: [&str; 4] = ["stream", "consumer", "stream_config", "consumer_config"];

impl Intent {
    /// Reads the intent of a document that passed validation; problems with the extensions
    /// themselves go to `sink`.
    pub fn build(root: &Value, sink: &mut Sink<'_>) -> Intent {
        let mut intent = Intent::default();
        let mut streams: BTreeMap<String, Stream> = BTreeMap::new();
        let mut consumers: BTreeMap<String, Consumer> = BTreeMap::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();

        for (id, value) in root
            .get("channels")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let Ok(ch) = refs::deref(root, &join("/channels", id), value) else {
                continue;
            };
            let Some(addr) = ch.value.get("address").and_then(Value::as_str) else {
                continue;
            };
            index.insert(ch.pointer.clone(), intent.channels.len());
            intent.channels.push(Channel {
                id: id.clone(),
                pointer: ch.pointer.clone(),
                address: addr.to_string(),
                subject: address::to_subject(addr),
                has_intent: false,
                streams: Vec::new(),
            });
            let channel = intent.channels.len() - 1;
            if let Some(js) = ch.value.get("x-jetstream") {
                let at = format!("{}/x-jetstream", ch.pointer);
                let decl = read(js, &at, sink);
                intent.any = true;
                intent.channels[channel].has_intent = true;
                declare(
                    &mut intent,
                    &mut streams,
                    &mut consumers,
                    &decl,
                    &at,
                    Some(channel),
                    None,
                    sink,
                );
            }
        }

        for (id, value) in root
            .get("operations")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let Ok(op) = refs::deref(root, &join("/operations", id), value) else {
                continue;
            };
            let channel = op
                .value
                .get("channel")
                .and_then(refs::ref_of)
                .and_then(|r| refs::resolve(root, r).ok())
                .and_then(|c| index.get(&c.pointer).copied());
            let queue = nats_binding(op.value, &op.pointer, sink);
            let mut operation = Operation {
                id: id.clone(),
                pointer: op.pointer.clone(),
                receive: op.value.get("action").and_then(Value::as_str) == Some("receive"),
                channel,
                stream: None,
                consumer: None,
                queue: queue.clone(),
            };
            if let Some(js) = op.value.get("x-jetstream") {
                let at = format!("{}/x-jetstream", op.pointer);
                let decl = read(js, &at, sink);
                intent.any = true;
                if let Some(c) = channel {
                    intent.channels[c].has_intent = true;
                }
                operation.stream = decl.stream.clone();
                operation.consumer = decl.consumer.clone();
                declare(
                    &mut intent,
                    &mut streams,
                    &mut consumers,
                    &decl,
                    &at,
                    channel,
                    queue,
                    sink,
                );
            }
            intent.operations.push(operation);
        }

        // Streams without explicit subjects capture their channels' addresses.
        for stream in streams.values_mut() {
            if stream.subjects_at.is_none() {
                let mut subjects: Vec<String> = intent
                    .channels
                    .iter()
                    .filter(|c| c.streams.contains(&stream.name))
                    .map(|c| c.subject.clone())
                    .collect();
                subjects.sort();
                subjects.dedup();
                stream.subjects = minimal(subjects);
            }
        }
        intent.streams = streams.into_values().collect();

        for consumer in consumers.values_mut() {
            if consumer.filters_at.is_none() {
                let mut filters: Vec<String> = consumer
                    .channels
                    .iter()
                    .map(|&c| intent.channels[c].subject.clone())
                    .collect();
                filters.sort();
                filters.dedup();
                consumer.filters = minimal(filters);
            }
            if consumer.stream.is_none() {
                let candidates = intent.capturing_streams(&consumer.filters);
                match candidates.as_slice() {
                    [one] => consumer.stream = Some(one.clone()),
                    [] => sink.error(
                        "consumer-without-stream",
                        &consumer.at,
                        format!("consumer {} has no stream: no stream captures {}", consumer.name, consumer.filters.join(", ")),
                        "name the stream next to the consumer (`x-jetstream: {stream: NAME, consumer: …}`), or make a stream capture this channel",
                    ),
                    many => sink.error(
                        "consumer-without-stream",
                        &consumer.at,
                        format!("consumer {}'s channel is captured by several streams ({})", consumer.name, many.join(", ")),
                        "name the consumer's stream explicitly with `stream:` next to `consumer:`",
                    ),
                }
            }
        }
        intent.consumers = consumers.into_values().collect();
        intent
    }

    /// Streams one of whose subjects contains every one of `subjects`.
    pub fn capturing_streams(&self, subjects: &[String]) -> Vec<String> {
        if subjects.is_empty() {
            return Vec::new();
        }
        self.streams
            .iter()
            .filter(|s| {
                subjects
                    .iter()
                    .all(|f| s.subjects.iter().any(|sub| subset(f, sub)))
            })
            .map(|s| s.name.clone())
            .collect()
    }

    pub fn stream(&self, name: &str) -> Option<&Stream> {
        self.streams.iter().find(|s| s.name == name)
    }
}

/// The queue of an operation's NATS binding (the only field AsyncAPI's NATS binding defines,
/// besides `bindingVersion`).
fn nats_binding(op: &Value, at: &str, sink: &mut Sink<'_>) -> Option<String> {
    let binding = op.pointer("/bindings/nats")?.as_object()?;
    let at = format!("{at}/bindings/nats");
    for key in binding
        .keys()
        .filter(|k| !matches!(k.as_str(), "queue" | "bindingVersion"))
    {
        sink.warning(
            "unknown-field",
            &join(&at, key),
            format!("the NATS operation binding has no field {key:?}"),
            "AsyncAPI's NATS binding defines only `queue` (and `bindingVersion`); put JetStream settings in x-jetstream",
        );
    }
    match binding.get("queue") {
        None => None,
        Some(Value::String(queue))
            if queue.len() <= 255 && weir_subject::is_valid_queue_name(queue.as_bytes()) =>
        {
            Some(queue.clone())
        }
        Some(other) => {
            sink.error(
                "invalid-queue",
                &format!("{at}/queue"),
                format!("{other} is not a valid NATS queue group name"),
                "use a name of at most 255 characters without whitespace",
            );
            None
        }
    }
}

/// Drops subjects already contained in another of the list (nats-server refuses a stream whose
/// subjects overlap each other).
fn minimal(subjects: Vec<String>) -> Vec<String> {
    subjects
        .iter()
        .filter(|s| !subjects.iter().any(|o| o != *s && subset(s, o)))
        .cloned()
        .collect()
}

pub fn subset(sub: &str, sup: &str) -> bool {
    weir_subject::subset_of(sub.as_bytes(), sup.as_bytes())
}

pub fn overlaps(a: &str, b: &str) -> bool {
    weir_subject::overlaps(a.as_bytes(), b.as_bytes())
}

/// One `x-jetstream` object.
#[derive(Debug, Default)]
struct Declaration {
    stream: Option<String>,
    consumer: Option<String>,
    stream_config: Map<String, Value>,
    consumer_config: Map<String, Value>,
}

fn read(js: &Value, at: &str, sink: &mut Sink<'_>) -> Declaration {
    let mut decl = Declaration::default();
    let Some(map) = js.as_object() else {
        sink.error(
            "invalid-extension",
            at,
            "x-jetstream must be a mapping",
            "write `x-jetstream: {stream: NAME}` or `{consumer: NAME}`",
        );
        return decl;
    };
    for (key, value) in map {
        let path = join(at, key);
        match (key.as_str(), value) {
            ("stream" | "consumer", Value::String(name)) => {
                if !valid_name(name) {
                    sink.error("invalid-name", &path, format!("{key} name {name:?} is not valid in JetStream"), "use a name without '.', '*', '>', slashes or whitespace (e.g. ORDERS, order-workers)");
                } else if key == "stream" {
                    decl.stream = Some(name.clone());
                } else {
                    decl.consumer = Some(name.clone());
                }
            }
            ("stream_config" | "consumer_config", Value::Object(config)) => {
                if key == "stream_config" {
                    decl.stream_config = config.clone();
                } else {
                    decl.consumer_config = config.clone();
                }
            }
            (k, _) if KNOWN_FIELDS.contains(&k) => sink.error(
                "invalid-extension",
                &path,
                format!("x-jetstream.{k} has the wrong type"),
                "stream and consumer are names (strings); stream_config and consumer_config are mappings of nats JSON config fields",
            ),
            (k, _) => sink.warning("unknown-field", &path, format!("x-jetstream.{k} is not a field weir reads"), "use stream, consumer, stream_config or consumer_config"),
        }
    }
    if decl.stream.is_none() && !decl.stream_config.is_empty() {
        sink.error(
            "invalid-extension",
            &join(at, "stream_config"),
            "stream_config without a stream name",
            "add `stream: NAME` next to stream_config",
        );
    }
    if decl.consumer.is_none() && !decl.consumer_config.is_empty() {
        sink.error(
            "invalid-extension",
            &join(at, "consumer_config"),
            "consumer_config without a consumer name",
            "add `consumer: NAME` next to consumer_config",
        );
    }
    decl
}

#[allow(clippy::too_many_arguments)]
fn declare(
    intent: &mut Intent,
    streams: &mut BTreeMap<String, Stream>,
    consumers: &mut BTreeMap<String, Consumer>,
    decl: &Declaration,
    at: &str,
    channel: Option<usize>,
    queue: Option<String>,
    sink: &mut Sink<'_>,
) {
    if let Some(name) = &decl.stream {
        let stream = streams.entry(name.clone()).or_insert_with(|| Stream {
            name: name.clone(),
            at: at.to_string(),
            ..Stream::default()
        });
        if let Some(c) = channel {
            if !intent.channels[c].streams.contains(name) {
                intent.channels[c].streams.push(name.clone());
            }
        }
        let config_at = join(at, "stream_config");
        merge(
            &mut stream.config,
            &decl.stream_config,
            &config_at,
            name,
            sink,
        );
        if let Some(subjects) = decl.stream_config.get("subjects") {
            match subjects.as_array().map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            }) {
                Some(list) if !list.is_empty() => {
                    for (i, s) in list.iter().enumerate() {
                        if !weir_subject::is_valid_subject(s.as_bytes()) {
                            sink.error(
                                "invalid-subject",
                                &format!("{config_at}/subjects/{i}"),
                                format!("{s:?} is not a valid NATS subject"),
                                "use dot-separated tokens; `*` matches one token and `>` the rest",
                            );
                        }
                    }
                    stream.subjects = list;
                    stream.subjects_at = Some(format!("{config_at}/subjects"));
                }
                _ => sink.error(
                    "invalid-subject",
                    &format!("{config_at}/subjects"),
                    "stream_config.subjects must be a non-empty list of subjects",
                    "list the subjects, or leave subjects out to capture the channels' addresses",
                ),
            }
            stream.config.remove("subjects");
        }
    }
    if let Some(name) = &decl.consumer {
        let consumer = consumers.entry(name.clone()).or_insert_with(|| Consumer {
            name: name.clone(),
            at: at.to_string(),
            ..Consumer::default()
        });
        if let Some(stream) = &decl.stream {
            match &consumer.stream {
                Some(existing) if existing != stream => sink.error("conflicting-config", &join(at, "stream"), format!("consumer {name} is placed on stream {existing} elsewhere and on {stream} here"), "a consumer belongs to one stream: name the same stream everywhere"),
                _ => consumer.stream = Some(stream.clone()),
            }
        }
        if let Some(c) = channel {
            if !consumer.channels.contains(&c) {
                consumer.channels.push(c);
            }
        }
        if queue.is_some() {
            consumer.queue = queue;
        }
        let config_at = join(at, "consumer_config");
        merge(
            &mut consumer.config,
            &decl.consumer_config,
            &config_at,
            name,
            sink,
        );
        let single = decl
            .consumer_config
            .get("filter_subject")
            .and_then(Value::as_str);
        let many = decl
            .consumer_config
            .get("filter_subjects")
            .and_then(Value::as_array);
        if let Some(f) = single {
            consumer.filters = vec![f.to_string()];
            consumer.filters_at = Some(format!("{config_at}/filter_subject"));
        } else if let Some(list) = many {
            consumer.filters = list
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            consumer.filters_at = Some(format!("{config_at}/filter_subjects"));
        }
        consumer.config.remove("filter_subject");
        consumer.config.remove("filter_subjects");
        if let Some(durable) = decl
            .consumer_config
            .get("durable_name")
            .and_then(Value::as_str)
        {
            if durable != name {
                sink.error(
                    "conflicting-config",
                    &format!("{config_at}/durable_name"),
                    format!("durable_name {durable:?} differs from the consumer name {name:?}"),
                    "drop durable_name: the consumer name is used",
                );
            }
        }
    }
}

/// Adds `extra` config fields to `into`, reporting a field set to two different values.
fn merge(
    into: &mut Map<String, Value>,
    extra: &Map<String, Value>,
    at: &str,
    name: &str,
    sink: &mut Sink<'_>,
) {
    for (key, value) in extra {
        match into.get(key) {
            Some(existing) if existing != value => sink.error(
                "conflicting-config",
                &join(at, key),
                format!("{name}.{key} is {existing} elsewhere in the contract and {value} here"),
                "set each config field in one place, or to the same value everywhere",
            ),
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// JetStream's name rules (the CLI's `check_name`).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| matches!(c, '.' | '*' | '>' | '/' | '\\') || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(name: &str, subjects: &[&str]) -> Stream {
        Stream {
            name: name.to_string(),
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            ..Stream::default()
        }
    }

    #[test]
    fn capture_is_containment_not_overlap() {
        let intent = Intent {
            streams: vec![
                stream("ORDERS", &["orders.*"]),
                stream("ALL", &["orders.>"]),
            ],
            ..Intent::default()
        };
        let one = |s: &str| vec![s.to_string()];
        assert_eq!(
            intent.capturing_streams(&one("orders.created")),
            vec!["ORDERS", "ALL"]
        );
        assert_eq!(
            intent.capturing_streams(&one("orders.*.shipped")),
            vec!["ALL"]
        );
        // orders.> overlaps orders.* but is not contained in it.
        assert_eq!(intent.capturing_streams(&one("orders.>")), vec!["ALL"]);
        assert!(intent
            .capturing_streams(&one("payments.created"))
            .is_empty());
        assert!(intent.capturing_streams(&[]).is_empty());
    }

    #[test]
    fn subset_and_overlap() {
        assert!(subset("orders.created", "orders.*"));
        assert!(subset("orders.*", "orders.>"));
        assert!(!subset("orders.>", "orders.*"));
        assert!(overlaps("orders.*", "*.created"));
        assert!(!overlaps("orders.created", "orders.paid"));
    }

    #[test]
    fn contained_subjects_are_dropped() {
        let subjects = ["orders.*", "orders.created", "payments.paid"].map(String::from);
        assert_eq!(
            minimal(subjects.to_vec()),
            vec!["orders.*", "payments.paid"]
        );
    }

    #[test]
    fn names() {
        assert!(valid_name("ORDERS") && valid_name("order-workers"));
        for bad in ["", "a.b", "a*", "a>", "a b", "a/b"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
