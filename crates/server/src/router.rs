//! Delivering one published message to the subscriptions that match it. Used by client
//! connections for their publishes and by the server for its own (replies, acks).
//!
//! Messages are encoded straight into each subscriber's outbound buffer; writers are woken
//! once per batch (`finish`), not per message.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use weir_subject::Matches;

use crate::account::Account;
use crate::client::{ClientShared, CloseReason, Queued};
use crate::state::ServerState;
use crate::subscription::{Admit, InboundMsg, InternalHandler, SubRef, Subscription, Target};

/// The status a requester gets when nobody is subscribed to the request subject.
pub const NO_RESPONDERS_HEADERS: &[u8] = b"NATS/1.0 503\r\n\r\n";

pub struct Router {
    /// Clients whose writers must be woken when the batch ends.
    to_flush: Vec<Arc<ClientShared>>,
    /// Subscriptions that reached their auto-unsubscribe limit during this batch.
    to_retire: Vec<Arc<Subscription>>,
    /// A subscriber this batch pushed past its stall mark; the publisher should pause.
    pub stall_on: Option<Arc<ClientShared>>,
    /// Internal handlers holding queued work (see `InternalHandler::defers`).
    deferred: Vec<Arc<dyn InternalHandler>>,
    rng_state: u64,
}

/// Handlers with queued work a batch may hold before the oldest is told to catch up.
const MAX_DEFERRED_HANDLERS: usize = 8;

