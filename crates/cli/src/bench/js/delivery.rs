//! Incremental parser for what a raw-protocol JetStream consumer receives: delivered
//! messages (`MSG subject sid $JS.ACK... size`) and status messages (`HMSG inbox sid hdr total`
//! with a `NATS/1.0 404 No Messages` header line and no reply).
//!
//! For each delivered message with a reply subject it can append the ack the official
//! clients send (`PUB <reply> 0`, an empty payload) to an output buffer, straight from the
//! received control line: no allocation per message. Flow-control requests (status 100 with
//! a reply) are answered the same way.

/// Bytes of an HMSG's first header line kept to read its status.
const MAX_STATUS_LINE: usize = 256;

/// What the parsed bytes contained; counters only grow.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Deliveries {
    /// Delivered messages (data frames with or without headers).
    pub msgs: u64,
    /// Their payload bytes (headers excluded).
    pub payload_bytes: u64,
    /// Pull requests the server ended early (404 No Messages, 408 Request Timeout) or with
    /// an error status.
    pub ended_requests: u64,
    /// Error statuses (409, 503, ...) and `-ERR` lines.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Server PINGs to answer.
    pub pings: u64,
}

impl Deliveries {
    fn error(&mut self, text: impl FnOnce() -> String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(text());
        }
    }
}

/// A frame whose payload is still arriving.
#[derive(Debug)]
struct Frame {
    /// Payload plus CRLF still to read.
    remaining: usize,
    /// Header bytes still to read (HMSG only).
    header_left: usize,
    /// Payload bytes after the headers.
    body: usize,
    /// HMSG: decided when the frame ends (status or data with headers).
    headers: bool,
    /// The first header line is complete in `DeliveryParser::status_line`.
    line_done: bool,
    /// The frame had a reply subject (kept in `DeliveryParser::reply` for HMSG).
    has_reply: bool,
}

#[derive(Debug, Default)]
pub struct DeliveryParser {
    /// Append an ack for every delivered message with a reply subject.
    pub ack: bool,
    /// A control line split across reads.
    partial: Vec<u8>,
    frame: Option<Frame>,
    /// The reply subject of the HMSG being read.
    reply: Vec<u8>,
    /// The first header line of the HMSG being read.
    status_line: Vec<u8>,
}

/// Appends the empty publish that acks a delivery (or answers a flow-control request).
pub fn push_ack(out: &mut Vec<u8>, reply: &[u8]) {
    out.extend_from_slice(b"PUB ");
    out.extend_from_slice(reply);
    out.extend_from_slice(b" 0\r\n\r\n");
}

fn parse_usize(field: &[u8]) -> Option<usize> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// The status code of a header block's first line (`NATS/1.0 404 No Messages` -> 404).
pub fn status_code(line: &[u8]) -> Option<u16> {
    let rest = line.strip_prefix(b"NATS/1.0")?;
    let text = std::str::from_utf8(rest).ok()?.trim();
    text.split(' ').next()?.parse().ok()
}

impl DeliveryParser {
    pub fn new(ack: bool) -> DeliveryParser {
        DeliveryParser {
            ack,
            ..DeliveryParser::default()
        }
    }

