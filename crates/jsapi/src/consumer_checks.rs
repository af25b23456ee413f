//! `setConsumerConfigDefaults` and `checkConsumerCfg`, in nats-server
//! 2.14's order, so the first error reported is the same one.

use weir_subject::{is_literal, is_valid_subject, subset_of};

use crate::consumer_config::{AckPolicy, ConsumerConfig, DeliverPolicy, PriorityPolicy};
use crate::consumer_requests::is_valid_group_name;
use crate::consumer_validate::{
    ConsumerLimits, DEFAULT_ACK_WAIT, DEFAULT_MAX_ACK_PENDING, DEFAULT_MAX_WAITING,
    DEFAULT_PINNED_TTL, FLOW_CONTROL_ACK_HEARTBEAT,
};
use crate::errors::JsError;
use crate::stream_config::{RetentionPolicy, StreamConfig};
use crate::validate::{is_valid_stream_name, MAX_DESCRIPTION_LEN, MAX_METADATA_LEN};

const MS: i64 = 1_000_000;

/// `setConsumerConfigDefaults`: fills what the request left unset. In
/// pedantic mode each default that would change the request is an error
/// (10157) instead.
pub fn set_consumer_defaults(
    cfg: &mut ConsumerConfig,
    stream: &StreamConfig,
    limits: &ConsumerLimits,
    pedantic: bool,
) -> Result<(), JsError> {
    let pedantic_err = |s: &str| Err(JsError::Pedantic { err: s.to_string() });
    if cfg.max_deliver == 0 || cfg.max_deliver < -1 {
        if pedantic && cfg.max_deliver < -1 {
            return pedantic_err("max_deliver must be set to -1");
        }
        cfg.max_deliver = -1;
    }
    if cfg.max_waiting < 0 {
        if pedantic {
            return pedantic_err("max_waiting must not be negative");
        }
        cfg.max_waiting = 0;
    }
    if cfg.max_ack_pending < -1 {
        if pedantic {
            return pedantic_err("max_ack_pending must be set to -1");
        }
        cfg.max_ack_pending = -1;
    }
    let non_negative = [
        (&mut cfg.max_batch, "max_batch must not be negative"),
        (&mut cfg.max_expires, "max_expires must not be negative"),
        (&mut cfg.max_bytes, "max_bytes must not be negative"),
        (
            &mut cfg.idle_heartbeat,
            "idle_heartbeat must not be negative",
        ),
        (
            &mut cfg.inactive_threshold,
            "inactive_threshold must not be negative",
        ),
        (
            &mut cfg.priority_timeout,
            "priority_timeout must not be negative",
        ),
    ];
    for (v, msg) in non_negative {
        if *v < 0 {
            if pedantic {
                return pedantic_err(msg);
            }
            *v = 0;
        }
    }
    if cfg.is_pull() && cfg.max_waiting == 0 {
        cfg.max_waiting = DEFAULT_MAX_WAITING;
    }
    if cfg.ack_wait == 0 && matches!(cfg.ack_policy, AckPolicy::Explicit | AckPolicy::All) {
        cfg.ack_wait = DEFAULT_ACK_WAIT;
    }
    if let Some(&first) = cfg.backoff.first() {
        if pedantic && cfg.ack_wait != first {
            return pedantic_err("first backoff value has to equal batch AckWait");
        }
        cfg.ack_wait = first;
    }
    let stream_limits = stream.consumer_limits;
    if cfg.max_ack_pending == 0 {
        if pedantic && stream_limits.max_ack_pending > 0 {
            return pedantic_err("max_ack_pending must be set if it's configured in stream limits");
        }
        cfg.max_ack_pending = stream_limits.max_ack_pending;
    }
    if cfg.inactive_threshold == 0 {
        if pedantic && stream_limits.inactive_threshold > 0 {
            return pedantic_err(
                "inactive_threshold must be set if it's configured in stream limits",
            );
        }
        cfg.inactive_threshold = stream_limits.inactive_threshold;
    }
    if cfg.max_ack_pending == 0 && cfg.ack_policy != AckPolicy::None {
        let mut pending = DEFAULT_MAX_ACK_PENDING;
        for lim in [
            limits.server_max_ack_pending,
            limits.account_max_ack_pending,
        ] {
            if lim > 0 && lim < pending {
                pending = lim;
            }
        }
        cfg.max_ack_pending = pending;
    }
    if cfg.is_pull() && cfg.max_batch == 0 && limits.server_max_request_batch > 0 {
        if pedantic {
            return pedantic_err("max_request_batch must be set if it's JetStream limits are set");
        }
        cfg.max_batch = limits.server_max_request_batch;
    }
    if cfg.priority_policy == PriorityPolicy::PinnedClient && cfg.priority_timeout == 0 {
        cfg.priority_timeout = DEFAULT_PINNED_TTL;
    }
    if cfg.ack_policy == AckPolicy::FlowControl && !pedantic {
        cfg.flow_control = true;
        cfg.idle_heartbeat = FLOW_CONTROL_ACK_HEARTBEAT;
    }
    Ok(())
}

