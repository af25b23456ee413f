//! Stream config defaults and validation as nats-server 2.14's
//! `checkStreamCfg` applies them, in the same order, so the first error
//! reported is the same one.
//!
//! Checks that need other streams (cross-stream subject overlap, mirror
//! and source origin limits, cycle detection, `mirror_direct` inheritance)
//! are left to the caller: see [`subjects_overlap`].

use std::collections::HashSet;

use weir_subject::{is_valid_subject, overlaps, subset_of};

use crate::account::AccountLimits;
use crate::errors::JsError;
use crate::stream_config::{
    DiscardPolicy, PersistMode, RetentionPolicy, StorageType, StreamConfig, StreamSource,
};
use crate::transform::validate_transform;
use crate::versioning::set_metadata;

/// `JSMaxNameLen`.
pub const MAX_NAME_LEN: usize = 255;
/// `JSMaxDescriptionLen`.
pub const MAX_DESCRIPTION_LEN: usize = 4 * 1024;
/// `JSMaxMetadataLen`: sum of key and value lengths.
pub const MAX_METADATA_LEN: usize = 128 * 1024;
/// `StreamMaxReplicas`.
pub const MAX_REPLICAS: i64 = 5;
/// `StreamDefaultDuplicatesWindow`: two minutes in nanoseconds.
pub const DEFAULT_DUPLICATE_WINDOW: i64 = 120_000_000_000;
/// The JetStream API prefix external sources must not overlap.
pub const JS_API_PREFIX: &str = "$JS.API";

const MS_100: i64 = 100_000_000;
pub(crate) const SECOND: i64 = 1_000_000_000;

/// What the server and account impose on stream configs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// `jetstream.limits.max_duplicate_window` in nanoseconds; 0 is none.
    pub max_duplicate_window: i64,
    /// Clustered servers accept `num_replicas` > 1.
    pub clustered: bool,
    /// The account's limits (max bytes required, per-stream byte caps).
    pub account: AccountLimits,
    /// Reported as `_nats.ver` (ADR-44).
    pub server_version: String,
    /// Reported as `_nats.level` (ADR-44).
    pub api_level: u32,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_duplicate_window: 0,
            clustered: false,
            account: AccountLimits::default(),
            server_version: "2.14.0".to_string(),
            api_level: 4,
        }
    }
}

/// nats-server's asset-name rule: non-empty, no whitespace, `.`, `*`, `>`
/// or path separators.
pub fn is_valid_stream_name(name: &str) -> bool {
    !name.is_empty()
        && !name.chars().any(|c| {
            matches!(
                c,
                ' ' | '\t' | '\r' | '\n' | '\x0c' | '.' | '*' | '>' | '\\' | '/'
            )
        })
}

/// Do any of `a`'s filters share a subject with any of `b`'s? This is the
/// cross-stream check behind 10065.
pub fn subjects_overlap(a: &[String], b: &[String]) -> bool {
    a.iter()
        .any(|x| b.iter().any(|y| overlaps(x.as_bytes(), y.as_bytes())))
}

/// The checks nats-server makes on the API subject before the config: the
/// name in the subject must equal the body's (10056) and carry no path
/// separators (10128).
pub fn check_request_stream_name(subject_name: &str, cfg: &StreamConfig) -> Result<(), JsError> {
    if subject_name != cfg.name {
        return Err(JsError::StreamMismatch);
    }
    if subject_name.contains(['\\', '/']) {
        return Err(JsError::StreamNameContainsPathSeparators);
    }
    Ok(())
}

