//! State shared by every connection: the subscription index, the client registry and the
//! server-wide counters.
//!
//! Locking: `subscriptions` is a read-mostly `RwLock` (publishers read, SUB/UNSUB write);
//! `clients` is touched only on connect/close. No lock is ever held across an `.await`, and no
//! code path holds two of these locks at once except `subscriptions` → a client's `subs` map,
//! always in that order (see `Subscription::retire`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;
use weir_subject::SubjectIndex;

use crate::client::ClientShared;
use crate::options::Options;
use crate::subscription::SubRef;

/// The nats-server release whose client-observable behaviour Weir implements. Clients gate
/// features on INFO's `version`, so it must name a real nats-server version.
pub const NATS_COMPAT_VERSION: &str = "2.14.0";
/// Weir's own version, reported beside the compatibility version (INFO `weir_version`, `/varz`).
pub const WEIR_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Counters that outlive connections: totals of closed clients are folded in here.
#[derive(Default)]
pub struct Totals {
    pub in_msgs: AtomicU64,
    pub in_bytes: AtomicU64,
    pub out_msgs: AtomicU64,
    pub out_bytes: AtomicU64,
    pub slow_consumers: AtomicU64,
    pub total_connections: AtomicU64,
}

pub struct ServerState {
    pub opts: Options,
    /// Where the client listener is bound (the real port when 0 was asked for).
    pub client_addr: SocketAddr,
    pub server_id: String,
    pub server_name: String,
    pub started_at: SystemTime,
    pub started_instant: Instant,
    subscriptions: RwLock<SubjectIndex<SubRef>>,
    /// Mirrors `subscriptions.generation()` so publishers can validate their private match
    /// caches without taking the lock.
    subscriptions_generation: AtomicU64,
    pub clients: Mutex<HashMap<u64, Arc<ClientShared>>>,
    next_client_id: AtomicU64,
    pub totals: Totals,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Cancelled when the listener must stop accepting (shutdown or lame duck mode).
    pub stop_accepting: CancellationToken,
    /// The JetStream subsystem, when enabled.
    pub jetstream: std::sync::OnceLock<Arc<crate::jetstream::manager::JetStream>>,
    /// Set once lame duck mode starts: INFO then carries `ldm: true`.
    pub lame_duck: std::sync::atomic::AtomicBool,
}

impl ServerState {
    pub fn new(opts: Options, client_addr: SocketAddr) -> Self {
        let server_id = crate::ids::server_id();
        let server_name = opts
            .server_name
            .clone()
            .unwrap_or_else(|| server_id.clone());
        let shutdown = CancellationToken::new();
        ServerState {
            stop_accepting: shutdown.child_token(),
            shutdown,
            opts,
            client_addr,
            server_id,
            server_name,
            started_at: SystemTime::now(),
            started_instant: Instant::now(),
            subscriptions: RwLock::new(SubjectIndex::new()),
            subscriptions_generation: AtomicU64::new(0),
            clients: Mutex::new(HashMap::new()),
            next_client_id: AtomicU64::new(1),
            totals: Totals::default(),
            jetstream: std::sync::OnceLock::new(),
            lame_duck: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn client_port(&self) -> u16 {
        self.client_addr.port()
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn subscriptions_generation(&self) -> u64 {
        self.subscriptions_generation.load(Ordering::Acquire)
    }

    /// Runs `f` with the subscription index locked for reading.
    pub fn with_subscriptions<R>(&self, f: impl FnOnce(&SubjectIndex<SubRef>) -> R) -> R {
        f(&self.subscriptions.read())
    }

    /// Runs `f` with the subscription index locked for writing, then publishes the new
    /// generation so private caches notice the change.
    /// Whether any subscription (plain or queue) matches `subject`.
    pub fn has_interest(&self, subject: &[u8]) -> bool {
        self.with_subscriptions(|index| !index.match_subject(subject).is_empty())
    }

    pub fn mutate_subscriptions<R>(&self, f: impl FnOnce(&mut SubjectIndex<SubRef>) -> R) -> R {
        let mut index = self.subscriptions.write();
        let result = f(&mut index);
        self.subscriptions_generation
            .store(index.generation(), Ordering::Release);
        result
    }

    pub fn subscription_count(&self) -> usize {
        self.subscriptions.read().len()
    }

    pub fn connection_count(&self) -> usize {
        self.clients.lock().len()
    }
}
