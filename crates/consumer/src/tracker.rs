//! Delivery and acknowledgement bookkeeping of one consumer: what was delivered, what awaits
//! an ack and until when, how often each message went out, and the ack floor.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// A consumer sequence and the stream sequence it delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SeqPair {
    pub consumer_seq: u64,
    pub stream_seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMode {
    None,
    All,
    Explicit,
}

/// A delivered message awaiting its ack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingMsg {
    /// Consumer sequence of its latest delivery.
    pub consumer_seq: u64,
    /// Unix ns of its latest delivery.
    pub delivered_ns: i64,
    /// When it is redelivered unless acked (ack wait, backoff, or a NAK delay).
    pub deadline_ns: i64,
}

/// Why a message left the pending set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    Acked,
    Terminated,
    MaxDeliveries,
}

/// The ack state machine. Invariants: every pending stream seq is <= `delivered.stream_seq`
/// and > `ack_floor.stream_seq`; each pending seq has exactly one deadline entry unless it
/// is queued for redelivery.
#[derive(Debug, Clone)]
pub struct AckTracker {
    mode: AckMode,
    ack_wait_ns: i64,
    backoff_ns: Vec<i64>,
    /// Deliveries allowed per message; <= 0 is unlimited.
    max_deliver: i64,
    pub delivered: SeqPair,
    pub ack_floor: SeqPair,
    pending: BTreeMap<u64, PendingMsg>,
    /// Delivery counts above one (nats-server's `rdc`): its size is `num_redelivered`.
    redelivered: HashMap<u64, u64>,
    deadlines: BTreeSet<(i64, u64)>,
    /// Pending messages due again, oldest first.
    due: VecDeque<u64>,
}

impl AckTracker {
    pub fn new(mode: AckMode, ack_wait_ns: i64, backoff_ns: Vec<i64>, max_deliver: i64) -> Self {
        AckTracker {
            mode,
            ack_wait_ns: ack_wait_ns.max(1),
            backoff_ns,
            max_deliver,
            delivered: SeqPair::default(),
            ack_floor: SeqPair::default(),
            pending: BTreeMap::new(),
            redelivered: HashMap::new(),
            deadlines: BTreeSet::new(),
            due: VecDeque::new(),
        }
    }

    /// Changes the timing and limits (a config update); pending deadlines stay.
    pub fn set_limits(&mut self, ack_wait_ns: i64, backoff_ns: Vec<i64>, max_deliver: i64) {
        self.ack_wait_ns = ack_wait_ns.max(1);
        self.backoff_ns = backoff_ns;
        self.max_deliver = max_deliver;
    }

    /// Starts delivery after `stream_seq` (nothing delivered yet).
    pub fn start_after(&mut self, stream_seq: u64) {
        self.delivered.stream_seq = stream_seq;
        self.ack_floor.stream_seq = stream_seq;
    }

    pub fn mode(&self) -> AckMode {
        self.mode
    }

    pub fn num_ack_pending(&self) -> usize {
        self.pending.len()
    }

    pub fn num_redelivered(&self) -> usize {
        self.redelivered.len()
    }

    pub fn deliveries(&self, stream_seq: u64) -> u64 {
        self.redelivered.get(&stream_seq).copied().unwrap_or(1)
    }

    pub fn get(&self, stream_seq: u64) -> Option<&PendingMsg> {
        self.pending.get(&stream_seq)
    }

    pub fn is_pending(&self, stream_seq: u64) -> bool {
        self.pending.contains_key(&stream_seq)
    }

    pub fn pending(&self) -> impl Iterator<Item = (u64, &PendingMsg)> {
        self.pending.iter().map(|(s, p)| (*s, p))
    }

    /// Whether `stream_seq` still needs this consumer's ack (interest retention).
    pub fn needs_ack(&self, stream_seq: u64) -> bool {
        match self.mode {
            AckMode::None => stream_seq > self.delivered.stream_seq,
            _ => {
                stream_seq > self.delivered.stream_seq
                    || (stream_seq > self.ack_floor.stream_seq
                        && self.pending.contains_key(&stream_seq))
            }
        }
    }

    fn wait_for(&self, deliveries: u64) -> i64 {
        if self.backoff_ns.is_empty() {
            return self.ack_wait_ns;
        }
        let i = (deliveries.saturating_sub(1) as usize).min(self.backoff_ns.len() - 1);
        self.backoff_ns[i].max(1)
    }

