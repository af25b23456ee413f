//! One consumer as a state machine: events in (pull requests, acks, flow-control replies,
//! ticks, stream changes), commands out (deliver a message, send a status, report an ack
//! for retention, raise an advisory). It reads the stream through the `Store` trait and does
//! no I/O of its own, so the server's runtime is a thin loop around it and tests drive it
//! with a memory store and a fake clock.

use std::collections::VecDeque;

use bytes::Bytes;
use weir_store::{Store, StoreError, StoredMsg};

use crate::ack::{AckKind, AckRef};
use crate::policy::{Mode, Policy, Priority, StartPolicy};
use crate::tracker::{AckMode, AckTracker, SeqPair};
use crate::waiting::{PullRequest, WaitQueue, Waiting};

/// Unacknowledged push bytes after which a flow-control request is sent.
const FLOW_CONTROL_EVERY_BYTES: u64 = 1024 * 1024;
/// Unanswered flow-control bytes at which push delivery stalls (as measured on nats-server:
/// the request after ~1 MiB, a stall after ~2 MiB).
const FLOW_CONTROL_MAX_BYTES: u64 = 2 * 1024 * 1024;
/// Messages one `deliver` call sends at most, so one consumer cannot monopolise its task.
const DELIVER_BUDGET: usize = 4096;

/// Something the runtime must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send `msg` to `to` with the ack reply subject made from `ack`.
    Deliver {
        to: Bytes,
        msg: StoredMsg,
        ack: AckRef,
        /// Pinned-client policy: the `Nats-Pin-Id` header the delivery carries.
        pin_id: Option<String>,
    },
    /// An explicit ack, for the `sample_freq` ack metric.
    AckMetric {
        stream_seq: u64,
        consumer_seq: u64,
        deliveries: u64,
        ack_time_ns: i64,
    },
    /// A client was pinned (ADR-42).
    Pinned { id: String },
    /// The pinned client lost its pin (`reason`: "admin" or "timeout").
    Unpinned { id: String, reason: &'static str },
    /// A status message: `NATS/1.0 <code> <description>` plus headers, no body.
    Status {
        to: Bytes,
        code: u16,
        description: String,
        headers: Vec<(&'static str, String)>,
        reply: Option<Bytes>,
    },
    /// Confirm a double ack (an empty reply), once the ack is persisted.
    ConfirmAck { to: Bytes },
    /// The consumer no longer needs this stream message (retention).
    Acked { stream_seq: u64 },
    /// A message reached `max_deliver` and will not be delivered again.
    MaxDeliveries { stream_seq: u64, deliveries: u64 },
    Terminated {
        stream_seq: u64,
        consumer_seq: u64,
        deliveries: u64,
        reason: Option<String>,
    },
    Naked {
        stream_seq: u64,
        consumer_seq: u64,
        deliveries: u64,
    },
}

/// Why a pull request was refused on arrival.
fn status(to: &Bytes, code: u16, description: impl Into<String>) -> Command {
    Command::Status {
        to: to.clone(),
        code,
        description: description.into(),
        headers: Vec::new(),
        reply: None,
    }
}

#[derive(Debug, Default)]
struct FlowControl {
    unacked_bytes: u64,
    since_request_bytes: u64,
    /// The reply subject of the outstanding request.
    awaiting: Option<Bytes>,
    next_id: u64,
}

/// The pinned client of a pinned-client consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    pub id: String,
    pub since_ns: i64,
    /// Its last pull (or the last moment one of its pulls was waiting).
    pub last_pull_ns: i64,
}

pub struct Engine {
    policy: Policy,
    pin: Option<Pin>,
    pins_made: u64,
    pub tracker: AckTracker,
    waiting: WaitQueue,
    /// `last_per_subject`: the seqs still to deliver before carrying on from the end.
    catchup: VecDeque<u64>,
    /// Messages still to deliver (num_pending), recomputed after stream changes.
    num_pending: Option<u64>,
    /// Push: whether anyone listens on the deliver subject.
    push_active: bool,
    flow: FlowControl,
    /// Push: when the last message or heartbeat went out.
    last_push_ns: i64,
    /// `replay_policy: original`: (first message's stored ts, when it was delivered).
    replay_anchor: Option<(i64, i64)>,
    replay_wake_ns: Option<i64>,
    /// `rate_limit_bps`: when the next push delivery may go out.
    rate_next_ns: i64,
    paused_until_ns: Option<i64>,
    /// State changed since the last `take_dirty`.
    dirty: bool,
    /// The last `deliver` stopped at its budget with more ready to send.
    more_to_deliver: bool,
    out: Vec<Command>,
    /// Whether anyone listens on a pull request's reply subject (the runtime's subscription
    /// index); None: assume someone does.
    reply_interest: Option<ReplyInterest>,
}

