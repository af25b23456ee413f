//! Unit tests for the client-op parser; expectations come from probing nats-server 2.9.10
//! (see NATS_PARSER_BEHAVIOUR.md).

use super::*;

fn parse(buf: &[u8]) -> Result<Progress<'_>, ParseError> {
    parse_client_op(buf, &Limits::default())
}

/// Parses `buf`, which must hold exactly one complete op.
fn one(buf: &[u8]) -> ClientOp<'_> {
    match parse(buf) {
        Ok(Progress::Complete { op, consumed }) => {
            assert_eq!(consumed, buf.len(), "op should consume all of {buf:?}");
            op
        }
        other => panic!("expected a complete op for {buf:?}, got {other:?}"),
    }
}

fn err(buf: &[u8]) -> ParseError {
    match parse(buf) {
        Err(e) => e,
        other => panic!("expected an error for {buf:?}, got {other:?}"),
    }
}

fn need(buf: &[u8]) -> usize {
    match parse(buf) {
        Ok(Progress::NeedMore { at_least }) => at_least,
        other => panic!("expected NeedMore for {buf:?}, got {other:?}"),
    }
}

fn publish<'a>(
    subject: &'a [u8],
    reply: Option<&'a [u8]>,
    headers: Option<&'a [u8]>,
    payload: &'a [u8],
) -> ClientOp<'a> {
    ClientOp::Pub(Publish {
        subject,
        reply,
        headers,
        payload,
    })
}

#[test]
fn pub_basic_and_case_insensitive() {
    let want = publish(b"foo", None, None, b"hello");
    for input in [
        &b"PUB foo 5\r\nhello\r\n"[..],
        b"pub foo 5\r\nhello\r\n",
        b"Pub foo 5\r\nhello\r\n",
        b"PUB\tfoo \t 5\r\nhello\r\n",
        b"PUB foo 5\nhello\r\n",
        b"PUB foo 5 \r\nhello\r\n",
        b"PUB   foo   5  \r\nhello\r\n",
        b"PUB foo 000000005\r\nhello\r\n",
    ] {
        assert_eq!(one(input), want, "{input:?}");
    }
}

#[test]
fn pub_with_reply_and_odd_payloads() {
    assert_eq!(
        one(b"PUB foo bar 5\r\nhello\r\n"),
        publish(b"foo", Some(b"bar"), None, b"hello")
    );
    assert_eq!(one(b"PUB foo 0\r\n\r\n"), publish(b"foo", None, None, b""));
    // The payload is opaque: CRLF inside it is data.
    assert_eq!(
        one(b"PUB foo 9\r\nhe\r\nPING\n\r\n"),
        publish(b"foo", None, None, b"he\r\nPING\n")
    );
    // nats-server splits PUB arguments on space and tab only, so a stray CR stays in.
    assert_eq!(
        one(b"PUB foo\r 5\r\nhello\r\n"),
        publish(b"foo\r", None, None, b"hello")
    );
}

#[test]
fn pub_need_more_is_exact_once_control_line_is_known() {
    let full = b"PUB foo 5\r\nhello\r\n";
    assert_eq!(need(&full[..11]), full.len());
    assert_eq!(need(&full[..14]), full.len());
    assert_eq!(need(&full[..16]), full.len());
    assert_eq!(need(&full[..17]), full.len());
    // Before the control line is complete only one more byte can be asked for.
    assert_eq!(need(b""), 1);
    assert_eq!(need(b"P"), 2);
    assert_eq!(need(b"PU"), 3);
    assert_eq!(need(b"PUB"), 4);
    assert_eq!(need(b"PUB foo 5"), 10);
    assert_eq!(need(b"PUB foo 5\r"), 11);
}

