//! Raw-socket protocol tests: exact bytes and connection fate, checked against Weir and the
//! reference nats-server alike (`WEIR_TEST_TARGET=nats-server`).
//!
//! # Compatibility contract (measured on nats-server 2.9.10)
//!
//! Unless noted, the client first sent `CONNECT {"verbose":false}`. "open" means a following
//! `PING` is answered by `PONG` as the very next line; "closed" means the server closes the
//! connection right after the reply (nothing else is sent).
//!
//! | input | reply | fate |
//! |---|---|---|
//! | `PING` | `PONG` | open |
//! | INFO on connect | `INFO {json}` with `server_id`, `proto` 1, `headers` true, `max_payload`, `client_id` | - |
//! | `FOO` (unknown op) | `-ERR 'Unknown Protocol Operation'` | closed |
//! | binary junk `00 01 02 FF FE` CRLF | `-ERR 'Unknown Protocol Operation'` | closed |
//! | `SUB foo..bar 1`, `SUB foo. 1`, `SUB >.foo 1` | `-ERR 'Invalid Subject'` | open |
//! | `PUB foo.* 2` / `PUB foo.> 2`, pedantic false *and* true | `-ERR 'Invalid Publish Subject'` | open (1) |
//! | `PUB foo..bar 2` (either mode) | `-ERR 'Invalid Publish Subject'` | open |
//! | `PUB foo 2000` with max_payload 1024 (payload not yet sent) | `-ERR 'Maximum Payload Violation'` | closed |
//! | control line longer than max_control_line (terminated or not) | `-ERR 'maximum control line exceeded'` | closed |
//! | `PUB foo 3` + `hello` (payload longer than declared) | `-ERR 'Unknown Protocol Operation'` | closed |
//! | `UNSUB 99` (unknown sid) | nothing | open |
//! | `UNSUB` (no args) | `-ERR 'Unknown Protocol Operation'` | closed |
//! | `SUB foo` (no sid), `PUB foo` (no size), `PUB foo abc`, `SUB foo 1 2 3` | nothing | closed |
//! | `CONNECT foo`, `CONNECT {bad json}` (first op) | nothing | closed |
//! | `HPUB ...` when CONNECT did not say `"headers":true` | nothing | closed |
//! | `HPUB foo 20 14` (header size > total size) | nothing | closed |
//! | CONNECT with `"no_responders":true` but no `"headers":true` | `-ERR 'no responders requires headers support'` | closed |
//! | `PUB foo 2` before any CONNECT (no auth configured) | `+OK` (verbose is on until CONNECT says otherwise) | open |
//! | verbose: `CONNECT {"verbose":true}`, `SUB foo 1`, `PUB foo 2`, `UNSUB 1`, `PING` | `+OK` ×3, `MSG foo 1 2`, `+OK`, `PONG` (the PUB's `+OK` precedes the MSG it causes) | open |
//! | `sub`/`pub`/`ping` lower case | same as upper case | open |
//! | TAB-separated args: `SUB\tfoo\t1`, `PUB\tfoo\tbar\t2`; runs of mixed spaces/TABs | `MSG foo 1 bar 2` (args re-joined by single spaces) | open |
//! | `PUB foo 2`+`hi` / `PUB foo rep 0`+empty payload, to `SUB foo 1` | `MSG foo 1 2\r\nhi\r\n` / `MSG foo 1 rep 0\r\n\r\n` | open |
//! | `HPUB foo rep 18 20` + `NATS/1.0\r\nA: b\r\n\r\nhi` | `HMSG foo 1 rep 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n` (headers verbatim) | open |
//! | `HPUB` to a subscriber whose CONNECT lacked `"headers":true` | `MSG` with the headers stripped (`MSG foo 1 2\r\nhi\r\n`) | open |
//! | `SUB foo 1`, `UNSUB 1 2`, 3× `PUB foo` | exactly 2 `MSG` | open |
//! | `SUB foo 1`, 2× `PUB foo`, then `UNSUB 1 2` (max already reached) | the 2 `MSG`, nothing after | open |
//! | `"headers":true,"no_responders":true`, `SUB _INBOX.x 7`, `PUB nobody _INBOX.x 2` (PUB or HPUB) | `HMSG _INBOX.x 7 16 16\r\nNATS/1.0 503\r\n\r\n\r\n` | open |
//! | same without `"no_responders"` | nothing | open |
//! | `"echo":false`, `SUB foo 1`, `PUB foo` | nothing (own message not delivered) | open |
//! | connection beyond max_connections | `INFO {...}` then `-ERR 'maximum connections exceeded'` | closed |
//! | auth configured, CONNECT without/with wrong token, wrong user or password; or PING/SUB before CONNECT | `-ERR 'Authorization Violation'` | closed |
//! | auth configured, right token or user/password | `PONG` to the PING | open |
//! | auth configured, nothing sent for auth_timeout | `-ERR 'Authentication Timeout'` after ~auth_timeout | closed |
//! | ping_interval 200ms, ping_max 1, client never answers | `PING`, then `-ERR 'Stale Connection'` (~2 intervals) | closed |
//! | same, client answers each PING with PONG | `PING`s keep coming | open |
//!
//! (1) nats-server 2.9.10 sends the error but still delivers the message to matching
//! subscriptions (`MSG foo.* 1 2`). That delivery is a quirk, not part of the contract, so the
//! tests check only the error and that the connection stays open.
//!
//! The INFO line carries `"auth_required":true` when authorization is configured.

