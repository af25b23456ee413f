//! The `Nats-Msg-Id` duplicate window: ids seen within `duplicate_window` map to the
//! sequence they were stored at. Bounded by time (entries expire in arrival order) and by a
//! hard count so a flood of unique ids cannot grow memory without limit.

use std::collections::{HashMap, VecDeque};

/// Upper bound on remembered ids, whatever the window says.
const MAX_TRACKED_IDS: usize = 1_000_000;

#[derive(Default)]
pub struct DedupWindow {
    seqs: HashMap<Box<str>, u64>,
    /// (arrival ts, id) in arrival order, for expiry.
    order: VecDeque<(i64, Box<str>)>,
}

impl DedupWindow {
    /// The sequence an id was stored at, if it is still inside the window.
    pub fn lookup(&self, msg_id: &str) -> Option<u64> {
        self.seqs.get(msg_id).copied()
    }

    pub fn record(&mut self, msg_id: &str, seq: u64, ts_ns: i64) {
        let id: Box<str> = msg_id.into();
        if self.seqs.insert(id.clone(), seq).is_none() {
            self.order.push_back((ts_ns, id));
        }
        while self.order.len() > MAX_TRACKED_IDS {
            self.pop_oldest();
        }
    }

    /// Forgets ids that arrived at or before `now_ns - window_ns`.
    pub fn expire(&mut self, now_ns: i64, window_ns: i64) {
        let cutoff = now_ns.saturating_sub(window_ns);
        while self.order.front().is_some_and(|(ts, _)| *ts <= cutoff) {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((_, id)) = self.order.pop_front() {
            self.seqs.remove(&id);
        }
    }

    pub fn len(&self) -> usize {
        self.seqs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seqs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_remembered_for_the_window_only() {
        let mut w = DedupWindow::default();
        w.record("a", 1, 100);
        w.record("b", 2, 200);
        assert_eq!(w.lookup("a"), Some(1));
        w.expire(250, 100); // cutoff 150: "a" (100) goes, "b" (200) stays
        assert_eq!(w.lookup("a"), None);
        assert_eq!(w.lookup("b"), Some(2));
        w.expire(1_000, 100);
        assert!(w.is_empty());
    }

    #[test]
    fn re_recording_an_id_keeps_one_entry() {
        let mut w = DedupWindow::default();
        w.record("a", 1, 100);
        w.record("a", 1, 100);
        assert_eq!(w.len(), 1);
        assert_eq!(w.order.len(), 1);
    }
}
