//! A client's outbound byte queue. Publishers on any thread encode messages straight into it
//! under a short lock; the client's writer task swaps the whole buffer out and writes it with
//! one syscall. The queue is bounded by `max_pending_bytes`: past that the client is a slow
//! consumer and is cut off, so one stuck reader cannot grow server memory without limit.

use bytes::BytesMut;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;

/// Why a connection closed (the subset nats-server reports that Weir can reach today).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    ClientClosed,
    ProtocolViolation,
    SlowConsumerPendingBytes,
    SlowConsumerWriteDeadline,
    StaleConnection,
    AuthenticationTimeout,
    AuthenticationViolation,
    MaxConnectionsExceeded,
    MaxPayloadExceeded,
    MaxControlLineExceeded,
    WriteError,
    ReadError,
    ServerShutdown,
}

impl CloseReason {
    /// Whether output already queued should still be written before the socket closes.
    pub fn flushes(self) -> bool {
        !matches!(
            self,
            CloseReason::SlowConsumerPendingBytes
                | CloseReason::SlowConsumerWriteDeadline
                | CloseReason::WriteError
        )
    }

    pub fn is_slow_consumer(self) -> bool {
        matches!(
            self,
            CloseReason::SlowConsumerPendingBytes | CloseReason::SlowConsumerWriteDeadline
        )
    }
}

pub struct OutState {
    pub buf: BytesMut,
    /// Bytes taken by the writer and not yet written; they count against max pending.
    pub in_flight_bytes: usize,
    /// A flush is already requested (by a publisher's deferred list or the writer's wake-up).
    pub flush_requested: bool,
    pub closed: Option<CloseReason>,
    pub msgs_out: u64,
    pub bytes_out: u64,
}

pub struct Outbound {
    state: Mutex<OutState>,
    wake: Notify,
    max_pending_bytes: usize,
}

/// The result of queueing bytes for a client.
#[derive(Debug, PartialEq, Eq)]
pub enum Queued {
    /// Queued; the caller must arrange a flush (the first writer since the last flush).
    NeedsFlush,
    /// Queued; a flush is already on its way.
    Pending,
    /// The client is closed (or just became a slow consumer); nothing was queued.
    Dropped,
    /// This write pushed the client over max pending: it is now closed as a slow consumer.
    BecameSlow,
}

impl Outbound {
    pub fn new(max_pending_bytes: usize) -> Self {
        Outbound {
            state: Mutex::new(OutState {
                buf: BytesMut::new(),
                in_flight_bytes: 0,
                flush_requested: false,
                closed: None,
                msgs_out: 0,
                bytes_out: 0,
            }),
            wake: Notify::new(),
            max_pending_bytes,
        }
    }

    /// Appends with `encode` and counts one message of `msg_bytes` (0 for protocol lines).
    pub fn queue(&self, msg_bytes: u64, encode: impl FnOnce(&mut BytesMut)) -> Queued {
        let mut st = self.state.lock();
        if st.closed.is_some() {
            return Queued::Dropped;
        }
        encode(&mut st.buf);
        if msg_bytes > 0 {
            st.msgs_out += 1;
            st.bytes_out += msg_bytes;
        }
        if st.buf.len() + st.in_flight_bytes > self.max_pending_bytes {
            st.closed = Some(CloseReason::SlowConsumerPendingBytes);
            st.buf = BytesMut::new();
            drop(st);
            self.wake.notify_one();
            return Queued::BecameSlow;
        }
        if st.flush_requested {
            Queued::Pending
        } else {
            st.flush_requested = true;
            Queued::NeedsFlush
        }
    }

    /// Queues and flushes at once: for protocol replies that should not wait for a batch.
    pub fn send_now(&self, encode: impl FnOnce(&mut BytesMut)) -> Queued {
        let queued = self.queue(0, encode);
        if queued == Queued::NeedsFlush {
            self.flush();
        }
        queued
    }

    /// Wakes the writer.
    pub fn flush(&self) {
        self.wake.notify_one();
    }

    /// Closes the queue; the first reason sticks. Returns true if this call closed it.
    pub fn close(&self, reason: CloseReason) -> bool {
        let mut st = self.state.lock();
        if st.closed.is_some() {
            return false;
        }
        st.closed = Some(reason);
        if !reason.flushes() {
            st.buf = BytesMut::new();
        }
        drop(st);
        self.wake.notify_one();
        true
    }

    pub fn close_reason(&self) -> Option<CloseReason> {
        self.state.lock().closed
    }

    pub fn lock(&self) -> MutexGuard<'_, OutState> {
        self.state.lock()
    }

    pub(crate) async fn wait(&self) {
        self.wake.notified().await
    }

    /// For the writer: swaps the queued bytes into `spare` (which must be empty) and
    /// reports whether the queue is closed. Keeps both buffers' capacity for reuse.
    pub(crate) fn take(&self, spare: &mut BytesMut) -> Option<CloseReason> {
        debug_assert!(spare.is_empty());
        let mut st = self.state.lock();
        std::mem::swap(&mut st.buf, spare);
        st.in_flight_bytes = spare.len();
        st.flush_requested = false;
        st.closed
    }

    /// For the writer: the bytes taken last are written.
    pub(crate) fn written(&self) {
        self.state.lock().in_flight_bytes = 0;
    }

    pub fn pending_bytes(&self) -> usize {
        let st = self.state.lock();
        st.buf.len() + st.in_flight_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_queue_requests_flush_then_pending() {
        let out = Outbound::new(1024);
        assert_eq!(
            out.queue(3, |b| b.extend_from_slice(b"abc")),
            Queued::NeedsFlush
        );
        assert_eq!(
            out.queue(3, |b| b.extend_from_slice(b"def")),
            Queued::Pending
        );
        let mut spare = BytesMut::new();
        assert_eq!(out.take(&mut spare), None);
        assert_eq!(&spare[..], b"abcdef");
        assert_eq!(out.pending_bytes(), 6);
        out.written();
        assert_eq!(out.pending_bytes(), 0);
        assert_eq!(
            out.queue(1, |b| b.extend_from_slice(b"g")),
            Queued::NeedsFlush
        );
        assert_eq!(out.lock().msgs_out, 3);
    }

    #[test]
    fn exceeding_max_pending_closes_as_slow_consumer_and_frees_memory() {
        let out = Outbound::new(10);
        assert_eq!(
            out.queue(8, |b| b.extend_from_slice(&[0; 8])),
            Queued::NeedsFlush
        );
        assert_eq!(
            out.queue(8, |b| b.extend_from_slice(&[0; 8])),
            Queued::BecameSlow
        );
        assert_eq!(
            out.close_reason(),
            Some(CloseReason::SlowConsumerPendingBytes)
        );
        assert_eq!(out.pending_bytes(), 0);
        assert_eq!(out.queue(1, |b| b.extend_from_slice(b"x")), Queued::Dropped);
        assert!(!out.close(CloseReason::ClientClosed), "first reason sticks");
    }

    #[test]
    fn bytes_in_flight_count_against_max_pending() {
        let out = Outbound::new(10);
        out.queue(6, |b| b.extend_from_slice(&[0; 6]));
        let mut spare = BytesMut::new();
        out.take(&mut spare);
        assert_eq!(
            out.queue(6, |b| b.extend_from_slice(&[0; 6])),
            Queued::BecameSlow
        );
    }
}
