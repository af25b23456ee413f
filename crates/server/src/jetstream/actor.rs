//! A stream's write path: one task applies every write in order (the seam where a
//! replicated log will later sit), and makes them durable by group commit.
//!
//! Each turn drains *everything* queued, applies it to the store under the write lock,
//! flushes to the OS, releases the lock, fsyncs (unless the lazy `sync_interval` mode is
//! chosen), and only then sends the acknowledgements. Publishes that arrive during an fsync
//! wait in the queue and share the next one, so one fsync covers many publishes.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::RwLock;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use weir_store::{PurgeRequest, Store, SyncBatch};
use weir_subject::SubjectTransform;

use super::admin::{self, AdminError, AdminOp, AdminResult};
use super::dedup::DedupWindow;
use super::ingest::{Entry, IngestQueue, Publish};
use super::pub_ack;
use super::publish_rules::{
    decide, Decision, MsgTtl, Rejection, Rollup, Rules, StreamView, ROLLUP, TTL,
};
use crate::account::AccountScope;
use crate::internal::InternalPublisher;
use crate::options::SyncPolicy;

/// Header naming why a delete marker was placed (ADR-43).
const MARKER_REASON: &str = "Nats-Marker-Reason";
/// The KV operation header (ADR-8); a `PURGE` counts as a delete marker.
const KV_OPERATION: &str = "KV-Operation";

/// `Duration` in Go's `String()` form for whole seconds, as nats-server writes marker TTLs
/// (`5m0s`, `1h0m0s`, `30s`).
pub fn go_duration(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

/// How often the actor expires old messages and dedup entries when idle.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(1);

/// What the write path needs to know of a stream's configuration; replaced on update.
#[derive(Debug, Clone)]
pub struct WriteSettings {
    pub rules: Rules,
    pub duplicate_window: Duration,
    pub no_ack: bool,
    /// `subject_delete_marker_ttl`: when expiry removes the last message on a subject, a
    /// delete marker with this TTL takes its place (ADR-43).
    pub marker_ttl: Option<Duration>,
    /// `subject_transform`: the subject a message is stored under.
    pub transform: Option<Arc<SubjectTransform>>,
    /// `republish`: where stored messages are published again.
    pub republish: Option<Republish>,
    /// Interest retention: the stream's consumers. A publish no consumer wants is
    /// acknowledged (its sequence is used) but not kept, as nats-server does.
    pub interest: Option<std::sync::Weak<super::consumer::ConsumerSet>>,
}

#[derive(Debug, Clone)]
pub struct Republish {
    pub transform: Arc<SubjectTransform>,
    pub headers_only: bool,
}

/// A stored message to republish once it is durable.
struct RepublishMsg {
    subject: Vec<u8>,
    headers: Vec<u8>,
    payload: Bytes,
}

/// What consumers watch: how far the stream is durable, and whether anything was removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamSignal {
    /// Messages up to here are durable and may be delivered.
    pub visible_seq: u64,
    pub first_seq: u64,
    /// Bumped by every purge, delete or expiry, so consumers drop what is gone.
    pub removals: u64,
}

pub struct StreamWriter {
    pub store: Arc<RwLock<Box<dyn Store>>>,
    pub signal: Arc<tokio::sync::watch::Sender<StreamSignal>>,
    pub settings: Arc<RwLock<WriteSettings>>,
    pub ingest: Arc<IngestQueue>,
    pub sync: SyncPolicy,
}

/// The outcome of one publish, turned into its ack once the batch is durable.
enum Outcome {
    Stored(u64),
    /// An admin write; its result travels in `Pending::admin`.
    Admin,
    Duplicate(u64),
    Rejected(Rejection),
    Failed(String),
}

struct Pending {
    reply: Option<Bytes>,
    outcome: Outcome,
    republish: Option<RepublishMsg>,
    /// An admin write's caller and result, answered once the batch is durable.
    admin: Option<(oneshot::Sender<AdminResult>, AdminResult)>,
}