/// Applies nats-server's defaults and validates `cfg`, returning the config
/// as nats-server echoes it in a create or update response (including the
/// ADR-44 `_nats.*` metadata).
pub fn normalize_stream_config(
    cfg: &StreamConfig,
    limits: &ServerLimits,
) -> Result<StreamConfig, JsError> {
    let bad = |s: &str| Err(JsError::invalid_config(s));

    if !is_valid_stream_name(&cfg.name) {
        return bad("stream name is required and can not contain '.', '*', '>', '\\', '/'");
    }
    if cfg.name.len() > MAX_NAME_LEN {
        return bad(&format!(
            "stream name is too long, maximum allowed is {MAX_NAME_LEN}"
        ));
    }
    if cfg.description.len() > MAX_DESCRIPTION_LEN {
        return bad(&format!(
            "stream description is too long, maximum allowed is {MAX_DESCRIPTION_LEN}"
        ));
    }
    let metadata_len: usize = cfg
        .metadata
        .iter()
        .flatten()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if metadata_len > MAX_METADATA_LEN {
        return bad(&format!(
            "stream metadata exceeds maximum size of {MAX_METADATA_LEN} bytes"
        ));
    }

    let mut cfg = cfg.clone();

    if cfg.num_replicas == 0 {
        cfg.num_replicas = 1;
    }
    if cfg.num_replicas > MAX_REPLICAS {
        return bad(&format!("maximum replicas is {MAX_REPLICAS}"));
    }
    if cfg.num_replicas < 0 {
        return Err(JsError::ReplicasCountCannotBeNegative);
    }
    // 0 and anything below -1 mean "unlimited".
    for v in [
        &mut cfg.max_msgs,
        &mut cfg.max_msgs_per_subject,
        &mut cfg.max_bytes,
        &mut cfg.max_consumers,
    ] {
        if *v == 0 || *v < -1 {
            *v = -1;
        }
    }
    if cfg.max_msg_size == 0 || cfg.max_msg_size < -1 {
        cfg.max_msg_size = -1;
    }
    if cfg.max_age < 0 {
        return bad("max age can not be negative");
    }
    if cfg.max_age != 0 && cfg.max_age < MS_100 {
        return bad("max age needs to be >= 100ms");
    }

    // Sourced streams get the window too (only a mirror keeps none), as in nats-server.
    if cfg.duplicate_window == 0 && cfg.mirror.is_none() {
        let mut window = DEFAULT_DUPLICATE_WINDOW;
        if limits.max_duplicate_window > 0 && window > limits.max_duplicate_window {
            window = limits.max_duplicate_window;
        }
        cfg.duplicate_window = if cfg.max_age != 0 && cfg.max_age < window {
            cfg.max_age
        } else {
            window
        };
    }
    if cfg.duplicate_window < 0 {
        return bad("duplicates window can not be negative");
    }
    if cfg.max_age != 0 && cfg.duplicate_window > cfg.max_age {
        return bad("duplicates window can not be larger then max age");
    }
    if limits.max_duplicate_window > 0 && cfg.duplicate_window > limits.max_duplicate_window {
        return bad(&format!(
            "duplicates window can not be larger then server limit of {}",
            go_duration(limits.max_duplicate_window)
        ));
    }
    if cfg.duplicate_window > 0 && cfg.duplicate_window < MS_100 {
        return bad("duplicates window needs to be >= 100ms");
    }

    if cfg.deny_purge && cfg.allow_rollup_hdrs {
        return bad("roll-ups require the purge permission");
    }

    if cfg.allow_msg_counter {
        if cfg.discard == DiscardPolicy::New {
            return bad("counter stream cannot use discard new");
        }
        // 2.14 checks only `allow_msg_ttl` here and then lets delete
        // markers switch it on, storing a config its own update would
        // refuse; Weir refuses up front so normalizing is idempotent.
        if cfg.allow_msg_ttl || cfg.subject_delete_marker_ttl > 0 {
            return bad("counter stream cannot use message TTLs");
        }
        if cfg.allow_msg_schedules {
            return bad("counter stream cannot use message schedules");
        }
        if cfg.retention != RetentionPolicy::Limits {
            return bad("counter stream can only use limits retention");
        }
    }

    if cfg.discard_new_per_subject {
        if cfg.discard != DiscardPolicy::New {
            return bad("discard new per subject requires discard new policy to be set");
        }
        if cfg.max_msgs_per_subject <= 0 {
            return bad("discard new per subject requires max msgs per subject > 0");
        }
    }

    // ADR-43: markers need TTLs and roll-ups; outside pedantic mode the
    // server turns them on rather than refusing.
    if cfg.subject_delete_marker_ttl > 0 {
        if cfg.subject_delete_marker_ttl < SECOND {
            return bad("subject delete marker TTL must be at least 1 second");
        }
        cfg.allow_msg_ttl = true;
        if !cfg.allow_rollup_hdrs {
            cfg.allow_rollup_hdrs = true;
            cfg.deny_purge = false;
        }
    } else if cfg.subject_delete_marker_ttl < 0 {
        return bad("subject delete marker TTL must not be negative");
    }

    if cfg.allow_msg_schedules {
        if cfg.discard == DiscardPolicy::New {
            return bad("message scheduling cannot use discard new");
        }
        if !cfg.allow_rollup_hdrs {
            cfg.allow_rollup_hdrs = true;
            cfg.deny_purge = false;
        }
    }

    if cfg.persist_mode == PersistMode::Async {
        if cfg.storage != StorageType::File {
            return bad("async persist mode is only supported on file storage");
        }
        if cfg.num_replicas > 1 {
            return bad("async persist mode is not supported on replicated streams");
        }
        if cfg.allow_atomic {
            return bad("async persist mode is not supported with atomic batch publish");
        }
    }

    let mut api_prefixes: Vec<String> = Vec::new();
    let mut deliver_prefixes: Vec<String> = Vec::new();

    if let Some(m) = &cfg.mirror {
        check_mirror(&cfg, m)?;
        if let Some(ext) = &m.external {
            if !ext.deliver.is_empty() {
                deliver_prefixes.push(ext.deliver.clone());
            }
            if !ext.api.is_empty() {
                api_prefixes.push(ext.api.clone());
            }
        }
    }

    if !cfg.sources.is_empty() && cfg.allow_msg_schedules {
        return Err(JsError::SourceWithMsgSchedules);
    }
    check_sources(&cfg.sources, &mut api_prefixes, &mut deliver_prefixes)?;

    for pfx in &deliver_prefixes {
        if !is_valid_publish_subject(pfx) {
            return Err(JsError::StreamInvalidExternalDeliverySubj {
                prefix: pfx.clone(),
            });
        }
    }
    for pfx in &api_prefixes {
        if !is_valid_publish_subject(pfx) {
            return bad(&format!(
                "stream external api prefix {} must be a valid subject without wildcards",
                go_quote(pfx)
            ));
        }
        if overlaps(pfx.as_bytes(), JS_API_PREFIX.as_bytes()) {
            return Err(JsError::StreamExternalApiOverlap {
                prefix: pfx.clone(),
                subject: JS_API_PREFIX.to_string(),
            });
        }
    }

    if cfg.subjects.is_empty() {
        if cfg.mirror.is_none() && cfg.sources.is_empty() {
            cfg.subjects.push(cfg.name.clone());
        }
    } else {
        if cfg.mirror.is_some() {
            return Err(JsError::MirrorWithSubjects);
        }
        check_subjects(&cfg)?;
    }

    if cfg.subjects.is_empty() && cfg.sources.is_empty() && cfg.mirror.is_none() {
        return bad("stream needs at least one configured subject or be a source/mirror");
    }

    let stream_cap = match cfg.storage {
        StorageType::Memory => limits.account.memory_max_stream_bytes,
        StorageType::File => limits.account.storage_max_stream_bytes,
    };
    if limits.account.max_bytes_required && cfg.max_bytes <= 0 {
        return Err(JsError::StreamMaxBytesRequired);
    } else if stream_cap > 0 && cfg.max_bytes > stream_cap {
        return Err(JsError::StreamMaxStreamBytesExceeded);
    }

    if let Some(tr) = &cfg.subject_transform {
        if !tr.src.is_empty() && !is_valid_subject(tr.src.as_bytes()) {
            return Err(JsError::StreamTransformInvalidSource {
                err: format!("invalid subject {}", tr.src),
            });
        }
        validate_transform(&tr.src, &tr.dest)
            .map_err(|err| JsError::StreamTransformInvalidDestination { err })?;
    }

    if let Some(rp) = &mut cfg.republish {
        if rp.src.is_empty() {
            rp.src = ">".to_string();
        }
        // `>` to `>` behind a one-subject transform republishes the
        // transformed subjects instead of looping.
        if let Some(tr) = &cfg.subject_transform {
            if rp.src == ">"
                && rp.dest == ">"
                && cfg.subjects.len() == 1
                && tr.src == cfg.subjects[0]
            {
                rp.src = tr.dest.clone();
                rp.dest = tr.dest.clone();
            }
        }
        if cfg
            .subjects
            .iter()
            .any(|s| overlaps(rp.dest.as_bytes(), s.as_bytes()))
        {
            return bad("stream configuration for republish destination forms a cycle");
        }
        if !is_valid_subject(rp.src.as_bytes())
            || !is_valid_subject(rp.dest.as_bytes())
            || validate_transform(&rp.src, &rp.dest).is_err()
        {
            return bad(&format!(
                "stream configuration for republish with transform from '{}' to '{}' not valid",
                rp.src, rp.dest
            ));
        }
    }

    if cfg.placement.as_ref().is_some_and(|p| p.is_empty()) {
        cfg.placement = None;
    }
    if cfg
        .placement
        .as_ref()
        .is_some_and(|p| !p.preferred.is_empty())
    {
        return bad("preferred server not permitted in placement");
    }

    set_metadata(&mut cfg, limits);
    Ok(cfg)
}