    /// Records a delivery (first or repeated) at `now_ns`; returns its consumer seq and the
    /// delivery count.
    pub fn record_delivery(&mut self, stream_seq: u64, now_ns: i64) -> (u64, u64) {
        self.delivered.consumer_seq += 1;
        let cseq = self.delivered.consumer_seq;
        let redelivery = stream_seq <= self.delivered.stream_seq;
        if !redelivery {
            self.delivered.stream_seq = stream_seq;
        }
        if self.mode == AckMode::None {
            self.ack_floor = self.delivered;
            return (cseq, 1);
        }
        let deliveries = if redelivery && self.pending.contains_key(&stream_seq) {
            let n = self.redelivered.entry(stream_seq).or_insert(1);
            *n += 1;
            *n
        } else {
            1
        };
        if let Some(old) = self.pending.get(&stream_seq) {
            self.deadlines.remove(&(old.deadline_ns, stream_seq));
        }
        let deadline_ns = now_ns.saturating_add(self.wait_for(deliveries));
        self.pending.insert(
            stream_seq,
            PendingMsg {
                consumer_seq: cseq,
                delivered_ns: now_ns,
                deadline_ns,
            },
        );
        self.deadlines.insert((deadline_ns, stream_seq));
        if self.pending.len() == 1 && !redelivery {
            self.update_floor();
        }
        (cseq, deliveries)
    }

    /// Removes `stream_seq` (and, for ack-all, everything below it) from pending. Returns the
    /// stream seqs acknowledged.
    pub fn ack(&mut self, stream_seq: u64) -> Vec<u64> {
        let acked: Vec<u64> = match self.mode {
            AckMode::None => return Vec::new(),
            AckMode::Explicit => {
                if self.pending.contains_key(&stream_seq) {
                    vec![stream_seq]
                } else {
                    Vec::new()
                }
            }
            AckMode::All => self.pending.range(..=stream_seq).map(|(s, _)| *s).collect(),
        };
        for seq in &acked {
            self.remove(*seq);
        }
        if self.mode == AckMode::All && stream_seq > self.ack_floor.stream_seq {
            // Ack-all also covers delivered messages no longer pending.
            self.update_floor();
        } else if !acked.is_empty() {
            self.update_floor();
        }
        acked
    }

    /// Stops redelivering `stream_seq`. True if it was pending.
    pub fn terminate(&mut self, stream_seq: u64) -> bool {
        if !self.pending.contains_key(&stream_seq) {
            return false;
        }
        self.remove(stream_seq);
        self.update_floor();
        true
    }

    /// `-NAK`: redeliver now, or after `delay_ns`.
    pub fn nak(&mut self, stream_seq: u64, delay_ns: Option<i64>, now_ns: i64) -> bool {
        let Some(p) = self.pending.get_mut(&stream_seq) else {
            return false;
        };
        self.deadlines.remove(&(p.deadline_ns, stream_seq));
        match delay_ns {
            Some(d) if d > 0 => {
                p.deadline_ns = now_ns.saturating_add(d);
                self.deadlines.insert((p.deadline_ns, stream_seq));
            }
            _ => {
                p.deadline_ns = i64::MAX;
                if !self.due.contains(&stream_seq) {
                    self.due.push_back(stream_seq);
                }
            }
        }
        true
    }

    /// `+WPI`: restart the ack timer.
    pub fn progress(&mut self, stream_seq: u64, now_ns: i64) -> bool {
        let deliveries = self.deliveries(stream_seq);
        let wait = self.wait_for(deliveries);
        let Some(p) = self.pending.get_mut(&stream_seq) else {
            return false;
        };
        if p.deadline_ns != i64::MAX {
            self.deadlines.remove(&(p.deadline_ns, stream_seq));
            p.deadline_ns = now_ns.saturating_add(wait);
            self.deadlines.insert((p.deadline_ns, stream_seq));
        }
        true
    }

    /// Moves every message whose deadline passed onto the redelivery queue.
    pub fn expire(&mut self, now_ns: i64) {
        while let Some(&(at, seq)) = self.deadlines.first() {
            if at > now_ns {
                break;
            }
            self.deadlines.pop_first();
            if let Some(p) = self.pending.get_mut(&seq) {
                p.deadline_ns = i64::MAX;
                self.due.push_back(seq);
            }
        }
    }

    pub fn next_deadline_ns(&self) -> Option<i64> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    pub fn has_due(&self) -> bool {
        !self.due.is_empty()
    }

