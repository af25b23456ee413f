//! Owned parser for operations a server sends (INFO, MSG, HMSG, PING, PONG, +OK, -ERR).
//! Meant for raw-socket tests and tools, not the hot path: results own their bytes.

use crate::lex::{
    frame_line, frame_payload, is_space, match_name, parse_size, split_args, ArgStyle, NameMatch,
    PayloadFrame,
};
use crate::{ParseError, ServerInfo};

/// One operation received from a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOp {
    Info(Box<ServerInfo>),
    /// MSG, or HMSG when `headers` is `Some`.
    Msg {
        subject: Vec<u8>,
        sid: Vec<u8>,
        reply: Option<Vec<u8>>,
        headers: Option<Vec<u8>>,
        payload: Vec<u8>,
    },
    Ping,
    Pong,
    Ok,
    /// The `-ERR` text with its surrounding single quotes removed.
    Err(String),
}

#[derive(Clone, Copy)]
enum Op {
    Info,
    Msg,
    Hmsg,
    Ping,
    Pong,
    Ok,
    Err,
}

/// Parses the server operation at the front of `buf`: `Ok(None)` if it is incomplete,
/// otherwise the operation and the number of bytes it used.
pub fn parse_server_op(buf: &[u8]) -> Result<Option<(ServerOp, usize)>, ParseError> {
    let (op, name): (Op, &[u8]) = match buf.first() {
        None => return Ok(None),
        Some(b'P' | b'p') => match buf.get(1) {
            None => return Ok(None),
            Some(b'I' | b'i') => (Op::Ping, b"PING"),
            Some(b'O' | b'o') => (Op::Pong, b"PONG"),
            Some(_) => return Err(ParseError::UnknownOp),
        },
        Some(b'I' | b'i') => (Op::Info, b"INFO"),
        Some(b'M' | b'm') => (Op::Msg, b"MSG"),
        Some(b'H' | b'h') => (Op::Hmsg, b"HMSG"),
        Some(b'+') => (Op::Ok, b"+OK"),
        Some(b'-') => (Op::Err, b"-ERR"),
        Some(_) => return Err(ParseError::UnknownOp),
    };
    match match_name(buf, name) {
        NameMatch::Full => {}
        NameMatch::Partial => return Ok(None),
        NameMatch::Mismatch => return Err(ParseError::UnknownOp),
    }
    let style = match op {
        Op::Msg | Op::Hmsg | Op::Err => ArgStyle::Required,
        Op::Info => ArgStyle::Optional,
        Op::Ping | Op::Pong | Op::Ok => ArgStyle::Ignored,
    };
    let Some(line) = frame_line(buf, name.len(), style, usize::MAX)? else {
        return Ok(None);
    };
    let args = buf.get(line.args_start..line.args_end).unwrap_or_default();
    let op = match op {
        Op::Msg | Op::Hmsg => return parse_msg(buf, args, line.next, matches!(op, Op::Hmsg)),
        Op::Info => ServerOp::Info(Box::new(
            serde_json::from_slice(args).map_err(|e| ParseError::InfoJson(e.to_string()))?,
        )),
        Op::Err => {
            let text = String::from_utf8_lossy(args);
            let text = text.trim();
            let unquoted = text
                .strip_prefix('\'')
                .and_then(|t| t.strip_suffix('\''))
                .unwrap_or(text);
            ServerOp::Err(unquoted.to_owned())
        }
        Op::Ping => ServerOp::Ping,
        Op::Pong => ServerOp::Pong,
        Op::Ok => ServerOp::Ok,
    };
    Ok(Some((op, line.next)))
}

