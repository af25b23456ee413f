//! `ConsumerConfig` and its policies, with nats-server 2.14's JSON field
//! names, field order and `omitempty` rules (`server/consumer.go`).
//!
//! Go `int` fields are `i64`; durations are nanoseconds (`i64`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::stream_config::{is_zero_i64, is_zero_u64};
use crate::time::Timestamp;

/// Where a new consumer starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliverPolicy {
    /// Also accepted as `"undefined"`, as nats-server does.
    #[default]
    #[serde(alias = "undefined")]
    All,
    Last,
    New,
    ByStartSequence,
    ByStartTime,
    LastPerSubject,
}

/// How deliveries are acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckPolicy {
    /// The Go zero value; nats-server never defaults it to explicit.
    #[default]
    None,
    All,
    Explicit,
    /// 2.14 (ADR-60): acks implied by flow-control replies.
    FlowControl,
}

/// How stored messages are replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayPolicy {
    #[default]
    Instant,
    Original,
}

/// Pull priority-group policy (2.11, ADR-42; `prioritized` 2.12). `None`
/// is omitted from JSON (`omitempty` on the Go int).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityPolicy {
    #[default]
    None,
    Overflow,
    PinnedClient,
    Prioritized,
}

impl PriorityPolicy {
    pub fn is_none(&self) -> bool {
        *self == PriorityPolicy::None
    }
}

/// A consumer's configuration as nats-server 2.14 marshals it. `Default`
/// is the Go zero value, i.e. an empty request before
/// [`crate::prepare_consumer_create`] applies the server's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub durable_name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub deliver_policy: DeliverPolicy,
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub opt_start_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opt_start_time: Option<Timestamp>,
    pub ack_policy: AckPolicy,
    /// Nanoseconds.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub ack_wait: i64,
    /// -1 is unlimited (the default).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_deliver: i64,
    /// Redelivery delays in nanoseconds; the first overrides `ack_wait`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backoff: Vec<i64>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub filter_subject: String,
    /// 2.10 (ADR-34).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filter_subjects: Vec<String>,
    pub replay_policy: ReplayPolicy,
    /// Bits per second (push only).
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub rate_limit_bps: u64,
    /// Ack sampling percentage, e.g. `"50%"`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub sample_freq: String,
    /// Pull only; 512 by default.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_waiting: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_ack_pending: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub flow_control: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub headers_only: bool,
    /// Pull: largest `batch` one request may ask for (`MaxRequestBatch`).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_batch: i64,
    /// Pull: longest `expires` (nanoseconds).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_expires: i64,
    /// Pull: largest `max_bytes` (`MaxRequestMaxBytes`).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_bytes: i64,
    /// Push consumers deliver here; empty means pull.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub deliver_subject: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub deliver_group: String,
    /// Push only (nanoseconds).
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub idle_heartbeat: i64,
    /// Nanoseconds; ephemerals get 5 s when unset.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub inactive_threshold: i64,
    /// Always present; 0 means "as the stream".
    pub num_replicas: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mem_storage: bool,
    /// Internal (mirror/source) consumers, not listed or limited.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub direct: bool,
    /// 2.14 (ADR-60): a durable sourcing consumer.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sourcing: bool,
    /// 2.10 (ADR-33); sorted keys, as Go marshals maps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// 2.11 (ADR-42): deliveries stop until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_until: Option<Timestamp>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub priority_groups: Vec<String>,
    #[serde(skip_serializing_if = "PriorityPolicy::is_none")]
    pub priority_policy: PriorityPolicy,
    /// Pinned-client TTL (nanoseconds); Go's `PinnedTTL`.
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub priority_timeout: i64,
}

impl ConsumerConfig {
    /// Pull consumer: no deliver subject.
    pub fn is_pull(&self) -> bool {
        self.deliver_subject.is_empty()
    }

    /// The subject filters; empty means every subject of the stream.
    pub fn filters(&self) -> Vec<&str> {
        if !self.filter_subject.is_empty() {
            let mut out: Vec<&str> = self.filter_subjects.iter().map(String::as_str).collect();
            out.push(&self.filter_subject);
            return out;
        }
        self.filter_subjects.iter().map(String::as_str).collect()
    }

    /// Durable means `durable_name` is set (nats-server's
    /// `isDurableConsumer`). A consumer with only `name` is ephemeral: it is
    /// deleted after `inactive_threshold` (5 s when unset).
    pub fn is_durable(&self) -> bool {
        !self.durable_name.is_empty()
    }

    /// The name it is registered under: the durable name, else `name`.
    pub fn consumer_name(&self) -> &str {
        if self.is_durable() {
            &self.durable_name
        } else {
            &self.name
        }
    }
}

