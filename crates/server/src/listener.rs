//! Accepting connections, the connection limit, lame duck mode and closing everyone.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::task::TaskTracker;

use crate::client::{self, CloseReason};
use crate::state::ServerState;
use crate::tls::cache::{TlsConfigCache, Transport};

pub async fn accept_loop(state: Arc<ServerState>, listener: TcpListener, tasks: TaskTracker) {
    // Plain or TLS is decided per connection from the options in force (a reload may add,
    // drop or change TLS); the rustls config is rebuilt once per reload, not per connection.
    let tls = TlsConfigCache::new();
    loop {
        let accepted = tokio::select! {
            _ = state.stop_accepting.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, addr)) => {
                if state.connection_count() >= state.opts().max_connections {
                    tracing::warn!(%addr, "maximum connections ({}) exceeded", state.opts().max_connections);
                    tasks.spawn(refuse(state.clone(), stream));
                    continue;
                }
                match tls.get(&state) {
                    Transport::Plain => {
                        tasks.spawn(client::serve(state.clone(), stream, addr));
                    }
                    Transport::Tls(setup) => {
                        tasks.spawn(client::serve_tls(state.clone(), stream, addr, setup));
                    }
                    Transport::Unavailable => {
                        // Dropping the socket closes it: never serve plaintext when TLS is asked.
                        tracing::error!(%addr, "TLS is configured but its certificate could not be loaded; connection refused");
                    }
                }
            }
            Err(err) => {
                // Out of file descriptors and similar: back off instead of spinning.
                tracing::error!("error accepting client connection: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    tracing::debug!("client listener closed");
}

/// nats-server sends INFO, then the error, then closes.
async fn refuse(state: Arc<ServerState>, mut stream: TcpStream) {
    let mut buf = BytesMut::new();
    let (tls_required, tls_verify) = crate::tls::info_flags(state.opts().tls.as_ref());
    // Like nats-server, refused before any TLS handshake: INFO and the error in plaintext.
    let mut info = weir_protocol::ServerInfo {
        tls_required,
        tls_verify,
        server_id: state.server_id.clone(),
        server_name: state.server_name.clone(),
        version: crate::state::NATS_COMPAT_VERSION.to_string(),
        proto: 1,
        max_payload: state.opts().max_payload_bytes,
        headers: true,
        ..Default::default()
    };
    info.port = state.client_port();
    weir_protocol::encode_info(&mut buf, &info);
    weir_protocol::encode_err(&mut buf, "maximum connections exceeded");
    let _ = tokio::time::timeout(state.opts().write_deadline, stream.write_all(&buf)).await;
    let _ = stream.shutdown().await;
}

pub fn close_all_clients(state: &ServerState) {
    let clients: Vec<_> = state.clients.lock().values().cloned().collect();
    for client in clients {
        client.close(CloseReason::ServerShutdown);
    }
}

/// Stops accepting, tells clients (INFO with `ldm: true`), waits the grace period, closes
/// clients spread over the rest of `lame_duck_duration`, then shuts the server down.
pub fn enter_lame_duck_mode(state: Arc<ServerState>) {
    if state.lame_duck.swap(true, Ordering::AcqRel) {
        return;
    }
    tracing::info!("Entering lame duck mode, stop accepting new clients");
    state.stop_accepting.cancel();
    let clients: Vec<_> = state.clients.lock().values().cloned().collect();
    for client in &clients {
        let info = crate::info::for_client(&state, client, crate::auth::required(&state.opts()));
        client
            .out
            .send_now(|buf| weir_protocol::encode_info(buf, &info));
    }
    if clients.is_empty() {
        // Nobody to drain: shut down at once, as nats-server does.
        tracing::info!("No clients connected, shutting down");
        state.shutdown.cancel();
        return;
    }
    tokio::spawn(async move {
        let grace = state.opts().lame_duck_grace_period;
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tokio::time::sleep(grace) => {}
        }
        let clients: Vec<_> = state.clients.lock().values().cloned().collect();
        let spread = state.opts().lame_duck_duration.saturating_sub(grace);
        let pause = if clients.is_empty() {
            Duration::ZERO
        } else {
            spread / clients.len() as u32
        };
        tracing::info!("Closing {} existing clients", clients.len());
        let last = clients.len().saturating_sub(1);
        for (i, client) in clients.into_iter().enumerate() {
            client.close(CloseReason::ServerShutdown);
            // No pause after the last one: shut down as soon as everyone is closed.
            if i < last && !pause.is_zero() {
                tokio::select! {
                    _ = state.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(pause.min(Duration::from_secs(1))) => {}
                }
            }
        }
        tracing::info!("Lame duck mode complete, shutting down");
        state.shutdown.cancel();
    });
}
