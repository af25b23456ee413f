//! Encoders. Server operations are what Weir sends; the client-op encoders exist for tests,
//! benchmarks and tools. All append to a caller-owned buffer: after one `reserve` for the
//! exact size, nothing else allocates (numbers are formatted on the stack with `itoa`).

use bytes::{BufMut, BytesMut};

use crate::{ClientOp, ServerInfo};

pub const PING: &[u8] = b"PING\r\n";
pub const PONG: &[u8] = b"PONG\r\n";
pub const OK: &[u8] = b"+OK\r\n";

/// Appends `MSG <subject> <sid> [reply] <#bytes>\r\n<payload>\r\n`, or
/// `HMSG <subject> <sid> [reply] <#header bytes> <#total bytes>\r\n<headers><payload>\r\n`
/// when `headers` is a non-empty block. An empty block is sent as MSG, as nats-server does
/// for an HPUB with a header size of 0.
pub fn encode_msg(
    out: &mut BytesMut,
    subject: &[u8],
    sid: &[u8],
    reply: Option<&[u8]>,
    headers: Option<&[u8]>,
    payload: &[u8],
) {
    let headers = headers.filter(|h| !h.is_empty());
    let verb: &[u8] = if headers.is_some() { b"HMSG " } else { b"MSG " };
    write_op(out, verb, &[subject, b" ", sid], reply, headers, payload);
}

/// Appends `PUB <subject> [reply] <#bytes>\r\n<payload>\r\n`, or HPUB when `headers` is
/// `Some` (even an empty block, so that a parsed HPUB re-encodes as HPUB).
pub fn encode_pub(
    out: &mut BytesMut,
    subject: &[u8],
    reply: Option<&[u8]>,
    headers: Option<&[u8]>,
    payload: &[u8],
) {
    let verb: &[u8] = if headers.is_some() { b"HPUB " } else { b"PUB " };
    write_op(out, verb, &[subject], reply, headers, payload);
}

/// Shared body of MSG/HMSG/PUB/HPUB: `verb` + `fixed` args, optional reply, sizes, payload.
#[inline]
fn write_op(
    out: &mut BytesMut,
    verb: &[u8],
    fixed: &[&[u8]],
    reply: Option<&[u8]>,
    headers: Option<&[u8]>,
    payload: &[u8],
) {
    let mut hdr_fmt = itoa::Buffer::new();
    let mut total_fmt = itoa::Buffer::new();
    let hdr_len = headers.map_or(0, <[u8]>::len);
    let total = total_fmt.format(hdr_len + payload.len());
    let hdr = headers.map(|_| hdr_fmt.format(hdr_len));

    let fixed_len: usize = fixed.iter().map(|a| a.len()).sum();
    let reply_len = reply.map_or(0, |r| r.len() + 1);
    let hdr_arg_len = hdr.map_or(0, |h| h.len() + 1);
    out.reserve(
        verb.len()
            + fixed_len
            + reply_len
            + hdr_arg_len
            + 1
            + total.len()
            + 2
            + hdr_len
            + payload.len()
            + 2,
    );

    out.put_slice(verb);
    for arg in fixed {
        out.put_slice(arg);
    }
    if let Some(reply) = reply {
        out.put_u8(b' ');
        out.put_slice(reply);
    }
    if let Some(hdr) = hdr {
        out.put_u8(b' ');
        out.put_slice(hdr.as_bytes());
    }
    out.put_u8(b' ');
    out.put_slice(total.as_bytes());
    out.put_slice(b"\r\n");
    if let Some(headers) = headers {
        out.put_slice(headers);
    }
    out.put_slice(payload);
    out.put_slice(b"\r\n");
}

/// Appends `INFO {json}\r\n`.
pub fn encode_info(out: &mut BytesMut, info: &ServerInfo) {
    let start = out.len();
    out.put_slice(b"INFO ");
    // Serialising plain strings, numbers and bools cannot fail; if it ever did, leave the
    // buffer as it was rather than send half a line.
    if serde_json::to_writer((&mut *out).writer(), info).is_err() {
        out.truncate(start);
        return;
    }
    out.put_slice(b"\r\n");
}

/// Appends `-ERR '<message>'\r\n`.
pub fn encode_err(out: &mut BytesMut, message: &str) {
    out.reserve(message.len() + 9);
    out.put_slice(b"-ERR '");
    out.put_slice(message.as_bytes());
    out.put_slice(b"'\r\n");
}

