//! Query-string decoding shared by the endpoints, with nats-server's semantics: the first
//! value of a parameter counts, an empty value means "not given", unknown parameters are
//! ignored, and a bad value answers 400 with nats-server's plain-text message.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// A 400 answer carrying nats-server's message text.
#[derive(Debug)]
pub struct BadRequest(pub String);

impl IntoResponse for BadRequest {
    fn into_response(self) -> Response {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.0,
        )
            .into_response()
    }
}

/// The decoded query string of one request.
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(pairs: Vec<(String, String)>) -> Self {
        Params(pairs)
    }

    /// The first value of `name`, or "" (Go's `url.Values.Get`).
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// `strconv.ParseBool`: 1, t, T, TRUE, true, True and their false forms.
    pub fn bool(&self, name: &str) -> Result<bool, BadRequest> {
        let raw = self.get(name);
        match raw {
            "" => Ok(false),
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
            _ => Err(BadRequest(format!(
                "Error decoding boolean for '{name}': strconv.ParseBool: parsing {}: invalid syntax",
                go_quote(raw)
            ))),
        }
    }

    /// `strconv.Atoi` (64-bit), 0 when absent.
    pub fn int(&self, name: &str) -> Result<i64, BadRequest> {
        let raw = self.get(name);
        if raw.is_empty() {
            return Ok(0);
        }
        raw.parse::<i64>().map_err(|err| {
            BadRequest(format!(
                "Error decoding int for '{name}': strconv.Atoi: parsing {}: {}",
                go_quote(raw),
                int_error_text(err.kind())
            ))
        })
    }

    /// `strconv.ParseUint(s, 10, 64)`, 0 when absent. Unlike Rust, Go takes no sign here.
    pub fn uint64(&self, name: &str) -> Result<u64, BadRequest> {
        let raw = self.get(name);
        if raw.is_empty() {
            return Ok(0);
        }
        let parsed = if raw.starts_with(['+', '-']) {
            Err("invalid syntax")
        } else {
            raw.parse::<u64>().map_err(|err| int_error_text(err.kind()))
        };
        parsed.map_err(|text| {
            BadRequest(format!(
                "Error decoding uint64 for '{name}': strconv.ParseUint: parsing {}: {text}",
                go_quote(raw)
            ))
        })
    }
}

fn int_error_text(kind: &std::num::IntErrorKind) -> &'static str {
    match kind {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            "value out of range"
        }
        _ => "invalid syntax",
    }
}

/// Close to Go's `strconv.Quote` for the ASCII input these messages see.
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// nats-server's paging: a negative offset is 0, a non-positive limit is `default_limit`.
pub fn paging(offset: i64, limit: i64, default_limit: usize) -> (usize, usize) {
    let offset = usize::try_from(offset).unwrap_or(0);
    let limit = usize::try_from(limit)
        .ok()
        .filter(|&l| l > 0)
        .unwrap_or(default_limit);
    (offset, limit)
}

/// The `[offset, offset + limit)` window of `len` items, clamped like nats-server.
pub fn window(offset: usize, limit: usize, len: usize) -> std::ops::Range<usize> {
    let start = offset.min(len);
    let end = offset.saturating_add(limit).min(len);
    start..end
}

/// A JSON number the way Go prints a float64: whole values without a fraction.
pub fn go_float(v: f64) -> serde_json::Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        serde_json::Value::from(v as i64)
    } else {
        serde_json::Value::from(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &[(&str, &str)]) -> Params {
        Params::new(
            q.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn decodes_like_go() {
        let p = params(&[
            ("a", "True"),
            ("n", "+5"),
            ("u", "+1"),
            ("big", "99999999999999999999"),
        ]);
        assert_eq!(p.bool("a").ok(), Some(true));
        assert_eq!(p.bool("missing").ok(), Some(false));
        assert_eq!(p.int("n").ok(), Some(5));
        assert_eq!(
            p.uint64("u").err().map(|e| e.0),
            Some(
                "Error decoding uint64 for 'u': strconv.ParseUint: parsing \"+1\": invalid syntax"
                    .to_string()
            )
        );
        assert_eq!(
            p.int("big").err().map(|e| e.0),
            Some("Error decoding int for 'big': strconv.Atoi: parsing \"99999999999999999999\": value out of range".to_string())
        );
    }

    #[test]
    fn pages_and_windows() {
        assert_eq!(paging(-1, 0, 1024), (0, 1024));
        assert_eq!(paging(3, 2, 1024), (3, 2));
        assert_eq!(window(5, 10, 3), 3..3);
        assert_eq!(window(1, 1, 3), 1..2);
        assert_eq!(go_float(0.0), serde_json::json!(0));
        assert_eq!(go_float(0.75), serde_json::json!(0.75));
    }
}
