//! weir-jsapi: the JetStream stream API as nats-server speaks it, with no
//! I/O. Types serialize to nats-server 2.14's JSON (field names, order,
//! omissions), [`JsError`] carries its error catalogue, and
//! [`normalize_stream_config`] / [`apply_stream_update`] reproduce its
//! defaults and validation.
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

mod account;
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
pub use errors::{ApiError, JsError, CATALOGUE};
pub use requests::{
    decode_optional_request, decode_request, DirectGetRequest, MsgDeleteRequest, MsgGetRequest,
    StreamConfigRequest, StreamInfoRequest, StreamListRequest, StreamNamesRequest,
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
    required_api_level, stored_config, strip_dynamic_metadata, REQUIRED_LEVEL_KEY,
    SERVER_LEVEL_KEY, SERVER_VERSION_KEY,
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