/// State only the actor touches.
struct Tracking {
    dedup: DedupWindow,
    last_msg_id: Option<String>,
}

/// Reads the store only for the checks a publish actually triggers: most publishes need
/// none of it.
struct View<'a> {
    store: &'a dyn Store,
    tracking: &'a Tracking,
}

impl StreamView for View<'_> {
    fn last_seq(&self) -> u64 {
        self.store.state().last_seq
    }
    fn last_msg_id(&self) -> Option<&str> {
        self.tracking.last_msg_id.as_deref()
    }
    fn duplicate_of(&self, msg_id: &str) -> Option<u64> {
        self.tracking.dedup.lookup(msg_id)
    }
    fn last_seq_for_subject(&self, subject: &[u8]) -> u64 {
        self.store.subject_state(subject).map_or(0, |s| s.last_seq)
    }
    fn msgs(&self) -> u64 {
        self.store.state().msgs
    }
    fn bytes(&self) -> u64 {
        self.store.state().bytes
    }
    fn msgs_for_subject(&self, subject: &[u8]) -> u64 {
        self.store.subject_state(subject).map_or(0, |s| s.msgs)
    }
    fn first_size_for_subject(&self, subject: &[u8]) -> u64 {
        let first = self.store.subject_state(subject).map_or(0, |s| s.first_seq);
        match self.store.get(first) {
            Ok(Some(m)) => weir_store::msg_size(m.subject.len(), m.headers.len(), m.payload.len()),
            _ => 0,
        }
    }
}

pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64)
}

