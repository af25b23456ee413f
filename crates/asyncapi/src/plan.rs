//! What the contract asks of the server, and how that differs from what the server has.
//!
//! Desired configs hold only the fields the contract sets plus weir's defaults (file storage,
//! limits retention, subjects = captured channel addresses; durable pull consumer, explicit
//! ack, filter = the receive operations' addresses). Comparison looks at those fields only, so
//! defaults the server fills in never show up as changes, and fields set by hand on the server
//! that the contract does not mention are left alone.

use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::intent::Intent;

/// A stream or consumer the contract implies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Desired {
    pub kind: Kind,
    pub stream: String,
    /// The consumer's name; the stream's name for a stream.
    pub name: String,
    pub config: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Stream,
    Consumer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Delete,
}

/// One field whose value on the server differs from the contract's (`current` is null when
/// the server does not have it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub current: Value,
    pub desired: Value,
}

/// One step of a plan. `config` is the body to send: the desired config for a create, the
/// server's config with the contract's fields laid over it for an update.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    pub kind: Kind,
    pub stream: String,
    pub name: String,
    pub action: Action,
    pub changes: Vec<FieldChange>,
    pub config: Map<String, Value>,
}

/// The streams then the consumers the contract implies, in name order.
pub fn desired(intent: &Intent) -> Vec<Desired> {
    let mut out = Vec::new();
    for stream in &intent.streams {
        let mut config = Map::new();
        config.insert("name".into(), json!(stream.name));
        config.insert("subjects".into(), json!(stream.subjects));
        config.insert("storage".into(), json!("file"));
        config.insert("retention".into(), json!("limits"));
        for (k, v) in &stream.config {
            config.insert(k.clone(), v.clone());
        }
        out.push(Desired {
            kind: Kind::Stream,
            stream: stream.name.clone(),
            name: stream.name.clone(),
            config,
        });
    }
    for consumer in &intent.consumers {
        let Some(stream) = &consumer.stream else {
            continue;
        };
        let mut config = Map::new();
        config.insert("durable_name".into(), json!(consumer.name));
        config.insert("ack_policy".into(), json!("explicit"));
        // One filter goes in filter_subject, which servers before 2.10 understand too.
        match consumer.filters.as_slice() {
            [] => {}
            [one] => {
                config.insert("filter_subject".into(), json!(one));
            }
            many => {
                config.insert("filter_subjects".into(), json!(many));
            }
        }
        for (k, v) in &consumer.config {
            config.insert(k.clone(), v.clone());
        }
        out.push(Desired {
            kind: Kind::Consumer,
            stream: stream.clone(),
            name: consumer.name.clone(),
            config,
        });
    }
    out
}

/// Compares a desired stream or consumer with the server's config (`None`: it does not exist).
pub fn diff(desired: &Desired, current: Option<&Map<String, Value>>) -> Step {
    let Some(current) = current else {
        return Step {
            kind: desired.kind,
            stream: desired.stream.clone(),
            name: desired.name.clone(),
            action: Action::Create,
            changes: desired
                .config
                .iter()
                .map(|(k, v)| FieldChange {
                    field: k.clone(),
                    current: Value::Null,
                    desired: v.clone(),
                })
                .collect(),
            config: desired.config.clone(),
        };
    };
    let mut changes = Vec::new();
    for (field, want) in &desired.config {
        let have = current_value(current, field);
        if !same(field, want, &have) {
            changes.push(FieldChange {
                field: field.clone(),
                current: have,
                desired: want.clone(),
            });
        }
    }
    let mut config = current.clone();
    for change in &changes {
        config.insert(change.field.clone(), change.desired.clone());
        // One filter form at a time: the server refuses both.
        match change.field.as_str() {
            "filter_subject" => {
                config.remove("filter_subjects");
            }
            "filter_subjects" => {
                config.remove("filter_subject");
            }
            _ => {}
        }
    }
    Step {
        kind: desired.kind,
        stream: desired.stream.clone(),
        name: desired.name.clone(),
        action: if changes.is_empty() {
            Action::Unchanged
        } else {
            Action::Update
        },
        changes,
        config,
    }
}

