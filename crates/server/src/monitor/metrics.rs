//! `/metrics`: Prometheus text format (being built).

use std::sync::Arc;

use axum::extract::State;

use crate::state::ServerState;

pub async fn handler(State(_state): State<Arc<ServerState>>) -> String {
    String::new()
}
