//! Read-side helpers over the `Table`, shared by both stores. None of them
//! touch message bodies: subjects are resolved through interned ids.

use crate::table::Table;
use crate::{LostData, StreamState};
use bytes::Bytes;
use std::collections::HashMap;

fn is_all(filter: Option<&[u8]>) -> bool {
    matches!(filter, None | Some(b">") | Some(b""))
}

/// First live seq >= start whose subject matches `filter`.
pub(crate) fn next_matching_seq(table: &Table, start: u64, filter: Option<&[u8]>) -> Option<u64> {
    if is_all(filter) {
        return table.next_live(start);
    }
    let filter = filter?;
    if weir_subject::is_literal(filter) {
        let id = table.subjects.lookup(filter)?;
        let e = table.subjects.entry(id);
        if e.last < start {
            return None;
        }
        if start <= e.first {
            return Some(e.first);
        }
        return table.next_where(start, e.last, |s| s == id);
    }
    // Wildcard. A consumer usually finds its next match close by: scan a
    // bounded window first, memoising each subject id's match result.
    let mut memo: HashMap<u32, bool> = HashMap::new();
    let mut is_match = |id: u32| {
        *memo
            .entry(id)
            .or_insert_with(|| weir_subject::matches(filter, table.subjects.name(id)))
    };
    let window_end = start.max(table.first_seq).saturating_add(SCAN_WINDOW);
    if let Some(seq) = table.next_where(start, window_end, &mut is_match) {
        return Some(seq);
    }
    if window_end >= table.last_seq {
        return None;
    }
    // Far or absent: bound the rest by the matching subjects' first/last seqs.
    let from = window_end + 1;
    let (lo, hi) = matching_bounds(table, filter, from)?;
    table.next_where(from.max(lo), hi, is_match)
}

/// Slots scanned before consulting the subject index for a wildcard.
const SCAN_WINDOW: u64 = 4096;

/// Smallest first and largest last seq (>= `from`) among matching subjects.
fn matching_bounds(table: &Table, filter: &[u8], from: u64) -> Option<(u64, u64)> {
    let mut lo = u64::MAX;
    let mut hi = 0;
    for id in table.subjects.ids() {
        let e = table.subjects.entry(id);
        if e.last >= from && weir_subject::matches(filter, table.subjects.name(id)) {
            lo = lo.min(e.first);
            hi = hi.max(e.last);
        }
    }
    (hi >= from).then_some((lo, hi))
}

/// Newest live seq whose subject matches `filter`.
pub(crate) fn last_seq_for(table: &Table, filter: &[u8]) -> Option<u64> {
    if is_all(Some(filter)) {
        return table.prev_where(table.first_seq, table.last_seq, |_| true);
    }
    if weir_subject::is_literal(filter) {
        let id = table.subjects.lookup(filter)?;
        return Some(table.subjects.entry(id).last);
    }
    // Recent messages first: most wildcard "last" lookups hit near the end.
    let mut memo: HashMap<u32, bool> = HashMap::new();
    let is_match = |id: u32| {
        *memo
            .entry(id)
            .or_insert_with(|| weir_subject::matches(filter, table.subjects.name(id)))
    };
    let window_start = table.last_seq.saturating_sub(SCAN_WINDOW);
    if let Some(seq) = table.prev_where(window_start, table.last_seq, is_match) {
        return Some(seq);
    }
    table
        .subjects
        .ids()
        .filter(|&id| weir_subject::matches(filter, table.subjects.name(id)))
        .map(|id| table.subjects.entry(id).last)
        .max()
}

pub(crate) fn subjects_of(table: &Table, filter: &[u8]) -> Vec<(Bytes, u64)> {
    let all = is_all(Some(filter));
    let mut v: Vec<(Bytes, u64)> = table
        .subjects
        .ids()
        .filter(|&id| all || weir_subject::matches(filter, table.subjects.name(id)))
        .map(|id| {
            (
                table.subjects.name(id).clone(),
                table.subjects.entry(id).count,
            )
        })
        .collect();
    v.sort_unstable();
    v
}

pub(crate) fn state_of(table: &Table, first_ts_ns: i64, lost: Option<&LostData>) -> StreamState {
    StreamState {
        msgs: table.msgs,
        bytes: table.bytes,
        first_seq: table.first_seq,
        first_ts_ns: if table.msgs == 0 { 0 } else { first_ts_ns },
        last_seq: table.last_seq,
        last_ts_ns: table.last_ts_ns,
        num_deleted: table.num_deleted(),
        num_subjects: table.subjects.len() as u64,
        lost: lost.cloned(),
    }
}

/// Live messages with seq >= start whose subject matches `filter` (None = all). Counts over
/// the compact sequence table; no message body is read.
pub(crate) fn num_pending(table: &Table, start: u64, filter: Option<&[u8]>) -> u64 {
    let start = start.max(table.first_seq);
    if table.msgs == 0 || start > table.last_seq {
        return 0;
    }
    let from = (start - table.first_seq) as usize;
    let range = table.slots().range(from..);
    if is_all(filter) {
        return range.filter(|s| s.is_live()).count() as u64;
    }
    let Some(filter) = filter else {
        return 0;
    };
    if weir_subject::is_literal(filter) {
        let Some(id) = table.subjects.lookup(filter) else {
            return 0;
        };
        let e = table.subjects.entry(id);
        if start <= e.first {
            return e.count;
        }
        return range.filter(|s| s.is_live() && s.subj == id).count() as u64;
    }
    let mut memo: HashMap<u32, bool> = HashMap::new();
    range
        .filter(|s| {
            s.is_live()
                && *memo
                    .entry(s.subj)
                    .or_insert_with(|| weir_subject::matches(filter, table.subjects.name(s.subj)))
        })
        .count() as u64
}

/// For every subject matching any of `filters`, its last live seq <= `up_to_seq`; ascending.
pub(crate) fn last_seqs_per_subject(table: &Table, filters: &[&[u8]], up_to_seq: u64) -> Vec<u64> {
    let matching: Vec<u32> = table
        .subjects
        .ids()
        .filter(|&id| {
            let name = table.subjects.name(id);
            filters.iter().any(|f| weir_subject::matches(f, name))
        })
        .collect();
    let mut seqs: Vec<u64> = Vec::with_capacity(matching.len());
    let mut pending: HashMap<u32, ()> = HashMap::new();
    for id in matching {
        let e = table.subjects.entry(id);
        if e.last <= up_to_seq {
            seqs.push(e.last);
        } else if e.first <= up_to_seq {
            pending.insert(id, ());
        }
    }
    // Subjects written again after `up_to_seq`: walk back from it until each is found.
    let mut end = up_to_seq.min(table.last_seq);
    while !pending.is_empty() {
        let Some(seq) = table.prev_where(table.first_seq, end, |id| pending.contains_key(&id))
        else {
            break;
        };
        if let Some(slot) = table.slot(seq) {
            pending.remove(&slot.subj);
        }
        seqs.push(seq);
        if seq == 0 {
            break;
        }
        end = seq - 1;
    }
    seqs.sort_unstable();
    seqs
}
