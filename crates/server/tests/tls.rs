//! TLS for clients and HTTPS monitoring, with certificates made here by rcgen: a CA, a server
//! certificate for 127.0.0.1/localhost, a client certificate from the CA and one from another
//! CA. The plain-client refusal is also checked against nats-server 2.9.10 when installed.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_server::tls::{CipherSuiteName, HandshakeFirst, TlsOptions, TlsVersion};
use weir_server::{Options, Server, ServerHandle};

use common::{test_options, within};

const T: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

struct Pki {
    dir: PathBuf,
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    /// A client certificate from a CA the server does not trust.
    stranger_cert: PathBuf,
    stranger_key: PathBuf,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn dn(pairs: &[(DnType, &str)]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for (kind, value) in pairs {
        dn.push(kind.clone(), *value);
    }
    dn
}

fn make_ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().expect("ca key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name = dn(&[(DnType::CommonName, name)]);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    (params.self_signed(&key).expect("self-sign ca"), key)
}

fn client_params() -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    params.distinguished_name = dn(&[
        (DnType::OrganizationName, "Acme"),
        (DnType::OrganizationalUnitName, "eng"),
        (DnType::CommonName, "alice"),
    ]);
    params.subject_alt_names = vec![
        SanType::Rfc822Name("alice@acme.test".try_into().expect("email")),
        SanType::DnsName("alice.acme.test".try_into().expect("dns")),
        SanType::URI("nats://alice".try_into().expect("uri")),
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params
}

fn write(dir: &Path, name: &str, pem: String) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("write pem");
    path
}

fn pki() -> Pki {
    let dir =
        std::env::temp_dir().join(format!("weir-tls-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (ca, ca_key) = make_ca("Weir Test CA");
    let server_key = KeyPair::generate().expect("server key");
    let mut server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("server params");
    server.distinguished_name = dn(&[(DnType::CommonName, "localhost")]);
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server = server
        .signed_by(&server_key, &ca, &ca_key)
        .expect("sign server");
    let client_key = KeyPair::generate().expect("client key");
    let client = client_params()
        .signed_by(&client_key, &ca, &ca_key)
        .expect("sign client");
    let (other_ca, other_key) = make_ca("Someone Else's CA");
    let stranger_key = KeyPair::generate().expect("stranger key");
    let stranger = client_params()
        .signed_by(&stranger_key, &other_ca, &other_key)
        .expect("sign stranger");
    Pki {
        ca: write(&dir, "ca.pem", ca.pem()),
        server_cert: write(&dir, "server.pem", server.pem()),
        server_key: write(&dir, "server-key.pem", server_key.serialize_pem()),
        client_cert: write(&dir, "client.pem", client.pem()),
        client_key: write(&dir, "client-key.pem", client_key.serialize_pem()),
        stranger_cert: write(&dir, "stranger.pem", stranger.pem()),
        stranger_key: write(&dir, "stranger-key.pem", stranger_key.serialize_pem()),
        dir,
    }
}

fn rand_suffix() -> u128 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    nanos + u128::from(N.fetch_add(1, Ordering::Relaxed))
}

fn tls_options(pki: &Pki) -> TlsOptions {
    TlsOptions {
        cert_file: Some(pki.server_cert.clone()),
        key_file: Some(pki.server_key.clone()),
        ca_file: Some(pki.ca.clone()),
        ..TlsOptions::default()
    }
}

async fn start(pki: &Pki, edit: impl FnOnce(&mut TlsOptions)) -> ServerHandle {
    let mut tls = tls_options(pki);
    edit(&mut tls);
    let opts = Options {
        tls: Some(tls),
        ..test_options()
    };
    Server::start(opts).await.expect("TLS server starts")
}

fn url(server: &ServerHandle) -> String {
    format!("nats://{}", server.client_addr())
}

fn nats_tls(pki: &Pki) -> async_nats::ConnectOptions {
    async_nats::ConnectOptions::new()
        .add_root_certificates(pki.ca.clone())
        .require_tls(true)
}

// ---------------------------------------------------------------------------------------------
// Raw helpers
// ---------------------------------------------------------------------------------------------

/// Everything a plain socket receives until the server closes (or resets) the connection.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match within(T, "the server to close", stream.read(&mut buf)).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

async fn read_info_line(stream: &mut TcpStream) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        let n = within(T, "INFO", stream.read(&mut byte))
            .await
            .expect("read INFO");
        assert_eq!(
            n,
            1,
            "closed before INFO ended: {:?}",
            String::from_utf8_lossy(&line)
        );
        line.push(byte[0]);
    }
    String::from_utf8(line).expect("utf8 INFO")
}

fn roots(pki: &Pki) -> rustls::RootCertStore {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&pki.ca).expect("ca pem") {
        roots.add(cert.expect("ca cert")).expect("add root");
    }
    roots
}

