//! Consumer create: the create handler's subject checks
//! (`jsConsumerCreateRequest`), then the defaults and config checks of
//! `consumer_checks.rs`, in nats-server 2.14's order, so the first error
//! reported is the same one.
//!
//! Checks that need other consumers or live state are separate: the
//! action rules and updates ([`crate::check_consumer_action`],
//! [`crate::apply_consumer_update`]), workqueue exclusivity
//! ([`crate::check_workqueue_consumer`]) and the consumer count
//! ([`crate::check_consumer_limit`]).

use crate::consumer_checks::{check_consumer_config, set_consumer_defaults};
use crate::consumer_config::{AckPolicy, ConsumerConfig};
use crate::consumer_requests::CreateConsumerRequest;
use crate::errors::JsError;
use crate::stream_config::{RetentionPolicy, StreamConfig};
use crate::validate::{is_valid_stream_name, ServerLimits, MAX_NAME_LEN, SECOND};
use crate::versioning::set_consumer_static_metadata;

/// `JsAckWaitDefault`: 30 s.
pub const DEFAULT_ACK_WAIT: i64 = 30 * SECOND;
/// `JsDefaultMaxAckPending`.
pub const DEFAULT_MAX_ACK_PENDING: i64 = 1000;
/// `JSWaitQueueDefaultMax`: pull requests a consumer keeps waiting.
pub const DEFAULT_MAX_WAITING: i64 = 512;
/// `JsDeleteWaitTimeDefault`: an ephemeral's `inactive_threshold`.
pub const DEFAULT_EPHEMERAL_INACTIVE_THRESHOLD: i64 = 5 * SECOND;
/// `JsDefaultPinnedTTL`: the pinned-client `priority_timeout`.
pub const DEFAULT_PINNED_TTL: i64 = 120 * SECOND;
/// `sourceHealthHB`: the heartbeat flow-control-ack consumers must use.
pub const FLOW_CONTROL_ACK_HEARTBEAT: i64 = SECOND;

/// What the API subject of a create request says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerCreateSubject<'a> {
    pub stream: &'a str,
    /// The consumer name token; `None` for the legacy ephemeral form
    /// (`CONSUMER.CREATE.<stream>`) and for a malformed durable subject.
    pub name: Option<&'a str>,
    /// The filter tokens after the name (`CONSUMER.CREATE.<s>.<n>.<filter>`).
    pub filter: Option<&'a str>,
    /// `CONSUMER.DURABLE.CREATE.<stream>.<name>`.
    pub legacy_durable: bool,
}

impl<'a> ConsumerCreateSubject<'a> {
    /// Splits `$JS.API.CONSUMER.CREATE.…` or `…DURABLE.CREATE.…`; `None`
    /// if it is neither. A durable subject without exactly one name token
    /// gives `name: None` (10016 from [`prepare_consumer_create`]).
    pub fn parse(subject: &'a str) -> Option<ConsumerCreateSubject<'a>> {
        if let Some(rest) = subject.strip_prefix("$JS.API.CONSUMER.DURABLE.CREATE.") {
            let mut it = rest.splitn(2, '.');
            let stream = it.next()?;
            let name = it.next().filter(|n| !n.contains('.'));
            return Some(ConsumerCreateSubject {
                stream,
                name,
                filter: None,
                legacy_durable: true,
            });
        }
        let rest = subject.strip_prefix("$JS.API.CONSUMER.CREATE.")?;
        let mut it = rest.splitn(3, '.');
        Some(ConsumerCreateSubject {
            stream: it.next()?,
            name: it.next(),
            filter: it.next(),
            legacy_durable: false,
        })
    }
}

/// Server and account limits that apply to consumers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConsumerLimits {
    /// `jetstream.limits.max_ack_pending`; 0 or less is none.
    pub server_max_ack_pending: i64,
    /// `jetstream.limits.max_request_batch`; 0 or less is none.
    pub server_max_request_batch: i64,
    /// The account tier's `max_ack_pending`; 0 or less is none.
    pub account_max_ack_pending: i64,
    /// Clustered servers accept `num_replicas` > 1.
    pub clustered: bool,
}

impl ConsumerLimits {
    /// The account and clustering parts of a stream's [`ServerLimits`].
    pub fn from_server(limits: &ServerLimits) -> ConsumerLimits {
        ConsumerLimits {
            account_max_ack_pending: limits.account.max_ack_pending,
            clustered: limits.clustered,
            ..ConsumerLimits::default()
        }
    }
}