/// A delete step for a consumer the contract does not name (`--prune`).
pub fn delete_consumer(stream: &str, name: &str) -> Step {
    Step {
        kind: Kind::Consumer,
        stream: stream.to_string(),
        name: name.to_string(),
        action: Action::Delete,
        changes: Vec::new(),
        config: Map::new(),
    }
}

/// The server's value for `field`, reading a single-element `filter_subjects` as a
/// `filter_subject` (servers since 2.10 may report either form).
fn current_value(current: &Map<String, Value>, field: &str) -> Value {
    let value = current.get(field).cloned().unwrap_or(Value::Null);
    match (field, &value) {
        ("filter_subject", Value::Null | Value::String(_))
            if value.as_str().unwrap_or("").is_empty() =>
        {
            match current
                .get("filter_subjects")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
            {
                Some([one]) => one.clone(),
                _ => value,
            }
        }
        ("filter_subjects", Value::Null) => match current.get("filter_subject") {
            Some(Value::String(s)) if !s.is_empty() => json!([s]),
            _ => value,
        },
        _ => value,
    }
}

/// Equality as the server means it: subject lists are sets, numbers compare by value.
fn same(field: &str, want: &Value, have: &Value) -> bool {
    match (want, have) {
        (Value::Array(a), Value::Array(b)) if matches!(field, "subjects" | "filter_subjects") => {
            let mut a: Vec<String> = a.iter().map(Value::to_string).collect();
            let mut b: Vec<String> = b.iter().map(Value::to_string).collect();
            a.sort();
            a.dedup();
            b.sort();
            b.dedup();
            a == b
        }
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::Object(a), Value::Object(b)) => a
            .iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| same(k, v, w))),
        _ => want == have,
    }
}

/// True when no step changes anything.
pub fn is_noop(steps: &[Step]) -> bool {
    steps.iter().all(|s| s.action == Action::Unchanged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream() -> Desired {
        let mut config = Map::new();
        config.insert("name".into(), json!("ORDERS"));
        config.insert("subjects".into(), json!(["orders.created", "orders.paid"]));
        config.insert("storage".into(), json!("file"));
        config.insert("max_msgs".into(), json!(100));
        Desired {
            kind: Kind::Stream,
            stream: "ORDERS".into(),
            name: "ORDERS".into(),
            config,
        }
    }

    fn server(extra: Value) -> Map<String, Value> {
        let mut current = json!({"name": "ORDERS", "subjects": ["orders.paid", "orders.created"],
            "storage": "file", "retention": "limits", "max_msgs": 100, "max_bytes": -1,
            "num_replicas": 1})
        .as_object()
        .cloned()
        .unwrap();
        for (k, v) in extra.as_object().cloned().unwrap() {
            current.insert(k, v);
        }
        current
    }

    #[test]
    fn missing_means_create() {
        let step = diff(&stream(), None);
        assert_eq!(step.action, Action::Create);
        assert_eq!(step.config, stream().config);
    }

    #[test]
    fn server_defaults_and_subject_order_are_not_changes() {
        let step = diff(&stream(), Some(&server(json!({}))));
        assert_eq!(step.action, Action::Unchanged, "{:?}", step.changes);
    }

    #[test]
    fn contract_fields_are_reverted_and_others_kept() {
        let step = diff(
            &stream(),
            Some(&server(json!({"max_msgs": 5, "max_age": 60}))),
        );
        assert_eq!(step.action, Action::Update);
        assert_eq!(
            step.changes,
            vec![FieldChange {
                field: "max_msgs".into(),
                current: json!(5),
                desired: json!(100)
            }]
        );
        assert_eq!(step.config["max_msgs"], json!(100));
        assert_eq!(
            step.config["max_age"],
            json!(60),
            "fields the contract leaves alone stay"
        );
    }

    #[test]
    fn single_filter_reported_in_either_form_is_the_same() {
        let mut config = Map::new();
        config.insert("filter_subject".into(), json!("orders.created"));
        let consumer = Desired {
            kind: Kind::Consumer,
            stream: "S".into(),
            name: "c".into(),
            config,
        };
        let current = json!({"filter_subjects": ["orders.created"]})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(diff(&consumer, Some(&current)).action, Action::Unchanged);
        let other = json!({"filter_subject": "orders.paid"})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(diff(&consumer, Some(&other)).action, Action::Update);
    }
}
