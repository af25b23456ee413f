//! Consumer request bodies (`server/consumer.go`, `server/jetstream_api.go`)
//! and the pull request (`$JS.API.CONSUMER.MSG.NEXT`) rules of
//! `nextReqFromMsg` / `processNextMsgRequest`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::consumer_config::{zero_time, ConsumerConfig, PriorityPolicy};
use crate::duration::go_duration;
use crate::errors::JsError;
use crate::stream_config::{is_zero_i64, is_zero_u64};
use crate::time::Timestamp;

/// Page size of `$JS.API.CONSUMER.NAMES` (`JSApiNamesLimit`).
pub const CONSUMER_NAMES_LIMIT: usize = 1024;
/// Page size of `$JS.API.CONSUMER.LIST` (`JSApiListLimit`).
pub const CONSUMER_LIST_LIMIT: usize = 256;

/// `action` of a create request: `""` creates or updates, `"create"` fails
/// on an existing consumer with another config (10148), `"update"` fails
/// on a missing one (10149). Anything else (even `null`) is invalid JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ConsumerAction {
    #[default]
    CreateOrUpdate,
    Create,
    Update,
}

impl ConsumerAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            ConsumerAction::CreateOrUpdate => "",
            ConsumerAction::Create => "create",
            ConsumerAction::Update => "update",
        }
    }
}

impl Serialize for ConsumerAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ConsumerAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        match v.as_str() {
            Some("") => Ok(ConsumerAction::CreateOrUpdate),
            Some("create") => Ok(ConsumerAction::Create),
            Some("update") => Ok(ConsumerAction::Update),
            _ => Err(serde::de::Error::custom(format!(
                "unknown consumer action: {v}"
            ))),
        }
    }
}

/// Body of `$JS.API.CONSUMER.CREATE.…` and `…DURABLE.CREATE.…`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateConsumerRequest {
    pub stream_name: String,
    pub config: ConsumerConfig,
    pub action: ConsumerAction,
    /// 2.11: refuse instead of applying defaults that change the request.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pedantic: bool,
}

/// `$JS.API.CONSUMER.NAMES` body (nats-server's `JSApiConsumersRequest`
/// has only the offset). A negative offset counts as 0, as Go clamps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerNamesRequest {
    #[serde(deserialize_with = "clamped_offset")]
    pub offset: usize,
}

/// `$JS.API.CONSUMER.LIST` body: the same shape.
pub type ConsumerListRequest = ConsumerNamesRequest;

fn clamped_offset<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let v = i64::deserialize(d)?;
    Ok(usize::try_from(v.max(0)).unwrap_or(usize::MAX))
}

/// `$JS.API.CONSUMER.PAUSE` body; no (or zero) `pause_until` resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerPauseRequest {
    #[serde(with = "zero_time")]
    pub pause_until: Option<Timestamp>,
}

/// `$JS.API.CONSUMER.UNPIN` body (ADR-42).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerUnpinRequest {
    pub group: String,
}

impl ConsumerUnpinRequest {
    /// The handler's checks before the consumer lookup: a group is
    /// required (10025 "consumer group not specified") and must be a valid
    /// group name (10162). Whether the consumer has the group (10160) is
    /// the caller's check.
    pub fn validate(&self) -> Result<(), JsError> {
        if self.group.is_empty() {
            return Err(JsError::invalid_json("consumer group not specified"));
        }
        if !is_valid_group_name(&self.group) {
            return Err(JsError::ConsumerInvalidGroupName);
        }
        Ok(())
    }
}

/// `$JS.API.CONSUMER.RESET` body (2.14, ADR-60); 0 (or an empty body)
/// resets to the ack floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsumerResetRequest {
    #[serde(skip_serializing_if = "is_zero_u64")]
    pub seq: u64,
}

/// nats-server's `validGroupName`: `^[a-zA-Z0-9/_=-]{1,16}$`.
pub fn is_valid_group_name(g: &str) -> bool {
    (1..=16).contains(&g.len())
        && g.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'=' | b'-'))
}

/// A pull request (`JSApiConsumerGetNextRequest` with its embedded
/// `PriorityGroup`). Durations are nanoseconds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct NextRequest {
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub expires: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub batch: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub max_bytes: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub no_wait: bool,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub idle_heartbeat: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub min_pending: i64,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub min_ack_pending: i64,
    /// The pin id (pinned-client policy).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(skip_serializing_if = "is_zero_i64")]
    pub priority: i64,
    /// The body was a JSON object. Only then does nats-server apply the
    /// priority-group checks (an empty or integer body carries no group).
    #[serde(skip)]
    pub from_json: bool,
}

