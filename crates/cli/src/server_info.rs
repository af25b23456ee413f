//! `weir server info`: the INFO line the server sends on connect, as a table or JSON.
//!
//! The raw INFO is read over plain TCP so that fields async-nats does not model
//! (such as `weir_version`) are shown too.

use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;

use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{commas, emit, human_bytes, kv_table, print_json};

const MAX_INFO_BYTES: u64 = 1 << 20;

/// Connects to `addr` and returns the server's first INFO as a JSON object.
pub async fn fetch_info(global: &Global) -> Result<Map<String, Value>> {
    let addr = global.tcp_addr()?;
    let url = global.server.clone();
    let read = async {
        let stream = TcpStream::connect(&addr)
            .await
            .map_err(|e| CliError::connect_io(&url, &e))?;
        let mut reader = BufReader::new(tokio::io::AsyncReadExt::take(stream, MAX_INFO_BYTES));
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .await
            .map_err(|e| CliError::connect_io(&url, &e))?;
        Ok::<_, CliError>(line)
    };
    let line = tokio::time::timeout(global.timeout, read)
        .await
        .map_err(|_| CliError::Connect {
            url: url.clone(),
            reason: format!("no INFO received within {:?}", global.timeout),
            hint: "is this a NATS server? raise --timeout if it is slow",
        })??;
    parse_info_line(&line).map_err(|message| CliError::Protocol { url, message })
}

/// Parses `INFO {...}\r\n` into its JSON object.
pub fn parse_info_line(line: &str) -> std::result::Result<Map<String, Value>, String> {
    let trimmed = line.trim_end_matches(['\r', '\n']);
    let Some(json) = trimmed
        .strip_prefix("INFO ")
        .or_else(|| trimmed.strip_prefix("INFO\t"))
    else {
        if trimmed.is_empty() {
            return Err("the server closed the connection without sending INFO".to_string());
        }
        let shown: String = trimmed.chars().take(80).collect();
        return Err(format!("expected INFO, got {shown:?}"));
    };
    match serde_json::from_str::<Value>(json.trim()) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("INFO is not a JSON object".to_string()),
        Err(e) => Err(format!("INFO is not valid JSON: {e}")),
    }
}

fn text(info: &Map<String, Value>, key: &str) -> Option<String> {
    match info.get(key)? {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn flag(info: &Map<String, Value>, key: &str) -> String {
    match info.get(key).and_then(Value::as_bool) {
        Some(true) => "yes".to_string(),
        _ => "no".to_string(),
    }
}

/// The human table's rows, in display order; absent optional fields are skipped.
pub fn info_rows(info: &Map<String, Value>) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    let mut push = |key: &'static str, value: Option<String>| {
        if let Some(value) = value {
            rows.push((key, value));
        }
    };
    push("Name", text(info, "server_name"));
    push("ID", text(info, "server_id"));
    push("Version", text(info, "version"));
    push("Weir version", text(info, "weir_version"));
    push("Go", text(info, "go"));
    push("Protocol", text(info, "proto"));
    let host = text(info, "host").unwrap_or_default();
    let port = text(info, "port").unwrap_or_default();
    push("Listening on", Some(format!("{host}:{port}")));
    push(
        "Max payload",
        info.get("max_payload")
            .and_then(Value::as_u64)
            .map(|b| format!("{} ({} bytes)", human_bytes(b), commas(b))),
    );
    push("JetStream", Some(flag(info, "jetstream")));
    push("Headers", Some(flag(info, "headers")));
    push("Auth required", Some(flag(info, "auth_required")));
    push("TLS required", Some(flag(info, "tls_required")));
    push("Cluster", text(info, "cluster"));
    push("Client ID", text(info, "client_id"));
    push("Client IP", text(info, "client_ip"));
    rows
}

pub async fn run(global: &Global) -> Result<()> {
    let info = fetch_info(global).await?;
    if global.json {
        return print_json(&info);
    }
    emit(&format!(
        "Server information for {}\n\n{}\n",
        global.server,
        kv_table(&info_rows(&info))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_info_and_shows_weir_version() {
        let line = "INFO {\"server_id\":\"NABC\",\"server_name\":\"w1\",\"version\":\"2.10.0\",\
                    \"weir_version\":\"0.1.0\",\"proto\":1,\"host\":\"0.0.0.0\",\"port\":4222,\
                    \"headers\":true,\"max_payload\":1048576,\"jetstream\":true}\r\n";
        let info = parse_info_line(line).unwrap();
        let rows = info_rows(&info);
        let get = |k: &str| {
            rows.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("Weir version").as_deref(), Some("0.1.0"));
        assert_eq!(get("Protocol").as_deref(), Some("1"));
        assert_eq!(get("Listening on").as_deref(), Some("0.0.0.0:4222"));
        assert_eq!(get("JetStream").as_deref(), Some("yes"));
        assert_eq!(
            get("Max payload").as_deref(),
            Some("1.00 MiB (1,048,576 bytes)")
        );
        assert_eq!(get("Go"), None);
    }

    #[test]
    fn rejects_non_info_lines() {
        assert!(parse_info_line("").is_err());
        assert!(parse_info_line("-ERR 'Authorization Violation'\r\n").is_err());
        assert!(parse_info_line("INFO [1,2]\r\n").is_err());
        assert!(parse_info_line("INFO {bad\r\n").is_err());
    }
}
