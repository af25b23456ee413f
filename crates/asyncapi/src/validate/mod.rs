//! `weir asyncapi validate`: the document's structure, its references, its payload schemas and
//! its examples. Only what a NATS contract needs is checked strictly (addresses are subjects,
//! servers speak `nats`); the rest follows the AsyncAPI 3.0/3.1 specification.

use std::collections::{BTreeSet, HashSet};

use serde_json::{Map, Value};

use crate::diagnostic::{Diagnostic, Sink};
use crate::document::{join, Document};
use crate::refs::{self, RefError};
use crate::{address, schema};

mod messages;

/// Every finding for `doc`, errors first.
pub fn validate(doc: &Document) -> Vec<Diagnostic> {
    let mut v = Validator {
        root: &doc.root,
        sink: Sink::new(doc),
        handled_refs: HashSet::new(),
        messages: BTreeSet::new(),
    };
    v.version();
    v.info();
    v.servers();
    v.channels();
    v.operations();
    v.components();
    v.remaining_refs();
    for pointer in std::mem::take(&mut v.messages) {
        v.message(&pointer);
    }
    v.sink.finish()
}

struct Validator<'d> {
    root: &'d Value,
    sink: Sink<'d>,
    /// `$ref` members already reported on with a specific message.
    handled_refs: HashSet<String>,
    /// Final pointers of every message object to check (each once).
    messages: BTreeSet<String>,
}

impl<'d> Validator<'d> {
    fn version(&mut self) {
        let fix = "set `asyncapi: '3.1.0'` (weir reads AsyncAPI 3.0.x and 3.1.x)";
        match self.root.get("asyncapi") {
            None => self.sink.error(
                "missing-version",
                "/asyncapi",
                "the document has no `asyncapi` version field",
                fix,
            ),
            Some(Value::String(v)) if is_supported_version(v) => {}
            Some(Value::String(v)) => self.sink.error(
                "unsupported-version",
                "/asyncapi",
                format!("AsyncAPI version {v:?} is not supported"),
                if v.starts_with("2.") {
                    "migrate the document to AsyncAPI 3 (channels keep addresses, operations \
                     move to the top level) and set `asyncapi: '3.1.0'`"
                } else {
                    fix
                },
            ),
            Some(other) => self.sink.error(
                "unsupported-version",
                "/asyncapi",
                format!(
                    "`asyncapi` must be a version string, not {}",
                    schema::kind(other)
                ),
                "quote the version: `asyncapi: '3.1.0'`",
            ),
        }
    }

    fn info(&mut self) {
        let Some(info) = self.object_at("/info", "info", true) else {
            return;
        };
        for field in ["title", "version"] {
            if !info.get(field).is_some_and(Value::is_string) {
                self.sink.error(
                    "missing-field",
                    &format!("/info/{field}"),
                    format!("info.{field} is required and must be a string"),
                    format!("add `{field}:` under info"),
                );
            }
        }
    }

    fn servers(&mut self) {
        let Some(servers) = self.object_at("/servers", "servers", false) else {
            return;
        };
        for (name, server) in servers {
            let at = join("/servers", name);
            let Some(server) = self.deref_object(&at, server, "server") else {
                continue;
            };
            if !server.value.get("host").is_some_and(Value::is_string) {
                self.sink.error(
                    "missing-field",
                    &format!("{at}/host"),
                    format!("server {name} has no host"),
                    "add `host: 'HOST:PORT'` (e.g. localhost:4222)",
                );
            }
            match server.value.get("protocol") {
                Some(Value::String(p)) if p == "nats" => {}
                Some(Value::String(p)) => self.sink.error(
                    "server-protocol",
                    &format!("{}/protocol", server.pointer),
                    format!("server {name} uses protocol {p:?}, which Weir does not speak"),
                    "set `protocol: nats` (Weir is a NATS-protocol broker), or remove the server",
                ),
                _ => self.sink.error(
                    "missing-field",
                    &format!("{}/protocol", server.pointer),
                    format!("server {name} has no protocol"),
                    "add `protocol: nats`",
                ),
            }
        }
    }

    fn channels(&mut self) {
        let Some(channels) = self.object_at("/channels", "channels", false) else {
            return;
        };
        for (id, channel) in channels {
            let at = join("/channels", id);
            if let Some(channel) = self.deref_object(&at, channel, "channel") {
                self.channel(id, &channel.pointer, channel.value);
            }
        }
    }

