//! Rules that involve an existing consumer or the stream's other consumers:
//! create/update actions, what an update may change (`checkNewConsumerConfig`
//! and `updateConfig`), pause, reset, the consumer count and workqueue
//! exclusivity (`addConsumerWithAssignment`, `partitionUnique`).
//!
//! An update may change: description, ack_wait, max_deliver, backoff,
//! filters, rate_limit_bps, sample_freq, max_ack_pending, headers_only,
//! max_batch/max_expires/max_bytes, deliver_subject (push to push, and
//! only while unbound: a bound one is 10013, the caller's check),
//! deliver_group, inactive_threshold, num_replicas, metadata and the
//! priority settings. It may not change deliver_policy, opt_start_seq/time,
//! ack_policy, replay_policy, idle_heartbeat, flow_control, max_waiting,
//! mem_storage, direct, sourcing, or switch between push and pull (10012
//! with nats-server's text). `pause_until` only changes through
//! `$JS.API.CONSUMER.PAUSE` ([`apply_consumer_pause`]).

use weir_subject::overlaps;

use crate::consumer_config::{AckPolicy, ConsumerConfig, DeliverPolicy};
use crate::consumer_requests::ConsumerAction;
use crate::errors::JsError;
use crate::stream_config::{RetentionPolicy, StreamConfig};
use crate::time::Timestamp;
use crate::versioning::{set_consumer_static_metadata, REQUIRED_LEVEL_KEY};

