//! The `accounts` block: named accounts with their users, JetStream limits, exports and
//! imports, in nats-server's syntax.

use weir_conf::{Spanned, Value};

use super::{auth, invalid, ConfigError};
use crate::account::GLOBAL_ACCOUNT;
use crate::options::{
    AccountConfig, AccountJetStreamLimits, ExportConfig, ExportKind, ImportConfig, Options,
};

pub fn apply_accounts(value: &Spanned<Value>, opts: &mut Options) -> Result<(), ConfigError> {
    for entry in value.as_map()?.entries().filter(|e| !e.used_as_variable) {
        let name = entry.key.clone();
        if name == GLOBAL_ACCOUNT {
            return Err(invalid(
                &entry.value,
                "$G is the global account and cannot be configured",
            ));
        }
        let mut account = AccountConfig {
            name: name.clone(),
            ..AccountConfig::default()
        };
        for field in entry
            .value
            .as_map()?
            .entries()
            .filter(|e| !e.used_as_variable)
        {
            let v = &field.value;
            match field.key.to_ascii_lowercase().as_str() {
                "users" => {
                    for user in v.as_array()? {
                        let mut user = auth::user(user)?;
                        user.account = Some(name.clone());
                        opts.authorization.users.push(user);
                    }
                }
                "jetstream" => account.jetstream = jetstream(v)?,
                "exports" => {
                    for export in v.as_array()? {
                        account.exports.push(export_entry(export)?);
                    }
                }
                "imports" => {
                    for import in v.as_array()? {
                        account.imports.push(import_entry(import)?);
                    }
                }
                "default_permissions" | "mappings" | "limits" => {
                    return Err(invalid(
                        v,
                        format!(
                            "accounts.{name}.{} is not supported by weir-server yet",
                            field.key
                        ),
                    ))
                }
                other => {
                    return Err(invalid(
                        v,
                        format!("unknown field \"{other}\" in account {name}"),
                    ))
                }
            }
        }
        opts.accounts.push(account);
    }
    Ok(())
}

/// `enabled`, `disabled`, `true`/`false`, or a block of limits.
fn jetstream(value: &Spanned<Value>) -> Result<Option<AccountJetStreamLimits>, ConfigError> {
    match &value.value {
        Value::Bool(on) => Ok(on.then(AccountJetStreamLimits::default)),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "enabled" | "enable" | "true" | "on" | "yes" => {
                Ok(Some(AccountJetStreamLimits::default()))
            }
            "disabled" | "disable" | "false" | "off" | "no" => Ok(None),
            _ => Err(invalid(
                value,
                format!(
                    "jetstream: unexpected value {s:?}: use enabled, disabled or a block of limits"
                ),
            )),
        },
        Value::Map(map) => {
            let mut limits = AccountJetStreamLimits::default();
            for (key, v) in map.iter() {
                // nats-server writes -1 for "no limit".
                let limit = |n: i64| u64::try_from(n).ok();
                match key.to_ascii_lowercase().as_str() {
                    "max_mem" | "max_memory" | "max_memory_store" => {
                        limits.max_memory_bytes = size_or_unlimited(v)?
                    }
                    "max_file" | "max_store" | "max_file_store" | "max_disk" => {
                        limits.max_store_bytes = size_or_unlimited(v)?
                    }
                    "max_streams" => limits.max_streams = limit(v.as_i64()?),
                    "max_consumers" => limits.max_consumers = limit(v.as_i64()?),
                    "max_ack_pending" => limits.max_ack_pending = limit(v.as_i64()?),
                    "max_bytes_required"
                    | "max_stream_bytes"
                    | "memory_max_stream_bytes"
                    | "store_max_stream_bytes"
                    | "cluster_traffic" => {}
                    other => {
                        return Err(invalid(
                            v,
                            format!("unknown field \"{other}\" in account jetstream limits"),
                        ))
                    }
                }
            }
            Ok(Some(limits))
        }
        _ => Err(invalid(
            value,
            "jetstream: expected enabled, disabled or a block of limits",
        )),
    }
}

fn size_or_unlimited(value: &Spanned<Value>) -> Result<Option<u64>, ConfigError> {
    if let Value::Integer(n) = value.value {
        if n < 0 {
            return Ok(None);
        }
    }
    Ok(Some(value.as_size_bytes()?))
}

