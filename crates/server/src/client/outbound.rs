//! A client's outbound byte queue. Publishers on any thread encode messages straight into it
//! under a short lock; the client's writer task swaps the whole buffer out and writes it with
//! one syscall. The queue is bounded by `max_pending_bytes`: past that the client is a slow
//! consumer and is cut off, so one stuck reader cannot grow server memory without limit.
//!
//! Small batches skip the writer: `flush_inline` writes them on the producer's thread when the
//! socket takes them at once, saving a task wake-up (and often a thread hop) per round trip.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::Notify;

/// A producer that pushes a client past this share of max pending is paused (see `stall_for`).
const STALL_MARK_NUMERATOR: usize = 3;
const STALL_MARK_DENOMINATOR: usize = 4;
const STALL_MIN: Duration = Duration::from_millis(100);
const STALL_MAX: Duration = Duration::from_secs(1);
/// Batches up to this size may be written inline by the producer; larger ones go to the
/// writer task so the producer keeps reading while they are written (a pipeline).
const INLINE_MAX_BYTES: usize = 16 * 1024;

/// A socket that accepts bytes without blocking (the write half of a TCP connection).
pub trait DirectWrite: Send + Sync {
    /// Writes what the socket takes now; `WouldBlock` when it takes nothing.
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize>;
}

impl DirectWrite for tokio::net::tcp::OwnedWriteHalf {
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        tokio::net::tcp::OwnedWriteHalf::try_write(self, bytes)
    }
}

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
    /// The socket, for inline writes while the writer is idle; detached when the writer ends.
    sink: Option<Arc<dyn DirectWrite>>,
}

