//! Maps a nats-server configuration file (parsed by `weir-conf`) onto `Options`. Option names
//! match case-insensitively, as in nats-server. Keys for features Weir does not have yet are
//! refused rather than ignored: silently running without TLS or account isolation that the
//! file asks for would be worse than not starting.

use std::path::Path;
use std::time::Duration;

use weir_conf::{ConfError, Map, Spanned, Value};

use crate::options::{Options, SyncPolicy};

mod accounts;
mod auth;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Conf(#[from] ConfError),
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
}

pub(crate) fn invalid(value: &Spanned<Value>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        at: value.pos.to_string(),
        message: message.into(),
    }
}

/// Longer busy-polls burn a core for little gain: a client slower than this to answer is better
/// served by a wake-up.
const MAX_BUSY_POLL: Duration = Duration::from_millis(1);

/// Keys nats-server knows that Weir does not implement yet.
const NOT_YET: &[&str] = &[
    "cluster",
    "gateway",
    "leafnodes",
    "websocket",
    "mqtt",
    "operator",
    "operators",
    "resolver",
    "resolver_preload",
    "mappings",
];

/// Keys Weir accepts and has nothing to do with (logging targets it does not have, tuning
/// knobs of Go's runtime).
const ACCEPTED_NO_EFFECT: &[&str] = &[
    "syslog",
    "remote_syslog",
    "max_traced_msg_len",
    "connect_error_reports",
    "reconnect_error_reports",
    "disable_sublist_cache",
    "no_header_support",
    "client_advertise",
    "http_base_path",
    "prof_port",
];

/// Reads `path` and applies it on top of `opts`.
pub fn apply_file(path: &Path, opts: &mut Options) -> Result<(), ConfigError> {
    let map = weir_conf::parse_file(path)?;
    apply_map(&map, opts)
}

/// A configuration given as text, over the defaults (for tests of the config modules).
#[cfg(test)]
pub(crate) fn options_from_text(text: &str) -> Result<Options, ConfigError> {
    let map = weir_conf::parse_str(text, None)?;
    let mut opts = Options::default();
    apply_map(&map, &mut opts)?;
    Ok(opts)
}

pub fn apply_map(map: &Map, opts: &mut Options) -> Result<(), ConfigError> {
    // Keys that exist only to be `$variables` are not options (nats-server skips them too).
    for entry in map.entries().filter(|e| !e.used_as_variable) {
        apply_key(&entry.key.to_ascii_lowercase(), &entry.value, opts)?;
    }
    auth::validate(opts)?;
    accounts::validate(opts)
}

fn port(value: &Spanned<Value>) -> Result<u16, ConfigError> {
    let n = value.as_i64()?;
    if n == -1 {
        return Ok(0); // nats-server's RANDOM_PORT
    }
    u16::try_from(n).map_err(|_| invalid(value, format!("port {n} is out of range 0-65535")))
}

fn size(value: &Spanned<Value>) -> Result<usize, ConfigError> {
    let n = value.as_size_bytes()?;
    usize::try_from(n).map_err(|_| invalid(value, "size is too large"))
}

