//! Consumer API response bodies, used with [`crate::ApiResponse`]
//! (`server/jetstream_api.go`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::consumer_info::ConsumerInfo;
use crate::responses::{ApiPaged, ApiResponse, SuccessBody};
use crate::stream_config::is_zero_i64;
use crate::time::Timestamp;

pub const CONSUMER_CREATE_RESPONSE: &str = "io.nats.jetstream.api.v1.consumer_create_response";
pub const CONSUMER_INFO_RESPONSE: &str = "io.nats.jetstream.api.v1.consumer_info_response";
pub const CONSUMER_NAMES_RESPONSE: &str = "io.nats.jetstream.api.v1.consumer_names_response";
pub const CONSUMER_LIST_RESPONSE: &str = "io.nats.jetstream.api.v1.consumer_list_response";
pub const CONSUMER_DELETE_RESPONSE: &str = "io.nats.jetstream.api.v1.consumer_delete_response";
pub const CONSUMER_PAUSE_RESPONSE: &str = "io.nats.jetstream.api.v1.consumer_pause_response";
pub const CONSUMER_UNPIN_RESPONSE: &str = "io.nats.jetstream.api.v1.consumer_unpin_response";
pub const CONSUMER_RESET_RESPONSE: &str = "io.nats.jetstream.api.v1.consumer_reset_response";

/// Create and info: the consumer's info, absent on error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerInfoBody {
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub info: Option<ConsumerInfo>,
}

/// Names: sorted names, `[]` when there are none (never `null`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerNamesBody {
    #[serde(flatten)]
    pub paged: ApiPaged,
    #[serde(default)]
    pub consumers: Vec<String>,
}

/// List: infos sorted by name, `[]` when none; `missing` and `offline`
/// (name → reason) name consumers that could not report.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerListBody {
    #[serde(flatten)]
    pub paged: ApiPaged,
    #[serde(default)]
    pub consumers: Vec<ConsumerInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<BTreeMap<String, String>>,
}

/// Pause: `paused` and `pause_until` are always sent (the zero time when
/// resumed, and on errors); `pause_remaining` only while paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerPauseBody {
    #[serde(default)]
    pub paused: bool,
    #[serde(default)]
    pub pause_until: Timestamp,
    /// Nanoseconds.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub pause_remaining: i64,
}

impl ConsumerPauseBody {
    /// The answer for a pause deadline as of `now`.
    pub fn at(pause_until: Option<Timestamp>, now: Timestamp) -> ConsumerPauseBody {
        let (paused, pause_remaining) = crate::consumer_info::pause_state(pause_until, now);
        ConsumerPauseBody {
            paused,
            pause_until: pause_until.unwrap_or(Timestamp::ZERO),
            pause_remaining,
        }
    }
}

/// Unpin: only `type` (and `error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmptyBody {}

/// Reset (2.14): the consumer's info plus the sequence it now starts at;
/// `reset_seq` is always sent.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConsumerResetBody {
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub info: Option<ConsumerInfo>,
    #[serde(default)]
    pub reset_seq: u64,
}

pub type ConsumerCreateResponse = ApiResponse<ConsumerInfoBody>;
pub type ConsumerInfoResponse = ApiResponse<ConsumerInfoBody>;
pub type ConsumerNamesResponse = ApiResponse<ConsumerNamesBody>;
pub type ConsumerListResponse = ApiResponse<ConsumerListBody>;
pub type ConsumerDeleteResponse = ApiResponse<SuccessBody>;
pub type ConsumerPauseResponse = ApiResponse<ConsumerPauseBody>;
pub type ConsumerUnpinResponse = ApiResponse<EmptyBody>;
pub type ConsumerResetResponse = ApiResponse<ConsumerResetBody>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer_config::ConsumerConfig;
    use crate::errors::JsError;

    fn text<T: Serialize>(r: &ApiResponse<T>) -> String {
        String::from_utf8(r.to_bytes()).unwrap()
    }

    #[test]
    fn error_envelopes() {
        let e = JsError::ConsumerNotFound;
        let r = ConsumerInfoResponse::err(CONSUMER_INFO_RESPONSE, &e, Default::default());
        assert_eq!(
            text(&r),
            r#"{"type":"io.nats.jetstream.api.v1.consumer_info_response","error":{"code":404,"err_code":10014,"description":"consumer not found"}}"#
        );
        let r = ConsumerNamesResponse::err(CONSUMER_NAMES_RESPONSE, &e, Default::default());
        assert!(text(&r).ends_with(r#""total":0,"offset":0,"limit":0,"consumers":[]}"#));
        let r = ConsumerPauseResponse::err(CONSUMER_PAUSE_RESPONSE, &e, Default::default());
        assert!(text(&r).ends_with(r#""paused":false,"pause_until":"0001-01-01T00:00:00Z"}"#));
        let r = ConsumerDeleteResponse::err(CONSUMER_DELETE_RESPONSE, &e, Default::default());
        assert!(text(&r).ends_with(r#""description":"consumer not found"}}"#));
        let r = ConsumerResetResponse::err(CONSUMER_RESET_RESPONSE, &e, Default::default());
        assert!(text(&r).ends_with(r#"},"reset_seq":0}"#));
    }

    #[test]
    fn success_envelopes() {
        let r = ConsumerUnpinResponse::ok(CONSUMER_UNPIN_RESPONSE, EmptyBody {});
        assert_eq!(
            text(&r),
            r#"{"type":"io.nats.jetstream.api.v1.consumer_unpin_response"}"#
        );
        let now = Timestamp::from_unix_nanos(1_000_000_000);
        let until = Timestamp::from_unix_nanos(2_000_000_000);
        let r = ConsumerPauseResponse::ok(
            CONSUMER_PAUSE_RESPONSE,
            ConsumerPauseBody::at(Some(until), now),
        );
        assert!(text(&r).ends_with(
            r#""paused":true,"pause_until":"1970-01-01T00:00:02Z","pause_remaining":1000000000}"#
        ));
        let list = ConsumerListResponse::ok(CONSUMER_LIST_RESPONSE, Default::default());
        assert!(text(&list).ends_with(r#""consumers":[]}"#));
    }

    #[test]
    fn info_bodies_round_trip() {
        let cfg = ConsumerConfig {
            durable_name: "C".into(),
            name: "C".into(),
            ..Default::default()
        };
        let info = ConsumerInfo::new("S", cfg, Timestamp::ZERO, Timestamp::ZERO);
        let r = ConsumerCreateResponse::ok(
            CONSUMER_CREATE_RESPONSE,
            ConsumerInfoBody {
                info: Some(info.clone()),
            },
        );
        let back: ConsumerCreateResponse = serde_json::from_slice(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
        let r = ConsumerResetResponse::ok(
            CONSUMER_RESET_RESPONSE,
            ConsumerResetBody {
                info: Some(info),
                reset_seq: 4,
            },
        );
        let back: ConsumerResetResponse = serde_json::from_slice(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
        let err: ConsumerInfoResponse = serde_json::from_str(
            r#"{"type":"x","error":{"code":404,"err_code":10014,"description":"consumer not found"}}"#,
        )
        .unwrap();
        assert_eq!(err.body.info, None);
    }
}
