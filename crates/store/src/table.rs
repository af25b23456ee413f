//! The sequence table shared by both stores: one compact slot per sequence
//! from `first_seq` to `last_seq` (12 bytes), the subject index, counters and
//! the TTL heap. Stores keep message bodies elsewhere and use `Slot::loc` to
//! find them (a slab index in memory, a byte offset in a segment on disk).

use crate::subject_index::{SubjectIndex, NO_SUBJECT};
use crate::SubjectState;
use bytes::Bytes;
use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Subject id, or `NO_SUBJECT` for a deleted (or never stored) sequence.
    pub subj: u32,
    pub size: u32,
    pub loc: u32,
}

impl Slot {
    pub const DELETED: Slot = Slot {
        subj: NO_SUBJECT,
        size: 0,
        loc: 0,
    };
    pub fn is_live(&self) -> bool {
        self.subj != NO_SUBJECT
    }
}

/// A message just removed from the table.
pub(crate) struct Removed {
    pub seq: u64,
    pub subject: Bytes,
    pub loc: u32,
    /// Accounted size (`msg_size`) of the message.
    pub size: u32,
    /// It was the stream's first message: later `first_seq` covers it, so
    /// the file store needs no tombstone for it.
    pub was_first: bool,
}

pub(crate) type Sink<'a> = &'a mut dyn FnMut(Removed);

pub(crate) struct Table {
    /// Invariant: when `msgs > 0`, `slots[0]` is live and holds `first_seq`;
    /// when `msgs == 0`, `slots` is empty and `first_seq == last_seq + 1`.
    pub first_seq: u64,
    pub last_seq: u64,
    pub last_ts_ns: i64,
    pub msgs: u64,
    pub bytes: u64,
    slots: VecDeque<Slot>,
    pub subjects: SubjectIndex,
    /// (expires_at_ns, seq); entries for removed seqs are skipped lazily.
    ttl: BinaryHeap<Reverse<(i64, u64)>>,
    /// Messages with TTL "never": exempt from max_age.
    pub never_expire: BTreeSet<u64>,
}

impl Table {
    pub fn new(first_seq: u64) -> Self {
        let first_seq = first_seq.max(1);
        Self {
            first_seq,
            last_seq: first_seq - 1,
            last_ts_ns: 0,
            msgs: 0,
            bytes: 0,
            slots: VecDeque::new(),
            subjects: SubjectIndex::default(),
            ttl: BinaryHeap::new(),
            never_expire: BTreeSet::new(),
        }
    }

    pub fn slot(&self, seq: u64) -> Option<Slot> {
        if seq < self.first_seq || seq > self.last_seq {
            return None;
        }
        let s = *self.slots.get((seq - self.first_seq) as usize)?;
        s.is_live().then_some(s)
    }

    pub fn slots(&self) -> &VecDeque<Slot> {
        &self.slots
    }

    /// Adds message `seq` (> last_seq); sequences skipped become deleted slots.
    pub fn push(
        &mut self,
        seq: u64,
        subject: &[u8],
        size: u32,
        loc: u32,
        ts_ns: i64,
        ttl_ns: Option<i64>,
    ) {
        debug_assert!(seq > self.last_seq, "sequences strictly increase");
        if self.msgs == 0 {
            self.slots.clear();
            self.first_seq = seq;
        } else {
            for _ in self.last_seq + 1..seq {
                self.slots.push_back(Slot::DELETED);
            }
        }
        let subj = self.subjects.add(subject, seq);
        self.slots.push_back(Slot { subj, size, loc });
        self.msgs += 1;
        self.bytes += u64::from(size);
        self.last_seq = seq;
        self.last_ts_ns = ts_ns;
        match ttl_ns {
            Some(t) if t < 0 => {
                self.never_expire.insert(seq);
            }
            Some(t) => self.ttl.push(Reverse((ts_ns.saturating_add(t), seq))),
            None => {}
        }
        debug_assert_eq!(self.slots.len() as u64, self.last_seq - self.first_seq + 1);
    }

    /// Advances `last_seq` over a sequence that exists but is not live (an
    /// erased record found by recovery).
    pub fn skip_seq(&mut self, seq: u64, ts_ns: i64) {
        debug_assert!(seq > self.last_seq);
        if self.msgs == 0 {
            self.first_seq = seq + 1;
        } else {
            for _ in self.last_seq + 1..=seq {
                self.slots.push_back(Slot::DELETED);
            }
        }
        self.last_seq = seq;
        self.last_ts_ns = ts_ns;
    }

