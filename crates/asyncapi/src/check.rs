//! `weir asyncapi check`: does the JetStream intent line up with the channels? Channels the
//! contract wants stored must be captured by a stream, consumer filters must match channels,
//! and no two streams may claim the same subjects (nats-server refuses overlapping streams).

use crate::diagnostic::{has_errors, Diagnostic, Sink};
use crate::document::Document;
use crate::intent::{overlaps, subset, Intent};
use crate::validate::validate;

/// Validation, then (if it found no errors) the alignment lint. Returns the diagnostics and
/// the intent (None when validation failed).
pub fn check(doc: &Document) -> (Vec<Diagnostic>, Option<Intent>) {
    let validation = validate(doc);
    if has_errors(&validation) {
        return (validation, None);
    }
    let mut sink = Sink::new(doc);
    sink.items = validation;
    let intent = Intent::build(&doc.root, &mut sink);
    lint(&intent, &mut sink);
    (sink.finish(), Some(intent))
}

fn lint(intent: &Intent, sink: &mut Sink<'_>) {
    if !intent.any {
        sink.info(
            "no-intent",
            "",
            "the contract declares no JetStream intent (x-jetstream): its channels are plain NATS subjects",
            "add `x-jetstream: {stream: NAME}` to the operations (or channels) whose messages must be stored, and `{consumer: NAME}` to the receive operations that read them",
        );
        return;
    }
    channels(intent, sink);
    streams(intent, sink);
    consumers(intent, sink);
    operations(intent, sink);
}

/// Every channel the contract wants stored is captured by a stream.
fn channels(intent: &Intent, sink: &mut Sink<'_>) {
    for ch in &intent.channels {
        let at = format!("{}/address", ch.pointer);
        let capturing = intent.capturing_streams(std::slice::from_ref(&ch.subject));
        if !capturing.is_empty() {
            continue;
        }
        let partial: Vec<&str> = intent
            .streams
            .iter()
            .filter(|s| s.subjects.iter().any(|sub| overlaps(sub, &ch.subject)))
            .map(|s| s.name.as_str())
            .collect();
        if !partial.is_empty() {
            sink.error(
                "partially-captured-channel",
                &at,
                format!("channel {} ({}) is only partly captured by stream {}: some of its subjects would not be stored", ch.id, ch.address, partial.join(", ")),
                format!("widen the stream's subjects to include {} (a parameter is one token, `*`)", ch.subject),
            );
        } else if ch.has_intent {
            let named = if ch.streams.is_empty() {
                String::new()
            } else {
                format!(" (it names stream {})", ch.streams.join(", "))
            };
            sink.error(
                "uncaptured-channel",
                &at,
                format!("channel {} ({}) is not captured by any stream{named}", ch.id, ch.address),
                match ch.streams.first() {
                    Some(stream) => format!("add {} to stream {stream}'s stream_config.subjects, or drop stream_config.subjects so the stream captures its channels' addresses", ch.subject),
                    None => "name a stream for it: `x-jetstream: {stream: NAME}` on the send operation or the channel".to_string(),
                },
            );
        } else {
            sink.info(
                "plain-channel",
                &at,
                format!(
                    "channel {} ({}) is not stored by any stream: plain NATS",
                    ch.id, ch.address
                ),
                "add `x-jetstream: {stream: NAME}` if its messages must be stored",
            );
        }
    }
}

