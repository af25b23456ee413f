//! Client authentication against the `authorization` block: token or single user/password.
//! Comparisons run in constant time so a wrong guess leaks nothing through timing.

use weir_protocol::ConnectInfo;

use crate::options::{Authorization, Options};

pub fn required(opts: &Options) -> bool {
    let auth = &opts.authorization;
    auth.token.is_some() || auth.user.is_some()
}

/// Whether CONNECT carries the configured credentials.
pub fn check(auth: &Authorization, connect: &ConnectInfo) -> bool {
    if let Some(token) = &auth.token {
        return connect
            .auth_token
            .as_deref()
            .is_some_and(|given| constant_time_eq(given.as_bytes(), token.as_bytes()));
    }
    if let Some(user) = &auth.user {
        let password = auth.password.as_deref().unwrap_or("");
        let user_ok = connect
            .user
            .as_deref()
            .is_some_and(|given| constant_time_eq(given.as_bytes(), user.as_bytes()));
        let pass_ok = connect
            .pass
            .as_deref()
            .is_some_and(|given| constant_time_eq(given.as_bytes(), password.as_bytes()));
        return user_ok & pass_ok;
    }
    true
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(json: &str) -> ConnectInfo {
        serde_json::from_str(json).expect("valid CONNECT json")
    }

    #[test]
    fn token_must_match_exactly() {
        let auth = Authorization {
            token: Some("s3cr3t".into()),
            ..Default::default()
        };
        assert!(check(&auth, &connect(r#"{"auth_token":"s3cr3t"}"#)));
        assert!(!check(&auth, &connect(r#"{"auth_token":"s3cr3"}"#)));
        assert!(!check(&auth, &connect(r#"{}"#)));
    }

    #[test]
    fn user_and_password_must_both_match() {
        let auth = Authorization {
            user: Some("alice".into()),
            password: Some("pw".into()),
            token: None,
        };
        assert!(check(&auth, &connect(r#"{"user":"alice","pass":"pw"}"#)));
        assert!(!check(&auth, &connect(r#"{"user":"alice","pass":"px"}"#)));
        assert!(!check(&auth, &connect(r#"{"user":"bob","pass":"pw"}"#)));
        assert!(!check(&auth, &connect(r#"{"user":"alice"}"#)));
    }
}
