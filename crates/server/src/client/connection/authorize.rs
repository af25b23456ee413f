//! The connection's side of authentication and permissions: checking CONNECT, and applying
//! a config reload (new limits, re-authentication, new permissions) to a live connection.

use std::sync::Arc;

use weir_protocol::ConnectInfo;

use super::{Connection, Flow};
use crate::account::GLOBAL_ACCOUNT;
use crate::auth::{self, ClientGuard, Identity, Permissions};
use crate::client::CloseReason;
use crate::router::retire;
use crate::subscription::Subscription;

impl Connection {
    /// Checks CONNECT's credentials; on success installs the user's permissions.
    pub(super) fn authenticate(&mut self, connect: &ConnectInfo) -> Flow {
        match self.identify(connect) {
            Ok(identity) => {
                if self.install(identity) {
                    Flow::Continue
                } else {
                    self.auth_violation(&auth::AuthError::SubscribedBeforeAuthentication)
                }
            }
            Err(err) => self.auth_violation(&err),
        }
    }

    fn identify(&mut self, connect: &ConnectInfo) -> Result<Identity, auth::AuthError> {
        let identities = self.client.tls_identities.get().map(Vec::as_slice);
        let context = auth::Context {
            nonce: self.client.nonce.as_deref(),
            tls_identities: identities,
        };
        let opts = self.state.opts_snapshot();
        let identity = auth::authenticate(&opts, connect, &context)?;
        self.authenticated_under = Some(opts);
        Ok(identity)
    }

    /// Installs who the client is. Returns false when that cannot be done in place: the
    /// client already has subscriptions made without permissions, or in another account
    /// (authorization turned on by a reload under a client that never authenticated); the
    /// caller then closes it, and the client reconnects and authenticates from scratch.
    fn install(&mut self, identity: Identity) -> bool {
        let account = identity.account.as_deref().unwrap_or(GLOBAL_ACCOUNT);
        let has_subs = !self.client.subs.lock().is_empty();
        if has_subs && (self.guard.is_none() || account != self.account.name) {
            return false;
        }
        if account != self.account.name {
            self.account = self.state.account_or_create(account);
            self.match_cache.clear();
            *self.client.account.lock() = self.account.name.clone();
        }
        let permissions = identity
            .permissions
            .map_or_else(Permissions::default, |p| (*p).clone());
        match &self.guard {
            Some(guard) => guard.replace(permissions),
            None => self.guard = Some(ClientGuard::new(permissions)),
        }
        *self.client.authorized_user.lock() = identity.user;
        true
    }

    fn auth_violation(&mut self, err: &auth::AuthError) -> Flow {
        // Logged with the address so repeated failures can be traced; never the secret.
        tracing::error!(
            "{} - cid:{} - authentication error: {err}",
            self.client.addr,
            self.client.id
        );
        self.send_err("Authorization Violation");
        Flow::Close(CloseReason::AuthenticationViolation)
    }

    /// The options were reloaded: take the new limits, and check the client again against
    /// the new authorization as nats-server does (close it if it no longer authenticates;
    /// drop subscriptions its new permissions refuse).
    pub(super) fn on_reload(&mut self) -> Flow {
        let opts = self.state.opts_snapshot();
        self.limits.max_payload = opts.max_payload_bytes;
        self.spin_budget = opts.busy_poll;
        self.limits.max_control_line = opts.max_control_line_bytes;
        self.auth_required = auth::enabled(&opts);
        if !self.connected {
            return Flow::Continue;
        }
        if !self.auth_required {
            if let Some(guard) = &self.guard {
                guard.replace(Permissions::default());
            }
            return Flow::Continue;
        }
        if self
            .authenticated_under
            .as_ref()
            .is_some_and(|before| auth::same_authorization(before, &opts))
        {
            return Flow::Continue;
        }
        // A client connected before authorization existed has no stored CONNECT.
        let connect = self.connect.clone().unwrap_or_default();
        let identity = match self.identify(&connect) {
            Ok(identity)
                if identity.account.as_deref().unwrap_or(GLOBAL_ACCOUNT) != self.account.name =>
            {
                tracing::info!(
                    "{} - cid:{} - closed by reload: the user moved to another account",
                    self.client.addr,
                    self.client.id
                );
                return Flow::Close(CloseReason::AuthenticationViolation);
            }
            Ok(identity) => identity,
            Err(err) => {
                // nats-server closes such a client without a word.
                tracing::info!(
                    "{} - cid:{} - closed by reload: {err}",
                    self.client.addr,
                    self.client.id
                );
                return Flow::Close(CloseReason::AuthenticationViolation);
            }
        };
        if !self.install(identity) {
            tracing::info!(
                "{} - cid:{} - closed by reload: subscribed before authorization existed",
                self.client.addr,
                self.client.id
            );
            return Flow::Close(CloseReason::AuthenticationViolation);
        }
        self.connect = Some(connect);
        self.drop_refused_subscriptions();
        Flow::Continue
    }

    fn drop_refused_subscriptions(&mut self) {
        let Some(guard) = self.guard.clone() else {
            return;
        };
        let permissions = guard.permissions();
        let refused: Vec<Arc<Subscription>> = self
            .client
            .subs
            .lock()
            .values()
            .filter(|sub| !permissions.may_subscribe(&sub.subject, sub.queue.as_deref()))
            .cloned()
            .collect();
        for sub in refused {
            retire(&sub);
            tracing::info!(
                "Removed sub {:?} (sid {:?}) - not authorized",
                String::from_utf8_lossy(&sub.subject),
                String::from_utf8_lossy(&sub.sid)
            );
            // After a reload nats-server names the subject and the sid (not the queue).
            let message = format!(
                "{} (sid \"{}\")",
                subscribe_violation(&sub.subject, None),
                String::from_utf8_lossy(&sub.sid)
            );
            self.send_err(&message);
        }
    }
}

/// nats-server's words for a refused SUB.
pub(super) fn subscribe_violation(subject: &[u8], queue: Option<&[u8]>) -> String {
    let subject = String::from_utf8_lossy(subject);
    match queue {
        Some(queue) => format!(
            "Permissions Violation for Subscription to \"{subject}\" using queue \"{}\"",
            String::from_utf8_lossy(queue)
        ),
        None => format!("Permissions Violation for Subscription to \"{subject}\""),
    }
}
