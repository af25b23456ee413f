//! weir-jsapi: the JetStream stream and consumer API as nats-server speaks
//! it, with no I/O. Types serialize to nats-server 2.14's JSON (field names,
//! order, omissions), [`JsError`] carries its error catalogue, and
//! [`normalize_stream_config`] / [`apply_stream_update`] and
//! [`prepare_consumer_create`] / [`apply_consumer_update`] reproduce its
//! defaults and validation.
//!
//! # Creating or updating a consumer, step by step
//!
//! 1. [`decode_request`] the body into a [`CreateConsumerRequest`] (10025)
//!    and [`ConsumerCreateSubject::parse`] the subject; look the stream up
//!    (10059).
//! 2. [`prepare_consumer_create_with`]: subject checks, defaults, config
//!    checks; returns the config to store (a legacy ephemeral comes back
//!    unnamed: pick a random name).
//! 3. [`check_consumer_action`] with the consumer of that name, if any
//!    (10148, 10149).
//! 4. Existing consumer: [`check_workqueue_update`], then
//!    [`apply_consumer_update`] (10012 with the rule's text; a bound push
//!    consumer changing its deliver subject is 10013, your check).
//!    New consumer: [`check_consumer_limit`] (10026), then
//!    [`check_workqueue_consumer`].
//! 5. Answer with [`consumer_response_config`] inside a [`ConsumerInfo`].
//!
//! Pull requests: [`next_request_for`] gives the request or the status line
//! nats-server would send.
//!
//! # Where nats-server 2.14 differs from 2.9.10, and what Weir does
//!
//! Observed against Debian's 2.9.10 (see `tests/differential.rs`) and read
//! from the 2.14 source. Weir follows 2.14 in every row.
//!
//! | Case | 2.9.10 | 2.14 (Weir) |
//! |---|---|---|
//! | Invalid JSON | `invalid JSON` | `invalid JSON: <decoder error>` (10025 both) |
//! | Unknown request fields | ignored | rejected as 10025 (strict mode, 2.12+); [`decode_request`] takes `strict` |
//! | `max_msgs`/`max_bytes`/`max_consumers`/… below -1 | kept as sent | clamped to -1 |
//! | Negative `max_age` | "duplicates window can not be negative" | "max age can not be negative" |
//! | Name with `\` or `/` in the config check | not checked there (10128 from the handler) | part of the 10052 name message |
//! | Subjects overlapping `$JS.API.>` | "subjects overlap with jetstream api" | "subjects that overlap with jetstream api require no-ack to be true"; `$NRG.>` also reserved |
//! | Subject `>` | allowed | needs `no_ack` and R1 |
//! | Literal duplicate subjects | "duplicate subjects detected" | `subject "x" overlaps with "x"` |
//! | Counter stream with delete markers | n/a | 2.14 accepts it (markers enable TTLs after the counter check); Weir refuses it as "counter stream cannot use message TTLs" so the stored config stays valid (the one deliberate deviation) |
//! | Republish transform invalid | "stream configuration for republish not valid" | "… with transform from 'src' to 'dest' not valid" |
//! | Empty `placement` object | echoed as `{}` | dropped |
//! | `duplicate_window` default on a sourcing stream | 2 min | none (only plain streams get it) |
//! | Duplicate sources | accepted | 10140 |
//! | Update changing `max_consumers` | refused | allowed |
//! | Update limits ↔ interest retention | refused ("can not change retention policy") | allowed; only to/from workqueue is refused |
//! | Update removing the mirror | 10055 | allowed (promotion) |
//! | Update to R>1 on a standalone server | accepted | 10074 |
//! | Response config | no `compression`, `consumer_limits`, `allow_msg_ttl`, `metadata` | all present; `metadata` carries `_nats.req.level`, `_nats.ver`, `_nats.level` (ADR-44) |
//! | Account info | no `reserved_*`, no `api.level` | present |
//!
//! ## Consumers
//!
//! | Case | 2.9.10 | 2.14 (Weir) |
//! |---|---|---|
//! | `CONSUMER.DURABLE.CREATE.<s>.<d>` | config has no `name` | `name` is set to the durable name |
//! | Legacy ephemeral (`CONSUMER.CREATE.<s>`, no name) | the generated name is only in the info | also in `config.name` (the caller generates it) |
//! | Negative `max_waiting` / `max_batch` / `max_expires` | refused (10087 / 10114 / 10115) | clamped to 0 (so `max_waiting` becomes 512) |
//! | `max_deliver` or `max_ack_pending` below -1; negative `inactive_threshold`, `idle_heartbeat`, `max_bytes` | kept as sent | clamped to -1 or 0; pedantic mode refuses (10157) |
//! | Negative `ack_wait` | kept | 10183 |
//! | Negative backoff value | 10116 | 10184 |
//! | `backoff` with unlimited `max_deliver` | 10116 (needs `max_deliver` > backoffs) | accepted |
//! | Filter outside the stream's subjects | 10093 | accepted; only the syntax is checked (10052 "invalid subject") |
//! | Invalid consumer name (`a*b`) | 10103 "durable name can not contain '.', '*', '>'" | 10052 "consumer name can not contain '.', '*', '>', '\\', '/'" |
//! | Pull without acks on a workqueue stream | 10084 "consumer in pull mode requires ack policy" | 10084 "consumer in pull mode requires explicit ack policy on workqueue stream" |
//! | Update pull → push | "max waiting can not be updated" | "can not update pull consumer to push based" |
//! | Update `mem_storage` | allowed | "storage type can not be updated" |
//! | `filter_subjects`, `metadata`, `action`, `pedantic`, pause, priority groups, flow-control acks, `sourcing` | unknown, ignored | supported |
//! | Response config and info | no `metadata`, no `ts` | `_nats.*` metadata (ADR-44), `ts` |
//! | Invalid JSON | `invalid JSON` | `invalid JSON: <decoder error>` |
//!
//! Same in both, though it may look wrong: `deliver_group` on a pull
//! consumer is accepted; the body's `name` is replaced by the subject's.
//!
//! Where Weir departs from 2.14:
//!
//! | Case | 2.14 | Weir |
//! |---|---|---|
//! | Action `create` repeating an ephemeral's config that left `inactive_threshold` unset | 10148 (the stored config carries the 5 s default) | accepted: both configs carry the default |
//! | `"action": null` | 10025 | the default action (null members are zero values) |
//! | Pull request with bad JSON | Go's decoder message after `Bad Request - ` | serde's message |
//! | Durable name over 255 bytes together with a workqueue or limit error | the workqueue or limit error | 10102 (checked in [`prepare_consumer_create`]) |

