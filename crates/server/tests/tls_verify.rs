//! TLS client-certificate verification (`verify`), `min_version` and `cipher_suites`, with
//! certificates from `tls_support` and raw rustls clients limited to one version or suite.

mod common;
mod tls_support;

use tokio::net::TcpStream;
use weir_server::tls::{CipherSuiteName, TlsVersion};

use common::within;
use tls_support::{nats_tls, pki, raw_tls_handshake, read_info_line, rustls_client, start, url, T};

/// `verify`: a certificate from the CA is required; none, or one from another CA, fails.
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

/// `min_version: "1.3"` refuses a TLS 1.2-only client and accepts TLS 1.3.
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

/// `cipher_suites` limits the TLS 1.2 suites the server negotiates.
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