    pub fn remove(&mut self, seq: u64, sink: Sink<'_>) -> bool {
        let Some(slot) = self.slot(seq) else {
            return false;
        };
        let idx = (seq - self.first_seq) as usize;
        self.slots[idx] = Slot::DELETED;
        self.msgs -= 1;
        self.bytes -= u64::from(slot.size);
        let subject = self.subjects.name(slot.subj).clone();
        self.subjects.remove(slot.subj, seq);
        if !self.never_expire.is_empty() {
            self.never_expire.remove(&seq);
        }
        if self.msgs == 0 {
            self.slots.clear();
            self.first_seq = self.last_seq + 1;
        } else if idx == 0 {
            while self.slots.front().is_some_and(|s| !s.is_live()) {
                self.slots.pop_front();
                self.first_seq += 1;
            }
        }
        sink(Removed {
            seq,
            subject,
            loc: slot.loc,
            size: slot.size,
            was_first: idx == 0,
        });
        true
    }

    /// Removes every message in `from..=to` (seqs outside the table are
    /// ignored, so a range may describe sequences not yet seen).
    pub fn remove_range(&mut self, from: u64, to: u64, sink: Sink<'_>) {
        let mut seq = from.max(self.first_seq);
        while let Some(s) = self.next_where(seq, to, |_| true) {
            self.remove(s, sink);
            seq = s + 1;
        }
    }

    /// Points live message `seq` at a new location (after compaction).
    pub fn set_loc(&mut self, seq: u64, loc: u32) {
        if self.slot(seq).is_some() {
            let idx = (seq - self.first_seq) as usize;
            self.slots[idx].loc = loc;
        }
    }

    /// Removes every message with seq < `seq`. Beyond the end, the stream
    /// restarts at `seq` (nats-server's compact semantics).
    pub fn remove_below(&mut self, seq: u64, sink: Sink<'_>) -> u64 {
        let mut n = 0;
        while self.msgs > 0 && self.first_seq < seq {
            let first = self.first_seq;
            self.remove(first, sink);
            n += 1;
        }
        if self.msgs == 0 && seq > self.first_seq {
            self.first_seq = seq;
            self.last_seq = seq - 1;
        }
        n
    }

    /// Removes everything at once; the caller drops its own bodies.
    pub fn remove_all(&mut self) -> u64 {
        let n = self.msgs;
        self.slots.clear();
        self.subjects.clear();
        self.never_expire.clear();
        self.ttl.clear();
        self.msgs = 0;
        self.bytes = 0;
        self.first_seq = self.last_seq + 1;
        n
    }

    /// `[start, end]` clamped to the stored range, with the slot indexes it spans; None
    /// when empty.
    fn clamp(&self, start: u64, end: u64) -> Option<(u64, u64, usize, usize)> {
        let start = start.max(self.first_seq);
        let end = end.min(self.last_seq);
        if self.msgs == 0 || start > end {
            return None;
        }
        let from = (start - self.first_seq) as usize;
        let to = (end - self.first_seq) as usize;
        Some((start, end, from, to))
    }

    /// Next live seq >= start.
    pub fn next_live(&self, start: u64) -> Option<u64> {
        self.next_where(start, self.last_seq, |_| true)
    }

    /// Next live seq in [start, end] whose subject id satisfies `pred`.
    pub fn next_where(
        &self,
        start: u64,
        end: u64,
        mut pred: impl FnMut(u32) -> bool,
    ) -> Option<u64> {
        let (start, end, from, to) = self.clamp(start, end)?;
        debug_assert!(start <= end);
        self.slots
            .range(from..=to)
            .position(|s| s.is_live() && pred(s.subj))
            .map(|p| start + p as u64)
    }

    /// Previous live seq in [start, end] whose subject id satisfies `pred`.
    pub fn prev_where(
        &self,
        start: u64,
        end: u64,
        mut pred: impl FnMut(u32) -> bool,
    ) -> Option<u64> {
        let (start, end, from, to) = self.clamp(start, end)?;
        debug_assert!(start <= end);
        self.slots
            .range(from..=to)
            .rev()
            .position(|s| s.is_live() && pred(s.subj))
            .map(|p| end - p as u64)
    }

    /// Repairs stale per-subject first/last bounds left by removals.
    /// Also drops TTL heap entries of removed messages from the top, so
    /// `next_ttl_ns` is exact.
    pub fn fix_stale(&mut self) {
        while let Some(&Reverse((_, seq))) = self.ttl.peek() {
            if self.slot(seq).is_some() {
                break;
            }
            self.ttl.pop();
        }
        if !self.subjects.has_stale() {
            return;
        }
        let ids: Vec<u32> = self
            .subjects
            .take_stale()
            .into_iter()
            .filter(|&id| {
                let e = self.subjects.entry(id);
                e.count > 0 && (e.stale_first || e.stale_last)
            })
            .collect();
        if ids.len() > 32 {
            self.fix_stale_bulk();
            return;
        }
        for id in ids {
            let e = self.subjects.entry(id).clone();
            let mut first = e.first;
            let mut last = e.last;
            if e.stale_first {
                first = self
                    .next_where(e.first, e.last, |s| s == id)
                    .unwrap_or(e.first);
            }
            if e.stale_last {
                last = self
                    .prev_where(first, e.last, |s| s == id)
                    .unwrap_or(e.last);
            }
            debug_assert!(self.slot(first).is_some_and(|s| s.subj == id));
            debug_assert!(self.slot(last).is_some_and(|s| s.subj == id));
            let m = self.subjects.entry_mut(id);
            m.first = first;
            m.last = last;
            m.stale_first = false;
            m.stale_last = false;
        }
    }

