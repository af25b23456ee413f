//! Slow consumer handling: a subscriber that never reads must be cut off without hurting other
//! subscribers or letting the server's memory grow without bound.
//!
//! Measured on nats-server 2.9.10 (max_pending 1 MiB, write_deadline 1 s): the slow client is
//! sent nothing special before being closed — no `-ERR 'Slow Consumer'` — the stream is just cut,
//! usually in the middle of a MSG payload; reading what was buffered ends in EOF. (Its log says
//! "Slow Consumer Detected".) The test therefore accepts a stream of `PONG`/`MSG` frames whose
//! last frame may be truncated, optionally followed by `-ERR 'Slow Consumer'` (which a server
//! could send if it has room), and then requires EOF or reset.
//!
//! This binary holds a single test on purpose: for Weir the server runs in this process and the
//! memory check reads this process's VmRSS.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::TestServer;
use common::{
    parse_op, round_trip, tcp_state, test_options, within, Closed, Parsed, RawConn, ServerOp,
};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpSocket;

const MAX_PENDING: usize = 1024 * 1024;
const FLOOD_BUDGET_BYTES: u64 = 2 * 1024 * 1024 * 1024;
const FLOOD_TIME: Duration = Duration::from_secs(20);
const MAX_RSS_GROWTH: u64 = 256 * 1024 * 1024;
const SIZES: [usize; 5] = [128, 1024, 8 * 1024, 32 * 1024, 64 * 1024];

