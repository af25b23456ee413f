//! The reader task of one client: reads bytes, parses operations with the sans-IO codec and
//! executes them. Publishing happens right here, on the publisher's task: matching
//! subscriptions get the message encoded into their outbound queues, and their writers are
//! woken once per read batch rather than once per message.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::{Buf, BytesMut};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use weir_protocol::{ClientOp, ConnectInfo, Limits, Progress, Publish};
use weir_subject::Matches;

use super::{ClientShared, CloseReason, Queued};
use crate::auth;
use crate::info;
use crate::state::ServerState;
use crate::subscription::{Admit, SubRef, Subscription};

/// Reads start small so idle connections cost little, and grow while reads fill the buffer.
const READ_BUF_MIN_BYTES: usize = 512;
const READ_BUF_MAX_BYTES: usize = 64 * 1024;
/// Private match cache entries per publisher before it is cleared.
const MATCH_CACHE_MAX_ENTRIES: usize = 1024;
/// The status a requester gets when nobody is subscribed to the request subject.
const NO_RESPONDERS_HEADERS: &[u8] = b"NATS/1.0 503\r\n\r\n";

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
    auth_required: bool,
    verbose: bool,
    pedantic: bool,
    echo: bool,
    no_responders: bool,
    pings_out: u32,
    match_cache: HashMap<Box<[u8]>, Arc<Matches<SubRef>>>,
    match_cache_generation: u64,
    /// Clients whose writers must be woken at the end of this read batch.
    to_flush: Vec<Arc<ClientShared>>,
    /// Subscriptions that reached their auto-unsubscribe limit during this batch.
    to_retire: Vec<Arc<Subscription>>,
    /// A subscriber this batch pushed past its stall mark: the reader pauses for it.
    stall_on: Option<Arc<ClientShared>>,
    rng_state: u64,
    in_msgs: u64,
    in_bytes: u64,
}

impl Connection {
    pub fn new(state: Arc<ServerState>, client: Arc<ClientShared>) -> Self {
        let limits = Limits {
            max_control_line: state.opts.max_control_line_bytes,
            max_payload: state.opts.max_payload_bytes,
        };
        let auth_required = auth::required(&state.opts);
        Connection {
            limits,
            auth_required,
            connected: false,
            verbose: true,
            pedantic: true,
            echo: true,
            no_responders: false,
            pings_out: 0,
            match_cache: HashMap::new(),
            match_cache_generation: u64::MAX,
            to_flush: Vec::new(),
            to_retire: Vec::new(),
            stall_on: None,
            rng_state: client.id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            in_msgs: 0,
            in_bytes: 0,
            state,
            client,
        }
    }

    pub async fn run(mut self, mut socket: OwnedReadHalf) {
        self.send_info();
        let reason = self.serve(&mut socket).await;
        self.client.close(reason);
        let reason = self.client.out.close_reason().unwrap_or(reason);
        tracing::debug!(cid = self.client.id, addr = %self.client.addr, ?reason, "Client connection closed");
        self.cleanup();
    }

