//! Zero-copy parser for operations a client sends (CONNECT, PUB, HPUB, SUB, UNSUB, PING,
//! PONG, and the INFO/+OK/-ERR that nats-server tolerates from clients).
//!
//! The parser is stateless: it is handed the unconsumed front of the read buffer and either
//! returns one complete operation borrowing from it, or says how many bytes it needs. A
//! control line is searched with `memchr`; once a PUB's control line is known the exact
//! size of the whole operation is known, so the caller can wait for it in one step.

use crate::lex::{
    frame_line, frame_payload, is_space, is_space_or_crlf, match_name, parse_size, split_args,
    ArgStyle, NameMatch, PayloadFrame,
};
use crate::{Limits, ParseError};

/// One operation received from a client, borrowing from the read buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientOp<'a> {
    /// The JSON text after `CONNECT` (may be empty or invalid: the server decides).
    Connect(&'a [u8]),
    /// PUB and HPUB.
    Pub(Publish<'a>),
    Sub {
        subject: &'a [u8],
        queue: Option<&'a [u8]>,
        sid: &'a [u8],
    },
    /// `max_msgs` is `Some(n)` only for a positive `n`. nats-server treats a missing, zero
    /// or unparsable maximum alike (unsubscribe now), and so does `None`.
    Unsub {
        sid: &'a [u8],
        max_msgs: Option<u64>,
    },
    Ping,
    Pong,
    /// Clients may send INFO; nats-server parses its JSON and closes on invalid JSON.
    Info(&'a [u8]),
    /// `+OK` from a client; ignored.
    Ok,
    /// The text after `-ERR ` from a client; nats-server logs it and closes the connection.
    Err(&'a [u8]),
}

/// A PUB or HPUB. `headers` and `payload` are contiguous in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Publish<'a> {
    pub subject: &'a [u8],
    pub reply: Option<&'a [u8]>,
    /// The header block (`NATS/1.0...\r\n\r\n`), for HPUB only. An HPUB with a header size
    /// of 0 yields `Some(b"")`; nats-server delivers such a message as a plain MSG.
    pub headers: Option<&'a [u8]>,
    pub payload: &'a [u8],
}

/// The outcome of one parse attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress<'a> {
    /// An operation; `consumed` bytes of the buffer (including the trailing CRLF) belong to it.
    Complete { op: ClientOp<'a>, consumed: usize },
    /// Try again once the buffer holds at least `at_least` bytes (always more than it has).
    /// Exact once a PUB/HPUB control line has been parsed: line + payload + 2.
    NeedMore { at_least: usize },
}

#[derive(Clone, Copy)]
enum Op {
    Pub,
    Hpub,
    Sub,
    Unsub,
    Ping,
    Pong,
    Connect,
    Info,
    Ok,
    Err,
}

/// Parses the operation at the front of `buf`.
///
/// Errors are protocol violations after which the connection cannot be resynchronised;
/// see [`ParseError::client_message`] and [`ParseError::closes_connection`].
pub fn parse_client_op<'a>(buf: &'a [u8], limits: &Limits) -> Result<Progress<'a>, ParseError> {
    let Some((op, name_len)) = lex_op(buf)? else {
        return Ok(need_more(buf));
    };
    let style = match op {
        Op::Pub | Op::Hpub | Op::Sub | Op::Unsub | Op::Err => ArgStyle::Required,
        Op::Connect | Op::Info => ArgStyle::Optional,
        Op::Ping | Op::Pong | Op::Ok => ArgStyle::Ignored,
    };
    let Some(line) = frame_line(buf, name_len, style, limits.max_control_line)? else {
        return Ok(need_more(buf));
    };
    let args = buf.get(line.args_start..line.args_end).unwrap_or_default();
    let op = match op {
        Op::Pub => return parse_pub(buf, args, line.next, limits),
        Op::Hpub => return parse_hpub(buf, args, line.next, limits),
        Op::Sub => parse_sub(args)?,
        Op::Unsub => parse_unsub(args)?,
        Op::Connect => ClientOp::Connect(args),
        Op::Info => ClientOp::Info(args),
        Op::Err => ClientOp::Err(args),
        Op::Ping => ClientOp::Ping,
        Op::Pong => ClientOp::Pong,
        Op::Ok => ClientOp::Ok,
    };
    Ok(Progress::Complete {
        op,
        consumed: line.next,
    })
}

fn need_more(buf: &[u8]) -> Progress<'_> {
    Progress::NeedMore {
        at_least: buf.len() + 1,
    }
}

