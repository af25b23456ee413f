//! Server-set stream metadata (ADR-44): `_nats.req.level` is stored with
//! the config; `_nats.ver` and `_nats.level` describe the answering server
//! and are only added to responses.

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
}
