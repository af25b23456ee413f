//! `verify_and_map`: the verified client certificate names the user, so no credentials are
//! sent in CONNECT. Users here are named by certificate identities:
//!
//! | certificate | identities (nats-server's order) | user it maps to |
//! |---|---|---|
//! | alice: email `alice@acme.test`, DNS, URI, `CN=alice,OU=eng,O=Acme` | email first | `alice@acme.test` (its email SAN wins over its subject, also a user) |
//! | bob: DNS `bob.acme.test`, subject `CN=bob,OU=ops,O=Acme` | DNS is no user | `CN=bob,OU=ops,O=Acme` (RFC 2253 subject) |
//! | carol: email `carol@acme.test`, `CN=carol,O=Acme` | none is a user | refused: `-ERR 'Authorization Violation'` |
//!
//! Each user has its own permissions, and `/connz?auth=true` names the mapped identity.

mod common;
mod tls_support;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use rcgen::{DnType, SanType};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_server::{
    Authorization, Options, PermissionsConfig, Server, ServerHandle, SubjectRules, UserConfig,
};

use common::{test_options, within};
use tls_support::{nats_tls, pki, read_info_line, rustls_client_with_cert, tls_options, Pki, T};

const ALICE: &str = "alice@acme.test";
const ALICE_SUBJECT: &str = "CN=alice,OU=eng,O=Acme";
const BOB: &str = "CN=bob,OU=ops,O=Acme";

/// A user named `name` (a certificate identity, no password) who may publish and subscribe
/// only below `prefix.>`.
fn mapped_user(name: &str, prefix: &str) -> UserConfig {
    let only = || {
        Some(SubjectRules {
            allow: Some(vec![format!("{prefix}.>")]),
            deny: vec![],
        })
    };
    UserConfig {
        user: Some(name.into()),
        permissions: Some(PermissionsConfig {
            publish: only(),
            subscribe: only(),
            ..Default::default()
        }),
        ..UserConfig::default()
    }
}

async fn start_mapping(pki: &Pki) -> ServerHandle {
    let mut tls = tls_options(pki);
    tls.verify_and_map = true;
    let opts = Options {
        tls: Some(tls),
        http_port: Some(0),
        authorization: Authorization {
            users: vec![
                mapped_user(ALICE, "alice"),
                mapped_user(ALICE_SUBJECT, "subject"),
                mapped_user(BOB, "bob"),
            ],
            ..Authorization::default()
        },
        ..test_options()
    };
    Server::start(opts)
        .await
        .expect("verify_and_map server starts")
}

fn bob_cert(pki: &Pki) -> (std::path::PathBuf, std::path::PathBuf) {
    pki.issue_client(
        "bob",
        &[
            (DnType::OrganizationName, "Acme"),
            (DnType::OrganizationalUnitName, "ops"),
            (DnType::CommonName, "bob"),
        ],
        vec![SanType::DnsName("bob.acme.test".try_into().expect("dns"))],
    )
}

fn carol_cert(pki: &Pki) -> (std::path::PathBuf, std::path::PathBuf) {
    pki.issue_client(
        "carol",
        &[
            (DnType::OrganizationName, "Acme"),
            (DnType::CommonName, "carol"),
        ],
        vec![SanType::Rfc822Name(
            "carol@acme.test".try_into().expect("email"),
        )],
    )
}

/// Sends `ops` (after a credential-less CONNECT) and `PING`; returns every line up to PONG.
async fn exchange(conn: &mut TlsLines, ops: &str) -> Vec<String> {
    conn.send(format!("CONNECT {{\"verbose\":false}}\r\n{ops}PING\r\n").as_bytes())
        .await;
    let mut lines = Vec::new();
    loop {
        let line = conn.line().await;
        let done = line == "PONG";
        lines.push(line);
        if done {
            return lines;
        }
    }
}