/// No two streams overlap, and no stream captures a channel that names another stream.
fn streams(intent: &Intent, sink: &mut Sink<'_>) {
    for (i, a) in intent.streams.iter().enumerate() {
        let a_at = a.subjects_at.clone().unwrap_or_else(|| a.at.clone());
        for b in &intent.streams[i + 1..] {
            for sa in &a.subjects {
                for sb in b.subjects.iter().filter(|sb| overlaps(sa, sb)) {
                    sink.error(
                        "stream-overlap",
                        &a_at,
                        format!("streams {} ({sa}) and {} ({sb}) have overlapping subjects; nats-server refuses the second", a.name, b.name),
                        "narrow one stream's subjects so that no subject is stored by both",
                    );
                }
            }
        }
        for ch in &intent.channels {
            if ch.streams.is_empty() || ch.streams.contains(&a.name) {
                continue;
            }
            // Already reported as an overlap when the channel's own stream holds it.
            let owner_captures = intent.streams.iter().any(|s| {
                ch.streams.contains(&s.name)
                    && s.subjects.iter().any(|sub| subset(&ch.subject, sub))
            });
            if owner_captures {
                continue;
            }
            if let Some(sub) = a.subjects.iter().find(|sub| overlaps(sub, &ch.subject)) {
                sink.error(
                    "foreign-capture",
                    &a_at,
                    format!("stream {}'s subject {sub} captures channel {} ({}), which belongs to stream {}", a.name, ch.id, ch.address, ch.streams.join(", ")),
                    format!("narrow {sub} so it leaves {} to stream {}", ch.subject, ch.streams.join(", ")),
                );
            }
        }
    }
}

fn consumers(intent: &Intent, sink: &mut Sink<'_>) {
    for consumer in &intent.consumers {
        let at = consumer
            .filters_at
            .clone()
            .unwrap_or_else(|| consumer.at.clone());
        for filter in &consumer.filters {
            if !weir_subject::is_valid_subject(filter.as_bytes()) {
                sink.error(
                    "invalid-subject",
                    &at,
                    format!(
                        "consumer {}'s filter {filter:?} is not a valid subject",
                        consumer.name
                    ),
                    "use dot-separated tokens; `*` matches one token and `>` the rest",
                );
                continue;
            }
            if !intent.channels.iter().any(|c| overlaps(filter, &c.subject)) {
                sink.error(
                    "filter-matches-nothing",
                    &at,
                    format!(
                        "consumer {}'s filter {filter} matches no channel of the contract",
                        consumer.name
                    ),
                    format!(
                        "set the filter to a channel address (known: {})",
                        intent
                            .channels
                            .iter()
                            .map(|c| c.subject.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                );
            }
            if let Some(stream) = consumer.stream.as_deref().and_then(|s| intent.stream(s)) {
                if !stream.subjects.iter().any(|s| overlaps(filter, s)) {
                    sink.error(
                        "filter-outside-stream",
                        &at,
                        format!("consumer {}'s filter {filter} is outside stream {}'s subjects ({})", consumer.name, stream.name, stream.subjects.join(", ")),
                        "filter on a subject the stream stores, or place the consumer on the stream that stores it",
                    );
                }
            }
        }
        if let Some(stream) = &consumer.stream {
            if intent.stream(stream).is_none() {
                sink.error("unknown-stream", &consumer.at, format!("consumer {} is placed on stream {stream}, which the contract does not define", consumer.name), format!("name {stream} on the send operation of the channel (`x-jetstream: {{stream: {stream}}}`)"));
            }
        }
        if let Some(queue) = &consumer.queue {
            sink.info(
                "queue-binding",
                &consumer.at,
                format!("queue {queue:?}: clients fetching from the durable pull consumer {} already share its messages, so no deliver group is needed", consumer.name),
                "nothing to do; remove the queue binding if it is only meant for JetStream",
            );
        }
    }
}

fn operations(intent: &Intent, sink: &mut Sink<'_>) {
    for op in &intent.operations {
        let Some(ch) = op.channel.map(|c| &intent.channels[c]) else {
            continue;
        };
        if op.receive && op.consumer.is_none() {
            let stored = intent.capturing_streams(std::slice::from_ref(&ch.subject));
            if let Some(stream) = stored.first() {
                sink.warning(
                    "receive-without-consumer",
                    &op.pointer,
                    format!("operation {} receives from {}, which stream {stream} stores, but names no consumer: it only sees messages published while it is subscribed", op.id, ch.address),
                    "add `x-jetstream: {consumer: NAME}` to read through a durable consumer",
                );
            }
        }
        if !op.receive && op.consumer.is_some() {
            sink.warning(
                "consumer-on-send",
                &format!("{}/x-jetstream/consumer", op.pointer),
                format!("operation {} sends but names a consumer", op.id),
                "name consumers on receive operations",
            );
        }
    }
}
