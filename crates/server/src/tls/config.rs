//! Parses the `tls { ... }` block of a nats-server configuration file. Keys and messages follow
//! nats-server (2.9 names, plus 2.10's `min_version` and `handshake_first`); keys for features
//! Weir lacks are refused so a file never silently gets weaker TLS than it asks for.

use std::time::Duration;

use weir_conf::{Spanned, Value};

use super::{CipherSuiteName, HandshakeFirst, TlsOptions, TlsVersion};
use crate::config::ConfigError;

fn invalid(value: &Spanned<Value>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        at: value.pos.to_string(),
        message: message.into(),
    }
}

/// nats-server TLS keys that Weir does not implement.
const UNSUPPORTED: &[&str] = &[
    "pinned_certs",
    "cert_store",
    "cert_match",
    "cert_match_by",
    "ca_certs_match",
    "ocsp_peer",
    "connection_rate_limit",
    "verify_cert_and_check_known_urls",
    "certs",
];

pub fn parse(value: &Spanned<Value>) -> Result<TlsOptions, ConfigError> {
    let block = value.as_map()?;
    let mut tls = TlsOptions::default();
    for (key, v) in block.iter() {
        match key.to_ascii_lowercase().as_str() {
            "cert_file" => tls.cert_file = Some(v.as_str()?.into()),
            "key_file" => tls.key_file = Some(v.as_str()?.into()),
            "ca_file" => tls.ca_file = Some(v.as_str()?.into()),
            "verify" => tls.verify = v.as_bool()?,
            "verify_and_map" => tls.verify_and_map = v.as_bool()?,
            "timeout" => tls.timeout = timeout(v)?,
            "handshake_first" | "first" | "immediate" => tls.handshake_first = handshake_first(v)?,
            "min_version" => tls.min_version = Some(min_version(v)?),
            "cipher_suites" => {
                tls.cipher_suites = v
                    .as_array()?
                    .iter()
                    .map(cipher_suite)
                    .collect::<Result<_, _>>()?
            }
            "curve_preferences" => {
                // rustls picks the key exchange group itself (X25519 first, then P-256/P-384).
                v.as_array()?;
                tracing::debug!("tls curve_preferences has no effect in weir-server");
            }
            "insecure" => {
                return Err(invalid(
                    v,
                    "tls insecure is not supported by weir-server: remove it (client \
                     certificates are either verified or not requested)",
                ))
            }
            other if UNSUPPORTED.contains(&other) => {
                return Err(invalid(
                    v,
                    format!("tls {other} is not supported by weir-server yet; remove it to start"),
                ))
            }
            other => {
                return Err(invalid(
                    v,
                    format!("error parsing tls config, unknown field [\"{other}\"]"),
                ))
            }
        }
    }
    if tls.cert_file.is_none() {
        return Err(invalid(value, "missing 'cert_file' in TLS configuration"));
    }
    if tls.key_file.is_none() {
        return Err(invalid(value, "missing 'key_file' in TLS configuration"));
    }
    if tls.verifies_clients() && tls.ca_file.is_none() {
        return Err(invalid(
            value,
            "tls verify needs ca_file: name the CA that signs client certificates",
        ));
    }
    Ok(tls)
}

/// Seconds as a number (`timeout: 2`, `timeout: 0.5`), or a duration string.
fn timeout(v: &Spanned<Value>) -> Result<Duration, ConfigError> {
    let duration = match &v.value {
        Value::String(_) => v.as_duration()?,
        _ => {
            let secs = v.as_f64()?;
            Duration::try_from_secs_f64(secs)
                .map_err(|_| invalid(v, format!("tls timeout {secs} is not a valid duration")))?
        }
    };
    // nats-server treats 0 as "use the default".
    Ok(if duration.is_zero() {
        super::DEFAULT_TIMEOUT
    } else {
        duration
    })
}

/// `true`/`false`, `"auto"` (fall back to INFO first after 50ms), or a fallback duration.
fn handshake_first(v: &Spanned<Value>) -> Result<HandshakeFirst, ConfigError> {
    match &v.value {
        Value::Bool(true) => Ok(HandshakeFirst::Always),
        Value::Bool(false) => Ok(HandshakeFirst::Off),
        Value::String(s) if s.eq_ignore_ascii_case("auto") => Ok(HandshakeFirst::Fallback(
            super::DEFAULT_HANDSHAKE_FIRST_FALLBACK,
        )),
        Value::String(s) if s.eq_ignore_ascii_case("true") || s.eq_ignore_ascii_case("on") => {
            Ok(HandshakeFirst::Always)
        }
        Value::String(s) if s.eq_ignore_ascii_case("false") || s.eq_ignore_ascii_case("off") => {
            Ok(HandshakeFirst::Off)
        }
        Value::String(_) => {
            let d = v.as_duration()?;
            Ok(if d.is_zero() {
                HandshakeFirst::Always
            } else {
                HandshakeFirst::Fallback(d)
            })
        }
        _ => Err(invalid(
            v,
            "tls handshake_first: expected true, false, \"auto\" or a duration such as \"300ms\"",
        )),
    }
}

fn min_version(v: &Spanned<Value>) -> Result<TlsVersion, ConfigError> {
    let text = match &v.value {
        Value::Float(f) => format!("{f:.1}"),
        _ => v.as_str()?.to_string(),
    };
    parse_min_version(&text).ok_or_else(|| {
        invalid(
            v,
            format!("unsupported TLS min_version {text:?}: use \"1.2\" or \"1.3\""),
        )
    })
}

