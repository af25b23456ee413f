//! The reader task of one client: reads bytes, parses operations with the sans-IO codec and
//! executes them. Publishing happens right here, on the publisher's task: matching
//! subscriptions get the message encoded into their outbound queues, and their writers are
//! woken once per read batch rather than once per message.

use crate::match_cache::MatchCache;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use weir_protocol::{ClientOp, ConnectInfo, Limits, Progress, Publish};
use weir_subject::Matches;

use super::{spin, ClientShared, CloseReason};
use crate::account::Account;
use crate::auth::{self, ClientGuard};
use crate::info;
use crate::router::{retire, Router};
use crate::state::ServerState;
use crate::subscription::{InboundMsg, SubRef, Subscription, Target};
use std::time::Duration;

mod authorize;
use authorize::subscribe_violation;

/// Reads start small so idle connections cost little, and grow while reads fill the buffer.
const READ_BUF_MIN_BYTES: usize = 512;
const READ_BUF_MAX_BYTES: usize = 64 * 1024;
/// Reads smaller than this look like request/reply traffic, worth spinning for.
const SPIN_READ_MAX_BYTES: usize = 4096;
/// Private match cache entries per publisher before it is cleared.
const MATCH_CACHE_MAX_ENTRIES: usize = 1024;

/// What woke the reader.
enum Wake {
    Cancelled,
    /// A reload was published (`false`: the sender is gone).
    Reload(bool),
    AuthTimeout,
    PingTimer,
    Read(std::io::Result<usize>),
}

/// Whether to keep serving after an operation.
enum Flow {
    Continue,
    Close(CloseReason),
}

pub struct Connection {
    state: Arc<ServerState>,
    client: Arc<ClientShared>,
    limits: Limits,
    /// CONNECT seen. Until then nats-server's defaults apply (verbose and pedantic on).
    connected: bool,
    /// CONNECT must authenticate, and nothing else is accepted before it.
    auth_required: bool,
    verbose: bool,
    pedantic: bool,
    echo: bool,
    no_responders: bool,
    pings_out: u32,
    /// When the outstanding server PING was sent, to measure RTT from its PONG.
    ping_sent: Option<std::time::Instant>,
    match_cache: MatchCache,
    /// The accepted CONNECT, kept to re-authenticate after a reload.
    connect: Option<ConnectInfo>,
    /// The options the client was last authenticated under.
    authenticated_under: Option<Arc<crate::options::Options>>,
    /// Enforces the user's permissions; `None` when the server has no authorization.
    guard: Option<Arc<ClientGuard>>,
    /// Reload notifications (the options generation).
    reloads: tokio::sync::watch::Receiver<u64>,
    /// The subject space this client lives in: `$G` until CONNECT names another account.
    account: Arc<Account>,
    router: Router,
    in_msgs: u64,
    in_bytes: u64,
    /// How long to busy-poll for the next read (`spin.rs`); zero turns it off.
    spin_budget: Duration,
    /// The last read was small: the client likely awaits our answer and writes again soon.
    spin_next_read: bool,
}

impl Connection {
    pub fn new(state: Arc<ServerState>, client: Arc<ClientShared>) -> Self {
        // Subscribe before reading the options: a reload in between is then seen, not lost.
        let reloads = state.reloads();
        let opts = state.opts();
        let limits = Limits {
            max_control_line: opts.max_control_line_bytes,
            max_payload: opts.max_payload_bytes,
        };
        let auth_required = auth::enabled(&opts);
        drop(opts);
        Connection {
            connect: None,
            authenticated_under: None,
            guard: None,
            reloads,
            account: state.global_account().clone(),
            limits,
            auth_required,
            connected: false,
            verbose: true,
            pedantic: true,
            echo: true,
            no_responders: false,
            pings_out: 0,
            ping_sent: None,
            match_cache: MatchCache::new(MATCH_CACHE_MAX_ENTRIES),
            router: Router::new(client.id),
            in_msgs: 0,
            in_bytes: 0,
            spin_budget: state.opts().busy_poll,
            spin_next_read: false,
            state,
            client,
        }
    }

    /// Serves the client until it closes. `socket` is the read side of its transport (plain TCP
    /// or TLS).
    pub async fn run<R: AsyncRead + Unpin>(mut self, mut socket: R) {
        self.send_info();
        let reason = self.serve(&mut socket).await;
        self.client.close(reason);
        let reason = self.client.out.close_reason().unwrap_or(reason);
        tracing::debug!(cid = self.client.id, addr = %self.client.addr, ?reason, "Client connection closed");
        self.cleanup(reason);
    }

