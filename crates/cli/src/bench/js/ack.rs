//! Incremental parser for the PubAcks a raw JetStream publisher receives on its inbox.
//!
//! Every publish carries the reply subject `INBOX.<index>`; the server answers with
//! `MSG INBOX.<index> <sid> <size>` and a JSON payload: `{"stream":"S","seq":N}` on success,
//! `{"error":{...}}` on failure. A status message (HMSG, e.g. 503 no responders) is a failure.

/// Payload bytes kept per reply: acks are tiny, and error text beyond this is not needed.
const MAX_KEPT_PAYLOAD: usize = 1024;

/// What one chunk of server output contained. `acks` is cleared by the caller between chunks.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AckBatch {
    /// Publish index of each successful ack (from the reply subject), in arrival order.
    pub acks: Vec<Option<u64>>,
    /// Replies that were not acks (JSON error, status message, unexpected payload).
    pub errors: u64,
    pub first_error: Option<String>,
    /// Server PINGs to answer.
    pub pings: u64,
}

impl AckBatch {
    fn error(&mut self, text: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(text());
        }
    }
}

/// A frame whose payload is still arriving.
#[derive(Debug)]
struct Pending {
    index: Option<u64>,
    /// The status line of an HMSG, which makes the reply a failure.
    status: Option<String>,
    /// Payload plus CRLF still to read.
    remaining: usize,
    /// Bytes before the payload proper (HMSG headers) still to skip.
    header_left: usize,
    payload: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct AckParser {
    partial: Vec<u8>,
    pending: Option<Pending>,
}

/// Success if the payload names a sequence and no error.
pub fn is_ack(payload: &[u8]) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(payload, needle).is_some();
    has(b"\"seq\"") && !has(b"\"error\"")
}

/// The publish index in the last token of a reply subject (`_INBOX.abc.42` -> 42).
pub fn reply_index(subject: &[u8]) -> Option<u64> {
    let token = subject.rsplit(|&b| b == b'.').next()?;
    std::str::from_utf8(token).ok()?.parse().ok()
}

impl AckParser {
    pub fn feed(&mut self, mut data: &[u8], out: &mut AckBatch) {
        loop {
            if let Some(pending) = &mut self.pending {
                let k = pending.remaining.min(data.len());
                let (chunk, rest) = data.split_at(k);
                data = rest;
                pending.remaining -= k;
                let skip = pending.header_left.min(chunk.len());
                pending.header_left -= skip;
                let keep = MAX_KEPT_PAYLOAD.saturating_sub(pending.payload.len());
                let body = &chunk[skip..];
                pending
                    .payload
                    .extend_from_slice(&body[..keep.min(body.len())]);
                if pending.remaining > 0 {
                    return;
                }
                if let Some(done) = self.pending.take() {
                    finish(done, out);
                }
            }
            if data.is_empty() {
                return;
            }
            let Some(end) = memchr::memchr(b'\n', data) else {
                self.partial.extend_from_slice(data);
                return;
            };
            let (line, rest) = data.split_at(end + 1);
            data = rest;
            if self.partial.is_empty() {
                self.pending = control_line(line, out);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.pending = control_line(&whole, out);
            }
        }
    }
}

fn finish(done: Pending, out: &mut AckBatch) {
    // The kept payload may end with the frame's CRLF.
    let payload = done.payload.strip_suffix(b"\r\n").unwrap_or(&done.payload);
    if let Some(status) = done.status {
        out.error(|| status);
    } else if is_ack(payload) {
        out.acks.push(done.index);
    } else {
        out.error(|| String::from_utf8_lossy(payload).into_owned());
    }
}

fn parse_usize(field: &[u8]) -> Option<usize> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Handles one control line; returns the frame whose payload follows, if any.
fn control_line(line: &[u8], out: &mut AckBatch) -> Option<Pending> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let is_hmsg = line.starts_with(b"HMSG ");
    if line.starts_with(b"MSG ") || is_hmsg {
        let fields: Vec<&[u8]> = line
            .split(|&b| b == b' ')
            .filter(|f| !f.is_empty())
            .collect();
        let total = fields.last().and_then(|f| parse_usize(f));
        let (header_bytes, min_fields) = if is_hmsg {
            (fields.iter().rev().nth(1).and_then(|f| parse_usize(f)), 5)
        } else {
            (Some(0), 4)
        };
        let (Some(total), Some(header_bytes)) = (total, header_bytes) else {
            out.error(|| format!("malformed frame {:?}", String::from_utf8_lossy(line)));
            return None;
        };
        if fields.len() < min_fields || header_bytes > total {
            out.error(|| format!("malformed frame {:?}", String::from_utf8_lossy(line)));
            return None;
        }
        let status = is_hmsg.then(|| format!("status reply: {}", String::from_utf8_lossy(line)));
        return Some(Pending {
            index: reply_index(fields[1]),
            status,
            remaining: total + 2,
            header_left: header_bytes,
            payload: Vec::new(),
        });
    }
    if line == b"PING" {
        out.pings += 1;
    } else if line.starts_with(b"-ERR") {
        out.error(|| String::from_utf8_lossy(line).into_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &[u8] = b"MSG _INBOX.a.7 1 26\r\n{\"stream\":\"BENCH\",\"seq\":1}\r\n\
        PING\r\n+OK\r\nMSG _INBOX.a.8 1 62\r\n\
        {\"error\":{\"code\":503,\"err_code\":10077,\"description\":\"no seq\"}}\r\n\
        HMSG _INBOX.a.9 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n\
        MSG _INBOX.a.10 1 26\r\n{\"stream\":\"BENCH\",\"seq\":2}\r\n";

    #[test]
    fn acks_errors_and_pings_survive_any_split() {
        for split in 0..STREAM.len() {
            let mut parser = AckParser::default();
            let mut out = AckBatch::default();
            parser.feed(&STREAM[..split], &mut out);
            parser.feed(&STREAM[split..], &mut out);
            assert_eq!(out.acks, vec![Some(7), Some(10)], "split at {split}");
            assert_eq!(out.errors, 2, "split at {split}");
            assert_eq!(out.pings, 1, "split at {split}");
            assert!(
                out.first_error.as_deref().unwrap_or("").contains("10077"),
                "split at {split}: {:?}",
                out.first_error
            );
        }
    }

    #[test]
    fn ack_needs_seq_and_no_error() {
        assert!(is_ack(br#"{"stream":"S","seq":12}"#));
        assert!(is_ack(br#"{"stream":"S", "seq": 3, "duplicate": true}"#));
        assert!(!is_ack(br#"{"error":{"code":500},"seq":1}"#));
        assert!(!is_ack(b"+OK"));
        assert!(!is_ack(b""));
    }

    #[test]
    fn reply_index_is_the_last_token() {
        assert_eq!(reply_index(b"_INBOX.abc.42"), Some(42));
        assert_eq!(reply_index(b"7"), Some(7));
        assert_eq!(reply_index(b"_INBOX.abc.x"), None);
        assert_eq!(reply_index(b""), None);
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let mut parser = AckParser::default();
        let mut out = AckBatch::default();
        parser.feed(
            b"MSG x 1 notanumber\r\nMSG\r\nHMSG a 1 9 3\r\n-ERR 'x'\r\n",
            &mut out,
        );
        assert_eq!(out.acks, Vec::<Option<u64>>::new());
        assert_eq!(out.errors, 3);
    }
}