impl StreamWriter {
    /// Runs until the ingest queue is closed and drained.
    pub async fn run(self, state: Arc<AccountScope>) {
        let mut tracking = Tracking {
            dedup: DedupWindow::default(),
            last_msg_id: None,
        };
        let mut batch: Vec<Entry> = Vec::new();
        let mut acks = Acks {
            publisher: InternalPublisher::new(state.account.clone()),
            buf: Vec::with_capacity(128),
        };
        // Applied and handed to the OS, waiting for an fsync to start.
        let mut written: Vec<Pending> = Vec::new();
        let mut to_sync: Option<SyncBatch> = None;
        // The fsync in progress on a blocking thread (current-thread runtimes only, see
        // `sync_in_place`) and the outcomes it makes durable. While it runs, the next batch is
        // applied and written. In place, the writer waits in the fsync instead and applies what
        // queued meanwhile right after: group commit either way.
        let mut syncing: Option<(JoinHandle<std::io::Result<()>>, Vec<Pending>, u64)> = None;
        // The last seq applied and flushed: what the next fsync makes durable.
        let mut written_last_seq = self.store.read().state().last_seq;
        let mut lazy_sync = match self.sync {
            SyncPolicy::Interval(every) => Some(tokio::time::interval(every)),
            SyncPolicy::Always => None,
        };
        let mut open = true;
        // block_in_place needs the multi-thread runtime (current-thread ones: some tests).
        let sync_in_place = tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread;
        // Housekeeping runs at least every HOUSEKEEPING_INTERVAL even under a constant
        // publish load (the deadline does not move with each turn), sooner for an expiry.
        let mut last_housekeeping = tokio::time::Instant::now();
        loop {
            // Every write is made durable promptly (acknowledged or not), so consumers, which
            // see only durable messages, never wait on a quiet stream.
            let always = matches!(self.sync, SyncPolicy::Always);
            if syncing.is_none() && (!written.is_empty() || (always && to_sync.is_some())) {
                match to_sync.take() {
                    Some(files) if always && !files.is_empty() && sync_in_place => {
                        // The fsync starts at once on this thread (the runtime hands this
                        // worker's other tasks to another thread alongside) and the acks go
                        // out the moment it returns: no wake-up of another thread stands
                        // between write, fsync and ack (about 100 µs of a single publisher's
                        // round trip on a VM). Publishes arriving meanwhile queue up and share
                        // the next fsync.
                        let timer = state.fsync_latency.clone();
                        let done = tokio::task::block_in_place(|| timer.time(|| files.sync()));
                        let durable = std::mem::take(&mut written);
                        self.finish_sync(
                            &state,
                            &mut acks,
                            done.map_err(|e| e.to_string()),
                            durable,
                            written_last_seq,
                        );
                    }
                    Some(files) if always && !files.is_empty() => {
                        let timer = state.fsync_latency.clone();
                        let job = tokio::task::spawn_blocking(move || timer.time(|| files.sync()));
                        syncing = Some((job, std::mem::take(&mut written), written_last_seq));
                    }
                    // Nothing to make durable (memory storage, or only rejections).
                    other => {
                        if !always {
                            to_sync = other;
                        }
                        self.signal_visible(written_last_seq);
                        acks.send(&state, &self.settings, std::mem::take(&mut written));
                    }
                }
            }
            if !open && syncing.is_none() && written.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until(
                    (last_housekeeping + HOUSEKEEPING_INTERVAL)
                        .min(tokio::time::Instant::now() + self.until_housekeeping()),
                ) => {
                    let markers = self.housekeeping(&mut tracking);
                    last_housekeeping = tokio::time::Instant::now();
                    if !markers.is_empty() {
                        // Delete markers are stored like publishes (ADR-43: nats-server
                        // proposes them through the stream's publish path), so they are made
                        // durable, shown to consumers and republished the same way.
                        let first_new = written.len();
                        for marker in markers {
                            self.apply_marker(&marker, &mut tracking, &mut written);
                        }
                        self.flush_written(
                            &mut written,
                            first_new,
                            &mut to_sync,
                            &mut written_last_seq,
                            &mut acks,
                            &state,
                        );
                    }
                }
                done = async { (&mut syncing.as_mut().expect("guarded").0).await }, if syncing.is_some() => {
                    let Some((_, durable, durable_last_seq)) = syncing.take() else { continue };
                    let done = match done {
                        Ok(Ok(())) => Ok(()),
                        Ok(Err(err)) => Err(err.to_string()),
                        Err(err) => Err(err.to_string()),
                    };
                    self.finish_sync(&state, &mut acks, done, durable, durable_last_seq);
                }
                more = self.ingest.drain_into(&mut batch), if open => {
                    if !more {
                        open = false;
                        continue;
                    }
                    let first_new = written.len();
                    let removed = self.apply_batch(&mut batch, &mut tracking, &mut written);
                    if removed {
                        self.signal.send_modify(|s| s.removals += 1);
                    }
                    self.flush_written(
                        &mut written,
                        first_new,
                        &mut to_sync,
                        &mut written_last_seq,
                        &mut acks,
                        &state,
                    );
                }
                _ = async { lazy_sync.as_mut().expect("guarded").tick().await }, if lazy_sync.is_some() => {
                    if let Some(files) = to_sync.take() {
                        let timer = state.fsync_latency.clone();
                        let job = tokio::task::spawn_blocking(move || timer.time(|| files.sync()));
                        if let Err(err) = job.await {
                            tracing::error!("stream sync failed: {err}");
                        }
                    }
                }
            }
        }
        if let Err(err) = self.flush_and_sync(&state).await {
            tracing::error!("final stream sync failed: {err}");
        }
        if let Some(files) = to_sync.take() {
            let timer = state.fsync_latency.clone();
            let _ = tokio::task::spawn_blocking(move || timer.time(|| files.sync())).await;
        }
    }

    fn apply_batch(
        &self,
        batch: &mut Vec<Entry>,
        tracking: &mut Tracking,
        pending: &mut Vec<Pending>,
    ) -> bool {
        let mut removed = false;
        let mut settings = self.settings.read().clone();
        let now = now_ns();
        let mut store = self.store.write();
        for entry in batch.drain(..) {
            let publish = match entry {
                Entry::Publish(publish) => publish,
                Entry::Admin(AdminOp { kind, done }) => {
                    // Purge and delete remove messages; so may a config with tighter limits.
                    removed = true;
                    let result = admin::apply(store.as_mut(), &mut settings, kind);
                    if matches!(result, Ok(admin::AdminDone::Configured)) {
                        // Later publishes of this batch are checked against the new rules.
                        *self.settings.write() = settings.clone();
                    }
                    pending.push(Pending {
                        reply: None,
                        outcome: Outcome::Admin,
                        republish: None,
                        admin: Some((done, result)),
                    });
                    continue;
                }
            };
            let (outcome, republish) =
                apply_one(store.as_mut(), &settings, tracking, &publish, now);
            let reply = publish.reply.filter(|r| !settings.no_ack && !r.is_empty());
            if reply.is_some() || republish.is_some() {
                pending.push(Pending {
                    reply,
                    outcome,
                    republish,
                    admin: None,
                });
            }
        }
        removed
    }

    /// Hands what the last apply wrote to the OS; `written[first_new..]` fail if that fails.
    /// In the lazy `sync_interval` mode they are acknowledged at once (the timer fsyncs).
    fn flush_written(
        &self,
        written: &mut Vec<Pending>,
        first_new: usize,
        to_sync: &mut Option<SyncBatch>,
        written_last_seq: &mut u64,
        acks: &mut Acks,
        state: &AccountScope,
    ) {
        *written_last_seq = self.store.read().state().last_seq;
        match self.store.write().flush() {
            Ok(files) => match to_sync {
                Some(pending_files) => pending_files.merge(files),
                None => *to_sync = Some(files),
            },
            Err(err) => {
                // Nothing of this batch may be acknowledged as stored.
                tracing::error!("stream write failed: {err}");
                fail_stored(&mut written[first_new..], &err.to_string());
            }
        }
        if matches!(self.sync, SyncPolicy::Interval(_)) {
            self.signal_visible(*written_last_seq);
            acks.send(state, &self.settings, std::mem::take(written));
        }
    }

    /// Stores a delete marker as a publish on its (already stored) subject: no subject
    /// transform, no reply; republished like any stored message.
    fn apply_marker(&self, marker: &Publish, tracking: &mut Tracking, pending: &mut Vec<Pending>) {
        let settings = self.settings.read().clone();
        let mut store = self.store.write();
        let (outcome, republish) = store_and_republish(
            store.as_mut(),
            &settings,
            tracking,
            marker,
            &marker.subject,
            now_ns(),
        );
        let subject = String::from_utf8_lossy(&marker.subject);
        match &outcome {
            // As a publish would be (a sealed stream, discard-new limits).
            Outcome::Rejected(why) => tracing::debug!(
                stream = %settings.rules.stream,
                "delete marker on {subject} not stored: {why}"
            ),
            Outcome::Failed(why) => tracing::error!(
                stream = %settings.rules.stream,
                "storing the delete marker on {subject} failed: {why}"
            ),
            _ => {}
        }
        if republish.is_some() {
            pending.push(Pending {
                reply: None,
                outcome,
                republish,
                admin: None,
            });
        }
    }

    /// Tells consumers that messages up to `last_seq` are durable (and may be delivered).
    /// Called before the publish acks go out: a client that has its ack and then asks for
    /// consumer info must see the message counted (acks may be written inline, at once).
    fn signal_visible(&self, last_seq: u64) {
        let first_seq = self.store.read().state().first_seq;
        self.signal.send_if_modified(|s| {
            let changed = s.visible_seq != last_seq || s.first_seq != first_seq;
            s.visible_seq = s.visible_seq.max(last_seq);
            s.first_seq = first_seq;
            changed
        });
    }

    /// Makes a finished fsync's outcomes visible and acknowledges them (as failures if the
    /// fsync failed: their bytes are not known to be on disk).
    fn finish_sync(
        &self,
        state: &AccountScope,
        acks: &mut Acks,
        done: Result<(), String>,
        mut durable: Vec<Pending>,
        durable_last_seq: u64,
    ) {
        if let Err(why) = done {
            tracing::error!("stream fsync failed: {why}");
            fail_stored(&mut durable, &why);
        }
        self.signal_visible(durable_last_seq);
        acks.send(state, &self.settings, durable);
    }

    /// Flushes under the lock, fsyncs without it.
    async fn flush_and_sync(&self, state: &AccountScope) -> Result<(), String> {
        let batch = self.store.write().flush().map_err(|e| e.to_string())?;
        if batch.is_empty() {
            return Ok(());
        }
        let timer = state.fsync_latency.clone();
        tokio::task::spawn_blocking(move || timer.time(|| batch.sync()))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    /// Until the store's next message expiry, but at least every HOUSEKEEPING_INTERVAL
    /// (dedup entries expire too).
    fn until_housekeeping(&self) -> Duration {
        let next = self.store.read().next_expiry_ns();
        match next {
            Some(at_ns) => {
                let wait_ns = at_ns.saturating_sub(now_ns()).max(0) as u64;
                Duration::from_nanos(wait_ns).clamp(Duration::from_millis(1), HOUSEKEEPING_INTERVAL)
            }
            None => HOUSEKEEPING_INTERVAL,
        }
    }

    /// Expires messages and dedup entries, compacts; returns the delete markers to store
    /// (ADR-43) for subjects that expiry left empty.
    fn housekeeping(&self, tracking: &mut Tracking) -> Vec<Publish> {
        let now = now_ns();
        let window = self.settings.read().duplicate_window;
        tracking
            .dedup
            .expire(now, i64::try_from(window.as_nanos()).unwrap_or(i64::MAX));
        let marker_ttl = self.settings.read().marker_ttl;
        let mut store = self.store.write();
        // One mostly-deleted segment rewritten per tick at most, off the publish path.
        match store.compact() {
            Ok(report) if report.segments > 0 => tracing::debug!(
                stream = %self.settings.read().rules.stream,
                "compacted {} segment(s): {} -> {} bytes",
                report.segments,
                report.bytes_before,
                report.bytes_after
            ),
            Ok(_) => {}
            Err(err) => tracing::error!("compacting the stream failed: {err}"),
        }
        let expired = match store.expire(now) {
            Ok(expired) => expired,
            Err(err) => {
                tracing::error!("expiring messages failed: {err}");
                return Vec::new();
            }
        };
        if !expired.is_empty() {
            self.signal.send_modify(|s| {
                s.removals += 1;
                s.first_seq = store.state().first_seq;
            });
        }
        let Some(ttl) = marker_ttl else {
            return Vec::new();
        };
        // nats-server 2.14 (`handleRemovalOrSdm`): the last message of a subject, whether
        // removed by max_age or by its own TTL, gets a `MaxAge` marker with the stream's
        // marker TTL and a subject roll-up, unless it is itself a marker (one with
        // `Nats-Marker-Reason`, or a KV purge) — markers expire without replacement.
        let headers = format!(
            "NATS/1.0\r\n{MARKER_REASON}: MaxAge\r\n{TTL}: {}\r\n{ROLLUP}: sub\r\n\r\n",
            go_duration(ttl)
        );
        let headers = Bytes::from(headers);
        expired
            .into_iter()
            .filter(|msg| {
                msg.last_headers
                    .as_deref()
                    .is_some_and(|h| !is_delete_marker(h))
                    && store.subject_state(&msg.subject).is_none()
            })
            .map(|msg| Publish {
                subject: msg.subject,
                reply: None,
                headers: headers.clone(),
                payload: Bytes::new(),
            })
            .collect()
    }
}

