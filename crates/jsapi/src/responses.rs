//! Response envelopes: `{"type":…,"error"?:…, <body>}` (ADR-1).
//!
//! Body fields nats-server never omits stay present in error responses too
//! (e.g. an info error still carries `total/offset/limit`), so each body type
//! decides its own omissions.

use serde::{Deserialize, Serialize};

use crate::account::AccountInfo;
use crate::errors::{ApiError, JsError};
use crate::stream_info::{StoredMsg, StreamInfo};

pub const STREAM_CREATE_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_create_response";
pub const STREAM_UPDATE_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_update_response";
pub const STREAM_INFO_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_info_response";
pub const STREAM_NAMES_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_names_response";
pub const STREAM_LIST_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_list_response";
pub const STREAM_DELETE_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_delete_response";
pub const STREAM_PURGE_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_purge_response";
pub const STREAM_MSG_GET_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_msg_get_response";
pub const STREAM_MSG_DELETE_RESPONSE: &str = "io.nats.jetstream.api.v1.stream_msg_delete_response";
pub const ACCOUNT_INFO_RESPONSE: &str = "io.nats.jetstream.api.v1.account_info_response";
pub const PUB_ACK_RESPONSE: &str = "io.nats.jetstream.api.v1.pub_ack_response";

/// A typed response: `type`, then `error` when failed, then the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiResponse<T> {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(flatten)]
    pub body: T,
}

impl<T> ApiResponse<T> {
    pub fn ok(kind: &str, body: T) -> Self {
        ApiResponse {
            kind: kind.to_string(),
            error: None,
            body,
        }
    }

    /// A failure; `body` holds whatever nats-server still sends (zeros).
    pub fn err(kind: &str, err: &JsError, body: T) -> Self {
        ApiResponse {
            kind: kind.to_string(),
            error: Some(err.to_json()),
            body,
        }
    }

    /// The bytes to send, escaped as Go's encoder does.
    pub fn to_bytes(&self) -> Vec<u8>
    where
        T: Serialize,
    {
        crate::to_go_json(self)
    }
}

/// `total/offset/limit` of paged responses; never omitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiPaged {
    pub total: u64,
    pub offset: u64,
    pub limit: u64,
}

/// Create and update: the new stream's info, plus `did_create` on create.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamCreateBody {
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub info: Option<StreamInfo>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub did_create: bool,
}

/// Info: paging (for subject details) then the info.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamInfoBody {
    #[serde(flatten)]
    pub paged: ApiPaged,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub info: Option<StreamInfo>,
}

/// Names: `streams` is `null` when there are none (a nil Go slice).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamNamesBody {
    #[serde(flatten)]
    pub paged: ApiPaged,
    #[serde(default)]
    pub streams: Option<Vec<String>>,
}

/// List: `streams` is `[]` when there are none; `missing` lists streams
/// that did not answer in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamListBody {
    #[serde(flatten)]
    pub paged: ApiPaged,
    #[serde(default)]
    pub streams: Vec<StreamInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// Delete and msg delete: `success` only when true.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SuccessBody {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub success: bool,
}

/// Purge: `success` only when true, `purged` always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PurgeBody {
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub success: bool,
    #[serde(default)]
    pub purged: u64,
}

/// Msg get: the message when found.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MsgGetBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<StoredMsg>,
}

/// Account info: usage and limits, absent on error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountInfoBody {
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub info: Option<AccountInfo>,
}

pub type StreamCreateResponse = ApiResponse<StreamCreateBody>;
pub type StreamUpdateResponse = ApiResponse<StreamCreateBody>;
pub type StreamInfoResponse = ApiResponse<StreamInfoBody>;
pub type StreamNamesResponse = ApiResponse<StreamNamesBody>;
pub type StreamListResponse = ApiResponse<StreamListBody>;
pub type StreamDeleteResponse = ApiResponse<SuccessBody>;
pub type StreamMsgDeleteResponse = ApiResponse<SuccessBody>;
pub type StreamPurgeResponse = ApiResponse<PurgeBody>;
pub type StreamMsgGetResponse = ApiResponse<MsgGetBody>;
pub type AccountInfoResponse = ApiResponse<AccountInfoBody>;

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes<T: Serialize>(r: &ApiResponse<T>) -> String {
        String::from_utf8(r.to_bytes()).unwrap()
    }

    #[test]
    fn error_envelopes_match_nats_server_2_9() {
        let r = StreamInfoResponse::err(
            STREAM_INFO_RESPONSE,
            &JsError::StreamNotFound,
            Default::default(),
        );
        assert_eq!(
            bytes(&r),
            r#"{"type":"io.nats.jetstream.api.v1.stream_info_response","error":{"code":404,"err_code":10059,"description":"stream not found"},"total":0,"offset":0,"limit":0}"#
        );
        let r = StreamPurgeResponse::err(
            STREAM_PURGE_RESPONSE,
            &JsError::StreamNotFound,
            Default::default(),
        );
        assert_eq!(
            bytes(&r),
            r#"{"type":"io.nats.jetstream.api.v1.stream_purge_response","error":{"code":404,"err_code":10059,"description":"stream not found"},"purged":0}"#
        );
        let r = StreamNamesResponse::err(
            STREAM_NAMES_RESPONSE,
            &JsError::invalid_json("x"),
            Default::default(),
        );
        assert!(bytes(&r).ends_with(r#""total":0,"offset":0,"limit":0,"streams":null}"#));
        let r = StreamCreateResponse::err(
            STREAM_CREATE_RESPONSE,
            &JsError::StreamNameExist,
            Default::default(),
        );
        assert_eq!(
            bytes(&r),
            r#"{"type":"io.nats.jetstream.api.v1.stream_create_response","error":{"code":400,"err_code":10058,"description":"stream name already in use with a different configuration"}}"#
        );
    }

    #[test]
    fn success_envelopes() {
        let r = StreamDeleteResponse::ok(STREAM_DELETE_RESPONSE, SuccessBody { success: true });
        assert_eq!(
            bytes(&r),
            r#"{"type":"io.nats.jetstream.api.v1.stream_delete_response","success":true}"#
        );
        let r = StreamNamesResponse::ok(
            STREAM_NAMES_RESPONSE,
            StreamNamesBody {
                paged: ApiPaged {
                    total: 1,
                    offset: 0,
                    limit: 1024,
                },
                streams: Some(vec!["KV".into()]),
            },
        );
        assert_eq!(
            bytes(&r),
            r#"{"type":"io.nats.jetstream.api.v1.stream_names_response","total":1,"offset":0,"limit":1024,"streams":["KV"]}"#
        );
        let list = StreamListResponse::ok(STREAM_LIST_RESPONSE, Default::default());
        assert!(bytes(&list).ends_with(r#""streams":[]}"#));
    }

    #[test]
    fn create_response_round_trips() {
        let mut info = StreamInfo::default();
        info.config.name = "S".into();
        let r = StreamCreateResponse::ok(
            STREAM_CREATE_RESPONSE,
            StreamCreateBody {
                info: Some(info),
                did_create: true,
            },
        );
        let back: StreamCreateResponse = serde_json::from_slice(&r.to_bytes()).unwrap();
        assert_eq!(back, r);
    }
}