/// `checkConsumerCfg`: every rule on a (defaulted) config against its
/// stream, in nats-server's order.
pub fn check_consumer_config(
    cfg: &ConsumerConfig,
    stream: &StreamConfig,
    limits: &ConsumerLimits,
) -> Result<(), JsError> {
    let invalid = |s: &str| Err(JsError::invalid_config(s));
    if !cfg.name.is_empty() && !is_valid_stream_name(&cfg.name) {
        return invalid("consumer name can not contain '.', '*', '>', '\\', '/'");
    }
    if !cfg.durable_name.is_empty() && !is_valid_stream_name(&cfg.durable_name) {
        return invalid("consumer durable name can not contain '.', '*', '>', '\\', '/'");
    }
    let stream_replicas = stream.num_replicas.max(1);
    if cfg.num_replicas > 0 && cfg.num_replicas > stream_replicas {
        return Err(JsError::ConsumerReplicasExceedsStream);
    }
    if cfg.num_replicas < 0 {
        return Err(JsError::ReplicasCountCannotBeNegative);
    }
    if stream.retention != RetentionPolicy::Limits
        && cfg.num_replicas != 0
        && cfg.num_replicas != stream_replicas
    {
        return Err(JsError::ConsumerReplicasShouldMatchStream);
    }
    if cfg.backoff.iter().any(|&b| b < 0) {
        return Err(JsError::ConsumerBackOffNegative);
    }
    if cfg.ack_wait < 0 {
        return Err(JsError::ConsumerAckWaitNegative);
    }
    if cfg.ack_policy == AckPolicy::FlowControl {
        if cfg.is_pull() {
            return Err(JsError::ConsumerAckFcRequiresPush);
        }
        if !cfg.flow_control {
            return Err(JsError::ConsumerAckFcRequiresFc);
        }
        if cfg.idle_heartbeat != FLOW_CONTROL_ACK_HEARTBEAT {
            return invalid("flow control ack policy heartbeat needs to be 1s");
        }
        if cfg.max_ack_pending <= 0 {
            return Err(JsError::ConsumerAckFcRequiresMaxAckPending);
        }
        if cfg.ack_wait != 0 || !cfg.backoff.is_empty() {
            return Err(JsError::ConsumerAckFcRequiresNoAckWait);
        }
        if cfg.max_deliver > 0 {
            return Err(JsError::ConsumerAckFcRequiresNoMaxDeliver);
        }
    }
    let backoffs = cfg.backoff.len() as i64;
    if backoffs > 0 && cfg.max_deliver != -1 && backoffs > cfg.max_deliver {
        return Err(JsError::ConsumerMaxDeliverBackoff);
    }
    if cfg.description.len() > MAX_DESCRIPTION_LEN {
        return Err(JsError::consumer_description_too_long(MAX_DESCRIPTION_LEN));
    }
    check_delivery_mode(cfg, stream, limits)?;
    check_limits(cfg, stream, limits)?;
    if cfg.direct {
        if cfg.is_pull() {
            return Err(JsError::ConsumerDirectRequiresPush);
        }
        if cfg.is_durable() {
            return Err(JsError::ConsumerDirectRequiresEphemeral);
        }
    }
    check_filters(cfg)?;
    check_start(cfg)?;
    if !cfg.sample_freq.is_empty() {
        let s = cfg
            .sample_freq
            .strip_suffix('%')
            .unwrap_or(&cfg.sample_freq);
        match go_atoi(s) {
            Err(e) => return Err(JsError::consumer_invalid_sampling(e)),
            Ok(n) if n < 0 => return Err(JsError::consumer_invalid_sampling("<nil>")),
            Ok(_) => {}
        }
    }
    if cfg.flow_control && cfg.idle_heartbeat == 0 {
        return Err(JsError::ConsumerWithFlowControlNeedsHeartbeats);
    }
    if !cfg.durable_name.is_empty() && !cfg.name.is_empty() && cfg.name != cfg.durable_name {
        return Err(JsError::ConsumerCreateDurableAndNameMismatch);
    }
    let metadata_len: usize = cfg
        .metadata
        .iter()
        .flatten()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    if metadata_len > MAX_METADATA_LEN {
        return Err(JsError::ConsumerMetadataLength {
            limit: format!("{}KB", MAX_METADATA_LEN / 1024),
        });
    }
    check_priority(cfg)?;
    if stream
        .placement
        .as_ref()
        .is_some_and(|p| !p.preferred.is_empty())
    {
        return invalid("preferred server not permitted in placement");
    }
    Ok(())
}

