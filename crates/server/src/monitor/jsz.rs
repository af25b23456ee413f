//! `/jsz`: JetStream usage, streams and consumers, in nats-server 2.9.10's shape.
//!
//! Parameters (decoded as Go's `strconv.ParseBool`/`Atoi` do; a bad value is a 400 with
//! nats-server's text): `accounts`, `streams` (implies `accounts`), `consumers` (implies
//! `streams`), `config`, `acc=NAME` (an existing account also implies `accounts`; an unknown
//! one is ignored, as nats-server does), `offset`, `limit` (≤ 0 means 1024) and
//! `leader-only` (a single server leads everything, so it changes nothing).
//! Weir has one account, `$G`. Stream and consumer details come from the same builders as
//! `$JS.API.STREAM.INFO` and `$JS.API.CONSUMER.INFO`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde_json::{json, Map, Value};

use crate::jetstream::manager::{JetStream, StreamEntry};
use crate::options::SyncPolicy;
use crate::state::ServerState;
use crate::timefmt;

/// The only account Weir has.
/// nats-server's default (and cap for a non-positive) `limit`.
const DEFAULT_LIMIT: usize = 1024;

/// The raw query; values are decoded by [`JszOptions::decode`] so errors read as Go's.
#[derive(Debug, Default)]
pub struct JszQuery {
    accounts: Option<String>,
    streams: Option<String>,
    consumers: Option<String>,
    config: Option<String>,
    acc: Option<String>,
    offset: Option<String>,
    limit: Option<String>,
    leader_only: Option<String>,
}

