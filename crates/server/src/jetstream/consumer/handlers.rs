//! The subscriptions a consumer answers on the publisher's task: acks on
//! `$JS.ACK.<stream>.<consumer>.>` and flow-control replies on `$JS.FC.<stream>.<consumer>.>`.
//! Pull requests arrive through the API subscription (`MSG.NEXT`).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use weir_consumer::ack::{parse_ack_body, parse_ack_subject, AckKind, AckRef};
use weir_consumer::PullRequest;

use super::Consumer;
use crate::account::AccountScope;
use crate::jetstream::actor::now_ns;
use crate::subscription::{InboundMsg, InternalHandler};

struct AckHandler(Weak<Consumer>);

/// Acks a consumer holds until the read that brought them ends (see
/// `InternalHandler::defers`); past this many they are applied at once.
const MAX_QUEUED_ACKS: usize = 4096;

/// An ack waiting to be applied with the rest of its read.
pub(super) struct QueuedAck {
    r: AckRef,
    kind: AckKind,
    reply: Option<Bytes>,
    now_ns: i64,
}

impl InternalHandler for AckHandler {
    fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
        let Some(consumer) = self.0.upgrade() else {
            return false;
        };
        let (Some((_, _, r)), Some(kind)) =
            (parse_ack_subject(msg.subject), parse_ack_body(msg.payload))
        else {
            return true;
        };
        let reply = msg.reply.map(Bytes::copy_from_slice);
        // One clock read per ack: it stamps activity, the ack floor and the engine's event.
        let now_ns = now_ns();
        consumer.last_active_ns.store(now_ns, Ordering::Relaxed);
        if matches!(kind, AckKind::Ack | AckKind::Next(_) | AckKind::Term(_)) {
            consumer.last_ack_ns.store(now_ns, Ordering::Relaxed);
        }
        if let AckKind::Next(body) = &kind {
            // `+NXT` carries a pull request, which goes through the request checks: apply
            // what is queued, then this ack, then the request, in that order.
            let body = body.clone();
            consumer.apply_queued_acks();
            consumer.with_engine_at(now_ns, |engine, store, visible, now| {
                engine.ack(r, kind, reply.clone(), store, visible, now)
            });
            if let Some(to) = reply {
                consumer.next_request(to, &body);
            }
            return true;
        }
        let full = {
            let mut queued = consumer.queued_acks.lock();
            queued.push(QueuedAck {
                r,
                kind,
                reply,
                now_ns,
            });
            queued.len() >= MAX_QUEUED_ACKS
        };
        if full {
            consumer.apply_queued_acks();
        }
        true
    }

    fn defers(&self) -> bool {
        true
    }

    fn end_batch(&self) {
        if let Some(consumer) = self.0.upgrade() {
            consumer.apply_queued_acks();
        }
    }
}

impl Consumer {
    /// Applies the queued acks under one lock, then delivers what they freed in one go.
    pub(super) fn apply_queued_acks(&self) {
        if self.queued_acks.lock().is_empty() {
            return;
        }
        self.with_engine(|engine, store, visible, now| {
            // Taken under the engine's lock, so batches apply in the order they were queued.
            let acks = std::mem::take(&mut *self.queued_acks.lock());
            for ack in acks {
                engine.record_ack(ack.r, ack.kind, ack.reply, ack.now_ns);
            }
            engine.deliver(store, visible, now);
        });
    }
}

struct FlowControlHandler(Weak<Consumer>);

impl InternalHandler for FlowControlHandler {
    fn deliver(&self, msg: &InboundMsg<'_>) -> bool {
        let Some(consumer) = self.0.upgrade() else {
            return false;
        };
        consumer.with_engine(|engine, store, visible, now| {
            engine.flow_control_reply(msg.subject, store, visible, now)
        });
        true
    }
}

pub(super) fn subscribe(
    state: &Arc<AccountScope>,
    consumer: &Arc<Consumer>,
) -> Result<(), weir_subject::SubjectError> {
    let ack = format!("$JS.ACK.{}.{}.>", consumer.stream_name, consumer.name);
    let fc = format!("$JS.FC.{}.{}.>", consumer.stream_name, consumer.name);
    let weak = Arc::downgrade(consumer);
    // Subscribed first, recorded after: the index lock is never taken under `subs`.
    let ack_sub =
        state.subscribe_internal(ack.as_bytes(), None, Arc::new(AckHandler(weak.clone())))?;
    let fc_sub =
        state.subscribe_internal(fc.as_bytes(), None, Arc::new(FlowControlHandler(weak)))?;
    consumer.subs.lock().extend([ack_sub, fc_sub]);
    Ok(())
}

impl Consumer {
    /// A `MSG.NEXT` request (or the rest of a `+NXT` ack): checked against the config, then
    /// queued or refused with the status nats-server sends.
    pub fn next_request(&self, reply: Bytes, body: &[u8]) {
        let checked = weir_jsapi::next_request_for(&self.config.read(), body);
        let req = match checked {
            Ok(req) => req,
            Err(status) => {
                if let Some(state) = self.state.upgrade() {
                    let hdr = format!("NATS/1.0 {} {}\r\n\r\n", status.code, status.description);
                    state.publish(&reply, None, Some(hdr.as_bytes()), b"");
                }
                return;
            }
        };
        let now = now_ns();
        self.pull(PullRequest {
            reply,
            batch: req.batch.max(1) as u64,
            max_bytes: req.max_bytes.max(0) as u64,
            expires_at_ns: (req.expires > 0).then(|| now.saturating_add(req.expires)),
            no_wait: req.no_wait,
            heartbeat_ns: req.idle_heartbeat.max(0),
            min_pending: req.min_pending.max(0) as u64,
            min_ack_pending: req.min_ack_pending.max(0) as u64,
            pin_id: req.id,
            priority: req.priority.clamp(0, 9) as u8,
        });
    }
}