mod account;
mod consumer_checks;
mod consumer_config;
mod consumer_info;
mod consumer_requests;
mod consumer_responses;
mod consumer_update;
mod consumer_validate;
pub mod duration;
mod errors;
mod requests;
mod responses;
mod stream_config;
mod stream_info;
pub mod time;
mod transform;
mod update;
mod validate;
mod versioning;

pub use account::{AccountInfo, AccountLimits, AccountTier, ApiStats};
pub use consumer_checks::{check_consumer_config, set_consumer_defaults};
pub use consumer_config::{AckPolicy, ConsumerConfig, DeliverPolicy, PriorityPolicy, ReplayPolicy};
pub use consumer_info::{pause_state, ConsumerInfo, PriorityGroupState, SequenceInfo};
pub use consumer_requests::{
    is_valid_group_name, next_request_for, parse_next_request, ConsumerAction, ConsumerListRequest,
    ConsumerNamesRequest, ConsumerPauseRequest, ConsumerResetRequest, ConsumerUnpinRequest,
    CreateConsumerRequest, NextRequest, PullStatus, CONSUMER_LIST_LIMIT, CONSUMER_NAMES_LIMIT,
};
pub use consumer_responses::*;
pub use consumer_update::{
    apply_consumer_pause, apply_consumer_update, check_consumer_action, check_consumer_limit,
    check_consumer_reset, check_workqueue_consumer, check_workqueue_update,
};
pub use consumer_validate::{
    prepare_consumer_create, prepare_consumer_create_with, ConsumerCreateSubject, ConsumerLimits,
    DEFAULT_ACK_WAIT, DEFAULT_EPHEMERAL_INACTIVE_THRESHOLD, DEFAULT_MAX_ACK_PENDING,
    DEFAULT_MAX_WAITING, DEFAULT_PINNED_TTL, FLOW_CONTROL_ACK_HEARTBEAT,
};
pub use errors::{ApiError, JsError, CATALOGUE};
pub use requests::{
    decode_optional_request, decode_request, is_empty_request, DirectGetRequest, MsgDeleteRequest,
    MsgGetRequest, StreamConfigRequest, StreamInfoRequest, StreamListRequest, StreamNamesRequest,
    StreamPurgeRequest, DIRECT_GET_MULTI_LAST_LIMIT, STREAM_INFO_SUBJECTS_LIMIT, STREAM_LIST_LIMIT,
    STREAM_NAMES_LIMIT,
};
pub use responses::*;
pub use stream_config::{
    Compression, DiscardPolicy, ExternalStream, PersistMode, Placement, RePublish, RetentionPolicy,
    StorageType, StreamConfig, StreamConsumerLimits, StreamConsumerSource, StreamSource,
    SubjectTransform,
};
pub use stream_info::{
    ClusterInfo, LostStreamData, PeerInfo, PubAck, PubAckError, PubAckResponse, StoredMsg,
    StreamAlternate, StreamInfo, StreamSourceInfo, StreamState,
};
pub use time::Timestamp;
pub use transform::validate_transform;
pub use update::{apply_stream_update, check_stream_update, same_stream_config};
pub use validate::{
    check_request_stream_name, check_stream_create, is_valid_stream_name, normalize_stream_config,
    prepare_stream_create, subjects_overlap, ServerLimits, DEFAULT_DUPLICATE_WINDOW, JS_API_PREFIX,
    MAX_DESCRIPTION_LEN, MAX_METADATA_LEN, MAX_NAME_LEN, MAX_REPLICAS,
};
pub use versioning::{
    consumer_response_config, required_api_level, required_consumer_api_level, stored_config,
    strip_dynamic_metadata, REQUIRED_LEVEL_KEY, SERVER_LEVEL_KEY, SERVER_VERSION_KEY,
};

/// Serializes like Go's `encoding/json`: `<`, `>` and `&` become `\u003c`,
/// `\u003e`, `\u0026`, and U+2028/U+2029 are escaped. These characters only
/// occur inside strings, so a byte pass over serde's output is exact.
pub fn to_go_json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    // Serializing these plain data types cannot fail.
    let raw = serde_json::to_vec(value).unwrap_or_default();
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if raw.get(i + 1) == Some(&0x80)
                && matches!(raw.get(i + 2), Some(0xA8 | 0xA9)) =>
            {
                out.extend_from_slice(if raw[i + 2] == 0xA8 {
                    b"\\u2028"
                } else {
                    b"\\u2029"
                });
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests;