    fn channel(&mut self, id: &str, at: &str, channel: &'d Value) {
        let params: Vec<&String> = channel
            .get("parameters")
            .and_then(Value::as_object)
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        match channel.get("address") {
            Some(Value::String(addr)) => {
                if !address::is_valid(addr) {
                    self.sink.error(
                        "invalid-address",
                        &format!("{at}/address"),
                        format!("channel {id}'s address {addr:?} is not a valid NATS subject"),
                        "use dot-separated tokens without spaces (e.g. orders.created or \
                         orders.{orderId}); `*` and `>` are NATS wildcards",
                    );
                }
                for param in address::parameters(addr) {
                    if !params.contains(&&param) {
                        self.sink.error(
                            "undeclared-parameter",
                            &format!("{at}/address"),
                            format!("channel {id}'s address uses parameter {{{param}}} that is not declared"),
                            format!("declare it under the channel: `parameters: {{{param}: {{description: …}}}}`"),
                        );
                    }
                }
            }
            Some(Value::Null) | None => self.sink.error(
                "missing-address",
                &format!("{at}/address"),
                format!("channel {id} has no address, so it maps to no NATS subject"),
                "add `address:` with the channel's subject (e.g. orders.created)",
            ),
            Some(other) => self.sink.error(
                "invalid-address",
                &format!("{at}/address"),
                format!(
                    "channel {id}'s address must be a string, not {}",
                    schema::kind(other)
                ),
                "write the subject as a string (e.g. `address: orders.created`)",
            ),
        }
        let Some(messages) = self.object_at(&format!("{at}/messages"), "messages", false) else {
            return;
        };
        for (name, message) in messages {
            let path = join(&format!("{at}/messages"), name);
            if let Some(message) = self.deref_object(&path, message, "message") {
                self.messages.insert(message.pointer);
            }
        }
    }

    fn operations(&mut self) {
        let Some(operations) = self.object_at("/operations", "operations", false) else {
            return;
        };
        for (id, operation) in operations {
            let at = join("/operations", id);
            if let Some(op) = self.deref_object(&at, operation, "operation") {
                self.operation(id, &op.pointer, op.value);
            }
        }
    }

    fn operation(&mut self, id: &str, at: &str, op: &'d Value) {
        match op.get("action").and_then(Value::as_str) {
            Some("send" | "receive") => {}
            Some(other) => self.sink.error(
                "invalid-action",
                &format!("{at}/action"),
                format!("operation {id} has action {other:?}"),
                "use `action: send` (the application publishes) or `action: receive` (it consumes)",
            ),
            None => self.sink.error(
                "missing-field",
                &format!("{at}/action"),
                format!("operation {id} has no action"),
                "add `action: send` or `action: receive`",
            ),
        }
        let channel_at = format!("{at}/channel");
        let Some(channel) = op.get("channel") else {
            self.sink.error(
                "missing-field",
                &channel_at,
                format!("operation {id} names no channel"),
                "add `channel: {$ref: '#/channels/NAME'}`",
            );
            return;
        };
        let Some(reference) = refs::ref_of(channel) else {
            self.sink.error("channel-not-ref", &channel_at, format!("operation {id} defines its channel inline"), "define the channel under #/channels and reference it: `channel: {$ref: '#/channels/NAME'}`");
            return;
        };
        let ref_at = format!("{channel_at}/$ref");
        self.handled_refs.insert(ref_at.clone());
        // The reference names a channel under #/channels (which may itself be a reference).
        let named = refs::pointer_of(reference).unwrap_or_default();
        let channel = match refs::resolve(self.root, reference) {
            Ok(c) if named.starts_with("/channels/") && c.value.is_object() => c,
            Ok(c) => {
                self.sink.error("missing-channel", &ref_at, format!("operation {id}'s channel reference {reference:?} leads to #{}, which is not a channel", c.pointer), "reference a channel: `$ref: '#/channels/NAME'`");
                return;
            }
            Err(err) => {
                self.sink.error(
                    "missing-channel",
                    &ref_at,
                    format!("operation {id} references a channel that does not exist: {err}"),
                    err.fix(),
                );
                return;
            }
        };
        // What the channel carries, by final pointer (refs to the same component are equal),
        // with the channel's name for each.
        let mut carried: Vec<String> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        let mut complete = true;
        if let Some(map) = channel.value.get("messages").and_then(Value::as_object) {
            for (name, m) in map {
                match refs::deref(
                    self.root,
                    &join(&format!("{}/messages", channel.pointer), name),
                    m,
                ) {
                    Ok(r) => {
                        carried.push(r.pointer);
                        names.push(name);
                    }
                    // Reported as an unresolved reference; membership cannot be decided.
                    Err(_) => complete = false,
                }
            }
        }
        let Some(messages) = op.get("messages") else {
            return;
        };
        let Some(list) = messages.as_array() else {
            self.sink.error(
                "invalid-messages",
                &format!("{at}/messages"),
                format!("operation {id}'s messages must be a list of references"),
                "write `messages: [{$ref: '#/channels/CHANNEL/messages/NAME'}]`",
            );
            return;
        };
        for (i, message) in list.iter().enumerate() {
            let item_at = format!("{at}/messages/{i}");
            let Some(reference) = refs::ref_of(message) else {
                self.sink.error("invalid-messages", &item_at, format!("operation {id}'s message {i} is not a reference"), "reference one of the channel's messages: `{$ref: '#/channels/CHANNEL/messages/NAME'}`");
                continue;
            };
            let ref_at = format!("{item_at}/$ref");
            self.handled_refs.insert(ref_at.clone());
            match refs::resolve(self.root, reference) {
                Err(err) => self.sink.error("unresolved-ref", &ref_at, format!("operation {id}: {err}"), err.fix()),
                Ok(m) if complete && !carried.contains(&m.pointer) => self.sink.error(
                    "message-not-in-channel",
                    &ref_at,
                    format!("operation {id} sends or receives {reference:?}, which is not one of the messages of its channel #{}", channel.pointer),
                    format!("add the message to #{}/messages, or reference one of the messages listed there", channel.pointer),
                ),
                Ok(m) => {
                    // Accepted (same message), but the specification wants the reference to go
                    // through the channel, and the official AsyncAPI tooling rejects it otherwise.
                    let via_channel = [&named, &channel.pointer]
                        .iter()
                        .any(|c| pointer_prefix(reference, &format!("{c}/messages/")));
                    if !via_channel {
                        let name = carried
                            .iter()
                            .position(|p| *p == m.pointer)
                            .map_or("NAME", |i| names[i]);
                        let suggestion =
                            format!("#{named}/messages/{}", crate::document::escape(name));
                        self.sink.warning(
                            "message-not-via-channel",
                            &ref_at,
                            format!("operation {id} references {reference:?} directly; AsyncAPI 3 requires operation messages to reference its channel's messages (the official AsyncAPI CLI rejects this)"),
                            format!("reference it through the channel: `$ref: '{suggestion}'`"),
                        );
                    }
                }
            }
        }
    }

