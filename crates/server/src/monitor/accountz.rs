//! `/accountz`: Weir has one account, the global `$G`, and no system account (nats-server
//! omits `system_account` when there is none). `?acc=$G` details it as nats-server does.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;

use super::query::{BadRequest, Params};
use super::subsz::{sublist_stats, SublistStats};
use crate::state::ServerState;
use crate::timefmt;

pub const GLOBAL_ACCOUNT: &str = "$G";

pub async fn handler(
    State(state): State<Arc<ServerState>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    match accountz(&state, &Params::new(query)) {
        Ok(body) => body,
        Err(bad) => bad.into_response(),
    }
}

#[derive(Serialize)]
struct Accountz {
    server_id: String,
    now: String,
    accounts: Vec<&'static str>,
}

fn accountz(state: &ServerState, p: &Params) -> Result<Response, BadRequest> {
    let _unused = p.bool("unused")?;
    let acc = p.get("acc");
    let now = timefmt::rfc3339(SystemTime::now());
    if acc.is_empty() {
        return Ok(Json(Accountz {
            server_id: state.server_id.clone(),
            now,
            accounts: vec![GLOBAL_ACCOUNT],
        })
        .into_response());
    }
    if acc != GLOBAL_ACCOUNT {
        return Err(BadRequest(format!("Account {acc} does not exist")));
    }
    Ok(Json(AccountzDetail {
        server_id: state.server_id.clone(),
        now,
        account_detail: AccountInfo {
            account_name: GLOBAL_ACCOUNT,
            update_time: timefmt::rfc3339(state.started_at),
            expired: false,
            complete: true,
            jetstream_enabled: state.jetstream.get().is_some(),
            leafnode_connections: 0,
            client_connections: state.connection_count(),
            subscriptions: state.subscription_count(),
            sublist_stats: sublist_stats(state),
        },
    })
    .into_response())
}

#[derive(Serialize)]
struct AccountzDetail {
    server_id: String,
    now: String,
    account_detail: AccountInfo,
}

#[derive(Serialize)]
struct AccountInfo {
    account_name: &'static str,
    update_time: String,
    expired: bool,
    complete: bool,
    jetstream_enabled: bool,
    leafnode_connections: usize,
    client_connections: usize,
    subscriptions: usize,
    sublist_stats: SublistStats,
}