/// `host:port`, `:port` or a bare port.
fn host_port(value: &Spanned<Value>) -> Result<(Option<String>, u16), ConfigError> {
    if let Value::Integer(_) = value.value {
        return Ok((None, port(value)?));
    }
    let text = value.as_str()?;
    let (host, port_text) = text
        .rsplit_once(':')
        .ok_or_else(|| invalid(value, format!("expected host:port, found {text:?}")))?;
    let port = port_text
        .parse::<u16>()
        .map_err(|_| invalid(value, format!("invalid port in {text:?}")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok(((!host.is_empty()).then(|| host.to_string()), port))
}

fn apply_key(key: &str, value: &Spanned<Value>, opts: &mut Options) -> Result<(), ConfigError> {
    match key {
        "listen" => {
            let (host, port) = host_port(value)?;
            if let Some(host) = host {
                opts.host = host;
            }
            opts.port = port;
        }
        "host" | "net" | "addr" => opts.host = value.as_str()?.to_string(),
        "port" => opts.port = port(value)?,
        "server_name" => opts.server_name = Some(value.as_str()?.to_string()),
        "max_payload" => opts.max_payload_bytes = size(value)?,
        "max_control_line" => opts.max_control_line_bytes = size(value)?,
        "max_pending" => opts.max_pending_bytes = size(value)?,
        "max_connections" | "max_conn" => opts.max_connections = size(value)?,
        "max_subscriptions" | "max_subs" => opts.max_subscriptions = size(value)?,
        "ping_interval" => opts.ping_interval = value.as_duration()?,
        "ping_max" => {
            let n = value.as_i64()?;
            opts.ping_max =
                u32::try_from(n).map_err(|_| invalid(value, "ping_max must be >= 0"))?;
        }
        "write_deadline" => opts.write_deadline = value.as_duration()?,
        "busy_poll" => {
            opts.busy_poll = value.as_duration()?;
            if opts.busy_poll > MAX_BUSY_POLL {
                return Err(invalid(value, "busy_poll must be at most 1ms"));
            }
        }
        "lame_duck_duration" => opts.lame_duck_duration = value.as_duration()?,
        "lame_duck_grace_period" => opts.lame_duck_grace_period = value.as_duration()?,
        "http" | "monitor" => {
            let (host, port) = host_port(value)?;
            opts.http_host = host;
            opts.http_port = Some(port);
        }
        "http_port" | "monitor_port" => opts.http_port = Some(port(value)?),
        "http_host" => opts.http_host = Some(value.as_str()?.to_string()),
        "https" => {
            let (host, port) = host_port(value)?;
            opts.http_host = host;
            opts.https_port = Some(port);
        }
        "https_port" => opts.https_port = Some(port(value)?),
        "tls" => opts.tls = Some(crate::tls::config::parse(value)?),
        "debug" => opts.debug = value.as_bool()?,
        "trace" | "trace_verbose" => opts.trace = value.as_bool()?,
        "logtime" => opts.log_time = value.as_bool()?,
        "logfile" | "log_file" => opts.log_file = Some(value.as_str()?.into()),
        "logfile_size_limit" | "log_size_limit" => opts.log_size_limit = value.as_size_bytes()?,
        "logfile_max_num" | "log_max_num" => {
            let n = value.as_i64()?;
            opts.log_max_files =
                u64::try_from(n).map_err(|_| invalid(value, format!("{key} must be >= 0")))?;
        }
        "log_json" => opts.log_json = value.as_bool()?,
        "pidfile" | "pid_file" => opts.pid_file = Some(value.as_str()?.into()),
        "ports_file_dir" => opts.ports_file_dir = Some(value.as_str()?.into()),
        "jetstream" => apply_jetstream(value, opts)?,
        "authorization" => auth::apply_authorization(value, opts)?,
        "no_auth_user" => opts.no_auth_user = Some(value.as_str()?.to_string()),
        "accounts" => accounts::apply_accounts(value, opts)?,
        "system_account" => opts.system_account = Some(value.as_str()?.to_string()),
        other if NOT_YET.contains(&other) => {
            return Err(invalid(
                value,
                format!("{other} is not supported by weir-server yet; remove it to start"),
            ))
        }
        other if ACCEPTED_NO_EFFECT.contains(&other) => {
            tracing::debug!("config option {other} has no effect in weir-server");
        }
        other => return Err(invalid(value, format!("unknown field \"{other}\""))),
    }
    Ok(())
}

fn apply_jetstream(value: &Spanned<Value>, opts: &mut Options) -> Result<(), ConfigError> {
    match &value.value {
        Value::Bool(on) => opts.jetstream = *on,
        Value::String(s) => {
            opts.jetstream = match s.to_ascii_lowercase().as_str() {
                "enabled" | "enable" | "true" | "on" | "yes" => true,
                "disabled" | "disable" | "false" | "off" | "no" => false,
                _ => return Err(invalid(value, format!("jetstream: unexpected value {s:?}"))),
            }
        }
        Value::Map(block) => {
            opts.jetstream = true;
            for (key, v) in block.iter() {
                match key.to_ascii_lowercase().as_str() {
                    "enabled" | "enable" => opts.jetstream = v.as_bool()?,
                    "store_dir" | "storedir" | "store" => opts.store_dir = Some(v.as_str()?.into()),
                    "max_mem" | "max_memory_store" | "max_mem_store" => {
                        opts.jetstream_max_memory_bytes = Some(v.as_size_bytes()?)
                    }
                    "max_file" | "max_file_store" => {
                        opts.jetstream_max_store_bytes = Some(v.as_size_bytes()?)
                    }
                    "sync_interval" | "sync" => opts.sync = sync_policy(v)?,
                    "limits" => apply_jetstream_limits(v, opts)?,
                    "domain"
                    | "unique_tag"
                    | "max_outstanding_catchup"
                    | "compress_ok"
                    | "strict"
                    | "max_buffered_msgs"
                    | "max_buffered_size"
                    | "request_queue_limit" => {}
                    other => return Err(invalid(v, format!("unknown field \"{other}\""))),
                }
            }
        }
        _ => {
            return Err(invalid(
                value,
                "jetstream: expected a boolean, enabled or a block",
            ))
        }
    }
    Ok(())
}

fn apply_jetstream_limits(value: &Spanned<Value>, opts: &mut Options) -> Result<(), ConfigError> {
    let limits = &mut opts.jetstream_limits;
    for (key, v) in value.as_map()?.iter() {
        let count =
            || u64::try_from(v.as_i64()?).map_err(|_| invalid(v, format!("{key} must be >= 0")));
        match key.to_ascii_lowercase().as_str() {
            "max_request_batch" => limits.max_request_batch = Some(count()?),
            "max_ack_pending" => limits.max_ack_pending = Some(count()?),
            "max_ha_assets" => limits.max_ha_assets = Some(count()?),
            "duplicate_window" => limits.duplicate_window = Some(v.as_duration()?),
            other => return Err(invalid(v, format!("unknown field \"{other}\""))),
        }
    }
    Ok(())
}

fn sync_policy(value: &Spanned<Value>) -> Result<SyncPolicy, ConfigError> {
    if let Value::String(s) = &value.value {
        if s.eq_ignore_ascii_case("always") {
            return Ok(SyncPolicy::Always);
        }
    }
    let interval = value.as_duration()?;
    if interval == Duration::ZERO {
        return Ok(SyncPolicy::Always);
    }
    Ok(SyncPolicy::Interval(interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    use super::options_from_text as apply;

    #[test]
    fn typical_file_maps_onto_options() {
        let opts = apply(
            r#"
            listen: 127.0.0.1:4333
            server_name: "weir-1"
            max_payload: 2MB
            max_connections = 100
            ping_interval: "30s"
            ping_max 3
            write_deadline: "5s"
            http_port: 8222
            jetstream {
                store_dir: "/var/lib/weir"
                max_mem: 1GB
                max_file: 10GB
                sync_interval: "2m"
            }
            authorization {
                user: alice
                password: "s3cret"
                timeout: 0.5
            }
            "#,
        )
        .expect("valid config");
        assert_eq!(opts.host, "127.0.0.1");
        assert_eq!(opts.port, 4333);
        assert_eq!(opts.server_name.as_deref(), Some("weir-1"));
        assert_eq!(opts.max_payload_bytes, 2 * 1024 * 1024);
        assert_eq!(opts.max_connections, 100);
        assert_eq!(opts.ping_interval, Duration::from_secs(30));
        assert_eq!(opts.ping_max, 3);
        assert_eq!(opts.write_deadline, Duration::from_secs(5));
        assert_eq!(opts.http_port, Some(8222));
        assert!(opts.jetstream);
        assert_eq!(opts.store_dir.as_deref(), Some(Path::new("/var/lib/weir")));
        assert_eq!(opts.jetstream_max_memory_bytes, Some(1 << 30));
        assert_eq!(opts.sync, SyncPolicy::Interval(Duration::from_secs(120)));
        assert_eq!(opts.authorization.user.as_deref(), Some("alice"));
        assert_eq!(opts.auth_timeout, Duration::from_millis(500));
    }

    #[test]
    fn unknown_and_unsupported_keys_are_errors_with_positions() {
        let err = apply("port: 4222\nbogus: 1\n").unwrap_err().to_string();
        assert!(
            err.contains("2:") && err.contains("unknown field \"bogus\""),
            "{err}"
        );
        let err = apply("cluster { port: 6222 }").unwrap_err().to_string();
        assert!(err.contains("cluster is not supported"), "{err}");
    }

    #[test]
    fn logging_keys() {
        let opts = apply(
            "debug: true\nlog_file: \"/tmp/w.log\"\nlogfile_size_limit: 1KB\nlogfile_max_num: 3\nlog_json: true\n",
        )
        .expect("valid config");
        assert!(opts.debug && opts.log_json);
        assert_eq!(opts.log_size_limit, 1024);
        assert_eq!(opts.log_max_files, 3);
        let opts = apply("log_size_limit: 2048\nlog_max_num: 1").expect("aliases");
        assert_eq!((opts.log_size_limit, opts.log_max_files), (2048, 1));
        assert!(apply("logfile_max_num: -1").is_err());
    }

    #[test]
    fn busy_poll_is_bounded_and_can_be_turned_off() {
        assert_eq!(
            apply("port: 4222").expect("defaults").busy_poll,
            Duration::from_micros(50)
        );
        let opts = apply("busy_poll: \"200us\"").expect("valid");
        assert_eq!(opts.busy_poll, Duration::from_micros(200));
        assert_eq!(
            apply("busy_poll: 0").expect("off").busy_poll,
            Duration::ZERO
        );
        let err = apply("busy_poll: \"5ms\"").unwrap_err().to_string();
        assert!(err.contains("at most 1ms"), "{err}");
    }

    #[test]
    fn jetstream_forms() {
        assert!(apply("jetstream: enabled").unwrap().jetstream);
        assert!(!apply("jetstream: false").unwrap().jetstream);
        assert_eq!(
            apply("jetstream { sync_interval: always }").unwrap().sync,
            SyncPolicy::Always
        );
        let opts = apply("jetstream { limits { max_request_batch: 100 } }").unwrap();
        assert_eq!(opts.jetstream_limits.max_request_batch, Some(100));
    }
}
