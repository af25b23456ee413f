//! The `weir` CLI against a TLS weir-server: `--tlsca` to trust the server, `--tlscert` and
//! `--tlskey` for a server that verifies clients. Certificates are made with the `openssl`
//! command (the test is skipped, loudly, where it is missing).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{temp_dir, wait_bounded, Server};
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

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all P-256.
fn pki() -> Option<Pki> {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: no openssl command to make test certificates");
        return None;
    }
    let pki = Pki {
        dir: temp_dir("tls"),
    };
    let dir = &pki.dir;
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &["-keyout", "ca.key", "-out", "ca.pem"],
            &["-days", "2", "-subj", "/CN=weir test CA"],
        ]
        .concat(),
    );
    for (name, subj, ext) in [
        (
            "server",
            "/CN=localhost",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "/CN=alice",
            "subjectAltName=email:alice@example.test\nextendedKeyUsage=clientAuth\n",
        ),
    ] {
        std::fs::write(dir.join(format!("{name}.ext")), ext).expect("write ext");
        let key = format!("{name}.key");
        let csr = format!("{name}.csr");
        let pem = format!("{name}.pem");
        let extfile = format!("{name}.ext");
        openssl(
            dir,
            &[
                &["req"][..],
                &ec,
                &["-keyout", &key, "-out", &csr, "-subj", subj],
            ]
            .concat(),
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &extfile,
            ],
        );
    }
    Some(pki)
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
    let Some(pki) = pki() else { return };
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
    let Some(pki) = pki() else { return };
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