#[tokio::test]
async fn certificate_identities_name_users_with_their_permissions() {
    let pki = pki();
    let server = start_mapping(&pki).await;
    let addr = server.client_addr();

    // alice: her email SAN names her (before her subject, which names another user).
    let alice_tls = rustls_client_with_cert(&pki, &pki.client_cert, &pki.client_key);
    let mut alice = TlsLines::connect(addr, &alice_tls).await;
    assert!(alice.info.contains("\"tls_verify\":true"), "{}", alice.info);
    assert!(
        alice.info.contains("\"auth_required\":true"),
        "{}",
        alice.info
    );
    let got = exchange(
        &mut alice,
        "SUB alice.> 1\r\nSUB bob.> 2\r\nPUB alice.ok 2\r\nhi\r\nPUB bob.x 1\r\nx\r\nPUB subject.x 1\r\ny\r\n",
    )
    .await;
    assert_eq!(
        got,
        [
            "-ERR 'Permissions Violation for Subscription to \"bob.>\"'",
            "MSG alice.ok 1 2",
            "hi",
            "-ERR 'Permissions Violation for Publish to \"bob.x\"'",
            "-ERR 'Permissions Violation for Publish to \"subject.x\"'",
            "PONG"
        ],
        "alice has the permissions of user {ALICE:?} only"
    );

    // bob: his DNS SAN is no user, his RFC 2253 subject is.
    let (cert, key) = bob_cert(&pki);
    let bob_tls = rustls_client_with_cert(&pki, &cert, &key);
    let mut bob = TlsLines::connect(addr, &bob_tls).await;
    let got = exchange(
        &mut bob,
        "SUB bob.> 1\r\nPUB alice.x 1\r\nx\r\nPUB bob.ok 2\r\nyo\r\n",
    )
    .await;
    assert_eq!(
        got,
        [
            "-ERR 'Permissions Violation for Publish to \"alice.x\"'",
            "MSG bob.ok 1 2",
            "yo",
            "PONG"
        ],
        "bob has the permissions of user {BOB:?}"
    );

    // Nothing bob tried on alice's subjects reached alice's subscription.
    let got = exchange(&mut alice, "").await;
    assert_eq!(got, ["PONG"], "no message crossed the permissions");

    // /connz?auth=true names each connection's mapped identity; plain /connz does not.
    let monitor = format!("http://{}", server.monitor_addr().expect("monitor"));
    let (status, connz) = common::http_json(&format!("{monitor}/connz?auth=true")).await;
    assert_eq!(status, 200, "{connz}");
    let users: BTreeSet<&str> = connz["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| c["authorized_user"].as_str().expect("authorized_user"))
        .collect();
    assert_eq!(users, BTreeSet::from([ALICE, BOB]), "{connz}");
    assert_eq!(connz["num_connections"], 2, "{connz}");
    let (_, plain) = common::http_json(&format!("{monitor}/connz")).await;
    let conns = plain["connections"].as_array().expect("connections");
    assert!(
        conns.iter().all(|c| c.get("authorized_user").is_none()),
        "{plain}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn certificate_that_maps_to_no_user_is_refused() {
    let pki = pki();
    let server = start_mapping(&pki).await;
    let addr = server.client_addr();
    let (cert, key) = carol_cert(&pki);

    // Raw: the handshake succeeds (the CA signed it), the CONNECT does not.
    let carol_tls = rustls_client_with_cert(&pki, &cert, &key);
    let mut carol = TlsLines::connect(addr, &carol_tls).await;
    carol
        .send(b"CONNECT {\"verbose\":false}\r\nPUB alice.x 1\r\nx\r\nPING\r\n")
        .await;
    carol.expect_line("-ERR 'Authorization Violation'").await;
    let rest = carol.until_closed().await;
    assert!(
        rest.is_empty(),
        "nothing after the violation: {:?}",
        String::from_utf8_lossy(&rest)
    );

    // Credentials in CONNECT do not replace the certificate: even a configured user's name
    // (with no password, as these users have none) is refused for carol's certificate.
    let mut carol = TlsLines::connect(addr, &carol_tls).await;
    carol
        .send(format!("CONNECT {{\"verbose\":false,\"user\":\"{ALICE}\"}}\r\nPING\r\n").as_bytes())
        .await;
    carol.expect_line("-ERR 'Authorization Violation'").await;

    // async-nats reports it as an authorization violation.
    let refused = within(
        T,
        "the refusal",
        nats_tls(&pki)
            .add_client_certificate(cert.clone(), key.clone())
            .connect(format!("nats://{addr}")),
    )
    .await;
    let err = refused.expect_err("a certificate naming no user must not connect");
    assert_eq!(
        err.kind(),
        async_nats::ConnectErrorKind::AuthorizationViolation,
        "{err}"
    );

    // Without any certificate the handshake itself fails (verify_and_map implies verify).
    let none = within(
        T,
        "connect",
        nats_tls(&pki).connect(format!("nats://{addr}")),
    )
    .await;
    assert!(none.is_err(), "a client without a certificate is refused");

    // The mapped user still gets in, and it was the only connection counted.
    let alice = within(
        T,
        "connect",
        nats_tls(&pki)
            .add_client_certificate(pki.client_cert.clone(), pki.client_key.clone())
            .connect(format!("nats://{addr}")),
    )
    .await
    .expect("alice's certificate maps to a user");
    alice.flush().await.expect("round trip");
    let monitor = format!("http://{}", server.monitor_addr().expect("monitor"));
    let (_, connz) = common::http_json(&format!("{monitor}/connz?auth=true")).await;
    let users: Vec<&str> = connz["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| c["authorized_user"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(users, [ALICE], "{connz}");
    server.shutdown().await;
}

/// A line-oriented client over TLS (INFO in plaintext, then the handshake), for exact `-ERR`
/// texts. Every read is bounded by `T`.
pub struct TlsLines {
    stream: tokio_rustls::client::TlsStream<TcpStream>,
    buf: Vec<u8>,
    /// The plaintext INFO line.
    pub info: String,
}

impl TlsLines {
    /// Connects, reads INFO and completes the handshake with `connector`.
    pub async fn connect(addr: SocketAddr, connector: &tokio_rustls::TlsConnector) -> TlsLines {
        let mut tcp = TcpStream::connect(addr).await.expect("connect");
        let info = read_info_line(&mut tcp).await;
        let name = ServerName::try_from("127.0.0.1").expect("server name");
        let stream = within(T, "handshake", connector.connect(name, tcp))
            .await
            .expect("TLS handshake");
        TlsLines {
            stream,
            buf: Vec::new(),
            info,
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        within(T, "TLS write", self.stream.write_all(bytes))
            .await
            .expect("TLS write");
        within(T, "TLS flush", self.stream.flush())
            .await
            .expect("TLS flush");
    }

    /// Reads more; `Ok(0)` when the server closed (a TLS error also counts as closed).
    async fn fill(&mut self) -> usize {
        let mut chunk = [0u8; 16 * 1024];
        match within(T, "TLS read", self.stream.read(&mut chunk)).await {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                n
            }
            Err(_) => 0,
        }
    }

    /// The next CRLF-terminated line, without the CRLF.
    pub async fn line(&mut self) -> String {
        loop {
            if let Some(pos) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).take(pos).collect();
                return String::from_utf8_lossy(&line).into_owned();
            }
            assert!(
                self.fill().await > 0,
                "connection closed while waiting for a line; buffered: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    pub async fn expect_line(&mut self, expected: &str) {
        let line = self.line().await;
        assert_eq!(line, expected, "unexpected line from server");
    }

    /// Reads until the server closes; returns everything not yet consumed.
    pub async fn until_closed(&mut self) -> Vec<u8> {
        while self.fill().await > 0 {}
        std::mem::take(&mut self.buf)
    }
}
