//! Pull requests waiting for messages (nats-server's wait queue). Requests are served
//! round-robin, one message at a time, so competing workers share a consumer fairly.

use std::collections::VecDeque;

use bytes::Bytes;

/// A pull request as the engine sees it (the server has validated it against the config).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PullRequest {
    /// Where messages and status replies go.
    pub reply: Bytes,
    pub batch: u64,
    /// 0: no byte limit.
    pub max_bytes: u64,
    /// Unix ns after which the request ends with `408 Request Timeout`; None: never.
    pub expires_at_ns: Option<i64>,
    pub no_wait: bool,
    /// Idle heartbeat interval in ns; 0: none.
    pub heartbeat_ns: i64,
    /// Overflow policy: serve only while num_pending >= this (0: no condition).
    pub min_pending: u64,
    /// Overflow policy: serve only while num_ack_pending >= this (0: no condition).
    pub min_ack_pending: u64,
    /// Pinned-client policy: the pin id the client holds (empty: none).
    pub pin_id: String,
    /// Prioritized policy: 0 (first) to 9.
    pub priority: u8,
}

#[derive(Debug, Clone)]
pub struct Waiting {
    pub req: PullRequest,
    pub msgs_left: u64,
    pub bytes_left: u64,
    pub delivered: u64,
    pub next_heartbeat_ns: i64,
}

impl Waiting {
    /// `Nats-Pending-Messages` / `Nats-Pending-Bytes` of this request.
    pub fn pending_headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Nats-Pending-Messages", self.msgs_left.to_string()),
            ("Nats-Pending-Bytes", self.bytes_left.to_string()),
        ]
    }
}

/// Bounded queue of waiting requests.
#[derive(Debug, Clone)]
pub struct WaitQueue {
    queue: VecDeque<Waiting>,
    max: usize,
}

impl WaitQueue {
    pub fn new(max: usize) -> Self {
        WaitQueue {
            queue: VecDeque::new(),
            max: max.max(1),
        }
    }

    pub fn set_max(&mut self, max: usize) {
        self.max = max.max(1);
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.queue.len() >= self.max
    }

    pub fn push(&mut self, req: PullRequest, now_ns: i64) {
        let next_heartbeat_ns = if req.heartbeat_ns > 0 {
            now_ns.saturating_add(req.heartbeat_ns)
        } else {
            i64::MAX
        };
        self.queue.push_back(Waiting {
            msgs_left: req.batch,
            bytes_left: req.max_bytes,
            delivered: 0,
            next_heartbeat_ns,
            req,
        });
    }

    /// The request that receives the next message.
    pub fn front(&self) -> Option<&Waiting> {
        self.queue.front()
    }

    pub fn get(&self, index: usize) -> Option<&Waiting> {
        self.queue.get(index)
    }