fn check_delivery_mode(
    cfg: &ConsumerConfig,
    stream: &StreamConfig,
    limits: &ConsumerLimits,
) -> Result<(), JsError> {
    if !cfg.is_pull() {
        let ds = cfg.deliver_subject.as_bytes();
        if !is_literal(ds) {
            return Err(JsError::ConsumerDeliverToWildcards);
        }
        if !is_valid_subject(ds) {
            return Err(JsError::ConsumerInvalidDeliverSubject);
        }
        if stream.subjects.iter().any(|s| subset_of(ds, s.as_bytes())) {
            return Err(JsError::ConsumerDeliverCycle);
        }
        if cfg.max_waiting != 0 {
            return Err(JsError::ConsumerPushMaxWaiting);
        }
        if cfg.max_ack_pending > 0 && cfg.ack_policy == AckPolicy::None {
            return Err(JsError::ConsumerMaxPendingAckPolicyRequired);
        }
        if cfg.idle_heartbeat > 0 && cfg.idle_heartbeat < 100 * MS {
            return Err(JsError::ConsumerSmallHeartbeat);
        }
        return Ok(());
    }
    if cfg.ack_policy == AckPolicy::None && stream.retention == RetentionPolicy::WorkQueue {
        return Err(JsError::ConsumerPullRequiresAck);
    }
    if cfg.rate_limit_bps > 0 {
        return Err(JsError::ConsumerPullWithRateLimit);
    }
    if cfg.max_waiting < 0 {
        return Err(JsError::ConsumerMaxWaitingNegative);
    }
    if cfg.idle_heartbeat > 0 {
        return Err(JsError::ConsumerHbRequiresPush);
    }
    if cfg.flow_control {
        return Err(JsError::ConsumerFcRequiresPush);
    }
    if cfg.max_batch < 0 {
        return Err(JsError::ConsumerMaxRequestBatchNegative);
    }
    if cfg.max_expires != 0 && cfg.max_expires < MS {
        return Err(JsError::ConsumerMaxRequestExpiresTooSmall);
    }
    let server_batch = limits.server_max_request_batch;
    if server_batch > 0 && cfg.max_batch > server_batch {
        return Err(JsError::consumer_max_request_batch_exceeded(server_batch));
    }
    Ok(())
}

fn check_limits(
    cfg: &ConsumerConfig,
    stream: &StreamConfig,
    limits: &ConsumerLimits,
) -> Result<(), JsError> {
    let stream_limits = stream.consumer_limits;
    for lim in [
        limits.server_max_ack_pending,
        limits.account_max_ack_pending,
        stream_limits.max_ack_pending,
    ] {
        if lim > 0 && cfg.max_ack_pending > lim {
            return Err(JsError::consumer_max_pending_ack_excess(lim));
        }
    }
    let lim = stream_limits.inactive_threshold;
    if lim > 0 && cfg.inactive_threshold > lim {
        return Err(JsError::consumer_inactive_threshold_excess(lim));
    }
    Ok(())
}

