//! Consumers inside the server: each is a `weir_consumer::Engine` behind a mutex, driven
//! inline by acks, pull requests and flow-control replies (on the publisher's task, as
//! nats-server does) and by one small task per consumer for timers, stream changes and
//! state persistence.
//!
//! Lock order: a consumer's `inner`, then the stream's store read lock, then its
//! `queued_acks`. Two consumers'
//! `inner` locks are never held together (interest retention checks siblings after
//! releasing its own).

pub mod config;
mod exec;
mod handlers;
mod persist;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Weak};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use weir_consumer::{Engine, PullRequest};
use weir_jsapi::{ConsumerConfig, ConsumerInfo, RetentionPolicy, SequenceInfo, Timestamp};

use super::actor::{now_ns, StreamSignal};
use super::stream::Stream;
use crate::account::AccountScope;
use crate::internal::InternalPublisher;
use crate::subscription::Subscription;

pub use persist::{load_consumers, ConsumerMeta};

/// The consumers of one stream.
#[derive(Default)]
pub struct ConsumerSet {
    pub map: RwLock<BTreeMap<String, Arc<Consumer>>>,
}

impl ConsumerSet {
    pub fn get(&self, name: &str) -> Option<Arc<Consumer>> {
        self.map.read().get(name).cloned()
    }

