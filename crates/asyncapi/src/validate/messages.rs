//! Messages: payload and header schemas (JSON Schema, or a Multi Format Schema Object whose
//! format is JSON Schema) and the examples checked against them.

use serde_json::Value;

use super::Validator;
use crate::{refs, schema};

impl Validator<'_> {
    pub(super) fn message(&mut self, at: &str) {
        let Some(message) = self.root.pointer(at) else {
            return;
        };
        let mut validator = None;
        if let Some(payload) = message.get("payload") {
            validator = self.payload(&format!("{at}/payload"), payload);
        }
        let headers = message
            .get("headers")
            .and_then(|h| self.payload(&format!("{at}/headers"), h));
        let Some(examples) = message.get("examples") else {
            return;
        };
        let Some(examples) = examples.as_array() else {
            self.sink.error(
                "invalid-examples",
                &format!("{at}/examples"),
                "examples must be a list",
                "write `examples: [{payload: {...}}]`",
            );
            return;
        };
        for (i, example) in examples.iter().enumerate() {
            for (part, check) in [("payload", &validator), ("headers", &headers)] {
                let (Some(check), Some(instance)) = (check, example.get(part)) else {
                    continue;
                };
                for problem in schema::instance_problems(check, instance) {
                    self.sink.error(
                        "example-mismatch",
                        &format!("{at}/examples/{i}/{part}{}", problem.path),
                        format!(
                            "example {i}'s {part} does not match the message's {part} schema: {}",
                            problem.message
                        ),
                        format!(
                            "change the example, or the schema at #{at}/{part}, so that they agree"
                        ),
                    );
                }
            }
        }
    }

    /// Checks a payload (or headers) schema and compiles it for the examples.
    fn payload(&mut self, at: &str, payload: &Value) -> Option<jsonschema::Validator> {
        let resolved = refs::deref(self.root, at, payload).ok()?;
        let (pointer, schema) = match resolved.value.get("schemaFormat") {
            // A Multi Format Schema Object: `{schemaFormat, schema}`.
            Some(Value::String(format)) => {
                if !schema::is_json_schema_format(format) {
                    self.sink.info(
                        "schema-not-checked",
                        &format!("{}/schemaFormat", resolved.pointer),
                        format!(
                            "schema format {format:?} is not JSON Schema; weir does not check it"
                        ),
                        "use a JSON Schema / AsyncAPI schema to have payloads and examples checked",
                    );
                    return None;
                }
                let inner = resolved.value.get("schema")?;
                let r =
                    refs::deref(self.root, &format!("{}/schema", resolved.pointer), inner).ok()?;
                (r.pointer, r.value)
            }
            _ => (resolved.pointer, resolved.value),
        };
        if !self.schema_object(&pointer, schema) {
            return None;
        }
        match schema::compile(self.root, &pointer, schema) {
            Ok(v) => Some(v),
            Err(message) => {
                self.sink.error("invalid-schema", &pointer, format!("the schema does not compile: {message}"), "fix the schema so it is valid JSON Schema (draft-07, which AsyncAPI schemas extend)");
                None
            }
        }
    }

    /// Meta-validates a schema; true when it is valid.
    pub(super) fn schema_object(&mut self, at: &str, schema: &Value) -> bool {
        let problems = schema::meta_problems(schema);
        for problem in &problems {
            self.sink.error(
                "invalid-schema",
                &format!("{at}{}", problem.path),
                format!("not a valid JSON Schema: {}", problem.message),
                "fix this keyword so the payload is valid JSON Schema (draft-07, which AsyncAPI \
                 schemas extend; e.g. `type` is one of string, number, integer, boolean, object, \
                 array, null)",
            );
        }
        problems.is_empty()
    }
}
