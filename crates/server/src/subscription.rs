//! One subscription, shared between its owner and the subscription index. The owner is a
//! client connection, or a handler inside the server (JetStream's API and stream ingest).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use crate::account::Account;
use crate::auth::ClientGuard;
use crate::client::ClientShared;

/// A message as it reaches an internal handler; borrowed from the publisher's read buffer.
pub struct InboundMsg<'a> {
    pub subject: &'a [u8],
    pub reply: Option<&'a [u8]>,
    pub headers: Option<&'a [u8]>,
    pub payload: &'a [u8],
    /// The publishing client (0 for the server itself).
    pub client_id: u64,
}

/// A subscriber inside the server. `deliver` runs on the publisher's task: it must not
/// block (copy what it needs and hand it to its own task through a bounded queue).
pub trait InternalHandler: Send + Sync {
    /// Returns false when the message was not accepted (for example a full queue).
    fn deliver(&self, msg: &InboundMsg<'_>) -> bool;

    /// True when `deliver` may leave work queued for `end_batch` (a consumer's acks are
    /// applied a read's worth at a time). The router calls `end_batch` before it delivers
    /// anything else or answers the client, and when its batch ends, so everything still
    /// takes effect in the order the client sent it.
    fn defers(&self) -> bool {
        false
    }

    /// Does the work `deliver` queued (see `defers`).
    fn end_batch(&self) {}

    /// True for a stream's ingest: a publish it receives is a JetStream publish, whose
    /// refusal is told through a publish-ack error.
    fn stores(&self) -> bool {
        false
    }
}

/// Who receives a subscription's messages.
pub enum Target {
    Client(Arc<ClientShared>),
    Internal(Arc<dyn InternalHandler>),
}

pub struct Subscription {
    pub target: Target,
    /// The account whose index holds it (weak: the index holds the subscription).
    pub account: Weak<Account>,
    /// The owning client's id, or 0 for internal subscriptions (echo and no-responders
    /// decisions compare it with the publisher's).
    pub owner_id: u64,
    pub subject: Box<[u8]>,
    pub queue: Option<Box<[u8]>>,
    pub sid: Box<[u8]>,
    /// Auto-unsubscribe limit (`UNSUB <sid> <max>`); 0 means none.
    max_msgs: AtomicU64,
    delivered: AtomicU64,
    /// Set once the subscription has left the index; late deliveries from stale match
    /// results are dropped.
    retired: AtomicBool,
    /// The owner's permissions, when it has any: deliveries on denied subjects are
    /// filtered, and reply subjects are granted for `allow_responses`.
    pub guard: Option<Arc<ClientGuard>>,
}

/// What a delivery attempt decided.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    Deliver,
    /// Deliver, and this was the last message the auto-unsubscribe limit allows.
    DeliverLast,
    Skip,
}

impl Subscription {
    pub fn new(
        target: Target,
        account: &Arc<Account>,
        subject: &[u8],
        queue: Option<&[u8]>,
        sid: &[u8],
    ) -> Self {
        let owner_id = match &target {
            Target::Client(client) => client.id,
            Target::Internal(_) => 0,
        };
        Subscription {
            target,
            account: Arc::downgrade(account),
            owner_id,
            subject: subject.into(),
            queue: queue.map(Into::into),
            sid: sid.into(),
            max_msgs: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            retired: AtomicBool::new(false),
            guard: None,
        }
    }

    pub fn with_guard(mut self, guard: Option<Arc<ClientGuard>>) -> Self {
        self.guard = guard;
        self
    }

    /// Whether the owner's permissions let a message on `subject` through.
    pub fn permits(&self, subject: &[u8]) -> bool {
        self.guard.as_ref().is_none_or(|guard| {
            !guard
                .permissions()
                .denies_delivery(subject, self.queue.as_deref())
        })
    }

    /// A message with `reply` reached the owner: with `allow_responses` it may answer.
    pub fn delivered_reply(&self, reply: Option<&[u8]>) {
        if let (Some(guard), Some(reply)) = (&self.guard, reply) {
            guard.grant_reply(reply);
        }
    }

    /// Counts one delivery against the auto-unsubscribe limit.
    pub fn admit(&self) -> Admit {
        if self.retired.load(Ordering::Relaxed) {
            return Admit::Skip;
        }
        // Counted even without a limit: `UNSUB <sid> <max>` compares against what was
        // already delivered.
        let n = self.delivered.fetch_add(1, Ordering::Relaxed) + 1;
        let max = self.max_msgs.load(Ordering::Relaxed);
        if max == 0 {
            return Admit::Deliver;
        }
        match n.cmp(&max) {
            std::cmp::Ordering::Less => Admit::Deliver,
            std::cmp::Ordering::Equal => Admit::DeliverLast,
            std::cmp::Ordering::Greater => Admit::Skip,
        }
    }

    /// Sets the auto-unsubscribe limit; returns true when it is already reached.
    pub fn set_max_msgs(&self, max: u64) -> bool {
        self.max_msgs.store(max, Ordering::Relaxed);
        max > 0 && self.delivered.load(Ordering::Relaxed) >= max
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    pub fn client(&self) -> Option<&Arc<ClientShared>> {
        match &self.target {
            Target::Client(client) => Some(client),
            Target::Internal(_) => None,
        }
    }

    /// Marks the subscription gone; returns false if it already was.
    pub fn mark_retired(&self) -> bool {
        !self.retired.swap(true, Ordering::AcqRel)
    }
}

/// An `Arc<Subscription>` compared by identity, as the subscription index needs.
#[derive(Clone)]
pub struct SubRef(pub Arc<Subscription>);

impl PartialEq for SubRef {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::ops::Deref for SubRef {
    type Target = Subscription;
    fn deref(&self) -> &Subscription {
        &self.0
    }
}