    pub fn all(&self) -> Vec<Arc<Consumer>> {
        self.map.read().values().cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.map.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes the messages of a workqueue or interest stream that its consumers no longer need:
/// after a consumer of an interest stream is deleted, and after a restart, where an ack may
/// have reached the consumer's state file while its removal (queued to the stream writer) did
/// not reach the stream. Scans only up to the furthest delivered sequence: nothing after it
/// has been acked.
pub fn release_unneeded(entry: &super::manager::StreamEntry) {
    let unneeded = unneeded_seqs(entry);
    if !unneeded.is_empty() {
        entry.stream.remove(unneeded);
    }
}

/// [`release_unneeded`] at restart, before the stream is served: the messages go from the store
/// at once, so no reader sees a message its consumers had acked; the writer then applies the
/// same removals again (no-ops by then) to make them durable and tell the consumers.
pub fn release_unneeded_at_restart(entry: &super::manager::StreamEntry) {
    let unneeded = unneeded_seqs(entry);
    if unneeded.is_empty() {
        return;
    }
    {
        let mut store = entry.stream.store.write();
        for seq in &unneeded {
            if let Err(err) = store.delete(*seq, false) {
                tracing::warn!(stream = %entry.stream.name, seq, "releasing an acked message failed: {err}");
            }
        }
    }
    entry.stream.remove(unneeded);
}

/// The stored messages no consumer of a workqueue or interest stream needs any more.
fn unneeded_seqs(entry: &super::manager::StreamEntry) -> Vec<u64> {
    let retention = entry.config.read().retention;
    if retention == RetentionPolicy::Limits {
        return Vec::new();
    }
    let consumers = entry.consumers.all();
    let Some(up_to) = consumers.iter().map(|c| c.delivered_stream_seq()).max() else {
        return Vec::new();
    };
    // Subjects first, with the store lock released before any consumer lock is taken.
    let stored: Vec<(u64, Bytes)> = {
        let store = entry.stream.store.read();
        let mut seq = store.state().first_seq;
        let mut out = Vec::new();
        while let Ok(Some(msg)) = store.next_matching(seq, None) {
            if msg.seq > up_to {
                break;
            }
            seq = msg.seq + 1;
            out.push((msg.seq, msg.subject));
        }
        out
    };
    stored
        .into_iter()
        .filter(|(seq, subject)| {
            let interested: Vec<&Arc<Consumer>> =
                consumers.iter().filter(|c| c.wants(subject)).collect();
            let needed = interested.iter().any(|c| c.needs_ack(*seq, subject));
            match retention {
                // A workqueue message waits for a consumer; it goes once one has acked it.
                RetentionPolicy::WorkQueue => !interested.is_empty() && !needed,
                _ => !needed,
            }
        })
        .map(|(seq, _)| seq)
        .collect()
}

impl Inner {
    /// Brings the engine up to the stream as it is: new messages (num_pending grows) and
    /// removals (pending entries and the cursor drop what is gone). Runs before every engine
    /// event, so consumer info and ack subjects never lag behind the consumer's task.
    fn follow_stream(&mut self, store: &dyn weir_store::Store, current: StreamSignal) {
        if current == self.seen {
            return;
        }
        let removed =
            (current.first_seq, current.removals) != (self.seen.first_seq, self.seen.removals);
        self.seen = current;
        self.engine.stream_changed(store, removed);
    }
}

/// The engine and what executing its commands needs, under one lock.
struct Inner {
    engine: Engine,
    publisher: InternalPublisher,
    /// Double-ack replies that wait for the state to be persisted.
    confirms: Vec<Bytes>,
    /// The stream signal the engine last followed (see `Inner::follow_stream`).
    seen: StreamSignal,
    /// The engine's command buffer, swapped in and out by `execute`.
    spare_commands: Vec<weir_consumer::Command>,
}

pub struct Consumer {
    pub name: String,
    pub stream_name: String,
    pub config: RwLock<ConsumerConfig>,
    pub created: Timestamp,
    pub stream: Arc<Stream>,
    retention: RetentionPolicy,
    siblings: Weak<ConsumerSet>,
    inner: Mutex<Inner>,
    wake: Notify,
    /// `<stream dir>/obs/<name>` for durable state; None for memory consumers.
    dir: Option<PathBuf>,
    subs: Mutex<Vec<Arc<Subscription>>>,
    /// Acks received but not yet applied (see `handlers::QueuedAck`). Taken last: after
    /// `inner` and the store lock, or alone.
    queued_acks: Mutex<Vec<handlers::QueuedAck>>,
    task: Mutex<Option<JoinHandle<()>>>,
    state: Weak<AccountScope>,
    /// Last pull request or ack (ns), for `inactive_threshold`.
    last_active_ns: AtomicI64,
    /// Last ack received (ns), the ack floor's `last_active`.
    last_ack_ns: AtomicI64,
    stopped: AtomicBool,
}

/// Everything needed to start a consumer.
pub struct ConsumerSpec {
    pub name: String,
    pub config: ConsumerConfig,
    pub created: Timestamp,
    pub stream: Arc<Stream>,
    pub stream_name: String,
    pub retention: RetentionPolicy,
    pub siblings: Weak<ConsumerSet>,
    pub dir: Option<PathBuf>,
}

impl Consumer {
    /// Creates (or, with `restored` state, reopens) a consumer and starts it.
    pub fn start(
        state: &Arc<AccountScope>,
        spec: ConsumerSpec,
        restored: Option<weir_consumer::state::ConsumerState>,
    ) -> Result<Arc<Consumer>, String> {
        let policy = config::policy_of(&spec.stream_name, &spec.name, &spec.config);
        let now = now_ns();
        let mut engine = {
            let store = spec.stream.store.read();
            match restored {
                Some(saved) => {
                    let mut engine = Engine::restored(policy, now);
                    saved.restore_into(&mut engine.tracker, now);
                    engine
                }
                None => Engine::new(policy, config::start_of(&spec.config), &**store, now)
                    .map_err(|e| e.to_string())?,
            }
        };
        let weak_state = Arc::downgrade(state);
        engine.set_reply_interest(Box::new(move |reply| {
            weak_state
                .upgrade()
                .is_none_or(|state| state.has_interest(reply))
        }));
        let paused = spec.config.pause_until.map(|t| t.unix_nanos());
        let signal = *spec.stream.signal.borrow();
        let consumer = Arc::new(Consumer {
            name: spec.name,
            stream_name: spec.stream_name,
            config: RwLock::new(spec.config),
            created: spec.created,
            stream: spec.stream,
            retention: spec.retention,
            siblings: spec.siblings,
            inner: Mutex::new(Inner {
                engine,
                publisher: InternalPublisher::new(state.account.clone()),
                confirms: Vec::new(),
                seen: signal,
                spare_commands: Vec::new(),
            }),
            wake: Notify::new(),
            dir: spec.dir,
            subs: Mutex::new(Vec::new()),
            queued_acks: Mutex::new(Vec::new()),
            task: Mutex::new(None),
            state: Arc::downgrade(state),
            last_active_ns: AtomicI64::new(now),
            last_ack_ns: AtomicI64::new(0),
            stopped: AtomicBool::new(false),
        });
        consumer.inner.lock().engine.set_paused_until(paused);
        handlers::subscribe(state, &consumer).map_err(|e| e.to_string())?;
        consumer.persist_now();
        let task = tokio::spawn(exec::run(consumer.clone()));
        *consumer.task.lock() = Some(task);
        Ok(consumer)
    }

    /// A pull request that passed the config checks.
    pub fn pull(&self, req: PullRequest) {
        self.touch();
        self.with_engine(|engine, store, visible, now| engine.pull(req, store, visible, now));
    }

    /// Applies a changed config (the update rules were checked by the caller).
    pub fn update(&self, cfg: ConsumerConfig) {
        let policy = config::policy_of(&self.stream_name, &self.name, &cfg);
        let paused = cfg.pause_until.map(|t| t.unix_nanos());
        *self.config.write() = cfg;
        {
            let mut inner = self.inner.lock();
            inner.engine.set_policy(policy);
            inner.engine.set_paused_until(paused);
        }
        self.save_meta();
        self.wake.notify_one();
    }

    /// `CONSUMER.RESET`: delivery restarts at `seq` (0: after the ack floor); returns that seq.
    pub fn reset(&self, seq: u64) -> u64 {
        let mut reset_seq = 0;
        self.with_engine(|engine, store, visible, now| {
            reset_seq = engine.reset(seq);
            engine.deliver(store, visible, now);
        });
        reset_seq
    }

    /// `CONSUMER.UNPIN`: the pinned client loses its pin; the next delivery pins anew.
    pub fn unpin(&self) {
        self.with_engine(|engine, store, visible, now| {
            engine.unpin("admin");
            engine.deliver(store, visible, now);
        });
    }

    /// Pauses until `until_ns`, or resumes with None.
    pub fn set_paused(&self, until: Option<Timestamp>) {
        self.config.write().pause_until = until;
        self.inner
            .lock()
            .engine
            .set_paused_until(until.map(|t| t.unix_nanos()));
        self.save_meta();
        self.wake.notify_one();
    }

    pub fn info(&self) -> ConsumerInfo {
        // Acks another connection has queued count as received.
        self.apply_queued_acks();
        let config = self.config.read().clone();
        let now = Timestamp::now();
        // Before taking the consumer's lock: the subscription index is never read under it.
        let bound = !config.deliver_subject.is_empty()
            && self
                .state
                .upgrade()
                .is_some_and(|state| self.has_push_interest(&state));
        let mut info = ConsumerInfo::new(&self.stream_name, config, self.created, now);
        let mut inner = self.inner.lock();
        let signal = *self.stream.signal.borrow();
        let store = self.stream.store.read();
        inner.follow_stream(&**store, signal);
        let engine = &mut inner.engine;
        let (delivered, floor) = engine.positions();
        let last_active = |ns: i64| (ns > 0).then(|| Timestamp::from_unix_nanos(ns));
        let last_delivery_ns = engine
            .tracker
            .pending()
            .map(|(_, p)| p.delivered_ns)
            .max()
            .unwrap_or(0);
        info.delivered = SequenceInfo {
            consumer_seq: delivered.consumer_seq,
            stream_seq: delivered.stream_seq,
            last_active: if delivered.consumer_seq > 0 {
                last_active(last_delivery_ns.max(self.last_active_ns.load(Ordering::Relaxed)))
            } else {
                None
            },
        };
        info.ack_floor = SequenceInfo {
            consumer_seq: floor.consumer_seq,
            stream_seq: floor.stream_seq,
            last_active: if floor.consumer_seq > 0 {
                last_active(self.last_ack_ns.load(Ordering::Relaxed))
            } else {
                None
            },
        };
        info.num_ack_pending = engine.tracker.num_ack_pending() as i64;
        info.num_redelivered = engine.tracker.num_redelivered() as i64;
        info.num_waiting = engine.num_waiting() as i64;
        info.num_pending = engine.num_pending(&**store);
        info.push_bound = !engine.policy().is_pull() && bound;
        if let (Some(group), Some(pin)) = (info.priority_groups.first_mut(), engine.pin()) {
            group.pinned_client_id = pin.id.clone();
            group.pinned_ts = Some(Timestamp::from_unix_nanos(pin.since_ns));
        }
        info
    }

    /// Runs one engine event with the store and the durable position, then executes the
    /// commands it produced.
    fn with_engine(&self, f: impl FnOnce(&mut Engine, &dyn weir_store::Store, u64, i64)) {
        self.with_engine_at(now_ns(), f);
    }

    /// [`Self::with_engine`] at a time the caller already read.
    fn with_engine_at(
        &self,
        now: i64,
        f: impl FnOnce(&mut Engine, &dyn weir_store::Store, u64, i64),
    ) {
        let retention_acks = {
            let mut inner = self.inner.lock();
            let signal = *self.stream.signal.borrow();
            let store = self.stream.store.read();
            inner.follow_stream(&**store, signal);
            let before = inner.engine.next_wakeup_ns();
            f(&mut inner.engine, &**store, signal.visible_seq, now);
            drop(store);
            let after = inner.engine.next_wakeup_ns();
            let acks = self.execute(&mut inner);
            // Wake the task only when it has new work sooner than it planned (an ack, the
            // common event, never makes a deadline earlier) or a double ack awaits its write.
            let sooner = match (before, after) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(b), Some(a)) => a < b,
            };
            if sooner || !inner.confirms.is_empty() {
                self.wake.notify_one();
            }
            acks
        };
        self.apply_retention(retention_acks);
    }

