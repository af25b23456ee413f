//! Client authentication against the `authorization` block: a token, one user, or a `users`
//! list of password (plain or bcrypt) and nkey users, `no_auth_user`, and TLS certificate
//! mapping (`verify_and_map`). Pure functions of the options and the CONNECT: the connection
//! calls them on CONNECT and again after a reload.
//!
//! Every failure looks the same to the client (`-ERR 'Authorization Violation'`); the
//! [`AuthError`] says why in the server's log, without the secret.

#[doc(hidden)]
pub mod fuzzing;
mod nkey;
mod password;
pub mod permissions;

use std::sync::Arc;

use weir_protocol::ConnectInfo;

pub use nkey::{is_user_public_key, new_nonce};
pub use permissions::{ClientGuard, Permissions, PermissionsConfig, ResponsesConfig, SubjectRules};

use crate::options::{Options, UserConfig};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no credentials given")]
    NoCredentials,
    #[error("invalid token")]
    BadToken,
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    #[error("wrong password for user {0:?}")]
    BadPassword(String),
    #[error("unknown nkey {0}")]
    UnknownNkey(String),
    #[error("invalid nkey signature for {0}")]
    BadSignature(String),
    #[error("no TLS client certificate maps to a configured user")]
    NoCertificateUser,
    #[error("CONNECT came after subscriptions made before authorization was required")]
    SubscribedBeforeAuthentication,
}

/// Who a client turned out to be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The user name or nkey, for logs and `/connz` (`authorized_user`).
    pub user: Option<String>,
    /// `None`: no restrictions.
    pub permissions: Option<Arc<Permissions>>,
    /// The user's account; `None` is the global account `$G`.
    pub account: Option<String>,
}

/// What the connection knows besides the CONNECT itself.
#[derive(Default)]
pub struct Context<'a> {
    /// The nonce this connection's INFO carried (set when nkey users exist).
    pub nonce: Option<&'a str>,
    /// The verified client certificate's identities, in nats-server's matching order.
    pub tls_identities: Option<&'a [String]>,
}

/// Whether INFO tells clients to authenticate (`auth_required`). With `no_auth_user` a
/// client may connect without credentials, so nats-server does not advertise it.
pub fn required(opts: &Options) -> bool {
    enabled(opts) && opts.no_auth_user.is_none()
}

/// Whether CONNECT is checked at all. While it is, nothing but CONNECT is accepted first.
pub fn enabled(opts: &Options) -> bool {
    let auth = &opts.authorization;
    auth.token.is_some()
        || auth.user.is_some()
        || !auth.users.is_empty()
        || opts.tls.as_ref().is_some_and(|tls| tls.verify_and_map)
}

/// Whether two option sets authenticate alike: a reload that changes nothing here need not
/// re-check live clients (a bcrypt check per client is not free).
pub fn same_authorization(a: &Options, b: &Options) -> bool {
    a.authorization == b.authorization
        && a.no_auth_user == b.no_auth_user
        && a.accounts == b.accounts
        && a.tls == b.tls
}

/// Whether INFO must carry a nonce for nkey signatures.
pub fn needs_nonce(opts: &Options) -> bool {
    opts.authorization.users.iter().any(|u| u.nkey.is_some())
}

/// Authenticates a CONNECT under `opts`.
pub fn authenticate(
    opts: &Options,
    connect: &ConnectInfo,
    context: &Context<'_>,
) -> Result<Identity, AuthError> {
    let auth = &opts.authorization;
    let defaults = auth.default_permissions.as_ref();
    if let Some(token) = &auth.token {
        let given = connect
            .auth_token
            .as_deref()
            .ok_or(AuthError::NoCredentials)?;
        return if password::matches(given, token) {
            Ok(identity(None, defaults))
        } else {
            Err(AuthError::BadToken)
        };
    }
    if let Some(user) = &auth.user {
        let given = connect.user.as_deref().ok_or(AuthError::NoCredentials)?;
        let pass = connect.pass.as_deref().unwrap_or("");
        let expected = auth.password.as_deref().unwrap_or("");
        // Both compared every time so a wrong name costs what a wrong password does.
        let user_ok = password::constant_time_eq(given.as_bytes(), user.as_bytes());
        let pass_ok = password::matches(pass, expected);
        return if user_ok && pass_ok {
            Ok(identity(Some(user.clone()), defaults))
        } else if user_ok {
            Err(AuthError::BadPassword(given.to_string()))
        } else {
            Err(AuthError::UnknownUser(given.to_string()))
        };
    }
    if opts.tls.as_ref().is_some_and(|tls| tls.verify_and_map) {
        return by_certificate(&auth.users, context.tls_identities, defaults);
    }
    if auth.users.is_empty() {
        return Ok(Identity::default());
    }
    if let Some(nkey) = connect.nkey.as_deref() {
        let user = auth
            .users
            .iter()
            .find(|u| u.nkey.as_deref() == Some(nkey))
            .ok_or_else(|| AuthError::UnknownNkey(nkey.to_string()))?;
        let signed = context.nonce.is_some_and(|nonce| {
            nkey::verify(nkey, nonce.as_bytes(), connect.sig.as_deref().unwrap_or(""))
        });
        return if signed {
            Ok(user_identity(user, defaults))
        } else {
            Err(AuthError::BadSignature(nkey.to_string()))
        };
    }
    if let Some(name) = connect.user.as_deref() {
        let user = auth
            .users
            .iter()
            .find(|u| u.user.as_deref() == Some(name))
            .ok_or_else(|| AuthError::UnknownUser(name.to_string()))?;
        let given = connect.pass.as_deref().unwrap_or("");
        return match &user.password {
            Some(expected) if password::matches(given, expected) => {
                Ok(user_identity(user, defaults))
            }
            _ => Err(AuthError::BadPassword(name.to_string())),
        };
    }
    let anonymous = connect.auth_token.is_none() && connect.jwt.is_none();
    if let (Some(name), true) = (&opts.no_auth_user, anonymous) {
        if let Some(user) = auth.users.iter().find(|u| u.user.as_ref() == Some(name)) {
            return Ok(user_identity(user, defaults));
        }
    }
    Err(AuthError::NoCredentials)
}

/// `verify_and_map`: the first certificate identity that names a configured user wins.
fn by_certificate(
    users: &[UserConfig],
    identities: Option<&[String]>,
    defaults: Option<&PermissionsConfig>,
) -> Result<Identity, AuthError> {
    identities
        .unwrap_or_default()
        .iter()
        .find_map(|id| users.iter().find(|u| u.user.as_ref() == Some(id)))
        .map(|user| user_identity(user, defaults))
        .ok_or(AuthError::NoCertificateUser)
}

fn user_identity(user: &UserConfig, defaults: Option<&PermissionsConfig>) -> Identity {
    let name = user.user.clone().or_else(|| user.nkey.clone());
    Identity {
        account: user.account.clone(),
        ..identity(name, user.permissions.as_ref().or(defaults))
    }
}

fn identity(user: Option<String>, permissions: Option<&PermissionsConfig>) -> Identity {
    Identity {
        user,
        permissions: permissions.map(|p| Arc::new(Permissions::compile(p))),
        account: None,
    }
}

#[cfg(test)]
mod tests;