/// ~1 MiB of PUB frames cycling through SIZES.
fn flood_batch() -> (Vec<u8>, u64) {
    let mut batch = Vec::new();
    let mut msgs = 0u64;
    'fill: loop {
        for size in SIZES {
            batch.extend_from_slice(format!("PUB flood {size}\r\n").as_bytes());
            batch.extend(std::iter::repeat_n(b'x', size));
            batch.extend_from_slice(b"\r\n");
            msgs += 1;
            if batch.len() >= 1024 * 1024 {
                break 'fill;
            }
        }
    }
    (batch, msgs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_is_cut_off_others_unaffected() {
    let mut opts = test_options();
    opts.max_pending_bytes = MAX_PENDING;
    opts.max_payload_bytes = 64 * 1024;
    opts.write_deadline = Duration::from_secs(1);
    let s = TestServer::start(opts).await;

    // The slow subscriber: small receive buffer, SUB, then never reads again.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = within(Duration::from_secs(2), "connect", socket.connect(s.addr()))
        .await
        .unwrap();
    let mut slow = RawConn::from_stream(stream);
    slow.read_info().await;
    slow.send(b"CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n")
        .await;
    slow.expect_line_eq("PONG").await;
    let slow_local = slow.local_addr();
    assert_eq!(
        tcp_state(s.addr(), slow_local).as_deref(),
        Some("01"),
        "the server's end of the slow connection is ESTABLISHED in /proc/net/tcp"
    );

    // A normal subscriber on the same subject, and a responder for the post-flood check.
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let ev = events.clone();
    let normal = async_nats::ConnectOptions::new()
        .subscription_capacity(1 << 20)
        .event_callback(move |e| {
            let ev = ev.clone();
            async move { ev.lock().unwrap().push(e.to_string()) }
        })
        .connect(s.url())
        .await
        .unwrap();
    let mut normal_sub = normal.subscribe("flood").await.unwrap();
    let responder = async_nats::connect(s.url()).await.unwrap();
    let mut svc = responder.subscribe("svc").await.unwrap();
    round_trip(&normal).await;
    round_trip(&responder).await;
    let r = responder.clone();
    let responder_task = tokio::spawn(async move {
        if let Some(m) = svc.next().await {
            r.publish(m.reply.unwrap(), "alive".into()).await.unwrap();
            r.flush().await.unwrap();
        }
    });
    let counter = tokio::spawn(async move {
        let mut n = 0u64;
        while let Some(m) = normal_sub.next().await {
            if m.payload == "END" {
                return n;
            }
            n += 1;
        }
        n
    });

    let rss_before = s.server_rss_bytes();

    // Flood until the server drops the slow client, the byte budget or the time is spent.
    let mut publisher = RawConn::connect_quiet(s.addr()).await;
    let (batch, batch_msgs) = flood_batch();
    let deadline = tokio::time::Instant::now() + FLOOD_TIME;
    let (mut sent_bytes, mut sent_msgs, mut cut) = (0u64, 0u64, false);
    while sent_bytes < FLOOD_BUDGET_BYTES && tokio::time::Instant::now() < deadline {
        let write = publisher.stream_mut().write_all(&batch);
        match tokio::time::timeout_at(deadline, write).await {
            Ok(r) => r.expect("publisher write"),
            Err(_) => break,
        }
        sent_bytes += batch.len() as u64;
        sent_msgs += batch_msgs;
        if tcp_state(s.addr(), slow_local).as_deref() != Some("01") {
            cut = true;
            break;
        }
    }
    // Round trip so every published message has been processed.
    publisher.send(b"PUB flood 3\r\nEND\r\nPING\r\n").await;
    publisher.expect_line_eq("PONG").await;
    let rss_after = s.server_rss_bytes();
    eprintln!(
        "flooded {sent_msgs} msgs / {sent_bytes} bytes; cut seen during flood: {cut}; \
         rss {rss_before} -> {rss_after}"
    );

    // The slow client: whatever was buffered is well-formed, then the connection ends.
    let (data, how) = slow.expect_closed_within(Duration::from_secs(10)).await;
    let (delivered, tail) = check_slow_stream(&data);
    eprintln!(
        "slow consumer read {} bytes ({delivered} MSGs) then {how:?}; tail: {tail:?}",
        data.len()
    );
    assert!(matches!(how, Closed::Eof | Closed::Reset));
    assert!(
        delivered < sent_msgs,
        "the slow consumer was not cut: got all {delivered} messages"
    );

    // The normal subscriber got every message and is still connected.
    let got = tokio::time::timeout(Duration::from_secs(20), counter).await;
    assert!(
        matches!(got, Ok(Ok(n)) if n == sent_msgs),
        "normal subscriber: got {got:?} of {sent_msgs} messages; its client events: {:?}",
        events.lock().unwrap()
    );
    let reply = within(
        Duration::from_secs(5),
        "request after the flood",
        normal.request("svc", "ping".into()),
    )
    .await
    .expect("request after flood");
    assert_eq!(reply.payload, "alive");
    within(Duration::from_secs(5), "responder", responder_task)
        .await
        .unwrap();

    // Memory stayed bounded.
    let growth = rss_after.saturating_sub(rss_before);
    assert!(
        growth < MAX_RSS_GROWTH,
        "server RSS grew by {} MiB (from {rss_before} to {rss_after})",
        growth / (1024 * 1024)
    );
}

/// Checks the bytes the slow consumer received: PONG/MSG frames for `flood`, the last possibly
/// truncated, optionally an `-ERR 'Slow Consumer'`. Returns the number of complete MSGs and a
/// description of the tail.
fn check_slow_stream(data: &[u8]) -> (u64, String) {
    let mut rest = data;
    let mut msgs = 0u64;
    loop {
        match parse_op(rest) {
            Parsed::Op(op, used) => {
                match op {
                    ServerOp::Msg { subject, sid, .. } => {
                        assert_eq!((subject.as_str(), sid.as_str()), ("flood", "1"));
                        msgs += 1;
                    }
                    ServerOp::Pong | ServerOp::Ping => {}
                    ServerOp::Err(e) => {
                        assert_eq!(e, "'Slow Consumer'", "unexpected error to slow consumer");
                        return (msgs, format!("-ERR {e}"));
                    }
                    other => panic!("unexpected op to slow consumer: {other:?}"),
                }
                rest = &rest[used..];
            }
            Parsed::Incomplete => {
                return (msgs, format!("{} bytes of a truncated frame", rest.len()));
            }
            Parsed::Invalid(why) => {
                // A cut inside a payload makes the remainder look like a bad frame only if the
                // declared size runs past the end, which parse_op reports as Incomplete.
                panic!("slow consumer stream is malformed: {why}");
            }
        }
    }
}
