//! Executing engine commands (deliveries, statuses, advisories, dead letters, retention)
//! and the consumer's task: timers, stream changes, persistence.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use weir_consumer::ack::encode_ack_subject;
use weir_consumer::Command;
use weir_jsapi::RetentionPolicy;

use super::{config, Consumer, Inner};
use crate::jetstream::actor::now_ns;
use crate::jetstream::admin::AdminKind;

/// How often a push consumer without interest checks for a subscriber again.
const INTEREST_CHECK_EVERY: Duration = Duration::from_millis(50);
/// Longest the task sleeps; also bounds how stale persisted state can get.
const MAX_SLEEP: Duration = Duration::from_millis(100);
/// A changed state is written at most this often (double acks force a write).
const PERSIST_EVERY: Duration = Duration::from_millis(100);

impl Consumer {
    /// Executes the queued commands; returns the stream seqs acked for retention.
    pub(super) fn execute(&self, inner: &mut Inner) -> Vec<u64> {
        let Some(state) = self.state.upgrade() else {
            inner.engine.take_commands().for_each(drop);
            return Vec::new();
        };
        let headers_only = self.config.read().headers_only;
        // Read only when a message is given up on (rare).
        let dead_letter = || config::dead_letter_subject(&self.config.read());
        let mut acked = Vec::new();
        let mut subject = Vec::with_capacity(96);
        let mut commands = std::mem::take(&mut inner.spare_commands);
        inner.engine.swap_commands(&mut commands);
        let publisher = &mut inner.publisher;
        for command in commands.drain(..) {
            match command {
                Command::Deliver {
                    to,
                    msg,
                    ack,
                    pin_id,
                } => {
                    subject.clear();
                    encode_ack_subject(&mut subject, &self.stream_name, &self.name, &ack);
                    // Extra headers: the pin (ADR-42) and, for headers_only, the size.
                    let mut extra = String::new();
                    if let Some(pin) = &pin_id {
                        extra.push_str(&format!("Nats-Pin-Id: {pin}\r\n"));
                    }
                    if headers_only {
                        extra.push_str(&format!("Nats-Msg-Size: {}\r\n", msg.payload.len()));
                    }
                    let built;
                    let hdr = if extra.is_empty() {
                        (!msg.headers.is_empty()).then_some(&msg.headers[..])
                    } else {
                        let mut h = crate::jetstream::open_header_block(&msg.headers);
                        h.extend_from_slice(extra.as_bytes());
                        h.extend_from_slice(b"\r\n");
                        built = h;
                        Some(&built[..])
                    };
                    let payload = if headers_only {
                        &[][..]
                    } else {
                        &msg.payload[..]
                    };
                    publisher.publish_as(&state, &to, &msg.subject, Some(&subject), hdr, payload);
                }
                Command::Status {
                    to,
                    code,
                    description,
                    headers,
                    reply,
                } => {
                    let mut hdr = format!("NATS/1.0 {code} {description}\r\n");
                    for (k, v) in headers {
                        hdr.push_str(&format!("{k}: {v}\r\n"));
                    }
                    hdr.push_str("\r\n");
                    publisher.publish(&state, &to, reply.as_deref(), Some(hdr.as_bytes()), b"");
                }
                Command::ConfirmAck { to } => inner.confirms.push(to),
                Command::AckMetric {
                    stream_seq,
                    consumer_seq,
                    deliveries,
                    ack_time_ns,
                } => {
                    if config::sampled(&self.config.read().sample_freq) {
                        let body = json!({
                            "type": "io.nats.jetstream.metric.v1.consumer_ack",
                            "stream": self.stream_name, "consumer": self.name,
                            "consumer_seq": consumer_seq, "stream_seq": stream_seq,
                            "ack_time": ack_time_ns, "deliveries": deliveries,
                        });
                        let subject = format!(
                            "$JS.EVENT.METRIC.CONSUMER.ACK.{}.{}",
                            self.stream_name, self.name
                        );
                        let payload = crate::jetstream::advisory_payload(body);
                        publisher.publish(&state, subject.as_bytes(), None, None, &payload);
                    }
                }
                Command::Pinned { id } => {
                    let group = self.config.read().priority_groups.first().cloned();
                    let body = json!({
                        "type": "io.nats.jetstream.advisory.v1.consumer_group_pinned",
                        "stream": self.stream_name, "consumer": self.name,
                        "group": group.unwrap_or_default(), "pinned_id": id,
                    });
                    self.advisory(publisher, &state, "PINNED", body);
                }
                Command::Unpinned { id, reason } => {
                    let group = self.config.read().priority_groups.first().cloned();
                    let body = json!({
                        "type": "io.nats.jetstream.advisory.v1.consumer_group_unpinned",
                        "stream": self.stream_name, "consumer": self.name,
                        "group": group.unwrap_or_default(), "pinned_id": id, "reason": reason,
                    });
                    self.advisory(publisher, &state, "UNPINNED", body);
                }
                Command::Acked { stream_seq } => acked.push(stream_seq),
                Command::MaxDeliveries {
                    stream_seq,
                    deliveries,
                } => {
                    let body = json!({
                        "type": "io.nats.jetstream.advisory.v1.max_deliver",
                        "stream": self.stream_name, "consumer": self.name,
                        "stream_seq": stream_seq, "deliveries": deliveries,
                    });
                    self.advisory(publisher, &state, "MAX_DELIVERIES", body);
                    if let Some(dlq) = &dead_letter() {
                        self.dead_letter(
                            publisher,
                            &state,
                            dlq,
                            stream_seq,
                            deliveries,
                            "MaxDeliveries",
                        );
                    }
                }
                Command::Terminated {
                    stream_seq,
                    consumer_seq,
                    deliveries,
                    reason,
                } => {
                    let mut body = json!({
                        "type": "io.nats.jetstream.advisory.v1.terminated",
                        "stream": self.stream_name, "consumer": self.name,
                        "consumer_seq": consumer_seq,
                        "stream_seq": stream_seq, "deliveries": deliveries,
                    });
                    if let Some(reason) = &reason {
                        body["reason"] = json!(reason);
                    }
                    self.advisory(publisher, &state, "MSG_TERMINATED", body);
                    if let Some(dlq) = &dead_letter() {
                        let why = match &reason {
                            Some(r) => format!("Terminated: {r}"),
                            None => "Terminated".to_string(),
                        };
                        self.dead_letter(publisher, &state, dlq, stream_seq, deliveries, &why);
                    }
                }
                Command::Naked {
                    stream_seq,
                    consumer_seq,
                    deliveries,
                } => {
                    let body = json!({
                        "type": "io.nats.jetstream.advisory.v1.nak",
                        "stream": self.stream_name, "consumer": self.name,
                        "consumer_seq": consumer_seq,
                        "stream_seq": stream_seq, "deliveries": deliveries,
                    });
                    self.advisory(publisher, &state, "MSG_NAKED", body);
                }
            }
        }
        if self.dir.is_none() {
            for to in inner.confirms.drain(..) {
                publisher.publish(&state, &to, None, None, b"");
            }
        }
        publisher.finish();
        inner.spare_commands = commands;
        acked
    }