    async fn serve<R: AsyncRead + Unpin>(&mut self, socket: &mut R) -> CloseReason {
        let mut buf = BytesMut::with_capacity(READ_BUF_MIN_BYTES);
        let mut read_size = READ_BUF_MIN_BYTES;
        // An owned snapshot: a guard must not be held for the connection's lifetime.
        let opts = self.state.opts_snapshot();
        let mut ping = tokio::time::interval_at(
            tokio::time::Instant::now() + opts.ping_interval,
            opts.ping_interval,
        );
        let auth_deadline = tokio::time::sleep(opts.auth_timeout);
        tokio::pin!(auth_deadline);
        let cancel = self.client.cancel.clone();
        loop {
            if buf.capacity() - buf.len() < read_size / 2 {
                buf.reserve(read_size);
            }
            let mut bounded = (&mut *socket).take(read_size as u64);
            let spin = if self.spin_next_read {
                self.spin_budget
            } else {
                Duration::ZERO
            };
            // Pinned here, in this task's own state, and dropped before `self` is used again.
            let event = {
                let wake = std::pin::pin!(async {
                    tokio::select! {
                        biased;
                        _ = cancel.cancelled() => Wake::Cancelled,
                        changed = self.reloads.changed() => Wake::Reload(changed.is_ok()),
                        _ = &mut auth_deadline, if self.auth_required && !self.connected => {
                            Wake::AuthTimeout
                        }
                        _ = ping.tick() => Wake::PingTimer,
                        // Bounded reads: one batch routes at most READ_BUF_MAX_BYTES, so
                        // writers and stalls get their turn however large the buffer has grown.
                        read = bounded.read_buf(&mut buf) => Wake::Read(read),
                    }
                });
                spin::poll_spinning(wake, spin).await
            };
            let read = match event {
                Wake::Cancelled => {
                    return self
                        .client
                        .out
                        .close_reason()
                        .unwrap_or(CloseReason::ServerShutdown);
                }
                Wake::Reload(false) => continue,
                Wake::Reload(true) => {
                    if let Flow::Close(reason) = self.on_reload() {
                        return reason;
                    }
                    self.end_batch();
                    continue;
                }
                Wake::AuthTimeout => {
                    self.send_err("Authentication Timeout");
                    return CloseReason::AuthenticationTimeout;
                }
                Wake::PingTimer => {
                    if let Flow::Close(reason) = self.on_ping_timer() {
                        return reason;
                    }
                    continue;
                }
                Wake::Read(read) => read,
            };
            let n = match read {
                Ok(0) => return CloseReason::ClientClosed,
                Ok(n) => n,
                Err(_) => return CloseReason::ReadError,
            };
            self.client.touch();
            self.spin_next_read = n < SPIN_READ_MAX_BYTES;
            // Grow while reads fill what we offered; shrink back when traffic is light.
            debug_assert!(n <= read_size);
            if n >= read_size && read_size < READ_BUF_MAX_BYTES {
                read_size *= 2;
            } else if n < read_size / 4 && read_size > READ_BUF_MIN_BYTES {
                read_size /= 2;
            }
            loop {
                let flow = self.process(&mut buf);
                self.end_batch();
                if let Flow::Close(reason) = flow {
                    return reason;
                }
                let Some(slow) = self.router.stall_on.take() else {
                    break;
                };
                // Backpressure on a fast producer, bounded so a stuck consumer cannot hold
                // it for long; reads pause, so TCP pushes back on the publisher. Then the
                // rest of the batch.
                let _ = tokio::time::timeout(slow.out.stall_for(), slow.out.wait_drained()).await;
            }
            if buf.is_empty() && buf.capacity() > READ_BUF_MAX_BYTES * 2 {
                buf = BytesMut::with_capacity(read_size);
            }
        }
    }