impl JszQuery {
    /// From the query's pairs; a repeated parameter keeps its first value, as Go's
    /// `url.Values.Get` does. Unknown parameters are ignored.
    fn from_pairs(pairs: Vec<(String, String)>) -> JszQuery {
        let mut q = JszQuery::default();
        for (key, value) in pairs {
            let slot = match key.as_str() {
                "accounts" => &mut q.accounts,
                "streams" => &mut q.streams,
                "consumers" => &mut q.consumers,
                "config" => &mut q.config,
                "acc" => &mut q.acc,
                "offset" => &mut q.offset,
                "limit" => &mut q.limit,
                "leader-only" => &mut q.leader_only,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        q
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct JszOptions {
    account: String,
    accounts: bool,
    streams: bool,
    consumers: bool,
    config: bool,
    leader_only: bool,
    offset: usize,
    limit: usize,
}

impl JszOptions {
    /// Decodes in nats-server's order, so the first bad parameter is the one reported.
    fn decode(q: &JszQuery) -> Result<JszOptions, String> {
        let accounts = go_bool("accounts", &q.accounts)?;
        let streams = go_bool("streams", &q.streams)?;
        let consumers = go_bool("consumers", &q.consumers)?;
        let config = go_bool("config", &q.config)?;
        let offset = go_int("offset", &q.offset)?;
        let limit = go_int("limit", &q.limit)?;
        let leader_only = go_bool("leader-only", &q.leader_only)?;
        let streams = streams || consumers;
        Ok(JszOptions {
            account: q.acc.clone().unwrap_or_default(),
            accounts: accounts || streams,
            streams,
            consumers,
            config,
            leader_only,
            // 2.9.10 drops the connection on a negative offset or limit; Weir clamps them.
            offset: usize::try_from(offset).unwrap_or(0),
            limit: usize::try_from(limit)
                .ok()
                .filter(|&l| l > 0)
                .unwrap_or(DEFAULT_LIMIT),
        })
    }
}

/// Go's `strconv.ParseBool`; absent or empty is false.
fn go_bool(name: &str, value: &Option<String>) -> Result<bool, String> {
    match value.as_deref().unwrap_or("") {
        "" | "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        other => Err(format!(
            "Error decoding boolean for '{name}': strconv.ParseBool: parsing \"{other}\": invalid syntax"
        )),
    }
}

/// Go's `strconv.Atoi`; absent or empty is 0.
fn go_int(name: &str, value: &Option<String>) -> Result<i64, String> {
    let text = value.as_deref().unwrap_or("");
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<i64>().map_err(|_| {
        let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
        let why = if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            "value out of range"
        } else {
            "invalid syntax"
        };
        format!("Error decoding int for '{name}': strconv.Atoi: parsing \"{text}\": {why}")
    })
}

pub async fn handler(
    State(state): State<Arc<ServerState>>,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Response {
    match JszOptions::decode(&JszQuery::from_pairs(pairs)) {
        Ok(opts) => Json(jsz_json(&state, &opts)).into_response(),
        Err(text) => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response(),
    }
}

/// The limits `/jsz` and `/metrics` report: the configured ones, else what nats-server
/// derives (75% of the machine's memory, 75% of the disk space free at the store dir), read
/// once so they stay put as the disk fills.
pub struct ServerJsLimits {
    pub max_memory: u64,
    pub max_storage: u64,
    pub store_dir: std::path::PathBuf,
}

pub fn server_js_limits(state: &ServerState) -> ServerJsLimits {
    let opts = &state.opts();
    let store_dir = opts.jetstream_dir();
    let (max_memory, max_storage) = *state.jetstream_max_resources.get_or_init(|| {
        let memory = opts
            .jetstream_max_memory_bytes
            .unwrap_or_else(|| mem_total_bytes() / 4 * 3);
        let storage = opts
            .jetstream_max_store_bytes
            .unwrap_or_else(|| disk_available_bytes(&store_dir) / 4 * 3);
        (memory, storage)
    });
    ServerJsLimits {
        max_memory,
        max_storage,
        store_dir,
    }
}

fn mem_total_bytes() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Free space for unprivileged users on the file system holding `dir` (or its nearest
/// existing ancestor).
fn disk_available_bytes(dir: &std::path::Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let Some(existing) = dir.ancestors().find(|d| d.exists()) else {
        return 0;
    };
    let Ok(path) = std::ffi::CString::new(existing.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: `path` is a valid NUL-terminated string and `stats` a zeroed out-parameter.
    let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
        return 0;
    }
    (stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64)
}

/// Usage of every account's JetStream added up (the server-wide `/jsz` and metrics totals).
pub fn total_usage(jetstreams: &[(String, Arc<JetStream>)]) -> weir_jsapi::AccountInfo {
    let mut total = weir_jsapi::AccountInfo::default();
    for (_, js) in jetstreams {
        let info = js.account_info();
        total.memory += info.memory;
        total.storage += info.storage;
        total.reserved_memory += info.reserved_memory;
        total.reserved_storage += info.reserved_storage;
        total.streams += info.streams;
        total.consumers += info.consumers;
        total.api.total += info.api.total;
        total.api.errors += info.api.errors;
    }
    total
}

fn jsz_json(state: &ServerState, opts: &JszOptions) -> Value {
    let now = timefmt::rfc3339(std::time::SystemTime::now());
    let jetstreams = state.jetstreams();
    if jetstreams.is_empty() {
        return json!({
            "server_id": state.server_id,
            "now": now,
            "disabled": true,
            "config": {"max_memory": 0, "max_storage": 0},
            "memory": 0, "storage": 0, "reserved_memory": 0, "reserved_storage": 0,
            "accounts": 0, "ha_assets": 0, "api": {"total": 0, "errors": 0},
            "streams": 0, "consumers": 0, "messages": 0, "bytes": 0,
        });
    }
    let limits = server_js_limits(state);
    let mut config = json!({
        "max_memory": limits.max_memory,
        "max_storage": limits.max_storage,
        "store_dir": limits.store_dir.to_string_lossy(),
    });
    // 2.10+ reports the lazy fsync interval; Weir reports it when configured.
    if let SyncPolicy::Interval(every) = state.opts().sync {
        config["sync_interval"] = json!(every.as_nanos() as u64);
    }
    let info = total_usage(&jetstreams);
    let (mut messages, mut bytes) = (0u64, 0u64);
    for (_, js) in &jetstreams {
        for entry in js.streams.read().values() {
            let st = entry.stream.store.read().state();
            messages += st.msgs;
            bytes += st.bytes;
        }
    }
    let mut out = json!({
        "server_id": state.server_id,
        "now": now,
        "config": config,
        "memory": info.memory,
        "storage": info.storage,
        "reserved_memory": info.reserved_memory,
        "reserved_storage": info.reserved_storage,
        "accounts": jetstreams.len(),
        "ha_assets": 0,
        "api": {"total": info.api.total, "errors": info.api.errors},
        "streams": info.streams,
        "consumers": info.consumers,
        "messages": messages,
        "bytes": bytes,
    });
    // An existing account filters (and implies accounts=true); an unknown one is ignored.
    let filtered = jetstreams.iter().any(|(name, _)| *name == opts.account);
    if !(opts.accounts || filtered) {
        return out;
    }
    // `offset`/`limit` page the accounts (in name order).
    let details: Vec<Value> = jetstreams
        .iter()
        .filter(|(name, _)| !filtered || *name == opts.account)
        .skip(opts.offset)
        .take(opts.limit.max(1))
        .map(|(name, js)| account_detail(state, name, js, opts))
        .collect();
    if !details.is_empty() {
        out["account_details"] = Value::Array(details);
    }
    out
}

fn account_detail(state: &ServerState, name: &str, js: &JetStream, opts: &JszOptions) -> Value {
    let info = js.account_info();
    let entries: Vec<Arc<StreamEntry>> = js.streams.read().values().cloned().collect();
    let mut account = json!({
        "name": name,
        "id": name,
        "memory": info.memory,
        "storage": info.storage,
        // nats-server 2.9.10 reports the account's limits here (-1 read as unsigned).
        "reserved_memory": js.limits.account.max_memory as u64,
        "reserved_storage": js.limits.account.max_storage as u64,
        "accounts": 0,
        "ha_assets": 0,
        "api": {"total": info.api.total, "errors": info.api.errors},
    });
    if opts.streams && !entries.is_empty() {
        let details: Vec<Value> = entries
            .iter()
            .map(|e| stream_detail(state, js, e, opts))
            .collect();
        account["stream_detail"] = Value::Array(details);
    }
    account
}

fn stream_detail(
    state: &ServerState,
    js: &JetStream,
    entry: &StreamEntry,
    opts: &JszOptions,
) -> Value {
    let info = js.info(entry, "", false);
    let mut detail = Map::new();
    detail.insert("name".into(), json!(info.config.name));
    detail.insert("created".into(), json!(info.created));
    detail.insert("cluster".into(), json!({"leader": state.server_name}));
    if opts.config {
        detail.insert("config".into(), json!(info.config));
    }
    detail.insert("state".into(), json!(info.state));
    if opts.consumers {
        let consumers: Vec<Value> = entry
            .consumers
            .all()
            .iter()
            .map(|c| {
                let mut v = json!(c.info());
                if let (false, Some(obj)) = (opts.config, v.as_object_mut()) {
                    obj.remove("config");
                }
                v
            })
            .collect();
        if !consumers.is_empty() {
            detail.insert("consumer_detail".into(), Value::Array(consumers));
        }
    }
    Value::Object(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> JszQuery {
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let uri: axum::http::Uri = format!("/jsz?{}", text.join("&")).parse().expect("uri");
        JszQuery::from_pairs(Query::try_from_uri(&uri).expect("query").0)
    }

    #[test]
    fn implications_and_defaults() {
        let o = JszOptions::decode(&q(&[("consumers", "1")])).expect("ok");
        assert!(o.accounts && o.streams && o.consumers && !o.config);
        assert_eq!(o.limit, DEFAULT_LIMIT);
        let o = JszOptions::decode(&q(&[("offset", "-4"), ("limit", "-1")])).expect("ok");
        assert_eq!((o.offset, o.limit), (0, DEFAULT_LIMIT));
        let o = JszOptions::decode(&q(&[("leader-only", "T"), ("acc", "$G")])).expect("ok");
        assert!(o.leader_only && !o.accounts);
        assert_eq!(o.account, "$G");
        let o = JszOptions::decode(&q(&[("accounts", "1"), ("accounts", "x")])).expect("first");
        assert!(o.accounts);
    }

    #[test]
    fn bad_values_read_as_go() {
        let e = JszOptions::decode(&q(&[("accounts", "bogus")])).expect_err("bad bool");
        assert_eq!(
            e,
            "Error decoding boolean for 'accounts': strconv.ParseBool: parsing \"bogus\": invalid syntax"
        );
        let e = JszOptions::decode(&q(&[("offset", "99999999999999999999")])).expect_err("big");
        assert!(
            e.ends_with("\"99999999999999999999\": value out of range"),
            "{e}"
        );
        let e = JszOptions::decode(&q(&[("limit", "x")])).expect_err("not a number");
        assert_eq!(
            e,
            "Error decoding int for 'limit': strconv.Atoi: parsing \"x\": invalid syntax"
        );
    }
}
