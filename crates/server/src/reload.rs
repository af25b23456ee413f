//! Applying a re-read configuration to a running server (SIGHUP, `--signal reload`).
//!
//! Like nats-server, a reload is all or nothing: if it changes an option that needs a
//! restart, nothing is applied. Otherwise the new options replace the old snapshot at once;
//! connections hear of it (`ServerState::reloads`) and re-check themselves: new limits,
//! re-authentication (closing clients that no longer authenticate) and new permissions.
//! Options that shape a connection as it is set up (ping interval, write deadline, pending
//! bytes) apply to connections made after the reload.

use crate::client::CloseReason;
use crate::options::Options;
use crate::state::ServerState;

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The new `tls` block does not load (a missing file, a key that does not match).
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
    /// Worded as nats-server words it, so scripts that watch for it keep working.
    #[error("config reload not supported for {name}: old={old}, new={new}")]
    NotSupported {
        name: &'static str,
        old: String,
        new: String,
    },
}

/// A value as nats-server prints it in that error: no quotes, no `Some(...)`.
fn shown(value: &dyn std::fmt::Debug) -> String {
    let text = format!("{value:?}");
    let text = match text.strip_prefix("Some(") {
        Some(inner) => inner.strip_suffix(')').unwrap_or(inner).to_string(),
        None if text == "None" => String::new(),
        None => text,
    };
    text.trim_matches('"').to_string()
}

/// Compares fields: a `restart` field that changed refuses the reload (named by
/// nats-server's option name); `live` fields that changed are listed.
macro_rules! compare {
    ($old:ident, $new:ident, $changed:ident,
     restart: [$($fixed:ident as $go:literal),*], live: [$($live:ident),*]) => {
        $( if $old.$fixed != $new.$fixed {
            return Err(ReloadError::NotSupported {
                name: $go,
                old: shown(&$old.$fixed),
                new: shown(&$new.$fixed),
            });
        } )*
        $( if $old.$live != $new.$live { $changed.push(stringify!($live)); } )*
    };
}

/// What a reload would change, or why it cannot be applied.
pub fn changes(old: &Options, new: &Options) -> Result<Vec<&'static str>, ReloadError> {
    // Accounts may come and go, but JetStream is started per account at start-up only.
    let jetstreams =
        |o: &Options| -> Vec<(String, Option<crate::options::AccountJetStreamLimits>)> {
            o.accounts
                .iter()
                .map(|a| (a.name.clone(), a.jetstream.clone()))
                .collect()
        };
    let (before, after) = (jetstreams(old), jetstreams(new));
    for (name, limits) in &after {
        let previous = before.iter().find(|(n, _)| n == name).map(|(_, l)| l);
        if previous.is_some_and(|p| p != limits) || (previous.is_none() && limits.is_some()) {
            return Err(ReloadError::NotSupported {
                name: "JetStream",
                old: format!("account {name}: {previous:?}"),
                new: format!("account {name}: {limits:?}"),
            });
        }
    }
    let mut changed = Vec::new();
    compare!(old, new, changed,
        restart: [host as "Host", port as "Port", server_name as "ServerName",
            http_port as "HTTPPort", http_host as "HTTPHost", https_port as "HTTPSPort",
            jetstream as "JetStream", store_dir as "StoreDir",
            jetstream_max_memory_bytes as "JetStreamMaxMemory",
            jetstream_max_store_bytes as "JetStreamMaxStore", sync as "SyncInterval",
            jetstream_limits as "JetStreamLimits", pid_file as "PidFile",
            ports_file_dir as "PortsFileDir", log_file as "LogFile", log_json as "LogJSON"],
        live: [authorization, no_auth_user, accounts, system_account, auth_timeout, tls, max_payload_bytes,
            max_control_line_bytes, max_connections, max_subscriptions, max_pending_bytes, ping_interval,
            ping_max, write_deadline, busy_poll, lame_duck_duration, lame_duck_grace_period, debug, trace,
            log_time, log_size_limit, log_max_files]);
    Ok(changed)
}

/// Installs `new` if nothing in it needs a restart; returns the names of changed options.
pub fn apply(
    state: &std::sync::Arc<ServerState>,
    new: Options,
) -> Result<Vec<&'static str>, ReloadError> {
    // One reload at a time (SIGHUP and the API may race): each sees the other's result.
    let _serial = state.reload_lock.lock();
    let changed = changes(&state.opts(), &new)?;
    // A TLS block that does not load is refused here, not at the next connection.
    crate::tls::check_at_start(&new)?;
    let max_connections = new.max_connections;
    for account in &new.accounts {
        state.account_or_create(&account.name);
    }
    state.replace_opts(new);
    for name in &changed {
        tracing::info!("Reloaded: {name}");
    }
    enforce_max_connections(state, max_connections);
    if changed.contains(&"accounts") {
        crate::imports::reinstall(state);
    }
    Ok(changed)
}

/// A lower limit closes the newest connections beyond it, as nats-server does.
fn enforce_max_connections(state: &ServerState, max: usize) {
    let mut clients: Vec<_> = state.clients.lock().values().cloned().collect();
    if clients.len() <= max {
        return;
    }
    clients.sort_by_key(|c| std::cmp::Reverse(c.id));
    let excess = clients.len() - max;
    tracing::warn!("Closing {excess} connections over the new max_connections ({max})");
    for client in clients.into_iter().take(excess) {
        client.out.send_now(|buf| {
            weir_protocol::encode_err(buf, "maximum connections exceeded");
        });
        client.close(CloseReason::MaxConnectionsExceeded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_only_options_refuse_the_whole_reload() {
        let old = Options::default();
        let mut new = old.clone();
        new.max_payload_bytes = 1024;
        new.port = 4333;
        let err = changes(&old, &new).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config reload not supported for Port: old=4222, new=4333"
        );
        let mut named = old.clone();
        named.server_name = Some("x".into());
        assert_eq!(
            changes(&old, &named).unwrap_err().to_string(),
            "config reload not supported for ServerName: old=, new=x"
        );
    }

    #[test]
    fn live_options_are_listed() {
        let old = Options::default();
        let mut new = old.clone();
        new.max_payload_bytes = 1024;
        new.authorization.token = Some("t".into());
        assert_eq!(
            changes(&old, &new).expect("reloadable"),
            ["authorization", "max_payload_bytes"]
        );
        assert!(changes(&old, &old).expect("reloadable").is_empty());
    }
}