    /// Executes every complete operation in `buf` and drops the bytes it consumed.
    fn process(&mut self, buf: &mut BytesMut) -> Flow {
        let mut consumed_total = 0;
        let flow = loop {
            match weir_protocol::parse_client_op(&buf[consumed_total..], &self.limits) {
                Ok(Progress::Complete { op, consumed }) => {
                    consumed_total += consumed;
                    if let Flow::Close(reason) = self.execute(op) {
                        break Flow::Close(reason);
                    }
                    if self.router.stall_on.is_some() {
                        break Flow::Continue;
                    }
                }
                Ok(Progress::NeedMore { at_least }) => {
                    let have = buf.len() - consumed_total;
                    if at_least > have {
                        buf.reserve(at_least - have);
                    }
                    break Flow::Continue;
                }
                Err(_) if self.auth_required && !self.connected => {
                    // Before authentication nats-server answers anything unreadable the
                    // same way: no hint about the protocol to an unauthenticated peer.
                    self.send_err("Authorization Violation");
                    break Flow::Close(CloseReason::AuthenticationViolation);
                }
                Err(err) => {
                    if let Some(message) = err.client_message() {
                        self.send_err(message);
                    }
                    tracing::debug!(cid = self.client.id, "client parser error: {err}");
                    if err.closes_connection() {
                        break Flow::Close(CloseReason::ProtocolViolation);
                    }
                    break Flow::Continue;
                }
            }
        };
        buf.advance(consumed_total);
        flow
    }

    fn execute(&mut self, op: ClientOp<'_>) -> Flow {
        if tracing::enabled!(tracing::Level::TRACE) {
            for line in super::trace::lines(&op) {
                tracing::trace!("{} - cid:{} - {line}", self.client.addr, self.client.id);
            }
        }
        if self.auth_required && !self.connected && !matches!(op, ClientOp::Connect(_)) {
            self.send_err("Authorization Violation");
            return Flow::Close(CloseReason::AuthenticationViolation);
        }
        if !matches!(op, ClientOp::Pub(_)) {
            // Queued acks take effect before a SUB, UNSUB or PING that follows them.
            self.router.end_deferred();
        }
        match op {
            ClientOp::Connect(json) => self.on_connect(json),
            ClientOp::Pub(publish) => self.on_pub(publish),
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => self.on_sub(subject, queue, sid),
            ClientOp::Unsub { sid, max_msgs } => self.on_unsub(sid, max_msgs),
            ClientOp::Ping => {
                self.queue_own(weir_protocol::PONG);
                Flow::Continue
            }
            ClientOp::Pong => {
                self.pings_out = 0;
                if let Some(sent) = self.ping_sent.take() {
                    self.set_rtt(sent.elapsed());
                }
                Flow::Continue
            }
            ClientOp::Ok => Flow::Continue,
            // nats-server ignores a client's INFO only when it is valid JSON.
            ClientOp::Info(json) => match serde_json::from_slice::<serde_json::Value>(json) {
                Ok(_) => Flow::Continue,
                Err(_) => Flow::Close(CloseReason::ProtocolViolation),
            },
            // A client reporting an error is done; nats-server closes without a reply.
            ClientOp::Err(text) => {
                tracing::debug!(
                    cid = self.client.id,
                    "client sent -ERR {}",
                    String::from_utf8_lossy(text)
                );
                Flow::Close(CloseReason::ProtocolViolation)
            }
        }
    }

    fn on_connect(&mut self, json: &[u8]) -> Flow {
        // nats-server closes without a word on CONNECT JSON it cannot read.
        let Ok(info) = serde_json::from_slice::<ConnectInfo>(json) else {
            return Flow::Close(CloseReason::ProtocolViolation);
        };
        // Like nats-server, only the first CONNECT authenticates; later ones change options.
        if self.auth_required && !self.connected {
            if let Flow::Close(reason) = self.authenticate(&info) {
                return Flow::Close(reason);
            }
        }
        if info.no_responders && !info.headers {
            self.send_err("no responders requires headers support");
            return Flow::Close(CloseReason::ProtocolViolation);
        }
        self.connected = true;
        self.verbose = info.verbose;
        self.pedantic = info.pedantic;
        self.echo = info.echo;
        self.no_responders = info.no_responders;
        self.client.headers.store(info.headers, Ordering::Relaxed);
        if self.auth_required && self.connect.is_none() {
            self.connect = Some(info.clone());
        }
        *self.client.name.lock() = info.name.clone();
        *self.client.lang.lock() = info.lang.clone();
        *self.client.version.lock() = info.version.clone();
        if self.client.rtt_nanos.load(Ordering::Relaxed) == 0 {
            // Like nats-server: the first RTT is from INFO to CONNECT.
            let since = self.client.connected_at.elapsed().unwrap_or_default();
            self.set_rtt(since);
        }
        self.ok();
        Flow::Continue
    }

