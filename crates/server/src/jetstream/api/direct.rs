//! `$JS.API.DIRECT.GET` (ADR-31): the stored message itself, with its stream, subject,
//! sequence and time in headers; problems are status headers (404, 408, 413), not JSON.
//! Batched (`batch`, `max_bytes`) and multi-subject (`multi_last`, `up_to_seq`,
//! `up_to_time`) requests stream several replies and end with a `204 EOB` marker.

use weir_jsapi::MsgGetRequest;
use weir_store::{Store, StoredMsg};

use super::handlers::lookup;
use super::worker::ApiReply;
use crate::jetstream::manager::{JetStream, StreamEntry};
use crate::jetstream::{open_header_block, time_text};

/// ADR-31: a multi-subject get may match at most this many subjects.
const MULTI_LAST_MAX_SUBJECTS: usize = 1024;
/// Bytes a batch sends when `max_bytes` is not given (nats-server's default max pending).
const BATCH_DEFAULT_MAX_BYTES: usize = 64 * 1024 * 1024;

fn status(code: u16, description: &str) -> ApiReply {
    ApiReply {
        headers: Some(format!("NATS/1.0 {code} {description}\r\n\r\n").into_bytes()),
        payload: Vec::new(),
    }
}

/// Batch bookkeeping headers for one reply.
struct BatchInfo {
    num_pending: u64,
    last_seq: u64,
}

fn reply(stream: &str, msg: StoredMsg, batch: Option<BatchInfo>) -> ApiReply {
    let mut headers = open_header_block(&msg.headers);
    let subject = String::from_utf8_lossy(&msg.subject);
    headers.extend_from_slice(
        format!(
            "Nats-Stream: {stream}\r\nNats-Subject: {subject}\r\nNats-Sequence: {}\r\nNats-Time-Stamp: {}\r\n",
            msg.seq,
            time_text(msg.ts_ns)
        )
        .as_bytes(),
    );
    if let Some(b) = batch {
        headers.extend_from_slice(
            format!(
                "Nats-Num-Pending: {}\r\nNats-Last-Sequence: {}\r\n",
                b.num_pending, b.last_seq
            )
            .as_bytes(),
        );
    }
    headers.extend_from_slice(b"\r\n");
    ApiReply {
        headers: Some(headers),
        payload: msg.payload.to_vec(),
    }
}

fn end_of_batch(num_pending: u64, last_seq: u64, up_to: Option<u64>) -> ApiReply {
    let mut headers = format!(
        "NATS/1.0 204 EOB\r\nNats-Num-Pending: {num_pending}\r\nNats-Last-Sequence: {last_seq}\r\n"
    );
    if let Some(up_to) = up_to {
        headers.push_str(&format!("Nats-UpTo-Sequence: {up_to}\r\n"));
    }
    headers.push_str("\r\n");
    ApiReply {
        headers: Some(headers.into_bytes()),
        payload: Vec::new(),
    }
}

/// First live seq whose time is at or after `ts_ns` (times grow with sequences).
fn first_seq_at_or_after(store: &dyn Store, ts_ns: i64) -> Option<u64> {
    let st = store.state();
    let (mut lo, mut hi) = (st.first_seq, st.last_seq.checked_add(1)?);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match store.next_matching(mid, None).ok().flatten() {
            Some(m) if m.ts_ns < ts_ns => lo = m.seq + 1,
            Some(_) => hi = mid,
            None => hi = mid,
        }
    }
    store.next_matching(lo, None).ok().flatten().map(|m| m.seq)
}

/// Last live seq whose time is at or before `ts_ns`.
fn last_seq_at_or_before(store: &dyn Store, ts_ns: i64) -> u64 {
    match first_seq_at_or_after(store, ts_ns.saturating_add(1)) {
        Some(seq) => seq.saturating_sub(1),
        None => store.state().last_seq,
    }
}

