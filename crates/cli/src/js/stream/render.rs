//! How `weir stream` shows streams and stored messages to people, read from the API's JSON
//! (so the same code serves weir-server and any nats-server version).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde_json::Value;

use crate::js::render::{count, limit_bytes, limit_count, nanos};
use crate::kv::js::is_reserved_metadata;
use crate::kv::render::printable;
use crate::output::{commas, human_bytes, human_duration, kv_table, local_datetime, table};

/// The Unix time (seconds, nanoseconds) of an RFC 3339 timestamp from the API; `None` when
/// absent, unparsable or Go's zero time (`0001-01-01T00:00:00Z`, "never").
pub fn unix_time(value: &Value) -> Option<(i64, u32)> {
    let time = async_nats::datetime::parse_rfc3339(value.as_str()?).ok()?;
    let secs = time.unix_timestamp();
    (secs > 0).then(|| (secs, time.nanosecond()))
}

/// A timestamp from the API in local time, or `fallback`.
pub fn local_time(value: &Value, fallback: &str) -> String {
    unix_time(value)
        .map(|(secs, _)| local_datetime(secs))
        .unwrap_or_else(|| fallback.to_string())
}

/// How long ago a timestamp from the API was (`3m2s`), or "never".
pub fn ago(value: &Value) -> String {
    let Some((secs, nanos)) = unix_time(value) else {
        return "never".to_string();
    };
    let then = UNIX_EPOCH + Duration::new(secs.unsigned_abs(), nanos);
    match SystemTime::now().duration_since(then) {
        Ok(elapsed) => human_duration(elapsed),
        Err(_) => "0s".to_string(),
    }
}

fn yes_no(value: bool) -> String {
    value.to_string()
}

fn flag(config: &Value, key: &str) -> bool {
    config[key].as_bool() == Some(true)
}

