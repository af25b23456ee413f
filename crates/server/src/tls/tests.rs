//! In-crate test of what TLS hands the auth code: a verified client certificate's identities
//! on `ClientShared::tls_identities`, in nats-server's matching order.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::TlsOptions;
use crate::{Options, Server};

struct Files {
    dir: std::path::PathBuf,
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write(dir: &std::path::Path, name: &str, pem: String) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pem).expect("write pem");
    path
}

#[tokio::test]
async fn verified_client_certificate_identities_reach_client_shared() {
    let dir = std::env::temp_dir().join(format!("weir-tls-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _cleanup = Files { dir: dir.clone() };

    let ca_key = KeyPair::generate().expect("key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).expect("ca");
    let server_key = KeyPair::generate().expect("key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("params")
        .signed_by(&server_key, &ca, &ca_key)
        .expect("server cert");
    let client_key = KeyPair::generate().expect("key");
    let mut client = CertificateParams::new(Vec::<String>::new()).expect("params");
    let mut subject = DistinguishedName::new();
    subject.push(DnType::OrganizationName, "Acme");
    subject.push(DnType::OrganizationalUnitName, "eng");
    subject.push(DnType::CommonName, "alice");
    client.distinguished_name = subject;
    // Deliberately out of nats-server's order: identities come out email, DNS, URI.
    client.subject_alt_names = vec![
        SanType::URI("nats://alice".try_into().expect("uri")),
        SanType::DnsName("alice.acme.test".try_into().expect("dns")),
        SanType::Rfc822Name("alice@acme.test".try_into().expect("email")),
    ];
    let client = client
        .signed_by(&client_key, &ca, &ca_key)
        .expect("client cert");

    for map in [false, true] {
        let tls = TlsOptions {
            cert_file: Some(write(&dir, "server.pem", server.pem())),
            key_file: Some(write(&dir, "server.key", server_key.serialize_pem())),
            ca_file: Some(write(&dir, "ca.pem", ca.pem())),
            verify: !map,
            verify_and_map: map,
            ..TlsOptions::default()
        };
        let opts = Options {
            host: "127.0.0.1".into(),
            port: 0,
            tls: Some(tls),
            ..Options::default()
        };
        let handle = Server::start(opts).await.expect("server starts");
        let state = handle.state_for_tests();

        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(ca.der().to_vec()))
            .expect("root");
        let key = PrivateKeyDer::from_pem_slice(client_key.serialize_pem().as_bytes())
            .expect("client key");
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![CertificateDer::from(client.der().to_vec())], key)
        .expect("client auth");
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

        let mut tcp = TcpStream::connect(handle.client_addr()).await.expect("tcp");
        // INFO comes in plaintext first; it ends at the first "\r\n".
        let mut info = Vec::new();
        while !info.ends_with(b"\r\n") {
            let mut byte = [0u8; 1];
            tcp.read_exact(&mut byte).await.expect("INFO");
            info.push(byte[0]);
        }
        let name = ServerName::try_from("127.0.0.1").expect("name");
        let _tls = tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
            .await
            .expect("handshake in time")
            .expect("handshake");

        // No CONNECT is sent, so auth cannot close the client before we look.
        let deadline = Instant::now() + Duration::from_secs(5);
        let identities = loop {
            let found = state
                .clients
                .lock()
                .values()
                .find_map(|c| c.tls_identities.get().cloned());
            if let Some(ids) = found {
                break ids;
            }
            assert!(Instant::now() < deadline, "no client with TLS identities");
            // Poll interval of a bounded wait for the server side to finish the handshake.
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(
            identities,
            vec![
                "alice@acme.test".to_string(),
                "alice.acme.test".to_string(),
                "nats://alice".to_string(),
                "CN=alice,OU=eng,O=Acme".to_string(),
            ],
            "verify_and_map: {map}"
        );
        handle.shutdown().await;
    }
}
