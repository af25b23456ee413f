//! Fuzz harnesses, shared by the cargo-fuzz targets in `fuzz/` (nightly, libFuzzer) and by
//! `tests/fuzz_corpus.rs`, which replays the checked-in corpus on stable so CI keeps every
//! seed and every past crash. Keeping the logic here, not in the targets, means both run
//! exactly the same checks.
//!
//! Each harness takes arbitrary bytes and panics only when an invariant breaks, so a panic
//! is a finding. Inputs are never trusted: nothing on the input path unwraps.

use bytes::BytesMut;

use crate::{
    encode_client_op, encode_err, encode_info, encode_msg, parse_client_op, parse_headers,
    parse_server_op, status_headers, ClientOp, ConnectInfo, HeaderBlock, Limits, ParseError,
    Progress, ServerOp,
};

/// The limits the client harness parses under: the server's defaults, and tight ones so
/// that the short inputs a fuzzer favours also reach the control-line and payload limits.
const CLIENT_LIMITS: [Limits; 2] = [
    Limits {
        max_control_line: 4096,
        max_payload: 1024 * 1024,
    },
    Limits {
        max_control_line: 24,
        max_payload: 64,
    },
];

/// Feeds `data` to the client parser as a connection's reader would, whole and in chunks,
/// and checks that:
///
/// * every step makes progress (`consumed` in `1..=len`) or asks for more than it has;
/// * every borrowed slice of an op lies inside the bytes that op consumed, and PUB/HPUB
///   framing adds up (headers then payload, then CRLF);
/// * how the stream is split into reads never changes the ops, the error, or where
///   parsing stopped;
/// * every op re-encodes (`encode_client_op`) to bytes that parse back to the same op;
/// * HPUB header blocks and error reporting never panic.
pub fn client_stream(data: &[u8]) {
    for limits in &CLIENT_LIMITS {
        let whole = feed_client(data, &[data.len()], limits);
        // The first byte picks a single split point, so the fuzzer controls it.
        let split = feed_client(data, &[first_byte_cut(data), data.len()], limits);
        assert_eq!(split, whole, "one split changed the outcome");
        let chunked = feed_client(data, &chunk_cuts(data), limits);
        assert_eq!(chunked, whole, "many small reads changed the outcome");
        for op in &whole.ops {
            client_round_trip(op, limits);
        }
        if let Some(err) = &whole.error {
            // What the connection does with an error: report it, maybe close.
            let _ = err.client_message();
            let _ = err.closes_connection();
            let _ = err.to_string();
        }
    }
}

/// Checks CONNECT handling as far as the protocol crate goes: the JSON is taken from a
/// `CONNECT` line exactly as sent, `ConnectInfo::parse` never panics, and whatever it
/// accepts re-serialises and parses back to an equal value (so no field is silently
/// dropped or altered on the way, e.g. credentials).
pub fn connect_json(data: &[u8]) {
    let direct = ConnectInfo::parse(data).ok();
    if let Some(info) = &direct {
        connect_round_trip(info);
    }

    // The same bytes as the server receives them: inside a CONNECT control line. No
    // control-line limit here, so every input reaches the JSON decoder.
    let limits = Limits {
        max_control_line: usize::MAX,
        ..Limits::default()
    };
    let mut line = Vec::with_capacity(data.len() + 10);
    line.extend_from_slice(b"CONNECT ");
    line.extend_from_slice(data);
    line.extend_from_slice(b"\r\n");
    match parse_client_op(&line, &limits) {
        Ok(Progress::Complete {
            op: ClientOp::Connect(json),
            consumed,
        }) => {
            assert!(consumed > 0 && consumed <= line.len());
            let from_line = ConnectInfo::parse(json).ok();
            if !data.contains(&b'\n') {
                // A single line: the parser hands over the text minus leading blanks, which
                // JSON ignores too, so the decoder must reach the same verdict.
                assert_eq!(consumed, line.len());
                assert_eq!(json, trim_blanks_start(data));
                assert_eq!(from_line, direct, "CONNECT line and raw JSON disagree");
            }
            if let Some(info) = &from_line {
                connect_round_trip(info);
            }
        }
        Ok(other) => panic!("CONNECT line parsed as {other:?}"),
        // The line is always complete and the verb always valid.
        Err(err) => panic!("CONNECT line rejected: {err}"),
    }
}

