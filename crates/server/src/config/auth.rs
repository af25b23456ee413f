//! The `authorization` block, `no_auth_user`, and the `permissions` maps they hold, parsed
//! as generously as nats-server parses them (a subject, a list, or an allow/deny map).

use std::time::Duration;

use weir_conf::{Spanned, Value};

use super::{invalid, ConfigError};
use crate::auth::{PermissionsConfig, ResponsesConfig, SubjectRules};
use crate::options::{Options, UserConfig};

pub fn apply_authorization(value: &Spanned<Value>, opts: &mut Options) -> Result<(), ConfigError> {
    let block = value.as_map()?;
    for entry in block.entries().filter(|e| !e.used_as_variable) {
        let (key, v) = (&entry.key, &entry.value);
        match key.to_ascii_lowercase().as_str() {
            "user" | "username" => opts.authorization.user = Some(v.as_str()?.to_string()),
            "password" | "pass" => opts.authorization.password = Some(v.as_str()?.to_string()),
            "token" => opts.authorization.token = Some(v.as_str()?.to_string()),
            "timeout" => {
                // Seconds, possibly fractional, as in nats-server.
                opts.auth_timeout = match &v.value {
                    Value::Float(secs) if *secs >= 0.0 => Duration::from_secs_f64(*secs),
                    _ => v.as_duration()?,
                }
            }
            "users" => {
                for entry in v.as_array()? {
                    opts.authorization.users.push(user(entry)?);
                }
            }
            "default_permissions" => {
                opts.authorization.default_permissions = Some(permissions(v)?)
            }
            "permissions" => {
                return Err(invalid(
                    v,
                    "authorization.permissions: give permissions per user in `users`, or use default_permissions",
                ))
            }
            other => return Err(invalid(v, format!("unknown field \"{other}\""))),
        }
    }
    Ok(())
}

pub fn user(value: &Spanned<Value>) -> Result<UserConfig, ConfigError> {
    let mut user = UserConfig::default();
    for (key, v) in value.as_map()?.iter() {
        match key.to_ascii_lowercase().as_str() {
            "user" | "username" => user.user = Some(v.as_str()?.to_string()),
            "password" | "pass" => user.password = Some(v.as_str()?.to_string()),
            "nkey" => {
                let nkey = v.as_str()?;
                if !crate::auth::is_user_public_key(nkey) {
                    return Err(invalid(v, "Not a valid public nkey for a user"));
                }
                user.nkey = Some(nkey.to_string());
            }
            "permissions" | "permission" => user.permissions = Some(permissions(v)?),
            "account" => user.account = Some(v.as_str()?.to_string()),
            "allowed_connection_types" | "connection_types" => {}
            other => return Err(invalid(v, format!("unknown field \"{other}\" in user"))),
        }
    }
    if user.user.is_none() && user.nkey.is_none() {
        return Err(invalid(value, "a user needs a user name or an nkey"));
    }
    Ok(user)
}

pub fn permissions(value: &Spanned<Value>) -> Result<PermissionsConfig, ConfigError> {
    let mut perms = PermissionsConfig::default();
    for (key, v) in value.as_map()?.iter() {
        match key.to_ascii_lowercase().as_str() {
            "publish" | "pub" | "import" => perms.publish = Some(rules(v)?),
            "subscribe" | "sub" | "export" => perms.subscribe = Some(rules(v)?),
            "allow_responses" | "allow_response" => perms.allow_responses = responses(v)?,
            other => {
                return Err(invalid(
                    v,
                    format!("unknown field \"{other}\" parsing permissions"),
                ))
            }
        }
    }
    Ok(perms)
}

/// A subject, a list of subjects (both mean "allow"), or `{ allow: ..., deny: ... }`.
fn rules(value: &Spanned<Value>) -> Result<SubjectRules, ConfigError> {
    match &value.value {
        Value::Map(map) => {
            let mut rules = SubjectRules::default();
            for (key, v) in map.iter() {
                match key.to_ascii_lowercase().as_str() {
                    "allow" => rules.allow = Some(subjects(v)?),
                    "deny" => rules.deny = subjects(v)?,
                    other => {
                        return Err(invalid(
                            v,
                            format!("unknown field \"{other}\" parsing subject permissions: expected allow or deny"),
                        ))
                    }
                }
            }
            Ok(rules)
        }
        _ => Ok(SubjectRules {
            allow: Some(subjects(value)?),
            deny: Vec::new(),
        }),
    }
}

fn subjects(value: &Spanned<Value>) -> Result<Vec<String>, ConfigError> {
    let list = match &value.value {
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Result<Vec<_>, _>>()?,
        _ => vec![value.as_str()?.to_string()],
    };
    for subject in &list {
        let mut parts = subject.split_whitespace();
        let valid = parts
            .next()
            .is_some_and(|s| weir_subject::is_valid_subject(s.as_bytes()))
            && parts.count() <= 1;
        if !valid {
            return Err(invalid(
                value,
                format!("invalid subject {subject:?} in permissions: expected a subject, optionally followed by a queue name"),
            ));
        }
    }
    Ok(list)
}