fn batch(stream: &str, entry: &StreamEntry, request: &MsgGetRequest) -> Vec<ApiReply> {
    let store = entry.stream.store.read();
    let filter = (!request.next_by_subj.is_empty()).then_some(request.next_by_subj.as_bytes());
    let mut start = request.seq.max(1);
    if let Some(time) = &request.start_time {
        match first_seq_at_or_after(store.as_ref(), time.unix_nanos()) {
            Some(seq) => start = start.max(seq),
            None => return vec![status(404, "Message Not Found")],
        }
    }
    let max_bytes = usize::try_from(request.max_bytes)
        .ok()
        .filter(|&b| b > 0)
        .unwrap_or(BATCH_DEFAULT_MAX_BYTES);
    let limit = usize::try_from(request.batch.max(1)).unwrap_or(usize::MAX);
    let mut pending = store.num_pending(start, filter);
    let mut replies = Vec::new();
    let (mut last_seq, mut sent_bytes) = (0u64, 0usize);
    let mut next = start;
    while replies.len() < limit {
        let Ok(Some(msg)) = store.next_matching(next, filter) else {
            break;
        };
        let size = msg.subject.len() + msg.headers.len() + msg.payload.len();
        if !replies.is_empty() && sent_bytes + size > max_bytes {
            break;
        }
        sent_bytes += size;
        pending = pending.saturating_sub(1);
        next = msg.seq + 1;
        let seq = msg.seq;
        replies.push(reply(
            stream,
            msg,
            Some(BatchInfo {
                num_pending: pending,
                last_seq,
            }),
        ));
        last_seq = seq;
    }
    if replies.is_empty() {
        return vec![status(404, "Message Not Found")];
    }
    replies.push(end_of_batch(pending, last_seq, None));
    replies
}

fn multi_last(stream: &str, entry: &StreamEntry, request: &MsgGetRequest) -> Vec<ApiReply> {
    let store = entry.stream.store.read();
    let mut up_to = if request.up_to_seq > 0 {
        request.up_to_seq
    } else {
        store.state().last_seq
    };
    if let Some(time) = &request.up_to_time {
        up_to = up_to.min(last_seq_at_or_before(store.as_ref(), time.unix_nanos()));
    }
    let filters: Vec<&[u8]> = request.multi_last.iter().map(|f| f.as_bytes()).collect();
    let seqs = store.last_seqs_per_subject(&filters, up_to);
    if seqs.len() > MULTI_LAST_MAX_SUBJECTS {
        return vec![status(413, "Too Many Results")];
    }
    let limit = usize::try_from(request.batch)
        .ok()
        .filter(|&b| b > 0)
        .unwrap_or(usize::MAX);
    let mut replies = Vec::new();
    let mut last_seq = 0;
    let total = seqs.len() as u64;
    for (i, seq) in seqs.into_iter().take(limit).enumerate() {
        let Ok(Some(msg)) = store.get(seq) else {
            continue;
        };
        replies.push(reply(
            stream,
            msg,
            Some(BatchInfo {
                num_pending: total - i as u64 - 1,
                last_seq,
            }),
        ));
        last_seq = seq;
    }
    if replies.is_empty() {
        return vec![status(404, "Message Not Found")];
    }
    let pending = total - (replies.len() as u64);
    replies.push(end_of_batch(pending, last_seq, Some(up_to)));
    replies
}

fn serve(js: &JetStream, stream: &str, request: &MsgGetRequest) -> Vec<ApiReply> {
    let Some(entry) = js.get(stream) else {
        return vec![status(404, "Message Not Found")];
    };
    if !request.multi_last.is_empty() {
        return multi_last(stream, &entry, request);
    }
    if request.batch > 0 {
        return batch(stream, &entry, request);
    }
    if request.validate_msg_get().is_err() {
        let single_by_time = request.start_time.is_some()
            && request.seq == 0
            && request.last_by_subj.is_empty()
            && request.next_by_subj.is_empty();
        if !single_by_time {
            return vec![status(408, "Bad Request")];
        }
        let store = entry.stream.store.read();
        let time_ns = request.start_time.as_ref().map_or(0, |t| t.unix_nanos());
        return match first_seq_at_or_after(store.as_ref(), time_ns)
            .and_then(|seq| store.get(seq).ok().flatten())
        {
            Some(msg) => vec![reply(stream, msg, None)],
            None => vec![status(404, "Message Not Found")],
        };
    }
    match lookup(&entry, request) {
        Ok(Some(msg)) => vec![reply(stream, msg, None)],
        Ok(None) => vec![status(404, "Message Not Found")],
        Err(_) => vec![status(500, "Server Error")],
    }
}

/// The JSON-body form.
pub fn get(js: &JetStream, stream: &str, body: &[u8]) -> Vec<ApiReply> {
    if body.is_empty() {
        return vec![status(408, "Empty Request")];
    }
    let Ok(request) = serde_json::from_slice::<MsgGetRequest>(body) else {
        return vec![status(408, "Malformed Request")];
    };
    if request == MsgGetRequest::default() {
        return vec![status(408, "Empty Request")];
    }
    serve(js, stream, &request)
}

/// The last message on `subject`, named in the request subject; the body must be empty.
pub fn get_last(js: &JetStream, stream: &str, subject: &str, body: &[u8]) -> Vec<ApiReply> {
    if !body.is_empty() {
        return vec![status(408, "Bad Request")];
    }
    let request = MsgGetRequest {
        last_by_subj: subject.to_string(),
        ..MsgGetRequest::default()
    };
    serve(js, stream, &request)
}