fn check_filters(cfg: &ConsumerConfig) -> Result<(), JsError> {
    if !cfg.filter_subject.is_empty() && !cfg.filter_subjects.is_empty() {
        return Err(JsError::ConsumerDuplicateFilterSubjects);
    }
    if !cfg.filter_subject.is_empty() && !is_valid_subject(cfg.filter_subject.as_bytes()) {
        return Err(JsError::invalid_config("invalid subject"));
    }
    if cfg.filter_subjects.iter().any(String::is_empty) {
        return Err(JsError::ConsumerEmptyFilter);
    }
    let filters = cfg.filters();
    for (i, f) in filters.iter().enumerate() {
        if !is_valid_subject(f.as_bytes()) {
            return Err(JsError::invalid_config("invalid subject"));
        }
        let collides = filters
            .iter()
            .enumerate()
            .any(|(j, g)| i != j && subset_of(f.as_bytes(), g.as_bytes()));
        if collides {
            return Err(JsError::ConsumerOverlappingSubjectFilters);
        }
    }
    Ok(())
}

fn check_start(cfg: &ConsumerConfig) -> Result<(), JsError> {
    let bad_start = |dp: &str, start: &str| {
        Err(JsError::consumer_invalid_policy(format!(
            "consumer delivery policy is deliver {dp}, but optional start {start} is also set"
        )))
    };
    let not_set = |dp: &str, what: &str| {
        Err(JsError::consumer_invalid_policy(format!(
            "consumer delivery policy is deliver {dp}, but optional {what} is not set"
        )))
    };
    let (seq, time) = (cfg.opt_start_seq > 0, cfg.opt_start_time.is_some());
    let simple = match cfg.deliver_policy {
        DeliverPolicy::All => "all",
        DeliverPolicy::Last => "last",
        DeliverPolicy::New => "new",
        DeliverPolicy::LastPerSubject => "last per subject",
        DeliverPolicy::ByStartSequence => {
            if !seq {
                return not_set("by start sequence", "start sequence");
            }
            if time {
                return bad_start("by start sequence", "time");
            }
            return Ok(());
        }
        DeliverPolicy::ByStartTime => {
            if !time {
                return not_set("by start time", "start time");
            }
            if seq {
                return bad_start("by start time", "start sequence");
            }
            return Ok(());
        }
    };
    if seq {
        return bad_start(simple, "sequence");
    }
    if time {
        return bad_start(simple, "time");
    }
    if cfg.deliver_policy == DeliverPolicy::LastPerSubject && cfg.filters().is_empty() {
        return not_set("last per subject", "filter subject");
    }
    Ok(())
}

fn check_priority(cfg: &ConsumerConfig) -> Result<(), JsError> {
    if cfg.priority_policy != PriorityPolicy::None {
        if !cfg.is_pull() {
            return Err(JsError::ConsumerPushWithPriorityGroup);
        }
        if cfg.priority_groups.is_empty() {
            return Err(JsError::ConsumerPriorityPolicyWithoutGroup);
        }
        for g in &cfg.priority_groups {
            if g.is_empty() {
                return Err(JsError::ConsumerEmptyGroupName);
            }
            if !is_valid_group_name(g) {
                return Err(JsError::ConsumerInvalidGroupName);
            }
        }
    } else {
        if !cfg.priority_groups.is_empty() {
            return Err(JsError::ConsumerPriorityGroupWithPolicyNone);
        }
        if cfg.priority_timeout > 0 {
            return Err(JsError::ConsumerPinnedTtlWithoutPriorityPolicyNone);
        }
    }
    Ok(())
}

/// Go's `strconv.Atoi`, with its error text.
pub(crate) fn go_atoi(s: &str) -> Result<i64, String> {
    let quoted = serde_json::to_string(s).unwrap_or_default();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("strconv.Atoi: parsing {quoted}: invalid syntax"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {quoted}: value out of range"))
}