/// nats-server's test for a message that needs no delete marker when it expires: it has a
/// `Nats-Marker-Reason` or is a KV purge (`KV-Operation: PURGE`).
fn is_delete_marker(headers: &[u8]) -> bool {
    let Ok(block) = weir_protocol::parse_headers(headers) else {
        return false;
    };
    block.get(MARKER_REASON).is_some_and(|v| !v.is_empty())
        || block
            .get(KV_OPERATION)
            .is_some_and(|v| v == b"PURGE".as_slice())
}

/// Turns every stored outcome into a failure: their bytes are not known to be durable.
fn fail_stored(outcomes: &mut [Pending], why: &str) {
    for p in outcomes {
        if matches!(p.outcome, Outcome::Stored(_)) {
            p.outcome = Outcome::Failed(why.to_string());
        }
        if let Some((_, result)) = &mut p.admin {
            if result.is_ok() {
                *result = Err(AdminError::Store(why.to_string()));
            }
        }
    }
}

/// Sends acks and republished copies, waking each receiver once per call.
struct Acks {
    publisher: InternalPublisher,
    buf: Vec<u8>,
}

impl Acks {
    fn send(&mut self, state: &AccountScope, settings: &RwLock<WriteSettings>, done: Vec<Pending>) {
        if done.is_empty() {
            return;
        }
        let stream = settings.read().rules.stream.clone();
        for p in done {
            if let Some((caller, result)) = p.admin {
                // The caller may have given up waiting; the write stands regardless.
                let _ = caller.send(result);
                continue;
            }
            if let (Some(msg), Outcome::Stored(_)) = (&p.republish, &p.outcome) {
                self.publisher
                    .publish(state, &msg.subject, None, Some(&msg.headers), &msg.payload);
            }
            let Some(reply) = p.reply else {
                continue;
            };
            let ack = &mut self.buf;
            ack.clear();
            match &p.outcome {
                Outcome::Stored(seq) => pub_ack::ok(ack, &stream, *seq, false),
                Outcome::Duplicate(seq) => pub_ack::ok(ack, &stream, *seq, true),
                Outcome::Rejected(rejection) => pub_ack::rejection(ack, &stream, rejection),
                Outcome::Admin => continue,
                Outcome::Failed(why) => pub_ack::error(
                    ack,
                    &stream,
                    pub_ack::ApiCode {
                        code: 503,
                        err_code: 10077,
                    },
                    why,
                ),
            }
            self.publisher.publish(state, &reply, None, None, ack);
        }
        self.publisher.finish();
    }
}

