//! Accounts: isolated subject spaces. Each account has its own subscription index (a client
//! of account A never matches a subscription of account B) and, when enabled, its own
//! JetStream (streams, consumers, the `$JS.API` it answers). `$G` is the global account
//! every client joins when no `accounts` block names another.
//!
//! Services inside the server (JetStream) act within one account through an
//! [`AccountScope`]: the server state plus the account, so a publish or an internal
//! subscription always lands in the right subject space.
//!
//! Locking: an account's `subscriptions` is a read-mostly `RwLock` (publishers read,
//! SUB/UNSUB write). No lock is held across an `.await`, and the index lock is never held
//! while another lock is taken (`router::retire` takes the index, then the owner's `subs`
//! map, one after the other).

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use weir_subject::{SubjectError, SubjectIndex};

use crate::internal::InternalPublisher;
use crate::router::retire;
use crate::state::ServerState;
use crate::subscription::{InternalHandler, SubRef, Subscription, Target};

/// The account clients join when no other is configured for them.
pub const GLOBAL_ACCOUNT: &str = "$G";

pub struct Account {
    pub name: String,
    subscriptions: RwLock<SubjectIndex<SubRef>>,
    /// Mirrors `subscriptions.generation()` so publishers can validate their private match
    /// caches without taking the lock.
    generation: AtomicU64,
    /// Payload schemas bound to subjects (`weir asyncapi apply --enforce`).
    pub schemas: crate::schemas::SchemaRegistry,
}

impl Account {
    pub fn new(name: impl Into<String>) -> Arc<Account> {
        Arc::new(Account {
            name: name.into(),
            subscriptions: RwLock::new(SubjectIndex::new()),
            generation: AtomicU64::new(0),
            schemas: crate::schemas::SchemaRegistry::default(),
        })
    }

    pub fn subscriptions_generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Runs `f` with the subscription index locked for reading.
    pub fn with_subscriptions<R>(&self, f: impl FnOnce(&SubjectIndex<SubRef>) -> R) -> R {
        f(&self.subscriptions.read())
    }

    /// Runs `f` with the subscription index locked for writing, then publishes the new
    /// generation so private caches notice the change.
    pub fn mutate_subscriptions<R>(&self, f: impl FnOnce(&mut SubjectIndex<SubRef>) -> R) -> R {
        let mut index = self.subscriptions.write();
        let result = f(&mut index);
        self.generation.store(index.generation(), Ordering::Release);
        result
    }

    /// Whether any subscription (plain or queue) matches `subject`.
    pub fn has_interest(&self, subject: &[u8]) -> bool {
        self.with_subscriptions(|index| !index.match_subject(subject).is_empty())
    }

    pub fn subscription_count(&self) -> usize {
        self.subscriptions.read().len()
    }

    /// Drops every subscription (shutdown): handlers in the index may hold what holds the
    /// account, and clearing breaks such cycles.
    pub fn clear(&self) {
        self.mutate_subscriptions(|index| *index = SubjectIndex::new());
    }
}

/// The server seen from inside one account: what JetStream and other internal services
/// hold. Derefs to the server state for everything that is not about subjects.
pub struct AccountScope {
    pub server: Arc<ServerState>,
    pub account: Arc<Account>,
}

impl Deref for AccountScope {
    type Target = ServerState;
    fn deref(&self) -> &ServerState {
        &self.server
    }
}

impl AccountScope {
    pub fn new(server: Arc<ServerState>, account: Arc<Account>) -> Arc<AccountScope> {
        Arc::new(AccountScope { server, account })
    }

    /// Subscribes a server-side handler to `filter` (optionally in a queue group).
    pub fn subscribe_internal(
        &self,
        filter: &[u8],
        queue: Option<&[u8]>,
        handler: Arc<dyn InternalHandler>,
    ) -> Result<Arc<Subscription>, SubjectError> {
        let sub = Arc::new(Subscription::new(
            Target::Internal(handler),
            &self.account,
            filter,
            queue,
            b"internal",
        ));
        self.account
            .mutate_subscriptions(|index| index.insert(filter, queue, SubRef(sub.clone())))?;
        Ok(sub)
    }

    pub fn unsubscribe_internal(&self, sub: &Arc<Subscription>) {
        retire(sub);
    }

    /// Publishes one message as the server and wakes the receivers' writers at once.
    pub fn publish(
        &self,
        subject: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) {
        let mut publisher = InternalPublisher::new(self.account.clone());
        publisher.publish(&self.server, subject, reply, headers, payload);
        publisher.finish();
    }

    pub fn has_interest(&self, subject: &[u8]) -> bool {
        self.account.has_interest(subject)
    }

    pub fn subscriptions_generation(&self) -> u64 {
        self.account.subscriptions_generation()
    }

    pub fn with_subscriptions<R>(&self, f: impl FnOnce(&SubjectIndex<SubRef>) -> R) -> R {
        self.account.with_subscriptions(f)
    }
}