/// Create-only rules, checked by nats-server when adding the stream after
/// [`normalize_stream_config`].
pub fn check_stream_create(cfg: &StreamConfig, limits: &ServerLimits) -> Result<(), JsError> {
    if cfg.sealed {
        return Err(JsError::invalid_config(
            "stream configuration for create can not be sealed",
        ));
    }
    if !limits.clustered && cfg.num_replicas > 1 {
        return Err(JsError::StreamReplicasNotSupported);
    }
    if cfg.mirror_direct && cfg.mirror.is_none() {
        return Err(JsError::invalid_config(
            "stream has no mirror but does have mirror direct",
        ));
    }
    Ok(())
}

/// [`normalize_stream_config`] then [`check_stream_create`]: the config to
/// store and echo for `$JS.API.STREAM.CREATE`.
pub fn prepare_stream_create(
    cfg: &StreamConfig,
    limits: &ServerLimits,
) -> Result<StreamConfig, JsError> {
    let out = normalize_stream_config(cfg, limits)?;
    check_stream_create(&out, limits)?;
    Ok(out)
}

fn check_mirror(cfg: &StreamConfig, m: &StreamSource) -> Result<(), JsError> {
    if cfg.first_seq > 0 {
        return Err(JsError::MirrorWithFirstSeq);
    }
    if !cfg.subjects.is_empty() {
        return Err(JsError::MirrorWithSubjects);
    }
    if !cfg.sources.is_empty() {
        return Err(JsError::MirrorWithSources);
    }
    if cfg.allow_msg_counter {
        return Err(JsError::MirrorWithCounters);
    }
    if cfg.allow_atomic {
        return Err(JsError::MirrorWithAtomicPublish);
    }
    if cfg.allow_batched {
        return Err(JsError::MirrorWithBatchPublish);
    }
    if cfg.allow_msg_schedules {
        return Err(JsError::MirrorWithMsgSchedules);
    }
    if let Some(c) = &m.consumer {
        if !is_valid_stream_name(&c.name)
            || !is_valid_publish_subject(&c.deliver_subject)
            || m.opt_start_seq != 0
            || m.opt_start_time.is_some()
            || !m.filter_subject.is_empty()
        {
            return Err(JsError::MirrorDurableConsumerCfgInvalid);
        }
    }
    if !m.filter_subject.is_empty() && !m.subject_transforms.is_empty() {
        return Err(JsError::MirrorMultipleFiltersNotAllowed);
    }
    if cfg.subject_delete_marker_ttl > 0 {
        return Err(JsError::invalid_config(
            "subject delete markers forbidden on mirrors",
        ));
    }
    for (i, tr) in m.subject_transforms.iter().enumerate() {
        if !tr.src.is_empty() && !is_valid_subject(tr.src.as_bytes()) {
            return Err(JsError::MirrorInvalidSubjectFilter {
                err: format!("invalid subject {}", tr.src),
            });
        }
        validate_transform(&tr.src, &tr.dest)
            .map_err(|err| JsError::MirrorInvalidTransformDestination { err })?;
        let collide = m
            .subject_transforms
            .iter()
            .enumerate()
            .any(|(j, o)| i != j && overlaps(filter_or_all(&tr.src), filter_or_all(&o.src)));
        if collide {
            return Err(JsError::MirrorOverlappingSubjectFilters);
        }
    }
    if m.external.is_none() && !is_valid_stream_name(&m.name) {
        return Err(JsError::MirrorInvalidStreamName);
    }
    Ok(())
}

