//! A TLS listener for the HTTPS monitor (`https_port`). Handshakes run in their own tasks, so
//! one slow or silent client cannot hold up the others; finished ones are handed to axum.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_util::task::TaskTracker;

use super::cache::{TlsConfigCache, Transport};
use crate::state::ServerState;

/// Handshaken connections waiting for axum; beyond this, handshake tasks wait their turn.
const READY_QUEUE: usize = 64;

pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

/// Accepts on `tcp` until shutdown, with the certificate `cache` holds for the options in
/// force (a reload that changes the certificate applies to new HTTPS connections too).
pub fn listen(
    state: Arc<ServerState>,
    tcp: TcpListener,
    local: SocketAddr,
    cache: TlsConfigCache,
    tasks: &TaskTracker,
) -> TlsListener {
    let (tx, ready) = mpsc::channel(READY_QUEUE);
    let handshakes = tasks.clone();
    tasks.spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = state.shutdown.cancelled() => break,
                accepted = tcp.accept() => accepted,
            };
            let (stream, addr) = match accepted {
                Ok(pair) => pair,
                Err(err) => {
                    tracing::error!("error accepting https monitoring connection: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Transport::Tls(setup) = cache.get(&state) else {
                // TLS was removed by a reload: nothing to serve HTTPS with.
                continue;
            };
            let tx = tx.clone();
            let shutdown = state.shutdown.clone();
            handshakes.spawn(async move {
                let handshake =
                    tokio::time::timeout(setup.opts.timeout, setup.acceptor.accept(stream));
                let outcome = tokio::select! {
                    outcome = handshake => outcome,
                    _ = shutdown.cancelled() => return,
                };
                match outcome {
                    Ok(Ok(stream)) => {
                        let _ = tx.send((stream, addr)).await;
                    }
                    Ok(Err(err)) => {
                        tracing::debug!(%addr, "https monitoring TLS handshake error: {err}")
                    }
                    Err(_) => tracing::debug!(%addr, "https monitoring TLS handshake timeout"),
                }
            });
        }
    });
    TlsListener { ready, local }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(pair) => pair,
            // The accept task ended (shutdown): axum's graceful shutdown ends the server.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
