//! `/connz`: open and recently closed client connections, as nats-server 2.9 reports them:
//! same parameters (`sort`, `auth`, `subs`, `offset`, `limit`, `cid`, `state`, `user`,
//! `acc`, `mqtt_client`), same defaults, same error texts and the same JSON shape.

use std::cmp::Reverse;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;

use super::query::{paging, window, BadRequest, Params};
use crate::client::{ClientShared, CloseReason};
use crate::state::ServerState;
use crate::timefmt;

/// nats-server's `DefaultConnListSize`.
const DEFAULT_LIMIT: usize = 1024;
/// Closed connections kept for `state=closed` (nats-server keeps 10,000; Weir keeps fewer
/// because each entry holds its subscription list).
pub const MAX_CLOSED_CONNECTIONS: usize = 1024;
/// Subscriptions remembered per closed connection (the count stays exact).
const MAX_CLOSED_SUBS: usize = 1024;

#[derive(Clone, Serialize)]
pub struct SubDetail {
    /// Set on closed connections' lists, as nats-server does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub subject: String,
    #[serde(rename = "qgroup", skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    pub sid: String,
    pub msgs: u64,
    pub cid: u64,
}

impl SubDetail {
    /// The detail of `sub`, a subscription of client `cid`.
    pub fn of(sub: &crate::subscription::Subscription, cid: u64, account: Option<String>) -> Self {
        SubDetail {
            account,
            subject: String::from_utf8_lossy(&sub.subject).into_owned(),
            queue: sub
                .queue
                .as_deref()
                .map(|q| String::from_utf8_lossy(q).into_owned()),
            sid: String::from_utf8_lossy(&sub.sid).into_owned(),
            msgs: sub.delivered(),
            cid,
        }
    }
}

/// One entry of `connections`; the `serde(skip)` fields are sort keys and sources.
#[derive(Clone, Serialize)]
pub struct ConnInfo {
    cid: u64,
    kind: &'static str,
    #[serde(rename = "type")]
    conn_type: &'static str,
    ip: String,
    port: u16,
    start: String,
    last_activity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    rtt: String,
    uptime: String,
    idle: String,
    pending_bytes: usize,
    in_msgs: u64,
    out_msgs: u64,
    in_bytes: u64,
    out_bytes: u64,
    subscriptions: usize,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    lang: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    version: String,
    /// With `auth=true`: the user the client authenticated as, and its account.
    #[serde(skip_serializing_if = "String::is_empty")]
    authorized_user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subscriptions_list_detail: Vec<SubDetail>,
    /// The authenticated user, shown only with `auth=true` but always filterable (`user=`).
    #[serde(skip)]
    user_name: String,
    /// The client's account, shown with `auth=true`, filterable with `acc=`.
    #[serde(skip)]
    account_name: String,
    #[serde(skip)]
    start_at: SystemTime,
    #[serde(skip)]
    last_at: SystemTime,
    #[serde(skip)]
    stop_at: Option<SystemTime>,
    /// Open connections: where the subscription lists come from.
    #[serde(skip)]
    client: Option<Arc<ClientShared>>,
    /// Closed connections: the subscriptions held when it closed.
    #[serde(skip)]
    closed_subs: Vec<SubDetail>,
}

fn conn_info(client: &Arc<ClientShared>, now: SystemTime) -> ConnInfo {
    let (pending_bytes, out_msgs, out_bytes) = {
        let out = client.out.lock();
        (
            out.buf.len() + out.in_flight_bytes,
            out.msgs_out,
            out.bytes_out,
        )
    };
    let last_at = client.last_activity();
    let since = |t: SystemTime| now.duration_since(t).unwrap_or_default();
    ConnInfo {
        cid: client.id,
        kind: "Client",
        conn_type: "nats",
        ip: client.addr.ip().to_string(),
        port: client.addr.port(),
        start: timefmt::rfc3339(client.connected_at),
        last_activity: timefmt::rfc3339(last_at),
        stop: None,
        reason: None,
        rtt: go_duration(Duration::from_nanos(
            client.rtt_nanos.load(Ordering::Relaxed),
        )),
        uptime: timefmt::uptime(since(client.connected_at)),
        idle: timefmt::uptime(since(last_at)),
        pending_bytes,
        in_msgs: client.in_msgs.load(Ordering::Relaxed),
        out_msgs,
        in_bytes: client.in_bytes.load(Ordering::Relaxed),
        out_bytes,
        subscriptions: client.subs.lock().len(),
        name: client.name.lock().clone().unwrap_or_default(),
        lang: client.lang.lock().clone().unwrap_or_default(),
        version: client.version.lock().clone().unwrap_or_default(),
        authorized_user: String::new(),
        account: None,
        subscriptions_list: Vec::new(),
        subscriptions_list_detail: Vec::new(),
        user_name: client.authorized_user.lock().clone().unwrap_or_default(),
        account_name: client.account.lock().clone(),
        start_at: client.connected_at,
        last_at,
        stop_at: None,
        client: Some(client.clone()),
        closed_subs: Vec::new(),
    }
}

