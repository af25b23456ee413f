//! State shared by every connection: the accounts (each with its subscription index and
//! JetStream), the client registry and the server-wide counters.
//!
//! Locking: `accounts` and `jetstreams` change only at start-up and reload; `clients` is
//! touched only on connect/close. No lock is ever held across an `.await`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;

use crate::account::{Account, GLOBAL_ACCOUNT};
use crate::client::ClientShared;
use crate::jetstream::manager::JetStream;
use crate::options::Options;

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

/// Upper bounds, in seconds, of the fsync latency histogram's buckets (`+Inf` is implied).
pub const FSYNC_BUCKETS_SECONDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];
const FSYNC_BUCKETS_NS: [u64; 14] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
];

/// A latency histogram with fixed buckets: one atomic add per bucket hit, no lock and no
/// allocation per observation. `counts[i]` counts observations in bucket `i` alone (the last
/// slot is `+Inf`); [`Self::snapshot`] makes them cumulative as Prometheus wants.
#[derive(Default)]
pub struct LatencyHistogram {
    counts: [AtomicU64; FSYNC_BUCKETS_NS.len() + 1],
    sum_ns: AtomicU64,
}

/// A histogram read: cumulative bucket counts (the last is `+Inf`, equal to `count`).
pub struct HistogramSnapshot {
    pub cumulative: Vec<u64>,
    pub count: u64,
    pub sum_seconds: f64,
}

impl LatencyHistogram {
    pub fn observe(&self, elapsed: std::time::Duration) {
        let ns = elapsed.as_nanos().min(u128::from(u64::MAX)) as u64;
        let slot = FSYNC_BUCKETS_NS
            .iter()
            .position(|&bound| ns <= bound)
            .unwrap_or(FSYNC_BUCKETS_NS.len());
        self.counts[slot].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
    }

