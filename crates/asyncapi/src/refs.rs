//! Local `$ref` resolution: `#/components/...`, `#/channels/...`. Chains of references are
//! followed to their final target, whose pointer identifies the object (two references to the
//! same component resolve to the same pointer, which is how "this message belongs to that
//! channel" is decided).

use serde_json::Value;

/// Why a reference cannot be followed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("external reference {0:?} is not resolved")]
    External(String),
    #[error("{reference:?} points to nothing: {missing} does not exist{known}")]
    Missing {
        reference: String,
        /// The first pointer prefix that is absent.
        missing: String,
        /// ` (known: a, b)` listing the keys that do exist there, or empty.
        known: String,
    },
    #[error("{0:?} is part of a reference cycle")]
    Cycle(String),
}

impl RefError {
    /// A sentence saying how to fix it.
    pub fn fix(&self) -> String {
        match self {
            RefError::External(_) => "inline the referenced object under #/components and \
                                      reference it locally (weir follows local references only)"
                .to_string(),
            RefError::Missing { .. } => "point the $ref at an existing object (spelling and case \
                                         matter), or define the object there"
                .to_string(),
            RefError::Cycle(_) => "make one object of the cycle hold the definition instead \
                                   of a $ref"
                .to_string(),
        }
    }
}

/// The JSON pointer a local reference names: `#/a/b%20c` → `/a/b c`.
pub fn pointer_of(reference: &str) -> Result<String, RefError> {
    let Some(fragment) = reference.strip_prefix('#') else {
        return Err(RefError::External(reference.to_string()));
    };
    Ok(percent_decode(fragment))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The object a value stands for, with the pointer where it really lives.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<'a> {
    pub value: &'a Value,
    pub pointer: String,
}

/// The `$ref` string of `value`, if it is a reference object.
pub fn ref_of(value: &Value) -> Option<&str> {
    value.get("$ref").and_then(Value::as_str)
}

/// Follows `reference` (and any chain of references it leads to, including references met
/// on the way: `#/channels/a/messages/m` where `#/channels/a` is itself a `$ref`).
pub fn resolve<'a>(root: &'a Value, reference: &str) -> Result<Resolved<'a>, RefError> {
    resolve_within(root, reference, reference, 0)
}

/// Longer chains than this are taken for cycles.
const MAX_DEPTH: usize = 64;

fn resolve_within<'a>(
    root: &'a Value,
    reference: &str,
    original: &str,
    depth: usize,
) -> Result<Resolved<'a>, RefError> {
    if depth > MAX_DEPTH {
        return Err(RefError::Cycle(original.to_string()));
    }
    let pointer = pointer_of(reference)?;
    let mut node = root;
    let mut real = String::new();
    let mut shown = String::new();
    for raw in pointer.split('/').skip(1) {
        if let Some(inner) = ref_of(node) {
            let target = resolve_within(root, inner, original, depth + 1)?;
            node = target.value;
            real = target.pointer;
        }
        let segment = raw.replace("~1", "/").replace("~0", "~");
        shown = format!("{shown}/{raw}");
        let next = match node {
            Value::Object(map) => map.get(&segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        let Some(next) = next else {
            let known = match node {
                Value::Object(map) if !map.is_empty() => {
                    let keys: Vec<&str> = map.keys().take(8).map(String::as_str).collect();
                    format!(" (known: {})", keys.join(", "))
                }
                _ => String::new(),
            };
            return Err(RefError::Missing {
                reference: original.to_string(),
                missing: format!("#{shown}"),
                known,
            });
        };
        node = next;
        real = crate::document::join(&real, &segment);
    }
    match ref_of(node) {
        Some(next) => resolve_within(root, next, original, depth + 1),
        None => Ok(Resolved {
            value: node,
            pointer: real,
        }),
    }
}

/// `value` (found at `at`) itself, or what it references.
pub fn deref<'a>(root: &'a Value, at: &str, value: &'a Value) -> Result<Resolved<'a>, RefError> {
    match ref_of(value) {
        Some(reference) => resolve(root, reference),
        None => Ok(Resolved {
            value,
            pointer: at.to_string(),
        }),
    }
}

/// Every `$ref` string in the document: (pointer of the `$ref` member, reference).
pub fn all_refs(root: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect(root, "", &mut out);
    out
}

fn collect(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let path = crate::document::join(at, key);
                match (key.as_str(), child) {
                    ("$ref", Value::String(reference)) => out.push((path, reference.clone())),
                    _ => collect(child, &path, out),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                collect(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "channels": {"c": {"messages": {"m": {"$ref": "#/components/messages/M"}}}},
            "components": {"messages": {
                "M": {"name": "M"},
                "Alias": {"$ref": "#/components/messages/M"},
                "Loop1": {"$ref": "#/components/messages/Loop2"},
                "Loop2": {"$ref": "#/components/messages/Loop1"},
                "a/b": {"name": "slash"}
            }}
        })
    }

    #[test]
    fn chains_resolve_to_the_final_target() {
        let root = doc();
        let direct = resolve(&root, "#/components/messages/M").unwrap();
        let via_channel = resolve(&root, "#/channels/c/messages/m").unwrap();
        let via_alias = resolve(&root, "#/components/messages/Alias").unwrap();
        assert_eq!(direct.pointer, "/components/messages/M");
        assert_eq!(via_channel.pointer, direct.pointer);
        assert_eq!(via_alias.value, &json!({"name": "M"}));
    }

    #[test]
    fn references_on_the_way_are_followed() {
        let root = json!({
            "channels": {"a": {"$ref": "#/components/channels/A"}},
            "components": {"channels": {"A": {"messages": {"m": {"name": "m"}}}}}
        });
        let m = resolve(&root, "#/channels/a/messages/m").unwrap();
        assert_eq!(m.pointer, "/components/channels/A/messages/m");
        assert_eq!(m.value["name"], "m");
        assert!(matches!(
            resolve(&root, "#/channels/a/messages/x"),
            Err(RefError::Missing { missing, .. }) if missing == "#/channels/a/messages/x"
        ));
    }

    #[test]
    fn escaped_and_encoded_segments() {
        let root = doc();
        assert_eq!(
            resolve(&root, "#/components/messages/a~1b").unwrap().value["name"],
            "slash"
        );
        assert_eq!(pointer_of("#/a%20b").unwrap(), "/a b");
    }

    #[test]
    fn missing_external_and_cyclic_references() {
        let root = doc();
        match resolve(&root, "#/components/messages/Nope") {
            Err(RefError::Missing { missing, known, .. }) => {
                assert_eq!(missing, "#/components/messages/Nope");
                assert!(known.contains("M"), "{known}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve(&root, "other.yaml#/x"),
            Err(RefError::External(_))
        ));
        assert!(matches!(
            resolve(&root, "#/components/messages/Loop1"),
            Err(RefError::Cycle(_))
        ));
    }

    #[test]
    fn every_ref_is_listed_with_its_path() {
        let refs = all_refs(&doc());
        assert!(refs.contains(&(
            "/channels/c/messages/m/$ref".to_string(),
            "#/components/messages/M".to_string()
        )));
        assert_eq!(refs.len(), 4);
    }
}