    async fn serve(&mut self, socket: &mut OwnedReadHalf) -> CloseReason {
        let mut buf = BytesMut::with_capacity(READ_BUF_MIN_BYTES);
        let mut read_size = READ_BUF_MIN_BYTES;
        let opts = &self.state.opts;
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
            let read = tokio::select! {
                biased;
                _ = cancel.cancelled() => {
                    return self.client.out.close_reason().unwrap_or(CloseReason::ServerShutdown);
                }
                _ = &mut auth_deadline, if self.auth_required && !self.connected => {
                    self.send_err("Authentication Timeout");
                    return CloseReason::AuthenticationTimeout;
                }
                _ = ping.tick() => {
                    if let Flow::Close(reason) = self.on_ping_timer() {
                        return reason;
                    }
                    continue;
                }
                // Bounded reads: one batch routes at most READ_BUF_MAX_BYTES, so writers
                // and stalls get their turn however large the buffer has grown.
                read = bounded.read_buf(&mut buf) => read,
            };
            let n = match read {
                Ok(0) => return CloseReason::ClientClosed,
                Ok(n) => n,
                Err(_) => return CloseReason::ReadError,
            };
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
                let Some(slow) = self.stall_on.take() else {
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
                    if self.stall_on.is_some() {
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
        if self.auth_required && !self.connected && !matches!(op, ClientOp::Connect(_)) {
            self.send_err("Authorization Violation");
            return Flow::Close(CloseReason::AuthenticationViolation);
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
        if self.auth_required && !auth::check(&self.state.opts.authorization, &info) {
            tracing::warn!(
                cid = self.client.id,
                addr = %self.client.addr,
                "authentication error"
            );
            self.send_err("Authorization Violation");
            return Flow::Close(CloseReason::AuthenticationViolation);
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
        *self.client.name.lock() = info.name.clone();
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
        if self.pedantic && !weir_subject::is_valid_literal_subject(publish.subject) {
            // Like nats-server, complain but still route the message.
            self.send_err("Invalid Publish Subject");
        }
        self.ok();
        let matches = self.lookup(publish.subject);
        let delivered = self.route(&matches, &publish);
        if delivered == 0 && self.no_responders {
            if let Some(reply) = publish.reply {
                self.send_no_responders(reply);
            }
        }
        Flow::Continue
    }

    fn on_sub(&mut self, subject: &[u8], queue: Option<&[u8]>, sid: &[u8]) -> Flow {
        if !weir_subject::is_valid_subject(subject) {
            self.send_err("Invalid Subject");
            return Flow::Continue;
        }
        let sub = {
            let mut subs = self.client.subs.lock();
            if subs.contains_key(sid) {
                // nats-server ignores a SUB that reuses a live sid.
                drop(subs);
                self.ok();
                return Flow::Continue;
            }
            let sub = Arc::new(Subscription::new(self.client.clone(), subject, queue, sid));
            subs.insert(sid.into(), sub.clone());
            sub
        };
        let inserted = self
            .state
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
                        retire(&self.state, &sub);
                    }
                }
                _ => retire(&self.state, &sub),
            }
        }
        self.ok();
        Flow::Continue
    }

    fn on_ping_timer(&mut self) -> Flow {
        if self.pings_out + 1 > self.state.opts.ping_max {
            self.send_err("Stale Connection");
            return Flow::Close(CloseReason::StaleConnection);
        }
        self.pings_out += 1;
        self.client
            .out
            .send_now(|buf| buf.extend_from_slice(weir_protocol::PING));
        Flow::Continue
    }

    /// Literal subject → matching subscriptions, through a private cache that is dropped
    /// whenever the shared index changes.
    fn lookup(&mut self, subject: &[u8]) -> Arc<Matches<SubRef>> {
        let generation = self.state.subscriptions_generation();
        if generation != self.match_cache_generation {
            self.match_cache.clear();
            self.match_cache_generation = generation;
        }
        if let Some(found) = self.match_cache.get(subject) {
            return found.clone();
        }
        let found = self
            .state
            .with_subscriptions(|index| index.match_subject(subject));
        if self.match_cache.len() >= MATCH_CACHE_MAX_ENTRIES {
            self.match_cache.clear();
        }
        self.match_cache.insert(subject.into(), found.clone());
        found
    }

    /// Delivers to every plain match and one member of each queue group; returns how many
    /// subscriptions received the message.
    fn route(&mut self, matches: &Matches<SubRef>, publish: &Publish<'_>) -> usize {
        let mut delivered = 0;
        for sub in &matches.plain {
            if !self.echo && sub.client.id == self.client.id {
                continue;
            }
            if self.deliver(sub, publish) {
                delivered += 1;
            }
        }
        for group in &matches.queues {
            let members = &group.members;
            if members.is_empty() {
                continue;
            }
            let start = (self.next_random() % members.len() as u64) as usize;
            for i in 0..members.len() {
                let sub = &members[(start + i) % members.len()];
                if !self.echo && sub.client.id == self.client.id {
                    continue;
                }
                if self.deliver(sub, publish) {
                    delivered += 1;
                    break;
                }
            }
        }
        delivered
    }