/// Answers whether a subject has subscribers; see [`Engine::set_reply_interest`].
pub type ReplyInterest = Box<dyn Fn(&[u8]) -> bool + Send>;

impl Engine {
    /// A new consumer positioned by `start` on the stream as it is now.
    pub fn new(
        policy: Policy,
        start: StartPolicy,
        store: &dyn Store,
        now_ns: i64,
    ) -> Result<Engine, StoreError> {
        let mut engine = Engine::restored(policy, now_ns);
        let st = store.state();
        let filters = engine.policy.filter_refs();
        let start_after = match start {
            StartPolicy::All => st.first_seq.saturating_sub(1),
            StartPolicy::New => st.last_seq,
            StartPolicy::Sequence(seq) => seq.max(1) - 1,
            StartPolicy::Last => {
                let last = last_matching(store, &filters)?;
                last.map_or(st.last_seq, |seq| seq - 1)
            }
            StartPolicy::Time(ts_ns) => {
                first_at_or_after(store, ts_ns)?.map_or(st.last_seq, |s| s - 1)
            }
            StartPolicy::LastPerSubject => {
                let all: [&[u8]; 1] = [b">"];
                let wanted = if filters.is_empty() {
                    &all[..]
                } else {
                    &filters[..]
                };
                let seqs = store.last_seqs_per_subject(wanted, st.last_seq);
                engine.catchup = seqs.iter().copied().collect();
                match seqs.first() {
                    Some(first) => first - 1,
                    None => st.last_seq,
                }
            }
        };
        engine.tracker.start_after(start_after);
        Ok(engine)
    }

    /// A consumer whose tracker the caller restores from persisted state.
    pub fn restored(policy: Policy, now_ns: i64) -> Engine {
        let tracker = AckTracker::new(
            policy.ack,
            policy.ack_wait_ns,
            policy.backoff_ns.clone(),
            policy.max_deliver,
        );
        let max_waiting = match policy.mode {
            Mode::Pull { max_waiting } => max_waiting,
            Mode::Push { .. } => 1,
        };
        Engine {
            policy,
            pin: None,
            pins_made: 0,
            tracker,
            waiting: WaitQueue::new(max_waiting),
            catchup: VecDeque::new(),
            num_pending: None,
            push_active: false,
            flow: FlowControl::default(),
            last_push_ns: now_ns,
            replay_anchor: None,
            replay_wake_ns: None,
            rate_next_ns: 0,
            paused_until_ns: None,
            dirty: true,
            more_to_deliver: false,
            out: Vec::new(),
            reply_interest: None,
        }
    }

    /// Lets the engine skip pull requests whose client went away: as nats-server does, a
    /// waiting request whose reply subject lost its subscribers is dropped when its turn
    /// comes, and the message goes to the next request instead of nowhere.
    pub fn set_reply_interest(&mut self, check: ReplyInterest) {
        self.reply_interest = Some(check);
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Applies an updated policy (a config update).
    pub fn set_policy(&mut self, policy: Policy) {
        self.tracker.set_limits(
            policy.ack_wait_ns,
            policy.backoff_ns.clone(),
            policy.max_deliver,
        );
        if let Mode::Pull { max_waiting } = policy.mode {
            self.waiting.set_max(max_waiting);
        }
        if policy.filters != self.policy.filters {
            self.num_pending = None;
        }
        self.policy = policy;
    }

    pub fn take_commands(&mut self) -> std::vec::Drain<'_, Command> {
        self.out.drain(..)
    }