/// Parses a pull request body as `nextReqFromMsg` does: empty or
/// whitespace is one message; a body starting with `{` is JSON; otherwise
/// a base-10 integer is the batch size, and anything else is one message.
/// `batch <= 0` becomes 1 (nats-server keeps the number but such a request
/// still delivers exactly one message).
///
/// The error is what nats-server puts after `400 Bad Request - ` in the
/// status line (see [`next_request_for`]): `heartbeat value too large`
/// when `idle_heartbeat * 2 > expires`, or the JSON decoder's message
/// (serde's wording, not Go's).
pub fn parse_next_request(body: &[u8]) -> Result<NextRequest, String> {
    let trimmed: &[u8] = match std::str::from_utf8(body) {
        Ok(s) => s.trim().as_bytes(),
        Err(_) => body.trim_ascii(),
    };
    let mut req = NextRequest::default();
    if trimmed.first() == Some(&b'{') {
        // Clients send `"expires": null` and the like; Go leaves such fields at zero.
        let mut value: serde_json::Value =
            serde_json::from_slice(trimmed).map_err(|e| e.to_string())?;
        if let Some(map) = value.as_object_mut() {
            map.retain(|_, v| !v.is_null());
        }
        req = serde_json::from_value(value).map_err(|e| e.to_string())?;
        req.from_json = true;
        if req.idle_heartbeat > 0 && req.idle_heartbeat.saturating_mul(2) > req.expires {
            return Err("heartbeat value too large".to_string());
        }
    } else if let Some(n) = std::str::from_utf8(trimmed)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    {
        req.batch = n;
    }
    if req.batch <= 0 {
        req.batch = 1;
    }
    Ok(req)
}

/// A status reply to a pull request: `NATS/1.0 <code> <description>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullStatus {
    pub code: u16,
    pub description: String,
}

impl PullStatus {
    fn new(code: u16, description: impl Into<String>) -> PullStatus {
        PullStatus {
            code,
            description: description.into(),
        }
    }

    fn bad_request(what: &str) -> PullStatus {
        PullStatus::new(400, format!("Bad Request - {what}"))
    }
}

/// Everything `processNextMsgRequest` checks before queueing a request,
/// in its order: push consumers (409), the body (400), the consumer's
/// `max_batch`/`max_expires`/`max_bytes` (409) and the priority-group
/// fields (400). What needs live state (pin id mismatch 423, a full
/// waiting queue 409, `no_wait` with nothing pending 404/408) is the
/// caller's.
pub fn next_request_for(cfg: &ConsumerConfig, body: &[u8]) -> Result<NextRequest, PullStatus> {
    if !cfg.is_pull() {
        return Err(PullStatus::new(409, "Consumer is push based"));
    }
    let req = parse_next_request(body).map_err(|e| PullStatus::bad_request(&e))?;
    if cfg.max_batch > 0 && req.batch > cfg.max_batch {
        return Err(PullStatus::new(
            409,
            format!("Exceeded MaxRequestBatch of {}", cfg.max_batch),
        ));
    }
    if req.expires != 0 && cfg.max_expires > 0 && req.expires > cfg.max_expires {
        return Err(PullStatus::new(
            409,
            format!(
                "Exceeded MaxRequestExpires of {}",
                go_duration(cfg.max_expires)
            ),
        ));
    }
    if req.max_bytes > 0 && cfg.max_bytes > 0 && req.max_bytes > cfg.max_bytes {
        return Err(PullStatus::new(
            409,
            format!("Exceeded MaxRequestMaxBytes of {}", cfg.max_bytes),
        ));
    }
    if req.from_json {
        let policy = cfg.priority_policy;
        if (req.min_pending != 0 || req.min_ack_pending != 0) && policy != PriorityPolicy::Overflow
        {
            return Err(PullStatus::bad_request("Not a Overflow Priority consumer"));
        }
        if !req.id.is_empty() && policy != PriorityPolicy::PinnedClient {
            return Err(PullStatus::bad_request(
                "Not a Pinned Client Priority consumer",
            ));
        }
        if !(0..=9).contains(&req.priority) {
            return Err(PullStatus::bad_request("Priority must be between 0 and 9"));
        }
        if policy != PriorityPolicy::None {
            if req.group.is_empty() {
                return Err(PullStatus::bad_request("Priority Group missing"));
            }
            if !cfg.priority_groups.contains(&req.group) {
                return Err(PullStatus::bad_request("Invalid Priority Group"));
            }
        }
    }
    Ok(req)
}

#[cfg(test)]
#[path = "consumer_requests_tests.rs"]
mod tests;
