//! The subscriptions a consumer answers on the publisher's task: acks on
//! `$JS.ACK.<stream>.<consumer>.>` and flow-control replies on `$JS.FC.<stream>.<consumer>.>`.
//! Pull requests arrive through the API subscription (`MSG.NEXT`).

use std::sync::{Arc, Weak};

use bytes::Bytes;
use weir_consumer::ack::{parse_ack_body, parse_ack_subject, AckKind};
use weir_consumer::PullRequest;

use super::Consumer;
use crate::jetstream::actor::now_ns;
use crate::state::ServerState;
use crate::subscription::{InboundMsg, InternalHandler};

struct AckHandler(Weak<Consumer>);

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
        consumer.touch();
        if matches!(kind, AckKind::Ack | AckKind::Next(_) | AckKind::Term(_)) {
            consumer
                .last_ack_ns
                .store(now_ns(), std::sync::atomic::Ordering::Relaxed);
        }
        let next = match &kind {
            AckKind::Next(body) => Some(body.clone()),
            _ => None,
        };
        consumer.with_engine(|engine, store, visible, now| {
            engine.ack(r, kind, reply.clone(), store, visible, now)
        });
        if let (Some(body), Some(to)) = (next, reply) {
            consumer.next_request(to, &body);
        }
        true
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
    state: &Arc<ServerState>,
    consumer: &Arc<Consumer>,
) -> Result<(), weir_subject::SubjectError> {
    let ack = format!("$JS.ACK.{}.{}.>", consumer.stream_name, consumer.name);
    let fc = format!("$JS.FC.{}.{}.>", consumer.stream_name, consumer.name);
    let weak = Arc::downgrade(consumer);
    let mut subs = consumer.subs.lock();
    subs.push(state.subscribe_internal(
        ack.as_bytes(),
        None,
        Arc::new(AckHandler(weak.clone())),
    )?);
    subs.push(state.subscribe_internal(fc.as_bytes(), None, Arc::new(FlowControlHandler(weak)))?);
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
