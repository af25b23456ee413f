//! Request bodies and how nats-server decodes them.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::errors::JsError;
use crate::stream_config::{is_zero_i64, is_zero_u64, StreamConfig};
use crate::time::Timestamp;

/// Page size of `$JS.API.STREAM.NAMES` (`JSApiNamesLimit`).
pub const STREAM_NAMES_LIMIT: usize = 1024;
/// Page size of `$JS.API.STREAM.LIST` (`JSApiListLimit`).
pub const STREAM_LIST_LIMIT: usize = 256;
/// Most subjects a stream info will detail (`JSMaxSubjectDetails`); also
/// the page size reported when `subjects_filter` is used.
pub const STREAM_INFO_SUBJECTS_LIMIT: usize = 100_000;
/// Most names `multi_last` may ask for in one direct get (ADR-31).
pub const DIRECT_GET_MULTI_LAST_LIMIT: usize = 1024;

/// Decodes a request body the way nats-server's `json.Unmarshal` does:
/// a JSON `null` member leaves the field at its zero value, and a body that
/// is not JSON for `T` is 10025. With `strict` (2.12+ default) an unknown
/// field is an error too.
pub fn decode_request<T: DeserializeOwned>(body: &[u8], strict: bool) -> Result<T, JsError> {
    let mut value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| JsError::invalid_json(e.to_string()))?;
    strip_nulls(&mut value);
    let mut unknown = Vec::new();
    let out: T = serde_ignored::deserialize(value, |path| unknown.push(path.to_string()))
        .map_err(|e| JsError::invalid_json(e.to_string()))?;
    if strict {
        if let Some(field) = unknown.first() {
            return Err(JsError::invalid_json(format!(
                "json: unknown field {field:?}"
            )));
        }
    }
    Ok(out)
}

/// Like [`decode_request`], but an empty (or all-whitespace) body means the
/// default request, as for info, names, list and purge.
pub fn decode_optional_request<T: DeserializeOwned + Default>(
    body: &[u8],
    strict: bool,
) -> Result<T, JsError> {
    // An empty body or a bare `null` (some clients send it) asks for the defaults.
    if body.iter().all(u8::is_ascii_whitespace) || body.trim_ascii() == b"null" {
        return Ok(T::default());
    }
    decode_request(body, strict)
}

/// nats-server's `isEmptyRequest` for bodies that must be empty (stream
/// and consumer delete, consumer info; 10038 otherwise): no bytes at all,
/// or a JSON object without members (`{}`, `{ }`). Whitespace alone or
/// `null` is not empty.
pub fn is_empty_request(body: &[u8]) -> bool {
    body.is_empty()
        || matches!(
            serde_json::from_slice::<serde_json::Value>(body),
            Ok(serde_json::Value::Object(m)) if m.is_empty()
        )
}

/// Go leaves a field untouched when the JSON value is `null`; dropping null
/// members before decoding gives serde the same zero-value default.
fn strip_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// Body of `$JS.API.STREAM.CREATE`/`UPDATE`: a config plus `pedantic` (2.11+).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamConfigRequest {
    #[serde(flatten)]
    pub config: StreamConfig,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pedantic: bool,
}

/// `$JS.API.STREAM.INFO` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamInfoRequest {
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub offset: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted_details: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subjects_filter: String,
}

/// `$JS.API.STREAM.NAMES` body; `subject` keeps streams whose subjects
/// overlap it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamNamesRequest {
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub offset: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub subject: String,
}

/// `$JS.API.STREAM.LIST` body.
pub type StreamListRequest = StreamNamesRequest;

/// `$JS.API.STREAM.PURGE` body (ADR-10).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamPurgeRequest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub seq: u64,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub keep: u64,
}

impl StreamPurgeRequest {
    /// `seq` and `keep` are mutually exclusive (10003).
    pub fn validate(&self) -> Result<(), JsError> {
        if self.seq > 0 && self.keep > 0 {
            return Err(JsError::BadRequest);
        }
        Ok(())
    }
}

/// `$JS.API.STREAM.MSG.DELETE` body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgDeleteRequest {
    pub seq: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_erase: bool,
}

impl MsgDeleteRequest {
    /// A sequence is required (10003).
    pub fn validate(&self) -> Result<(), JsError> {
        if self.seq == 0 {
            return Err(JsError::BadRequest);
        }
        Ok(())
    }
}

/// `$JS.API.STREAM.MSG.GET` and `$JS.API.DIRECT.GET` body (ADR-31).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct MsgGetRequest {
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub seq: u64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_by_subj: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub next_by_subj: String,
    /// 2.11: direct-get batch size.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub batch: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_bytes: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub multi_last: Vec<String>,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub up_to_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub up_to_time: Option<Timestamp>,
}

/// Direct get takes the same body.
pub type DirectGetRequest = MsgGetRequest;