fn apply_one(
    store: &mut dyn Store,
    settings: &WriteSettings,
    tracking: &mut Tracking,
    publish: &Publish,
    now: i64,
) -> (Outcome, Option<RepublishMsg>) {
    let mut transformed = Vec::new();
    let subject: &[u8] = match &settings.transform {
        Some(t) if t.apply_to(&publish.subject, &mut transformed) => &transformed,
        _ => &publish.subject,
    };
    store_and_republish(store, settings, tracking, publish, subject, now)
}

/// Stores `publish` under `subject` (already transformed) and builds its republished copy.
fn store_and_republish(
    store: &mut dyn Store,
    settings: &WriteSettings,
    tracking: &mut Tracking,
    publish: &Publish,
    subject: &[u8],
    now: i64,
) -> (Outcome, Option<RepublishMsg>) {
    match store_one(store, settings, tracking, publish, subject, now) {
        Ok((seq, last_on_subject)) => {
            let republish = settings.republish.as_ref().and_then(|r| {
                republish_msg(r, settings, publish, subject, seq, last_on_subject, now)
            });
            (Outcome::Stored(seq), republish)
        }
        Err(outcome) => (outcome, None),
    }
}

/// The republished copy: original headers, then nats-server's (ADR-28).
fn republish_msg(
    republish: &Republish,
    settings: &WriteSettings,
    publish: &Publish,
    subject: &[u8],
    seq: u64,
    last_on_subject: u64,
    now: i64,
) -> Option<RepublishMsg> {
    let mut dest = Vec::new();
    if !republish.transform.apply_to(subject, &mut dest) {
        return None;
    }
    let mut headers = super::open_header_block(&publish.headers);
    headers.extend_from_slice(
        format!(
            "Nats-Stream: {}\r\nNats-Subject: {}\r\nNats-Sequence: {seq}\r\nNats-Last-Sequence: {last_on_subject}\r\nNats-Time-Stamp: {}\r\n",
            settings.rules.stream,
            String::from_utf8_lossy(subject),
            super::time_text(now),
        )
        .as_bytes(),
    );
    let payload = if republish.headers_only {
        headers
            .extend_from_slice(format!("Nats-Msg-Size: {}\r\n", publish.payload.len()).as_bytes());
        Bytes::new()
    } else {
        publish.payload.clone()
    };
    headers.extend_from_slice(b"\r\n");
    Some(RepublishMsg {
        subject: dest,
        headers,
        payload,
    })
}