pub struct Outbound {
    state: Mutex<OutState>,
    wake: Notify,
    max_pending_bytes: usize,
    /// Pending bytes passed the stall mark; producers should pause until the writer drains.
    stalling: AtomicBool,
    drained: Notify,
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
                sink: None,
            }),
            wake: Notify::new(),
            max_pending_bytes,
            stalling: AtomicBool::new(false),
            drained: Notify::new(),
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
        let pending = st.buf.len() + st.in_flight_bytes;
        if pending > self.stall_mark() && !self.stalling.load(Ordering::Relaxed) {
            self.stalling.store(true, Ordering::Relaxed);
        }
        if pending > self.max_pending_bytes {
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

    /// Gets the queued bytes written: inline when that is cheap, else by waking the writer.
    pub fn flush(&self) {
        if !self.flush_inline() {
            self.wake.notify_one();
        }
    }

    /// Leaves the queued bytes to the writer task.
    pub fn wake_writer(&self) {
        self.wake.notify_one();
    }

    /// Lets `flush` write small batches itself through `sink`.
    pub(crate) fn attach_sink(&self, sink: Arc<dyn DirectWrite>) {
        self.state.lock().sink = Some(sink);
    }

    /// For the writer as it ends: no inline write may touch the socket after this.
    pub(crate) fn detach_sink(&self) {
        self.state.lock().sink = None;
    }

    /// Writes the queued bytes on the caller's thread if the writer holds none in flight
    /// (so bytes stay in order), the batch is small and the socket takes all of it now.
    /// Returns false when the writer must be woken for what is left. The write happens under
    /// the queue's lock, which is what keeps the writer and other producers out meanwhile;
    /// it never blocks (a non-blocking send of at most `INLINE_MAX_BYTES`).
    fn flush_inline(&self) -> bool {
        let mut st = self.state.lock();
        let st = &mut *st;
        let Some(sink) = &st.sink else {
            return false;
        };
        if st.closed.is_some() || st.in_flight_bytes > 0 || st.buf.len() > INLINE_MAX_BYTES {
            return false;
        }
        while !st.buf.is_empty() {
            match sink.try_write(&st.buf) {
                Ok(0) | Err(_) => return false,
                Ok(n) => bytes::Buf::advance(&mut st.buf, n),
            }
        }
        st.buf.clear();
        st.flush_requested = false;
        if self.stalling.load(Ordering::Relaxed) {
            self.stalling.store(false, Ordering::Relaxed);
            self.drained.notify_waiters();
        }
        true
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
        self.drained.notify_waiters();
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
        let mut st = self.state.lock();
        st.in_flight_bytes = 0;
        if self.stalling.load(Ordering::Relaxed) && st.buf.len() <= self.stall_mark() {
            self.stalling.store(false, Ordering::Relaxed);
            drop(st);
            self.drained.notify_waiters();
        }
    }

    fn stall_mark(&self) -> usize {
        self.max_pending_bytes / STALL_MARK_DENOMINATOR * STALL_MARK_NUMERATOR
    }

    /// Whether producers should pause for this client (see `stall_for`).
    pub fn is_stalling(&self) -> bool {
        self.stalling.load(Ordering::Relaxed)
    }

    /// How long a producer may wait for this client to drain: like nats-server, from 100 ms
    /// when just past half of max pending up to 1 s at the limit. A consumer that is merely
    /// bursty gets time to catch up before it is judged slow; a stuck one still hits the limit.
    pub fn stall_for(&self) -> Duration {
        let pending = self.pending_bytes();
        let half = self.max_pending_bytes / 2;
        if pending <= half || half == 0 {
            return STALL_MIN;
        }
        let step = (half / 10).max(1);
        let steps = ((pending - half) / step) as u32;
        (STALL_MIN + STALL_MIN * steps).min(STALL_MAX)
    }

    /// Resolves when the writer has drained the client below the stall mark.
    pub async fn wait_drained(&self) {
        loop {
            let drained = self.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if !self.is_stalling() || self.close_reason().is_some() {
                return;
            }
            drained.await;
        }
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
    fn stall_mark_and_duration_follow_pending_bytes() {
        let out = Outbound::new(1000);
        out.queue(700, |b| b.extend_from_slice(&[0; 700]));
        assert!(!out.is_stalling());
        out.queue(100, |b| b.extend_from_slice(&[0; 100]));
        assert!(out.is_stalling(), "past 3/4 of max pending");
        assert_eq!(out.stall_for(), Duration::from_millis(700));
        let mut spare = BytesMut::new();
        out.take(&mut spare);
        out.written();
        assert!(!out.is_stalling(), "drained by the writer");
        assert_eq!(out.stall_for(), STALL_MIN);
    }

    /// A socket that takes at most `take` bytes per call (0: would block).
    struct FakeSocket {
        written: Mutex<Vec<u8>>,
        take: std::sync::atomic::AtomicUsize,
    }

    impl DirectWrite for FakeSocket {
        fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
            let n = bytes.len().min(self.take.load(Ordering::Relaxed));
            if n == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.written.lock().extend_from_slice(&bytes[..n]);
            Ok(n)
        }
    }

    fn fake(take: usize) -> Arc<FakeSocket> {
        Arc::new(FakeSocket {
            written: Mutex::new(Vec::new()),
            take: take.into(),
        })
    }

    #[test]
    fn small_batches_are_written_inline_when_the_writer_is_idle() {
        let out = Outbound::new(1 << 20);
        let socket = fake(usize::MAX);
        out.attach_sink(socket.clone());
        out.queue(3, |b| b.extend_from_slice(b"abc"));
        assert!(out.flush_inline());
        assert_eq!(&socket.written.lock()[..], b"abc");
        assert_eq!(out.pending_bytes(), 0);
        assert_eq!(
            out.queue(1, |b| b.extend_from_slice(b"d")),
            Queued::NeedsFlush,
            "an inline flush ends the pending flush request"
        );
    }

    #[test]
    fn inline_writes_never_overtake_bytes_the_writer_holds() {
        let out = Outbound::new(1 << 20);
        let socket = fake(usize::MAX);
        out.attach_sink(socket.clone());
        out.queue(1, |b| b.extend_from_slice(b"1"));
        let mut taken = BytesMut::new();
        out.take(&mut taken);
        out.queue(1, |b| b.extend_from_slice(b"2"));
        assert!(!out.flush_inline(), "the writer still holds 1");
        assert!(socket.written.lock().is_empty());
        out.written();
        assert!(out.flush_inline());
        assert_eq!(&socket.written.lock()[..], b"2");
    }

    #[test]
    fn a_socket_that_blocks_leaves_the_rest_to_the_writer() {
        let out = Outbound::new(1 << 20);
        let socket = fake(2);
        out.attach_sink(socket.clone());
        out.queue(5, |b| b.extend_from_slice(b"hello"));
        socket.take.store(0, Ordering::Relaxed);
        assert!(!out.flush_inline());
        assert_eq!(out.pending_bytes(), 5);
        socket.take.store(2, Ordering::Relaxed);
        // Partial writes continue until the socket would block or the buffer is empty.
        assert!(out.flush_inline());
        assert_eq!(&socket.written.lock()[..], b"hello");
        out.detach_sink();
        out.queue(1, |b| b.extend_from_slice(b"!"));
        assert!(!out.flush_inline(), "detached: only the writer writes");
        let big = vec![0u8; INLINE_MAX_BYTES + 1];
        out.attach_sink(socket.clone());
        out.queue(0, |b| b.extend_from_slice(&big));
        assert!(!out.flush_inline(), "large batches go to the writer");
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
