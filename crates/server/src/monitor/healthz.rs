//! `/healthz` with nats-server's semantics (server/monitor.go `healthz`; 2.9.10 checked by hand):
//!
//! * not accepting clients (lame duck mode, shutting down): 503
//!   `{"status":"error","error":"failed to be ready for connections after 1ms: server"}`,
//!   nats-server's answer once its client listener is closed;
//! * JetStream configured but still restoring its streams: 503 `{"status":"unavailable",…}`
//!   (nats-server opens its client listener only after JetStream is up, so it answers
//!   `status: error` in that window; both are 503);
//! * JetStream not configured: 200 `{"status":"ok"}` whatever the parameters (2.9.10 answers
//!   `js-enabled=true` with 200 when JetStream is off);
//! * `js-enabled=true` (deprecated, logs a warning as nats-server does) or
//!   `js-enabled-only=true`: 200 once JetStream is up;
//! * otherwise (also `js-server-only=true`, which only skips cluster checks Weir has no
//!   cluster for): every stream directory on disk must have been restored, else 503
//!   `JetStream stream '$G > NAME' could not be recovered`. That is the check of 2.10 and
//!   later (Weir reports 2.14); 2.9.10 answers 200 there.
//!
//! Parameters are Go booleans (`1`, `t`, `true`, …); anything else is a 400 with nats-server's
//! text. A failing check is logged as a warning (`Healthcheck failed: "…"`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde_json::json;

use crate::state::ServerState;

const NOT_LISTENING: &str = "failed to be ready for connections after 1ms: server";

/// Go's `strconv.ParseBool`.
fn parse_go_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// nats-server's `decodeBool`: a missing or empty parameter is false; a bad one is a 400 with
/// this text.
fn decode_bool(params: &[(String, String)], name: &str) -> Result<bool, String> {
    let Some((_, value)) = params.iter().find(|(k, _)| k == name) else {
        return Ok(false);
    };
    if value.is_empty() {
        return Ok(false);
    }
    parse_go_bool(value).ok_or_else(|| {
        format!(
            "Error decoding boolean for '{name}': strconv.ParseBool: parsing {}: invalid syntax",
            serde_json::Value::String(value.clone())
        )
    })
}

#[derive(Debug, Default, Clone, Copy)]
struct HealthzOptions {
    js_enabled_only: bool,
    #[allow(dead_code)] // Parsed and validated; only cluster checks (none yet) would use it.
    js_server_only: bool,
}

/// `Ok(())` is healthy; `Err((status, error))` is the body's `status` and `error`.
fn check(state: &ServerState, opts: HealthzOptions) -> Result<(), (&'static str, String)> {
    if state.shutdown.is_cancelled()
        || state.stop_accepting.is_cancelled()
        || state.lame_duck.load(Ordering::Acquire)
    {
        return Err(("error", NOT_LISTENING.to_string()));
    }
    if !state.opts().jetstream {
        return Ok(());
    }
    if !state.jetstream_ready() {
        return Err((
            "unavailable",
            "JetStream is starting: restoring streams".to_string(),
        ));
    }
    if opts.js_enabled_only {
        return Ok(());
    }
    // Single server: every stream on disk must have been restored, in every account.
    for (account, js) in state.jetstreams() {
        let Ok(entries) = std::fs::read_dir(js.store_root()) else {
            continue;
        };
        let running = js.streams.read();
        for entry in entries.flatten() {
            if !entry.path().is_dir() {
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            if !running.contains_key(&name) {
                return Err((
                    "unavailable",
                    format!("JetStream stream '{account} > {name}' could not be recovered"),
                ));
            }
        }
    }
    Ok(())
}

pub async fn handler(
    State(state): State<Arc<ServerState>>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let parsed = (|| {
        let js_enabled = decode_bool(&params, "js-enabled")?;
        if js_enabled {
            tracing::warn!("Healthcheck: js-enabled deprecated, use js-enabled-only instead");
        }
        Ok::<_, String>(HealthzOptions {
            js_enabled_only: js_enabled || decode_bool(&params, "js-enabled-only")?,
            js_server_only: decode_bool(&params, "js-server-only")?,
        })
    })();
    let opts = match parsed {
        Ok(opts) => opts,
        Err(text) => return (StatusCode::BAD_REQUEST, text).into_response(),
    };
    match check(&state, opts) {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        Err((status, error)) => {
            tracing::warn!("Healthcheck failed: {error:?}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": status, "error": error})),
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_booleans() {
        for t in ["1", "t", "T", "true", "TRUE", "True"] {
            assert_eq!(parse_go_bool(t), Some(true), "{t}");
        }
        for f in ["0", "f", "F", "false", "FALSE", "False"] {
            assert_eq!(parse_go_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_go_bool("yes"), None);
        let params = vec![("js-enabled".to_string(), String::new())];
        assert!(matches!(decode_bool(&params, "js-enabled"), Ok(false)));
        let params = vec![("js-enabled".to_string(), "bogus".to_string())];
        assert!(decode_bool(&params, "js-enabled").is_err());
    }
}