/// [`prepare_consumer_create_with`] on a standalone server without
/// server or account consumer limits.
pub fn prepare_consumer_create(
    stream: &StreamConfig,
    req: CreateConsumerRequest,
    subject: ConsumerCreateSubject<'_>,
) -> Result<ConsumerConfig, JsError> {
    prepare_consumer_create_with(stream, req, subject, &ConsumerLimits::default())
}

/// The create handler's checks on the subject and body, the server's
/// defaults, every config check, then the durable name length and the
/// ephemeral `inactive_threshold` (5 s). Returns the config to store: its
/// `metadata` carries `_nats.req.level` (ADR-44); add the response keys
/// with [`crate::consumer_response_config`]. A consumer with neither name
/// (legacy ephemeral) comes back unnamed: the caller picks a random name.
///
/// Not covered here: stream lookup (10059), the action and update rules,
/// the consumer limit (10026) and workqueue exclusivity, which nats-server
/// checks before the name length; and the random suffix nats-server gives
/// a direct sourcing consumer on a limits stream.
pub fn prepare_consumer_create_with(
    stream: &StreamConfig,
    req: CreateConsumerRequest,
    subject: ConsumerCreateSubject<'_>,
    limits: &ConsumerLimits,
) -> Result<ConsumerConfig, JsError> {
    let mut cfg = req.config;
    if subject.legacy_durable && subject.name.is_none() {
        return Err(JsError::ConsumerDurableNameNotInSubject);
    }
    if subject.stream != req.stream_name {
        return Err(JsError::StreamMismatch);
    }
    let name = match subject.name {
        Some(n) => n,
        None if subject.legacy_durable => "",
        None => cfg.name.as_str(),
    }
    .to_string();
    if name.contains(['\\', '/']) {
        return Err(JsError::ConsumerNameContainsPathSeparators);
    }
    if subject.legacy_durable {
        if cfg.durable_name.is_empty() {
            return Err(JsError::ConsumerDurableNameNotSet);
        }
        if name != cfg.durable_name {
            return Err(JsError::ConsumerDurableNameNotMatchSubject);
        }
        cfg.name = name;
    } else if subject.name.is_some() {
        if !cfg.durable_name.is_empty() && name != cfg.durable_name {
            return Err(JsError::ConsumerDurableNameNotMatchSubject);
        }
        cfg.name = name;
    } else if !cfg.durable_name.is_empty() {
        return Err(JsError::ConsumerEphemeralWithDurableName);
    }
    if let Some(filter) = subject.filter {
        if !cfg.filter_subjects.is_empty() {
            return Err(JsError::ConsumerMultipleFiltersNotAllowed);
        }
        if cfg.filter_subject != filter {
            return Err(JsError::ConsumerCreateFilterSubjectMismatch);
        }
    }
    if !limits.clustered && cfg.num_replicas > 1 {
        return Err(JsError::StreamReplicasNotSupported);
    }
    // A direct sourcing consumer from an interest or workqueue stream is
    // made durable with flow-control acks.
    if cfg.direct
        && cfg.sourcing
        && !cfg.name.is_empty()
        && !limits.clustered
        && stream.retention != RetentionPolicy::Limits
    {
        cfg.direct = false;
        cfg.durable_name = cfg.name.clone();
        cfg.ack_policy = AckPolicy::FlowControl;
        cfg.ack_wait = 0;
        cfg.max_deliver = 0;
        cfg.inactive_threshold = 0;
    }
    set_consumer_static_metadata(&mut cfg);
    set_consumer_defaults(&mut cfg, stream, limits, req.pedantic)?;
    check_consumer_config(&cfg, stream, limits)?;
    if cfg.is_durable() && cfg.durable_name.len() > MAX_NAME_LEN {
        return Err(JsError::consumer_name_too_long(MAX_NAME_LEN));
    }
    let registered = cfg.consumer_name();
    if !registered.is_empty() && !is_valid_stream_name(registered) {
        return Err(JsError::ConsumerBadDurableName);
    }
    if !cfg.is_durable() && cfg.inactive_threshold <= 0 {
        cfg.inactive_threshold = DEFAULT_EPHEMERAL_INACTIVE_THRESHOLD;
    }
    Ok(cfg)
}

#[cfg(test)]
#[path = "consumer_validate_tests.rs"]
mod tests;
