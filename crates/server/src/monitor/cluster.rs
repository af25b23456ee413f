//! `/routez`, `/gatewayz` and `/leafz`: Weir runs a single server, so these answer
//! nats-server's shapes for a server without routes, gateways or leaf nodes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::response::Json;
use serde::Serialize;
use serde_json::Value;

use crate::state::ServerState;
use crate::timefmt;

fn now() -> String {
    timefmt::rfc3339(SystemTime::now())
}

#[derive(Serialize)]
pub struct Routez {
    server_id: String,
    now: String,
    num_routes: usize,
    routes: Vec<Value>,
}

pub async fn routez(State(state): State<Arc<ServerState>>) -> Json<Routez> {
    Json(Routez {
        server_id: state.server_id.clone(),
        now: now(),
        num_routes: 0,
        routes: Vec::new(),
    })
}

/// nats-server omits `name`, `host` and `port` when no gateway is configured.
#[derive(Serialize)]
pub struct Gatewayz {
    server_id: String,
    now: String,
    outbound_gateways: BTreeMap<String, Value>,
    inbound_gateways: BTreeMap<String, Value>,
}

pub async fn gatewayz(State(state): State<Arc<ServerState>>) -> Json<Gatewayz> {
    Json(Gatewayz {
        server_id: state.server_id.clone(),
        now: now(),
        outbound_gateways: BTreeMap::new(),
        inbound_gateways: BTreeMap::new(),
    })
}

/// `leafs` is `null`, as nats-server encodes its empty list.
#[derive(Serialize)]
pub struct Leafz {
    server_id: String,
    now: String,
    leafnodes: usize,
    leafs: Option<Vec<Value>>,
}

pub async fn leafz(State(state): State<Arc<ServerState>>) -> Json<Leafz> {
    Json(Leafz {
        server_id: state.server_id.clone(),
        now: now(),
        leafnodes: 0,
        leafs: None,
    })
}
