//! TLS for client connections: async-nats over TLS, the refusal of plain clients (also checked
//! against nats-server 2.9.10 when installed), `handshake_first`, and start-up refusals of
//! unusable setups. Client-certificate verification, versions and suites are in
//! `tls_verify.rs`; HTTPS monitoring, reload and slow consumers in `tls_https.rs`;
//! `verify_and_map` in `tls_mapping.rs`. Certificates come from `tls_support`.

mod common;
mod tls_support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use weir_server::tls::{HandshakeFirst, TlsOptions};
use weir_server::{Options, Server};

use common::{test_options, within};
use tls_support::{nats_tls, pki, read_info_line, read_until_closed, start, tls_options, url, T};

/// An async-nats client trusting the CA connects; pub/sub and request/reply work over TLS.
#[tokio::test]
async fn async_nats_over_tls_pubsub_and_request_reply() {
    let pki = pki();
    let server = start(&pki, |_| {}).await;
    let client = within(T, "connect", nats_tls(&pki).connect(url(&server)))
        .await
        .expect("TLS client connects");
    let responder = within(T, "connect", nats_tls(&pki).connect(url(&server)))
        .await
        .expect("second TLS client connects");

    let mut sub = client.subscribe("tls.events").await.expect("subscribe");
    client.flush().await.expect("flush");
    client
        .publish("tls.events", "hello".into())
        .await
        .expect("publish");
    let msg = within(T, "message", sub.next()).await.expect("message");
    assert_eq!(&msg.payload[..], b"hello");

    let mut requests = responder.subscribe("tls.echo").await.expect("subscribe");
    responder.flush().await.expect("flush");
    let answering = responder.clone();
    tokio::spawn(async move {
        while let Some(req) = requests.next().await {
            if let Some(reply) = req.reply {
                let _ = answering.publish(reply, req.payload).await;
            }
        }
    });
    let answer = within(T, "reply", client.request("tls.echo", "ping!".into()))
        .await
        .expect("request answered");
    assert_eq!(&answer.payload[..], b"ping!");
    server.shutdown().await;
}

/// A plain client sees INFO (`tls_required: true`) and then the connection closes with no
/// `-ERR`, both when it stays silent (handshake timeout) and when it speaks plaintext.
#[tokio::test]
async fn plain_client_is_refused() {
    let pki = pki();
    let server = start(&pki, |t| t.timeout = Duration::from_millis(500)).await;
    assert_plain_client_refused(server.client_addr(), Duration::from_millis(500)).await;
    server.shutdown().await;
}

async fn assert_plain_client_refused(addr: SocketAddr, timeout: Duration) {
    // Silent: closed once the handshake times out.
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let started = Instant::now();
    let got = read_until_closed(&mut silent).await;
    let text = String::from_utf8_lossy(&got).to_string();
    assert!(text.starts_with("INFO {"), "{text}");
    assert!(text.contains("\"tls_required\":true"), "{text}");
    assert!(
        text.ends_with("}\r\n") || text.ends_with("} \r\n"),
        "only INFO: {text}"
    );
    assert_eq!(
        text.matches("\r\n").count(),
        1,
        "nothing after INFO: {text}"
    );
    let waited = started.elapsed();
    assert!(
        waited >= timeout.mul_f32(0.8) && waited < timeout + Duration::from_secs(3),
        "closed after {waited:?}, timeout {timeout:?}"
    );

    // Plaintext CONNECT: not a TLS record, closed at once.
    let mut plain = TcpStream::connect(addr).await.expect("connect");
    let info = read_info_line(&mut plain).await;
    assert!(info.contains("\"tls_required\":true"), "{info}");
    plain
        .write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
        .await
        .expect("write");
    let started = Instant::now();
    let rest = read_until_closed(&mut plain).await;
    assert!(
        rest.is_empty(),
        "no reply: {:?}",
        String::from_utf8_lossy(&rest)
    );
    assert!(
        started.elapsed() < timeout,
        "closed before the handshake timeout"
    );
}

/// The same observations against nats-server 2.9.10 (skipped when it is not installed).
#[tokio::test]
async fn plain_client_is_refused_like_nats_server() {
    let bin = std::env::var("WEIR_REFERENCE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/usr/sbin/nats-server"));
    if !bin.is_file() {
        eprintln!("skipped: no nats-server at {}", bin.display());
        return;
    }
    let pki = pki();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let conf = pki.dir.join("nats.conf");
    std::fs::write(
        &conf,
        format!(
            "listen: \"127.0.0.1:{port}\"\ntls {{\n  cert_file: {:?}\n  key_file: {:?}\n  timeout: 0.5\n}}\n",
            pki.server_cert, pki.server_key
        ),
    )
    .expect("write config");
    let child = Command::new(&bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn nats-server");
    let _guard = KillOnDrop(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + T;
    while TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "nats-server did not start");
        // Poll interval of a bounded wait for the child to listen.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_plain_client_refused(addr, Duration::from_millis(500)).await;
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `handshake_first`: async-nats' `tls_first()` connects; a client waiting for plaintext
/// INFO does not. With the `auto` fallback both kinds connect.
#[tokio::test]
async fn handshake_first() {
    let pki = pki();
    let server = start(&pki, |t| {
        t.handshake_first = HandshakeFirst::Always;
        t.timeout = Duration::from_millis(500);
    })
    .await;
    let client = within(
        T,
        "connect",
        nats_tls(&pki).tls_first().connect(url(&server)),
    )
    .await
    .expect("tls_first client connects");
    let mut sub = client.subscribe("first").await.expect("subscribe");
    client.publish("first", "x".into()).await.expect("publish");
    assert!(within(T, "message", sub.next()).await.is_some());
    // A plain socket gets no INFO: the server waits for a ClientHello.
    let mut plain = TcpStream::connect(server.client_addr())
        .await
        .expect("connect");
    assert!(
        read_until_closed(&mut plain).await.is_empty(),
        "no plaintext INFO"
    );
    server.shutdown().await;

    let server = start(&pki, |t| {
        t.handshake_first = HandshakeFirst::Fallback(Duration::from_millis(50));
    })
    .await;
    for opts in [nats_tls(&pki).tls_first(), nats_tls(&pki)] {
        let client = within(T, "connect", opts.connect(url(&server)))
            .await
            .expect("client connects with fallback");
        client.flush().await.expect("round trip");
    }
    server.shutdown().await;
}

/// Start-up refuses unusable TLS setups with a message naming the fix.
#[tokio::test]
async fn bad_setups_refuse_to_start() {
    let opts = Options {
        https_port: Some(0),
        ..test_options()
    };
    let err = Server::start(opts).await.err().expect("https without tls");
    assert!(
        err.to_string().contains("https_port needs a certificate"),
        "{err}"
    );

    let missing = Options {
        tls: Some(TlsOptions {
            cert_file: Some("/nonexistent/weir-cert.pem".into()),
            key_file: Some("/nonexistent/weir-key.pem".into()),
            ..TlsOptions::default()
        }),
        ..test_options()
    };
    let err = Server::start(missing).await.err().expect("missing cert");
    assert!(
        err.to_string().contains("/nonexistent/weir-cert.pem"),
        "{err}"
    );

    let pki = pki();
    let mut swapped = tls_options(&pki);
    swapped.key_file = Some(pki.client_key.clone());
    let opts = Options {
        tls: Some(swapped),
        ..test_options()
    };
    let err = Server::start(opts)
        .await
        .err()
        .expect("key of another cert");
    assert!(err.to_string().contains("cannot be used together"), "{err}");
}
