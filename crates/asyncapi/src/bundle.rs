//! Self-contained payload schemas per stored subject, for whoever enforces them on publish
//! (the server has no AsyncAPI document to resolve `#/components/...` against).
//!
//! Every local `$ref` is rewritten to point under one member of the bundled schema,
//! `x-weir-refs` (beside an `allOf` holding the schema itself), which holds a copy of each
//! referenced object keyed by its original pointer, so recursive schemas stay finite.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::document::join;
use crate::intent::Intent;
use crate::refs::{self, RefError};

/// Where the copies of referenced objects live in a bundled schema.
pub const REFS_KEY: &str = "x-weir-refs";

/// The payload schema publishes on `subject` must match.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubjectSchema {
    pub stream: String,
    /// The channel address as a subject (`{param}` → `*`).
    pub subject: String,
    /// Pointers of the messages the channel carries.
    pub messages: Vec<String>,
    /// One message's payload, or `oneOf` the payloads; draft-07; self-contained.
    pub schema: Value,
}

/// `schema` (found in `root`) with its local references bundled in.
pub fn bundle(root: &Value, schema: &Value) -> Result<Value, RefError> {
    let mut wanted = BTreeSet::new();
    let mut out = rewrite(schema, &mut wanted)?;
    let mut copies = Map::new();
    while let Some(pointer) = wanted.iter().find(|p| !copies.contains_key(*p)).cloned() {
        let target = refs::resolve(root, &format!("#{pointer}"))?;
        // Copy what the pointer names (not its final target) so chains stay valid.
        let original = root.pointer(&pointer).unwrap_or(target.value);
        let copied = rewrite(original, &mut wanted)?;
        copies.insert(pointer, copied);
    }
    if !copies.is_empty() {
        // Wrapped, since draft-07 ignores the siblings of a top-level `$ref`.
        out = json!({"allOf": [out], REFS_KEY: copies});
    }
    Ok(out)
}

fn rewrite(value: &Value, wanted: &mut BTreeSet<String>) -> Result<Value, RefError> {
    Ok(match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let new = match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => {
                        let pointer = refs::pointer_of(r)?;
                        let target = format!("#{}", join(&format!("/{REFS_KEY}"), &pointer));
                        wanted.insert(pointer);
                        Value::String(target)
                    }
                    _ => rewrite(v, wanted)?,
                };
                out.insert(k.clone(), new);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| rewrite(v, wanted))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// The bundled payload schema of every channel a stream of the contract stores.
pub fn subject_schemas(root: &Value, intent: &Intent) -> Result<Vec<SubjectSchema>, RefError> {
    let mut out = Vec::new();
    for channel in &intent.channels {
        let Some(stream) = intent
            .capturing_streams(std::slice::from_ref(&channel.subject))
            .into_iter()
            .next()
        else {
            continue;
        };
        let Some(object) = root.pointer(&channel.pointer) else {
            continue;
        };
        let mut messages = Vec::new();
        let mut payloads = Vec::new();
        let listed = object.get("messages").and_then(Value::as_object);
        for (name, message) in listed.into_iter().flatten() {
            let at = join(&format!("{}/messages", channel.pointer), name);
            let message = refs::deref(root, &at, message)?;
            if let Some(payload) = message.value.get("payload") {
                payloads.push(bundle(root, payload)?);
            }
            messages.push(message.pointer);
        }
        let schema = match payloads.len() {
            0 => continue,
            1 => payloads.remove(0),
            _ => json!({"oneOf": payloads}),
        };
        out.push(SubjectSchema {
            stream,
            subject: channel.subject.clone(),
            messages,
            schema,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_copied_in_including_recursive_ones() {
        let root = json!({"components": {"schemas": {
            "Id": {"type": "string", "minLength": 3},
            "Node": {"type": "object", "properties": {
                "id": {"$ref": "#/components/schemas/Id"},
                "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}}}}
        }}});
        let bundled = bundle(&root, &json!({"$ref": "#/components/schemas/Node"})).unwrap();
        let validator = jsonschema::draft7::new(&bundled).expect("compiles alone");
        assert!(validator.is_valid(&json!({"id": "abc", "children": [{"id": "def"}]})));
        assert!(!validator.is_valid(&json!({"id": "abc", "children": [{"id": "d"}]})));
        assert!(matches!(
            bundle(&root, &json!({"$ref": "#/components/schemas/Nope"})),
            Err(RefError::Missing { .. })
        ));
    }
}
