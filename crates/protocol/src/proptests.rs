//! Property tests: chunking independence, robustness on arbitrary bytes, and MSG round trips,
//! for both the client-op and the server-op parser; plus the fuzz harnesses
//! (`crate::fuzzing`) driven by generated, corrupted op streams on stable.

use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::{
    encode_err, encode_info, encode_msg, fuzzing, parse_client_op, parse_server_op, ClientOp,
    ConnectInfo, Limits, ParseError, Progress, ServerInfo, ServerOp, OK, PING, PONG,
};

/// An owned copy of a `ClientOp`, so ops can outlive the buffer they were parsed from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Connect(Vec<u8>),
    Pub {
        subject: Vec<u8>,
        reply: Option<Vec<u8>>,
        headers: Option<Vec<u8>>,
        payload: Vec<u8>,
    },
    Sub {
        subject: Vec<u8>,
        queue: Option<Vec<u8>>,
        sid: Vec<u8>,
    },
    Unsub {
        sid: Vec<u8>,
        max_msgs: Option<u64>,
    },
    Ping,
    Pong,
    Info(Vec<u8>),
    Ok,
    Err(Vec<u8>),
}

impl From<&ClientOp<'_>> for Owned {
    fn from(op: &ClientOp<'_>) -> Owned {
        match *op {
            ClientOp::Connect(j) => Owned::Connect(j.to_vec()),
            ClientOp::Pub(p) => Owned::Pub {
                subject: p.subject.to_vec(),
                reply: p.reply.map(<[u8]>::to_vec),
                headers: p.headers.map(<[u8]>::to_vec),
                payload: p.payload.to_vec(),
            },
            ClientOp::Sub {
                subject,
                queue,
                sid,
            } => Owned::Sub {
                subject: subject.to_vec(),
                queue: queue.map(<[u8]>::to_vec),
                sid: sid.to_vec(),
            },
            ClientOp::Unsub { sid, max_msgs } => Owned::Unsub {
                sid: sid.to_vec(),
                max_msgs,
            },
            ClientOp::Ping => Owned::Ping,
            ClientOp::Pong => Owned::Pong,
            ClientOp::Info(j) => Owned::Info(j.to_vec()),
            ClientOp::Ok => Owned::Ok,
            ClientOp::Err(t) => Owned::Err(t.to_vec()),
        }
    }
}

/// How an op is spelled on the wire: the parser must not care.
#[derive(Debug, Clone)]
struct Spelling {
    lowercase: bool,
    sep: &'static str,
    eol: &'static str,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    (
        any::<bool>(),
        prop::sample::select(vec![" ", "\t", "  ", " \t "]),
        prop::sample::select(vec!["\r\n", "\n"]),
    )
        .prop_map(|(lowercase, sep, eol)| Spelling {
            lowercase,
            sep,
            eol,
        })
}

fn token() -> impl Strategy<Value = Vec<u8>> {
    "[a-zA-Z0-9_.*>-]{1,12}".prop_map(String::into_bytes)
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    "[ -~]{0,40}".prop_map(|s| s.trim_start().as_bytes().to_vec())
}

fn headers() -> impl Strategy<Value = Vec<u8>> {
    vec(("[A-Za-z-]{1,10}", "[ -~]{0,10}"), 0..3).prop_map(|fields| {
        let mut h = b"NATS/1.0\r\n".to_vec();
        for (k, v) in fields {
            h.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
        }
        h.extend_from_slice(b"\r\n");
        h
    })
}

fn op() -> impl Strategy<Value = Owned> {
    prop_oneof![
        4 => (token(), prop::option::of(token()), prop::option::weighted(0.3, headers()),
              vec(any::<u8>(), 0..300))
            .prop_map(|(subject, reply, headers, payload)| Owned::Pub { subject, reply, headers, payload }),
        1 => (token(), prop::option::of(token()), token())
            .prop_map(|(subject, queue, sid)| Owned::Sub { subject, queue, sid }),
        1 => (token(), prop::option::of(1u64..1_000_000))
            .prop_map(|(sid, max_msgs)| Owned::Unsub { sid, max_msgs }),
        1 => Just(Owned::Ping),
        1 => Just(Owned::Pong),
        1 => Just(Owned::Ok),
        1 => "\\{[ -~]{0,60}\\}".prop_map(|j| Owned::Connect(j.into_bytes())),
        1 => "\\{[ -~]{0,20}\\}".prop_map(|j| Owned::Info(j.into_bytes())),
        1 => text().prop_filter("-ERR needs text", |t| !t.is_empty()).prop_map(Owned::Err),
    ]
}

