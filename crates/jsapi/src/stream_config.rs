//! `StreamConfig` and its parts, with nats-server 2.14's JSON field names,
//! field order and `omitempty` rules (`server/stream.go`).
//!
//! Go `int` fields are `i64` here and `int32` fields `i32`, so the same
//! numbers are accepted and rejected. Durations are nanoseconds (`i64`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Message retention policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetentionPolicy {
    #[default]
    Limits,
    Interest,
    #[serde(rename = "workqueue")]
    WorkQueue,
}

/// What to do when a limit is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscardPolicy {
    #[default]
    Old,
    New,
}

/// Storage backend. There is no "unset" in JSON: nats-server maps the Go
/// zero value to file before it is ever echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageType {
    #[default]
    File,
    Memory,
}

/// Stream compression (2.10, ADR-35).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    #[default]
    None,
    S2,
}

/// Persistence mode (2.12, ADR-56). `Default` is omitted from JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PersistMode {
    #[default]
    Default,
    Async,
}

impl PersistMode {
    pub fn is_default(&self) -> bool {
        *self == PersistMode::Default
    }
}

/// Placement hints for clustered streams.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Placement {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub cluster: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub preferred: String,
}

impl Placement {
    pub fn is_empty(&self) -> bool {
        self.cluster.is_empty() && self.tags.is_empty() && self.preferred.is_empty()
    }
}

/// Subject transform `{src, dest}` (ADR-36). Both fields always appear.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SubjectTransform {
    pub src: String,
    pub dest: String,
}

/// Republish after storing (ADR-28).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct RePublish {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub src: String,
    pub dest: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub headers_only: bool,
}

/// Another account's or domain's JetStream API and delivery prefixes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalStream {
    pub api: String,
    /// Always present in 2.14 (`json:"deliver"`).
    pub deliver: String,
}

/// Durable sourcing consumer (2.14, ADR-60).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamConsumerSource {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub deliver_subject: String,
}

/// A mirror or source.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamSource {
    pub name: String,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub opt_start_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter_subject: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subject_transforms: Vec<SubjectTransform>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external: Option<ExternalStream>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer: Option<StreamConsumerSource>,
}

/// Defaults applied to consumers of this stream (2.10). Always present in
/// 2.14 JSON, as `{}` when unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamConsumerLimits {
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub inactive_threshold: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_ack_pending: i64,
}

/// A stream's configuration, field for field as nats-server 2.14 marshals
/// it. `Default` is the Go zero value, i.e. what an empty request means
/// before [`crate::normalize_stream_config`] applies server defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct StreamConfig {
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    pub retention: RetentionPolicy,
    pub max_consumers: i64,
    pub max_msgs: i64,
    pub max_bytes: i64,
    /// Nanoseconds; 0 is unlimited.
    pub max_age: i64,
    pub max_msgs_per_subject: i64,
    #[serde(skip_serializing_if = "is_zero_i32")]
    pub max_msg_size: i32,
    pub discard: DiscardPolicy,
    pub storage: StorageType,
    pub num_replicas: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_ack: bool,
    /// Dropped from nats-server between 2.12 and 2.14; kept readable so
    /// configs from older servers still parse.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub template_owner: String,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub duplicate_window: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mirror: Option<StreamSource>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<StreamSource>,
    pub compression: Compression,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub first_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_transform: Option<SubjectTransform>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub republish: Option<RePublish>,
    pub allow_direct: bool,
    pub mirror_direct: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub discard_new_per_subject: bool,
    pub sealed: bool,
    pub deny_delete: bool,
    pub deny_purge: bool,
    pub allow_rollup_hdrs: bool,
    pub consumer_limits: StreamConsumerLimits,
    pub allow_msg_ttl: bool,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub subject_delete_marker_ttl: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_msg_counter: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_atomic: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_msg_schedules: bool,
    #[serde(skip_serializing_if = "PersistMode::is_default")]
    pub persist_mode: PersistMode,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub allow_batched: bool,
    /// Go marshals maps with sorted keys; so does `BTreeMap`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl StreamConfig {
    /// A config with just a name, as a client would send it.
    pub fn named(name: impl Into<String>) -> Self {
        StreamConfig {
            name: name.into(),
            ..Default::default()
        }
    }
}

pub(crate) fn is_zero_i64(v: &i64) -> bool {
    *v == 0
}