/// Serializes `None` as Go's zero time and reads the zero time back as
/// `None`: for `time.Time` fields Go never omits (`pinned_ts`).
pub(crate) mod zero_time {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        v.unwrap_or(Timestamp::ZERO).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        let t = Option::<Timestamp>::deserialize(d)?;
        Ok(t.filter(|t| !t.is_zero()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zero_config_serializes_like_go() {
        let v = serde_json::to_value(ConsumerConfig::default()).unwrap();
        assert_eq!(
            v,
            json!({"deliver_policy":"all","ack_policy":"none","replay_policy":"instant",
                "num_replicas":0})
        );
    }

    #[test]
    fn field_order_matches_go() {
        let cfg = ConsumerConfig {
            durable_name: "D".into(),
            name: "D".into(),
            description: "d".into(),
            deliver_policy: DeliverPolicy::ByStartSequence,
            opt_start_seq: 1,
            opt_start_time: Some(Timestamp::ZERO),
            ack_policy: AckPolicy::Explicit,
            ack_wait: 1,
            max_deliver: 1,
            backoff: vec![1],
            filter_subject: "a".into(),
            filter_subjects: vec!["b".into()],
            rate_limit_bps: 1,
            sample_freq: "1".into(),
            max_waiting: 1,
            max_ack_pending: 1,
            flow_control: true,
            headers_only: true,
            max_batch: 1,
            max_expires: 1,
            max_bytes: 1,
            deliver_subject: "x".into(),
            deliver_group: "g".into(),
            idle_heartbeat: 1,
            inactive_threshold: 1,
            num_replicas: 1,
            mem_storage: true,
            direct: true,
            sourcing: true,
            metadata: Some(BTreeMap::new()),
            pause_until: Some(Timestamp::ZERO),
            priority_groups: vec!["g".into()],
            priority_policy: PriorityPolicy::Overflow,
            priority_timeout: 1,
            ..Default::default()
        };
        let s = serde_json::to_string(&cfg).unwrap();
        let order = [
            "durable_name",
            "name",
            "description",
            "deliver_policy",
            "opt_start_seq",
            "opt_start_time",
            "ack_policy",
            "ack_wait",
            "max_deliver",
            "backoff",
            "filter_subject",
            "filter_subjects",
            "replay_policy",
            "rate_limit_bps",
            "sample_freq",
            "max_waiting",
            "max_ack_pending",
            "flow_control",
            "headers_only",
            "max_batch",
            "max_expires",
            "max_bytes",
            "deliver_subject",
            "deliver_group",
            "idle_heartbeat",
            "inactive_threshold",
            "num_replicas",
            "mem_storage",
            "direct",
            "sourcing",
            "metadata",
            "pause_until",
            "priority_groups",
            "priority_policy",
            "priority_timeout",
        ];
        let pos = |k: &str| {
            s.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} missing"))
        };
        for w in order.windows(2) {
            assert!(pos(w[0]) < pos(w[1]), "{} before {}", w[0], w[1]);
        }
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v.as_object().unwrap().len(), order.len());
    }

    #[test]
    fn full_config_round_trips() {
        let v = json!({"durable_name":"D","name":"D","description":"d",
            "deliver_policy":"by_start_time","opt_start_time":"2020-01-02T03:04:05.5Z",
            "ack_policy":"explicit","ack_wait":30000000000i64,"max_deliver":-1,
            "backoff":[1000000000,2000000000],"filter_subjects":["a.>","b"],
            "replay_policy":"original","sample_freq":"50%","max_waiting":512,
            "max_ack_pending":1000,"headers_only":true,"max_batch":10,"max_expires":5000000000i64,
            "max_bytes":1024,"inactive_threshold":5000000000i64,"num_replicas":1,
            "mem_storage":true,"metadata":{"a":"1","_nats.req.level":"1"},
            "pause_until":"2030-01-01T00:00:00Z","priority_groups":["g1"],
            "priority_policy":"pinned_client","priority_timeout":120000000000i64});
        let cfg: ConsumerConfig = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(cfg.deliver_policy, DeliverPolicy::ByStartTime);
        assert_eq!(serde_json::to_value(&cfg).unwrap(), v);
        let push = json!({"deliver_policy":"last_per_subject","ack_policy":"flow_control",
            "filter_subject":"x.*","replay_policy":"instant","rate_limit_bps":800,
            "flow_control":true,"deliver_subject":"dx","deliver_group":"q",
            "idle_heartbeat":1000000000,"num_replicas":0,"direct":true,"sourcing":true});
        let cfg: ConsumerConfig = serde_json::from_value(push.clone()).unwrap();
        assert_eq!(serde_json::to_value(&cfg).unwrap(), push);
    }

    #[test]
    fn enums_reject_unknown_values() {
        let bad = [
            r#"{"deliver_policy":"first"}"#,
            r#"{"ack_policy":"implicit"}"#,
            r#"{"replay_policy":"fast"}"#,
            r#"{"priority_policy":"pinned"}"#,
            r#"{"deliver_policy":1}"#,
        ];
        for b in bad {
            assert!(serde_json::from_str::<ConsumerConfig>(b).is_err(), "{b}");
        }
        let c: ConsumerConfig =
            serde_json::from_str(r#"{"deliver_policy":"undefined","priority_policy":"none"}"#)
                .unwrap();
        assert_eq!(c.deliver_policy, DeliverPolicy::All);
        assert_eq!(c.priority_policy, PriorityPolicy::None);
    }

    #[test]
    fn helpers() {
        let mut c = ConsumerConfig::default();
        assert!(c.is_pull() && !c.is_durable() && c.filters().is_empty());
        c.filter_subject = "a".into();
        assert_eq!(c.filters(), vec!["a"]);
        c.filter_subject.clear();
        c.filter_subjects = vec!["b".into(), "c".into()];
        assert_eq!(c.filters(), vec!["b", "c"]);
        c.deliver_subject = "d".into();
        c.durable_name = "D".into();
        c.name = "N".into();
        assert!(!c.is_pull() && c.is_durable());
        assert_eq!(c.consumer_name(), "D");
    }
}
