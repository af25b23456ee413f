//! `/subsz` (alias `/subscriptionsz`): subscription index statistics and, with `subs=1`, the
//! client subscriptions, paged and optionally filtered by a `test` publish subject.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::{json, Value};

use super::connz::SubDetail;
use crate::account::Account;

use super::query::{go_float, paging, window, BadRequest, Params};
use crate::state::ServerState;
use crate::timefmt;

/// nats-server's `DefaultSubListSize`.
const DEFAULT_LIMIT: usize = 1024;

/// nats-server's `SublistStats` of the subscription index. Fan-out is not tracked by the
/// index, so `max_fanout` and `avg_fanout` are 0.
#[derive(Serialize, Default)]
pub struct SublistStats {
    num_subscriptions: usize,
    num_cache: usize,
    num_inserts: u64,
    num_removes: u64,
    num_matches: u64,
    cache_hit_rate: Value,
    max_fanout: u64,
    avg_fanout: Value,
}

/// One account's index statistics.
pub fn sublist_stats(account: &Account) -> SublistStats {
    let stats = account.with_subscriptions(|index| index.stats());
    SublistStats {
        num_subscriptions: stats.subscriptions,
        num_cache: stats.cache_entries,
        num_inserts: stats.inserts,
        num_removes: stats.removes,
        num_matches: stats.matches,
        cache_hit_rate: go_float(stats.cache_hit_rate),
        max_fanout: 0,
        avg_fanout: json!(0),
    }
}

/// The statistics of every account's index together, as nats-server reports server-wide.
fn all_stats(state: &ServerState) -> SublistStats {
    let mut total = empty_stats();
    let (mut hits, mut weight) = (0.0, 0.0);
    for account in state.accounts() {
        let stats = account.with_subscriptions(|index| index.stats());
        total.num_subscriptions += stats.subscriptions;
        total.num_cache += stats.cache_entries;
        total.num_inserts += stats.inserts;
        total.num_removes += stats.removes;
        total.num_matches += stats.matches;
        hits += stats.cache_hit_rate * stats.matches as f64;
        weight += stats.matches as f64;
    }
    if weight > 0.0 {
        total.cache_hit_rate = go_float(hits / weight);
    }
    total
}

fn empty_stats() -> SublistStats {
    SublistStats {
        cache_hit_rate: json!(0),
        avg_fanout: json!(0),
        ..SublistStats::default()
    }
}

#[derive(Serialize)]
struct Subsz {
    server_id: String,
    now: String,
    #[serde(flatten)]
    stats: SublistStats,
    total: usize,
    offset: usize,
    limit: usize,
    subscriptions_list: Vec<SubDetail>,
}

pub async fn handler(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    match subsz(&state, &Params::new(query)) {
        Ok(body) => body,
        Err(bad) => bad.into_response(),
    }
}

fn subsz(state: &ServerState, p: &Params) -> Result<Response, BadRequest> {
    let subs = p.bool("subs")?;
    let offset = p.int("offset")?;
    let limit = p.int("limit")?;
    let test = p.get("test");
    let acc = p.get("acc");
    let (offset, limit) = paging(offset, limit, DEFAULT_LIMIT);
    if !test.is_empty() && !weir_subject::is_valid_literal_subject(test.as_bytes()) {
        return Err(BadRequest(format!(
            "invalid test subject, must be valid publish subject: {test}"
        )));
    }
    let stats = if acc.is_empty() {
        all_stats(state)
    } else {
        state
            .account(acc)
            .map_or_else(empty_stats, |account| sublist_stats(&account))
    };
    let mut list = if subs {
        subscriptions(state, test, acc)
    } else {
        Vec::new()
    };
    let range = window(offset, limit, list.len());
    let page: Vec<SubDetail> = list.drain(range).collect();
    // Like nats-server, an empty page answers with the statistics alone.
    if page.is_empty() {
        return Ok(Json(stats).into_response());
    }
    // As in nats-server, `total` counts the returned page.
    Ok(Json(Subsz {
        server_id: state.server_id.clone(),
        now: timefmt::rfc3339(SystemTime::now()),
        stats,
        total: page.len(),
        offset,
        limit,
        subscriptions_list: page,
    })
    .into_response())
}

/// Client subscriptions (internal ones have no client and are left out, as in nats-server)
/// matching `test` when given, of account `acc` when given, in cid then sid order.
fn subscriptions(state: &ServerState, test: &str, acc: &str) -> Vec<SubDetail> {
    let mut clients: Vec<_> = state.clients.lock().values().cloned().collect();
    clients.sort_by_key(|c| c.id);
    let mut list = Vec::new();
    for client in clients {
        let account = client.account.lock().clone();
        if !acc.is_empty() && account != acc {
            continue;
        }
        let mut subs: Vec<_> = client.subs.lock().values().cloned().collect();
        subs.sort_by(|a, b| {
            let key = |s: &[u8]| {
                std::str::from_utf8(s)
                    .ok()
                    .and_then(|s| s.parse::<u64>().ok())
                    .unwrap_or(u64::MAX)
            };
            key(&a.sid)
                .cmp(&key(&b.sid))
                .then_with(|| a.sid.cmp(&b.sid))
        });
        for sub in subs {
            if !test.is_empty() && !weir_subject::matches(&sub.subject, test.as_bytes()) {
                continue;
            }
            list.push(SubDetail::of(&sub, client.id, Some(account.clone())));
        }
    }
    list
}
