//! The writer task: waits for a flush request, swaps the client's queued bytes out and
//! writes them in one call, bounded by the write deadline.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;

use super::outbound::DirectWrite;

use super::{ClientShared, CloseReason};
use crate::state::ServerState;

/// Buffers that grew past this during a burst are released rather than kept per client.
const KEEP_CAPACITY_BYTES: usize = 1024 * 1024;

pub async fn run(
    client: Arc<ClientShared>,
    socket: OwnedWriteHalf,
    write_deadline: Duration,
    state: Arc<ServerState>,
) {
    let socket = Arc::new(socket);
    client.out.attach_sink(socket.clone());
    serve(&client, &socket, write_deadline, &state).await;
    client.out.detach_sink();
    // Detached: no producer holds the socket any more, so this is the only reference.
    if let Ok(mut socket) = Arc::try_unwrap(socket) {
        let _ = socket.shutdown().await;
    }
}

async fn serve(
    client: &ClientShared,
    socket: &OwnedWriteHalf,
    write_deadline: Duration,
    state: &ServerState,
) {
    let mut batch = BytesMut::new();
    loop {
        let closed = client.out.take(&mut batch);
        if !batch.is_empty() {
            let write = tokio::time::timeout(write_deadline, write_all(socket, &batch));
            let outcome = tokio::select! {
                outcome = write => outcome,
                _ = client.abort.cancelled() => break,
            };
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(_)) => {
                    client.close(CloseReason::WriteError);
                    break;
                }
                Err(_elapsed) => {
                    tracing::info!(
                        cid = client.id,
                        addr = %client.addr,
                        "Slow Consumer Detected: WriteDeadline of {:?} exceeded",
                        write_deadline
                    );
                    state.totals.slow_consumers.fetch_add(1, Ordering::Relaxed);
                    client.close(CloseReason::SlowConsumerWriteDeadline);
                    break;
                }
            }
            client.out.written();
            batch.clear();
            if batch.capacity() > KEEP_CAPACITY_BYTES {
                batch = BytesMut::new();
            }
            // More may have been queued while writing; take it before sleeping.
            continue;
        }
        if closed.is_some() {
            break;
        }
        tokio::select! {
            _ = client.out.wait() => {}
            _ = client.abort.cancelled() => break,
        }
    }
}

/// `write_all` through a shared socket: producers may write inline between our batches.
async fn write_all(socket: &OwnedWriteHalf, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        socket.writable().await?;
        match DirectWrite::try_write(socket, bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