fn sub_details(client: &ClientShared, max: usize) -> Vec<SubDetail> {
    let mut subs: Vec<SubDetail> = client
        .subs
        .lock()
        .values()
        .take(max)
        .map(|sub| SubDetail::of(sub, client.id, None))
        .collect();
    // nats-server lists them in map order; numeric sid order reads better and is stable.
    subs.sort_by(|a, b| {
        let key = |s: &SubDetail| (s.sid.parse::<u64>().unwrap_or(u64::MAX), s.sid.clone());
        key(a).cmp(&key(b))
    });
    subs
}

/// nats-server's `ClosedState` text.
fn reason_text(reason: CloseReason) -> &'static str {
    match reason {
        CloseReason::ClientClosed => "Client Closed",
        CloseReason::ProtocolViolation => "Protocol Violation",
        CloseReason::SlowConsumerPendingBytes => "Slow Consumer (Pending Bytes)",
        CloseReason::SlowConsumerWriteDeadline => "Slow Consumer (Write Deadline)",
        CloseReason::StaleConnection => "Stale Connection",
        CloseReason::AuthenticationTimeout => "Authentication Timeout",
        CloseReason::AuthenticationViolation => "Authentication Failure",
        CloseReason::MaxConnectionsExceeded => "Maximum Connections Exceeded",
        CloseReason::MaxPayloadExceeded => "Maximum Message Payload Exceeded",
        CloseReason::MaxControlLineExceeded => "Maximum Control Line Exceeded",
        CloseReason::WriteError => "Write Error",
        CloseReason::ReadError => "Read Error",
        CloseReason::ServerShutdown => "Server Shutdown",
    }
}

// ---------------------------------------------------------------------------------------------
// Recently closed connections (a bounded ring in the server state)
// ---------------------------------------------------------------------------------------------

/// Remembers a connection as it closes (called before its subscriptions are removed).
pub fn record_closed(state: &Arc<ServerState>, client: &Arc<ClientShared>, reason: CloseReason) {
    let now = SystemTime::now();
    let mut info = conn_info(client, now);
    info.stop = Some(timefmt::rfc3339(now));
    info.stop_at = Some(now);
    info.reason = Some(reason_text(reason));
    info.closed_subs = sub_details(client, MAX_CLOSED_SUBS);
    let account = client.account.lock().clone();
    for sub in &mut info.closed_subs {
        sub.account = Some(account.clone());
    }
    info.client = None;
    let mut ring = state.closed_connections.lock();
    if ring.len() >= MAX_CLOSED_CONNECTIONS {
        ring.pop_front();
    }
    ring.push_back(Arc::new(info));
}