    fn deliver(&mut self, sub: &SubRef, publish: &Publish<'_>) -> bool {
        match sub.admit() {
            Admit::Skip => return false,
            Admit::DeliverLast => self.to_retire.push(sub.0.clone()),
            Admit::Deliver => {}
        }
        let target = &sub.client;
        let headers = publish.headers.filter(|_| target.supports_headers());
        let size = (headers.map_or(0, <[u8]>::len) + publish.payload.len()) as u64;
        let queued = target.out.queue(size, |buf| {
            weir_protocol::encode_msg(
                buf,
                publish.subject,
                &sub.sid,
                publish.reply,
                headers,
                publish.payload,
            )
        });
        match queued {
            Queued::NeedsFlush => self.to_flush.push(target.clone()),
            Queued::Pending => {
                if self.stall_on.is_none()
                    && target.id != self.client.id
                    && target.out.is_stalling()
                {
                    self.stall_on = Some(target.clone());
                }
            }
            Queued::Dropped => return false,
            Queued::BecameSlow => {
                self.state
                    .totals
                    .slow_consumers
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    cid = target.id,
                    addr = %target.addr,
                    "Slow Consumer Detected: MaxPending of {} exceeded",
                    self.state.opts.max_pending_bytes
                );
                target.close(CloseReason::SlowConsumerPendingBytes);
                return false;
            }
        }
        true
    }

    /// Answers a request nobody can serve with a 503 status on the requester's own
    /// subscriptions to the reply subject.
    fn send_no_responders(&mut self, reply: &[u8]) {
        let matches = self.state.with_subscriptions(|i| i.match_subject(reply));
        let own = matches
            .plain
            .iter()
            .chain(matches.queues.iter().flat_map(|g| g.members.iter()))
            .filter(|s| s.client.id == self.client.id);
        for sub in own {
            let queued = self.client.out.queue(0, |buf| {
                weir_protocol::encode_msg(
                    buf,
                    reply,
                    &sub.sid,
                    None,
                    Some(NO_RESPONDERS_HEADERS),
                    b"",
                )
            });
            if queued == Queued::NeedsFlush {
                self.to_flush.push(self.client.clone());
            }
        }
    }

    fn end_batch(&mut self) {
        for client in self.to_flush.drain(..) {
            client.out.flush();
        }
        for sub in std::mem::take(&mut self.to_retire) {
            retire(&self.state, &sub);
        }
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
        let info = info::for_client(&self.state, &self.client, self.auth_required);
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
        if self
            .client
            .out
            .queue(0, |buf| weir_protocol::encode_err(buf, message))
            == Queued::NeedsFlush
        {
            self.to_flush.push(self.client.clone());
        }
        self.end_batch();
    }

    fn queue_own(&mut self, bytes: &'static [u8]) {
        if self.client.out.queue(0, |buf| buf.extend_from_slice(bytes)) == Queued::NeedsFlush {
            self.to_flush.push(self.client.clone());
        }
    }

    /// xorshift64: a queue member pick needs spread, not cryptographic randomness.
    fn next_random(&mut self) -> u64 {
        let mut x = self.rng_state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng_state = x;
        x
    }

    /// Removes every subscription of the closed client and folds its counters into the totals.
    fn cleanup(&mut self) {
        self.end_batch();
        let subs: Vec<Arc<Subscription>> =
            self.client.subs.lock().drain().map(|(_, s)| s).collect();
        if !subs.is_empty() {
            self.state.mutate_subscriptions(|index| {
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

/// Takes a subscription out of the index and its owner's map (auto-unsubscribe or UNSUB).
fn retire(state: &ServerState, sub: &Arc<Subscription>) {
    if !sub.mark_retired() {
        return;
    }
    state.mutate_subscriptions(|index| {
        index.remove(&sub.subject, sub.queue.as_deref(), &SubRef(sub.clone()))
    });
    let mut subs = sub.client.subs.lock();
    if subs.get(&sub.sid).is_some_and(|s| Arc::ptr_eq(s, sub)) {
        subs.remove(&sub.sid);
    }
}
