//! `ConsumerInfo` and its parts (`server/consumer.go`).

use serde::{Deserialize, Serialize};

use crate::consumer_config::{zero_time, ConsumerConfig};
use crate::stream_config::is_zero_i64;
use crate::stream_info::ClusterInfo;
use crate::time::Timestamp;

/// `delivered` / `ack_floor`: consumer and stream sequences, and when they
/// last moved (omitted when never).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SequenceInfo {
    pub consumer_seq: u64,
    pub stream_seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_active: Option<Timestamp>,
}

/// One priority group's pin (ADR-42). `pinned_ts` is always sent (Go's
/// zero time when nobody is pinned); `None` stands for that zero time.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PriorityGroupState {
    pub group: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pinned_client_id: String,
    #[serde(with = "zero_time")]
    pub pinned_ts: Option<Timestamp>,
}

/// A consumer's info, as create, info, list and reset return it. The
/// identity fields are required when decoding so that an error response
/// (which carries none of them) decodes as "no info".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerInfo {
    pub stream_name: String,
    pub name: String,
    pub created: Timestamp,
    pub config: ConsumerConfig,
    #[serde(default)]
    pub delivered: SequenceInfo,
    #[serde(default)]
    pub ack_floor: SequenceInfo,
    #[serde(default)]
    pub num_ack_pending: i64,
    #[serde(default)]
    pub num_redelivered: i64,
    #[serde(default)]
    pub num_waiting: i64,
    #[serde(default)]
    pub num_pending: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterInfo>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub push_bound: bool,
    /// 2.11: `pause_until` is still in the future.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Nanoseconds until `pause_until`.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub pause_remaining: i64,
    /// When the info was gathered (2.10+); Go never omits a `time.Time`.
    #[serde(default)]
    pub ts: Timestamp,
    /// One entry per group of a priority consumer (nats-server reports the
    /// first group only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority_groups: Vec<PriorityGroupState>,
}

impl ConsumerInfo {
    /// A fresh consumer's info: zero state, `paused`/`pause_remaining`
    /// from `config.pause_until` as of `now`, and the first priority group
    /// (unpinned) as nats-server reports it.
    pub fn new(
        stream: &str,
        config: ConsumerConfig,
        created: Timestamp,
        now: Timestamp,
    ) -> ConsumerInfo {
        let (paused, pause_remaining) = pause_state(config.pause_until, now);
        let priority_groups = config
            .priority_groups
            .first()
            .map(|g| PriorityGroupState {
                group: g.clone(),
                ..Default::default()
            })
            .into_iter()
            .collect();
        ConsumerInfo {
            stream_name: stream.to_string(),
            name: config.consumer_name().to_string(),
            created,
            config,
            delivered: SequenceInfo::default(),
            ack_floor: SequenceInfo::default(),
            num_ack_pending: 0,
            num_redelivered: 0,
            num_waiting: 0,
            num_pending: 0,
            cluster: None,
            push_bound: false,
            paused,
            pause_remaining,
            ts: now,
            priority_groups,
        }
    }
}

/// `(paused, pause_remaining_ns)` for a pause deadline at `now`.
pub fn pause_state(pause_until: Option<Timestamp>, now: Timestamp) -> (bool, i64) {
    match pause_until {
        Some(until) if now < until => (
            true,
            until.unix_nanos().saturating_sub(now.unix_nanos()).max(1),
        ),
        _ => (false, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn info_round_trips_with_go_omissions() {
        let v = json!({"stream_name":"S","name":"C","created":"2024-01-02T03:04:05.1Z",
            "config":{"durable_name":"C","name":"C","deliver_policy":"all","ack_policy":"explicit",
                "ack_wait":30000000000i64,"max_deliver":-1,"replay_policy":"instant",
                "max_waiting":512,"max_ack_pending":1000,"num_replicas":0},
            "delivered":{"consumer_seq":2,"stream_seq":3,"last_active":"2024-01-02T03:04:06Z"},
            "ack_floor":{"consumer_seq":1,"stream_seq":1},
            "num_ack_pending":1,"num_redelivered":0,"num_waiting":1,"num_pending":7,
            "push_bound":true,"paused":true,"pause_remaining":5,
            "ts":"2024-01-02T03:04:07Z",
            "priority_groups":[{"group":"g","pinned_ts":"0001-01-01T00:00:00Z"},
                {"group":"h","pinned_client_id":"p","pinned_ts":"2024-01-02T03:04:07Z"}]});
        let info: ConsumerInfo = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(info.priority_groups[0].pinned_ts, None);
        assert!(info.priority_groups[1].pinned_ts.is_some());
        assert_eq!(serde_json::to_value(&info).unwrap(), v);
    }

    #[test]
    fn error_bodies_are_not_infos() {
        assert!(serde_json::from_value::<ConsumerInfo>(json!({"total":0})).is_err());
    }

    #[test]
    fn new_info_reports_pause_and_first_group() {
        let now = Timestamp::from_unix_nanos(1_000_000_000);
        let cfg = ConsumerConfig {
            name: "C".into(),
            pause_until: Some(Timestamp::from_unix_nanos(3_000_000_000)),
            priority_groups: vec!["a".into(), "b".into()],
            ..Default::default()
        };
        let info = ConsumerInfo::new("S", cfg, now, now);
        assert_eq!((info.paused, info.pause_remaining), (true, 2_000_000_000));
        assert_eq!(info.priority_groups.len(), 1);
        assert_eq!(info.name, "C");
        assert_eq!(pause_state(Some(now), now), (false, 0));
        assert_eq!(pause_state(None, now), (false, 0));
    }
}