/// `stream` or `service`, as the key of an export or import names it.
fn kind_of(key: &str) -> ExportKind {
    if key.eq_ignore_ascii_case("stream") {
        ExportKind::Stream
    } else {
        ExportKind::Service
    }
}

fn export_entry(value: &Spanned<Value>) -> Result<ExportConfig, ConfigError> {
    let mut export: Option<ExportConfig> = None;
    let mut accounts = Vec::new();
    for (key, v) in value.as_map()?.iter() {
        match key.to_ascii_lowercase().as_str() {
            "stream" | "service" => {
                let kind = kind_of(key);
                let subject = subject(v)?;
                export = Some(ExportConfig {
                    kind,
                    subject,
                    accounts: Vec::new(),
                });
            }
            "accounts" => {
                for a in v.as_array()? {
                    accounts.push(a.as_str()?.to_string());
                }
            }
            "response_type"
            | "response"
            | "response_threshold"
            | "threshold"
            | "latency"
            | "account_token_position"
            | "advertise"
            | "allow_trace" => {}
            other => return Err(invalid(v, format!("unknown field \"{other}\" in export"))),
        }
    }
    let mut export =
        export.ok_or_else(|| invalid(value, "an export needs a stream or a service subject"))?;
    export.accounts = accounts;
    Ok(export)
}

fn import_entry(value: &Spanned<Value>) -> Result<ImportConfig, ConfigError> {
    let mut import: Option<ImportConfig> = None;
    let mut prefix = None;
    let mut to = None;
    for (key, v) in value.as_map()?.iter() {
        match key.to_ascii_lowercase().as_str() {
            "stream" | "service" => {
                let kind = kind_of(key);
                let mut account = None;
                let mut subj = None;
                for (k, inner) in v.as_map()?.iter() {
                    match k.to_ascii_lowercase().as_str() {
                        "account" => account = Some(inner.as_str()?.to_string()),
                        "subject" => subj = Some(subject(inner)?),
                        other => return Err(invalid(inner, format!("unknown field \"{other}\" in import source: expected account and subject"))),
                    }
                }
                let (Some(account), Some(subject)) = (account, subj) else {
                    return Err(invalid(
                        v,
                        "an import source needs an account and a subject",
                    ));
                };
                import = Some(ImportConfig {
                    kind,
                    account,
                    subject,
                    prefix: None,
                    to: None,
                });
            }
            "prefix" => prefix = Some(v.as_str()?.to_string()),
            "to" => to = Some(subject(v)?),
            "share" | "allow_trace" => {}
            other => return Err(invalid(v, format!("unknown field \"{other}\" in import"))),
        }
    }
    let mut import =
        import.ok_or_else(|| invalid(value, "an import needs a stream or a service"))?;
    import.prefix = prefix;
    import.to = to;
    Ok(import)
}

fn subject(value: &Spanned<Value>) -> Result<String, ConfigError> {
    let subject = value.as_str()?;
    if !weir_subject::is_valid_subject(subject.as_bytes()) {
        return Err(invalid(value, format!("invalid subject {subject:?}")));
    }
    Ok(subject.to_string())
}