    fn on_pub(&mut self, publish: Publish<'_>) -> Flow {
        if publish.headers.is_some() && !self.client.supports_headers() {
            // nats-server drops the connection without an -ERR here.
            return Flow::Close(CloseReason::ProtocolViolation);
        }
        self.in_msgs += 1;
        self.in_bytes += (publish.headers.map_or(0, <[u8]>::len) + publish.payload.len()) as u64;
        if let Some(guard) = &self.guard {
            if !guard.may_publish(publish.subject) {
                let subject = String::from_utf8_lossy(publish.subject);
                self.send_err(&format!(
                    "Permissions Violation for Publish to \"{subject}\""
                ));
                return Flow::Continue;
            }
        }
        if self.pedantic && !weir_subject::is_valid_literal_subject(publish.subject) {
            // Like nats-server, complain but still route the message.
            self.send_err("Invalid Publish Subject");
        }
        self.ok();
        let matches = self.lookup(publish.subject);
        if self.account.schemas.is_active() {
            if let Err(violation) = self.account.schemas.check(publish.subject, publish.payload) {
                self.refuse_payload(&matches, publish.reply, &violation);
                return Flow::Continue;
            }
        }
        let msg = InboundMsg {
            subject: publish.subject,
            reply: publish.reply,
            headers: publish.headers,
            payload: publish.payload,
            client_id: self.client.id,
        };
        let delivered = self.router.route(&self.state, &matches, &msg, self.echo);
        if delivered == 0 && self.no_responders {
            if let Some(reply) = publish.reply {
                self.router
                    .send_no_responders(&self.account, &self.client, reply);
            }
        }
        Flow::Continue
    }

    /// A payload its subject's schema refuses is not routed. A stream would have stored it,
    /// so the publisher hears why through a publish-ack error; a core publish is dropped
    /// (and counted by the registry).
    fn refuse_payload(
        &mut self,
        matches: &Matches<SubRef>,
        reply: Option<&[u8]>,
        violation: &crate::schemas::Violation,
    ) {
        let stored = matches
            .plain
            .iter()
            .any(|sub| matches!(&sub.target, Target::Internal(h) if h.stores()));
        let Some(reply) = reply.filter(|r| !r.is_empty() && stored) else {
            return;
        };
        let ack = crate::schemas::pub_ack_error(violation);
        let to = self.lookup(reply);
        let msg = InboundMsg {
            subject: reply,
            reply: None,
            headers: None,
            payload: &ack,
            client_id: 0,
        };
        self.router.route(&self.state, &to, &msg, true);
    }

    fn on_sub(&mut self, subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) -> Flow {
        if !weir_subject::is_valid_subject(subject) {
            self.send_err("Invalid Subject");
            return Flow::Continue;
        }
        if let Some(guard) = &self.guard {
            if !guard.permissions().may_subscribe(subject, queue) {
                self.send_err(&subscribe_violation(subject, queue));
                return Flow::Continue;
            }
        }
        let max_subscriptions = self.state.opts().max_subscriptions;
        let sub = {
            let mut subs = self.client.subs.lock();
            if subs.contains_key(sid) {
                // nats-server ignores a SUB that reuses a live sid.
                drop(subs);
                self.ok();
                return Flow::Continue;
            }
            if max_subscriptions > 0 && subs.len() >= max_subscriptions {
                // Refused, but the connection stays, as in nats-server.
                drop(subs);
                self.send_err("maximum subscriptions exceeded");
                return Flow::Continue;
            }
            let sub = Arc::new(
                Subscription::new(
                    Target::Client(self.client.clone()),
                    &self.account,
                    subject,
                    queue,
                    sid,
                )
                .with_guard(self.guard.clone()),
            );
            subs.insert(sid.into(), sub.clone());
            sub
        };
        let inserted = self
            .account
            .mutate_subscriptions(|index| index.insert(subject, queue, SubRef(sub.clone())));
        if inserted.is_err() {
            self.client.subs.lock().remove(sid);
            self.send_err("Invalid Subject");
            return Flow::Continue;
        }
        self.ok();
        Flow::Continue
    }

