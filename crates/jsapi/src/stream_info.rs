//! Stream info and state, stored-message JSON and publish acks.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::errors::{ApiError, JsError};
use crate::stream_config::{ExternalStream, StreamConfig, SubjectTransform};
use crate::time::Timestamp;

/// Messages and bytes lost to corruption.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LostStreamData {
    #[serde(rename = "msgs")]
    pub msgs: Vec<u64>,
    pub bytes: u64,
}

/// `state` of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamState {
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub first_ts: Timestamp,
    pub last_seq: u64,
    pub last_ts: Timestamp,
    #[serde(skip_serializing_if = "crate::stream_config::is_zero_i64")]
    pub num_subjects: i64,
    /// Per-subject counts, only with `subjects_filter` in the info request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subjects: Option<BTreeMap<String, u64>>,
    #[serde(skip_serializing_if = "crate::stream_config::is_zero_i64")]
    pub num_deleted: i64,
    /// Only with `deleted_details` in the info request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deleted: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost: Option<LostStreamData>,
    pub consumer_count: i64,
}

/// A cluster peer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PeerInfo {
    pub name: String,
    pub current: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub observer: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub offline: bool,
    /// Nanoseconds since last activity.
    pub active: i64,
    #[serde(skip_serializing_if = "crate::stream_config::is_zero_u64")]
    pub lag: u64,
}

/// `cluster` of a stream info.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterInfo {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub raft_group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub leader: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leader_since: Option<Timestamp>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub system_account: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub traffic_account: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replicas: Vec<PeerInfo>,
}

/// Progress of a mirror or source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamSourceInfo {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStream>,
    pub lag: u64,
    /// Nanoseconds since last contact; -1 when never active.
    pub active: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiError>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter_subject: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subject_transforms: Vec<SubjectTransform>,
}

/// A mirror that can answer direct gets for this stream.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamAlternate {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
    pub cluster: String,
}

/// `StreamInfo` as returned by create, update, info and list.
///
/// `config` is required when decoding, so a flattened `Option<StreamInfo>`
/// in an error response decodes as `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StreamInfo {
    pub config: StreamConfig,
    #[serde(default)]
    pub created: Timestamp,
    #[serde(default)]
    pub state: StreamState,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSourceInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<StreamSourceInfo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternates: Vec<StreamAlternate>,
    /// When the info was gathered (2.10+); Go never omits a `time.Time`.
    #[serde(default)]
    pub ts: Timestamp,
}

/// A stored message as `$JS.API.STREAM.MSG.GET` returns it: headers and
/// data base64, omitted when empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StoredMsg {
    pub subject: String,
    pub seq: u64,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "b64_ser",
        deserialize_with = "b64_de"
    )]
    pub hdrs: Vec<u8>,
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "b64_ser",
        deserialize_with = "b64_de"
    )]
    pub data: Vec<u8>,
    pub time: Timestamp,
}

fn b64_ser<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&B64.encode(v))
}

fn b64_de<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let s = Option::<String>::deserialize(d)?.unwrap_or_default();
    B64.decode(s.as_bytes()).map_err(serde::de::Error::custom)
}

/// A successful publish acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PubAck {
    pub stream: String,
    pub seq: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub domain: String,
    /// Counter value (2.12, ADR-49).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub val: Option<String>,
    /// Batch id and size on the commit ack (2.12, ADR-50).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub batch: String,
    #[serde(skip_serializing_if = "crate::stream_config::is_zero_i64")]
    pub count: i64,
}

impl PubAck {
    /// The bytes nats-server writes for this ack. The common case is
    /// assembled by hand there (note the space after the comma), so it is
    /// here too: `{"stream":"S", "seq":1}`; `domain` sits between the two
    /// and `duplicate` follows `seq`.
    pub fn to_bytes(&self) -> Vec<u8> {
        if self.val.is_some() || !self.batch.is_empty() || self.count != 0 {
            return crate::to_go_json(self);
        }
        let mut out = Vec::with_capacity(48);
        out.extend_from_slice(b"{\"stream\":");
        out.extend_from_slice(&crate::to_go_json(&self.stream));
        if !self.domain.is_empty() {
            out.extend_from_slice(b", \"domain\":");
            out.extend_from_slice(&crate::to_go_json(&self.domain));
        }
        out.extend_from_slice(b", \"seq\":");
        out.extend_from_slice(self.seq.to_string().as_bytes());
        if self.duplicate {
            out.extend_from_slice(b",\"duplicate\": true");
        }
        out.push(b'}');
        out
    }
}

