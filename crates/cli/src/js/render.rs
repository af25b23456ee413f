//! Rendering helpers the JetStream verbs share: limits where -1 (or 0) means unlimited,
//! durations the API gives in nanoseconds.

use std::time::Duration;

use serde_json::Value;

use crate::output::{commas, human_bytes, human_duration};

/// A byte limit: "unlimited" for -1, 0 or absent.
pub fn limit_bytes(value: &Value) -> String {
    match value.as_i64() {
        Some(n) if n > 0 => human_bytes(n as u64),
        _ => "unlimited".to_string(),
    }
}

/// A count limit: "unlimited" for -1, 0 or absent.
pub fn limit_count(value: &Value) -> String {
    match value.as_i64() {
        Some(n) if n > 0 => commas(n as u64),
        _ => "unlimited".to_string(),
    }
}

/// A duration in nanoseconds; `zero` is what 0 or absent means for this field
/// ("unlimited", "0s", …).
pub fn nanos(value: &Value, zero: &str) -> String {
    match value.as_u64() {
        Some(n) if n > 0 => human_duration(Duration::from_nanos(n)),
        _ => zero.to_string(),
    }
}

/// A number (absent → 0) with thousands separators.
pub fn count(value: &Value) -> String {
    commas(value.as_u64().unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_and_durations() {
        assert_eq!(limit_bytes(&json!(-1)), "unlimited");
        assert_eq!(limit_bytes(&json!(1024)), "1.00 KiB");
        assert_eq!(limit_count(&json!(0)), "unlimited");
        assert_eq!(limit_count(&json!(1500)), "1,500");
        assert_eq!(nanos(&json!(0), "unlimited"), "unlimited");
        assert_eq!(count(&Value::Null), "0");
    }
}
