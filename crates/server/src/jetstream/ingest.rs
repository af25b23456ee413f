//! The queue between publishers and a stream's actor. Publishers push on their own task
//! (inside the router, so never blocking); the actor drains everything queued in one go,
//! which is what makes group commit work: every publish that arrives while an fsync runs is
//! in the next batch. Bounded by messages and bytes; past either, publishes are refused
//! with an error reply rather than growing memory. Admin writes (purge, delete, config
//! change) share the queue so the actor applies everything in one order; they are few (one
//! at a time from the API worker) and are not refused by the bounds.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::sync::Notify;

use super::admin::AdminOp;
use crate::subscription::InboundMsg;

/// One publish, copied out of the publisher's read buffer into a single allocation.
#[derive(Debug, Clone)]
pub struct Publish {
    pub subject: Bytes,
    pub reply: Option<Bytes>,
    /// The raw header block, empty when none.
    pub headers: Bytes,
    pub payload: Bytes,
}

impl Publish {
    pub fn copy_from(msg: &InboundMsg<'_>) -> Publish {
        let headers = msg.headers.unwrap_or_default();
        let reply = msg.reply.unwrap_or_default();
        let mut buf = BytesMut::with_capacity(
            msg.subject.len() + reply.len() + headers.len() + msg.payload.len(),
        );
        buf.extend_from_slice(msg.subject);
        buf.extend_from_slice(reply);
        buf.extend_from_slice(headers);
        buf.extend_from_slice(msg.payload);
        let mut all = buf.freeze();
        let subject = all.split_to(msg.subject.len());
        let reply_bytes = all.split_to(reply.len());
        let headers = all.split_to(headers.len());
        Publish {
            subject,
            reply: msg.reply.map(|_| reply_bytes),
            headers,
            payload: all,
        }
    }

    pub fn size_bytes(&self) -> usize {
        self.subject.len() + self.headers.len() + self.payload.len()
    }
}

/// One write for the stream's actor, in arrival order.
pub enum Entry {
    Publish(Publish),
    Admin(AdminOp),
}

/// The publish was not queued: the stream is saturated or closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

pub struct IngestQueue {
    inner: Mutex<Inner>,
    wake: Notify,
    max_msgs: usize,
    max_bytes: usize,
    closed: AtomicBool,
}

struct Inner {
    queue: VecDeque<Entry>,
    bytes: usize,
}

impl IngestQueue {
    pub fn new(max_msgs: usize, max_bytes: usize) -> Self {
        IngestQueue {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                bytes: 0,
            }),
            wake: Notify::new(),
            max_msgs,
            max_bytes,
            closed: AtomicBool::new(false),
        }
    }

    /// Queues a publish, unless the queue is full or closed.
    pub fn push(&self, publish: Publish) -> Result<(), QueueFull> {
        if self.closed.load(Ordering::Acquire) {
            return Err(QueueFull);
        }
        let mut inner = self.inner.lock();
        let size = publish.size_bytes();
        if inner.queue.len() >= self.max_msgs || inner.bytes + size > self.max_bytes {
            return Err(QueueFull);
        }
        let was_empty = inner.queue.is_empty();
        inner.bytes += size;
        inner.queue.push_back(Entry::Publish(publish));
        drop(inner);
        if was_empty {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Queues an admin write behind every publish already queued. Refused only once the
    /// queue is closed (the op is handed back so its caller can answer).
    pub fn push_admin(&self, op: AdminOp) -> Result<(), AdminOp> {
        if self.closed.load(Ordering::Acquire) {
            return Err(op);
        }
        let mut inner = self.inner.lock();
        let was_empty = inner.queue.is_empty();
        inner.queue.push_back(Entry::Admin(op));
        drop(inner);
        if was_empty {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Moves everything queued into `batch`; waits while nothing is queued. Returns false
    /// once the queue is closed and empty.
    pub async fn drain_into(&self, batch: &mut Vec<Entry>) -> bool {
        loop {
            {
                let mut inner = self.inner.lock();
                if !inner.queue.is_empty() {
                    batch.extend(inner.queue.drain(..));
                    inner.bytes = 0;
                    return true;
                }
            }
            if self.closed.load(Ordering::Acquire) {
                return false;
            }
            self.wake.notified().await;
        }
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    pub fn len(&self) -> usize {
        self.inner.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(payload: &[u8]) -> Publish {
        Publish::copy_from(&InboundMsg {
            subject: b"orders.new",
            reply: Some(b"_INBOX.1"),
            headers: Some(b"NATS/1.0\r\nA: b\r\n\r\n"),
            payload,
            client_id: 7,
        })
    }

    #[test]
    fn copy_keeps_every_part() {
        let p = msg(b"hello");
        assert_eq!(&p.subject[..], b"orders.new");
        assert_eq!(p.reply.as_deref(), Some(&b"_INBOX.1"[..]));
        assert_eq!(&p.headers[..], b"NATS/1.0\r\nA: b\r\n\r\n");
        assert_eq!(&p.payload[..], b"hello");
        let bare = Publish::copy_from(&InboundMsg {
            subject: b"s",
            reply: None,
            headers: None,
            payload: b"",
            client_id: 0,
        });
        assert!(bare.reply.is_none() && bare.headers.is_empty());
    }

    #[tokio::test]
    async fn bounded_by_count_and_bytes_and_drained_in_one_go() {
        let q = IngestQueue::new(2, 1024);
        assert!(q.push(msg(b"1")).is_ok());
        assert!(q.push(msg(b"2")).is_ok());
        assert!(q.push(msg(b"3")).is_err(), "count bound");
        let mut batch = Vec::new();
        assert!(q.drain_into(&mut batch).await);
        assert_eq!(batch.len(), 2);
        assert!(q.is_empty());
        let q = IngestQueue::new(10, 40);
        assert!(q.push(msg(&[0; 5])).is_ok());
        assert!(q.push(msg(&[0; 5])).is_err(), "byte bound");
        q.close();
        batch.clear();
        assert!(q.drain_into(&mut batch).await, "queued work survives close");
        assert!(!q.drain_into(&mut batch).await);
        assert!(q.push(msg(b"x")).is_err(), "closed");
    }
}