pub(crate) fn is_zero_u64(v: &u64) -> bool {
    *v == 0
}

pub(crate) fn is_zero_i32(v: &i32) -> bool {
    *v == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zero_config_serializes_like_go() {
        let v = serde_json::to_value(StreamConfig::named("S")).unwrap();
        assert_eq!(
            v,
            json!({"name":"S","retention":"limits","max_consumers":0,"max_msgs":0,"max_bytes":0,
                "max_age":0,"max_msgs_per_subject":0,"discard":"old","storage":"file","num_replicas":0,
                "compression":"none","allow_direct":false,"mirror_direct":false,"sealed":false,
                "deny_delete":false,"deny_purge":false,"allow_rollup_hdrs":false,"consumer_limits":{},
                "allow_msg_ttl":false})
        );
    }

    #[test]
    fn field_order_matches_go() {
        let s = serde_json::to_string(&StreamConfig::named("S")).unwrap();
        let pos = |k: &str| s.find(&format!("\"{k}\"")).unwrap();
        let order = [
            "name",
            "retention",
            "max_consumers",
            "max_msgs",
            "max_bytes",
            "max_age",
            "max_msgs_per_subject",
            "discard",
            "storage",
            "num_replicas",
            "compression",
            "allow_direct",
            "mirror_direct",
            "sealed",
            "deny_delete",
            "deny_purge",
            "allow_rollup_hdrs",
            "consumer_limits",
            "allow_msg_ttl",
        ];
        for w in order.windows(2) {
            assert!(pos(w[0]) < pos(w[1]), "{} before {}", w[0], w[1]);
        }
    }

    #[test]
    fn full_config_round_trips() {
        let v = json!({"name":"S","description":"d","subjects":["a.>","b"],"retention":"workqueue",
            "max_consumers":-1,"max_msgs":-1,"max_bytes":1000,"max_age":1000000000,
            "max_msgs_per_subject":3,"max_msg_size":100,"discard":"new","storage":"memory",
            "num_replicas":1,"no_ack":true,"duplicate_window":1000000000,
            "placement":{"cluster":"c","tags":["t"]},
            "sources":[{"name":"X","opt_start_seq":2,"opt_start_time":"2020-01-02T03:04:05.5Z",
                "filter_subject":"x.>","external":{"api":"$JS.x.API","deliver":"dx"}},
                {"name":"Y","subject_transforms":[{"src":"y.>","dest":"z.>"}],
                 "consumer":{"name":"c","deliver_subject":"ds"}}],
            "compression":"s2","first_seq":5,"subject_transform":{"src":"a.>","dest":"b.>"},
            "republish":{"src":">","dest":"r.>","headers_only":true},
            "allow_direct":true,"mirror_direct":false,"discard_new_per_subject":true,
            "sealed":false,"deny_delete":true,"deny_purge":false,"allow_rollup_hdrs":true,
            "consumer_limits":{"inactive_threshold":5,"max_ack_pending":6},
            "allow_msg_ttl":true,"subject_delete_marker_ttl":1000000000,"allow_msg_counter":true,
            "allow_atomic":true,"allow_msg_schedules":true,"persist_mode":"async",
            "allow_batched":true,"metadata":{"a":"1","_nats.req.level":"1"}});
        let cfg: StreamConfig = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(cfg.sources.len(), 2);
        assert_eq!(serde_json::to_value(&cfg).unwrap(), v);
    }

    #[test]
    fn enums_reject_unknown_values() {
        assert!(serde_json::from_str::<StreamConfig>(r#"{"retention":"bogus"}"#).is_err());
        assert!(serde_json::from_str::<StreamConfig>(r#"{"storage":"disk"}"#).is_err());
        assert!(serde_json::from_str::<StreamConfig>(r#"{"discard":"oldest"}"#).is_err());
        assert!(serde_json::from_str::<StreamConfig>(r#"{"compression":"gzip"}"#).is_err());
        // Go's int32 range applies to max_msg_size.
        assert!(serde_json::from_str::<StreamConfig>(r#"{"max_msg_size":4294967296}"#).is_err());
    }

    #[test]
    fn mirror_round_trips_with_omissions() {
        let v = json!({"name":"S7","opt_start_seq":2,"filter_subject":"s7.a"});
        let m: StreamSource = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&m).unwrap(), v);
    }
}
