//! `/jsz`: JetStream usage, streams and consumers (being built).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Json;
use serde_json::{json, Value};

use crate::state::ServerState;

pub async fn handler(State(_state): State<Arc<ServerState>>) -> Json<Value> {
    Json(json!({}))
}