/// Feeds `data` to the server-op parser (used by tools and raw-socket tests) whole and in
/// chunks and checks progress, split independence, and that each op re-encodes with the
/// crate's own encoders to bytes that parse back to the same op.
pub fn server_stream(data: &[u8]) {
    let whole = feed_server(data, &[data.len()]);
    let split = feed_server(data, &[first_byte_cut(data), data.len()]);
    assert_eq!(split, whole, "one split changed the outcome");
    let chunked = feed_server(data, &chunk_cuts(data));
    assert_eq!(chunked, whole, "many small reads changed the outcome");
    for op in &whole.ops {
        server_round_trip(op);
    }
}

/// What a connection made of a byte stream.
#[derive(Debug, PartialEq)]
struct ClientRun<'a> {
    ops: Vec<ClientOp<'a>>,
    /// The error that stopped parsing (the server closes the connection on it).
    error: Option<ParseError>,
    /// Bytes consumed by complete ops; the rest is waiting for more input.
    consumed: usize,
}

/// Emulates a connection's reader: after each read (ending at the next of `cuts`) it
/// parses as many ops as are complete. The unconsumed tail of the read buffer is exactly
/// `data[consumed..received]`, so ops can borrow from `data` and be compared across runs.
/// Stops at the first error, as `process()` in the server's connection does.
fn feed_client<'a>(data: &'a [u8], cuts: &[usize], limits: &Limits) -> ClientRun<'a> {
    let mut run = ClientRun {
        ops: Vec::new(),
        error: None,
        consumed: 0,
    };
    for &received in cuts {
        let received = received.clamp(run.consumed, data.len());
        loop {
            let rest = data.get(run.consumed..received).unwrap_or_default();
            match parse_client_op(rest, limits) {
                Ok(Progress::Complete { op, consumed }) => {
                    check_client_op(&op, rest, consumed);
                    run.ops.push(op);
                    run.consumed += consumed;
                }
                Ok(Progress::NeedMore { at_least }) => {
                    assert!(
                        at_least > rest.len(),
                        "NeedMore({at_least}) with {} bytes buffered",
                        rest.len()
                    );
                    break;
                }
                Err(err) => {
                    run.error = Some(err);
                    return run;
                }
            }
        }
    }
    run
}

/// Invariants of one complete client op parsed from the front of `rest`.
fn check_client_op(op: &ClientOp<'_>, rest: &[u8], consumed: usize) {
    assert!(
        consumed > 0 && consumed <= rest.len(),
        "consumed {consumed} of {}",
        rest.len()
    );
    let used = rest.get(..consumed).unwrap_or_default();
    // Every op ends with its line's LF; a PUB/HPUB with its payload's CRLF.
    assert_eq!(used.last(), Some(&b'\n'), "{op:?} does not end a line");
    let token = |t: &[u8], seps: &[u8]| {
        assert!(within(used, t), "{op:?}: token outside its op");
        assert!(!t.is_empty(), "{op:?}: empty token");
        assert!(
            !t.iter().any(|b| seps.contains(b)),
            "{op:?}: separator in token"
        );
    };
    match *op {
        ClientOp::Pub(p) => {
            token(p.subject, b" \t");
            if let Some(reply) = p.reply {
                token(reply, b" \t");
            }
            assert!(within(used, p.payload));
            if let Some(h) = p.headers {
                assert!(within(used, h));
                // Headers and payload are one contiguous body.
                assert_eq!(h.as_ptr_range().end, p.payload.as_ptr());
                check_headers(h);
            }
            // The body is followed by exactly the op's closing CRLF.
            let tail = used.get(consumed.saturating_sub(2)..).unwrap_or_default();
            assert_eq!(tail, b"\r\n", "{op:?} does not end with CRLF");
            assert_eq!(p.payload.as_ptr_range().end, tail.as_ptr());
        }
        ClientOp::Sub {
            subject,
            queue,
            sid,
        } => {
            token(subject, b" \t\r\n");
            token(sid, b" \t\r\n");
            if let Some(q) = queue {
                token(q, b" \t\r\n");
            }
        }
        ClientOp::Unsub { sid, max_msgs } => {
            token(sid, b" \t\r\n");
            assert_ne!(max_msgs, Some(0), "UNSUB 0 must mean unsubscribe now");
        }
        ClientOp::Connect(text) | ClientOp::Info(text) | ClientOp::Err(text) => {
            assert!(within(used, text));
            assert!(!text.contains(&b'\n'));
        }
        ClientOp::Ping | ClientOp::Pong | ClientOp::Ok => {}
    }
}

