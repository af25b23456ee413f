//! TLS for client connections and HTTPS monitoring (rustls). Being built: see issue 8.

pub mod config;

/// The `tls { ... }` block (and the `--tls*` flags).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsOptions {
    /// Client certificates are required and verified (`verify: true`).
    pub verify: bool,
    /// Like `verify`, and the certificate names the user (`verify_and_map: true`).
    pub verify_and_map: bool,
}

/// INFO's `tls_required` and `tls_verify` for these options.
pub fn info_flags(tls: Option<&TlsOptions>) -> (bool, bool) {
    match tls {
        Some(tls) => (true, tls.verify || tls.verify_and_map),
        None => (false, false),
    }
}
