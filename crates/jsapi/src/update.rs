//! What a stream update may change (nats-server 2.14 `configUpdateCheck`).
//!
//! May change: description, subjects, limits (max_msgs/bytes/age/…,
//! max_consumers), discard, duplicate_window, no_ack, retention between
//! limits and interest, sealed false→true, deny_delete/deny_purge
//! false→true, allow_rollup_hdrs, allow_direct, mirror_direct, republish,
//! subject_transform, sources, placement, compression, consumer_limits,
//! allow_msg_ttl false→true, allow_msg_schedules false→true, allow_atomic,
//! allow_batched, metadata, and removing the mirror (promotion).
//! May not: name, storage, retention to/from workqueue, unseal, cancel
//! deny flags, change the mirror, disable TTLs or schedules, toggle
//! counters, change persist_mode; replicas > 1 on a standalone server.

use crate::errors::JsError;
use crate::stream_config::{DiscardPolicy, RetentionPolicy, StreamConfig};
use crate::validate::{normalize_stream_config, ServerLimits};

/// Checks an update from `old` (as stored) to `new` (already normalized),
/// in nats-server's order. Cross-stream subject overlap (10065) and the
/// account reservation checks are the caller's.
pub fn check_stream_update(old: &StreamConfig, new: &StreamConfig) -> Result<(), JsError> {
    check_update(old, new, true)
}

fn check_update(old: &StreamConfig, new: &StreamConfig, clustered: bool) -> Result<(), JsError> {
    let bad = |s: &str| Err(JsError::invalid_config(s));
    if new.name != old.name {
        return bad("stream configuration name must match original");
    }
    if !clustered && new.num_replicas > 1 {
        return Err(JsError::StreamReplicasNotSupported);
    }
    if new.storage != old.storage {
        return bad("stream configuration update can not change storage type");
    }
    if new.retention != old.retention
        && (old.retention == RetentionPolicy::WorkQueue
            || new.retention == RetentionPolicy::WorkQueue)
    {
        return bad(
            "stream configuration update can not change retention policy to/from workqueue",
        );
    }
    if old.sealed && !new.sealed {
        return bad("stream configuration update can not unseal a sealed stream");
    }
    if old.deny_delete && !new.deny_delete {
        return bad("stream configuration update can not cancel deny message deletes");
    }
    if old.deny_purge && !new.deny_purge {
        return bad("stream configuration update can not cancel deny purge");
    }
    // Dropping the mirror promotes it to a normal stream; changing it is not allowed.
    if new.mirror.is_some() && new.mirror != old.mirror {
        return Err(JsError::StreamMirrorNotUpdatable);
    }
    if new.discard_new_per_subject {
        if new.discard != DiscardPolicy::New {
            return bad("discard new per subject requires discard new policy to be set");
        }
        if new.max_msgs_per_subject <= 0 {
            return bad("discard new per subject requires max msgs per subject > 0");
        }
    }
    if old.allow_msg_ttl && !new.allow_msg_ttl {
        return bad("message TTL status can not be disabled");
    }
    if old.allow_msg_counter != new.allow_msg_counter {
        return bad("stream configuration update can not change message counter setting");
    }
    if old.allow_msg_schedules && !new.allow_msg_schedules {
        return bad("message schedules can not be disabled");
    }
    if old.persist_mode != new.persist_mode {
        return bad("stream configuration update can not change persist mode");
    }
    Ok(())
}

/// The whole update path: normalize `requested`, check it against `old`
/// (including the standalone replicas rule from `limits`), then apply what
/// sealing implies. Returns the config to store and echo.
pub fn apply_stream_update(
    old: &StreamConfig,
    requested: &StreamConfig,
    limits: &ServerLimits,
) -> Result<StreamConfig, JsError> {
    let mut cfg = normalize_stream_config(requested, limits)?;
    check_update(old, &cfg, limits.clustered)?;
    if cfg.sealed {
        cfg.max_age = 0;
        cfg.discard = DiscardPolicy::New;
        cfg.deny_delete = true;
        cfg.deny_purge = true;
        cfg.allow_rollup_hdrs = false;
    }
    Ok(cfg)
}