#[test]
fn consecutive_ops_report_their_own_length() {
    let buf = b"PUB a 1\r\nx\r\nPING\r\nSUB b 1\r\n";
    let mut at = 0;
    let mut ops = Vec::new();
    while at < buf.len() {
        match parse(&buf[at..]) {
            Ok(Progress::Complete { op, consumed }) => {
                assert!(consumed > 0);
                ops.push(op);
                at += consumed;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        ops,
        vec![
            publish(b"a", None, None, b"x"),
            ClientOp::Ping,
            ClientOp::Sub {
                subject: b"b",
                queue: None,
                sid: b"1"
            },
        ]
    );
}

#[test]
fn pub_argument_errors() {
    assert_eq!(err(b"PUB foo\r\n"), ParseError::PubArgs);
    assert_eq!(err(b"PUB \r\n"), ParseError::PubArgs);
    assert_eq!(err(b"PUB foo bar baz 5\r\n"), ParseError::PubArgs);
    assert_eq!(err(b"PUB foo abc\r\n"), ParseError::PubSize);
    assert_eq!(err(b"PUB foo -1\r\n"), ParseError::PubSize);
    assert_eq!(err(b"PUB foo +5\r\n"), ParseError::PubSize);
    assert_eq!(err(b"PUB foo 0000000005\r\n"), ParseError::PubSize);
    assert_eq!(
        err(b"PUB foo 99999999999999999999\r\n"),
        ParseError::PubSize
    );
    // The op name must be followed by a blank.
    assert_eq!(err(b"PUB\r\n"), ParseError::UnknownOp);
    assert_eq!(err(b"PUBX foo 1\r\n"), ParseError::UnknownOp);
}

#[test]
fn pub_payload_must_end_in_crlf() {
    assert_eq!(
        err(b"PUB foo 5\r\nhelloXX\r\n"),
        ParseError::PayloadNotTerminated
    );
    // Reported as soon as the wrong byte arrives, like nats-server.
    assert_eq!(
        err(b"PUB foo 5\r\nhelloX"),
        ParseError::PayloadNotTerminated
    );
    assert_eq!(
        err(b"PUB foo 5\r\nhello\rX"),
        ParseError::PayloadNotTerminated
    );
    // A bare LF after the payload is not accepted (unlike after a control line).
    assert_eq!(
        err(b"PUB foo 5\r\nhello\nPING\r\n"),
        ParseError::PayloadNotTerminated
    );
    assert_eq!(
        err(b"PUB foo 5\r\nhel\r\nPING\r\n"),
        ParseError::PayloadNotTerminated
    );
}

#[test]
fn max_payload_is_checked_on_the_control_line() {
    assert_eq!(
        err(b"PUB foo 1048577\r\n"),
        ParseError::MaxPayload {
            size: 1048577,
            max: 1048576
        }
    );
    assert_eq!(need(b"PUB foo 1048576\r\n"), 17 + 1048576 + 2);
    let small = Limits {
        max_control_line: 4096,
        max_payload: 4,
    };
    assert_eq!(
        parse_client_op(b"PUB foo 5\r\n", &small),
        Err(ParseError::MaxPayload { size: 5, max: 4 })
    );
    assert!(matches!(
        parse_client_op(b"PUB foo 4\r\nabcd\r\n", &small),
        Ok(Progress::Complete { .. })
    ));
    assert_eq!(
        err(b"HPUB foo 12 1048577\r\n"),
        ParseError::MaxPayload {
            size: 1048577,
            max: 1048576
        }
    );
}

#[test]
fn hpub_parses_headers_and_payload() {
    assert_eq!(
        one(b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"),
        publish(b"foo", None, Some(b"NATS/1.0\r\n\r\n"), b"hi")
    );
    assert_eq!(
        one(b"hpub foo r 12 14\r\nNATS/1.0\r\n\r\nhi\r\n"),
        publish(b"foo", Some(b"r"), Some(b"NATS/1.0\r\n\r\n"), b"hi")
    );
    assert_eq!(
        one(b"HPUB foo 0 2\r\nhi\r\n"),
        publish(b"foo", None, Some(b""), b"hi")
    );
    assert_eq!(
        one(b"HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n"),
        publish(b"foo", None, Some(b"NATS/1.0\r\n\r\n"), b"")
    );
    assert_eq!(need(b"HPUB foo 12 14\r\nNATS"), 16 + 14 + 2);
}

#[test]
fn hpub_argument_errors() {
    assert_eq!(err(b"HPUB foo 12\r\n"), ParseError::HpubArgs);
    assert_eq!(err(b"HPUB foo a b 12 14\r\n"), ParseError::HpubArgs);
    assert_eq!(err(b"HPUB foo x 14\r\n"), ParseError::HpubHeaderSize);
    assert_eq!(err(b"HPUB foo 12 x\r\n"), ParseError::HpubTotalSize);
    assert_eq!(
        err(b"HPUB foo 20 10\r\n"),
        ParseError::HpubHeaderTooLarge {
            header: 20,
            total: 10
        }
    );
    assert_eq!(err(b"HPUB\r\n"), ParseError::UnknownOp);
    assert_eq!(
        err(b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhiXX\r\n"),
        ParseError::PayloadNotTerminated
    );
}

#[test]
fn sub_forms_and_errors() {
    assert_eq!(
        one(b"SUB foo 1\r\n"),
        ClientOp::Sub {
            subject: b"foo",
            queue: None,
            sid: b"1"
        }
    );
    assert_eq!(
        one(b"sub foo.* q 7\n"),
        ClientOp::Sub {
            subject: b"foo.*",
            queue: Some(b"q"),
            sid: b"7"
        }
    );
    // SUB splits like nats-server's splitArg: tabs and stray CRs separate too.
    assert_eq!(
        one(b"SUB\tfoo\r\t1\r\n"),
        ClientOp::Sub {
            subject: b"foo",
            queue: None,
            sid: b"1"
        }
    );
    // Sids are opaque text; subjects are validated by the server, not the parser.
    assert_eq!(
        one(b"SUB foo.. abc\r\n"),
        ClientOp::Sub {
            subject: b"foo..",
            queue: None,
            sid: b"abc"
        }
    );
    assert_eq!(err(b"SUB foo\r\n"), ParseError::SubArgs);
    assert_eq!(err(b"SUB foo q 1 extra\r\n"), ParseError::SubArgs);
    assert_eq!(err(b"SUB \r\n"), ParseError::SubArgs);
    assert_eq!(err(b"SUB\r\n"), ParseError::UnknownOp);
}

#[test]
fn unsub_forms_and_errors() {
    let unsub = |sid, max_msgs| ClientOp::Unsub { sid, max_msgs };
    assert_eq!(one(b"UNSUB 1\r\n"), unsub(&b"1"[..], None));
    assert_eq!(one(b"unsub 1 5\r\n"), unsub(&b"1"[..], Some(5)));
    // nats-server treats these maxima like "no maximum": unsubscribe at once.
    assert_eq!(one(b"UNSUB 1 0\r\n"), unsub(&b"1"[..], None));
    assert_eq!(one(b"UNSUB 1 abc\r\n"), unsub(&b"1"[..], None));
    assert_eq!(one(b"UNSUB 1 1234567890\r\n"), unsub(&b"1"[..], None));
    assert_eq!(err(b"UNSUB 1 2 3\r\n"), ParseError::UnsubArgs);
    assert_eq!(err(b"UNSUB \r\n"), ParseError::UnsubArgs);
    assert_eq!(err(b"UNSUB\r\n"), ParseError::UnknownOp);
}

#[test]
fn connect_and_info_take_the_rest_of_the_line() {
    let json = br#"{"verbose":false}"#;
    assert_eq!(
        one(b"CONNECT {\"verbose\":false}\r\n"),
        ClientOp::Connect(json)
    );
    assert_eq!(
        one(b"connect\t {\"verbose\":false}\n"),
        ClientOp::Connect(json)
    );
    // nats-server needs no blank after CONNECT, and hands "" to its JSON decoder.
    assert_eq!(
        one(b"CONNECT{\"verbose\":false}\r\n"),
        ClientOp::Connect(json)
    );
    assert_eq!(one(b"CONNECT\r\n"), ClientOp::Connect(b""));
    assert_eq!(one(b"CONNECT notjson\r\n"), ClientOp::Connect(b"notjson"));
    assert_eq!(one(b"INFO {}\r\n"), ClientOp::Info(b"{}"));
    assert_eq!(one(b"INFOX\r\n"), ClientOp::Info(b"X"));
    assert_eq!(need(b"CONNECT {\"verb"), 15);
}

#[test]
fn ping_pong_ok_ignore_trailing_text() {
    for input in [&b"PING\r\n"[..], b"ping\n", b"PINGX\r\n", b"PING foo\r\n"] {
        assert_eq!(one(input), ClientOp::Ping, "{input:?}");
    }
    for input in [&b"PONG\r\n"[..], b"pong\n", b"PONGX\r\n"] {
        assert_eq!(one(input), ClientOp::Pong, "{input:?}");
    }
    for input in [&b"+OK\r\n"[..], b"+ok\n", b"+OKjunk\r\n"] {
        assert_eq!(one(input), ClientOp::Ok, "{input:?}");
    }
    assert_eq!(err(b"PIN\r\n"), ParseError::UnknownOp);
    assert_eq!(err(b"+O\r\n"), ParseError::UnknownOp);
    assert_eq!(need(b"PIN"), 4);
}

#[test]
fn err_from_client() {
    assert_eq!(one(b"-ERR 'boom'\r\n"), ClientOp::Err(b"'boom'"));
    assert_eq!(one(b"-err  x\n"), ClientOp::Err(b"x"));
    assert_eq!(one(b"-ERR \r\n"), ClientOp::Err(b""));
    assert_eq!(err(b"-ERR\r\n"), ParseError::UnknownOp);
    assert_eq!(err(b"-ERRx\r\n"), ParseError::UnknownOp);
}

#[test]
fn garbage_is_an_unknown_operation() {
    for input in [
        &b"FOO\r\n"[..],
        b"MSG foo 1 1\r\nx\r\n",
        b"HMSG foo 1 2 2\r\n",
        b"\r\n",
        b"\n",
        b" PING\r\n",
        b"\x00\x01\x02\r\n",
        b"XXXXXXXX",
        b"PX",
        b"\x0bOK\r\n",
    ] {
        assert_eq!(err(input), ParseError::UnknownOp, "{input:?}");
    }
}

#[test]
fn control_line_limit_matches_nats_server() {
    // nats-server accepts 4096 bytes of arguments and rejects 4097.
    let line = |args: usize| [b"PUB ".as_slice(), &vec![b'a'; args - 2], b" 0\r\n\r\n"].concat();
    assert!(matches!(parse(&line(4096)), Ok(Progress::Complete { .. })));
    let too_long = line(4097);
    assert_eq!(err(&too_long), ParseError::MaxControlLine { max: 4096 });
    // Reported before the line end arrives, once enough has been buffered.
    assert_eq!(
        err(&too_long[..4 + 4097]),
        ParseError::MaxControlLine { max: 4096 }
    );
    assert!(matches!(
        parse(&too_long[..4 + 4096]),
        Ok(Progress::NeedMore { .. })
    ));
    // Every op with arguments is bounded, and so is the text after PING.
    let connect = [b"CONNECT ".as_slice(), &[b'{'; 5000]].concat();
    assert_eq!(err(&connect), ParseError::MaxControlLine { max: 4096 });
    let ping = [b"PING".as_slice(), &[b' '; 9000]].concat();
    assert_eq!(err(&ping), ParseError::MaxControlLine { max: 4096 });
    let tight = Limits {
        max_control_line: 5,
        max_payload: 100,
    };
    assert_eq!(
        parse_client_op(b"SUB foo 12\r\n", &tight),
        Err(ParseError::MaxControlLine { max: 5 })
    );
    assert!(parse_client_op(b"SUB f 12\r\n", &tight).is_ok());
}