fn closed_connections(state: &ServerState) -> Vec<Arc<ConnInfo>> {
    state.closed_connections.lock().iter().cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// The handler
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum ConnState {
    Open,
    Closed,
    Any,
}

const SORTS: [&str; 14] = [
    "cid",
    "start",
    "subs",
    "pending",
    "msgs_to",
    "msgs_from",
    "bytes_to",
    "bytes_from",
    "last",
    "idle",
    "uptime",
    "stop",
    "reason",
    "",
];

struct ConnzOptions {
    auth: bool,
    sort: String,
    subs: bool,
    detail: bool,
    offset: usize,
    limit: usize,
    cid: u64,
    state: ConnState,
    user: String,
    acc: String,
    mqtt_client: String,
}

/// Decodes in nats-server's order, so the first bad parameter is the one reported.
fn options(p: &Params) -> Result<ConnzOptions, BadRequest> {
    let sort = p.get("sort").to_string();
    let auth = p.bool("auth")?;
    let detail = p.get("subs") == "detail";
    let subs = if detail { false } else { p.bool("subs")? };
    let offset = p.int("offset")?;
    let limit = p.int("limit")?;
    let cid = p.uint64("cid")?;
    let state = match p.get("state").to_ascii_lowercase().as_str() {
        "" | "open" => ConnState::Open,
        "closed" => ConnState::Closed,
        "any" | "all" => ConnState::Any,
        _ => {
            return Err(BadRequest(format!(
                "Error decoding state for {}",
                p.get("state")
            )))
        }
    };
    if !SORTS.contains(&sort.as_str()) {
        return Err(BadRequest(format!("invalid sorting option: {sort}")));
    }
    for only_closed in ["stop", "reason"] {
        if sort == only_closed && state != ConnState::Closed {
            return Err(BadRequest(format!(
                "sort by {only_closed} only valid on closed connections"
            )));
        }
    }
    let (offset, mut limit) = paging(offset, limit, DEFAULT_LIMIT);
    if cid > 0 {
        limit = 1;
    }
    Ok(ConnzOptions {
        auth,
        sort,
        subs,
        detail,
        offset,
        limit,
        cid,
        state,
        user: p.get("user").to_string(),
        acc: p.get("acc").to_string(),
        mqtt_client: p.get("mqtt_client").to_string(),
    })
}

pub async fn handler(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    match options(&Params::new(query)) {
        Ok(opts) => Json(connz(&state, &opts)).into_response(),
        Err(bad) => bad.into_response(),
    }
}

#[derive(Serialize)]
struct Connz {
    server_id: String,
    now: String,
    num_connections: usize,
    total: usize,
    offset: usize,
    limit: usize,
    connections: Vec<ConnInfo>,
}

fn connz(state: &Arc<ServerState>, opts: &ConnzOptions) -> Connz {
    let now = SystemTime::now();
    let open: Vec<Arc<ClientShared>> = if opts.state == ConnState::Closed {
        Vec::new()
    } else {
        state.clients.lock().values().cloned().collect()
    };
    // nats-server matches closed connections to an `acc` filter by an account name it only
    // records with authentication; without it none match.
    let closed = if opts.state == ConnState::Open || !opts.acc.is_empty() {
        Vec::new()
    } else {
        closed_connections(state)
    };
    let total = open.len() + closed.len();
    let mut conns: Vec<ConnInfo> = Vec::new();
    // A user filter matches the authenticated user (so no connection without one, as on
    // nats-server); an account filter, the client's account. There are no MQTT clients.
    if opts.cid > 0 {
        // nats-server looks among closed connections only when closed ones were asked for.
        if opts.state == ConnState::Open {
            conns.extend(
                open.iter()
                    .filter(|c| c.id == opts.cid)
                    .map(|c| conn_info(c, now)),
            );
        } else {
            conns.extend(
                closed
                    .iter()
                    .filter(|c| c.cid == opts.cid)
                    .map(|c| (**c).clone()),
            );
        }
    } else if opts.mqtt_client.is_empty() {
        let wanted = |c: &ConnInfo| {
            (opts.user.is_empty() || c.user_name == opts.user)
                && (opts.acc.is_empty() || c.account_name == opts.acc)
        };
        conns.extend(open.iter().map(|c| conn_info(c, now)).filter(|c| wanted(c)));
        conns.extend(closed.iter().filter(|c| wanted(c)).map(|c| (**c).clone()));
    }
    sort(&mut conns, &opts.sort, now);
    let range = window(opts.offset, opts.limit, conns.len());
    let mut page: Vec<ConnInfo> = conns.drain(range).collect();
    for info in &mut page {
        if opts.auth && !info.user_name.is_empty() {
            info.authorized_user = info.user_name.clone();
            info.account = Some(info.account_name.clone());
        }
        let subs = match &info.client {
            Some(client) if opts.subs || opts.detail => sub_details(client, usize::MAX),
            _ => std::mem::take(&mut info.closed_subs),
        };
        if opts.detail {
            info.subscriptions_list_detail = subs;
        } else if opts.subs {
            info.subscriptions_list = subs.into_iter().map(|s| s.subject).collect();
        }
    }
    Connz {
        server_id: state.server_id.clone(),
        now: timefmt::rfc3339(now),
        num_connections: page.len(),
        total,
        offset: opts.offset,
        limit: opts.limit,
        connections: page,
    }
}

/// nats-server's orders: counters and times descending, `uptime` and `reason` ascending;
/// ties fall back to cid order.
fn sort(conns: &mut [ConnInfo], by: &str, now: SystemTime) {
    let uptime = |c: &ConnInfo| {
        c.stop_at
            .unwrap_or(now)
            .duration_since(c.start_at)
            .unwrap_or_default()
    };
    match by {
        "subs" => conns.sort_by_key(|c| (Reverse(c.subscriptions), c.cid)),
        "pending" => conns.sort_by_key(|c| (Reverse(c.pending_bytes), c.cid)),
        "msgs_to" => conns.sort_by_key(|c| (Reverse(c.out_msgs), c.cid)),
        "msgs_from" => conns.sort_by_key(|c| (Reverse(c.in_msgs), c.cid)),
        "bytes_to" => conns.sort_by_key(|c| (Reverse(c.out_bytes), c.cid)),
        "bytes_from" => conns.sort_by_key(|c| (Reverse(c.in_bytes), c.cid)),
        "last" => conns.sort_by_key(|c| (Reverse(c.last_at), c.cid)),
        // nats-server 2.9 ranks `idle` by the time from start to last activity, longest first.
        "idle" => conns.sort_by_key(|c| {
            let active = c.last_at.duration_since(c.start_at).unwrap_or_default();
            (Reverse(active), c.cid)
        }),
        "uptime" => conns.sort_by_key(|c| (uptime(c), c.cid)),
        "stop" => conns.sort_by_key(|c| (Reverse(c.stop_at), c.cid)),
        "reason" => conns.sort_by_key(|c| (c.reason, c.cid)),
        _ => conns.sort_by_key(|c| c.cid),
    }
}

/// Go's `time.Duration.String()`: `0s`, `893µs`, `1.06539ms`, `1m2.5s`.
pub fn go_duration(d: Duration) -> String {
    let n = d.as_nanos();
    if n == 0 {
        return "0s".to_string();
    }
    if n < 1_000 {
        return format!("{n}ns");
    }
    if n < 1_000_000 {
        return decimal(n, 1_000, 3, "µs");
    }
    if n < 1_000_000_000 {
        return decimal(n, 1_000_000, 6, "ms");
    }
    let secs = n / 1_000_000_000;
    let (h, m) = (secs / 3600, secs / 60 % 60);
    let s = decimal(n % 60_000_000_000, 1_000_000_000, 9, "s");
    match (h, m) {
        (0, 0) => s,
        (0, m) => format!("{m}m{s}"),
        (h, m) => format!("{h}h{m}m{s}"),
    }
}

fn decimal(n: u128, unit: u128, digits: usize, suffix: &str) -> String {
    let (whole, frac) = (n / unit, n % unit);
    if frac == 0 {
        return format!("{whole}{suffix}");
    }
    let frac = format!("{frac:0digits$}");
    format!("{whole}.{}{suffix}", frac.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(go_duration(Duration::ZERO), "0s");
        assert_eq!(go_duration(Duration::from_nanos(893_000)), "893µs");
        assert_eq!(go_duration(Duration::from_nanos(1_065_390)), "1.06539ms");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(go_duration(Duration::from_millis(62_500)), "1m2.5s");
        assert_eq!(go_duration(Duration::from_secs(3600)), "1h0m0s");
    }

    #[test]
    fn closed_state_texts_match_nats_server() {
        assert_eq!(reason_text(CloseReason::ClientClosed), "Client Closed");
        assert_eq!(
            reason_text(CloseReason::SlowConsumerPendingBytes),
            "Slow Consumer (Pending Bytes)"
        );
    }
}
