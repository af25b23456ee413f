//! The server side of a client's TLS handshake, in nats-server's order: INFO in plaintext,
//! then the client's ClientHello (or, with `handshake_first`, the ClientHello at once and INFO
//! over TLS afterwards), all bounded by the `timeout` option.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

use super::cache::TlsSetup;
use super::{HandshakeFirst, TLS_HANDSHAKE_RECORD};
use crate::client::ClientShared;
use crate::state::ServerState;

#[derive(Debug, thiserror::Error)]
enum HandshakeError {
    #[error("first record does not look like a TLS handshake")]
    NotTls,
    #[error("connection closed")]
    Closed,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Runs the handshake; `None` when it failed (logged; the socket is dropped, i.e. closed).
/// A plain client therefore sees INFO and then the connection close, as with nats-server
/// 2.9.10, whose `-ERR 'Secure Connection - TLS Required'` never reaches the wire.
pub async fn accept(
    state: &ServerState,
    client: &ClientShared,
    mut stream: TcpStream,
    tls: &TlsSetup,
) -> Option<TlsStream<TcpStream>> {
    let tls_first = match tls.opts.handshake_first {
        HandshakeFirst::Off => false,
        HandshakeFirst::Always => true,
        HandshakeFirst::Fallback(wait) => starts_with_client_hello(&stream, wait).await?,
    };
    if !tls_first {
        send_plain_info(state, client, &mut stream).await?;
    }
    tracing::debug!(cid = client.id, addr = %client.addr, "Starting TLS client connection handshake");
    let deadline = tokio::time::Instant::now() + tls.opts.timeout;
    let handshake = async {
        // Like Go's TLS stack, close silently on a plaintext first record: rustls would
        // answer with an alert, bytes a plain NATS client could not make sense of.
        let mut first = [0u8; 1];
        match stream.peek(&mut first).await? {
            0 => return Err(HandshakeError::Closed),
            _ if first[0] != TLS_HANDSHAKE_RECORD => return Err(HandshakeError::NotTls),
            _ => {}
        }
        Ok(tls.acceptor.accept(stream).await?)
    };
    let outcome = tokio::select! {
        outcome = tokio::time::timeout_at(deadline, handshake) => outcome,
        _ = state.shutdown.cancelled() => return None,
    };
    let stream = match outcome {
        Ok(Ok(stream)) => stream,
        Ok(Err(err)) => {
            tracing::error!(cid = client.id, addr = %client.addr, "TLS handshake error: {err}");
            return None;
        }
        Err(_elapsed) => {
            tracing::error!(cid = client.id, addr = %client.addr, "TLS handshake timeout");
            return None;
        }
    };
    if tls.opts.verifies_clients() {
        // rustls required and verified the certificate, so the chain is non-empty.
        let identities = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|leaf| super::identity::identities(leaf))
            .unwrap_or_default();
        tracing::debug!(
            cid = client.id,
            ?identities,
            "TLS client certificate verified"
        );
        let _ = client.tls_identities.set(identities);
    }
    tracing::debug!(cid = client.id, addr = %client.addr, "TLS handshake complete");
    Some(stream)
}

/// `handshake_first` with a fallback delay: waits up to `wait` for the client's first byte.
/// `Some(true)` for a TLS handshake record, `Some(false)` for silence or plaintext (then INFO
/// goes first), `None` if the client went away.
async fn starts_with_client_hello(stream: &TcpStream, wait: Duration) -> Option<bool> {
    let mut first = [0u8; 1];
    match tokio::time::timeout(wait, stream.peek(&mut first)).await {
        Err(_elapsed) => Some(false),
        Ok(Ok(0)) | Ok(Err(_)) => None,
        Ok(Ok(_)) => Some(first[0] == TLS_HANDSHAKE_RECORD),
    }
}

async fn send_plain_info(
    state: &ServerState,
    client: &ClientShared,
    stream: &mut TcpStream,
) -> Option<()> {
    let (info, deadline) = {
        let opts = state.opts();
        let auth_required = crate::auth::required(&opts);
        (
            crate::info::for_client(state, client, auth_required),
            opts.write_deadline,
        )
    };
    let mut buf = BytesMut::new();
    weir_protocol::encode_info(&mut buf, &info);
    match tokio::time::timeout(deadline, stream.write_all(&buf)).await {
        Ok(Ok(())) => {
            client.mark_info_sent();
            Some(())
        }
        _ => None,
    }
}
