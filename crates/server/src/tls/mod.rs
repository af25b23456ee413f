//! TLS for client connections and HTTPS monitoring, with rustls (ring provider).
//!
//! `config` parses the `tls { ... }` block, `server_config` turns the options into a rustls
//! `ServerConfig` (reading the certificate files), `cache` keeps that config per options
//! generation so a reload takes effect for new connections without re-reading files per
//! connection, and `identity` extracts a verified client certificate's names for auth.

pub mod cache;
pub mod config;
pub mod handshake;
pub mod https;
pub mod identity;
pub mod server_config;

use std::path::PathBuf;
use std::time::Duration;

pub use cache::TlsConfigCache;
pub use server_config::{build as build_server_config, TlsError};

/// nats-server's default TLS handshake timeout (`TLS_TIMEOUT`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// How long `handshake_first: auto` waits for a ClientHello before sending INFO in plaintext.
pub const DEFAULT_HANDSHAKE_FIRST_FALLBACK: Duration = Duration::from_millis(50);

/// When the server expects the TLS handshake.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HandshakeFirst {
    /// INFO in plaintext first, then the client starts TLS (nats-server's default).
    #[default]
    Off,
    /// The client must start with a ClientHello; INFO follows over TLS.
    Always,
    /// Wait this long for a ClientHello; if none comes, fall back to INFO first.
    Fallback(Duration),
}

/// A TLS protocol version for `min_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_2,
    V1_3,
}

/// A cipher suite by its Go/nats-server name, limited to those rustls implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CipherSuiteName {
    EcdheEcdsaAes128GcmSha256,
    EcdheEcdsaAes256GcmSha384,
    EcdheEcdsaChacha20Poly1305,
    EcdheRsaAes128GcmSha256,
    EcdheRsaAes256GcmSha384,
    EcdheRsaChacha20Poly1305,
    Tls13Aes128GcmSha256,
    Tls13Aes256GcmSha384,
    Tls13Chacha20Poly1305Sha256,
}

/// The `tls { ... }` block (and the `--tls*` flags).
#[derive(Debug, Clone, PartialEq)]
pub struct TlsOptions {
    /// The server's certificate chain (PEM).
    pub cert_file: Option<PathBuf>,
    /// The server certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// CA certificates that client certificates must chain to (PEM).
    pub ca_file: Option<PathBuf>,
    /// Client certificates are required and verified (`verify: true`).
    pub verify: bool,
    /// Like `verify`, and the certificate names the user (`verify_and_map: true`).
    pub verify_and_map: bool,
    /// Handshake timeout (`timeout`, seconds).
    pub timeout: Duration,
    pub handshake_first: HandshakeFirst,
    /// Lowest protocol version accepted; `None` allows TLS 1.2 and 1.3.
    pub min_version: Option<TlsVersion>,
    /// Allowed suites; empty means rustls' defaults.
    pub cipher_suites: Vec<CipherSuiteName>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            cert_file: None,
            key_file: None,
            ca_file: None,
            verify: false,
            verify_and_map: false,
            timeout: DEFAULT_TIMEOUT,
            handshake_first: HandshakeFirst::Off,
            min_version: None,
            cipher_suites: Vec::new(),
        }
    }
}

impl TlsOptions {
    /// Whether client certificates are requested and verified.
    pub fn verifies_clients(&self) -> bool {
        self.verify || self.verify_and_map
    }
}

/// Start-up checks, so a bad TLS setup stops the server as it does nats-server: the files
/// must load, and `https_port` needs a `tls` block for its certificate.
pub fn check_at_start(opts: &crate::Options) -> Result<(), TlsError> {
    match &opts.tls {
        Some(tls) => build_server_config(tls).map(|_| ()),
        None if opts.https_port.is_some() => Err(TlsError::HttpsWithoutTls),
        None => Ok(()),
    }
}

/// INFO's `tls_required` and `tls_verify` for these options.
pub fn info_flags(tls: Option<&TlsOptions>) -> (bool, bool) {
    match tls {
        Some(tls) => (true, tls.verify || tls.verify_and_map),
        None => (false, false),
    }
}

/// A TLS record of type handshake starts with this byte: how `handshake_first` fallback tells
/// a ClientHello from a plaintext CONNECT.
pub const TLS_HANDSHAKE_RECORD: u8 = 0x16;

#[cfg(test)]
mod tests;