/// A rustls client limited to `versions` (and `suites`, if given), without a certificate.
fn rustls_client(
    pki: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
    suites: Option<&[rustls::CipherSuite]>,
) -> tokio_rustls::TlsConnector {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(suites) = suites {
        provider
            .cipher_suites
            .retain(|s| suites.contains(&s.suite()));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots(pki))
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// INFO in plaintext, then the handshake; `Ok` with the negotiated suite, or the error.
async fn raw_tls_handshake(
    addr: SocketAddr,
    connector: tokio_rustls::TlsConnector,
) -> Result<rustls::CipherSuite, String> {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let info = read_info_line(&mut tcp).await;
    assert!(info.contains("\"tls_required\":true"), "{info}");
    let name = ServerName::try_from("127.0.0.1").expect("server name");
    let mut tls = within(T, "handshake", connector.connect(name, tcp))
        .await
        .map_err(|e| e.to_string())?;
    // TLS 1.3 reports a refused handshake only on the next read: run a PING round trip.
    tls.write_all(b"CONNECT {\"verbose\":false}\r\nPING\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 64];
    let n = within(T, "PONG", tls.read(&mut buf))
        .await
        .map_err(|e| e.to_string())?;
    if !buf[..n].starts_with(b"PONG") {
        return Err(format!("no PONG: {:?}", String::from_utf8_lossy(&buf[..n])));
    }
    Ok(tls
        .get_ref()
        .1
        .negotiated_cipher_suite()
        .map(|s| s.suite())
        .expect("negotiated suite"))
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// 1. An async-nats client trusting the CA connects; pub/sub and request/reply work over TLS.
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

/// 2. A plain client sees INFO (`tls_required: true`) and then the connection closes with no
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

/// 2b. The same observations against nats-server 2.9.10 (skipped when it is not installed).
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

/// 3. `handshake_first`: async-nats' `tls_first()` connects; a client waiting for plaintext
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

/// 4. `verify`: a certificate from the CA is required; none, or one from another CA, fails.
#[tokio::test]
async fn verify_requires_a_client_certificate_from_the_ca() {
    let pki = pki();
    let server = start(&pki, |t| t.verify = true).await;

    let mut raw = TcpStream::connect(server.client_addr())
        .await
        .expect("connect");
    let info = read_info_line(&mut raw).await;
    assert!(info.contains("\"tls_verify\":true"), "{info}");
    drop(raw);

    let good = within(
        T,
        "connect",
        nats_tls(&pki)
            .add_client_certificate(pki.client_cert.clone(), pki.client_key.clone())
            .connect(url(&server)),
    )
    .await
    .expect("client with a CA-signed certificate connects");
    good.flush().await.expect("round trip");

    let none = within(T, "connect", nats_tls(&pki).connect(url(&server))).await;
    assert!(none.is_err(), "client without a certificate is refused");

    let stranger = within(
        T,
        "connect",
        nats_tls(&pki)
            .add_client_certificate(pki.stranger_cert.clone(), pki.stranger_key.clone())
            .connect(url(&server)),
    )
    .await;
    assert!(stranger.is_err(), "certificate from another CA is refused");
    server.shutdown().await;
}

/// 6. `min_version: "1.3"` refuses a TLS 1.2-only client and accepts TLS 1.3.
#[tokio::test]
async fn min_version_refuses_older_clients() {
    let pki = pki();
    let server = start(&pki, |t| t.min_version = Some(TlsVersion::V1_3)).await;
    let tls12 = rustls_client(&pki, &[&rustls::version::TLS12], None);
    let refused = raw_tls_handshake(server.client_addr(), tls12).await;
    assert!(refused.is_err(), "TLS 1.2 client refused: {refused:?}");
    let tls13 = rustls_client(&pki, &[&rustls::version::TLS13], None);
    raw_tls_handshake(server.client_addr(), tls13)
        .await
        .expect("TLS 1.3 client accepted");
    server.shutdown().await;

    // Without min_version TLS 1.2 still works.
    let server = start(&pki, |_| {}).await;
    let tls12 = rustls_client(&pki, &[&rustls::version::TLS12], None);
    raw_tls_handshake(server.client_addr(), tls12)
        .await
        .expect("TLS 1.2 accepted by default");
    server.shutdown().await;
}

/// 6b. `cipher_suites` limits the TLS 1.2 suites the server negotiates.
#[tokio::test]
async fn cipher_suites_restrict_tls12() {
    use rustls::CipherSuite as S;
    let pki = pki();
    let server = start(&pki, |t| {
        t.cipher_suites = vec![CipherSuiteName::EcdheEcdsaAes256GcmSha384];
    })
    .await;
    let wrong = rustls_client(
        &pki,
        &[&rustls::version::TLS12],
        Some(&[S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]),
    );
    assert!(raw_tls_handshake(server.client_addr(), wrong)
        .await
        .is_err());
    let right = rustls_client(
        &pki,
        &[&rustls::version::TLS12],
        Some(&[
            S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        ]),
    );
    let suite = raw_tls_handshake(server.client_addr(), right)
        .await
        .expect("allowed suite negotiates");
    assert_eq!(suite, S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384);
    server.shutdown().await;

    let err = weir_server::tls::config::parse_cipher_suite("TLS_BOGUS").expect_err("unknown");
    assert!(err.contains("unrecognized cipher TLS_BOGUS"), "{err}");
}

/// 7. HTTPS monitoring: `/varz` over TLS answers 200 with JSON showing the TLS settings.
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

/// 8. A reload that changes the certificate applies to new connections (the rustls config is
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
