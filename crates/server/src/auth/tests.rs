use base64::Engine;

use super::*;
use crate::options::Authorization;

fn connect(json: &str) -> ConnectInfo {
    serde_json::from_str(json).expect("valid CONNECT json")
}

fn with_auth(authorization: Authorization) -> Options {
    Options {
        authorization,
        ..Options::default()
    }
}

fn user(name: &str, password: &str) -> UserConfig {
    UserConfig {
        user: Some(name.into()),
        password: Some(password.into()),
        ..UserConfig::default()
    }
}

fn run(opts: &Options, json: &str) -> Result<Identity, AuthError> {
    authenticate(opts, &connect(json), &Context::default())
}

#[test]
fn token_must_match_exactly() {
    let opts = with_auth(Authorization {
        token: Some("s3cr3t".into()),
        ..Default::default()
    });
    assert!(required(&opts));
    assert!(run(&opts, r#"{"auth_token":"s3cr3t"}"#).is_ok());
    assert_eq!(
        run(&opts, r#"{"auth_token":"s3cr3"}"#),
        Err(AuthError::BadToken)
    );
    assert_eq!(run(&opts, r#"{}"#), Err(AuthError::NoCredentials));
}

#[test]
fn single_user_needs_both_name_and_password() {
    let opts = with_auth(Authorization {
        user: Some("alice".into()),
        password: Some("pw".into()),
        ..Default::default()
    });
    let ok = run(&opts, r#"{"user":"alice","pass":"pw"}"#).unwrap();
    assert_eq!(ok.user.as_deref(), Some("alice"));
    assert!(run(&opts, r#"{"user":"alice","pass":"px"}"#).is_err());
    assert!(run(&opts, r#"{"user":"bob","pass":"pw"}"#).is_err());
    assert!(run(&opts, r#"{"user":"alice"}"#).is_err());
}

#[test]
fn users_list_with_bcrypt_and_permissions() {
    let hash = bcrypt::hash("bpw", 4).unwrap();
    let restricted = PermissionsConfig {
        publish: Some(SubjectRules {
            allow: Some(vec!["a.>".into()]),
            deny: vec![],
        }),
        ..Default::default()
    };
    let opts = with_auth(Authorization {
        users: vec![
            user("plain", "pw"),
            UserConfig {
                permissions: Some(restricted),
                ..user("hashed", &hash)
            },
        ],
        default_permissions: Some(PermissionsConfig {
            subscribe: Some(SubjectRules {
                allow: None,
                deny: vec!["secret".into()],
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    let plain = run(&opts, r#"{"user":"plain","pass":"pw"}"#).unwrap();
    let perms = plain.permissions.expect("default permissions apply");
    assert!(!perms.may_subscribe(b"secret", None));
    let hashed = run(&opts, r#"{"user":"hashed","pass":"bpw"}"#).unwrap();
    let perms = hashed.permissions.unwrap();
    assert!(perms.may_publish(b"a.b") && !perms.may_publish(b"b"));
    assert!(
        perms.may_subscribe(b"secret", None),
        "own permissions replace defaults"
    );
    assert_eq!(
        run(&opts, r#"{"user":"hashed","pass":"nope"}"#),
        Err(AuthError::BadPassword("hashed".into()))
    );
    assert_eq!(
        run(&opts, r#"{"user":"ghost","pass":"pw"}"#),
        Err(AuthError::UnknownUser("ghost".into()))
    );
    assert_eq!(run(&opts, r#"{}"#), Err(AuthError::NoCredentials));
}

#[test]
fn no_auth_user_takes_anonymous_clients_only() {
    let mut opts = with_auth(Authorization {
        users: vec![user("guest", "g"), user("admin", "a")],
        ..Default::default()
    });
    opts.no_auth_user = Some("guest".into());
    assert_eq!(run(&opts, r#"{}"#).unwrap().user.as_deref(), Some("guest"));
    assert!(run(&opts, r#"{"user":"admin","pass":"wrong"}"#).is_err());
    assert!(run(&opts, r#"{"auth_token":"x"}"#).is_err());
}

#[test]
fn nkey_signature_of_this_connections_nonce() {
    let key = nkeys::KeyPair::new_user();
    let opts = with_auth(Authorization {
        users: vec![UserConfig {
            nkey: Some(key.public_key()),
            ..UserConfig::default()
        }],
        ..Default::default()
    });
    assert!(needs_nonce(&opts));
    let nonce = new_nonce();
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(key.sign(nonce.as_bytes()).unwrap());
    let json = format!(r#"{{"nkey":"{}","sig":"{sig}"}}"#, key.public_key());
    let context = Context {
        nonce: Some(&nonce),
        tls_identities: None,
    };
    let ok = authenticate(&opts, &connect(&json), &context).unwrap();
    assert_eq!(ok.user, Some(key.public_key()));
    let other_nonce = new_nonce();
    let replayed = Context {
        nonce: Some(&other_nonce),
        tls_identities: None,
    };
    assert!(matches!(
        authenticate(&opts, &connect(&json), &replayed),
        Err(AuthError::BadSignature(_))
    ));
    let stranger = nkeys::KeyPair::new_user().public_key();
    let json = format!(r#"{{"nkey":"{stranger}","sig":"{sig}"}}"#);
    assert!(matches!(
        authenticate(&opts, &connect(&json), &context),
        Err(AuthError::UnknownNkey(_))
    ));
}

#[test]
fn certificate_identities_map_to_users() {
    let mut opts = with_auth(Authorization {
        users: vec![UserConfig {
            user: Some("CN=alice,O=Acme".into()),
            ..UserConfig::default()
        }],
        ..Default::default()
    });
    opts.tls = Some(crate::tls::TlsOptions {
        verify_and_map: true,
        ..Default::default()
    });
    assert!(required(&opts));
    let ids = vec!["alice@acme.test".to_string(), "CN=alice,O=Acme".to_string()];
    let context = Context {
        nonce: None,
        tls_identities: Some(&ids),
    };
    let ok = authenticate(&opts, &connect("{}"), &context).unwrap();
    assert_eq!(ok.user.as_deref(), Some("CN=alice,O=Acme"));
    assert_eq!(
        authenticate(&opts, &connect("{}"), &Context::default()),
        Err(AuthError::NoCertificateUser)
    );
}

#[test]
fn nothing_configured_admits_everyone() {
    let opts = Options::default();
    assert!(!required(&opts));
    assert_eq!(run(&opts, "{}"), Ok(Identity::default()));
}
