//! `/accountz`: the accounts (the global `$G` and those configured), and the system account
//! when one is named (nats-server omits `system_account` otherwise). `?acc=NAME` details one.

use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;

use super::query::{BadRequest, Params};
use super::subsz::{sublist_stats, SublistStats};
use crate::state::ServerState;
use crate::timefmt;

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
    #[serde(skip_serializing_if = "Option::is_none")]
    system_account: Option<String>,
    accounts: Vec<String>,
}

fn accountz(state: &ServerState, p: &Params) -> Result<Response, BadRequest> {
    let _unused = p.bool("unused")?;
    let acc = p.get("acc");
    let now = timefmt::rfc3339(SystemTime::now());
    if acc.is_empty() {
        return Ok(Json(Accountz {
            server_id: state.server_id.clone(),
            now,
            system_account: state.opts().system_account.clone(),
            accounts: state.accounts().iter().map(|a| a.name.clone()).collect(),
        })
        .into_response());
    }
    let Some(account) = state.account(acc) else {
        return Err(BadRequest(format!("Account {acc} does not exist")));
    };
    let client_connections = state
        .clients
        .lock()
        .values()
        .filter(|c| *c.account.lock() == account.name)
        .count();
    Ok(Json(AccountzDetail {
        server_id: state.server_id.clone(),
        now,
        account_detail: AccountInfo {
            account_name: account.name.clone(),
            update_time: timefmt::rfc3339(state.started_at),
            expired: false,
            complete: true,
            jetstream_enabled: state.jetstream(&account.name).is_some(),
            leafnode_connections: 0,
            client_connections,
            subscriptions: account.subscription_count(),
            sublist_stats: sublist_stats(&account),
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
    account_name: String,
    update_time: String,
    expired: bool,
    complete: bool,
    jetstream_enabled: bool,
    leafnode_connections: usize,
    client_connections: usize,
    subscriptions: usize,
    sublist_stats: SublistStats,
}
