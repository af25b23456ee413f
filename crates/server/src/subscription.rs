//! One client subscription, shared between its owner's `subs` map and the subscription index.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::client::ClientShared;

pub struct Subscription {
    pub client: Arc<ClientShared>,
    pub subject: Box<[u8]>,
    pub queue: Option<Box<[u8]>>,
    pub sid: Box<[u8]>,
    /// Auto-unsubscribe limit (`UNSUB <sid> <max>`); 0 means none.
    max_msgs: AtomicU64,
    delivered: AtomicU64,
    /// Set once the subscription has left the index; late deliveries from stale match
    /// results are dropped.
    retired: AtomicBool,
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
        client: Arc<ClientShared>,
        subject: &[u8],
        queue: Option<&[u8]>,
        sid: &[u8],
    ) -> Self {
        Subscription {
            client,
            subject: subject.into(),
            queue: queue.map(Into::into),
            sid: sid.into(),
            max_msgs: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            retired: AtomicBool::new(false),
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
