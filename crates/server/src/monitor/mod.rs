//! The monitoring HTTP listener (`-m`/`http_port`): nats-server's endpoints with the same
//! paths, parameters and JSON shapes, plus Prometheus `/metrics`. One file per endpoint.

mod accountz;
mod cluster;
mod connz;
mod healthz;
mod jsz;
mod metrics;
mod query;
mod subsz;

pub use connz::{record_closed, ConnInfo};

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::response::Json;
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_util::task::TaskTracker;

use crate::state::{ServerState, NATS_COMPAT_VERSION, WEIR_VERSION};
use crate::timefmt;
use crate::StartError;

pub async fn start(
    state: Arc<ServerState>,
    port: u16,
    tasks: &TaskTracker,
) -> Result<SocketAddr, StartError> {
    let (listener, bound) = bind(&state, port).await?;
    serve(listener, state, tasks, "monitoring");
    Ok(bound)
}

/// Serves the endpoints on `listener` (plain or TLS) until the server shuts down.
fn serve<L>(listener: L, state: Arc<ServerState>, tasks: &TaskTracker, what: &'static str)
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    let shutdown = state.shutdown.clone();
    let app = router(state);
    tasks.spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await;
        if let Err(err) = served {
            tracing::error!("{what} listener failed: {err}");
        }
    });
}

/// The HTTPS monitor (`https_port`): the same endpoints over TLS with the `tls` block's
/// certificate. Client certificates are never requested: as in nats-server, `verify`
/// applies to client connections only.
pub async fn start_https(
    state: Arc<ServerState>,
    port: u16,
    tasks: &TaskTracker,
) -> Result<SocketAddr, StartError> {
    let opts = state.opts_snapshot();
    let tls_opts = opts
        .tls
        .as_ref()
        .ok_or_else(|| StartError::Tls(crate::tls::TlsError::HttpsWithoutTls.to_string()))?;
    let cache = crate::tls::TlsConfigCache::for_monitoring();
    cache
        .seed(state.opts_generation(), tls_opts)
        .map_err(|err| StartError::Tls(err.to_string()))?;
    let (tcp, bound) = bind(&state, port).await?;
    let listener = crate::tls::https::listen(state.clone(), tcp, bound, cache, tasks);
    serve(listener, state, tasks, "https monitoring");
    Ok(bound)
}

async fn bind(state: &ServerState, port: u16) -> Result<(TcpListener, SocketAddr), StartError> {
    let host = state
        .opts()
        .http_host
        .clone()
        .unwrap_or_else(|| state.opts().host.clone());
    let addr = format!("{host}:{port}");
    let listener = TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::BindMonitor {
            addr: addr.clone(),
            source,
        })?;
    let bound = listener
        .local_addr()
        .map_err(|source| StartError::BindMonitor { addr, source })?;
    Ok((listener, bound))
}

fn router(state: Arc<ServerState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/varz", get(varz))
        .route("/connz", get(connz::handler))
        .route("/subsz", get(subsz::handler))
        .route("/subscriptionsz", get(subsz::handler))
        .route("/accountz", get(accountz::handler))
        .route("/routez", get(cluster::routez))
        .route("/gatewayz", get(cluster::gatewayz))
        .route("/leafz", get(cluster::leafz))
        .route("/healthz", get(healthz::handler))
        .route("/jsz", get(jsz::handler))
        .route("/metrics", get(metrics::handler))
        .with_state(state)
}

async fn index() -> Json<Value> {
    Json(json!({
        "endpoints": [
            "/varz",
            "/connz",
            "/subsz",
            "/accountz",
            "/routez",
            "/gatewayz",
            "/leafz",
            "/healthz",
            "/jsz",
            "/metrics",
        ]
    }))
}

async fn varz(State(state): State<Arc<ServerState>>) -> Json<Value> {
    Json(varz_json(&state))
}

/// Counters of live clients plus those folded in when clients closed.
struct Traffic {
    in_msgs: u64,
    in_bytes: u64,
    out_msgs: u64,
    out_bytes: u64,
}

fn traffic(state: &ServerState) -> Traffic {
    let t = &state.totals;
    let mut traffic = Traffic {
        in_msgs: t.in_msgs.load(Ordering::Relaxed),
        in_bytes: t.in_bytes.load(Ordering::Relaxed),
        out_msgs: t.out_msgs.load(Ordering::Relaxed),
        out_bytes: t.out_bytes.load(Ordering::Relaxed),
    };
    for client in state.clients.lock().values() {
        traffic.in_msgs += client.in_msgs.load(Ordering::Relaxed);
        traffic.in_bytes += client.in_bytes.load(Ordering::Relaxed);
        let out = client.out.lock();
        traffic.out_msgs += out.msgs_out;
        traffic.out_bytes += out.bytes_out;
    }
    traffic
}

pub fn varz_json(state: &ServerState) -> Value {
    let opts = &state.opts();
    let traffic = traffic(state);
    let now = SystemTime::now();
    let mut varz = json!({
        "server_id": state.server_id,
        "server_name": state.server_name,
        "version": NATS_COMPAT_VERSION,
        "weir_version": WEIR_VERSION,
        "proto": 1,
        "go": format!("weir {WEIR_VERSION}"),
        "host": opts.host,
        "port": state.client_port(),
        "auth_required": crate::auth::required(opts),
        "max_connections": opts.max_connections,
        "ping_interval": opts.ping_interval.as_nanos() as u64,
        "ping_max": opts.ping_max,
        "http_host": opts.http_host.clone().unwrap_or_else(|| opts.host.clone()),
        "http_port": opts.http_port.unwrap_or(0),
        "https_port": opts.https_port.unwrap_or(0),
        "auth_timeout": opts.auth_timeout.as_secs_f64(),
        "max_control_line": opts.max_control_line_bytes,
        "max_payload": opts.max_payload_bytes,
        "max_pending": opts.max_pending_bytes,
        "write_deadline": opts.write_deadline.as_nanos() as u64,
        "lame_duck_duration": opts.lame_duck_duration.as_nanos() as u64,
        "lame_duck_grace_period": opts.lame_duck_grace_period.as_nanos() as u64,
        "start": timefmt::rfc3339(state.started_at),
        "now": timefmt::rfc3339(now),
        "uptime": timefmt::uptime(state.started_instant.elapsed()),
        "mem": crate::process::rss_bytes().unwrap_or(0),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "connections": state.connection_count(),
        "total_connections": state.totals.total_connections.load(Ordering::Relaxed),
        "routes": 0,
        "remotes": 0,
        "leafnodes": 0,
        "in_msgs": traffic.in_msgs,
        "out_msgs": traffic.out_msgs,
        "in_bytes": traffic.in_bytes,
        "out_bytes": traffic.out_bytes,
        "slow_consumers": state.totals.slow_consumers.load(Ordering::Relaxed),
        "subscriptions": state.subscription_count(),
        "config_load_time": timefmt::rfc3339(state.started_at),
        "tls_timeout": opts
            .tls
            .as_ref()
            .map_or(crate::tls::DEFAULT_TIMEOUT, |tls| tls.timeout)
            .as_secs_f64(),
    });
    // nats-server omits these when false.
    let (tls_required, tls_verify) = crate::tls::info_flags(opts.tls.as_ref());
    if tls_required {
        varz["tls_required"] = Value::Bool(true);
    }
    if tls_verify {
        varz["tls_verify"] = Value::Bool(true);
    }
    varz
}