/// The encoder must produce what the parser reads back as the same op, under the same
/// limits: re-encoding only normalises blanks and number spellings, so it never grows the
/// control line past the limit the original already met.
fn client_round_trip(op: &ClientOp<'_>, limits: &Limits) {
    let mut out = BytesMut::new();
    encode_client_op(&mut out, op);
    match parse_client_op(&out, limits) {
        Ok(Progress::Complete {
            op: again,
            consumed,
        }) => {
            assert_eq!(&again, op, "re-encoded as {:?}", &out[..]);
            assert_eq!(consumed, out.len(), "re-encoded as {:?}", &out[..]);
        }
        other => panic!("{op:?} re-encoded as {:?} parses as {other:?}", &out[..]),
    }
}

/// A header block from HPUB: parsing must not panic, and a valid block's accessors and
/// status line behave.
fn check_headers(block: &[u8]) {
    if block.is_empty() {
        // HPUB with a header size of 0 is delivered as a plain MSG.
        return;
    }
    let Ok(parsed) = parse_headers(block) else {
        return;
    };
    let HeaderBlock {
        status,
        description,
        ..
    } = parsed;
    for (name, _value) in parsed.iter() {
        assert!(!name.is_empty(), "validated header has an empty name");
        if let Ok(name) = std::str::from_utf8(name) {
            assert!(
                parsed.get(name).is_some(),
                "listed header {name:?} not found"
            );
        }
    }
    if let Some(code) = status {
        let mut out = BytesMut::new();
        status_headers(&mut out, code, description);
        let again = parse_headers(&out);
        assert_eq!(
            again.map(|b| (b.status, b.description)),
            Ok((status, description)),
            "status line does not round-trip"
        );
    }
}

fn connect_round_trip(info: &ConnectInfo) {
    let json = match serde_json::to_vec(info) {
        Ok(json) => json,
        // Strings, bools and integers always serialise.
        Err(err) => panic!("ConnectInfo does not serialise: {err}"),
    };
    match ConnectInfo::parse(&json) {
        Ok(again) => assert_eq!(&again, info, "CONNECT JSON does not round-trip"),
        Err(err) => panic!("own JSON {json:?} rejected: {err}"),
    }
}

/// What the server-op parser made of a byte stream (its results own their bytes).
#[derive(Debug, PartialEq)]
struct ServerRun {
    ops: Vec<ServerOp>,
    error: Option<ParseError>,
    consumed: usize,
}

/// Like [`feed_client`], for `parse_server_op`, whose `Ok(None)` means "incomplete".
fn feed_server(data: &[u8], cuts: &[usize]) -> ServerRun {
    let mut run = ServerRun {
        ops: Vec::new(),
        error: None,
        consumed: 0,
    };
    for &received in cuts {
        let received = received.clamp(run.consumed, data.len());
        loop {
            let rest = data.get(run.consumed..received).unwrap_or_default();
            match parse_server_op(rest) {
                Ok(Some((op, used))) => {
                    assert!(
                        used > 0 && used <= rest.len(),
                        "used {used} of {}",
                        rest.len()
                    );
                    run.ops.push(op);
                    run.consumed += used;
                }
                Ok(None) => break,
                Err(err) => {
                    let _ = err.to_string();
                    run.error = Some(err);
                    return run;
                }
            }
        }
    }
    run
}

