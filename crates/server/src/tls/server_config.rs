//! Builds a rustls `ServerConfig` from `TlsOptions`: reads the certificate, key and CA files,
//! restricts versions and suites, and sets up client certificate verification.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{CipherSuite, RootCertStore, ServerConfig, SupportedCipherSuite};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::{CipherSuiteName, TlsOptions, TlsVersion};

/// Why TLS could not be set up; each message names the file or option to fix.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("TLS needs a server certificate and key: set cert_file and key_file in the tls block (or --tlscert and --tlskey)")]
    MissingCertificate,
    #[error(
        "cannot read tls {what} {path}: {source}; fix the path in the tls block or --tls* flag"
    )]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("tls {what} {path} is not valid PEM: {detail}")]
    BadPem {
        what: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("tls {what} {path} holds no PEM certificate")]
    NoCertificate { what: &'static str, path: PathBuf },
    #[error("tls key_file {path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    NoKey { path: PathBuf },
    #[error("tls cert_file {cert} and key_file {key} cannot be used together: {source}")]
    CertificateKey {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error(
        "tls verify needs ca_file (or --tlscacert): name the CA that signs client certificates"
    )]
    VerifyWithoutCa,
    #[error("tls ca_file {path} cannot verify client certificates: {detail}")]
    Verifier { path: PathBuf, detail: String },
    #[error(
        "tls cipher_suites leaves no usable suite for the allowed TLS versions (min_version {0})"
    )]
    NoSuites(&'static str),
    #[error("https_port needs a certificate: add a tls block with cert_file and key_file, or use http_port")]
    HttpsWithoutTls,
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// Reads the files named by `tls` and builds the server side config. Called at start and once
/// per configuration reload, never per connection.
pub fn build(tls: &TlsOptions) -> Result<Arc<ServerConfig>, TlsError> {
    let (Some(cert_file), Some(key_file)) = (&tls.cert_file, &tls.key_file) else {
        return Err(TlsError::MissingCertificate);
    };
    let certs = read_certs("cert_file", cert_file)?;
    let key = read_key(key_file)?;
    let provider = Arc::new(provider(tls));
    let versions = versions(tls, &provider)?;
    let builder =
        ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(&versions)?;
    let builder = if tls.verifies_clients() {
        let Some(ca_file) = &tls.ca_file else {
            return Err(TlsError::VerifyWithoutCa);
        };
        let mut roots = RootCertStore::empty();
        for cert in read_certs("ca_file", ca_file)? {
            roots.add(cert).map_err(|e| TlsError::Verifier {
                path: ca_file.clone(),
                detail: e.to_string(),
            })?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| TlsError::Verifier {
                path: ca_file.clone(),
                detail: e.to_string(),
            })?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let config =
        builder
            .with_single_cert(certs, key)
            .map_err(|source| TlsError::CertificateKey {
                cert: cert_file.clone(),
                key: key_file.clone(),
                source,
            })?;
    Ok(Arc::new(config))
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn read_certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            what,
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            what,
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file("key_file", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|e| match e {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoKey {
            path: path.to_path_buf(),
        },
        other => TlsError::BadPem {
            what: "key_file",
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    })
}

fn rustls_suite(name: CipherSuiteName) -> CipherSuite {
    use CipherSuiteName as N;
    match name {
        N::EcdheEcdsaAes128GcmSha256 => CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        N::EcdheEcdsaAes256GcmSha384 => CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        N::EcdheEcdsaChacha20Poly1305 => CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        N::EcdheRsaAes128GcmSha256 => CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        N::EcdheRsaAes256GcmSha384 => CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        N::EcdheRsaChacha20Poly1305 => CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        N::Tls13Aes128GcmSha256 => CipherSuite::TLS13_AES_128_GCM_SHA256,
        N::Tls13Aes256GcmSha384 => CipherSuite::TLS13_AES_256_GCM_SHA384,
        N::Tls13Chacha20Poly1305Sha256 => CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    }
}

fn is_tls13(suite: &SupportedCipherSuite) -> bool {
    matches!(suite, SupportedCipherSuite::Tls13(_))
}

/// The ring provider with `cipher_suites` applied. Like Go (and so nats-server), the list
/// governs TLS 1.2; TLS 1.3 suites stay all enabled unless the list names some of them.
fn provider(tls: &TlsOptions) -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    if tls.cipher_suites.is_empty() {
        return provider;
    }
    let wanted: Vec<CipherSuite> = tls.cipher_suites.iter().map(|n| rustls_suite(*n)).collect();
    let names_tls13 = provider
        .cipher_suites
        .iter()
        .any(|s| is_tls13(s) && wanted.contains(&s.suite()));
    provider
        .cipher_suites
        .retain(|s| wanted.contains(&s.suite()) || (is_tls13(s) && !names_tls13));
    provider
}

fn versions(
    tls: &TlsOptions,
    provider: &CryptoProvider,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, TlsError> {
    let has = |v13: bool| provider.cipher_suites.iter().any(|s| is_tls13(s) == v13);
    let mut versions = Vec::with_capacity(2);
    if tls.min_version != Some(TlsVersion::V1_3) && has(false) {
        versions.push(&rustls::version::TLS12);
    }
    if has(true) {
        versions.push(&rustls::version::TLS13);
    }
    if versions.is_empty() {
        let min = match tls.min_version {
            Some(TlsVersion::V1_3) => "1.3",
            _ => "1.2",
        };
        return Err(TlsError::NoSuites(min));
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_restrict_tls12_and_keep_tls13() {
        let tls = TlsOptions {
            cipher_suites: vec![CipherSuiteName::EcdheEcdsaAes128GcmSha256],
            ..TlsOptions::default()
        };
        let p = provider(&tls);
        let tls12: Vec<_> = p.cipher_suites.iter().filter(|s| !is_tls13(s)).collect();
        assert_eq!(tls12.len(), 1);
        assert_eq!(
            tls12[0].suite(),
            CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        );
        assert_eq!(p.cipher_suites.iter().filter(|s| is_tls13(s)).count(), 3);
        assert_eq!(versions(&tls, &p).expect("versions").len(), 2);
    }

    #[test]
    fn tls13_only_list_disables_tls12() {
        let tls = TlsOptions {
            cipher_suites: vec![CipherSuiteName::Tls13Aes256GcmSha384],
            ..TlsOptions::default()
        };
        let p = provider(&tls);
        assert_eq!(p.cipher_suites.len(), 1);
        let v = versions(&tls, &p).expect("versions");
        assert_eq!(v, vec![&rustls::version::TLS13]);
    }

    #[test]
    fn min_version_13_with_only_tls12_suites_keeps_tls13() {
        let tls = TlsOptions {
            cipher_suites: vec![CipherSuiteName::EcdheRsaAes128GcmSha256],
            min_version: Some(TlsVersion::V1_3),
            ..TlsOptions::default()
        };
        let p = provider(&tls);
        // TLS 1.3 suites stay on (the list names none), so 1.3 alone remains.
        assert_eq!(
            versions(&tls, &p).expect("versions"),
            vec![&rustls::version::TLS13]
        );
    }

    #[test]
    fn missing_files_are_named() {
        let tls = TlsOptions {
            cert_file: Some("/nonexistent/cert.pem".into()),
            key_file: Some("/nonexistent/key.pem".into()),
            ..TlsOptions::default()
        };
        let err = build(&tls).expect_err("missing file").to_string();
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
        assert!(matches!(
            build(&TlsOptions::default()),
            Err(TlsError::MissingCertificate)
        ));
    }
}