fn check_sources(
    sources: &[StreamSource],
    api_prefixes: &mut Vec<String>,
    deliver_prefixes: &mut Vec<String>,
) -> Result<(), JsError> {
    let mut seen = HashSet::new();
    let mut consumers = HashSet::new();
    for src in sources {
        if !is_valid_stream_name(&src.name) {
            return Err(JsError::SourceInvalidStreamName);
        }
        // nats-server's "index name": stream, filter, transforms, external.
        let iname = (
            &src.name,
            &src.filter_subject,
            &src.subject_transforms,
            src.external.as_ref().map(|e| &e.api),
        );
        if !seen.insert(iname) {
            return Err(JsError::SourceDuplicateDetected);
        }
        if !src.filter_subject.is_empty() && !src.subject_transforms.is_empty() {
            return Err(JsError::SourceMultipleFiltersNotAllowed);
        }
        for tr in &src.subject_transforms {
            if !tr.src.is_empty() && !is_valid_subject(tr.src.as_bytes()) {
                return Err(JsError::SourceInvalidSubjectFilter {
                    err: format!("invalid subject {}", tr.src),
                });
            }
            validate_transform(&tr.src, &tr.dest)
                .map_err(|err| JsError::SourceInvalidTransformDestination { err })?;
        }
        for (i, tr) in src.subject_transforms.iter().enumerate() {
            let collide =
                src.subject_transforms.iter().enumerate().any(|(j, o)| {
                    i != j && subset_of(filter_or_all(&tr.src), filter_or_all(&o.src))
                });
            if collide {
                return Err(JsError::SourceOverlappingSubjectFilters);
            }
        }
        if let Some(c) = &src.consumer {
            if !is_valid_stream_name(&c.name)
                || !is_valid_publish_subject(&c.deliver_subject)
                || src.opt_start_seq != 0
                || src.opt_start_time.is_some()
                || !src.filter_subject.is_empty()
            {
                return Err(JsError::SourceDurableConsumerCfgInvalid);
            }
            let cname = (&src.name, &c.name, src.external.as_ref().map(|e| &e.api));
            if !consumers.insert(cname) {
                return Err(JsError::SourceDurableConsumerDuplicateDetected);
            }
        }
        if let Some(ext) = &src.external {
            if !ext.deliver.is_empty() {
                deliver_prefixes.push(ext.deliver.clone());
            }
            if !ext.api.is_empty() {
                api_prefixes.push(ext.api.clone());
            }
        }
    }
    Ok(())
}