/// Appends the wire form of a client operation, such that [`crate::parse_client_op`] gives
/// it back.
pub fn encode_client_op(out: &mut BytesMut, op: &ClientOp<'_>) {
    let line = |out: &mut BytesMut, parts: &[&[u8]]| {
        for part in parts {
            out.put_slice(part);
        }
        out.put_slice(b"\r\n");
    };
    match *op {
        ClientOp::Connect(json) => line(out, &[b"CONNECT ", json]),
        ClientOp::Pub(p) => encode_pub(out, p.subject, p.reply, p.headers, p.payload),
        ClientOp::Sub {
            subject,
            queue: Some(queue),
            sid,
        } => line(out, &[b"SUB ", subject, b" ", queue, b" ", sid]),
        ClientOp::Sub {
            subject,
            queue: None,
            sid,
        } => line(out, &[b"SUB ", subject, b" ", sid]),
        ClientOp::Unsub {
            sid,
            max_msgs: Some(max),
        } => {
            let mut fmt = itoa::Buffer::new();
            line(out, &[b"UNSUB ", sid, b" ", fmt.format(max).as_bytes()]);
        }
        ClientOp::Unsub {
            sid,
            max_msgs: None,
        } => line(out, &[b"UNSUB ", sid]),
        ClientOp::Ping => out.put_slice(PING),
        ClientOp::Pong => out.put_slice(PONG),
        ClientOp::Info(json) => line(out, &[b"INFO ", json]),
        ClientOp::Ok => out.put_slice(OK),
        ClientOp::Err(text) => line(out, &[b"-ERR ", text]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_client_op, Limits, Progress, Publish};

    fn encoded(f: impl FnOnce(&mut BytesMut)) -> Vec<u8> {
        let mut out = BytesMut::new();
        f(&mut out);
        out.to_vec()
    }

    #[test]
    fn msg_forms() {
        assert_eq!(
            encoded(|o| encode_msg(o, b"foo", b"1", None, None, b"hello")),
            b"MSG foo 1 5\r\nhello\r\n"
        );
        assert_eq!(
            encoded(|o| encode_msg(o, b"foo", b"1", Some(b"r"), None, b"hello")),
            b"MSG foo 1 r 5\r\nhello\r\n"
        );
        assert_eq!(
            encoded(|o| encode_msg(o, b"foo", b"1", None, None, b"")),
            b"MSG foo 1 0\r\n\r\n"
        );
        // Byte-for-byte what nats-server 2.9.10 delivered for an HPUB.
        assert_eq!(
            encoded(|o| encode_msg(
                o,
                b"foo",
                b"1",
                Some(b"r"),
                Some(b"NATS/1.0\r\n\r\n"),
                b"hi"
            )),
            b"HMSG foo 1 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"
        );
        assert_eq!(
            encoded(|o| encode_msg(o, b"r", b"1", None, Some(b"NATS/1.0 503\r\n\r\n"), b"")),
            b"HMSG r 1 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
        );
        assert_eq!(
            encoded(|o| encode_msg(o, b"foo", b"1", None, Some(b""), b"hi")),
            b"MSG foo 1 2\r\nhi\r\n"
        );
    }

    #[test]
    fn msg_appends_and_reserves_exactly_once() {
        let mut out = BytesMut::with_capacity(0);
        out.put_slice(b"PONG\r\n");
        encode_msg(&mut out, b"a.b", b"22", None, None, &[7u8; 128]);
        let expected_len = 6 + b"MSG a.b 22 128\r\n".len() + 128 + 2;
        assert_eq!(out.len(), expected_len);
        assert!(out.starts_with(b"PONG\r\nMSG a.b 22 128\r\n"));
        // Encoding into spare capacity does not reallocate.
        let mut big = BytesMut::with_capacity(1024);
        let ptr = big.as_ptr();
        encode_msg(
            &mut big,
            b"a.b",
            b"22",
            Some(b"_INBOX.x"),
            None,
            &[1u8; 128],
        );
        assert_eq!(big.as_ptr(), ptr);
    }

    #[test]
    fn err_and_constants() {
        assert_eq!(
            encoded(|o| encode_err(o, "Unknown Protocol Operation")),
            b"-ERR 'Unknown Protocol Operation'\r\n"
        );
        assert_eq!(
            (PING, PONG, OK),
            (&b"PING\r\n"[..], &b"PONG\r\n"[..], &b"+OK\r\n"[..])
        );
    }

    #[test]
    fn info_is_one_json_line() {
        let info = ServerInfo {
            server_id: "NABC".into(),
            version: "2.9.10".into(),
            proto: 1,
            port: 4222,
            headers: true,
            max_payload: 1048576,
            weir_version: "0.1.0".into(),
            ..ServerInfo::default()
        };
        let out = encoded(|o| encode_info(o, &info));
        assert!(out.starts_with(b"INFO {\"server_id\":\"NABC\""));
        assert!(out.ends_with(b"}\r\n"));
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
        let json = &out[5..out.len() - 2];
        let back: ServerInfo = serde_json::from_slice(json).expect("valid json");
        assert_eq!(back, info);
    }

    #[test]
    fn client_ops_round_trip() {
        let ops = [
            ClientOp::Connect(b"{\"verbose\":false}"),
            ClientOp::Pub(Publish {
                subject: b"foo",
                reply: Some(b"bar"),
                headers: None,
                payload: b"x\r\ny",
            }),
            ClientOp::Pub(Publish {
                subject: b"foo",
                reply: None,
                headers: Some(b"NATS/1.0\r\nA: b\r\n\r\n"),
                payload: b"",
            }),
            ClientOp::Sub {
                subject: b"foo.*",
                queue: Some(b"q"),
                sid: b"9",
            },
            ClientOp::Sub {
                subject: b"foo",
                queue: None,
                sid: b"1",
            },
            ClientOp::Unsub {
                sid: b"1",
                max_msgs: Some(10),
            },
            ClientOp::Unsub {
                sid: b"1",
                max_msgs: None,
            },
            ClientOp::Ping,
            ClientOp::Pong,
            ClientOp::Info(b"{}"),
            ClientOp::Ok,
            ClientOp::Err(b"'oops'"),
        ];
        for op in ops {
            let mut out = BytesMut::new();
            encode_client_op(&mut out, &op);
            match parse_client_op(&out, &Limits::default()) {
                Ok(Progress::Complete { op: back, consumed }) => {
                    assert_eq!(back, op);
                    assert_eq!(consumed, out.len());
                }
                other => panic!("{op:?} encoded as {out:?} parsed as {other:?}"),
            }
        }
    }
}