impl MsgGetRequest {
    /// nats-server's rule for `STREAM.MSG.GET`: exactly one of `seq`,
    /// `last_by_subj`, `next_by_subj` (the last may combine with `seq` as a
    /// starting point), else 10003.
    pub fn validate_msg_get(&self) -> Result<(), JsError> {
        let has_last = !self.last_by_subj.is_empty();
        let has_next = !self.next_by_subj.is_empty();
        let ok = matches!(
            (self.seq > 0, has_last, has_next),
            (true, false, false) | (false, true, false) | (_, false, true)
        );
        if !ok || self.batch != 0 || !self.multi_last.is_empty() {
            return Err(JsError::BadRequest);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_members_are_zero_values() {
        let r: StreamPurgeRequest =
            decode_request(br#"{"filter":null,"seq":null,"keep":3}"#, true).unwrap();
        assert_eq!(
            r,
            StreamPurgeRequest {
                keep: 3,
                ..Default::default()
            }
        );
        let c: StreamConfig =
            decode_request(br#"{"name":"S","subjects":null,"mirror":null}"#, true).unwrap();
        assert!(c.subjects.is_empty() && c.mirror.is_none());
    }

    #[test]
    fn bad_json_is_10025() {
        let e = decode_request::<StreamConfig>(br#"{"name":"S5""#, false).unwrap_err();
        assert_eq!(e.err_code(), 10025);
        assert!(e.to_string().starts_with("invalid JSON: "));
        let e = decode_request::<StreamConfig>(b"", false).unwrap_err();
        assert_eq!(e.err_code(), 10025);
        let e = decode_request::<StreamInfoRequest>(br#"{"offset":"x"}"#, false).unwrap_err();
        assert_eq!(e.err_code(), 10025);
    }

    #[test]
    fn strict_rejects_unknown_fields_lenient_ignores_them() {
        let body = br#"{"name":"S","foo":1,"placement":{"bar":2}}"#;
        let c: StreamConfig = decode_request(body, false).unwrap();
        assert_eq!(c.name, "S");
        let e = decode_request::<StreamConfig>(body, true).unwrap_err();
        assert_eq!(e.err_code(), 10025);
        assert!(e.to_string().contains("foo"), "{e}");
    }

    #[test]
    fn empty_request_like_go() {
        for body in [&b""[..], b"{}", b" { } "] {
            assert!(is_empty_request(body), "{body:?}");
        }
        for body in [&b" "[..], b"null", b"{\"a\":1}", b"[]", b"{"] {
            assert!(!is_empty_request(body), "{body:?}");
        }
    }

    #[test]
    fn optional_bodies() {
        let r: StreamInfoRequest = decode_optional_request(b"", true).unwrap();
        assert_eq!(r, StreamInfoRequest::default());
        let r: StreamNamesRequest = decode_optional_request(br#"{"offset":2}"#, true).unwrap();
        assert_eq!(r.offset, 2);
    }

    #[test]
    fn config_request_carries_pedantic() {
        let r: StreamConfigRequest =
            decode_request(br#"{"name":"S","pedantic":true}"#, true).unwrap();
        assert!(r.pedantic);
        assert_eq!(r.config.name, "S");
    }

    #[test]
    fn msg_get_rules_match_nats_server() {
        let ok = |json: &str| {
            decode_request::<MsgGetRequest>(json.as_bytes(), true)
                .unwrap()
                .validate_msg_get()
                .is_ok()
        };
        assert!(ok(r#"{"seq":3}"#));
        assert!(ok(r#"{"last_by_subj":"kv.b"}"#));
        assert!(ok(r#"{"seq":1,"next_by_subj":"kv.b"}"#));
        assert!(!ok(r#"{"seq":1,"last_by_subj":"kv.b"}"#));
        assert!(!ok(r#"{}"#));
    }

    #[test]
    fn purge_and_delete_rules() {
        let p = StreamPurgeRequest {
            seq: 2,
            keep: 1,
            ..Default::default()
        };
        assert_eq!(p.validate(), Err(JsError::BadRequest));
        assert!(StreamPurgeRequest::default().validate().is_ok());
        assert_eq!(
            MsgDeleteRequest::default().validate(),
            Err(JsError::BadRequest)
        );
        let d: MsgDeleteRequest = decode_request(br#"{"seq":1,"no_erase":true}"#, true).unwrap();
        assert!(d.validate().is_ok() && d.no_erase);
    }

    #[test]
    fn direct_get_request_round_trips() {
        let v = serde_json::json!({"seq":1,"batch":5,"max_bytes":100,
            "start_time":"2020-01-02T03:04:05Z","multi_last":["a","b"],"up_to_seq":9,
            "up_to_time":"2020-01-02T03:04:06Z"});
        let r: DirectGetRequest = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&r).unwrap(), v);
    }
}
