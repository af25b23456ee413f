//! Lame duck mode with JetStream under load: clients publishing with acks are told
//! (`INFO {"ldm":true}`, async-nats' `Event::LameDuckMode`), the listener stops accepting,
//! existing connections are closed over the grace period and duration, `/healthz` turns 503,
//! and every publish that got an ack is in the stream after a restart on the same store.
//!
//! The drain tests are Weir only: they need the in-process handle (`enter_lame_duck_mode`) or
//! short durations (nats-server refuses a `lame_duck_duration` under 30 s). The no-clients
//! case runs on both targets (`WEIR_TEST_TARGET=nats-server`).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use async_nats::Event;
use common::{http_json, js_options, within, RawConn, ServerOp, TempDir};
use tokio::sync::mpsc;

const PUBLISHERS: usize = 3;
const GRACE: Duration = Duration::from_millis(1000);
const DURATION: Duration = Duration::from_millis(2500);

fn lame_duck_options(store: &std::path::Path) -> weir_server::Options {
    let mut opts = js_options(store);
    opts.http_port = Some(0);
    opts.lame_duck_grace_period = GRACE;
    opts.lame_duck_duration = DURATION;
    opts
}

/// Publishes `"{p}-{n}"` on `orders.{p}` one at a time until the connection fails or `stop`;
/// returns what was acknowledged as (payload, stream sequence).
async fn publisher(
    js: jetstream::Context,
    p: usize,
    stop: Arc<AtomicBool>,
    first_ack: mpsc::UnboundedSender<()>,
) -> Vec<(String, u64)> {
    let mut acked = Vec::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let payload = format!("{p}-{n}");
        n += 1;
        let sent = js
            .publish(format!("orders.{p}"), payload.clone().into())
            .await;
        let Ok(ack) = sent else { break };
        match ack.await {
            Ok(ack) => {
                if acked.is_empty() {
                    let _ = first_ack.send(());
                }
                acked.push((payload, ack.sequence));
            }
            // The server closed us (or the ack timed out): nothing more will get through.
            Err(_) => break,
        }
    }
    acked
}

async fn connect(
    addr: SocketAddr,
    events: mpsc::UnboundedSender<(usize, Event)>,
    p: usize,
) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .event_callback(move |e| {
            let events = events.clone();
            async move {
                let _ = events.send((p, e));
            }
        })
        // After lame duck mode closes us the listener is gone: give up quickly.
        .max_reconnects(1)
        .reconnect_delay_callback(|_| Duration::from_millis(10))
        .connect(addr.to_string())
        .await
        .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lame_duck_mode_drains_clients_without_losing_acknowledged_publishes() {
    if common::target() == common::Target::Reference {
        return; // See the module doc.
    }
    let dir = TempDir::new();
    let handle = weir_server::Server::start(lame_duck_options(dir.path()))
        .await
        .expect("start");
    let addr = handle.client_addr();
    let monitor = format!("http://{}", handle.monitor_addr().expect("monitor"));

    let setup = async_nats::connect(addr.to_string())
        .await
        .expect("connect");
    jetstream::new(setup.clone())
        .create_stream(jetstream::stream::Config {
            name: "ORDERS".into(),
            subjects: vec!["orders.>".into()],
            ..Default::default()
        })
        .await
        .expect("create stream");
    drop(setup);

    // A raw connection sees the INFO itself.
    let mut raw = RawConn::connect(addr).await;
    raw.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    raw.expect_line_eq("PONG").await;

    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (ack_tx, mut first_acks) = mpsc::unbounded_channel();
    let stop = Arc::new(AtomicBool::new(false));
    let mut publishers = Vec::new();
    for p in 0..PUBLISHERS {
        let client = connect(addr, events_tx.clone(), p).await;
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(2))
            .build(client);
        publishers.push(tokio::spawn(publisher(js, p, stop.clone(), ack_tx.clone())));
    }
    within(
        Duration::from_secs(10),
        "every publisher's first ack",
        async {
            for _ in 0..PUBLISHERS {
                first_acks.recv().await.expect("ack channel");
            }
        },
    )
    .await;
    let (status, _) = http_json(&format!("{monitor}/healthz")).await;
    assert_eq!(status, 200);

    let entered = Instant::now();
    handle.enter_lame_duck_mode();

    // 1. Everyone is told: INFO with ldm: true.
    match raw.next_op_within(Duration::from_secs(2)).await {
        ServerOp::Info(json) => {
            let info: serde_json::Value = serde_json::from_str(&json).expect("INFO json");
            assert_eq!(info["ldm"], true, "{json}");
        }
        other => panic!("expected INFO with ldm, got {other:?}"),
    }
    // Existing connections still work during the grace period.
    raw.expect_open().await;
    assert!(
        entered.elapsed() < GRACE,
        "too slow to check the grace period ({:?})",
        entered.elapsed()
    );
    within(
        Duration::from_secs(2),
        "Event::LameDuckMode on every client",
        async {
            let mut told = [false; PUBLISHERS];
            while !told.iter().all(|t| *t) {
                if let Some((p, Event::LameDuckMode)) = events.recv().await {
                    told[p] = true;
                }
            }
        },
    )
    .await;

    // 2. No new connections; /healthz fails as nats-server's does once its listener is closed.
    within(
        Duration::from_secs(2),
        "the client listener to close",
        async {
            while tokio::net::TcpStream::connect(addr).await.is_ok() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        },
    )
    .await;
    assert!(
        async_nats::connect(addr.to_string()).await.is_err(),
        "a new client connected during lame duck mode"
    );
    let (status, body) = http_json(&format!("{monitor}/healthz")).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body,
        serde_json::json!({"status": "error", "error": "failed to be ready for connections after 1ms: server"}),
        "nats-server 2.9.10's answer during lame duck mode"
    );

    // 3. Existing connections were kept for the grace period (checked above), then all close
    //    within the duration.
    let (_, _) = within(
        DURATION + Duration::from_secs(3),
        "lame duck mode to close the raw connection",
        raw.expect_closed_within(DURATION + Duration::from_secs(2)),
    )
    .await;
    within(
        DURATION + Duration::from_secs(3),
        "every client to be disconnected",
        async {
            let mut gone = [false; PUBLISHERS];
            while !gone.iter().all(|g| *g) {
                if let Some((p, Event::Disconnected)) = events.recv().await {
                    gone[p] = true;
                }
            }
        },
    )
    .await;
    within(
        Duration::from_secs(5),
        "the server to stop after lame duck mode",
        handle.stopped(),
    )
    .await;
    assert!(
        entered.elapsed() >= GRACE,
        "clients closed before the grace period ended"
    );
    stop.store(true, Ordering::Relaxed);
    let mut acked = Vec::new();
    for p in publishers {
        let got = within(Duration::from_secs(10), "publisher to stop", p)
            .await
            .expect("publisher task");
        acked.extend(got);
    }
    assert!(!acked.is_empty());
    within(Duration::from_secs(15), "shutdown", handle.shutdown()).await;

    // 4. Restart on the same store: every acknowledged publish is there, at its sequence.
    let mut opts = lame_duck_options(dir.path());
    opts.http_port = None;
    let handle = weir_server::Server::start(opts).await.expect("restart");
    let client = async_nats::connect(handle.client_addr().to_string())
        .await
        .expect("connect after restart");
    let js = jetstream::new(client);
    let stream = js.get_stream("ORDERS").await.expect("stream after restart");
    let last_seq = stream.cached_info().state.last_sequence;
    let max_acked = acked.iter().map(|(_, s)| *s).max().unwrap_or(0);
    assert!(
        last_seq >= max_acked,
        "stream ends at {last_seq}, but {max_acked} was acknowledged"
    );
    for (payload, seq) in &acked {
        let msg = within(
            Duration::from_secs(5),
            "get message",
            stream.get_raw_message(*seq),
        )
        .await
        .unwrap_or_else(|e| panic!("acknowledged seq {seq} ({payload}) lost: {e}"));
        assert_eq!(
            std::str::from_utf8(&msg.payload).expect("utf8"),
            payload,
            "seq {seq}"
        );
    }
    eprintln!(
        "{} acknowledged publishes survived lame duck mode and a restart",
        acked.len()
    );
    // Publishing works again after the restart.
    let ack = js
        .publish("orders.again", "x".into())
        .await
        .expect("publish")
        .await
        .expect("ack");
    assert_eq!(ack.sequence, last_seq + 1);
    handle.shutdown().await;
}