    fn delivered_stream_seq(&self) -> u64 {
        self.inner.lock().engine.tracker.delivered.stream_seq
    }

    fn touch(&self) {
        self.last_active_ns.store(now_ns(), Ordering::Relaxed);
    }

    /// Stops delivery and removes the consumer's subscriptions and task. `deleted`: the
    /// consumer is going away (waiting pull requests get `409 Consumer Deleted` and its
    /// state is removed); otherwise the server is stopping and the state is saved.
    pub async fn stop(&self, deleted: bool) {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return;
        }
        if let Some(state) = self.state.upgrade() {
            let subs: Vec<_> = self.subs.lock().drain(..).collect();
            for sub in subs {
                state.unsubscribe_internal(&sub);
            }
        }
        if !deleted {
            self.apply_queued_acks();
        }
        let task = self.task.lock().take();
        if let Some(task) = task {
            task.abort();
            let _ = task.await;
        }
        {
            let mut inner = self.inner.lock();
            if deleted {
                inner.engine.close(409, "Consumer Deleted");
            } else {
                inner.engine.close(409, "Server Shutdown");
            }
            let _ = self.execute(&mut inner);
        }
        if deleted {
            if let Some(dir) = &self.dir {
                let _ = std::fs::remove_dir_all(dir);
            }
        } else {
            self.persist_now();
        }
    }
}
