//! Certificates and TLS client helpers shared by the TLS test files (`tls.rs`, `tls_verify.rs`,
//! `tls_https.rs`, `tls_mapping.rs`). Certificates are made here by rcgen: a CA, a server
//! certificate for 127.0.0.1/localhost, a client certificate from the CA and one from another
//! CA; `Pki::issue_client` signs more client certificates with the same CA.
//!
//! Each test file declares `mod common;` and `mod tls_support;`; this module uses
//! `crate::common`.

// Each test binary compiles this module separately and uses only part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_server::tls::TlsOptions;
use weir_server::{Options, Server, ServerHandle};

use crate::common::{test_options, within};

/// Bound for every TLS wait in these tests.
pub const T: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------------

pub struct Pki {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    /// A client certificate from a CA the server does not trust.
    pub stranger_cert: PathBuf,
    pub stranger_key: PathBuf,
    ca_cert: rcgen::Certificate,
    ca_key: KeyPair,
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Pki {
    /// Signs a client certificate with this CA: `subject` as the distinguished name (in the
    /// order given), `sans` as subject alternative names. Returns the certificate and key files
    /// (`<name>.pem`, `<name>-key.pem`).
    pub fn issue_client(
        &self,
        name: &str,
        subject: &[(DnType, &str)],
        sans: Vec<SanType>,
    ) -> (PathBuf, PathBuf) {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("client params");
        params.distinguished_name = dn(subject);
        params.subject_alt_names = sans;
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().expect("client key");
        let cert = params
            .signed_by(&key, &self.ca_cert, &self.ca_key)
            .expect("sign client");
        (
            write(&self.dir, &format!("{name}.pem"), cert.pem()),
            write(&self.dir, &format!("{name}-key.pem"), key.serialize_pem()),
        )
    }
}

pub fn dn(pairs: &[(DnType, &str)]) -> DistinguishedName {
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

/// A fresh CA, server certificate, client certificate (`O=Acme, OU=eng, CN=alice`, email
/// `alice@acme.test`, DNS `alice.acme.test`, URI `nats://alice`) and stranger certificate,
/// written as PEM files in a temp dir removed on drop.
pub fn pki() -> Pki {
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
        ca_cert: ca,
        ca_key,
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

// ---------------------------------------------------------------------------------------------
// Servers and async-nats clients
// ---------------------------------------------------------------------------------------------

/// The server side: this PKI's certificate and key, and its CA for client certificates.
pub fn tls_options(pki: &Pki) -> TlsOptions {
    TlsOptions {
        cert_file: Some(pki.server_cert.clone()),
        key_file: Some(pki.server_key.clone()),
        ca_file: Some(pki.ca.clone()),
        ..TlsOptions::default()
    }
}

/// A Weir server with `tls_options(pki)` as changed by `edit`.
pub async fn start(pki: &Pki, edit: impl FnOnce(&mut TlsOptions)) -> ServerHandle {
    let mut tls = tls_options(pki);
    edit(&mut tls);
    let opts = Options {
        tls: Some(tls),
        ..test_options()
    };
    Server::start(opts).await.expect("TLS server starts")
}

pub fn url(server: &ServerHandle) -> String {
    format!("nats://{}", server.client_addr())
}

/// async-nats options trusting this PKI's CA and requiring TLS.
pub fn nats_tls(pki: &Pki) -> async_nats::ConnectOptions {
    async_nats::ConnectOptions::new()
        .add_root_certificates(pki.ca.clone())
        .require_tls(true)
}

// ---------------------------------------------------------------------------------------------
// Raw helpers
// ---------------------------------------------------------------------------------------------

/// Everything a plain socket receives until the server closes (or resets) the connection.
pub async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match within(T, "the server to close", stream.read(&mut buf)).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The plaintext INFO line, CRLF included, read a byte at a time so no TLS byte is consumed.
pub async fn read_info_line(stream: &mut TcpStream) -> String {
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

pub fn roots(pki: &Pki) -> rustls::RootCertStore {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&pki.ca).expect("ca pem") {
        roots.add(cert.expect("ca cert")).expect("add root");
    }
    roots
}

/// A rustls client limited to `versions` (and `suites`, if given), without a certificate.
pub fn rustls_client(
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

/// A rustls client (TLS 1.2 and 1.3) presenting the certificate in `cert` with key `key`.
pub fn rustls_client_with_cert(pki: &Pki, cert: &Path, key: &Path) -> tokio_rustls::TlsConnector {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .expect("client cert pem")
        .map(|c| c.expect("client cert"))
        .collect();
    let key = PrivateKeyDer::from_pem_file(key).expect("client key pem");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots(pki))
    .with_client_auth_cert(chain, key)
    .expect("client auth cert");
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// INFO in plaintext, then the handshake; `Ok` with the negotiated suite, or the error.
pub async fn raw_tls_handshake(
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
