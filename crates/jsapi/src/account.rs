//! `$JS.API.INFO`: account usage, limits and API statistics
//! (`server/jetstream.go` `JetStreamAccountStats`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Per-account (or per-tier) limits; -1 is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountLimits {
    pub max_memory: i64,
    pub max_storage: i64,
    pub max_streams: i64,
    pub max_consumers: i64,
    pub max_ack_pending: i64,
    pub memory_max_stream_bytes: i64,
    pub storage_max_stream_bytes: i64,
    pub max_bytes_required: bool,
}

impl Default for AccountLimits {
    /// What a server without account limits reports.
    fn default() -> Self {
        AccountLimits {
            max_memory: -1,
            max_storage: -1,
            max_streams: -1,
            max_consumers: -1,
            max_ack_pending: -1,
            memory_max_stream_bytes: -1,
            storage_max_stream_bytes: -1,
            max_bytes_required: false,
        }
    }
}

/// API usage counters. `level` is the server's JetStream API level
/// (ADR-44; 2.11+), `inflight` is omitted when zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiStats {
    pub level: u32,
    pub total: u64,
    pub errors: u64,
    #[serde(skip_serializing_if = "crate::stream_config::is_zero_u64")]
    pub inflight: u64,
}

/// Usage and limits of one tier (R1, R3, …).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AccountTier {
    pub memory: u64,
    pub storage: u64,
    pub reserved_memory: u64,
    pub reserved_storage: u64,
    pub streams: i64,
    pub consumers: i64,
    pub limits: AccountLimits,
}

/// The body of `account_info_response`. `limits` is required when decoding
/// so that an error response decodes to no info at all.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AccountInfo {
    #[serde(default)]
    pub memory: u64,
    #[serde(default)]
    pub storage: u64,
    #[serde(default)]
    pub reserved_memory: u64,
    #[serde(default)]
    pub reserved_storage: u64,
    #[serde(default)]
    pub streams: i64,
    #[serde(default)]
    pub consumers: i64,
    pub limits: AccountLimits,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub domain: String,
    #[serde(default)]
    pub api: ApiStats,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tiers: BTreeMap<String, AccountTier>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_match_unlimited_server() {
        let v = serde_json::to_value(AccountInfo::default()).unwrap();
        assert_eq!(
            v,
            json!({"memory":0,"storage":0,"reserved_memory":0,"reserved_storage":0,"streams":0,
                "consumers":0,"limits":{"max_memory":-1,"max_storage":-1,"max_streams":-1,
                "max_consumers":-1,"max_ack_pending":-1,"memory_max_stream_bytes":-1,
                "storage_max_stream_bytes":-1,"max_bytes_required":false},
                "api":{"level":0,"total":0,"errors":0}})
        );
    }

    #[test]
    fn full_info_round_trips() {
        let v = json!({"memory":22,"storage":5,"reserved_memory":1,"reserved_storage":2,"streams":6,
            "consumers":3,"limits":{"max_memory":1,"max_storage":2,"max_streams":3,"max_consumers":4,
            "max_ack_pending":5,"memory_max_stream_bytes":6,"storage_max_stream_bytes":7,
            "max_bytes_required":true},"domain":"hub","api":{"level":4,"total":43,"errors":19,
            "inflight":2},"tiers":{"R1":{"memory":1,"storage":2,"reserved_memory":0,
            "reserved_storage":0,"streams":1,"consumers":0,"limits":serde_json::to_value(AccountLimits::default()).unwrap()}}});
        let info: AccountInfo = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(serde_json::to_value(&info).unwrap(), v);
    }
}