    /// Hands over the queued commands by swapping buffers with `spare` (which must be empty):
    /// no copy of the commands, and both buffers keep their capacity.
    pub fn swap_commands(&mut self, spare: &mut Vec<Command>) {
        debug_assert!(spare.is_empty(), "swap_commands needs an empty buffer");
        std::mem::swap(&mut self.out, spare);
    }

    /// True once after any change to the persisted state.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn set_paused_until(&mut self, until_ns: Option<i64>) {
        self.paused_until_ns = until_ns;
    }

    pub fn paused_until_ns(&self) -> Option<i64> {
        self.paused_until_ns
    }

    pub fn is_paused(&self, now_ns: i64) -> bool {
        self.paused_until_ns.is_some_and(|t| t > now_ns)
    }

    /// Push: interest on the deliver subject appeared or went away.
    pub fn set_push_active(&mut self, active: bool) {
        self.push_active = active;
    }

    pub fn push_active(&self) -> bool {
        self.push_active
    }

    pub fn num_waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Messages matching the filters after the delivered position.
    pub fn num_pending(&mut self, store: &dyn Store) -> u64 {
        if let Some(n) = self.num_pending {
            return n;
        }
        let from = self.tracker.delivered.stream_seq + 1;
        let n = if !self.catchup.is_empty() {
            self.catchup.len() as u64
                + count_pending(store, st_last(store) + 1, &self.policy.filter_refs())
        } else {
            count_pending(store, from, &self.policy.filter_refs())
        };
        self.num_pending = Some(n);
        n
    }

    /// The stream changed (appends, or removals when `removed`): recount, and after a
    /// purge or delete forget pending messages that are gone.
    pub fn stream_changed(&mut self, store: &dyn Store, removed: bool) {
        self.num_pending = None;
        if removed {
            let first = store.state().first_seq;
            let gone = self
                .tracker
                .forget(|seq| seq < first || !matches!(store.get(seq), Ok(Some(_))));
            if first > 0 {
                self.tracker.skip_to(first);
            }
            self.catchup.retain(|seq| *seq >= first);
            if gone > 0 {
                self.dirty = true;
            }
        }
    }

    /// A pull request (`$JS.API.CONSUMER.MSG.NEXT`), already validated against the config.
    pub fn pull(&mut self, req: PullRequest, store: &dyn Store, visible_seq: u64, now_ns: i64) {
        if !self.policy.is_pull() {
            self.out
                .push(status(&req.reply, 409, "Consumer is push based"));
            return;
        }
        let mut req = req;
        if req.no_wait && req.expires_at_ns.is_some() {
            // With `expires`, no_wait waits like a plain request and ends with 408.
            req.no_wait = false;
        }
        if req.no_wait && !self.has_deliverable(store, visible_seq) {
            self.out.push(status(&req.reply, 404, "No Messages"));
            return;
        }
        if matches!(self.policy.priority, Priority::PinnedClient { .. }) && !req.pin_id.is_empty() {
            // A pull naming a pin must name the current one (after an unpin, none is).
            match &mut self.pin {
                Some(pin) if pin.id == req.pin_id => pin.last_pull_ns = now_ns,
                _ => {
                    self.out
                        .push(status(&req.reply, 423, "Nats-Pin-Id mismatch"));
                    return;
                }
            }
        }
        if self.waiting.is_full() {
            self.out
                .push(status(&req.reply, 409, "Exceeded MaxWaiting"));
            return;
        }
        self.waiting.push(req, now_ns);
        self.deliver(store, visible_seq, now_ns);
    }

    /// An acknowledgement sent to a delivered message's ack subject. `reply`: the ack's
    /// own reply subject (double ack, or where `+NXT` messages go).
    pub fn ack(
        &mut self,
        r: AckRef,
        kind: AckKind,
        reply: Option<Bytes>,
        store: &dyn Store,
        visible_seq: u64,
        now_ns: i64,
    ) {
        self.record_ack(r, kind, reply, now_ns);
        self.deliver(store, visible_seq, now_ns);
    }

    /// An acknowledgement without the delivery it may free: a runtime that applies many acks
    /// at once calls this for each, then [`Engine::deliver`] once.
    pub fn record_ack(&mut self, r: AckRef, kind: AckKind, reply: Option<Bytes>, now_ns: i64) {
        let seq = r.stream_seq;
        let is_next = matches!(kind, AckKind::Next(_));
        match kind {
            AckKind::Ack | AckKind::Next(_) => {
                if self.policy.ack_metrics {
                    if let Some(p) = self.tracker.get(seq).copied() {
                        self.out.push(Command::AckMetric {
                            stream_seq: seq,
                            consumer_seq: p.consumer_seq,
                            deliveries: self.tracker.deliveries(seq),
                            ack_time_ns: now_ns.saturating_sub(p.delivered_ns).max(1),
                        });
                    }
                }
                for stream_seq in self.tracker.ack(seq) {
                    self.out.push(Command::Acked { stream_seq });
                    self.dirty = true;
                }
            }
            AckKind::Nak(delay) => {
                let delay_ns = delay.map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
                if self.tracker.nak(seq, delay_ns, now_ns) {
                    self.out.push(Command::Naked {
                        stream_seq: seq,
                        consumer_seq: r.consumer_seq,
                        deliveries: self.tracker.deliveries(seq),
                    });
                }
            }
            AckKind::Progress => {
                self.tracker.progress(seq, now_ns);
            }
            AckKind::Term(reason) => {
                let deliveries = self.tracker.deliveries(seq);
                if self.tracker.terminate(seq) {
                    self.dirty = true;
                    self.out.push(Command::Terminated {
                        stream_seq: seq,
                        consumer_seq: r.consumer_seq,
                        deliveries,
                        reason,
                    });
                    self.out.push(Command::Acked { stream_seq: seq });
                }
            }
        }
        // `+NXT`'s pull request is the runtime's to parse and pass to `pull`.
        if let (Some(to), false) = (reply, is_next) {
            self.out.push(Command::ConfirmAck { to });
        }
    }

    /// The reply to a flow-control request.
    pub fn flow_control_reply(
        &mut self,
        subject: &[u8],
        store: &dyn Store,
        visible_seq: u64,
        now_ns: i64,
    ) {
        if self.flow.awaiting.as_deref() == Some(subject) {
            self.flow.awaiting = None;
            self.flow.unacked_bytes = 0;
            self.deliver(store, visible_seq, now_ns);
        }
    }

    /// Timers: ack deadlines, request expiry, heartbeats, replay pacing, pause end.
    pub fn tick(&mut self, store: &dyn Store, visible_seq: u64, now_ns: i64) {
        self.tracker.expire(now_ns);
        if let (Priority::PinnedClient { timeout_ns }, Some(pin)) =
            (self.policy.priority, &mut self.pin)
        {
            let id = pin.id.clone();
            if self.waiting.iter().any(|w| w.req.pin_id == id) {
                pin.last_pull_ns = now_ns;
            } else if now_ns.saturating_sub(pin.last_pull_ns) >= timeout_ns {
                self.unpin("timeout");
            }
        }
        for stream_seq in self.tracker.drop_exhausted() {
            self.dirty = true;
            self.out.push(Command::MaxDeliveries {
                stream_seq,
                deliveries: self.policy.max_deliver.max(0) as u64,
            });
        }
        for w in self.waiting.take_expired(now_ns) {
            self.end_request(&w, 408, "Request Timeout");
        }
        for to in self.waiting.heartbeats_due(now_ns) {
            self.out.push(Command::Status {
                to,
                code: 100,
                description: "Idle Heartbeat".into(),
                headers: self.last_headers(),
                reply: None,
            });
        }
        if let Mode::Push {
            deliver_subject,
            idle_heartbeat_ns,
            ..
        } = &self.policy.mode
        {
            if *idle_heartbeat_ns > 0
                && now_ns.saturating_sub(self.last_push_ns) >= *idle_heartbeat_ns
            {
                let mut headers = self.last_headers();
                if let Some(fc) = &self.flow.awaiting {
                    headers.push((
                        "Nats-Consumer-Stalled",
                        String::from_utf8_lossy(fc).into_owned(),
                    ));
                }
                self.out.push(Command::Status {
                    to: deliver_subject.clone(),
                    code: 100,
                    description: "Idle Heartbeat".into(),
                    headers,
                    reply: None,
                });
                self.last_push_ns = now_ns;
            }
        }
        self.deliver(store, visible_seq, now_ns);
    }

    /// `Nats-Last-Consumer` / `Nats-Last-Stream` of heartbeats.
    fn last_headers(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "Nats-Last-Consumer",
                self.tracker.delivered.consumer_seq.to_string(),
            ),
            (
                "Nats-Last-Stream",
                self.tracker.delivered.stream_seq.to_string(),
            ),
        ]
    }

    /// When `tick` next has work.
    pub fn next_wakeup_ns(&self) -> Option<i64> {
        if self.more_to_deliver {
            // At once: the last pass ran out of budget, not of messages.
            return Some(i64::MIN);
        }
        let mut next = [
            self.tracker.next_deadline_ns(),
            self.waiting.next_event_ns(),
            self.replay_wake_ns,
            (self.rate_next_ns > 0).then_some(self.rate_next_ns),
            self.paused_until_ns,
            match (self.policy.priority, &self.pin) {
                (Priority::PinnedClient { timeout_ns }, Some(pin)) => {
                    Some(pin.last_pull_ns.saturating_add(timeout_ns))
                }
                _ => None,
            },
        ]
        .into_iter()
        .flatten()
        .min();
        if let Mode::Push {
            idle_heartbeat_ns, ..
        } = &self.policy.mode
        {
            if *idle_heartbeat_ns > 0 {
                let hb = self.last_push_ns.saturating_add(*idle_heartbeat_ns);
                next = Some(next.map_or(hb, |n| n.min(hb)));
            }
        }
        next
    }

    /// Ends every waiting request (the consumer is being deleted or the server stops).
    pub fn close(&mut self, code: u16, description: &str) {
        for w in self.waiting.drain() {
            self.end_request(&w, code, description);
        }
    }

    fn end_request(&mut self, w: &Waiting, code: u16, description: &str) {
        self.out.push(Command::Status {
            to: w.req.reply.clone(),
            code,
            description: description.into(),
            headers: w.pending_headers(),
            reply: None,
        });
    }

    fn has_deliverable(&mut self, store: &dyn Store, visible_seq: u64) -> bool {
        if self.tracker.has_due() || !self.catchup.is_empty() {
            return true;
        }
        let from = self.tracker.delivered.stream_seq + 1;
        from <= visible_seq && matches!(self.next_new(store, from, visible_seq), Ok(Some(_)))
    }

    fn ack_pending_full(&self) -> bool {
        self.policy.ack != AckMode::None
            && self.policy.max_ack_pending > 0
            && self.tracker.num_ack_pending() as i64 >= self.policy.max_ack_pending
    }

    /// Sends what can be sent now to waiting requests (pull) or the deliver subject (push).
    pub fn deliver(&mut self, store: &dyn Store, visible_seq: u64, now_ns: i64) {
        if self.is_paused(now_ns) {
            self.more_to_deliver = false;
            return;
        }
        // Each ack subject carries the count still pending: clients (KV watchers, history)
        // stop at zero, so it must be known before the first delivery.
        self.num_pending(store);
        self.replay_wake_ns = None;
        // The reply subject last found live in this pass: a batch to one request checks once.
        let mut interest_seen: Option<Bytes> = None;
        // Set when the budget, not the work, ends this pass: the task comes straight back.
        self.more_to_deliver = true;
        for _ in 0..DELIVER_BUDGET {
            let mut target = 0;
            let to = match &self.policy.mode {
                Mode::Pull { .. } => match self.select_request(store) {
                    Some(i) => {
                        target = i;
                        self.waiting.get(i).expect("selected").req.reply.clone()
                    }
                    None => {
                        self.more_to_deliver = false;
                        break;
                    }
                },
                Mode::Push {
                    deliver_subject, ..
                } => {
                    if !self.push_active || self.flow.unacked_bytes >= FLOW_CONTROL_MAX_BYTES {
                        self.more_to_deliver = false;
                        return;
                    }
                    if self.rate_next_ns > now_ns {
                        // Rate limited: `next_wakeup_ns` brings the task back.
                        self.more_to_deliver = false;
                        return;
                    }
                    deliver_subject.clone()
                }
            };
            let Some((msg, redelivery)) = self.next_msg(store, visible_seq, now_ns) else {
                self.more_to_deliver = false;
                break;
            };
            if self.policy.is_pull() && !self.reply_has_interest(&to, &mut interest_seen) {
                // Put the message back (as for max_bytes below) and drop the dead request
                // without a status: nobody would read it.
                if redelivery {
                    self.tracker.untake_due(msg.seq);
                }
                self.waiting.remove(target);
                continue;
            }
            let msg_size = wire_size(&msg);
            let size = msg_size + self.ack_subject_len(&msg, redelivery);
            if let Some(w) = self.waiting.get(target).filter(|_| self.policy.is_pull()) {
                if w.req.max_bytes > 0 && size > w.bytes_left {
                    // Not delivered: a redelivery goes back to the front of its queue; a
                    // new message is simply picked again next time.
                    if redelivery {
                        self.tracker.untake_due(msg.seq);
                    }
                    let w = self.waiting.remove(target).expect("selected");
                    self.end_request(&w, 409, "Message Size Exceeds MaxBytes");
                    continue;
                }
            }
            if !redelivery {
                if self.catchup_front() == Some(msg.seq) {
                    self.catchup.pop_front();
                }
                if let Some(n) = &mut self.num_pending {
                    *n = n.saturating_sub(1);
                }
            }
            let pin_id = self.pin_for(target, now_ns);
            let (consumer_seq, deliveries) = self.tracker.record_delivery(msg.seq, now_ns);
            self.dirty = true;
            let pending = self.num_pending.unwrap_or(0);
            let ack = AckRef {
                deliveries,
                stream_seq: msg.seq,
                consumer_seq,
                ts_ns: msg.ts_ns,
                pending,
            };
            let stream_seq = msg.seq;
            self.out.push(Command::Deliver {
                to,
                msg,
                ack,
                pin_id,
            });
            if self.policy.ack == AckMode::None {
                // Without acks, delivery is the last step: retention may let it go.
                self.out.push(Command::Acked { stream_seq });
            }
            match &self.policy.mode {
                Mode::Pull { .. } => {
                    self.waiting.charge(target, size, now_ns);
                }
                Mode::Push {
                    flow_control,
                    deliver_subject,
                    ..
                } => {
                    self.last_push_ns = now_ns;
                    if self.policy.rate_limit_bps > 0 {
                        let ns = (u128::from(msg_size) * 8 * 1_000_000_000
                            / u128::from(self.policy.rate_limit_bps))
                            as i64;
                        self.rate_next_ns = self.rate_next_ns.max(now_ns).saturating_add(ns);
                    }
                    if *flow_control {
                        let subject = deliver_subject.clone();
                        self.charge_flow(size, &subject);
                    }
                }
            }
        }
        // Nothing more to send now: no-wait requests end here.
        if self.policy.is_pull() {
            for w in self.waiting.take_no_wait() {
                if w.delivered == 0 {
                    self.end_request(&w, 404, "No Messages");
                } else {
                    self.end_request(&w, 408, "Request Timeout");
                }
            }
        }
    }

    fn reply_has_interest(&self, reply: &Bytes, seen: &mut Option<Bytes>) -> bool {
        let Some(check) = &self.reply_interest else {
            return true;
        };
        if seen.as_ref() == Some(reply) {
            return true;
        }
        let live = check(reply);
        if live {
            *seen = Some(reply.clone());
        }
        live
    }

    /// Length of the ack subject this delivery will carry (nats-server charges it against
    /// a pull request's `max_bytes`).
    fn ack_subject_len(&self, msg: &StoredMsg, redelivery: bool) -> u64 {
        let digits = |n: u64| n.checked_ilog10().map_or(1, |d| d as u64 + 1);
        let deliveries = if redelivery {
            self.tracker.deliveries(msg.seq) + 1
        } else {
            1
        };
        let fixed =
            crate::ack::ACK_PREFIX.len() + self.policy.stream.len() + self.policy.name.len() + 6;
        fixed as u64
            + digits(deliveries)
            + digits(msg.seq)
            + digits(self.tracker.delivered.consumer_seq + 1)
            + digits(msg.ts_ns.max(0) as u64)
            + digits(self.num_pending.unwrap_or(0))
    }

    /// The waiting request that gets the next message under the priority policy.
    fn select_request(&mut self, store: &dyn Store) -> Option<usize> {
        match self.policy.priority {
            Priority::None => (!self.waiting.is_empty()).then_some(0),
            Priority::PinnedClient { .. } => match &self.pin {
                Some(pin) => {
                    let id = pin.id.clone();
                    self.waiting.position(|w| w.req.pin_id == id)
                }
                None => (!self.waiting.is_empty()).then_some(0),
            },
            Priority::Overflow => {
                let unconditional = self
                    .waiting
                    .position(|w| w.req.min_pending == 0 && w.req.min_ack_pending == 0);
                if unconditional.is_some() {
                    return unconditional;
                }
                let pending = self.num_pending(store);
                let acks = self.tracker.num_ack_pending() as u64;
                self.waiting.position(|w| {
                    (w.req.min_pending > 0 && pending >= w.req.min_pending)
                        || (w.req.min_ack_pending > 0 && acks >= w.req.min_ack_pending)
                })
            }
            Priority::Prioritized => {
                let best = self.waiting.iter().map(|w| w.req.priority).min()?;
                self.waiting.position(|w| w.req.priority == best)
            }
        }
    }

    /// Pinned-client policy: the pin the delivery to request `target` carries, pinning that
    /// request's client first if nobody is pinned.
    fn pin_for(&mut self, target: usize, now_ns: i64) -> Option<String> {
        if !matches!(self.policy.priority, Priority::PinnedClient { .. }) {
            return None;
        }
        if self.pin.is_none() {
            self.pins_made += 1;
            let id = format!("{:016x}{:06x}", now_ns, self.pins_made);
            self.out.push(Command::Pinned { id: id.clone() });
            self.pin = Some(Pin {
                id,
                since_ns: now_ns,
                last_pull_ns: now_ns,
            });
        }
        let id = self.pin.as_ref().map(|p| p.id.clone())?;
        if let Some(w) = self.waiting.get_mut(target) {
            w.req.pin_id = id.clone();
        }
        Some(id)
    }

    /// Drops the pin (`CONSUMER.UNPIN`, or the pinned client went quiet); its waiting
    /// requests are told with `423`, and the next delivery pins a new client.
    pub fn unpin(&mut self, reason: &'static str) -> bool {
        let Some(pin) = self.pin.take() else {
            return false;
        };
        for w in self.waiting.take_where(|w| w.req.pin_id == pin.id) {
            self.out
                .push(status(&w.req.reply, 423, "Nats-Pin-Id mismatch"));
        }
        self.out.push(Command::Unpinned { id: pin.id, reason });
        true
    }

    /// `CONSUMER.RESET` (ADR-60): delivery restarts at `seq` (0: just after the ack floor).
    /// Returns the sequence delivery restarts at.
    pub fn reset(&mut self, seq: u64) -> u64 {
        let after = if seq == 0 {
            self.tracker.ack_floor.stream_seq
        } else {
            seq - 1
        };
        self.tracker.reset_after(after);
        self.catchup.clear();
        self.num_pending = None;
        self.dirty = true;
        after + 1
    }

    pub fn pin(&self) -> Option<&Pin> {
        self.pin.as_ref()
    }

    fn catchup_front(&self) -> Option<u64> {
        self.catchup.front().copied()
    }

    fn charge_flow(&mut self, size: u64, deliver_subject: &Bytes) {
        self.flow.unacked_bytes += size;
        self.flow.since_request_bytes += size;
        if self.flow.awaiting.is_none() && self.flow.since_request_bytes >= FLOW_CONTROL_EVERY_BYTES
        {
            self.flow.since_request_bytes = 0;
            self.flow.next_id += 1;
            let reply = Bytes::from(format!(
                "$JS.FC.{}.{}.{}",
                self.policy.stream, self.policy.name, self.flow.next_id
            ));
            self.flow.awaiting = Some(reply.clone());
            self.out.push(Command::Status {
                to: deliver_subject.clone(),
                code: 100,
                description: "FlowControl Request".into(),
                headers: Vec::new(),
                reply: Some(reply),
            });
        }
    }

    /// The next message: a redelivery first, then the next new one (if ack pending allows).
    /// The bool says whether it is a redelivery.
    fn next_msg(
        &mut self,
        store: &dyn Store,
        visible_seq: u64,
        now_ns: i64,
    ) -> Option<(StoredMsg, bool)> {
        while let Some(due) = self.tracker.take_due() {
            match due {
                Err(seq) => {
                    self.dirty = true;
                    self.out.push(Command::MaxDeliveries {
                        stream_seq: seq,
                        deliveries: self.policy.max_deliver.max(0) as u64,
                    });
                }
                Ok(seq) => match store.get(seq) {
                    Ok(Some(msg)) => return Some((msg, true)),
                    _ => {
                        self.tracker.forget(|s| s == seq);
                        self.dirty = true;
                    }
                },
            }
        }
        if self.ack_pending_full() {
            return None;
        }
        while let Some(&seq) = self.catchup.front() {
            if let Ok(Some(msg)) = store.get(seq) {
                return Some((msg, false));
            }
            self.catchup.pop_front();
        }
        let from = self.tracker.delivered.stream_seq + 1;
        if from > visible_seq {
            return None;
        }
        let msg = self.next_new(store, from, visible_seq).ok()??;
        if self.policy.replay_original {
            let (first_ts, started) = *self.replay_anchor.get_or_insert((msg.ts_ns, now_ns));
            let due = started.saturating_add(msg.ts_ns.saturating_sub(first_ts));
            if due > now_ns {
                self.replay_wake_ns = Some(due);
                return None;
            }
        }
        Some((msg, false))
    }

    fn next_new(
        &self,
        store: &dyn Store,
        from: u64,
        visible_seq: u64,
    ) -> Result<Option<StoredMsg>, StoreError> {
        let found = match self.policy.filters.len() {
            0 => store.next_matching(from, None)?,
            1 => store.next_matching(from, Some(&self.policy.filters[0]))?,
            _ => {
                let mut best: Option<StoredMsg> = None;
                for f in &self.policy.filters {
                    if let Some(m) = store.next_matching(from, Some(f))? {
                        if best.as_ref().is_none_or(|b| m.seq < b.seq) {
                            best = Some(m);
                        }
                    }
                }
                best
            }
        };
        Ok(found.filter(|m| m.seq <= visible_seq))
    }

    /// The delivered and ack-floor positions, for info and persistence.
    pub fn positions(&self) -> (SeqPair, SeqPair) {
        (self.tracker.delivered, self.tracker.ack_floor)
    }
}