    /// Parses `data`, counting into `out` and appending acks to `writes`.
    pub fn feed(&mut self, mut data: &[u8], out: &mut Deliveries, writes: &mut Vec<u8>) {
        loop {
            if let Some(frame) = &mut self.frame {
                if frame.header_left > 0 {
                    let k = frame.header_left.min(data.len());
                    if !frame.line_done {
                        let chunk = &data[..k];
                        let end = memchr::memchr(b'\n', chunk);
                        let take = end.unwrap_or(k);
                        let room = MAX_STATUS_LINE.saturating_sub(self.status_line.len());
                        self.status_line.extend_from_slice(&chunk[..take.min(room)]);
                        frame.line_done = end.is_some();
                    }
                    frame.header_left -= k;
                    frame.remaining -= k;
                    data = &data[k..];
                }
                let k = frame.remaining.min(data.len());
                frame.remaining -= k;
                data = &data[k..];
                if frame.remaining > 0 {
                    return;
                }
                if let Some(done) = self.frame.take() {
                    self.finish(done, out, writes);
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
                self.frame = self.control_line(line, out, writes);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.frame = self.control_line(&whole, out, writes);
                whole.clear();
                self.partial = whole;
            }
        }
    }

    /// Ends an HMSG: a status (no reply, or flow control) or a data message with headers.
    fn finish(&mut self, frame: Frame, out: &mut Deliveries, writes: &mut Vec<u8>) {
        if !frame.headers {
            return;
        }
        let line = self
            .status_line
            .strip_suffix(b"\r")
            .unwrap_or(&self.status_line);
        match status_code(line) {
            None => {
                out.msgs += 1;
                out.payload_bytes += frame.body as u64;
                if self.ack && frame.has_reply {
                    push_ack(writes, &self.reply);
                }
            }
            // Idle heartbeat, or a flow-control request to answer.
            Some(100) => {
                if frame.has_reply {
                    push_ack(writes, &self.reply);
                }
            }
            Some(404) | Some(408) => out.ended_requests += 1,
            Some(_) => {
                out.ended_requests += 1;
                out.error(|| format!("status {}", String::from_utf8_lossy(line)));
            }
        }
    }

    /// Handles one control line; returns the frame whose payload follows, if any.
    fn control_line(
        &mut self,
        line: &[u8],
        out: &mut Deliveries,
        writes: &mut Vec<u8>,
    ) -> Option<Frame> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let is_msg = line.starts_with(b"MSG ");
        let is_hmsg = line.starts_with(b"HMSG ");
        if !is_msg && !is_hmsg {
            if line == b"PING" {
                out.pings += 1;
            } else if line.starts_with(b"-ERR") {
                out.error(|| String::from_utf8_lossy(line).into_owned());
            }
            return None;
        }
        let mut fields: [&[u8]; 6] = [&[]; 6];
        let mut n = 0;
        for field in line.split(|&b| b == b' ').filter(|f| !f.is_empty()) {
            if n < fields.len() {
                fields[n] = field;
            }
            n += 1;
        }
        // MSG subject sid [reply] size | HMSG subject sid [reply] hdr total
        let (reply, header_bytes, total) = match (is_hmsg, n) {
            (false, 4) => (None, Some(0), parse_usize(fields[3])),
            (false, 5) => (Some(fields[3]), Some(0), parse_usize(fields[4])),
            (true, 5) => (None, parse_usize(fields[3]), parse_usize(fields[4])),
            (true, 6) => (
                Some(fields[3]),
                parse_usize(fields[4]),
                parse_usize(fields[5]),
            ),
            _ => (None, None, None),
        };
        let (Some(header_bytes), Some(total)) = (header_bytes, total) else {
            out.error(|| format!("malformed frame {:?}", String::from_utf8_lossy(line)));
            return None;
        };
        if header_bytes > total {
            out.error(|| format!("malformed frame {:?}", String::from_utf8_lossy(line)));
            return None;
        }
        if is_msg {
            out.msgs += 1;
            out.payload_bytes += total as u64;
            if let (true, Some(reply)) = (self.ack, reply) {
                push_ack(writes, reply);
            }
        } else {
            self.reply.clear();
            self.reply.extend_from_slice(reply.unwrap_or_default());
            self.status_line.clear();
        }
        Some(Frame {
            remaining: total + 2,
            header_left: header_bytes,
            body: total - header_bytes,
            headers: is_hmsg,
            line_done: false,
            has_reply: reply.is_some(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `HMSG subject 1 [reply] hdr total` with a one-line header block and `body`.
    fn hmsg(subject: &str, reply: &str, header: &str, body: &str) -> String {
        let headers = format!("{header}\r\n\r\n");
        let reply = if reply.is_empty() {
            String::new()
        } else {
            format!(" {reply}")
        };
        format!(
            "HMSG {subject} 1{reply} {} {}\r\n{headers}{body}\r\n",
            headers.len(),
            headers.len() + body.len()
        )
    }

    fn stream() -> Vec<u8> {
        [
            "MSG js.c.1 1 $JS.ACK.S.C.1.1.1.1700000000000000000.9 5\r\nhello\r\nPING\r\n+OK\r\n",
            &hmsg(
                "js.c.2",
                "$JS.ACK.S.C.1.2.2.1700000000000000000.8",
                "NATS/1.0",
                "world",
            ),
            "MSG js.c.3 1 3\r\nMSG\r\n",
            &hmsg("_INBOX.a", "", "NATS/1.0 408 Request Timeout", ""),
            &hmsg("_INBOX.a", "", "NATS/1.0 409 Exceeded MaxWaiting", ""),
            &hmsg(
                "deliver",
                "$JS.FC.S.x.y",
                "NATS/1.0 100 FlowControl Request",
                "",
            ),
            &hmsg("_INBOX.a", "", "NATS/1.0 100 Idle Heartbeat", ""),
        ]
        .concat()
        .into_bytes()
    }

    #[test]
    fn deliveries_statuses_and_acks_survive_any_split() {
        let stream = stream();
        for split in 0..stream.len() {
            let mut parser = DeliveryParser::new(true);
            let mut out = Deliveries::default();
            let mut writes = Vec::new();
            parser.feed(&stream[..split], &mut out, &mut writes);
            parser.feed(&stream[split..], &mut out, &mut writes);
            assert_eq!(out.msgs, 3, "split at {split}");
            assert_eq!(out.payload_bytes, 13, "split at {split}");
            assert_eq!(out.pings, 1, "split at {split}");
            assert_eq!(out.ended_requests, 2, "split at {split}");
            assert_eq!(out.errors, 1, "split at {split}: {:?}", out.first_error);
            assert_eq!(
                out.first_error.as_deref(),
                Some("status NATS/1.0 409 Exceeded MaxWaiting"),
                "split at {split}"
            );
            assert_eq!(
                String::from_utf8_lossy(&writes),
                "PUB $JS.ACK.S.C.1.1.1.1700000000000000000.9 0\r\n\r\n\
                 PUB $JS.ACK.S.C.1.2.2.1700000000000000000.8 0\r\n\r\n\
                 PUB $JS.FC.S.x.y 0\r\n\r\n",
                "split at {split}"
            );
        }
    }

    #[test]
    fn without_ack_only_flow_control_is_answered() {
        let mut parser = DeliveryParser::new(false);
        let mut out = Deliveries::default();
        let mut writes = Vec::new();
        parser.feed(&stream(), &mut out, &mut writes);
        assert_eq!(out.msgs, 3);
        assert_eq!(writes, b"PUB $JS.FC.S.x.y 0\r\n\r\n");
    }

    #[test]
    fn status_codes_parse() {
        assert_eq!(status_code(b"NATS/1.0 404 No Messages"), Some(404));
        assert_eq!(status_code(b"NATS/1.0 100"), Some(100));
        assert_eq!(status_code(b"NATS/1.0"), None);
        assert_eq!(status_code(b"NATS/1.0 "), None);
        assert_eq!(status_code(b"HTTP/1.1 200"), None);
    }

    #[test]
    fn malformed_frames_are_errors() {
        let mut parser = DeliveryParser::new(true);
        let mut out = Deliveries::default();
        let mut writes = Vec::new();
        parser.feed(b"MSG a b c d e f\r\n-ERR 'x'\r\n", &mut out, &mut writes);
        assert_eq!(out.errors, 2);
        assert_eq!(out.msgs, 0);
    }
}