    pub fn get_mut(&mut self, index: usize) -> Option<&mut Waiting> {
        self.queue.get_mut(index)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Waiting> {
        self.queue.iter()
    }

    /// The first request (in round-robin order) that `eligible` accepts.
    pub fn position(&self, eligible: impl Fn(&Waiting) -> bool) -> Option<usize> {
        self.queue.iter().position(eligible)
    }

    pub fn remove(&mut self, index: usize) -> Option<Waiting> {
        self.queue.remove(index)
    }

    /// Removes the requests `reject` picks (for example those holding a stale pin id).
    pub fn take_where(&mut self, reject: impl Fn(&Waiting) -> bool) -> Vec<Waiting> {
        let mut out = Vec::new();
        self.queue.retain(|w| {
            let gone = reject(w);
            if gone {
                out.push(w.clone());
            }
            !gone
        });
        out
    }

    /// Removes the front request (its batch was cut short).
    pub fn pop_front(&mut self) -> Option<Waiting> {
        self.queue.pop_front()
    }

    /// Charges one delivered message of `size` bytes to the front request, then rotates it
    /// to the back if it wants more; returns it if its batch is complete.
    pub fn charge_front(&mut self, size: u64, now_ns: i64) -> Option<Waiting> {
        self.charge(0, size, now_ns)
    }

    /// `charge_front` for the request at `index`.
    pub fn charge(&mut self, index: usize, size: u64, now_ns: i64) -> Option<Waiting> {
        let mut w = self.queue.remove(index)?;
        w.msgs_left = w.msgs_left.saturating_sub(1);
        if w.req.max_bytes > 0 {
            w.bytes_left = w.bytes_left.saturating_sub(size);
        }
        w.delivered += 1;
        if w.req.heartbeat_ns > 0 {
            w.next_heartbeat_ns = now_ns.saturating_add(w.req.heartbeat_ns);
        }
        if w.msgs_left == 0 || (w.req.max_bytes > 0 && w.bytes_left == 0) {
            return Some(w);
        }
        self.queue.push_back(w);
        None
    }

    /// Removes requests whose `expires` passed.
    pub fn take_expired(&mut self, now_ns: i64) -> Vec<Waiting> {
        let mut out = Vec::new();
        self.queue.retain(|w| {
            let expired = w.req.expires_at_ns.is_some_and(|at| at <= now_ns);
            if expired {
                out.push(w.clone());
            }
            !expired
        });
        out
    }

    /// Removes no-wait requests: called once nothing more can be delivered now.
    pub fn take_no_wait(&mut self) -> Vec<Waiting> {
        let mut out = Vec::new();
        self.queue.retain(|w| {
            if w.req.no_wait {
                out.push(w.clone());
            }
            !w.req.no_wait
        });
        out
    }

    /// Requests due a heartbeat at `now_ns`; their next one is scheduled.
    pub fn heartbeats_due(&mut self, now_ns: i64) -> Vec<Bytes> {
        let mut out = Vec::new();
        for w in &mut self.queue {
            if w.next_heartbeat_ns <= now_ns {
                out.push(w.req.reply.clone());
                w.next_heartbeat_ns = now_ns.saturating_add(w.req.heartbeat_ns);
            }
        }
        out
    }

    /// Every request, for a consumer that is going away.
    pub fn drain(&mut self) -> Vec<Waiting> {
        self.queue.drain(..).collect()
    }

    /// Earliest expiry or heartbeat.
    pub fn next_event_ns(&self) -> Option<i64> {
        self.queue
            .iter()
            .flat_map(|w| [w.req.expires_at_ns.unwrap_or(i64::MAX), w.next_heartbeat_ns])
            .filter(|t| *t != i64::MAX)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(reply: &'static str, batch: u64) -> PullRequest {
        PullRequest {
            reply: Bytes::from_static(reply.as_bytes()),
            batch,
            max_bytes: 0,
            expires_at_ns: Some(100),
            ..PullRequest::default()
        }
    }

    #[test]
    fn round_robin_and_completion() {
        let mut q = WaitQueue::new(10);
        q.push(req("a", 2), 0);
        q.push(req("b", 1), 0);
        assert_eq!(&q.front().unwrap().req.reply[..], b"a");
        assert!(q.charge_front(10, 0).is_none(), "a wants one more");
        assert_eq!(&q.front().unwrap().req.reply[..], b"b");
        let done = q.charge_front(10, 0).unwrap();
        assert_eq!(&done.req.reply[..], b"b");
        let done = q.charge_front(10, 0).unwrap();
        assert_eq!((&done.req.reply[..], done.delivered), (&b"a"[..], 2));
        assert!(q.is_empty());
    }

    #[test]
    fn max_bytes_and_expiry() {
        let mut q = WaitQueue::new(2);
        let mut r = req("a", 10);
        r.max_bytes = 100;
        q.push(r, 0);
        assert!(q.charge_front(60, 0).is_none());
        assert_eq!(q.front().unwrap().bytes_left, 40);
        q.push(req("b", 1), 0);
        assert!(q.is_full());
        assert!(q.take_expired(99).is_empty());
        assert_eq!(q.take_expired(100).len(), 2);
    }

    #[test]
    fn heartbeats() {
        let mut q = WaitQueue::new(2);
        let mut r = req("a", 10);
        r.heartbeat_ns = 10;
        q.push(r, 0);
        assert_eq!(q.next_event_ns(), Some(10));
        assert!(q.heartbeats_due(9).is_empty());
        assert_eq!(q.heartbeats_due(10).len(), 1);
        assert_eq!(q.next_event_ns(), Some(20));
    }
}