/// Decides and stores one publish under `subject`; returns its sequence and the previous
/// last sequence on that subject.
fn store_one(
    store: &mut dyn Store,
    settings: &WriteSettings,
    tracking: &mut Tracking,
    publish: &Publish,
    subject: &[u8],
    now: i64,
) -> Result<(u64, u64), Outcome> {
    let headers = if publish.headers.is_empty() {
        None
    } else {
        weir_protocol::parse_headers(&publish.headers).ok()
    };
    let view = View {
        store: &*store,
        tracking,
    };
    let accepted = match decide(
        &settings.rules,
        &view,
        subject,
        headers.as_ref(),
        (publish.headers.len() + publish.payload.len()) as u64,
    ) {
        Err(rejection) => return Err(Outcome::Rejected(rejection)),
        Ok(Decision::Duplicate { seq }) => return Err(Outcome::Duplicate(seq)),
        Ok(Decision::Store(accepted)) => accepted,
    };
    let ttl_ns = accepted.ttl.map(|ttl| match ttl {
        MsgTtl::Never => -1,
        MsgTtl::After(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
    });
    // Only republish reports it (Nats-Last-Sequence).
    let last_on_subject = if settings.republish.is_some() {
        store.subject_state(subject).map_or(0, |s| s.last_seq)
    } else {
        0
    };
    let seq = match store.append(subject, &publish.headers, &publish.payload, now, ttl_ns) {
        Ok(seq) => seq,
        Err(err) => return Err(Outcome::Failed(err.to_string())),
    };
    if let Some(id) = &accepted.msg_id {
        tracking.dedup.record(id, seq, now);
    }
    let unwanted = settings.interest.as_ref().is_some_and(|set| {
        set.upgrade()
            .is_none_or(|set| !set.all().iter().any(|c| c.wants(subject)))
    });
    if unwanted {
        if let Err(err) = store.delete(seq, false) {
            tracing::error!("dropping seq {seq} without interest failed: {err}");
        }
    }
    // A message without an id resets the last id, as in nats-server.
    tracking.last_msg_id = accepted.msg_id;
    let rollup = match accepted.rollup {
        None => Ok(0),
        Some(Rollup::Subject) => store.purge(&PurgeRequest {
            filter: Some(Bytes::copy_from_slice(subject)),
            up_to_seq: Some(seq),
            keep: None,
        }),
        Some(Rollup::All) => store.purge(&PurgeRequest {
            filter: None,
            up_to_seq: Some(seq),
            keep: None,
        }),
    };
    if let Err(err) = rollup {
        tracing::error!("rollup at seq {seq} failed: {err}");
    }
    Ok((seq, last_on_subject))
}