/// The action rules for a prepared config `new` given the consumer of that
/// name, if any: `update` of a missing consumer is 10149; `create` of an
/// existing one is 10148 unless the configs are equal (ignoring
/// `_nats.req.level` and `pause_until`, which the handler takes from the
/// existing consumer).
pub fn check_consumer_action(
    action: ConsumerAction,
    existing: Option<&ConsumerConfig>,
    new: &ConsumerConfig,
) -> Result<(), JsError> {
    match (action, existing) {
        (ConsumerAction::Update, None) => Err(JsError::ConsumerDoesNotExist),
        (ConsumerAction::Create, Some(old)) => {
            let mut candidate = carry_over(old, new);
            let level = old
                .metadata
                .as_ref()
                .and_then(|m| m.get(REQUIRED_LEVEL_KEY));
            let md = candidate.metadata.get_or_insert_with(Default::default);
            match level {
                Some(l) => {
                    md.insert(REQUIRED_LEVEL_KEY.into(), l.clone());
                }
                None => {
                    md.remove(REQUIRED_LEVEL_KEY);
                }
            }
            if candidate.metadata.as_ref().is_some_and(|m| m.is_empty()) {
                candidate.metadata = None;
            }
            if candidate != *old {
                return Err(JsError::ConsumerAlreadyExists);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// What the create handler keeps from the existing consumer: the pause
/// deadline, and a durable sourcing consumer's start position.
fn carry_over(existing: &ConsumerConfig, update: &ConsumerConfig) -> ConsumerConfig {
    let mut new = update.clone();
    new.pause_until = existing.pause_until;
    if new.sourcing && new.is_durable() {
        new.deliver_policy = existing.deliver_policy;
        new.opt_start_seq = existing.opt_start_seq;
        new.opt_start_time = existing.opt_start_time;
    }
    set_consumer_static_metadata(&mut new);
    new
}

/// Applies a prepared config (from [`crate::prepare_consumer_create`]) to
/// the existing consumer of that name, returning the config to store, or
/// the first rule it breaks (10012 with nats-server's text, or 10116).
/// Workqueue exclusivity of the new filters is
/// [`check_workqueue_update`].
pub fn apply_consumer_update(
    existing: &ConsumerConfig,
    update: &ConsumerConfig,
) -> Result<ConsumerConfig, JsError> {
    let new = carry_over(existing, update);
    if new == *existing {
        return Ok(new);
    }
    let refuse = |what: &str| Err(JsError::consumer_create(what));
    if new.deliver_policy != existing.deliver_policy {
        return refuse("deliver policy can not be updated");
    }
    if new.mem_storage != existing.mem_storage {
        return refuse("storage type can not be updated");
    }
    if new.direct != existing.direct {
        return refuse("direct can not be updated");
    }
    if new.sourcing != existing.sourcing {
        return refuse("sourcing can not be updated");
    }
    if new.opt_start_seq != existing.opt_start_seq {
        return refuse("start sequence can not be updated");
    }
    if new.opt_start_time != existing.opt_start_time {
        return refuse("start time can not be updated");
    }
    if new.ack_policy != existing.ack_policy {
        return refuse("ack policy can not be updated");
    }
    if new.replay_policy != existing.replay_policy {
        return refuse("replay policy can not be updated");
    }
    if new.idle_heartbeat != existing.idle_heartbeat {
        return refuse("heart beats can not be updated");
    }
    if new.flow_control != existing.flow_control {
        return refuse("flow control can not be updated");
    }
    if new.deliver_subject != existing.deliver_subject {
        if existing.is_pull() {
            return refuse("can not update pull consumer to push based");
        }
        if new.is_pull() {
            return refuse("can not update push consumer to pull based");
        }
    }
    if new.max_waiting != existing.max_waiting {
        return refuse("max waiting can not be updated");
    }
    let backoffs = new.backoff.len() as i64;
    if backoffs > 0 && new.max_deliver != -1 && backoffs > new.max_deliver {
        return Err(JsError::ConsumerMaxDeliverBackoff);
    }
    Ok(new)
}

/// `$JS.API.CONSUMER.PAUSE`: the stored config with the new deadline (a
/// zero or absent time resumes) and `_nats.req.level` recomputed.
pub fn apply_consumer_pause(
    existing: &ConsumerConfig,
    pause_until: Option<Timestamp>,
) -> ConsumerConfig {
    let mut cfg = existing.clone();
    cfg.pause_until = pause_until.filter(|t| !t.is_zero());
    set_consumer_static_metadata(&mut cfg);
    cfg
}

/// `$JS.API.CONSUMER.RESET` rules (2.14): 0 resets to the ack floor; any
/// sequence is allowed for deliver-all; by-start-sequence may not go below
/// `opt_start_seq` and by-start-time below `start_time_seq` (the stream's
/// first sequence at `opt_start_time`); other policies refuse (10204).
pub fn check_consumer_reset(
    cfg: &ConsumerConfig,
    seq: u64,
    start_time_seq: u64,
) -> Result<(), JsError> {
    if seq == 0 {
        return Ok(());
    }
    match cfg.deliver_policy {
        DeliverPolicy::All => Ok(()),
        DeliverPolicy::ByStartSequence if seq < cfg.opt_start_seq => {
            Err(JsError::consumer_invalid_reset("below start seq"))
        }
        DeliverPolicy::ByStartSequence => Ok(()),
        DeliverPolicy::ByStartTime if seq < start_time_seq => {
            Err(JsError::consumer_invalid_reset("below start time"))
        }
        DeliverPolicy::ByStartTime => Ok(()),
        _ => Err(JsError::consumer_invalid_reset("not allowed")),
    }
}

/// Counted against `max_consumers`: not direct and not sourcing.
fn limitable(c: &ConsumerConfig) -> bool {
    !c.direct && !c.sourcing
}

/// The consumer count limit for a new consumer (10026): the stream's
/// `max_consumers`, or the account's when that is lower or the stream has
/// none. `others` are the stream's existing consumers.
pub fn check_consumer_limit(
    stream: &StreamConfig,
    account_max_consumers: i64,
    others: &[&ConsumerConfig],
) -> Result<(), JsError> {
    let mut max = stream.max_consumers;
    if max <= 0 || (account_max_consumers > 0 && account_max_consumers < max) {
        max = account_max_consumers;
    }
    let count = others.iter().filter(|c| limitable(c)).count() as i64;
    if max > 0 && count >= max {
        return Err(JsError::MaximumConsumersLimit);
    }
    Ok(())
}

/// Workqueue rules for a new consumer (`others` are the stream's other
/// consumers): explicit (or flow-control) acks (10098), deliver all
/// (10101), and, once the stream has a consumer, a filter (10099) that
/// overlaps no other consumer's (10100). Direct and sourcing consumers are
/// exempt.
pub fn check_workqueue_consumer(
    stream: &StreamConfig,
    new: &ConsumerConfig,
    others: &[&ConsumerConfig],
) -> Result<(), JsError> {
    if stream.retention != RetentionPolicy::WorkQueue || new.direct || new.sourcing {
        return Ok(());
    }
    if !matches!(new.ack_policy, AckPolicy::Explicit | AckPolicy::FlowControl) {
        return Err(JsError::ConsumerWqRequiresExplicitAck);
    }
    if new.deliver_policy != DeliverPolicy::All {
        return Err(JsError::ConsumerWqConsumerNotDeliverAll);
    }
    if others.iter().any(|c| limitable(c)) {
        if new.filters().is_empty() {
            return Err(JsError::ConsumerWqMultipleUnfiltered);
        }
        if !partition_unique(new, others) {
            return Err(JsError::ConsumerWqConsumerNotUnique);
        }
    }
    Ok(())
}

/// Workqueue rule for an update of an existing consumer: its new filters
/// may not overlap another consumer's (10100). An unfiltered update is not
/// refused here, as in nats-server.
pub fn check_workqueue_update(
    stream: &StreamConfig,
    update: &ConsumerConfig,
    others: &[&ConsumerConfig],
) -> Result<(), JsError> {
    if stream.retention == RetentionPolicy::WorkQueue && !partition_unique(update, others) {
        return Err(JsError::ConsumerWqConsumerNotUnique);
    }
    Ok(())
}

/// `partitionUnique`: no other consumer is unfiltered or has a filter that
/// shares a subject with one of `new`'s.
fn partition_unique(new: &ConsumerConfig, others: &[&ConsumerConfig]) -> bool {
    let name = new.consumer_name();
    new.filters().iter().all(|p| {
        others
            .iter()
            .filter(|o| o.consumer_name() != name)
            .all(|o| {
                let theirs = o.filters();
                !theirs.is_empty() && !theirs.iter().any(|f| overlaps(p.as_bytes(), f.as_bytes()))
            })
    })
}

#[cfg(test)]
#[path = "consumer_update_tests.rs"]
mod tests;
