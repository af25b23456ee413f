//! The writer task: waits for a flush request, swaps the client's queued bytes out and
//! writes them in one call, bounded by the write deadline. Generic over the transport so the
//! plain TCP path stays monomorphic: TLS gets its own instance, without inline writes.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};
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
    serve(&client, &mut &*socket, write_deadline, &state).await;
    client.out.detach_sink();
    // Detached: no producer holds the socket any more, so this is the only reference.
    if let Ok(mut socket) = Arc::try_unwrap(socket) {
        let _ = socket.shutdown().await;
    }
}

/// The writer for a transport that cannot be written inline (TLS): producers always leave
/// their bytes to this task, which writes and flushes them through the TLS session.
pub async fn run_stream<W: AsyncWrite + Unpin + Send>(
    client: Arc<ClientShared>,
    mut socket: W,
    write_deadline: Duration,
    state: Arc<ServerState>,
) {
    let mut sink = StreamSink(&mut socket);
    serve(&client, &mut sink, write_deadline, &state).await;
    // Aborted (slow consumer, write error): the socket is stuck or gone, just drop it.
    if !client.abort.is_cancelled() {
        // Sends TLS close_notify, then closes the socket; bounded like any write.
        let _ = tokio::time::timeout(write_deadline, socket.shutdown()).await;
    }
}

/// Writes one whole batch to the transport.
trait BatchSink {
    fn write_batch(
        &mut self,
        bytes: &[u8],
    ) -> impl std::future::Future<Output = std::io::Result<()>> + Send;
}

impl BatchSink for &OwnedWriteHalf {
    fn write_batch(
        &mut self,
        bytes: &[u8],
    ) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
        write_all(self, bytes)
    }
}

struct StreamSink<'a, W>(&'a mut W);

impl<W: AsyncWrite + Unpin + Send> BatchSink for StreamSink<'_, W> {
    async fn write_batch(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.0.write_all(bytes).await?;
        // TLS buffers records: flush so the batch leaves now, as a plain write would.
        self.0.flush().await
    }
}

async fn serve<S: BatchSink>(
    client: &ClientShared,
    socket: &mut S,
    write_deadline: Duration,
    state: &ServerState,
) {
    let mut batch = BytesMut::new();
    loop {
        let closed = client.out.take(&mut batch);
        if !batch.is_empty() {
            let write = tokio::time::timeout(write_deadline, socket.write_batch(&batch));
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