/// `MSG <subject> <sid> [reply] <#bytes>` or
/// `HMSG <subject> <sid> [reply] <#header bytes> <#total bytes>`.
fn parse_msg(
    buf: &[u8],
    args: &[u8],
    start: usize,
    with_headers: bool,
) -> Result<Option<(ServerOp, usize)>, ParseError> {
    let args_err = || {
        if with_headers {
            ParseError::HmsgArgs
        } else {
            ParseError::MsgArgs
        }
    };
    let (t, n) = split_args::<5>(args, is_space).ok_or_else(args_err)?;
    let (subject, sid, reply, hdr, total) = match (with_headers, n) {
        (false, 3) => (t[0], t[1], None, None, t[2]),
        (false, 4) => (t[0], t[1], Some(t[2]), None, t[3]),
        (true, 4) => (t[0], t[1], None, Some(t[2]), t[3]),
        (true, 5) => (t[0], t[1], Some(t[2]), Some(t[3]), t[4]),
        _ => return Err(args_err()),
    };
    let total = parse_size(total).ok_or(ParseError::MsgSize)?;
    let hdr = hdr
        .map(|h| {
            parse_size(h)
                .filter(|&h| h <= total)
                .ok_or(ParseError::MsgSize)
        })
        .transpose()?;
    match frame_payload(buf, start, total)? {
        PayloadFrame::NeedMore(_) => Ok(None),
        PayloadFrame::Complete { end, next } => {
            let body = buf.get(start..end).unwrap_or_default();
            let (headers, payload) = body.split_at(hdr.unwrap_or(0).min(body.len()));
            let op = ServerOp::Msg {
                subject: subject.to_vec(),
                sid: sid.to_vec(),
                reply: reply.map(<[u8]>::to_vec),
                headers: hdr.map(|_| headers.to_vec()),
                payload: payload.to_vec(),
            };
            Ok(Some((op, next)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode_err, encode_info, encode_msg, OK, PING, PONG};
    use bytes::BytesMut;

    fn msg(
        subject: &[u8],
        sid: &[u8],
        reply: Option<&[u8]>,
        headers: Option<&[u8]>,
        payload: &[u8],
    ) -> ServerOp {
        ServerOp::Msg {
            subject: subject.to_vec(),
            sid: sid.to_vec(),
            reply: reply.map(<[u8]>::to_vec),
            headers: headers.map(<[u8]>::to_vec),
            payload: payload.to_vec(),
        }
    }

    fn one(buf: &[u8]) -> ServerOp {
        match parse_server_op(buf) {
            Ok(Some((op, used))) => {
                assert_eq!(used, buf.len(), "{buf:?}");
                op
            }
            other => panic!("{buf:?} gave {other:?}"),
        }
    }

    #[test]
    fn encode_msg_round_trips() {
        type Case<'a> = (
            &'a [u8],
            &'a [u8],
            Option<&'a [u8]>,
            Option<&'a [u8]>,
            &'a [u8],
        );
        let cases: [Case; 5] = [
            (b"foo", b"1", None, None, b"hello"),
            (b"foo.bar", b"22", Some(b"_INBOX.abc"), None, b""),
            (
                b"foo",
                b"1",
                None,
                Some(b"NATS/1.0\r\nA: b\r\n\r\n"),
                b"x\r\ny",
            ),
            (b"r", b"9", Some(b"r2"), Some(b"NATS/1.0 503\r\n\r\n"), b""),
            (b"big", b"3", None, None, &[0xAB; 70_000]),
        ];
        for (subject, sid, reply, headers, payload) in cases {
            let mut out = BytesMut::new();
            encode_msg(&mut out, subject, sid, reply, headers, payload);
            assert_eq!(one(&out), msg(subject, sid, reply, headers, payload));
            // Every strict prefix is incomplete, never an error.
            for cut in [0, 1, 4, out.len() / 2, out.len() - 1] {
                assert_eq!(parse_server_op(&out[..cut]), Ok(None), "cut at {cut}");
            }
        }
    }

    #[test]
    fn simple_ops_round_trip() {
        assert_eq!(one(PING), ServerOp::Ping);
        assert_eq!(one(PONG), ServerOp::Pong);
        assert_eq!(one(OK), ServerOp::Ok);
        let mut out = BytesMut::new();
        encode_err(&mut out, "Unknown Protocol Operation");
        assert_eq!(
            one(&out),
            ServerOp::Err("Unknown Protocol Operation".into())
        );
        let info = ServerInfo {
            server_id: "X".into(),
            max_payload: 99,
            ..ServerInfo::default()
        };
        let mut out = BytesMut::new();
        encode_info(&mut out, &info);
        assert_eq!(one(&out), ServerOp::Info(Box::new(info)));
    }

    #[test]
    fn reads_nats_server_output() {
        // nats-server puts a blank before the CRLF of INFO.
        let raw = b"INFO {\"server_id\":\"N\",\"version\":\"2.9.10\",\"port\":4222} \r\n";
        match one(raw) {
            ServerOp::Info(info) => {
                assert_eq!(info.version, "2.9.10");
                assert_eq!(info.port, 4222);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            one(b"HMSG foo 1 r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"),
            msg(b"foo", b"1", Some(b"r"), Some(b"NATS/1.0\r\n\r\n"), b"hi")
        );
        assert_eq!(
            one(b"msg foo 1 0\n\r\n"),
            msg(b"foo", b"1", None, None, b"")
        );
        assert_eq!(
            one(b"-ERR 'Stale Connection'\r\n"),
            ServerOp::Err("Stale Connection".into())
        );
        assert_eq!(one(b"-ERR unquoted\r\n"), ServerOp::Err("unquoted".into()));
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_server_op(b"PUB foo 1\r\n"),
            Err(ParseError::UnknownOp)
        );
        assert_eq!(parse_server_op(b"MSG foo 1\r\n"), Err(ParseError::MsgArgs));
        assert_eq!(
            parse_server_op(b"MSG a b c d e\r\n"),
            Err(ParseError::MsgArgs)
        );
        assert_eq!(
            parse_server_op(b"HMSG foo 1 2\r\n"),
            Err(ParseError::HmsgArgs)
        );
        assert_eq!(
            parse_server_op(b"MSG foo 1 x\r\n"),
            Err(ParseError::MsgSize)
        );
        assert_eq!(
            parse_server_op(b"HMSG foo 1 5 4\r\n"),
            Err(ParseError::MsgSize)
        );
        assert_eq!(
            parse_server_op(b"MSG foo 1 2\r\nabXX"),
            Err(ParseError::PayloadNotTerminated)
        );
        assert!(matches!(
            parse_server_op(b"INFO {nope\r\n"),
            Err(ParseError::InfoJson(_))
        ));
    }
}