    fn advisory(
        &self,
        publisher: &mut crate::internal::InternalPublisher,
        state: &crate::account::AccountScope,
        kind: &str,
        body: serde_json::Value,
    ) {
        let subject = format!(
            "$JS.EVENT.ADVISORY.CONSUMER.{kind}.{}.{}",
            self.stream_name, self.name
        );
        let payload = crate::jetstream::advisory_payload(body);
        publisher.publish(state, subject.as_bytes(), None, None, &payload);
    }

    /// Republishes a message that will not be delivered again to the consumer's
    /// dead-letter subject, with headers naming where it came from and why.
    fn dead_letter(
        &self,
        publisher: &mut crate::internal::InternalPublisher,
        state: &crate::account::AccountScope,
        subject: &str,
        stream_seq: u64,
        deliveries: u64,
        reason: &str,
    ) {
        let Ok(Some(msg)) = self.stream.store.read().get(stream_seq) else {
            return;
        };
        let mut hdr = crate::jetstream::open_header_block(&msg.headers);
        hdr.extend_from_slice(
            format!(
                "Weir-Dead-Letter-Stream: {}\r\nWeir-Dead-Letter-Consumer: {}\r\nWeir-Dead-Letter-Sequence: {stream_seq}\r\nWeir-Dead-Letter-Subject: {}\r\nWeir-Dead-Letter-Deliveries: {deliveries}\r\nWeir-Dead-Letter-Reason: {reason}\r\n\r\n",
                self.stream_name,
                self.name,
                String::from_utf8_lossy(&msg.subject),
            )
            .as_bytes(),
        );
        publisher.publish(state, subject.as_bytes(), None, Some(&hdr), &msg.payload);
    }

    /// Workqueue: an acked message goes. Interest: it goes once no consumer needs it.
    pub(super) fn apply_retention(&self, acked: Vec<u64>) {
        if acked.is_empty() || self.retention == RetentionPolicy::Limits {
            return;
        }
        let remove: Vec<u64> = match self.retention {
            RetentionPolicy::WorkQueue => acked,
            _ => {
                let siblings = self.siblings.upgrade().map(|s| s.all()).unwrap_or_default();
                // Subjects first, store lock released, then the siblings' locks: a
                // consumer holds its own lock while it reads the store.
                let subjects: Vec<(u64, bytes::Bytes)> = {
                    let store = self.stream.store.read();
                    acked
                        .into_iter()
                        .filter_map(|seq| match store.get(seq) {
                            Ok(Some(msg)) => Some((seq, msg.subject)),
                            _ => None,
                        })
                        .collect()
                };
                subjects
                    .into_iter()
                    .filter(|(seq, subject)| {
                        !siblings
                            .iter()
                            .filter(|c| c.name != self.name)
                            .any(|c| c.needs_ack(*seq, subject))
                    })
                    .map(|(seq, _)| seq)
                    .collect()
            }
        };
        if !remove.is_empty() {
            self.stream.remove(remove);
        }
    }

