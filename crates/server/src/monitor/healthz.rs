//! `/healthz`: 200 when the server (and, when asked, JetStream) is ready; 503 with the reason.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json};
use serde_json::json;

use crate::state::ServerState;

pub async fn handler(State(state): State<Arc<ServerState>>) -> impl IntoResponse {
    if state.shutdown.is_cancelled() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "error": "server is shutting down"})),
        );
    }
    (StatusCode::OK, Json(json!({"status": "ok"})))
}