/// `true`, `false`, or `{ max: N, expires: "1m" }`.
fn responses(value: &Spanned<Value>) -> Result<Option<ResponsesConfig>, ConfigError> {
    match &value.value {
        Value::Bool(false) => Ok(None),
        Value::Bool(true) => Ok(Some(ResponsesConfig::default())),
        Value::Map(map) => {
            let mut config = ResponsesConfig::default();
            for (key, v) in map.iter() {
                match key.to_ascii_lowercase().as_str() {
                    "max" | "max_msgs" | "max_messages" | "max_responses" => {
                        let n = v.as_i64()?;
                        config.max = u32::try_from(n)
                            .ok()
                            .filter(|&n| n > 0)
                            .unwrap_or(crate::auth::permissions::DEFAULT_RESPONSES_MAX);
                    }
                    "expires" | "expiration" | "ttl" => {
                        let expires = v.as_duration()?;
                        if !expires.is_zero() {
                            config.expires = expires;
                        }
                    }
                    other => {
                        return Err(invalid(
                            v,
                            format!("unknown field \"{other}\" parsing allow_responses"),
                        ))
                    }
                }
            }
            Ok(Some(config))
        }
        _ => Err(invalid(
            value,
            "allow_responses: expected true, false or { max, expires }",
        )),
    }
}

/// Checks that need the whole file: combinations nats-server refuses at start-up.
pub fn validate(opts: &Options) -> Result<(), ConfigError> {
    let auth = &opts.authorization;
    let refuse = |message: String| ConfigError::Invalid {
        at: "authorization".to_string(),
        message,
    };
    if !auth.users.is_empty() && (auth.token.is_some() || auth.user.is_some()) {
        return Err(refuse(
            "can not have a single user/pass or token and a users array: move the single user into users".into(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for user in &auth.users {
        let name = user.user.as_ref().or(user.nkey.as_ref());
        if let Some(name) = name {
            if !seen.insert(name) {
                return Err(refuse(format!("duplicate user {name:?} detected")));
            }
        }
    }
    if let Some(name) = &opts.no_auth_user {
        // Clients without credentials take this user's place, so it must be a named user
        // (an nkey user could never be matched without a signature).
        let known = auth.users.iter().any(|u| u.user.as_ref() == Some(name));
        if !known {
            return Err(refuse(format!(
                "no_auth_user: {name:?} not present as user in authorization block or account configuration"
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
    fn users_with_permissions_and_variables() {
        let opts = parse(
            r#"
            ADMIN = { publish: ">", subscribe: ">" }
            authorization {
                default_permissions { publish: { deny: "secret.>" } }
                users = [
                    { user: admin, password: "$2a$11$abc", permissions: $ADMIN }
                    { user: svc, password: pw, permissions: {
                        subscribe: ["jobs.* workers", "_INBOX.>"]
                        allow_responses: { max: 3, expires: "1m" } } }
                    { nkey: UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4 }
                ]
            }
            no_auth_user: svc
            "#,
        )
        .unwrap();
        let users = &opts.authorization.users;
        assert_eq!(users.len(), 3);
        assert_eq!(
            users[0].permissions.as_ref().unwrap().publish,
            Some(SubjectRules {
                allow: Some(vec![">".into()]),
                deny: vec![]
            })
        );
        let svc = users[1].permissions.as_ref().unwrap();
        assert_eq!(
            svc.allow_responses,
            Some(ResponsesConfig {
                max: 3,
                expires: Duration::from_secs(60)
            })
        );
        assert!(users[2].nkey.is_some());
        assert_eq!(opts.no_auth_user.as_deref(), Some("svc"));
        let defaults = opts.authorization.default_permissions.unwrap();
        assert_eq!(defaults.publish.unwrap().deny, vec!["secret.>".to_string()]);
    }

    #[test]
    fn refused_combinations_name_the_problem() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        assert!(
            err("authorization { token: t, users: [{user: a, password: b}] }")
                .contains("token and a users array")
        );
        assert!(err("authorization { users: [{user: a}, {user: a}] }").contains("duplicate"));
        assert!(
            err("authorization { users: [{user: a}] }\nno_auth_user: b").contains("not present")
        );
        assert!(err("authorization { users: [{nkey: NOTAKEY}] }").contains("nkey"));
        assert!(
            err("authorization { users: [{user: a, permissions: {publish: \"a..b\"}}] }")
                .contains("invalid subject")
        );
        assert!(err("authorization { users: [{password: x}] }").contains("user name or an nkey"));
    }
}