/// Recognises the operation name; `Ok(None)` if `buf` ends inside a valid name. Like
/// nats-server, a byte that cannot continue any name is rejected at once.
#[inline]
fn lex_op(buf: &[u8]) -> Result<Option<(Op, usize)>, ParseError> {
    let (op, name): (Op, &[u8]) = match buf.first() {
        None => return Ok(None),
        Some(b'P' | b'p') => match buf.get(1) {
            None => return Ok(None),
            Some(b'U' | b'u') => (Op::Pub, b"PUB"),
            Some(b'I' | b'i') => (Op::Ping, b"PING"),
            Some(b'O' | b'o') => (Op::Pong, b"PONG"),
            Some(_) => return Err(ParseError::UnknownOp),
        },
        Some(b'H' | b'h') => (Op::Hpub, b"HPUB"),
        Some(b'S' | b's') => (Op::Sub, b"SUB"),
        Some(b'U' | b'u') => (Op::Unsub, b"UNSUB"),
        Some(b'C' | b'c') => (Op::Connect, b"CONNECT"),
        Some(b'I' | b'i') => (Op::Info, b"INFO"),
        Some(b'+') => (Op::Ok, b"+OK"),
        Some(b'-') => (Op::Err, b"-ERR"),
        Some(_) => return Err(ParseError::UnknownOp),
    };
    match match_name(buf, name) {
        NameMatch::Full => Ok(Some((op, name.len()))),
        NameMatch::Partial => Ok(None),
        NameMatch::Mismatch => Err(ParseError::UnknownOp),
    }
}

/// `PUB <subject> [reply] <#bytes>`; the payload starts at `start`.
#[inline]
fn parse_pub<'a>(
    buf: &'a [u8],
    args: &'a [u8],
    start: usize,
    limits: &Limits,
) -> Result<Progress<'a>, ParseError> {
    let (t, n) = split_args::<3>(args, is_space).ok_or(ParseError::PubArgs)?;
    let (subject, reply, size) = match n {
        2 => (t[0], None, t[1]),
        3 => (t[0], Some(t[1]), t[2]),
        _ => return Err(ParseError::PubArgs),
    };
    let size = parse_size(size).ok_or(ParseError::PubSize)?;
    if size > limits.max_payload {
        return Err(ParseError::MaxPayload {
            size,
            max: limits.max_payload,
        });
    }
    Ok(match frame_payload(buf, start, size)? {
        PayloadFrame::NeedMore(at_least) => Progress::NeedMore { at_least },
        PayloadFrame::Complete { end, next } => Progress::Complete {
            op: ClientOp::Pub(Publish {
                subject,
                reply,
                headers: None,
                payload: buf.get(start..end).unwrap_or_default(),
            }),
            consumed: next,
        },
    })
}

/// `HPUB <subject> [reply] <#header bytes> <#total bytes>`; headers start at `start`.
fn parse_hpub<'a>(
    buf: &'a [u8],
    args: &'a [u8],
    start: usize,
    limits: &Limits,
) -> Result<Progress<'a>, ParseError> {
    let (t, n) = split_args::<4>(args, is_space).ok_or(ParseError::HpubArgs)?;
    let (subject, reply, hdr, total) = match n {
        3 => (t[0], None, t[1], t[2]),
        4 => (t[0], Some(t[1]), t[2], t[3]),
        _ => return Err(ParseError::HpubArgs),
    };
    let header = parse_size(hdr).ok_or(ParseError::HpubHeaderSize)?;
    let total = parse_size(total).ok_or(ParseError::HpubTotalSize)?;
    if header > total {
        return Err(ParseError::HpubHeaderTooLarge { header, total });
    }
    if total > limits.max_payload {
        return Err(ParseError::MaxPayload {
            size: total,
            max: limits.max_payload,
        });
    }
    Ok(match frame_payload(buf, start, total)? {
        PayloadFrame::NeedMore(at_least) => Progress::NeedMore { at_least },
        PayloadFrame::Complete { end, next } => {
            let body = buf.get(start..end).unwrap_or_default();
            let (headers, payload) = body.split_at(header.min(body.len()));
            Progress::Complete {
                op: ClientOp::Pub(Publish {
                    subject,
                    reply,
                    headers: Some(headers),
                    payload,
                }),
                consumed: next,
            }
        }
    })
}

/// `SUB <subject> [queue] <sid>`.
fn parse_sub(args: &[u8]) -> Result<ClientOp<'_>, ParseError> {
    let (t, n) = split_args::<3>(args, is_space_or_crlf).ok_or(ParseError::SubArgs)?;
    match n {
        2 => Ok(ClientOp::Sub {
            subject: t[0],
            queue: None,
            sid: t[1],
        }),
        3 => Ok(ClientOp::Sub {
            subject: t[0],
            queue: Some(t[1]),
            sid: t[2],
        }),
        _ => Err(ParseError::SubArgs),
    }
}

/// `UNSUB <sid> [max]`.
fn parse_unsub(args: &[u8]) -> Result<ClientOp<'_>, ParseError> {
    let (t, n) = split_args::<2>(args, is_space_or_crlf).ok_or(ParseError::UnsubArgs)?;
    match n {
        1 => Ok(ClientOp::Unsub {
            sid: t[0],
            max_msgs: None,
        }),
        2 => Ok(ClientOp::Unsub {
            sid: t[0],
            max_msgs: parse_size(t[1]).filter(|&m| m > 0).map(|m| m as u64),
        }),
        _ => Err(ParseError::UnsubArgs),
    }
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