/// The binary's path: `weir-server --signal ldm=<pid>` (SIGUSR2) puts a running server into
/// lame duck mode; its client gets `INFO {"ldm":true}`, is closed after the grace period, and
/// the process exits cleanly.
#[tokio::test]
async fn signal_ldm_drains_and_exits_the_binary() {
    if common::target() == common::Target::Reference {
        return; // nats-server refuses lame_duck_duration under 30 s.
    }
    let dir = TempDir::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let conf = dir.path().join("server.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: \"127.0.0.1:{port}\"\nlame_duck_duration: \"1500ms\"\nlame_duck_grace_period: \"300ms\"\n"
        ),
    )
    .expect("write conf");
    let bin = common::server_bin();
    let mut child = KillOnDrop(
        std::process::Command::new(&bin)
            .arg("-c")
            .arg(&conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn weir-server"),
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut raw = within(Duration::from_secs(10), "the server to accept", async {
        loop {
            if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
                break RawConn::from_stream(stream);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    raw.read_info().await;
    raw.send(b"CONNECT {\"verbose\":false}\r\nPING\r\n").await;
    raw.expect_line_eq("PONG").await;

    let status = std::process::Command::new(&bin)
        .arg("--signal")
        .arg(format!("ldm={}", child.0.id()))
        .status()
        .expect("run --signal");
    assert!(status.success());
    match raw.next_op_within(Duration::from_secs(2)).await {
        ServerOp::Info(json) => assert!(json.contains("\"ldm\":true"), "{json}"),
        other => panic!("expected INFO with ldm, got {other:?}"),
    }
    raw.expect_closed_within(Duration::from_secs(5)).await;
    let exited = within(Duration::from_secs(10), "the process to exit", async {
        loop {
            if let Some(status) = child.0.try_wait().expect("wait") {
                break status;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(exited.success(), "{exited}");
}

/// Kills the child if the test fails before it exits.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// With no clients connected, lame duck mode has nobody to drain: nats-server shuts down at
/// once rather than waiting out the grace period (10 s by default). Runs on both targets.
#[test]
fn lame_duck_mode_without_clients_exits_at_once() {
    let dir = TempDir::new();
    let server = common::ServerProcess::start_js(dir.path());
    let pid = server.pid().expect("running");
    let status = std::process::Command::new("kill")
        .arg("-USR2")
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(status.success());
    // The child is not reaped until `server` drops: it turns into a zombie when it exits.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("Z");
        if state == "Z" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 5 s after SIGUSR2 with no clients; log:\n{}",
            server.log()
        );
        // Short poll interval of a bounded wait for the process to exit.
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(server.log().contains("Entering lame duck mode"));
}
