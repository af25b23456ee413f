//! The fuzz harness for CONNECT handling: any bytes, read as CONNECT JSON under one of three
//! fixed authorization setups, must never authenticate without the configured credentials.
//! Shared by `fuzz/fuzz_targets/authenticate.rs` and the stable corpus replay test.

use weir_protocol::ConnectInfo;

use super::{authenticate, nkey, Context};
use crate::options::{Authorization, Options, UserConfig};

/// The nonce every fuzzed connection was "sent".
pub const NONCE: &str = "fuzzing-nonce-0123456";
/// A fixed user key so a corpus can carry a valid signature of [`NONCE`].
pub const NKEY_SEED: &str = "SUAKBTI4NWYKUMLVLVBOPF6T74IRNXI4WJVVZGBQSTHLC5BEDPTISYHPFM";

fn setup(selector: u8) -> Options {
    let authorization = match selector % 3 {
        0 => Authorization {
            token: Some("s3cr3t".into()),
            ..Authorization::default()
        },
        1 => Authorization {
            user: Some("alice".into()),
            password: Some("pw".into()),
            ..Authorization::default()
        },
        _ => Authorization {
            users: vec![
                UserConfig {
                    user: Some("alice".into()),
                    password: Some("pw".into()),
                    ..UserConfig::default()
                },
                UserConfig {
                    nkey: nkey_public(),
                    ..UserConfig::default()
                },
            ],
            ..Authorization::default()
        },
    };
    Options {
        authorization,
        ..Options::default()
    }
}

fn nkey_public() -> Option<String> {
    nkeys::KeyPair::from_seed(NKEY_SEED)
        .ok()
        .map(|k| k.public_key())
}

/// The first byte picks the setup; the rest is CONNECT's JSON.
pub fn authenticate_connect(data: &[u8]) {
    let Some((&selector, json)) = data.split_first() else {
        return;
    };
    let Ok(connect) = ConnectInfo::parse(json) else {
        return;
    };
    let opts = setup(selector);
    let context = Context {
        nonce: Some(NONCE),
        tls_identities: None,
    };
    if authenticate(&opts, &connect, &context).is_err() {
        return;
    }
    let auth = &opts.authorization;
    let password_ok =
        connect.user.as_deref() == Some("alice") && connect.pass.as_deref() == Some("pw");
    let admitted = match selector % 3 {
        0 => connect.auth_token.as_deref() == auth.token.as_deref(),
        1 => password_ok,
        _ => {
            let signed = connect.nkey.is_some()
                && connect.nkey == nkey_public()
                && nkey::verify(
                    connect.nkey.as_deref().unwrap_or_default(),
                    NONCE.as_bytes(),
                    connect.sig.as_deref().unwrap_or_default(),
                );
            password_ok || signed
        }
    };
    assert!(admitted, "authenticated without credentials: {connect:?}");
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    fn signed_connect() -> String {
        let key = nkeys::KeyPair::from_seed(NKEY_SEED).expect("valid seed");
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(key.sign(NONCE.as_bytes()).expect("sign"));
        format!(r#"{{"nkey":"{}","sig":"{sig}"}}"#, key.public_key())
    }

    #[test]
    fn valid_credentials_pass_the_harness() {
        let context = Context {
            nonce: Some(NONCE),
            tls_identities: None,
        };
        for (selector, json, admitted) in [
            (0u8, r#"{"auth_token":"s3cr3t"}"#.to_string(), true),
            (1, r#"{"user":"alice","pass":"pw"}"#.to_string(), true),
            (2, r#"{"user":"alice","pass":"pw"}"#.to_string(), true),
            (2, signed_connect(), true),
            (2, r#"{"user":"alice","pass":"px"}"#.to_string(), false),
        ] {
            // The setups really admit the right credentials (so the harness can fail)...
            let connect = ConnectInfo::parse(json.as_bytes()).expect("valid JSON");
            let result = authenticate(&setup(selector), &connect, &context);
            assert_eq!(result.is_ok(), admitted, "{selector} {json}: {result:?}");
            // ...and the harness accepts every one of these outcomes.
            let mut data = vec![selector];
            data.extend_from_slice(json.as_bytes());
            authenticate_connect(&data);
        }
        assert!(nkey_public().is_some());
    }
}