    /// Whether this consumer still has to see or ack `seq` (interest retention).
    pub fn needs_ack(&self, seq: u64, subject: &[u8]) -> bool {
        self.wants(subject) && self.inner.lock().engine.tracker.needs_ack(seq)
    }

    /// Whether this consumer would want a message on `subject` (interest retention). Reads
    /// the config only: the stream writer calls it while holding the store's write lock.
    pub fn wants(&self, subject: &[u8]) -> bool {
        let config = self.config.read();
        let filters = config.filters();
        filters.is_empty()
            || filters
                .iter()
                .any(|f| weir_subject::matches(f.as_bytes(), subject))
    }
}

/// The consumer's task: ticks the engine at its next deadline, follows stream changes,
/// checks push interest, deletes an inactive consumer, and persists state.
pub(super) async fn run(consumer: Arc<Consumer>) {
    let mut signal = consumer.stream.signal.subscribe();
    let mut last_persist = tokio::time::Instant::now();
    let mut generation = u64::MAX;
    // A new push consumer whose subscriber is already there (an ordered consumer subscribes
    // first) starts delivering at once, not after the first sleep.
    if !consumer.inner.lock().engine.policy().is_pull() {
        if !follow_push_interest(&consumer, &mut generation) {
            return;
        }
        consumer.tick();
    }
    loop {
        let now = now_ns();
        let (next_ns, is_push) = {
            let inner = consumer.inner.lock();
            (
                inner.engine.next_wakeup_ns(),
                !inner.engine.policy().is_pull(),
            )
        };
        let mut sleep = next_ns
            .map(|at| Duration::from_nanos(at.saturating_sub(now).max(0) as u64))
            .unwrap_or(MAX_SLEEP)
            .min(MAX_SLEEP);
        if is_push {
            sleep = sleep.min(INTEREST_CHECK_EVERY);
        }
        tokio::select! {
            _ = consumer.wake.notified() => {}
            changed = signal.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = tokio::time::sleep(sleep) => {}
        }
        if is_push && !follow_push_interest(&consumer, &mut generation) {
            return;
        }
        // Marks the signal seen for `changed()`; `tick` reads the current value itself.
        signal.borrow_and_update();
        consumer.tick();
        if consumer.inactive_too_long() {
            consumer.delete_self().await;
            return;
        }
        let force = !consumer.inner.lock().confirms.is_empty();
        if force || last_persist.elapsed() >= PERSIST_EVERY {
            consumer.persist_if_dirty();
            last_persist = tokio::time::Instant::now();
        }
    }
}

/// Push consumers: re-checks for a subscriber on the deliver subject when the subscription
/// index changed. False once the server is gone.
fn follow_push_interest(consumer: &Consumer, generation: &mut u64) -> bool {
    let Some(state) = consumer.state.upgrade() else {
        return false;
    };
    let current = state.subscriptions_generation();
    if current != *generation {
        *generation = current;
        let active = consumer.has_push_interest(&state);
        consumer.inner.lock().engine.set_push_active(active);
        if active {
            consumer.touch();
        }
    }
    true
}

impl Consumer {
    fn tick(&self) {
        let retention_acks = {
            let mut inner = self.inner.lock();
            let signal = *self.stream.signal.borrow();
            let store = self.stream.store.read();
            inner.follow_stream(&**store, signal);
            inner.engine.tick(&**store, signal.visible_seq, now_ns());
            drop(store);
            self.execute(&mut inner)
        };
        self.apply_retention(retention_acks);
    }

    /// Whether a subscriber listens on the deliver subject (a member of the deliver group,
    /// when there is one).
    pub fn has_push_interest(&self, state: &crate::account::AccountScope) -> bool {
        let (subject, group) = {
            let cfg = self.config.read();
            (cfg.deliver_subject.clone(), cfg.deliver_group.clone())
        };
        state.with_subscriptions(|i| {
            let matches = i.match_subject(subject.as_bytes());
            if group.is_empty() {
                !matches.is_empty()
            } else {
                matches.queue(group.as_bytes()).is_some()
            }
        })
    }

    fn inactive_too_long(&self) -> bool {
        let threshold_ns = self.config.read().inactive_threshold;
        if threshold_ns <= 0 {
            return false;
        }
        let inner = self.inner.lock();
        let busy = if inner.engine.policy().is_pull() {
            inner.engine.num_waiting() > 0
        } else {
            inner.engine.push_active()
        };
        drop(inner);
        if busy {
            self.touch();
            return false;
        }
        now_ns().saturating_sub(self.last_active_ns.load(Ordering::Relaxed)) > threshold_ns
    }

    async fn delete_self(self: &Arc<Self>) {
        if let Some(set) = self.siblings.upgrade() {
            set.map.write().remove(&self.name);
        }
        tracing::debug!(stream = %self.stream_name, consumer = %self.name, "deleting inactive consumer");
        // The task itself is running this: stop everything but the task.
        self.task.lock().take();
        self.stop(true).await;
    }
}

/// A stream removal without a caller waiting (retention); applied in stream order.
impl crate::jetstream::stream::Stream {
    pub fn remove(&self, seqs: Vec<u64>) {
        self.admin_nowait(AdminKind::Remove(seqs));
    }
}