fn st_last(store: &dyn Store) -> u64 {
    store.state().last_seq
}

fn count_pending(store: &dyn Store, from: u64, filters: &[&[u8]]) -> u64 {
    if filters.is_empty() {
        return store.num_pending(from, None);
    }
    filters
        .iter()
        .map(|f| store.num_pending(from, Some(f)))
        .sum()
}

fn last_matching(store: &dyn Store, filters: &[&[u8]]) -> Result<Option<u64>, StoreError> {
    if filters.is_empty() {
        let st = store.state();
        return Ok((st.msgs > 0).then_some(st.last_seq));
    }
    let mut best = None;
    for f in filters {
        if let Some(m) = store.last_for_subject(f)? {
            best = best.max(Some(m.seq));
        }
    }
    Ok(best)
}

/// First live message stored at or after `ts_ns` (timestamps rise with sequence).
pub fn first_at_or_after(store: &dyn Store, ts_ns: i64) -> Result<Option<u64>, StoreError> {
    let st = store.state();
    let (mut lo, mut hi) = (st.first_seq, st.last_seq);
    let mut found = None;
    while lo <= hi && lo > 0 {
        let mid = lo + (hi - lo) / 2;
        match store.next_matching(mid, None)? {
            Some(m) if m.ts_ns >= ts_ns => {
                found = Some(m.seq);
                if mid == 0 {
                    break;
                }
                hi = mid - 1;
            }
            Some(m) => lo = m.seq + 1,
            None => break,
        }
    }
    Ok(found)
}

/// The size nats-server charges against a pull request's `max_bytes`.
pub fn wire_size(msg: &StoredMsg) -> u64 {
    (msg.subject.len() + msg.headers.len() + msg.payload.len()) as u64
}