impl Router {
    pub fn new(seed: u64) -> Self {
        Router {
            to_flush: Vec::new(),
            to_retire: Vec::new(),
            stall_on: None,
            deferred: Vec::new(),
            rng_state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// Delivers to every plain match and one member of each queue group, skipping the
    /// publisher's own subscriptions when `echo` is off; returns how many received it.
    pub fn route(
        &mut self,
        state: &ServerState,
        matches: &Matches<SubRef>,
        msg: &InboundMsg<'_>,
        echo: bool,
    ) -> usize {
        let mut delivered = 0;
        for sub in &matches.plain {
            if !echo && sub.owner_id == msg.client_id {
                continue;
            }
            if self.deliver(state, sub, msg) {
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
                if !echo && sub.owner_id == msg.client_id {
                    continue;
                }
                if self.deliver(state, sub, msg) {
                    delivered += 1;
                    break;
                }
            }
        }
        delivered
    }

    fn deliver(&mut self, state: &ServerState, sub: &SubRef, msg: &InboundMsg<'_>) -> bool {
        if !sub.permits(msg.subject) {
            return false;
        }
        match sub.admit() {
            Admit::Skip => return false,
            Admit::DeliverLast => self.to_retire.push(sub.0.clone()),
            Admit::Deliver => {}
        }
        let target = match &sub.target {
            Target::Internal(handler) => {
                if handler.defers() {
                    self.note_deferred(handler);
                } else {
                    self.end_deferred();
                }
                return handler.deliver(msg);
            }
            Target::Client(client) => {
                self.end_deferred();
                client
            }
        };
        let headers = msg.headers.filter(|_| target.supports_headers());
        let size = (headers.map_or(0, <[u8]>::len) + msg.payload.len()) as u64;
        let queued = target.out.queue(size, |buf| {
            weir_protocol::encode_msg(buf, msg.subject, &sub.sid, msg.reply, headers, msg.payload)
        });
        if tracing::enabled!(tracing::Level::TRACE) && queued != Queued::Dropped {
            let line = crate::client::trace::delivery(
                msg.subject,
                &sub.sid,
                msg.reply,
                headers.map(<[u8]>::len),
                msg.payload.len(),
            );
            tracing::trace!("{} - cid:{} - {line}", target.addr, target.id);
        }
        if matches!(queued, Queued::NeedsFlush | Queued::Pending) {
            sub.delivered_reply(msg.reply);
        }
        match queued {
            Queued::NeedsFlush => self.to_flush.push(target.clone()),
            Queued::Pending => {
                if self.stall_on.is_none() && target.id != msg.client_id && target.out.is_stalling()
                {
                    self.stall_on = Some(target.clone());
                }
            }
            Queued::Dropped => return false,
            Queued::BecameSlow => {
                state.totals.slow_consumers.fetch_add(1, Ordering::Relaxed);
                tracing::info!(
                    cid = target.id,
                    addr = %target.addr,
                    "Slow Consumer Detected: MaxPending of {} exceeded",
                    state.opts().max_pending_bytes
                );
                target.close(CloseReason::SlowConsumerPendingBytes);
                return false;
            }
        }
        true
    }

    /// Queues protocol bytes (PONG, +OK, -ERR, a status message) for one client.
    pub fn queue_to(
        &mut self,
        client: &Arc<ClientShared>,
        encode: impl FnOnce(&mut bytes::BytesMut),
    ) {
        self.end_deferred();
        if client.out.queue(0, encode) == Queued::NeedsFlush {
            self.to_flush.push(client.clone());
        }
    }

    /// Answers a request nobody can serve with a 503 status on the requester's own
    /// subscriptions to the reply subject.
    pub fn send_no_responders(
        &mut self,
        account: &Account,
        requester: &Arc<ClientShared>,
        reply: &[u8],
    ) {
        self.end_deferred();
        let matches = account.with_subscriptions(|i| i.match_subject(reply));
        let own = matches
            .plain
            .iter()
            .chain(matches.queues.iter().flat_map(|g| g.members.iter()))
            .filter(|s| s.owner_id == requester.id);
        for sub in own {
            self.queue_to(requester, |buf| {
                weir_protocol::encode_msg(
                    buf,
                    reply,
                    &sub.sid,
                    None,
                    Some(NO_RESPONDERS_HEADERS),
                    b"",
                )
            });
        }
    }

    /// Ends a batch: wakes every writer that has new bytes and retires subscriptions that
    /// reached their auto-unsubscribe limit.
    pub fn finish(&mut self) {
        self.end_deferred();
        // One client to flush is a request answered or an ack returned: worth writing inline.
        // More are a fan-out, whose writers run in parallel better than one thread in turn.
        if let [client] = &self.to_flush[..] {
            client.out.flush();
        } else {
            for client in &self.to_flush {
                client.out.wake_writer();
            }
        }
        self.to_flush.clear();
        for sub in std::mem::take(&mut self.to_retire) {
            retire(&sub);
        }
    }

    /// Remembers a handler that queued work; the set stays small (a read of acks names a
    /// few consumers), so it is a list compared by pointer.
    fn note_deferred(&mut self, handler: &Arc<dyn InternalHandler>) {
        if self.deferred.iter().any(|h| Arc::ptr_eq(h, handler)) {
            return;
        }
        if self.deferred.len() >= MAX_DEFERRED_HANDLERS {
            self.end_deferred();
        }
        self.deferred.push(handler.clone());
    }

    /// Lets every handler with queued work do it now: before anything else the client sent
    /// takes effect.
    pub fn end_deferred(&mut self) {
        if self.deferred.is_empty() {
            return;
        }
        let mut handlers = std::mem::take(&mut self.deferred);
        for handler in handlers.drain(..) {
            handler.end_batch();
        }
        // Keep the allocation for the next batch.
        self.deferred = handlers;
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
}

/// Takes a subscription out of its account's index and its owner's map (auto-unsubscribe
/// or UNSUB).
pub fn retire(sub: &Arc<Subscription>) {
    if !sub.mark_retired() {
        return;
    }
    if let Some(account) = sub.account.upgrade() {
        account.mutate_subscriptions(|index| {
            index.remove(&sub.subject, sub.queue.as_deref(), &SubRef(sub.clone()))
        });
    }
    if let Some(client) = sub.client() {
        let mut subs = client.subs.lock();
        if subs.get(&sub.sid).is_some_and(|s| Arc::ptr_eq(s, sub)) {
            subs.remove(&sub.sid);
        }
    }
}
