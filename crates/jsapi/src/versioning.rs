//! Server-set stream metadata (ADR-44): `_nats.req.level` is stored with
//! the config; `_nats.ver` and `_nats.level` describe the answering server
//! and are only added to responses.

use crate::consumer_config::{AckPolicy, ConsumerConfig, PriorityPolicy};
use crate::stream_config::{PersistMode, StreamConfig};
use crate::validate::ServerLimits;

pub const REQUIRED_LEVEL_KEY: &str = "_nats.req.level";
pub const SERVER_VERSION_KEY: &str = "_nats.ver";
pub const SERVER_LEVEL_KEY: &str = "_nats.level";

/// The API level a server needs to host `cfg`: 1 for per-message TTLs and
/// delete markers (2.11), 2 for counters, atomic batches, schedules and
/// async persistence (2.12), 3 for fast batches (ADR-50), 4 for durable
/// sourcing consumers (2.14, ADR-60).
pub fn required_api_level(cfg: &StreamConfig) -> u32 {
    let mut level = 0;
    if cfg.allow_msg_ttl || cfg.subject_delete_marker_ttl > 0 {
        level = 1;
    }
    if cfg.allow_msg_counter
        || cfg.allow_atomic
        || cfg.allow_msg_schedules
        || cfg.persist_mode == PersistMode::Async
    {
        level = 2;
    }
    if cfg.allow_batched {
        level = 3;
    }
    let durable_sourcing = cfg
        .mirror
        .iter()
        .chain(cfg.sources.iter())
        .any(|s| s.consumer.is_some());
    if durable_sourcing {
        level = 4;
    }
    level
}

/// Removes the response-only keys; drops the map if nothing is left.
pub fn strip_dynamic_metadata(cfg: &mut StreamConfig) {
    if let Some(md) = &mut cfg.metadata {
        md.remove(SERVER_VERSION_KEY);
        md.remove(SERVER_LEVEL_KEY);
        if md.is_empty() {
            cfg.metadata = None;
        }
    }
}

/// The config as stored: dynamic keys removed, `_nats.req.level` set.
pub fn stored_config(cfg: &StreamConfig) -> StreamConfig {
    let mut out = cfg.clone();
    strip_dynamic_metadata(&mut out);
    out.metadata.get_or_insert_with(Default::default).insert(
        REQUIRED_LEVEL_KEY.into(),
        required_api_level(cfg).to_string(),
    );
    out
}

/// Sets all three keys, as a create/update/info response shows them.
pub(crate) fn set_metadata(cfg: &mut StreamConfig, limits: &ServerLimits) {
    let level = required_api_level(cfg);
    let md = cfg.metadata.get_or_insert_with(Default::default);
    md.insert(REQUIRED_LEVEL_KEY.into(), level.to_string());
    md.insert(SERVER_VERSION_KEY.into(), limits.server_version.clone());
    md.insert(SERVER_LEVEL_KEY.into(), limits.api_level.to_string());
}

/// The API level a server needs to run consumer `cfg`: 1 for a pause
/// deadline or priority groups (2.11), 4 for flow-control acks (2.14).
pub fn required_consumer_api_level(cfg: &ConsumerConfig) -> u32 {
    let mut level = 0;
    if cfg.pause_until.is_some_and(|t| !t.is_zero()) {
        level = 1;
    }
    if cfg.priority_policy != PriorityPolicy::None
        || cfg.priority_timeout != 0
        || !cfg.priority_groups.is_empty()
    {
        level = 1;
    }
    if cfg.ack_policy == AckPolicy::FlowControl {
        level = 4;
    }
    level
}

/// `setStaticConsumerMetadata`: drops the response-only keys and sets
/// `_nats.req.level`; the map always exists afterwards.
pub(crate) fn set_consumer_static_metadata(cfg: &mut ConsumerConfig) {
    let level = required_consumer_api_level(cfg);
    let md = cfg.metadata.get_or_insert_with(Default::default);
    md.remove(SERVER_VERSION_KEY);
    md.remove(SERVER_LEVEL_KEY);
    md.insert(REQUIRED_LEVEL_KEY.into(), level.to_string());
}

/// The config as a consumer create/info/list response shows it: the stored
/// config plus `_nats.ver` and `_nats.level` (ADR-44).
pub fn consumer_response_config(cfg: &ConsumerConfig, limits: &ServerLimits) -> ConsumerConfig {
    let mut out = cfg.clone();
    let md = out.metadata.get_or_insert_with(Default::default);
    md.insert(SERVER_VERSION_KEY.into(), limits.server_version.clone());
    md.insert(SERVER_LEVEL_KEY.into(), limits.api_level.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_features() {
        let mut c = StreamConfig::named("S");
        assert_eq!(required_api_level(&c), 0);
        c.allow_msg_ttl = true;
        assert_eq!(required_api_level(&c), 1);
        c.allow_msg_counter = true;
        assert_eq!(required_api_level(&c), 2);
        c.allow_batched = true;
        assert_eq!(required_api_level(&c), 3);
    }

    #[test]
    fn stored_config_keeps_only_required_level() {
        let mut c = StreamConfig::named("S");
        set_metadata(&mut c, &ServerLimits::default());
        assert_eq!(c.metadata.as_ref().unwrap().len(), 3);
        let s = stored_config(&c);
        let md = s.metadata.unwrap();
        assert_eq!(md.len(), 1);
        assert_eq!(md[REQUIRED_LEVEL_KEY], "0");
        let mut c = StreamConfig::named("S");
        c.metadata = Some([(SERVER_VERSION_KEY.to_string(), "x".to_string())].into());
        strip_dynamic_metadata(&mut c);
        assert!(c.metadata.is_none());
    }

    #[test]
    fn consumer_levels_and_metadata() {
        let mut c = ConsumerConfig::default();
        assert_eq!(required_consumer_api_level(&c), 0);
        c.pause_until = Some(crate::Timestamp::ZERO);
        assert_eq!(required_consumer_api_level(&c), 0);
        c.pause_until = Some(crate::Timestamp::from_unix_nanos(1));
        assert_eq!(required_consumer_api_level(&c), 1);
        c.pause_until = None;
        c.priority_timeout = 5;
        assert_eq!(required_consumer_api_level(&c), 1);
        c.ack_policy = AckPolicy::FlowControl;
        assert_eq!(required_consumer_api_level(&c), 4);
        c.metadata = Some([(SERVER_VERSION_KEY.to_string(), "x".to_string())].into());
        set_consumer_static_metadata(&mut c);
        let md = c.metadata.clone().unwrap();
        assert_eq!(md.len(), 1);
        assert_eq!(md[REQUIRED_LEVEL_KEY], "4");
        let r = consumer_response_config(&c, &ServerLimits::default());
        let md = r.metadata.unwrap();
        assert_eq!(md[SERVER_VERSION_KEY], "2.14.0");
        assert_eq!(md[SERVER_LEVEL_KEY], "4");
    }
}