    /// The next message to redeliver. One that has used up `max_deliver` is dropped from
    /// pending instead and reported as `Err(seq)`.
    pub fn take_due(&mut self) -> Option<Result<u64, u64>> {
        let seq = self.due.pop_front()?;
        if !self.pending.contains_key(&seq) {
            return self.take_due();
        }
        if self.max_deliver > 0 && self.deliveries(seq) >= self.max_deliver as u64 {
            self.remove(seq);
            self.update_floor();
            return Some(Err(seq));
        }
        Some(Ok(seq))
    }

    /// Removes from the redelivery queue every message that has used up `max_deliver`, so
    /// it is reported when its ack wait ends even if nobody asks for more messages.
    pub fn drop_exhausted(&mut self) -> Vec<u64> {
        if self.max_deliver <= 0 {
            return Vec::new();
        }
        let max = self.max_deliver as u64;
        let exhausted: Vec<u64> = self
            .due
            .iter()
            .copied()
            .filter(|seq| self.pending.contains_key(seq) && self.deliveries(*seq) >= max)
            .collect();
        if exhausted.is_empty() {
            return exhausted;
        }
        self.due.retain(|seq| !exhausted.contains(seq));
        for seq in &exhausted {
            self.remove(*seq);
        }
        self.update_floor();
        exhausted
    }

    /// Puts a message back at the front of the redelivery queue (it could not be sent yet).
    pub fn untake_due(&mut self, seq: u64) {
        self.due.push_front(seq);
    }

    /// Forgets pending messages the stream no longer holds (purged or deleted).
    pub fn forget(&mut self, gone: impl Fn(u64) -> bool) -> usize {
        let gone_seqs: Vec<u64> = self.pending.keys().copied().filter(|s| gone(*s)).collect();
        for seq in &gone_seqs {
            self.remove(*seq);
        }
        if !gone_seqs.is_empty() {
            self.update_floor();
        }
        gone_seqs.len()
    }

    /// `CONSUMER.RESET`: forget every pending message and carry on after `stream_seq`, as if
    /// everything up to it was acknowledged and nothing after it delivered.
    pub fn reset_after(&mut self, stream_seq: u64) {
        self.pending.clear();
        self.redelivered.clear();
        self.deadlines.clear();
        self.due.clear();
        self.delivered.stream_seq = stream_seq;
        self.ack_floor = self.delivered;
    }

    /// Jumps past a purge: nothing below `first_seq` can be delivered any more.
    pub fn skip_to(&mut self, first_seq: u64) {
        if first_seq > self.delivered.stream_seq + 1 {
            self.delivered.stream_seq = first_seq - 1;
            if self.pending.is_empty() {
                self.ack_floor = self.delivered;
            }
        }
    }

    fn remove(&mut self, seq: u64) {
        if let Some(p) = self.pending.remove(&seq) {
            self.deadlines.remove(&(p.deadline_ns, seq));
        }
        self.redelivered.remove(&seq);
    }

    fn update_floor(&mut self) {
        match self.pending.first_key_value() {
            None => self.ack_floor = self.delivered,
            Some((&seq, p)) => {
                let floor = SeqPair {
                    consumer_seq: p.consumer_seq.saturating_sub(1),
                    stream_seq: seq - 1,
                };
                if floor.stream_seq >= self.ack_floor.stream_seq {
                    self.ack_floor.stream_seq = floor.stream_seq;
                    self.ack_floor.consumer_seq =
                        floor.consumer_seq.max(self.ack_floor.consumer_seq);
                }
            }
        }
    }

    /// Restores persisted state: pending messages get a fresh deadline from `now_ns`.
    pub fn restore(
        &mut self,
        delivered: SeqPair,
        ack_floor: SeqPair,
        pending: impl IntoIterator<Item = (u64, u64, i64)>,
        redelivered: impl IntoIterator<Item = (u64, u64)>,
        now_ns: i64,
    ) {
        self.delivered = delivered;
        self.ack_floor = ack_floor;
        self.redelivered = redelivered.into_iter().collect();
        for (seq, cseq, delivered_ns) in pending {
            let deadline_ns = now_ns.saturating_add(self.wait_for(self.deliveries(seq)));
            self.pending.insert(
                seq,
                PendingMsg {
                    consumer_seq: cseq,
                    delivered_ns,
                    deadline_ns,
                },
            );
            self.deadlines.insert((deadline_ns, seq));
        }
        self.redelivered
            .retain(|seq, _| self.pending.contains_key(seq));
    }