    /// One forward pass fixing every stale subject (after bulk removals).
    fn fix_stale_bulk(&mut self) {
        let mut seen_first = vec![false; self.subjects.capacity_ids()];
        for (i, s) in self.slots.iter().enumerate() {
            if !s.is_live() {
                continue;
            }
            let seq = self.first_seq + i as u64;
            let e = self.subjects.entry_mut(s.subj);
            if e.stale_first && !seen_first[s.subj as usize] {
                seen_first[s.subj as usize] = true;
                e.first = seq;
            }
            if e.stale_last {
                e.last = seq;
            }
        }
        let ids: Vec<u32> = self.subjects.ids().collect();
        for id in ids {
            let e = self.subjects.entry_mut(id);
            e.stale_first = false;
            e.stale_last = false;
        }
    }

    pub fn subject_state(&self, subject: &[u8]) -> Option<SubjectState> {
        let id = self.subjects.lookup(subject)?;
        let e = self.subjects.entry(id);
        debug_assert!(!e.stale_first && !e.stale_last);
        Some(SubjectState {
            first_seq: e.first,
            last_seq: e.last,
            msgs: e.count,
        })
    }

    /// Pops TTL entries due at `now_ns` whose message is still stored.
    pub fn pop_due_ttl(&mut self, now_ns: i64) -> Vec<u64> {
        let mut out = Vec::new();
        while let Some(&Reverse((at, seq))) = self.ttl.peek() {
            if at > now_ns {
                break;
            }
            self.ttl.pop();
            if self.slot(seq).is_some() {
                out.push(seq);
            }
        }
        out
    }

    pub fn next_ttl_ns(&self) -> Option<i64> {
        self.ttl.peek().map(|r| r.0 .0)
    }

    pub fn ttl_entries(&self) -> impl Iterator<Item = (i64, u64)> + '_ {
        self.ttl
            .iter()
            .map(|r| r.0)
            .filter(|&(_, seq)| self.slot(seq).is_some())
    }

    pub fn add_ttl(&mut self, at_ns: i64, seq: u64) {
        self.ttl.push(Reverse((at_ns, seq)));
    }

    /// Rebuilds from a snapshot: `slots[i]` holds `first_seq + i`; subject
    /// names must have been `install`ed. Returns false if a slot names an
    /// unknown subject.
    pub fn load(
        &mut self,
        first_seq: u64,
        last_seq: u64,
        last_ts_ns: i64,
        slots: VecDeque<Slot>,
    ) -> bool {
        self.first_seq = first_seq;
        self.last_seq = last_seq;
        self.last_ts_ns = last_ts_ns;
        self.msgs = 0;
        self.bytes = 0;
        for (i, s) in slots.iter().enumerate() {
            if s.is_live() {
                if !self.subjects.count_loaded(s.subj, first_seq + i as u64) {
                    return false;
                }
                self.msgs += 1;
                self.bytes += u64::from(s.size);
            }
        }
        self.slots = slots;
        self.subjects.finish_load();
        true
    }

    /// Interior deleted seqs (between first and last).
    pub fn deleted(&self) -> Vec<u64> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.is_live())
            .map(|(i, _)| self.first_seq + i as u64)
            .collect()
    }

    pub fn num_deleted(&self) -> u64 {
        if self.msgs == 0 {
            0
        } else {
            self.last_seq - self.first_seq + 1 - self.msgs
        }
    }

    /// Expensive consistency check for tests and debug builds.
    #[cfg(debug_assertions)]
    pub fn check_invariants(&self) {
        if self.msgs == 0 {
            assert!(self.slots.is_empty());
            assert_eq!(self.first_seq, self.last_seq + 1);
            assert_eq!(self.subjects.len(), 0);
            return;
        }
        assert_eq!(self.slots.len() as u64, self.last_seq - self.first_seq + 1);
        assert!(self.slots[0].is_live());
        let live = self.slots.iter().filter(|s| s.is_live()).count() as u64;
        assert_eq!(live, self.msgs);
        let total: u64 = self
            .subjects
            .ids()
            .map(|id| self.subjects.entry(id).count)
            .sum();
        assert_eq!(total, self.msgs);
    }
}
