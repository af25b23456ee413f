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
    // Wildcard: bound the scan by the matching subjects' first/last seqs and
    // memoise each subject id's match result.
    let mut lo = u64::MAX;
    let mut hi = 0;
    let mut memo: HashMap<u32, bool> = HashMap::new();
    for id in table.subjects.ids() {
        let e = table.subjects.entry(id);
        if e.last < start {
            continue;
        }
        if weir_subject::matches(filter, table.subjects.name(id)) {
            lo = lo.min(e.first);
            hi = hi.max(e.last);
            memo.insert(id, true);
        }
    }
    if memo.is_empty() {
        return None;
    }
    table.next_where(start.max(lo), hi, |id| memo.contains_key(&id))
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