/// Cross-account checks: every import names a configured account that exports the subject
/// to it, and users name configured accounts.
pub fn validate(opts: &Options) -> Result<(), ConfigError> {
    let refuse = |message: String| ConfigError::Invalid {
        at: "accounts".to_string(),
        message,
    };
    let find = |name: &str| opts.accounts.iter().find(|a| a.name == name);
    for account in &opts.accounts {
        for import in &account.imports {
            if import.kind == ExportKind::Service
                && !weir_subject::is_valid_literal_subject(import.subject.as_bytes())
            {
                return Err(refuse(format!(
                    "account {:?}: service import {:?} must be a literal subject (no wildcards)",
                    account.name, import.subject
                )));
            }
            if import.kind == ExportKind::Stream && import.to.is_some() {
                return Err(refuse(format!(
                    "account {:?}: stream import {:?} takes a prefix, not `to`, in weir-server",
                    account.name, import.subject
                )));
            }
            let Some(exporter) = find(&import.account) else {
                return Err(refuse(format!(
                    "account {:?} imports from unknown account {:?}",
                    account.name, import.account
                )));
            };
            let exported = exporter.exports.iter().any(|e| {
                e.kind == import.kind
                    && weir_subject::subset_of(import.subject.as_bytes(), e.subject.as_bytes())
                    && (e.accounts.is_empty() || e.accounts.contains(&account.name))
            });
            if !exported {
                return Err(refuse(format!(
                    "account {:?} imports {:?} from {:?}, which does not export it to {:?}: add an export",
                    account.name, import.subject, import.account, account.name
                )));
            }
        }
    }
    for user in &opts.authorization.users {
        if let Some(account) = &user.account {
            if account != GLOBAL_ACCOUNT && find(account).is_none() {
                return Err(refuse(format!(
                    "user {:?} names unknown account {account:?}: add it to accounts",
                    user.user
                        .as_deref()
                        .or(user.nkey.as_deref())
                        .unwrap_or_default()
                )));
            }
        }
    }
    if let Some(system) = &opts.system_account {
        if find(system).is_none() {
            return Err(refuse(format!(
                "system_account {system:?} is not a configured account"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::super::options_from_text as parse;

    #[test]
    fn accounts_with_users_limits_exports_and_imports() {
        let opts = parse(
            r#"
            accounts {
              ORDERS: { users: [{user: orders, password: o}], jetstream: { max_streams: 10, max_file: 10G, max_mem: -1 },
                        exports: [{stream: "orders.events.>"}, {service: "orders.lookup", accounts: [BILLING]}] }
              BILLING: { users: [{user: billing, password: b}], jetstream: enabled,
                         imports: [{stream: {account: ORDERS, subject: "orders.events.>"}, prefix: orders},
                                   {service: {account: ORDERS, subject: "orders.lookup"}, to: lookup}] }
              SYS: {}
            }
            system_account: SYS
            "#,
        )
        .expect("valid accounts");
        assert_eq!(opts.accounts.len(), 3);
        let orders = &opts.accounts[0];
        let limits = orders.jetstream.as_ref().expect("jetstream");
        assert_eq!(limits.max_streams, Some(10));
        assert_eq!(
            limits.max_store_bytes,
            Some(10_000_000_000),
            "G is 10^9, as in nats-server"
        );
        assert_eq!(limits.max_memory_bytes, None, "-1 is unlimited");
        assert_eq!(orders.exports[1].accounts, vec!["BILLING".to_string()]);
        let billing = &opts.accounts[1];
        assert_eq!(billing.jetstream, Some(AccountJetStreamLimits::default()));
        assert_eq!(billing.imports[0].prefix.as_deref(), Some("orders"));
        assert_eq!(billing.imports[1].kind, ExportKind::Service);
        assert_eq!(billing.imports[1].to.as_deref(), Some("lookup"));
        assert_eq!(opts.accounts[2].jetstream, None);
        let users: Vec<_> = opts
            .authorization
            .users
            .iter()
            .map(|u| (u.user.clone().unwrap_or_default(), u.account.clone()))
            .collect();
        assert_eq!(
            users,
            vec![
                ("orders".to_string(), Some("ORDERS".to_string())),
                ("billing".to_string(), Some("BILLING".to_string()))
            ]
        );
        assert_eq!(opts.system_account.as_deref(), Some("SYS"));
    }

    #[test]
    fn refused_setups_say_why() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert!(
            err("accounts { B: { imports: [{stream: {account: A, subject: x}}] } }")
                .contains("unknown account")
        );
        assert!(
            err("accounts { A: {}, B: { imports: [{stream: {account: A, subject: x}}] } }")
                .contains("does not export it")
        );
        assert!(err(
            "accounts { A: { exports: [{service: \"s.*\"}] }, B: { imports: [{service: {account: A, subject: \"s.*\"}}] } }"
        )
        .contains("literal subject"));
        assert!(err(
            "accounts { A: { exports: [{service: s}], users: [{user: a}] }, B: { imports: [{service: {account: A, subject: s}}] } }\nsystem_account: NOPE"
        )
        .contains("system_account"));
        assert!(err("accounts { $G: {} }").contains("global account"));
        assert!(err("accounts { A: { mappings: {} } }").contains("not supported"));
    }
}
