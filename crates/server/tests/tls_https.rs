//! HTTPS monitoring, certificate reload, and the slow-consumer protection of the TLS writer,
//! with certificates from `tls_support`.

mod common;
mod tls_support;

use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_server::{Options, Server};

use common::{test_options, within};
use tls_support::{nats_tls, pki, read_info_line, rustls_client, start, tls_options, url, T};

/// HTTPS monitoring: `/varz` over TLS answers 200 with JSON showing the TLS settings.
/// `verify` applies to client connections only (as in nats-server): no client certificate
/// is needed for the monitor.
#[tokio::test]
async fn https_monitoring_serves_varz() {
    let pki = pki();
    let mut tls = tls_options(&pki);
    tls.timeout = Duration::from_millis(750);
    tls.verify = true;
    let opts = Options {
        tls: Some(tls),
        https_port: Some(0),
        ..test_options()
    };
    let server = Server::start(opts).await.expect("starts");
    let addr = server.monitor_https_addr().expect("https listener");
    let connector = rustls_client(
        &pki,
        &[&rustls::version::TLS12, &rustls::version::TLS13],
        None,
    );
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = ServerName::try_from("localhost").expect("name");
    let mut tls = within(T, "https handshake", connector.connect(name, tcp))
        .await
        .expect("https handshake");
    tls.write_all(b"GET /varz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .expect("request");
    let mut response = Vec::new();
    let _ = within(T, "response", tls.read_to_end(&mut response)).await;
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let varz: serde_json::Value = serde_json::from_str(body).expect("JSON body");
    assert_eq!(varz["tls_required"], true);
    assert_eq!(varz["tls_timeout"], 0.75);
    assert_eq!(varz["https_port"], 0, "the configured port (0: ephemeral)");
    assert_eq!(varz["tls_verify"], true);
    server.shutdown().await;
}

/// A reload that changes the certificate applies to new connections (the rustls config is
/// rebuilt once for the new options generation).
#[tokio::test]
async fn reload_switches_the_certificate_for_new_connections() {
    let old = pki();
    let new = pki();
    let server = start(&old, |_| {}).await;
    nats_tls(&old)
        .connect(url(&server))
        .await
        .expect("old CA trusted before the reload");
    let opts = Options {
        tls: Some(tls_options(&new)),
        ..test_options()
    };
    server.reload(opts).expect("tls reloads live");
    let after = within(T, "connect", nats_tls(&new).connect(url(&server)))
        .await
        .expect("new certificate served after the reload");
    after.flush().await.expect("round trip");
    let stale = within(T, "connect", nats_tls(&old).connect(url(&server))).await;
    assert!(stale.is_err(), "old certificate no longer served");
    server.shutdown().await;
}

/// The TLS writer keeps the slow-consumer protection: a TLS subscriber that stops reading is
/// cut off at `max_pending` while the publisher keeps going.
#[tokio::test]
async fn tls_subscriber_that_stops_reading_is_a_slow_consumer() {
    let pki = pki();
    let opts = Options {
        tls: Some(tls_options(&pki)),
        max_pending_bytes: 256 * 1024,
        write_deadline: Duration::from_millis(500),
        http_port: Some(0),
        ..test_options()
    };
    let server = Server::start(opts).await.expect("starts");
    let monitor = format!("http://{}", server.monitor_addr().expect("monitor"));

    // A subscriber that never reads after subscribing.
    let connector = rustls_client(
        &pki,
        &[&rustls::version::TLS12, &rustls::version::TLS13],
        None,
    );
    let mut tcp = TcpStream::connect(server.client_addr()).await.expect("tcp");
    read_info_line(&mut tcp).await;
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let mut stuck = connector.connect(name, tcp).await.expect("handshake");
    stuck
        .write_all(b"CONNECT {\"verbose\":false}\r\nSUB flood 1\r\nPING\r\n")
        .await
        .expect("subscribe");
    let mut pong = [0u8; 6];
    within(T, "PONG", stuck.read_exact(&mut pong))
        .await
        .expect("PONG");

    let publisher = within(T, "connect", nats_tls(&pki).connect(url(&server)))
        .await
        .expect("publisher");
    let payload = bytes::Bytes::from(vec![b'x'; 16 * 1024]);
    let deadline = Instant::now() + T;
    loop {
        for _ in 0..64 {
            publisher
                .publish("flood", payload.clone())
                .await
                .expect("publish");
        }
        publisher.flush().await.expect("publisher stays connected");
        let (_, varz) = common::http_json(&format!("{monitor}/varz")).await;
        if varz["slow_consumers"].as_u64().unwrap_or(0) >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no slow consumer: {varz}");
    }
    drop(stuck);
    server.shutdown().await;
}