pub fn parse_min_version(text: &str) -> Option<TlsVersion> {
    match text.trim() {
        "1.2" => Some(TlsVersion::V1_2),
        "1.3" => Some(TlsVersion::V1_3),
        _ => None,
    }
}

fn cipher_suite(v: &Spanned<Value>) -> Result<CipherSuiteName, ConfigError> {
    let name = v.as_str()?;
    parse_cipher_suite(name).map_err(|why| invalid(v, why))
}

/// Go's suite names (as nats-server accepts them) for the suites rustls implements.
const SUITES: &[(&str, CipherSuiteName)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuiteName::EcdheEcdsaAes128GcmSha256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuiteName::EcdheEcdsaAes256GcmSha384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        CipherSuiteName::EcdheEcdsaChacha20Poly1305,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuiteName::EcdheEcdsaChacha20Poly1305,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        CipherSuiteName::EcdheRsaAes128GcmSha256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        CipherSuiteName::EcdheRsaAes256GcmSha384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        CipherSuiteName::EcdheRsaChacha20Poly1305,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuiteName::EcdheRsaChacha20Poly1305,
    ),
    (
        "TLS_AES_128_GCM_SHA256",
        CipherSuiteName::Tls13Aes128GcmSha256,
    ),
    (
        "TLS_AES_256_GCM_SHA384",
        CipherSuiteName::Tls13Aes256GcmSha384,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        CipherSuiteName::Tls13Chacha20Poly1305Sha256,
    ),
];

/// Go names nats-server knows that rustls deliberately does not implement (CBC, static RSA
/// key exchange, RC4, 3DES).
const GO_ONLY_SUITES: &[&str] = &[
    "TLS_RSA_WITH_RC4_128_SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
];

/// A suite by its Go name; the error says whether the name is unknown or merely unsupported.
pub fn parse_cipher_suite(name: &str) -> Result<CipherSuiteName, String> {
    let upper = name.trim().to_ascii_uppercase();
    if let Some((_, suite)) = SUITES.iter().find(|(n, _)| *n == upper) {
        return Ok(*suite);
    }
    let supported: Vec<&str> = SUITES.iter().map(|(n, _)| *n).collect();
    if GO_ONLY_SUITES.contains(&upper.as_str()) {
        return Err(format!(
            "cipher {name} is not supported by weir-server (rustls has no CBC, RC4, 3DES or \
             static-RSA suites); use one of: {}",
            supported.join(", ")
        ));
    }
    Err(format!(
        "unrecognized cipher {name}; supported: {}",
        supported.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(block: &str) -> Result<TlsOptions, ConfigError> {
        let map = weir_conf::parse_str(&format!("tls {{ {block} }}"), None)?;
        let value = map.get("tls").expect("tls key");
        parse(value)
    }

    const FILES: &str = "cert_file: c.pem, key_file: k.pem";

    #[test]
    fn full_block() {
        let tls = parse_text(&format!(
            "{FILES}, ca_file: ca.pem, verify_and_map: true, timeout: 0.5, \
             handshake_first: true, min_version: \"1.3\", curve_preferences: [X25519], \
             cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]"
        ))
        .expect("valid block");
        assert!(tls.verify_and_map && tls.verifies_clients() && !tls.verify);
        assert_eq!(tls.timeout, Duration::from_millis(500));
        assert_eq!(tls.handshake_first, HandshakeFirst::Always);
        assert_eq!(tls.min_version, Some(TlsVersion::V1_3));
        assert_eq!(
            tls.cipher_suites,
            vec![
                CipherSuiteName::EcdheEcdsaAes128GcmSha256,
                CipherSuiteName::Tls13Aes128GcmSha256
            ]
        );
    }

    #[test]
    fn defaults_and_handshake_first_forms() {
        let tls = parse_text(FILES).expect("valid");
        assert_eq!(tls.timeout, Duration::from_secs(2));
        assert_eq!(tls.handshake_first, HandshakeFirst::Off);
        let auto = parse_text(&format!("{FILES}, handshake_first: auto")).expect("valid");
        assert_eq!(
            auto.handshake_first,
            HandshakeFirst::Fallback(Duration::from_millis(50))
        );
        let d = parse_text(&format!("{FILES}, handshake_first: \"300ms\"")).expect("valid");
        assert_eq!(
            d.handshake_first,
            HandshakeFirst::Fallback(Duration::from_millis(300))
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let err = |text: &str| parse_text(text).expect_err(text).to_string();
        assert!(err("key_file: k.pem").contains("missing 'cert_file'"));
        assert!(err("cert_file: c.pem").contains("missing 'key_file'"));
        assert!(err(&format!("{FILES}, cipher_suites: [BOGUS]")).contains("unrecognized cipher"));
        assert!(err(&format!(
            "{FILES}, cipher_suites: [TLS_RSA_WITH_AES_128_CBC_SHA]"
        ))
        .contains("not supported"));
        assert!(err(&format!("{FILES}, min_version: \"1.1\"")).contains("min_version"));
        assert!(err(&format!("{FILES}, insecure: true")).contains("insecure"));
        assert!(err(&format!("{FILES}, bogus: 1")).contains("unknown field"));
        assert!(err(&format!("{FILES}, verify: true")).contains("ca_file"));
    }
}