mod common;

use std::time::{Duration, Instant};

use common::{test_options, RawConn, ServerOp, TestServer};
use weir_server::{Authorization, Options};

const QUIET: &[u8] = b"CONNECT {\"verbose\":false}\r\n";

async fn server() -> TestServer {
    TestServer::start(test_options()).await
}

async fn server_with(f: impl FnOnce(&mut Options)) -> TestServer {
    let mut o = test_options();
    f(&mut o);
    TestServer::start(o).await
}

/// Connects quietly (verbose off) and sends `input`, without waiting for anything.
async fn quiet_conn_sending(s: &TestServer, input: &[u8]) -> RawConn {
    let mut c = RawConn::connect_quiet(s.addr()).await;
    c.send(input).await;
    c
}

/// `input` after a quiet CONNECT gets `err` and the connection is then closed.
async fn assert_err_and_closed(input: &[u8], err: &str) {
    let s = server().await;
    let mut c = quiet_conn_sending(&s, input).await;
    c.expect_line_then_closed(err).await;
}

/// `input` after a quiet CONNECT gets `err` and the connection stays open.
async fn assert_err_and_open(connect: &[u8], input: &[u8], err: &str) {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(connect).await;
    c.send(input).await;
    c.expect_line_eq(err).await;
    c.expect_open().await;
}

/// `input` after a quiet CONNECT gets no reply at all and the connection is closed.
async fn assert_silently_closed(connect: &[u8], input: &[u8]) {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(connect).await;
    c.send(input).await;
    let rest = c.expect_closed().await;
    assert!(
        rest.is_empty(),
        "expected a silent close after {:?}, got {:?}",
        String::from_utf8_lossy(input),
        String::from_utf8_lossy(&rest)
    );
}

