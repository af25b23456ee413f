//! The `weir` CLI against a TLS weir-server: `--tlsca` to trust the server, `--tlscert` and
//! `--tlskey` for a server that verifies clients. Certificates are made in the test with rcgen.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{temp_dir, wait_bounded, Server};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use weir_server::tls::TlsOptions;

struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
    fn arg(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn common_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

fn write(dir: &Path, name: &str, pem: String) {
    std::fs::write(dir.join(name), pem).expect("write pem");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all P-256 (rcgen's
/// default key), as PEM files: `ca.pem`, `server.pem`/`server.key`, `client.pem`/`client.key`.
fn pki() -> Pki {
    let pki = Pki {
        dir: temp_dir("tls"),
    };
    let dir = &pki.dir;

    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = common_name("weir test CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = ca.self_signed(&ca_key).expect("self-sign ca");
    write(dir, "ca.pem", ca.pem());

    // rcgen makes "127.0.0.1" an IP address name and "localhost" a DNS name.
    let mut server = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
        .expect("server params");
    server.distinguished_name = common_name("localhost");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];

    let mut client = CertificateParams::new(Vec::<String>::new()).expect("client params");
    client.distinguished_name = common_name("alice");
    client.subject_alt_names = vec![SanType::Rfc822Name(
        "alice@example.test".try_into().expect("email"),
    )];
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];

    for (name, params) in [("server", server), ("client", client)] {
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &ca, &ca_key).expect("sign");
        write(dir, &format!("{name}.pem"), cert.pem());
        write(dir, &format!("{name}.key"), key.serialize_pem());
    }
    pki
}

fn tls_server(pki: &Pki, verify: bool) -> Server {
    Server::in_process_with(false, temp_dir("tls-store"), |opts| {
        opts.tls = Some(TlsOptions {
            cert_file: Some(pki.path("server.pem")),
            key_file: Some(pki.path("server.key")),
            ca_file: Some(pki.path("ca.pem")),
            verify,
            ..TlsOptions::default()
        });
    })
}

#[test]
fn pub_and_sub_over_tls_with_tlsca() {
    let pki = pki();
    let server = tls_server(&pki, false);
    let ca = pki.arg("ca.pem");
    let sub = server.spawn_until(
        &["--tlsca", &ca, "sub", "tls.cli", "--count", "1"],
        "Subscribing on tls.cli",
    );
    let out = server.weir(&["--tlsca", &ca, "pub", "tls.cli", "secret hello"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = wait_bounded(sub, Duration::from_secs(10));
    assert!(got.status.success());
    let stdout = String::from_utf8_lossy(&got.stdout);
    assert!(stdout.contains("secret hello"), "{stdout}");

    // Without the CA the server's certificate is not trusted: the CLI fails.
    let untrusted = server.weir(&["pub", "tls.cli", "x"]);
    assert!(
        !untrusted.status.success(),
        "plain/untrusted client must fail"
    );
}

#[test]
fn client_certificate_flags_for_a_verifying_server() {
    let pki = pki();
    let server = tls_server(&pki, true);
    let ca = pki.arg("ca.pem");
    let cert = pki.arg("client.pem");
    let key = pki.arg("client.key");
    let out = server.weir(&[
        "--tlsca",
        &ca,
        "--tlscert",
        &cert,
        "--tlskey",
        &key,
        "pub",
        "tls.v",
        "ok",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let refused = server.weir(&["--tlsca", &ca, "pub", "tls.v", "no cert"]);
    assert!(
        !refused.status.success(),
        "a client without a certificate is refused"
    );
}
