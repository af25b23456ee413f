//! Limit, purge and expiry decisions, shared by both stores. They only edit
//! the `Table`; the stores react to each removal through the sink.

use bytes::Bytes;

use crate::table::{Sink, Table};
use crate::{PurgeRequest, StoreError, StoreLimits};

/// `-1` / `0` mean unlimited.
pub(crate) fn limit(v: i64) -> Option<u64> {
    (v > 0).then_some(v as u64)
}

/// Discard-old enforcement after appending a message on `subject`.
pub(crate) fn enforce_after_append(
    table: &mut Table,
    limits: &StoreLimits,
    subject: &[u8],
    sink: Sink<'_>,
) {
    if let Some(max) = limit(limits.max_msgs_per_subject) {
        if let Some(id) = table.subjects.lookup(subject) {
            while table.subjects.entry(id).count > max {
                table.fix_stale();
                let first = table.subjects.entry(id).first;
                table.remove(first, sink);
            }
        }
    }
    enforce_totals(table, limits, sink);
}

fn enforce_totals(table: &mut Table, limits: &StoreLimits, sink: Sink<'_>) {
    if let Some(max) = limit(limits.max_msgs) {
        while table.msgs > max {
            let first = table.first_seq;
            table.remove(first, sink);
        }
    }
    if let Some(max) = limit(limits.max_bytes) {
        while table.bytes > max {
            let first = table.first_seq;
            table.remove(first, sink);
        }
    }
}

/// Applies every limit at once (after `set_limits` or at open).
pub(crate) fn enforce_all(table: &mut Table, limits: &StoreLimits, sink: Sink<'_>) {
    if let Some(max) = limit(limits.max_msgs_per_subject) {
        let over = table
            .subjects
            .ids()
            .any(|id| table.subjects.entry(id).count > max);
        if over {
            // Walk oldest to newest, dropping a message while its subject
            // still has more than `max`: exactly the oldest extras go.
            let mut seq = table.first_seq;
            while let Some(s) = table.next_live(seq) {
                let slot = table.slot(s).map(|x| x.subj);
                if let Some(id) = slot {
                    if table.subjects.entry(id).count > max {
                        table.remove(s, sink);
                    }
                }
                seq = s + 1;
            }
            table.fix_stale();
        }
    }
    enforce_totals(table, limits, sink);
}

fn full_wildcard(f: &[u8]) -> bool {
    f == b">"
}

/// Matching subject ids for `filter` (None = all), as a bitmap by id.
pub(crate) fn matching_ids(table: &Table, filter: &[u8]) -> Vec<bool> {
    let mut m = vec![false; table.subjects.capacity_ids()];
    for id in table.subjects.ids() {
        if weir_subject::matches(filter, table.subjects.name(id)) {
            m[id as usize] = true;
        }
    }
    m
}

/// Tells the sink that everything went (seq 0 = "all").
fn sink_all(sink: Sink<'_>) {
    sink(crate::table::Removed {
        seq: 0,
        subject: bytes::Bytes::new(),
        loc: 0,
        size: 0,
        was_first: true,
    });
}

pub(crate) fn purge(
    table: &mut Table,
    req: &PurgeRequest,
    sink: Sink<'_>,
) -> Result<u64, StoreError> {
    if req.keep.is_some() && req.up_to_seq.is_some() {
        return Err(StoreError::InvalidArgument(
            "purge: keep and up_to_seq are exclusive".into(),
        ));
    }
    let filter = req
        .filter
        .as_deref()
        .filter(|f| !f.is_empty() && !full_wildcard(f));
    let n = match filter {
        None => match (req.keep, req.up_to_seq) {
            (Some(keep), _) => {
                let mut n = 0;
                while table.msgs > keep {
                    let first = table.first_seq;
                    table.remove(first, sink);
                    n += 1;
                }
                n
            }
            (None, Some(seq)) => table.remove_below(seq, sink),
            (None, None) => {
                let n = table.remove_all();
                sink_all(sink);
                n
            }
        },
        Some(f) => {
            let ids = matching_ids(table, f);
            let total: u64 = table
                .subjects
                .ids()
                .filter(|&id| ids[id as usize])
                .map(|id| table.subjects.entry(id).count)
                .sum();
            let mut to_remove = match req.keep {
                Some(keep) => total.saturating_sub(keep),
                None => total,
            };
            let end = match req.up_to_seq {
                Some(s) => s.saturating_sub(1),
                None => table.last_seq,
            };
            let mut n = 0;
            let mut seq = table.first_seq;
            while to_remove > 0 {
                let Some(s) = table.next_where(seq, end, |id| ids[id as usize]) else {
                    break;
                };
                table.remove(s, sink);
                n += 1;
                to_remove -= 1;
                seq = s + 1;
            }
            n
        }
    };
    table.fix_stale();
    Ok(n)
}

/// Removes messages whose TTL is due, then those older than `max_age`.
/// `ts_of` reads a live message's timestamp, `headers_of` its header block (read only for
/// a subject's last message, see [`crate::ExpiredMsg::last_headers`]).
pub(crate) fn expire(
    table: &mut Table,
    limits: &StoreLimits,
    now_ns: i64,
    ts_of: &mut dyn FnMut(&Table, u64) -> Result<i64, StoreError>,
    headers_of: &mut dyn FnMut(&Table, u64) -> Result<Bytes, StoreError>,
    sink: Sink<'_>,
) -> Result<Vec<crate::ExpiredMsg>, StoreError> {
    let mut out = Vec::new();
    for seq in table.pop_due_ttl(now_ns) {
        if let Some(msg) = expire_one(table, seq, true, headers_of, sink)? {
            out.push(msg);
        }
    }
    if let Some(max_age) = limit(limits.max_age_ns) {
        let cutoff = now_ns.saturating_sub(max_age as i64);
        let mut seq = table.first_seq;
        while let Some(s) = table.next_live(seq) {
            seq = s + 1;
            if table.never_expire.contains(&s) {
                continue;
            }
            // Timestamps are appended in (near) order: stop at the first young one.
            if ts_of(table, s)? > cutoff {
                break;
            }
            if let Some(msg) = expire_one(table, s, false, headers_of, sink)? {
                out.push(msg);
            }
        }
    }
    table.fix_stale();
    Ok(out)
}

fn expire_one(
    table: &mut Table,
    seq: u64,
    by_ttl: bool,
    headers_of: &mut dyn FnMut(&Table, u64) -> Result<Bytes, StoreError>,
    sink: Sink<'_>,
) -> Result<Option<crate::ExpiredMsg>, StoreError> {
    let Some(slot) = table.slot(seq) else {
        return Ok(None);
    };
    let last_headers = if table.subjects.entry(slot.subj).count == 1 {
        Some(headers_of(table, seq)?)
    } else {
        None
    };
    let mut subject = None;
    table.remove(seq, &mut |r| {
        subject = Some(r.subject.clone());
        sink(r)
    });
    Ok(subject.map(|subject| crate::ExpiredMsg {
        seq,
        subject,
        by_ttl,
        last_headers,
    }))
}

/// Earliest time `expire` could remove something.
pub(crate) fn next_expiry(
    table: &Table,
    limits: &StoreLimits,
    first_ts_ns: Option<i64>,
) -> Option<i64> {
    let by_age =
        limit(limits.max_age_ns).and_then(|a| first_ts_ns.map(|ts| ts.saturating_add(a as i64)));
    match (table.next_ttl_ns(), by_age) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