// ----------------------------------------------------------------------------------- basics

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_greeting() {
    let s = server().await;
    let c = RawConn::connect(s.addr()).await;
    let info = c.info.expect("INFO");
    assert!(info["server_id"].as_str().is_some_and(|v| !v.is_empty()));
    assert_eq!(info["proto"], 1);
    assert_eq!(info["headers"], true);
    assert_eq!(info["max_payload"], 1024 * 1024);
    assert!(info["client_id"].as_u64().is_some());
    assert_ne!(info["auth_required"], true, "no auth configured");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_pong() {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(QUIET).await;
    c.send(b"PING\r\n").await;
    c.expect_line_eq("PONG").await;
    c.expect_open().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_operation_closes() {
    assert_err_and_closed(b"FOO\r\n", "-ERR 'Unknown Protocol Operation'").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bytes_close() {
    assert_err_and_closed(
        b"\x00\x01\x02\xff\xfe\r\n",
        "-ERR 'Unknown Protocol Operation'",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_sub_subjects_keep_connection() {
    let s = server().await;
    let mut c = RawConn::connect_quiet(s.addr()).await;
    for subject in ["foo..bar", "foo.", ">.foo"] {
        c.send(format!("SUB {subject} 1\r\n").as_bytes()).await;
        c.expect_line_eq("-ERR 'Invalid Subject'").await;
        c.expect_open().await;
    }
    // The connection still subscribes normally afterwards.
    c.send(b"SUB foo.bar 2\r\nPUB foo.bar 2\r\nok\r\nPING\r\n")
        .await;
    c.expect_bytes(b"MSG foo.bar 2 2\r\nok\r\nPONG\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_to_wildcard_subject_non_pedantic() {
    for subject in ["foo.*", "foo.>"] {
        assert_err_and_open(
            QUIET,
            format!("PUB {subject} 2\r\nhi\r\n").as_bytes(),
            "-ERR 'Invalid Publish Subject'",
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_to_wildcard_subject_pedantic() {
    for subject in ["foo.*", "foo.>"] {
        assert_err_and_open(
            b"CONNECT {\"verbose\":false,\"pedantic\":true}\r\n",
            format!("PUB {subject} 2\r\nhi\r\n").as_bytes(),
            "-ERR 'Invalid Publish Subject'",
        )
        .await;
    }
}

/// nats-server routes a wildcard publish subject with its wildcards taken as tokens, even
/// while it complains about it in pedantic mode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_publish_subject_is_still_routed() {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB foo.* 1\r\nSUB foo.bar 2\r\nPUB foo.* 1\r\nx\r\nPING\r\n")
        .await;
    c.expect_bytes(b"MSG foo.* 1 1\r\nx\r\nPONG\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_to_malformed_subject() {
    assert_err_and_open(
        QUIET,
        b"PUB foo..bar 2\r\nhi\r\n",
        "-ERR 'Invalid Publish Subject'",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_payload_closes() {
    let s = server_with(|o| o.max_payload_bytes = 1024).await;
    let mut c = RawConn::connect(s.addr()).await;
    assert_eq!(c.info.as_ref().expect("INFO")["max_payload"], 1024);
    c.send(QUIET).await;
    // Exactly max_payload is fine.
    c.send(b"SUB foo 1\r\n").await;
    let mut exact = b"PUB foo 1024\r\n".to_vec();
    exact.extend(std::iter::repeat_n(b'x', 1024));
    exact.extend_from_slice(b"\r\n");
    c.send(&exact).await;
    match c.next_op().await {
        ServerOp::Msg { payload, .. } => assert_eq!(payload.len(), 1024),
        other => panic!("expected MSG, got {other:?}"),
    }
    // One byte over is refused as soon as the control line is read.
    c.send(b"PUB foo 2000\r\n").await;
    c.expect_line_then_closed("-ERR 'Maximum Payload Violation'")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_control_line_closes() {
    let s = server_with(|o| o.max_control_line_bytes = 256).await;
    // Terminated.
    let mut c = RawConn::connect_quiet(s.addr()).await;
    c.send(format!("SUB {} 1\r\n", "a".repeat(300)).as_bytes())
        .await;
    c.expect_line_then_closed("-ERR 'maximum control line exceeded'")
        .await;
    // Not terminated yet: refused without waiting for the CRLF.
    let mut c = RawConn::connect_quiet(s.addr()).await;
    c.send(format!("SUB {}", "a".repeat(300)).as_bytes()).await;
    c.expect_line_then_closed("-ERR 'maximum control line exceeded'")
        .await;
    // Just under the limit is fine.
    let mut c = RawConn::connect_quiet(s.addr()).await;
    c.send(format!("SUB {} 1\r\n", "a".repeat(200)).as_bytes())
        .await;
    c.expect_open().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_length_mismatch_closes() {
    assert_err_and_closed(
        b"PUB foo 3\r\nhello\r\n",
        "-ERR 'Unknown Protocol Operation'",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsub_unknown_sid_is_ignored() {
    let s = server().await;
    let mut c = quiet_conn_sending(&s, b"UNSUB 99\r\n").await;
    c.expect_open().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsub_without_args_closes() {
    assert_err_and_closed(b"UNSUB\r\n", "-ERR 'Unknown Protocol Operation'").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_err_closes_silently() {
    assert_silently_closed(QUIET, b"-ERR 'client gives up'\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_info_must_be_json() {
    assert_silently_closed(QUIET, b"INFO not-json\r\n").await;
    let s = server().await;
    let mut c = quiet_conn_sending(&s, b"INFO {\"server_id\":\"x\"}\r\nPING\r\n").await;
    c.expect_line_eq("PONG").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_arguments_close_silently() {
    for input in [
        &b"SUB foo\r\n"[..],
        b"PUB foo\r\n",
        b"PUB foo abc\r\n",
        b"SUB foo 1 2 3\r\n",
    ] {
        assert_silently_closed(QUIET, input).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_json_connect_closes_silently() {
    assert_silently_closed(b"", b"CONNECT foo\r\n").await;
    assert_silently_closed(b"", b"CONNECT {bad json}\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_before_connect_is_accepted_verbosely() {
    // Without auth the server takes ops before CONNECT; verbose is on until CONNECT turns it off.
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(b"PUB foo 2\r\nhi\r\n").await;
    c.expect_line_eq("+OK").await;
    c.send(b"PING\r\n").await;
    c.expect_line_eq("PONG").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_mode_acks_every_op() {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(b"CONNECT {\"verbose\":true}\r\n").await;
    c.expect_line_eq("+OK").await;
    c.send(b"SUB foo 1\r\n").await;
    c.expect_line_eq("+OK").await;
    c.send(b"PUB foo 2\r\nhi\r\n").await;
    c.expect_bytes(b"+OK\r\nMSG foo 1 2\r\nhi\r\n").await;
    c.send(b"UNSUB 1\r\n").await;
    c.expect_line_eq("+OK").await;
    c.send(b"PING\r\n").await;
    c.expect_line_eq("PONG").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ops_are_case_insensitive() {
    let s = server().await;
    let mut c = quiet_conn_sending(&s, b"sub foo 1\r\npub foo 2\r\nhi\r\nping\r\n").await;
    c.expect_bytes(b"MSG foo 1 2\r\nhi\r\nPONG\r\n").await;
    let mut c = quiet_conn_sending(&s, b"Sub bar 5\r\nPub bar 1\r\nx\r\nPing\r\n").await;
    c.expect_bytes(b"MSG bar 5 1\r\nx\r\nPONG\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tab_separated_args() {
    let s = server().await;
    let mut c = quiet_conn_sending(
        &s,
        b"SUB\tfoo\t1\r\nPUB\tfoo\tbar\t2\r\nhi\r\nPUB \t foo  \t 1\r\nz\r\nPING\r\n",
    )
    .await;
    c.expect_bytes(b"MSG foo 1 bar 2\r\nhi\r\nMSG foo 1 1\r\nz\r\nPONG\r\n")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msg_framing_with_and_without_reply() {
    let s = server().await;
    let mut sub = quiet_conn_sending(&s, b"SUB foo.* 42\r\nPING\r\n").await;
    sub.expect_line_eq("PONG").await;
    let mut publisher = quiet_conn_sending(
        &s,
        b"PUB foo.a 5\r\nhello\r\nPUB foo.b my.reply 3\r\nabc\r\nPUB foo.c 0\r\n\r\nPUB foo.d r 4\r\na\r\nb\r\nPING\r\n",
    )
    .await;
    publisher.expect_line_eq("PONG").await;
    sub.expect_bytes(
        b"MSG foo.a 42 5\r\nhello\r\n\
          MSG foo.b 42 my.reply 3\r\nabc\r\n\
          MSG foo.c 42 0\r\n\r\n\
          MSG foo.d 42 r 4\r\na\r\nb\r\n",
    )
    .await;
    sub.expect_open().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpub_hmsg_framing() {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB foo 1\r\n")
        .await;
    c.send(b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n").await;
    c.send(b"HPUB foo rep 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n")
        .await;
    c.send(b"HPUB foo 12 12\r\nNATS/1.0\r\n\r\n\r\n").await;
    let hdr = b"NATS/1.0\r\nX-Mixed-Case: one\r\nx-mixed-case: two\r\nMulti: a\r\nMulti: b\r\n\r\n";
    let mut m = format!("HPUB foo {} {}\r\n", hdr.len(), hdr.len() + 7).into_bytes();
    m.extend_from_slice(hdr);
    m.extend_from_slice(b"payload\r\nPING\r\n");
    c.send(&m).await;
    let mut want = b"HMSG foo 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n\
HMSG foo 1 rep 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n\
HMSG foo 1 12 12\r\nNATS/1.0\r\n\r\n\r\n"
        .to_vec();
    want.extend_from_slice(format!("HMSG foo 1 {} {}\r\n", hdr.len(), hdr.len() + 7).as_bytes());
    want.extend_from_slice(hdr);
    want.extend_from_slice(b"payload\r\nPONG\r\n");
    c.expect_bytes(&want).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpub_to_subscriber_without_headers_support() {
    // A subscriber that did not announce headers gets MSG with the headers stripped.
    let s = server().await;
    let mut sub = quiet_conn_sending(&s, b"SUB foo 1\r\nPING\r\n").await;
    sub.expect_line_eq("PONG").await;
    let mut p = RawConn::connect(s.addr()).await;
    p.send(b"CONNECT {\"verbose\":false,\"headers\":true}\r\n")
        .await;
    p.send(b"HPUB foo 18 20\r\nNATS/1.0\r\nA: b\r\n\r\nhi\r\n")
        .await;
    p.send(b"HPUB foo r 12 12\r\nNATS/1.0\r\n\r\n\r\n").await;
    p.send(b"PUB foo 2\r\nok\r\nPING\r\n").await;
    p.expect_line_eq("PONG").await;
    sub.expect_bytes(b"MSG foo 1 2\r\nhi\r\nMSG foo 1 r 0\r\n\r\nMSG foo 1 2\r\nok\r\n")
        .await;
    sub.expect_open().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpub_without_headers_in_connect_closes_silently() {
    assert_silently_closed(QUIET, b"HPUB foo 12 14\r\nNATS/1.0\r\n\r\nhi\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hpub_header_size_larger_than_total_closes_silently() {
    assert_silently_closed(
        b"CONNECT {\"verbose\":false,\"headers\":true}\r\n",
        b"HPUB foo 20 14\r\nNATS/1.0\r\n\r\nhi\r\n",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsub_with_max() {
    let s = server().await;
    let mut c = quiet_conn_sending(
        &s,
        b"SUB foo 1\r\nUNSUB 1 2\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nPUB foo 1\r\nc\r\nPING\r\n",
    )
    .await;
    c.expect_bytes(b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n")
        .await;
    // The subscription is gone: nothing more arrives.
    c.send(b"PUB foo 1\r\nd\r\n").await;
    c.expect_open().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsub_with_max_already_reached_removes_at_once() {
    let s = server().await;
    let mut c = quiet_conn_sending(
        &s,
        b"SUB foo 1\r\nPUB foo 1\r\na\r\nPUB foo 1\r\nb\r\nUNSUB 1 2\r\nPUB foo 1\r\nc\r\nPING\r\n",
    )
    .await;
    c.expect_bytes(b"MSG foo 1 1\r\na\r\nMSG foo 1 1\r\nb\r\nPONG\r\n")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_false_suppresses_own_messages() {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(
        b"CONNECT {\"verbose\":false,\"echo\":false}\r\nSUB foo 1\r\nPUB foo 2\r\nhi\r\nPING\r\n",
    )
    .await;
    c.expect_line_eq("PONG").await;
    let mut other = quiet_conn_sending(&s, b"PUB foo 5\r\nother\r\nPING\r\n").await;
    other.expect_line_eq("PONG").await;
    c.expect_bytes(b"MSG foo 1 5\r\nother\r\n").await;
}

// ------------------------------------------------------------------------------ no responders

const NO_RESPONDERS: &[u8] = b"HMSG _INBOX.x 7 16 16\r\nNATS/1.0 503\r\n\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_responders_status_message() {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(b"CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\nSUB _INBOX.x 7\r\n")
        .await;
    c.send(b"PUB nobody _INBOX.x 2\r\nhi\r\nPING\r\n").await;
    let mut want = NO_RESPONDERS.to_vec();
    want.extend_from_slice(b"PONG\r\n");
    c.expect_bytes(&want).await;
    // Same for HPUB.
    c.send(b"HPUB nobody _INBOX.x 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPING\r\n")
        .await;
    c.expect_bytes(&want).await;
    // With a subscriber present, the request is delivered instead.
    c.send(b"SUB served 8\r\nPUB served _INBOX.x 2\r\nhi\r\nPING\r\n")
        .await;
    c.expect_bytes(b"MSG served 8 _INBOX.x 2\r\nhi\r\nPONG\r\n")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_status_without_no_responders_option() {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(b"CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB _INBOX.x 7\r\n")
        .await;
    c.send(b"PUB nobody _INBOX.x 2\r\nhi\r\nPING\r\n").await;
    c.expect_line_eq("PONG").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_responders_requires_headers() {
    let s = server().await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(b"CONNECT {\"verbose\":false,\"no_responders\":true}\r\n")
        .await;
    c.expect_line_then_closed("-ERR 'no responders requires headers support'")
        .await;
}

// --------------------------------------------------------------------------------- limits

/// Connects and completes a CONNECT/PING round trip. The reference's readiness probe is itself
/// a connection; the server may not have reaped it yet when the test starts, so a refusal for
/// max_connections is retried a bounded number of times.
async fn connect_counted(s: &TestServer) -> RawConn {
    for _ in 0..50 {
        let mut c = RawConn::connect(s.addr()).await;
        c.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n").await;
        match c.next_op().await {
            ServerOp::Pong => return c,
            ServerOp::Err(e) if e == "'maximum connections exceeded'" => continue,
            other => panic!("expected PONG, got {other:?}"),
        }
    }
    panic!("could not get a connection within max_connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_exceeded() {
    let s = server_with(|o| o.max_connections = 2).await;
    let mut a = connect_counted(&s).await;
    let mut b = connect_counted(&s).await;
    // The third still gets INFO, then the error, then is closed.
    let mut c = RawConn::connect(s.addr()).await;
    c.expect_line_then_closed("-ERR 'maximum connections exceeded'")
        .await;
    a.expect_open().await;
    b.expect_open().await;
    // Once one leaves, a new one is admitted.
    drop(a);
    let mut d = connect_counted(&s).await;
    d.expect_open().await;
}

// ----------------------------------------------------------------------------------- auth

fn token_auth(o: &mut Options) {
    o.authorization = Authorization {
        token: Some("s3cret".into()),
        ..Authorization::default()
    };
}

fn user_auth(o: &mut Options) {
    o.authorization = Authorization {
        user: Some("alice".into()),
        password: Some("pw".into()),
        ..Authorization::default()
    };
}

async fn assert_auth_violation(s: &TestServer, input: &[u8]) {
    let mut c = RawConn::connect(s.addr()).await;
    assert_eq!(c.info.as_ref().expect("INFO")["auth_required"], true);
    c.send(input).await;
    c.expect_line_then_closed("-ERR 'Authorization Violation'")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_auth_rejects_missing_or_wrong_token() {
    let s = server_with(token_auth).await;
    assert_auth_violation(&s, b"CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    assert_auth_violation(
        &s,
        b"CONNECT {\"verbose\":false,\"auth_token\":\"nope\"}\r\nPING\r\n",
    )
    .await;
    assert_auth_violation(
        &s,
        b"CONNECT {\"verbose\":false,\"user\":\"a\",\"pass\":\"b\"}\r\nPING\r\n",
    )
    .await;
    // Anything before CONNECT is refused too.
    assert_auth_violation(&s, b"PING\r\n").await;
    assert_auth_violation(&s, b"SUB foo 1\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_auth_accepts_right_token() {
    let s = server_with(token_auth).await;
    let mut c = RawConn::connect_with(s.addr(), r#"{"verbose":false,"auth_token":"s3cret"}"#).await;
    c.send(b"SUB foo 1\r\nPUB foo 2\r\nok\r\nPING\r\n").await;
    c.expect_bytes(b"MSG foo 1 2\r\nok\r\nPONG\r\n").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_password_auth() {
    let s = server_with(user_auth).await;
    assert_auth_violation(
        &s,
        b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"bad\"}\r\nPING\r\n",
    )
    .await;
    assert_auth_violation(
        &s,
        b"CONNECT {\"verbose\":false,\"user\":\"bob\",\"pass\":\"pw\"}\r\nPING\r\n",
    )
    .await;
    assert_auth_violation(&s, b"CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    let mut c =
        RawConn::connect_with(s.addr(), r#"{"verbose":false,"user":"alice","pass":"pw"}"#).await;
    c.expect_open().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_timeout_closes_silent_client() {
    let s = server_with(|o| {
        token_auth(o);
        o.auth_timeout = Duration::from_secs(1);
    })
    .await;
    let started = Instant::now();
    let mut c = RawConn::connect(s.addr()).await;
    let line = c.expect_line_within(Duration::from_secs(5)).await;
    let elapsed = started.elapsed();
    assert_eq!(line, "-ERR 'Authentication Timeout'");
    assert!(
        elapsed >= Duration::from_millis(700),
        "timed out too early: {elapsed:?}"
    );
    let rest = c.expect_closed().await;
    assert!(
        rest.is_empty(),
        "unexpected: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

// ------------------------------------------------------------------------------- keepalive

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_connection_is_closed() {
    let s = server_with(|o| {
        o.ping_interval = Duration::from_millis(200);
        o.ping_max = 1;
    })
    .await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(QUIET).await;
    let started = Instant::now();
    assert_eq!(
        c.next_op_within(Duration::from_secs(3)).await,
        ServerOp::Ping
    );
    assert_eq!(
        c.next_op_within(Duration::from_secs(3)).await,
        ServerOp::Err("'Stale Connection'".into())
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250),
        "stale too early: {elapsed:?}"
    );
    let (rest, _) = c.expect_closed_within(Duration::from_secs(3)).await;
    assert!(
        rest.is_empty(),
        "unexpected: {:?}",
        String::from_utf8_lossy(&rest)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answered_pings_keep_connection_alive() {
    let s = server_with(|o| {
        o.ping_interval = Duration::from_millis(200);
        o.ping_max = 1;
    })
    .await;
    let mut c = RawConn::connect(s.addr()).await;
    c.send(QUIET).await;
    // Answer five server PINGs (~1 s, several times the stale limit).
    for _ in 0..5 {
        assert_eq!(
            c.next_op_within(Duration::from_secs(3)).await,
            ServerOp::Ping
        );
        c.send(b"PONG\r\n").await;
    }
    // Still served: our PING gets a PONG (server PINGs may interleave).
    c.send(b"PING\r\n").await;
    loop {
        match c.next_op_within(Duration::from_secs(3)).await {
            ServerOp::Pong => break,
            ServerOp::Ping => c.send(b"PONG\r\n").await,
            other => panic!("expected PONG, got {other:?}"),
        }
    }
}