    /// Runs `f` and records how long it took.
    pub fn time<R>(&self, f: impl FnOnce() -> R) -> R {
        let started = Instant::now();
        let result = f();
        self.observe(started.elapsed());
        result
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0u64;
        let cumulative: Vec<u64> = self
            .counts
            .iter()
            .map(|c| {
                running += c.load(Ordering::Relaxed);
                running
            })
            .collect();
        HistogramSnapshot {
            count: running,
            cumulative,
            sum_seconds: self.sum_ns.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

pub struct ServerState {
    /// The options in force: replaced whole by a config reload (SIGHUP), so a reader sees one
    /// consistent snapshot. Read through [`ServerState::opts`].
    opts: arc_swap::ArcSwap<Options>,
    /// Bumped by every reload so connections notice without comparing options.
    opts_generation: AtomicU64,
    /// Tells connections about reloads (carries the new generation).
    reload_tx: tokio::sync::watch::Sender<u64>,
    /// Where the client listener is bound (the real port when 0 was asked for).
    pub client_addr: SocketAddr,
    pub server_id: String,
    pub server_name: String,
    pub started_at: SystemTime,
    pub started_instant: Instant,
    /// Every account by name; `$G` always exists.
    accounts: RwLock<HashMap<String, Arc<Account>>>,
    global: Arc<Account>,
    pub clients: Mutex<HashMap<u64, Arc<ClientShared>>>,
    next_client_id: AtomicU64,
    pub totals: Totals,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// Cancelled when the listener must stop accepting (shutdown or lame duck mode).
    pub stop_accepting: CancellationToken,
    /// JetStream of each account that has it enabled, by account name.
    jetstreams: RwLock<std::collections::BTreeMap<String, Arc<JetStream>>>,
    /// Held while a reload is applied, so two reloads never interleave.
    pub reload_lock: Mutex<()>,
    /// The internal subscriptions that carry imports between accounts.
    pub imports: Mutex<Vec<Arc<crate::subscription::Subscription>>>,
    /// Set once every account's JetStream has restored its streams.
    jetstream_ready: std::sync::atomic::AtomicBool,
    /// Set once lame duck mode starts: INFO then carries `ldm: true`.
    pub lame_duck: std::sync::atomic::AtomicBool,
    /// Latencies of the stream stores' fsyncs (`weir_jetstream_fsync_seconds`).
    pub fsync_latency: Arc<LatencyHistogram>,
    /// JetStream's memory and storage limits as `/jsz` reports them, derived once (as
    /// nats-server does at startup) on first use.
    pub jetstream_max_resources: std::sync::OnceLock<(u64, u64)>,
    /// The most recently closed connections, oldest first, for `/connz?state=closed`
    /// (bounded by `monitor::MAX_CLOSED_CONNECTIONS`).
    pub closed_connections: Mutex<std::collections::VecDeque<Arc<crate::monitor::ConnInfo>>>,
}

impl ServerState {
    pub fn new(opts: Options, client_addr: SocketAddr) -> Self {
        let server_id = crate::ids::server_id();
        let server_name = opts
            .server_name
            .clone()
            .unwrap_or_else(|| server_id.clone());
        let shutdown = CancellationToken::new();
        let global = Account::new(GLOBAL_ACCOUNT);
        let accounts = std::iter::once(global.clone())
            .chain(opts.accounts.iter().map(|a| Account::new(a.name.clone())))
            .map(|a| (a.name.clone(), a))
            .collect();
        ServerState {
            stop_accepting: shutdown.child_token(),
            shutdown,
            opts: arc_swap::ArcSwap::from_pointee(opts),
            opts_generation: AtomicU64::new(0),
            reload_tx: tokio::sync::watch::Sender::new(0),
            client_addr,
            server_id,
            server_name,
            started_at: SystemTime::now(),
            started_instant: Instant::now(),
            accounts: RwLock::new(accounts),
            global,
            clients: Mutex::new(HashMap::new()),
            next_client_id: AtomicU64::new(1),
            totals: Totals::default(),
            jetstreams: RwLock::new(std::collections::BTreeMap::new()),
            jetstream_ready: std::sync::atomic::AtomicBool::new(false),
            imports: Mutex::new(Vec::new()),
            reload_lock: Mutex::new(()),
            lame_duck: std::sync::atomic::AtomicBool::new(false),
            fsync_latency: Arc::default(),
            jetstream_max_resources: std::sync::OnceLock::new(),
            closed_connections: Mutex::new(std::collections::VecDeque::new()),
        }
    }

    /// The options in force now. Cheap: no lock and, usually, no reference count.
    pub fn opts(&self) -> arc_swap::Guard<Arc<Options>> {
        self.opts.load()
    }

    /// The options in force now, as an owned snapshot to keep across awaits.
    pub fn opts_snapshot(&self) -> Arc<Options> {
        self.opts.load_full()
    }

    pub fn opts_generation(&self) -> u64 {
        self.opts_generation.load(Ordering::Acquire)
    }

    /// Installs reloaded options; see `reload` for what may change.
    pub(crate) fn replace_opts(&self, opts: Options) {
        self.opts.store(Arc::new(opts));
        let generation = self.opts_generation.fetch_add(1, Ordering::AcqRel) + 1;
        self.reload_tx.send_replace(generation);
    }

    /// A receiver that wakes when the options are reloaded.
    pub fn reloads(&self) -> tokio::sync::watch::Receiver<u64> {
        self.reload_tx.subscribe()
    }

    pub fn client_port(&self) -> u16 {
        self.client_addr.port()
    }

    pub fn next_client_id(&self) -> u64 {
        self.next_client_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The global account (`$G`).
    pub fn global_account(&self) -> &Arc<Account> {
        &self.global
    }

    pub fn account(&self, name: &str) -> Option<Arc<Account>> {
        self.accounts.read().get(name).cloned()
    }

    /// The account named `name`, created if new (configured accounts, at start or reload).
    pub fn account_or_create(&self, name: &str) -> Arc<Account> {
        if let Some(found) = self.account(name) {
            return found;
        }
        self.accounts
            .write()
            .entry(name.to_string())
            .or_insert_with(|| Account::new(name))
            .clone()
    }

    /// Every account, sorted by name.
    pub fn accounts(&self) -> Vec<Arc<Account>> {
        let mut all: Vec<_> = self.accounts.read().values().cloned().collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Subscriptions over all accounts.
    pub fn subscription_count(&self) -> usize {
        self.accounts
            .read()
            .values()
            .map(|a| a.subscription_count())
            .sum()
    }

    /// The JetStream of `account`, when enabled for it.
    pub fn jetstream(&self, account: &str) -> Option<Arc<JetStream>> {
        self.jetstreams.read().get(account).cloned()
    }

    /// Every account's JetStream, by account name.
    pub fn jetstreams(&self) -> Vec<(String, Arc<JetStream>)> {
        self.jetstreams
            .read()
            .iter()
            .map(|(name, js)| (name.clone(), js.clone()))
            .collect()
    }

    /// Whether JetStream runs on this server (in any account).
    pub fn jetstream_enabled(&self) -> bool {
        !self.jetstreams.read().is_empty()
    }

    pub(crate) fn add_jetstream(&self, account: &str, js: Arc<JetStream>) {
        self.jetstreams.write().insert(account.to_string(), js);
    }

    /// Whether JetStream finished starting (every enabled account restored).
    pub fn jetstream_ready(&self) -> bool {
        self.jetstream_ready.load(Ordering::Acquire)
    }

    pub(crate) fn set_jetstream_ready(&self) {
        self.jetstream_ready.store(true, Ordering::Release);
    }

    pub fn connection_count(&self) -> usize {
        self.clients.lock().len()
    }
}