/// The publish error form `{"error":{…},"stream":"S","seq":0}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PubAckError {
    pub error: ApiError,
    pub stream: String,
    #[serde(default)]
    pub seq: u64,
}

impl PubAckError {
    pub fn new(stream: impl Into<String>, err: &JsError) -> Self {
        PubAckError {
            error: err.to_json(),
            stream: stream.into(),
            seq: 0,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        crate::to_go_json(self)
    }
}

/// Either form a publisher can receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PubAckResponse {
    Err(PubAckError),
    Ok(PubAck),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_state_matches_go() {
        let v = serde_json::to_value(StreamState::default()).unwrap();
        assert_eq!(
            v,
            json!({"messages":0,"bytes":0,"first_seq":0,"first_ts":"0001-01-01T00:00:00Z",
                "last_seq":0,"last_ts":"0001-01-01T00:00:00Z","consumer_count":0})
        );
    }

    #[test]
    fn state_with_details_round_trips() {
        let v = json!({"messages":1,"bytes":35,"first_seq":3,"first_ts":"2026-11-22T00:53:03.476050833Z",
            "last_seq":3,"last_ts":"2026-11-22T00:53:03.476050833Z","num_subjects":1,
            "subjects":{"kv.b":1},"num_deleted":2,"deleted":[1,2],"lost":{"msgs":[4],"bytes":9},
            "consumer_count":0});
        let s: StreamState = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&s).unwrap(), v);
    }

    #[test]
    fn stored_msg_base64_and_omissions() {
        let m = StoredMsg {
            subject: "t".into(),
            seq: 1,
            hdrs: b"NATS/1.0\r\nFoo: bar\r\n\r\n".to_vec(),
            data: b"a".to_vec(),
            time: Timestamp::parse("2026-11-22T00:53:15.948381703Z").unwrap(),
        };
        let s = serde_json::to_string(&m).unwrap();
        assert_eq!(
            s,
            r#"{"subject":"t","seq":1,"hdrs":"TkFUUy8xLjANCkZvbzogYmFyDQoNCg==","data":"YQ==","time":"2026-11-22T00:53:15.948381703Z"}"#
        );
        let back: StoredMsg = serde_json::from_str(&s).unwrap();
        assert_eq!(back, m);
        let empty = StoredMsg {
            subject: "t".into(),
            seq: 2,
            ..Default::default()
        };
        let s = serde_json::to_string(&empty).unwrap();
        assert!(!s.contains("hdrs") && !s.contains("data"), "{s}");
    }

    #[test]
    fn pub_ack_bytes_match_nats_server() {
        let ack = PubAck {
            stream: "P".into(),
            seq: 1,
            ..Default::default()
        };
        assert_eq!(ack.to_bytes(), br#"{"stream":"P", "seq":1}"#);
        let dup = PubAck {
            duplicate: true,
            domain: "hub".into(),
            ..ack.clone()
        };
        assert_eq!(
            dup.to_bytes(),
            br#"{"stream":"P", "domain":"hub", "seq":1,"duplicate": true}"#
        );
        // Whatever the spacing, it parses back.
        let back: PubAck = serde_json::from_slice(&dup.to_bytes()).unwrap();
        assert_eq!(back, dup);
    }

    #[test]
    fn pub_ack_error_form() {
        let e = PubAckError::new("P", &JsError::StreamMessageExceedsMaximum);
        assert_eq!(
            e.to_bytes(),
            br#"{"error":{"code":400,"err_code":10054,"description":"message size exceeds maximum allowed"},"stream":"P","seq":0}"#
        );
        let r: PubAckResponse = serde_json::from_slice(&e.to_bytes()).unwrap();
        assert_eq!(r, PubAckResponse::Err(e));
        let r: PubAckResponse = serde_json::from_str(r#"{"stream":"P", "seq":1}"#).unwrap();
        assert!(matches!(r, PubAckResponse::Ok(PubAck { seq: 1, .. })));
    }

    #[test]
    fn info_with_mirror_round_trips() {
        let v = json!({"config":serde_json::to_value(StreamConfig::named("M")).unwrap(),
            "created":"2026-11-22T00:53:15.954275205Z",
            "state":serde_json::to_value(StreamState::default()).unwrap(),
            "cluster":{"leader":"n1","replicas":[{"name":"n2","current":true,"active":5,"lag":1}]},
            "mirror":{"name":"T","lag":0,"active":-1},
            "ts":"2026-11-22T00:53:16Z"});
        let info: StreamInfo = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(info.mirror.as_ref().unwrap().active, -1);
        assert_eq!(serde_json::to_value(&info).unwrap(), v);
    }
}