    fn on_unsub(&mut self, sid: &[u8], max_msgs: Option<u64>) -> Flow {
        let sub = self.client.subs.lock().get(sid).cloned();
        if let Some(sub) = sub {
            match max_msgs {
                Some(max) if max > 0 => {
                    if sub.set_max_msgs(max) {
                        retire(&sub);
                    }
                }
                _ => retire(&sub),
            }
        }
        self.ok();
        Flow::Continue
    }

    fn on_ping_timer(&mut self) -> Flow {
        if self.pings_out + 1 > self.state.opts().ping_max {
            self.send_err("Stale Connection");
            return Flow::Close(CloseReason::StaleConnection);
        }
        self.pings_out += 1;
        self.ping_sent = Some(std::time::Instant::now());
        self.client
            .out
            .send_now(|buf| buf.extend_from_slice(weir_protocol::PING));
        Flow::Continue
    }

    fn set_rtt(&self, rtt: std::time::Duration) {
        let nanos = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX).max(1);
        self.client.rtt_nanos.store(nanos, Ordering::Relaxed);
    }

    /// Literal subject → matching subscriptions, through this connection's private cache.
    fn lookup(&mut self, subject: &[u8]) -> Arc<Matches<SubRef>> {
        self.match_cache.lookup(&self.account, subject)
    }

    fn end_batch(&mut self) {
        self.router.finish();
        if self.in_msgs > 0 {
            self.client
                .in_msgs
                .fetch_add(self.in_msgs, Ordering::Relaxed);
            self.client
                .in_bytes
                .fetch_add(self.in_bytes, Ordering::Relaxed);
            self.in_msgs = 0;
            self.in_bytes = 0;
        }
    }

    fn send_info(&mut self) {
        if self.client.info_already_sent() {
            // TLS sent it in plaintext before the handshake.
            return;
        }
        let advertised = auth::required(&self.state.opts());
        let info = info::for_client(&self.state, &self.client, advertised);
        self.client
            .out
            .send_now(|buf| weir_protocol::encode_info(buf, &info));
    }

    fn ok(&mut self) {
        if self.verbose {
            self.queue_own(weir_protocol::OK);
        }
    }

    fn send_err(&mut self, message: &str) {
        if tracing::enabled!(tracing::Level::TRACE) {
            self.trace_reply(format!("-ERR '{message}'").as_bytes());
        }
        self.router
            .queue_to(&self.client, |buf| weir_protocol::encode_err(buf, message));
        self.end_batch();
    }

    fn queue_own(&mut self, bytes: &'static [u8]) {
        self.trace_reply(bytes);
        self.router
            .queue_to(&self.client, |buf| buf.extend_from_slice(bytes));
    }

    fn trace_reply(&self, bytes: &[u8]) {
        if tracing::enabled!(tracing::Level::TRACE) {
            let line = super::trace::reply(bytes);
            tracing::trace!("{} - cid:{} - {line}", self.client.addr, self.client.id);
        }
    }

    /// Removes every subscription of the closed client and folds its counters into the totals.
    fn cleanup(&mut self, reason: CloseReason) {
        self.end_batch();
        // Before the subscriptions go: `/connz?state=closed` lists them.
        crate::monitor::record_closed(&self.state, &self.client, reason);
        let subs: Vec<Arc<Subscription>> =
            self.client.subs.lock().drain().map(|(_, s)| s).collect();
        if !subs.is_empty() {
            // All in the connection's account (it never moves once it has subscriptions).
            debug_assert!(subs.iter().all(|s| s
                .account
                .upgrade()
                .is_some_and(|a| Arc::ptr_eq(&a, &self.account))));
            self.account.mutate_subscriptions(|index| {
                for sub in &subs {
                    if sub.mark_retired() {
                        index.remove(&sub.subject, sub.queue.as_deref(), &SubRef(sub.clone()));
                    }
                }
            });
        }
        self.state.clients.lock().remove(&self.client.id);
        let totals = &self.state.totals;
        totals.in_msgs.fetch_add(
            self.client.in_msgs.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        totals.in_bytes.fetch_add(
            self.client.in_bytes.load(Ordering::Relaxed),
            Ordering::Relaxed,
        );
        let out = self.client.out.lock();
        totals.out_msgs.fetch_add(out.msgs_out, Ordering::Relaxed);
        totals.out_bytes.fetch_add(out.bytes_out, Ordering::Relaxed);
    }
}