    fn components(&mut self) {
        let Some(components) = self.object_at("/components", "components", false) else {
            return;
        };
        if let Some(messages) = components.get("messages").and_then(Value::as_object) {
            for (name, message) in messages {
                let at = join("/components/messages", name);
                if let Some(m) = self.deref_object(&at, message, "message") {
                    self.messages.insert(m.pointer);
                }
            }
        }
        if let Some(schemas) = components.get("schemas").and_then(Value::as_object) {
            for (name, s) in schemas {
                if refs::ref_of(s).is_none() {
                    self.schema_object(&join("/components/schemas", name), s);
                }
            }
        }
    }

    /// References not reported on by a more specific check.
    fn remaining_refs(&mut self) {
        for (at, reference) in refs::all_refs(self.root) {
            if self.handled_refs.contains(&at) {
                continue;
            }
            match refs::resolve(self.root, &reference) {
                Ok(_) => {}
                Err(err @ RefError::External(_)) => {
                    self.sink
                        .warning("external-ref", &at, err.to_string(), err.fix())
                }
                Err(err) => self
                    .sink
                    .error("unresolved-ref", &at, err.to_string(), err.fix()),
            }
        }
    }

    /// The object at `pointer`, reporting a wrong type; `required` reports absence too.
    fn object_at(
        &mut self,
        pointer: &str,
        name: &str,
        required: bool,
    ) -> Option<&'d Map<String, Value>> {
        match self.root.pointer(pointer) {
            Some(Value::Object(map)) => Some(map),
            None if !required => None,
            None => {
                self.sink.error(
                    "missing-field",
                    pointer,
                    format!("`{name}` is required"),
                    format!("add `{name}:` to the document"),
                );
                None
            }
            Some(other) => {
                self.sink.error(
                    "invalid-type",
                    pointer,
                    format!("`{name}` must be a mapping, not {}", schema::kind(other)),
                    format!("write `{name}` as a mapping of names to objects"),
                );
                None
            }
        }
    }

    /// `value` at `at` or its reference target, which must be an object. Broken references
    /// are left to [`Self::remaining_refs`].
    fn deref_object(
        &mut self,
        at: &str,
        value: &'d Value,
        what: &str,
    ) -> Option<refs::Resolved<'d>> {
        let resolved = refs::deref(self.root, at, value).ok()?;
        if resolved.value.is_object() {
            Some(resolved)
        } else {
            self.sink.error(
                "invalid-type",
                at,
                format!(
                    "a {what} must be an object, not {}",
                    schema::kind(resolved.value)
                ),
                format!("write the {what} as a mapping of its fields"),
            );
            None
        }
    }
}

/// True when `reference` names a pointer under `prefix` (a JSON pointer ending in `/`).
fn pointer_prefix(reference: &str, prefix: &str) -> bool {
    refs::pointer_of(reference).is_ok_and(|p| p.starts_with(prefix))
}

fn is_supported_version(version: &str) -> bool {
    let mut parts = version.split('.');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("3"), Some("0" | "1"), Some(patch), None)
            if !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())
    )
}

#[cfg(test)]
mod tests {
    use super::is_supported_version;

    #[test]
    fn versions() {
        for ok in ["3.0.0", "3.1.0", "3.0.12"] {
            assert!(is_supported_version(ok), "{ok}");
        }
        for bad in ["2.6.0", "3.2.0", "3.1", "3.1.x", "3.1.0-rc1"] {
            assert!(!is_supported_version(bad), "{bad}");
        }
    }
}