fn title(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The `Configuration` rows of a stream config.
pub fn config_rows(config: &Value) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    if let Some(description) = config["description"].as_str().filter(|d| !d.is_empty()) {
        rows.push(("Description", description.to_string()));
    }
    let subjects: Vec<&str> = config["subjects"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !subjects.is_empty() {
        rows.push(("Subjects", subjects.join(", ")));
    }
    rows.push((
        "Replicas",
        config["num_replicas"].as_u64().unwrap_or(1).to_string(),
    ));
    rows.push((
        "Storage",
        title(config["storage"].as_str().unwrap_or("file")),
    ));
    if let Some(compression) = config["compression"].as_str() {
        rows.push(("Compression", compression.to_string()));
    }
    let retention = match config["retention"].as_str().unwrap_or("limits") {
        "workqueue" => "WorkQueue".to_string(),
        other => title(other),
    };
    rows.push(("Retention", retention));
    rows.push(("Acknowledgments", yes_no(!flag(config, "no_ack"))));
    let mut discard = title(config["discard"].as_str().unwrap_or("old"));
    if flag(config, "discard_new_per_subject") {
        discard.push_str(" (per subject)");
    }
    rows.push(("Discard Policy", discard));
    rows.push(("Duplicate Window", nanos(&config["duplicate_window"], "0s")));
    rows.push(("Direct Get", yes_no(flag(config, "allow_direct"))));
    rows.push(("Allows Msg Delete", yes_no(!flag(config, "deny_delete"))));
    rows.push(("Allows Purge", yes_no(!flag(config, "deny_purge"))));
    rows.push(("Allows Rollups", yes_no(flag(config, "allow_rollup_hdrs"))));
    if flag(config, "allow_msg_ttl") {
        rows.push(("Allows Per-Message TTL", "true".to_string()));
    }
    if flag(config, "sealed") {
        rows.push(("Sealed", "true".to_string()));
    }
    rows.push(("Maximum Messages", limit_count(&config["max_msgs"])));
    rows.push((
        "Maximum Per Subject",
        limit_count(&config["max_msgs_per_subject"]),
    ));
    rows.push(("Maximum Bytes", limit_bytes(&config["max_bytes"])));
    rows.push(("Maximum Age", nanos(&config["max_age"], "unlimited")));
    rows.push(("Maximum Message Size", limit_bytes(&config["max_msg_size"])));
    rows.push(("Maximum Consumers", limit_count(&config["max_consumers"])));
    if let Some(republish) = config["republish"].as_object() {
        rows.push((
            "Republishing",
            format!(
                "{} to {}{}",
                republish.get("src").and_then(Value::as_str).unwrap_or(">"),
                republish.get("dest").and_then(Value::as_str).unwrap_or(""),
                if republish.get("headers_only") == Some(&Value::Bool(true)) {
                    " (headers only)"
                } else {
                    ""
                }
            ),
        ));
    }
    if let Some(mirror) = config["mirror"]["name"].as_str() {
        rows.push(("Mirror", mirror.to_string()));
    }
    if let Some(sources) = config["sources"].as_array().filter(|s| !s.is_empty()) {
        let names: Vec<&str> = sources.iter().filter_map(|s| s["name"].as_str()).collect();
        rows.push(("Sources", names.join(", ")));
    }
    if let Some(metadata) = config["metadata"].as_object() {
        let mut pairs: Vec<String> = metadata
            .iter()
            .filter(|(k, _)| !is_reserved_metadata(k))
            .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
            .collect();
        pairs.sort();
        if !pairs.is_empty() {
            rows.push(("Metadata", pairs.join("\n")));
        }
    }
    rows
}

fn sequence_at(state: &Value, seq: &str, ts: &str) -> String {
    let number = count(&state[seq]);
    match unix_time(&state[ts]) {
        Some((secs, _)) if state[seq].as_u64().unwrap_or(0) > 0 => {
            format!("{number} @ {}", local_datetime(secs))
        }
        _ => number,
    }
}

/// The `State` rows of a stream's state.
pub fn state_rows(state: &Value) -> Vec<(&'static str, String)> {
    vec![
        ("Messages", count(&state["messages"])),
        ("Bytes", human_bytes(state["bytes"].as_u64().unwrap_or(0))),
        (
            "First Sequence",
            sequence_at(state, "first_seq", "first_ts"),
        ),
        ("Last Sequence", sequence_at(state, "last_seq", "last_ts")),
        ("Deleted Messages", count(&state["num_deleted"])),
        ("Active Consumers", count(&state["consumer_count"])),
        ("Number of Subjects", count(&state["num_subjects"])),
    ]
}

/// `stream info`: a heading, then the configuration and the state.
pub fn info_text(info: &Value) -> String {
    let name = info["config"]["name"].as_str().unwrap_or("?");
    format!(
        "Information for Stream {name} created {}\n\nConfiguration:\n\n{}\n\nState:\n\n{}\n",
        local_time(&info["created"], "(unknown)"),
        kv_table(&config_rows(&info["config"])),
        kv_table(&state_rows(&info["state"]))
    )
}

/// `stream ls`: one row per stream.
pub fn list_table(infos: &[Value]) -> String {
    let rows = infos
        .iter()
        .map(|info| {
            vec![
                info["config"]["name"].as_str().unwrap_or("?").to_string(),
                info["config"]["description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                local_time(&info["created"], ""),
                count(&info["state"]["messages"]),
                human_bytes(info["state"]["bytes"].as_u64().unwrap_or(0)),
                ago(&info["state"]["last_ts"]),
            ]
        })
        .collect();
    format!(
        "{}\n",
        table(
            &[
                "Name",
                "Description",
                "Created",
                "Messages",
                "Size",
                "Last Message"
            ],
            rows
        )
    )
}

/// One `stream report` row as JSON.
pub fn report_entry(info: &Value) -> Value {
    let state = &info["state"];
    serde_json::json!({
        "stream": info["config"]["name"],
        "storage": info["config"]["storage"].as_str().unwrap_or("file"),
        "replicas": info["config"]["num_replicas"].as_u64().unwrap_or(1),
        "consumers": state["consumer_count"].as_u64().unwrap_or(0),
        "messages": state["messages"].as_u64().unwrap_or(0),
        "bytes": state["bytes"].as_u64().unwrap_or(0),
        "deleted": state["num_deleted"].as_u64().unwrap_or(0),
    })
}

/// `stream report`: one table of every stream.
pub fn report_table(infos: &[Value]) -> String {
    let rows = infos
        .iter()
        .map(|info| {
            let entry = report_entry(info);
            vec![
                entry["stream"].as_str().unwrap_or("?").to_string(),
                title(entry["storage"].as_str().unwrap_or("file")),
                entry["replicas"].to_string(),
                count(&entry["consumers"]),
                count(&entry["messages"]),
                human_bytes(entry["bytes"].as_u64().unwrap_or(0)),
                count(&entry["deleted"]),
            ]
        })
        .collect();
    format!(
        "Stream Report\n\n{}\n",
        table(
            &[
                "Stream",
                "Storage",
                "Replicas",
                "Consumers",
                "Messages",
                "Bytes",
                "Deleted"
            ],
            rows
        )
    )
}

/// `stream subjects`: subject and message count, in the order given.
pub fn subjects_table(subjects: &[(String, u64)]) -> String {
    let rows = subjects
        .iter()
        .map(|(subject, n)| vec![subject.clone(), commas(*n)])
        .collect();
    format!("{}\n", table(&["Subject", "Messages"], rows))
}

/// A stored message as the API gives it (`message` of a STREAM.MSG.GET answer), decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMsg {
    pub subject: String,
    pub seq: u64,
    pub time: Value,
    pub headers: Vec<(String, String)>,
    pub data: Vec<u8>,
}

fn base64_field(value: &Value) -> Vec<u8> {
    value
        .as_str()
        .and_then(|text| base64::engine::general_purpose::STANDARD.decode(text).ok())
        .unwrap_or_default()
}

/// Headers from a `NATS/1.0` header block: one `Key: Value` per line after the status line.
pub fn parse_headers(block: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(block)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            Some((key.trim().to_string(), value.trim().to_string()))
        })
        .filter(|(key, _)| !key.is_empty())
        .collect()
}

