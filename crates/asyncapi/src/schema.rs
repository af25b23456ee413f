//! Message payloads as JSON Schema: meta-validation (is this a schema at all?), compilation
//! with the whole contract as the base document (so `$ref: '#/components/schemas/X'` inside
//! a payload resolves as AsyncAPI means it), and validation of examples.
//!
//! AsyncAPI's default schema format (the AsyncAPI Schema Object) is a superset of JSON Schema
//! draft-07, so draft-07 applies unless the schema names another draft in `$schema`.

use jsonschema::{Draft, Registry, Validator};
use serde_json::{json, Value};

/// The URI the contract is registered under while compiling its schemas.
const CONTRACT_URI: &str = "urn:weir:contract";

/// One way a schema or an instance is wrong: pointer (relative to the schema or instance
/// root) and what the validator said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

/// `schemaFormat` values whose schema is JSON Schema (or the AsyncAPI superset of it).
pub fn is_json_schema_format(format: &str) -> bool {
    let base = format.split(';').next().unwrap_or("").trim();
    matches!(
        base,
        "application/vnd.aai.asyncapi"
            | "application/vnd.aai.asyncapi+json"
            | "application/vnd.aai.asyncapi+yaml"
            | "application/schema+json"
            | "application/schema+yaml"
    )
}

fn declares_draft(schema: &Value) -> bool {
    schema.get("$schema").is_some()
}

/// Checks `schema` against its meta-schema (draft-07 unless `$schema` says otherwise).
pub fn meta_problems(schema: &Value) -> Vec<Problem> {
    if schema.is_boolean() {
        return Vec::new();
    }
    if !schema.is_object() {
        return vec![Problem {
            path: String::new(),
            message: format!(
                "a schema must be an object or a boolean, not {}",
                kind(schema)
            ),
        }];
    }
    let result = if declares_draft(schema) {
        jsonschema::meta::validate(schema)
            .map_err(|e| (e.instance_path().as_str().to_string(), e.to_string()))
    } else {
        jsonschema::draft7::meta::validate(schema)
            .map_err(|e| (e.instance_path().as_str().to_string(), e.to_string()))
    };
    match result {
        Ok(()) => Vec::new(),
        Err((path, message)) => {
            // The meta-schema's answer for a bad `type` is an opaque anyOf failure.
            let message = match schema.pointer(&path) {
                Some(value) if path.ends_with("/type") => format!(
                    "{value} is not a JSON Schema type (string, number, integer, boolean, object, array, null)"
                ),
                _ => message,
            };
            vec![Problem { path, message }]
        }
    }
}

/// Compiles the schema found at `pointer` in the contract `root`.
pub fn compile(root: &Value, pointer: &str, schema: &Value) -> Result<Validator, String> {
    let draft = if declares_draft(schema) {
        jsonschema::meta::validate(schema).map_err(|e| e.to_string())?;
        None
    } else {
        Some(Draft::Draft7)
    };
    let mut builder = Registry::new();
    if let Some(draft) = draft {
        builder = builder.draft(draft);
    }
    let registry = builder
        .add(CONTRACT_URI, root)
        .and_then(|b| b.prepare())
        .map_err(|e| e.to_string())?;
    let entry = json!({"$ref": format!("{CONTRACT_URI}#{}", encode_fragment(pointer))});
    let mut options = jsonschema::options().should_validate_formats(true);
    if let Some(draft) = draft {
        options = options.with_draft(draft);
    }
    options
        .with_registry(&registry)
        .build(&entry)
        .map_err(|e| e.to_string())
}

/// Every way `instance` fails `validator`.
pub fn instance_problems(validator: &Validator, instance: &Value) -> Vec<Problem> {
    validator
        .iter_errors(instance)
        .map(|e| Problem {
            path: e.instance_path().as_str().to_string(),
            message: e.to_string(),
        })
        .collect()
}

/// Percent-encodes a JSON pointer for use as a URI fragment.
fn encode_fragment(pointer: &str) -> String {
    let mut out = String::with_capacity(pointer.len());
    for b in pointer.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_refs_resolve_against_the_contract() {
        let root = json!({"components": {
            "schemas": {"Id": {"type": "string", "minLength": 3}},
            "messages": {"M": {"payload": {"type": "object",
                "properties": {"id": {"$ref": "#/components/schemas/Id"}}}}}
        }});
        let pointer = "/components/messages/M/payload";
        let validator = compile(
            &root,
            pointer,
            &root["components"]["messages"]["M"]["payload"],
        )
        .unwrap();
        assert!(validator.is_valid(&json!({"id": "abc"})));
        let problems = instance_problems(&validator, &json!({"id": "a"}));
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].path, "/id");
    }

    #[test]
    fn bad_keyword_values_are_found_with_their_path() {
        let problems = meta_problems(&json!({"properties": {"s": {"type": "strin"}}}));
        assert_eq!(problems[0].path, "/properties/s/type");
        assert!(meta_problems(&json!({"type": "object"})).is_empty());
        assert!(!meta_problems(&json!(3)).is_empty());
    }

    #[test]
    fn formats() {
        assert!(is_json_schema_format(
            "application/vnd.aai.asyncapi+yaml;version=3.0.0"
        ));
        assert!(is_json_schema_format(
            "application/schema+json;version=draft-07"
        ));
        assert!(!is_json_schema_format(
            "application/vnd.apache.avro;version=1.9.0"
        ));
    }
}