/// Re-encodes a server op with the encoders the server itself uses and parses it back.
fn server_round_trip(op: &ServerOp) {
    let mut out = BytesMut::new();
    let expected = match op {
        ServerOp::Info(info) => {
            encode_info(&mut out, info);
            op.clone()
        }
        ServerOp::Msg {
            subject,
            sid,
            reply,
            headers,
            payload,
        } => {
            for t in [Some(subject), Some(sid), reply.as_ref()]
                .into_iter()
                .flatten()
            {
                assert!(!t.is_empty() && !t.iter().any(|b| matches!(b, b' ' | b'\t')));
            }
            if let Some(h) = headers {
                check_headers(h);
            }
            encode_msg(
                &mut out,
                subject,
                sid,
                reply.as_deref(),
                headers.as_deref(),
                payload,
            );
            // An empty header block goes out as a plain MSG, as nats-server sends it.
            let mut expected = op.clone();
            if let ServerOp::Msg { headers, .. } = &mut expected {
                if headers.as_ref().is_some_and(Vec::is_empty) {
                    *headers = None;
                }
            }
            expected
        }
        ServerOp::Err(text) => {
            encode_err(&mut out, text);
            op.clone()
        }
        ServerOp::Ping => {
            out.extend_from_slice(crate::PING);
            op.clone()
        }
        ServerOp::Pong => {
            out.extend_from_slice(crate::PONG);
            op.clone()
        }
        ServerOp::Ok => {
            out.extend_from_slice(crate::OK);
            op.clone()
        }
    };
    assert_eq!(
        parse_server_op(&out),
        Ok(Some((expected, out.len()))),
        "{op:?} re-encoded as {:?}",
        &out[..]
    );
}

/// A read boundary chosen by the first byte, anywhere from 0 to the whole input.
fn first_byte_cut(data: &[u8]) -> usize {
    data.first()
        .map_or(0, |&b| data.len() * usize::from(b) / usize::from(u8::MAX))
}

/// Read boundaries for many small reads (1 to 64 bytes), sized by the input's own bytes
/// taken from the end, so they vary independently of the ops at the front.
fn chunk_cuts(data: &[u8]) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut at = 0;
    let mut sizes = data.iter().rev().cycle();
    while at < data.len() {
        at += 1 + usize::from(sizes.next().copied().unwrap_or(0) & 0x3f);
        cuts.push(at.min(data.len()));
    }
    cuts
}

/// Whether `inner` is a sub-slice of `outer` (compares addresses; no unsafe needed).
fn within(outer: &[u8], inner: &[u8]) -> bool {
    let (o, i) = (outer.as_ptr_range(), inner.as_ptr_range());
    i.start >= o.start && i.end <= o.end
}

fn trim_blanks_start(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harnesses_accept_typical_traffic() {
        client_stream(b"CONNECT {\"verbose\":false}\r\nSUB foo q 1\r\nPUB foo r 5\r\nhello\r\nHPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\nUNSUB 1 5\r\nPING\r\n");
        connect_json(br#"{"user":"u","pass":"p","auth_token":"t","nkey":"N","sig":"s"}"#);
        server_stream(b"INFO {\"server_id\":\"x\"}\r\nMSG foo 1 5\r\nhello\r\nHMSG foo 1 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n-ERR 'Stale Connection'\r\nPING\r\n");
    }

    #[test]
    fn harnesses_accept_garbage_and_edges() {
        for data in [
            &b""[..],
            b"\xff",
            b"P",
            b"PUB foo 999999999\r\n",
            b"HPUB foo 0 0\r\n\r\n",
            b"CONNECT\r\n",
            b"-ERR\r\n",
            b"MSG a 1 2\r\nabXX",
        ] {
            client_stream(data);
            connect_json(data);
            server_stream(data);
        }
    }

    #[test]
    fn cuts_cover_the_input() {
        assert_eq!(first_byte_cut(b""), 0);
        assert_eq!(first_byte_cut(&[255, 1, 2]), 3);
        assert_eq!(first_byte_cut(&[0, 1, 2]), 0);
        let data = [0u8; 100];
        let cuts = chunk_cuts(&data);
        assert_eq!(cuts.len(), 100, "size-1 chunks for zero bytes");
        assert_eq!(cuts.last(), Some(&100));
    }
}