impl StoredMsg {
    pub fn from_api(message: &Value) -> StoredMsg {
        StoredMsg {
            subject: message["subject"].as_str().unwrap_or_default().to_string(),
            seq: message["seq"].as_u64().unwrap_or(0),
            time: message["time"].clone(),
            headers: parse_headers(&base64_field(&message["hdrs"])),
            data: base64_field(&message["data"]),
        }
    }

    /// `stream get`: the nats CLI's layout, with the body as text (base64 when binary).
    pub fn text(&self, stream: &str) -> String {
        let mut out = format!(
            "Item: {stream}#{} received {} on Subject {}\n\n",
            self.seq,
            local_time(&self.time, "(unknown time)"),
            self.subject
        );
        if !self.headers.is_empty() {
            out.push_str("Headers:\n");
            for (key, value) in &self.headers {
                out.push_str(&format!("  {key}: {value}\n"));
            }
            out.push('\n');
        }
        out.push_str(&printable(&self.data));
        out.push('\n');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn zero_times_mean_never() {
        assert_eq!(unix_time(&json!("0001-01-01T00:00:00Z")), None);
        assert_eq!(ago(&Value::Null), "never");
        assert_eq!(
            unix_time(&json!("2024-05-01T12:00:00.5Z")),
            Some((1_714_564_800, 500_000_000))
        );
    }

    #[test]
    fn messages_decode_headers_and_body() {
        let msg = StoredMsg::from_api(&json!({
            "subject": "orders.1", "seq": 3, "time": "2024-05-01T12:00:00Z",
            "hdrs": base64::engine::general_purpose::STANDARD.encode("NATS/1.0\r\nA: b\r\nUrl: x:1\r\n\r\n"),
            "data": base64::engine::general_purpose::STANDARD.encode("hello"),
        }));
        assert_eq!(
            msg.headers,
            [("A".into(), "b".into()), ("Url".into(), "x:1".into())]
        );
        let text = msg.text("ORDERS");
        assert!(
            text.starts_with("Item: ORDERS#3 received 2024-05-0"),
            "{text}"
        );
        assert!(
            text.contains("on Subject orders.1\n\nHeaders:\n  A: b\n"),
            "{text}"
        );
        assert!(text.ends_with("\nhello\n"), "{text}");
    }

    #[test]
    fn info_shows_config_and_state() {
        let info = json!({
            "created": "2024-05-01T12:00:00Z",
            "config": {"name": "S", "subjects": ["a.>"], "storage": "memory",
                "retention": "workqueue", "max_msgs": -1, "max_bytes": 1024,
                "max_age": 3_600_000_000_000u64, "metadata": {"owner": "ops", "_nats.ver": "x"}},
            "state": {"messages": 2, "bytes": 80, "first_seq": 1, "last_seq": 2,
                "first_ts": "2024-05-01T12:00:01Z", "last_ts": "2024-05-01T12:00:02Z",
                "consumer_count": 0, "num_subjects": 2}
        });
        let text = info_text(&info);
        for part in [
            "Information for Stream S created 2024-05-0",
            "Configuration:",
            "State:",
            "WorkQueue",
            "Memory",
            "a.>",
            "1.00 KiB",
            "1h",
            "owner: ops",
            "Number of Subjects",
        ] {
            assert!(text.contains(part), "missing {part:?} in\n{text}");
        }
        assert!(!text.contains("_nats.ver"), "{text}");
        let messages = text
            .lines()
            .find(|l| l.contains("Messages") && !l.contains("Maximum") && !l.contains("Deleted"))
            .unwrap();
        assert!(messages.contains(" 2 "), "{messages}");
    }
}