/// Does a repeated create ask for the stream that already exists? Both are
/// compared as normalized, ignoring the response-only `_nats.*` keys; a
/// mismatch is 10058.
pub fn same_stream_config(existing: &StreamConfig, requested: &StreamConfig) -> bool {
    crate::versioning::stored_config(existing) == crate::versioning::stored_config(requested)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream_config::{StorageType, StreamSource};

    fn base() -> StreamConfig {
        normalize_stream_config(&StreamConfig::named("S"), &ServerLimits::default()).unwrap()
    }

    fn err_of(old: &StreamConfig, new: &StreamConfig) -> String {
        check_stream_update(old, new).unwrap_err().to_string()
    }

    #[test]
    fn allowed_changes() {
        let old = base();
        let mut new = old.clone();
        new.description = "d".into();
        new.subjects = vec!["x".into(), "y".into()];
        new.max_msgs = 10;
        new.max_consumers = 5;
        new.retention = RetentionPolicy::Interest;
        new.allow_direct = true;
        new.deny_delete = true;
        new.allow_msg_ttl = true;
        assert_eq!(check_stream_update(&old, &new), Ok(()));
    }

    #[test]
    fn forbidden_changes() {
        let old = base();
        let mut n = old.clone();
        n.storage = StorageType::Memory;
        assert_eq!(
            err_of(&old, &n),
            "stream configuration update can not change storage type"
        );
        let mut n = old.clone();
        n.retention = RetentionPolicy::WorkQueue;
        assert!(err_of(&old, &n).contains("to/from workqueue"));
        let mut n = old.clone();
        n.name = "T".into();
        assert_eq!(
            err_of(&old, &n),
            "stream configuration name must match original"
        );
        let mut sealed = old.clone();
        sealed.sealed = true;
        assert!(err_of(&sealed, &old).contains("unseal"));
        let mut dd = old.clone();
        dd.deny_delete = true;
        assert!(err_of(&dd, &old).contains("deny message deletes"));
        let mut dp = old.clone();
        dp.deny_purge = true;
        assert!(err_of(&dp, &old).contains("deny purge"));
        let mut ttl = old.clone();
        ttl.allow_msg_ttl = true;
        assert_eq!(err_of(&ttl, &old), "message TTL status can not be disabled");
        let mut ctr = old.clone();
        ctr.allow_msg_counter = true;
        assert!(err_of(&old, &ctr).contains("message counter"));
    }

    #[test]
    fn mirror_can_be_removed_not_changed() {
        let mut m = StreamConfig::named("M");
        m.mirror = Some(StreamSource {
            name: "O".into(),
            ..Default::default()
        });
        let old = normalize_stream_config(&m, &ServerLimits::default()).unwrap();
        let mut changed = old.clone();
        changed.mirror.as_mut().unwrap().name = "P".into();
        assert_eq!(
            check_stream_update(&old, &changed),
            Err(JsError::StreamMirrorNotUpdatable)
        );
        let mut promoted = old.clone();
        promoted.mirror = None;
        assert_eq!(check_stream_update(&old, &promoted), Ok(()));
    }

    #[test]
    fn sealing_applies_adjustments() {
        let old = base();
        let mut req = StreamConfig::named("S");
        req.sealed = true;
        req.max_age = 5_000_000_000;
        req.duplicate_window = 1_000_000_000;
        let cfg = apply_stream_update(&old, &req, &ServerLimits::default()).unwrap();
        assert!(cfg.sealed && cfg.deny_delete && cfg.deny_purge && !cfg.allow_rollup_hdrs);
        assert_eq!(cfg.max_age, 0);
        assert_eq!(cfg.discard, DiscardPolicy::New);
    }

    #[test]
    fn standalone_rejects_replicas_on_update() {
        let old = base();
        let mut req = StreamConfig::named("S");
        req.num_replicas = 3;
        assert_eq!(
            apply_stream_update(&old, &req, &ServerLimits::default()),
            Err(JsError::StreamReplicasNotSupported)
        );
        let clustered = ServerLimits {
            clustered: true,
            ..Default::default()
        };
        assert!(apply_stream_update(&old, &req, &clustered).is_ok());
    }

    #[test]
    fn same_config_ignores_dynamic_metadata() {
        let a = base();
        let limits = ServerLimits {
            server_version: "9.9.9".into(),
            ..Default::default()
        };
        let b = normalize_stream_config(&StreamConfig::named("S"), &limits).unwrap();
        assert!(same_stream_config(&a, &b));
        let mut c = b.clone();
        c.max_msgs = 5;
        assert!(!same_stream_config(&a, &c));
    }
}