fn wire(op: &Owned, s: &Spelling, out: &mut Vec<u8>) {
    let name = |n: &str| {
        if s.lowercase {
            n.to_ascii_lowercase()
        } else {
            n.to_owned()
        }
    };
    let mut line = |parts: &[&[u8]]| {
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(s.sep.as_bytes());
            }
            out.extend_from_slice(p);
        }
        out.extend_from_slice(s.eol.as_bytes());
    };
    match op {
        Owned::Connect(j) => line(&[name("CONNECT").as_bytes(), j]),
        Owned::Info(j) => line(&[name("INFO").as_bytes(), j]),
        Owned::Err(t) => line(&[name("-ERR").as_bytes(), t]),
        Owned::Ping => line(&[name("PING").as_bytes()]),
        Owned::Pong => line(&[name("PONG").as_bytes()]),
        Owned::Ok => line(&[name("+OK").as_bytes()]),
        Owned::Sub {
            subject,
            queue,
            sid,
        } => match queue {
            Some(q) => line(&[name("SUB").as_bytes(), subject, q, sid]),
            None => line(&[name("SUB").as_bytes(), subject, sid]),
        },
        Owned::Unsub { sid, max_msgs } => match max_msgs {
            Some(m) => line(&[name("UNSUB").as_bytes(), sid, m.to_string().as_bytes()]),
            None => line(&[name("UNSUB").as_bytes(), sid]),
        },
        Owned::Pub {
            subject,
            reply,
            headers,
            payload,
        } => {
            let total = (headers.as_ref().map_or(0, Vec::len) + payload.len()).to_string();
            let mut args: Vec<&[u8]> = vec![];
            let verb = name(if headers.is_some() { "HPUB" } else { "PUB" });
            args.push(verb.as_bytes());
            args.push(subject);
            if let Some(r) = reply {
                args.push(r);
            }
            let hlen = headers.as_ref().map(|h| h.len().to_string());
            if let Some(h) = &hlen {
                args.push(h.as_bytes());
            }
            args.push(total.as_bytes());
            line(&args);
            if let Some(h) = headers {
                out.extend_from_slice(h);
            }
            out.extend_from_slice(payload);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Parses as far as possible; returns the ops and the error that stopped it, if any.
fn parse_all(buf: &[u8], limits: &Limits) -> (Vec<Owned>, Option<ParseError>) {
    let mut ops = Vec::new();
    let mut at = 0;
    loop {
        let rest = &buf[at..];
        match parse_client_op(rest, limits) {
            Ok(Progress::Complete { op, consumed }) => {
                assert!(consumed > 0 && consumed <= rest.len());
                ops.push(Owned::from(&op));
                at += consumed;
            }
            Ok(Progress::NeedMore { at_least }) => {
                assert!(at_least > rest.len());
                return (ops, None);
            }
            Err(e) => return (ops, Some(e)),
        }
    }
}

/// Feeds `stream` in chunks into a growing buffer, as TCP reads would, parsing as far as
/// possible after each chunk and draining what was consumed.
fn parse_chunked(
    stream: &[u8],
    cuts: &[usize],
    limits: &Limits,
) -> (Vec<Owned>, Option<ParseError>) {
    let mut buf: Vec<u8> = Vec::new();
    let mut ops = Vec::new();
    let mut fed = 0;
    let mut cut = cuts.iter().cycle();
    while fed < stream.len() {
        let n = (*cut.next().unwrap_or(&1)).clamp(1, stream.len() - fed);
        buf.extend_from_slice(&stream[fed..fed + n]);
        fed += n;
        loop {
            match parse_client_op(&buf, limits) {
                Ok(Progress::Complete { op, consumed }) => {
                    assert!(consumed > 0 && consumed <= buf.len());
                    ops.push(Owned::from(&op));
                    buf.drain(..consumed);
                }
                Ok(Progress::NeedMore { at_least }) => {
                    assert!(at_least > buf.len());
                    break;
                }
                Err(e) => return (ops, Some(e)),
            }
        }
    }
    (ops, None)
}

fn stream() -> impl Strategy<Value = (Vec<Owned>, Vec<u8>)> {
    vec((op(), spelling()), 1..40).prop_map(|ops| {
        let mut bytes = Vec::new();
        for (op, s) in &ops {
            wire(op, s, &mut bytes);
        }
        (ops.into_iter().map(|(op, _)| op).collect(), bytes)
    })
}

/// Server ops whose encoding parses back to exactly the same value.
fn server_op() -> impl Strategy<Value = ServerOp> {
    prop_oneof![
        4 => (token(), "[0-9]{1,6}", prop::option::of(token()),
              prop::option::weighted(0.3, headers()), vec(any::<u8>(), 0..300))
            .prop_map(|(subject, sid, reply, headers, payload)| ServerOp::Msg {
                subject,
                sid: sid.into_bytes(),
                reply,
                headers,
                payload,
            }),
        1 => ("[a-zA-Z0-9]{0,12}", any::<u16>(), any::<bool>(), prop::option::of("[ -~]{0,8}"))
            .prop_map(|(server_id, port, headers, nonce)| ServerOp::Info(Box::new(ServerInfo {
                server_id,
                port,
                headers,
                nonce,
                ..ServerInfo::default()
            }))),
        // The parser trims the text and strips one pair of quotes, so generate trimmed text.
        1 => "[ -~]{0,30}".prop_map(|t| ServerOp::Err(t.trim().to_owned())),
        1 => Just(ServerOp::Ping),
        1 => Just(ServerOp::Pong),
        1 => Just(ServerOp::Ok),
    ]
}

fn encode_server_op(op: &ServerOp, out: &mut BytesMut) {
    match op {
        ServerOp::Msg {
            subject,
            sid,
            reply,
            headers,
            payload,
        } => encode_msg(
            out,
            subject,
            sid,
            reply.as_deref(),
            headers.as_deref(),
            payload,
        ),
        ServerOp::Info(info) => encode_info(out, info),
        ServerOp::Err(text) => encode_err(out, text),
        ServerOp::Ping => out.extend_from_slice(PING),
        ServerOp::Pong => out.extend_from_slice(PONG),
        ServerOp::Ok => out.extend_from_slice(OK),
    }
}

fn server_stream() -> impl Strategy<Value = (Vec<ServerOp>, Vec<u8>)> {
    vec(server_op(), 1..30).prop_map(|ops| {
        let mut out = BytesMut::new();
        for op in &ops {
            encode_server_op(op, &mut out);
        }
        (ops, out.to_vec())
    })
}

/// What the server-op parser makes of a stream: the ops, the error that stopped it, and
/// how many bytes the complete ops used.
type ServerOutcome = (Vec<ServerOp>, Option<ParseError>, usize);

/// Feeds `stream` to `parse_server_op` in reads of the given sizes (cycled), parsing as far
/// as possible after each, as a tool reading a socket would. One cut of the whole length
/// parses it in one go.
fn parse_server_chunked(stream: &[u8], cuts: &[usize]) -> ServerOutcome {
    let mut ops = Vec::new();
    let (mut used, mut fed) = (0, 0);
    let mut cut = cuts.iter().cycle();
    while fed < stream.len() {
        fed += (*cut.next().unwrap_or(&1)).clamp(1, stream.len() - fed);
        loop {
            match parse_server_op(&stream[used..fed]) {
                Ok(Some((op, n))) => {
                    assert!(n > 0 && n <= fed - used);
                    ops.push(op);
                    used += n;
                }
                Ok(None) => break,
                Err(e) => return (ops, Some(e), used),
            }
        }
    }
    (ops, None, used)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn chunking_never_changes_the_ops((expected, bytes) in stream(), cuts in vec(1usize..80, 1..20)) {
        let limits = Limits::default();
        let (whole, err) = parse_all(&bytes, &limits);
        prop_assert_eq!(err, None);
        prop_assert_eq!(&whole, &expected);
        let (chunked, err) = parse_chunked(&bytes, &cuts, &limits);
        prop_assert_eq!(err, None);
        prop_assert_eq!(&chunked, &whole);
        // One byte at a time is the harshest split.
        let (bytewise, err) = parse_chunked(&bytes, &[1], &limits);
        prop_assert_eq!(err, None);
        prop_assert_eq!(bytewise, whole);
    }

    #[test]
    fn corrupted_streams_fail_the_same_way_however_split(
        (_, mut bytes) in stream(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cuts in vec(1usize..40, 1..10),
        max_control_line in 0usize..64,
        max_payload in 0usize..400,
    ) {
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let limits = Limits { max_control_line, max_payload };
        prop_assert_eq!(parse_all(&bytes, &limits), parse_chunked(&bytes, &cuts, &limits));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in vec(any::<u8>(), 0..600),
        max_control_line in 0usize..5000,
        max_payload in 0usize..2000,
    ) {
        // parse_all asserts consumed > 0 and at_least > len on every step.
        let limits = Limits { max_control_line, max_payload };
        let (ops, _) = parse_all(&bytes, &limits);
        prop_assert!(ops.len() <= bytes.len());
        let (ops, _) = parse_all(&bytes, &Limits::default());
        prop_assert!(ops.len() <= bytes.len());
        if let Ok(Some((_, used))) = parse_server_op(&bytes) {
            prop_assert!(used > 0 && used <= bytes.len());
        }
    }

    #[test]
    fn op_shaped_garbage_never_panics(
        prefix in prop::sample::select(vec![
            "PUB ", "HPUB ", "SUB ", "UNSUB ", "CONNECT", "INFO", "PING", "PONG", "+OK", "-ERR ",
            "MSG ", "HMSG ", "pub foo ", "HPUB foo 3 ", "PUB foo 3\r\n",
        ]),
        tail in vec(prop::sample::select(b" \t\r\n0123456789abc*>.".to_vec()), 0..40),
    ) {
        let bytes = [prefix.as_bytes(), &tail].concat();
        let (ops, _) = parse_all(&bytes, &Limits::default());
        prop_assert!(ops.len() <= bytes.len());
        if let Ok(Some((_, used))) = parse_server_op(&bytes) {
            prop_assert!(used > 0 && used <= bytes.len());
        }
    }

    #[test]
    fn encode_msg_parses_back(
        subject in token(),
        sid in "[0-9]{1,6}",
        reply in prop::option::of(token()),
        headers in prop::option::of(headers()),
        payload in vec(any::<u8>(), 0..2000),
    ) {
        let mut out = BytesMut::new();
        encode_msg(&mut out, &subject, sid.as_bytes(), reply.as_deref(), headers.as_deref(), &payload);
        let parsed = parse_server_op(&out);
        let expected = ServerOp::Msg {
            subject,
            sid: sid.into_bytes(),
            reply,
            headers,
            payload,
        };
        prop_assert_eq!(parsed, Ok(Some((expected, out.len()))));
    }

    #[test]
    fn server_chunking_never_changes_the_ops(
        (expected, bytes) in server_stream(),
        cuts in vec(1usize..80, 1..20),
    ) {
        let whole = parse_server_chunked(&bytes, &[bytes.len()]);
        prop_assert_eq!(&whole, &(expected, None, bytes.len()));
        prop_assert_eq!(&parse_server_chunked(&bytes, &cuts), &whole);
        prop_assert_eq!(&parse_server_chunked(&bytes, &[1]), &whole);
    }

    #[test]
    fn corrupted_server_streams_fail_the_same_way_however_split(
        (_, mut bytes) in server_stream(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cuts in vec(1usize..40, 1..10),
    ) {
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        prop_assert_eq!(
            parse_server_chunked(&bytes, &[bytes.len()]),
            parse_server_chunked(&bytes, &cuts)
        );
    }

    #[test]
    fn arbitrary_server_streams_never_panic(
        bytes in vec(any::<u8>(), 0..600),
        cuts in vec(1usize..40, 1..10),
    ) {
        // Unlike arbitrary_bytes_never_panic, this parses past the first op, in reads.
        let whole = parse_server_chunked(&bytes, &[bytes.len()]);
        prop_assert!(whole.2 <= bytes.len());
        prop_assert_eq!(parse_server_chunked(&bytes, &cuts), whole);
    }

    /// The fuzz harnesses' invariants (split independence, encoder round trips, CONNECT
    /// JSON round trips) on op-shaped input, which random bytes rarely reach.
    #[test]
    fn fuzz_harnesses_hold_on_corrupted_op_streams(
        (_, mut client) in stream(),
        (_, mut server) in server_stream(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    ) {
        for (at, byte) in &edits {
            let i = at.index(client.len());
            client[i] = *byte;
            let i = at.index(server.len());
            server[i] = *byte;
        }
        fuzzing::client_stream(&client);
        fuzzing::server_stream(&server);
    }

    #[test]
    fn fuzz_harness_holds_on_corrupted_connect_json(
        (user, pass, token, echo, protocol) in (
            prop::option::of("[ -~]{0,12}"),
            prop::option::of("[ -~]{0,12}"),
            prop::option::of("[ -~]{0,12}"),
            any::<bool>(),
            any::<i32>(),
        ),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
    ) {
        let info = ConnectInfo {
            user,
            pass,
            auth_token: token,
            echo,
            protocol,
            ..ConnectInfo::default()
        };
        let mut json = serde_json::to_vec(&info).expect("ConnectInfo serialises");
        for (at, byte) in edits {
            let i = at.index(json.len());
            json[i] = byte;
        }
        fuzzing::connect_json(&json);
    }
}
