//! From the JetStream `ConsumerConfig` to what the consumer engine needs.

use bytes::Bytes;
use weir_consumer::{AckMode, Mode, Policy, Priority, StartPolicy};
use weir_jsapi::{AckPolicy, ConsumerConfig, DeliverPolicy, PriorityPolicy, ReplayPolicy};

/// nats-server's `ack_wait` default.
const DEFAULT_ACK_WAIT_NS: i64 = 30_000_000_000;
/// nats-server's pull `max_waiting` default.
const DEFAULT_MAX_WAITING: usize = 512;

/// Metadata key naming a consumer's dead-letter subject (Weir's own extension).
pub const DEAD_LETTER_KEY: &str = "weir.dead_letter";

pub fn policy_of(stream: &str, name: &str, cfg: &ConsumerConfig) -> Policy {
    let mode = if cfg.is_pull() {
        Mode::Pull {
            max_waiting: usize::try_from(cfg.max_waiting)
                .ok()
                .filter(|n| *n > 0)
                .unwrap_or(DEFAULT_MAX_WAITING),
        }
    } else {
        Mode::Push {
            deliver_subject: Bytes::copy_from_slice(cfg.deliver_subject.as_bytes()),
            flow_control: cfg.flow_control,
            idle_heartbeat_ns: cfg.idle_heartbeat.max(0),
        }
    };
    Policy {
        stream: stream.to_string(),
        name: name.to_string(),
        ack: match cfg.ack_policy {
            AckPolicy::None => AckMode::None,
            AckPolicy::All => AckMode::All,
            AckPolicy::Explicit | AckPolicy::FlowControl => AckMode::Explicit,
        },
        ack_wait_ns: if cfg.ack_wait > 0 {
            cfg.ack_wait
        } else {
            DEFAULT_ACK_WAIT_NS
        },
        backoff_ns: cfg.backoff.clone(),
        max_deliver: cfg.max_deliver,
        max_ack_pending: cfg.max_ack_pending,
        filters: cfg
            .filters()
            .into_iter()
            .filter(|f| *f != ">")
            .map(|f| Bytes::copy_from_slice(f.as_bytes()))
            .collect(),
        replay_original: cfg.replay_policy == ReplayPolicy::Original,
        ack_metrics: !cfg.sample_freq.is_empty(),
        rate_limit_bps: cfg.rate_limit_bps,
        mode,
        priority: match cfg.priority_policy {
            PriorityPolicy::None => Priority::None,
            PriorityPolicy::Overflow => Priority::Overflow,
            PriorityPolicy::PinnedClient => Priority::PinnedClient {
                timeout_ns: if cfg.priority_timeout > 0 {
                    cfg.priority_timeout
                } else {
                    weir_jsapi::DEFAULT_PINNED_TTL
                },
            },
            PriorityPolicy::Prioritized => Priority::Prioritized,
        },
    }
}

pub fn start_of(cfg: &ConsumerConfig) -> StartPolicy {
    match cfg.deliver_policy {
        DeliverPolicy::All => StartPolicy::All,
        DeliverPolicy::Last => StartPolicy::Last,
        DeliverPolicy::New => StartPolicy::New,
        DeliverPolicy::ByStartSequence => StartPolicy::Sequence(cfg.opt_start_seq),
        DeliverPolicy::ByStartTime => {
            StartPolicy::Time(cfg.opt_start_time.map_or(0, |t| t.unix_nanos()))
        }
        DeliverPolicy::LastPerSubject => StartPolicy::LastPerSubject,
    }
}

/// Whether to report this ack for a `sample_freq` of "N" or "N%" (percent of acks).
pub fn sampled(sample_freq: &str) -> bool {
    let percent: u32 = sample_freq
        .trim()
        .trim_end_matches('%')
        .parse()
        .unwrap_or(0);
    percent >= 100 || (percent > 0 && rand::random::<u32>() % 100 < percent)
}

/// The dead-letter subject a consumer's metadata names, if any.
pub fn dead_letter_subject(cfg: &ConsumerConfig) -> Option<String> {
    cfg.metadata
        .as_ref()
        .and_then(|m| m.get(DEAD_LETTER_KEY))
        .filter(|s| weir_subject::is_valid_literal_subject(s.as_bytes()))
        .cloned()
}