fn check_subjects(cfg: &StreamConfig) -> Result<(), JsError> {
    let bad = |s: String| Err(JsError::invalid_config(s));
    let mut seen = HashSet::new();
    for (i, subj) in cfg.subjects.iter().enumerate() {
        if !is_valid_subject(subj.as_bytes()) {
            return bad("invalid subject".into());
        }
        if !seen.insert(subj.as_str()) {
            return bad("duplicate subjects detected".into());
        }
        if subj == ">" {
            if !cfg.no_ack {
                return bad("capturing all subjects requires no-ack to be true".into());
            }
            if cfg.num_replicas != 1 {
                return bad("capturing all subjects requires replicas of 1".into());
            }
        }
        if !cfg.no_ack {
            let s = subj.as_bytes();
            let in_api = ["$JS.>", "$JSC.>", "$NRG.>"]
                .iter()
                .any(|ns| overlaps(s, ns.as_bytes()));
            if in_api && !subset_of(s, b"$JS.EVENT.>") {
                return bad(
                    "subjects that overlap with jetstream api require no-ack to be true".into(),
                );
            }
            if overlaps(s, b"$SYS.>") && !subset_of(s, b"$SYS.ACCOUNT.>") {
                return bad(
                    "subjects that overlap with system api require no-ack to be true".into(),
                );
            }
        }
        for other in &cfg.subjects[i + 1..] {
            if overlaps(other.as_bytes(), subj.as_bytes()) {
                return bad(format!(
                    "subject {} overlaps with {}",
                    go_quote(subj),
                    go_quote(other)
                ));
            }
        }
    }
    Ok(())
}

fn filter_or_all(s: &str) -> &[u8] {
    if s.is_empty() {
        b">"
    } else {
        s.as_bytes()
    }
}

/// A valid subject without wildcards.
fn is_valid_publish_subject(s: &str) -> bool {
    weir_subject::is_valid_literal_subject(s.as_bytes())
}

/// Go's `%q` for the strings that reach it here (valid subjects).
fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Go's `time.Duration.String`.
pub(crate) fn go_duration(ns: i64) -> String {
    crate::duration::go_duration(ns)
}