    pub fn redelivered_counts(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.redelivered.iter().map(|(s, n)| (*s, *n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn explicit() -> AckTracker {
        AckTracker::new(AckMode::Explicit, 30 * S, Vec::new(), -1)
    }

    #[test]
    fn explicit_acks_move_the_floor_past_contiguous_acks() {
        let mut t = explicit();
        for seq in 1..=3 {
            t.record_delivery(seq, 0);
        }
        assert_eq!(t.num_ack_pending(), 3);
        assert_eq!(t.ack(2), vec![2]);
        assert_eq!(t.ack_floor, SeqPair::default());
        assert_eq!(t.ack(1), vec![1]);
        assert_eq!(
            t.ack_floor,
            SeqPair {
                consumer_seq: 2,
                stream_seq: 2
            }
        );
        assert_eq!(t.ack(3), vec![3]);
        assert_eq!(t.ack_floor, t.delivered);
        assert!(t.ack(3).is_empty(), "a second ack does nothing");
    }

    #[test]
    fn ack_all_covers_everything_below() {
        let mut t = AckTracker::new(AckMode::All, 30 * S, Vec::new(), -1);
        for seq in [2, 4, 6] {
            t.record_delivery(seq, 0);
        }
        assert_eq!(t.ack(4), vec![2, 4]);
        assert_eq!(t.num_ack_pending(), 1);
        assert_eq!(t.ack_floor.stream_seq, 5);
    }

    #[test]
    fn ack_wait_expiry_and_max_deliver() {
        let mut t = AckTracker::new(AckMode::Explicit, S, Vec::new(), 2);
        t.record_delivery(1, 0);
        t.expire(S - 1);
        assert!(!t.has_due());
        t.expire(S);
        assert_eq!(t.take_due(), Some(Ok(1)));
        assert_eq!(t.record_delivery(1, S), (2, 2));
        assert_eq!(t.num_redelivered(), 1);
        t.expire(2 * S);
        assert_eq!(t.take_due(), Some(Err(1)), "max_deliver reached");
        assert_eq!(t.num_ack_pending(), 0);
        assert_eq!(t.num_redelivered(), 0);
        assert_eq!(t.ack_floor.stream_seq, 1);
    }

    #[test]
    fn backoff_sets_each_deadline() {
        let mut t = AckTracker::new(AckMode::Explicit, 30 * S, vec![S, 5 * S], -1);
        t.record_delivery(1, 0);
        assert_eq!(t.next_deadline_ns(), Some(S));
        t.expire(S);
        t.take_due();
        t.record_delivery(1, S);
        assert_eq!(t.next_deadline_ns(), Some(6 * S));
        t.expire(6 * S);
        t.take_due();
        t.record_delivery(1, 6 * S);
        assert_eq!(t.next_deadline_ns(), Some(11 * S), "last backoff repeats");
    }

    #[test]
    fn nak_progress_and_term() {
        let mut t = explicit();
        t.record_delivery(1, 0);
        t.record_delivery(2, 0);
        assert!(t.nak(1, None, 10));
        assert_eq!(t.take_due(), Some(Ok(1)));
        assert!(t.nak(2, Some(5 * S), 0));
        assert_eq!(t.next_deadline_ns(), Some(5 * S));
        assert!(t.progress(2, S));
        assert_eq!(t.next_deadline_ns(), Some(31 * S));
        assert!(t.terminate(2));
        assert!(!t.terminate(2));
        assert_eq!(t.num_ack_pending(), 1);
    }

    #[test]
    fn interest_needs_ack() {
        let mut t = explicit();
        t.record_delivery(1, 0);
        t.record_delivery(2, 0);
        t.ack(1);
        assert!(!t.needs_ack(1));
        assert!(t.needs_ack(2));
        assert!(t.needs_ack(3), "not delivered yet");
    }

    #[test]
    fn forget_and_skip_after_purge() {
        let mut t = explicit();
        for seq in 1..=4 {
            t.record_delivery(seq, 0);
        }
        assert_eq!(t.forget(|s| s <= 3), 3);
        assert_eq!(t.ack_floor.stream_seq, 3);
        t.ack(4);
        t.skip_to(10);
        assert_eq!(t.delivered.stream_seq, 9);
        assert_eq!(t.ack_floor.stream_seq, 9);
    }
}
