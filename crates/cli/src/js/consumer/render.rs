//! How `weir consumer` shows consumers (from the server's JSON answers) and the messages it
//! reads through them, in the `nats` CLI's words.

use std::time::Duration;

use async_nats::Message;
use serde_json::{json, Value};

use super::time::{ago, local, parse_time, Instant};
use crate::js::render::{count, limit_count, nanos};
use crate::output::{commas, human_duration, kv_table, table};
use crate::pubsub::header_pairs;

/// `explicit` → `Explicit`, `last_per_subject` → `Last Per Subject`.
pub fn title(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or("")
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or("").to_string()
}

fn is_push(config: &Value) -> bool {
    config["deliver_subject"]
        .as_str()
        .is_some_and(|s| !s.is_empty())
}

/// `Pull` or `Push`.
pub fn mode(config: &Value) -> &'static str {
    if is_push(config) {
        "Push"
    } else {
        "Pull"
    }
}

fn deliver_policy(config: &Value) -> String {
    match config["deliver_policy"].as_str().unwrap_or("all") {
        "by_start_sequence" => format!("From Sequence {}", count(&config["opt_start_seq"])),
        "by_start_time" => format!("Since {}", local(&config["opt_start_time"])),
        _ => title(&config["deliver_policy"]),
    }
}

fn sequences(info: &Value, what: &str) -> String {
    format!(
        "Consumer sequence: {} Stream sequence: {}",
        count(&info["consumer_seq"]),
        count(&info["stream_seq"])
    ) + &match info["last_active"].as_str().and_then(parse_time) {
        Some(at) if at.secs > 0 => {
            format!(" {what}: {}", ago(&info["last_active"], Instant::now()))
        }
        _ => String::new(),
    }
}

fn configuration_rows(config: &Value) -> Vec<(&'static str, String)> {
    let mut rows = Vec::new();
    let name = text(&config["name"]);
    let durable = text(&config["durable_name"]);
    if !name.is_empty() {
        rows.push(("Name", name.clone()));
    }
    if !durable.is_empty() && durable != name {
        rows.push(("Durable Name", durable));
    }
    if !text(&config["description"]).is_empty() {
        rows.push(("Description", text(&config["description"])));
    }
    if is_push(config) {
        rows.push(("Delivery Subject", text(&config["deliver_subject"])));
    } else {
        rows.push(("Pull Mode", "true".to_string()));
    }
    if !text(&config["filter_subject"]).is_empty() {
        rows.push(("Filter Subject", text(&config["filter_subject"])));
    } else if let Some(filters) = config["filter_subjects"]
        .as_array()
        .filter(|f| !f.is_empty())
    {
        let filters: Vec<String> = filters.iter().map(text).collect();
        rows.push(("Filter Subjects", filters.join(", ")));
    }
    rows.push(("Deliver Policy", deliver_policy(config)));
    if is_push(config) && !text(&config["deliver_group"]).is_empty() {
        rows.push(("Deliver Queue Group", text(&config["deliver_group"])));
    }
    let ack_none = config["ack_policy"].as_str() == Some("none");
    rows.push(("Ack Policy", title(&config["ack_policy"])));
    if !ack_none {
        rows.push(("Ack Wait", nanos(&config["ack_wait"], "0s")));
    }
    rows.push(("Replay Policy", title(&config["replay_policy"])));
    match config["max_deliver"].as_i64() {
        Some(n) if n > 0 => rows.push(("Maximum Deliveries", commas(n as u64))),
        _ => {}
    }
    if !text(&config["sample_freq"]).is_empty() {
        rows.push(("Sampling Rate", text(&config["sample_freq"])));
    }
    if config["max_ack_pending"].as_i64().unwrap_or(0) > 0 {
        rows.push(("Max Ack Pending", limit_count(&config["max_ack_pending"])));
    }
    if config["max_waiting"].as_i64().unwrap_or(0) > 0 {
        rows.push(("Max Waiting Pulls", limit_count(&config["max_waiting"])));
    }
    if config["idle_heartbeat"].as_u64().unwrap_or(0) > 0 {
        rows.push(("Idle Heartbeat", nanos(&config["idle_heartbeat"], "0s")));
    }
    if is_push(config) {
        let fc = config["flow_control"].as_bool().unwrap_or(false);
        rows.push(("Flow Control", fc.to_string()));
    }
    if config["headers_only"].as_bool() == Some(true) {
        rows.push(("Headers Only", "true".to_string()));
    }
    if config["inactive_threshold"].as_u64().unwrap_or(0) > 0 {
        rows.push((
            "Inactive Threshold",
            nanos(&config["inactive_threshold"], "0s"),
        ));
    }
    if config["max_expires"].as_u64().unwrap_or(0) > 0 {
        rows.push(("Max Pull Expire", nanos(&config["max_expires"], "0s")));
    }
    if config["max_batch"].as_i64().unwrap_or(0) > 0 {
        rows.push(("Max Pull Batch", limit_count(&config["max_batch"])));
    }
    if config["max_bytes"].as_i64().unwrap_or(0) > 0 {
        rows.push(("Max Pull MaxBytes", limit_count(&config["max_bytes"])));
    }
    if let Some(backoff) = config["backoff"].as_array().filter(|b| !b.is_empty()) {
        let delays: Vec<String> = backoff.iter().map(|d| nanos(d, "0s")).collect();
        rows.push(("Backoff", delays.join(", ")));
    }
    if config["num_replicas"].as_u64().unwrap_or(0) > 0 {
        rows.push(("Replicas", count(&config["num_replicas"])));
    }
    if config["mem_storage"].as_bool() == Some(true) {
        rows.push(("Memory Storage", "true".to_string()));
    }
    rows
}

fn metadata_rows(config: &Value) -> Vec<(String, String)> {
    let mut rows: Vec<(String, String)> = config["metadata"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, _)| !k.starts_with("_nats."))
                .map(|(k, v)| (k.clone(), text(v)))
                .collect()
        })
        .unwrap_or_default();
    rows.sort();
    rows
}

fn pause_text(info: &Value) -> Option<String> {
    if info["paused"].as_bool() != Some(true) {
        return None;
    }
    let until = local(&info["config"]["pause_until"]);
    let remaining = human_duration(Duration::from_nanos(
        info["pause_remaining"].as_u64().unwrap_or(0),
    ));
    Some(format!("{until} ({remaining} remaining)"))
}

fn state_rows(info: &Value) -> Vec<(&'static str, String)> {
    let config = &info["config"];
    let mut rows = vec![(
        "Last Delivered Message",
        sequences(&info["delivered"], "Last delivery"),
    )];
    if config["ack_policy"].as_str() != Some("none") {
        rows.push((
            "Acknowledgment Floor",
            sequences(&info["ack_floor"], "Last Ack"),
        ));
        let pending = count(&info["num_ack_pending"]);
        let outstanding = if config["max_ack_pending"].as_i64().unwrap_or(0) > 0 {
            format!(
                "{pending} out of maximum {}",
                count(&config["max_ack_pending"])
            )
        } else {
            pending
        };
        rows.push(("Outstanding Acks", outstanding));
        rows.push(("Redelivered Messages", count(&info["num_redelivered"])));
    }
    rows.push(("Unprocessed Messages", count(&info["num_pending"])));
    if is_push(config) {
        let interest = match (info["push_bound"].as_bool(), text(&config["deliver_group"])) {
            (Some(true), group) if !group.is_empty() => format!("Active using Queue Group {group}"),
            (Some(true), _) => "Active".to_string(),
            _ => "No interest".to_string(),
        };
        rows.push(("Active Interest", interest));
    } else if config["max_waiting"].as_i64().unwrap_or(0) > 0 {
        rows.push((
            "Waiting Pulls",
            format!(
                "{} of maximum {}",
                count(&info["num_waiting"]),
                count(&config["max_waiting"])
            ),
        ));
    } else {
        rows.push((
            "Waiting Pulls",
            format!("{} of unlimited", count(&info["num_waiting"])),
        ));
    }
    if let Some(paused) = pause_text(info) {
        rows.push(("Paused Until", paused));
    }
    rows
}

/// `consumer info`: a Configuration section and a State section.
pub fn info_text(info: &Value) -> String {
    let config = &info["config"];
    let mut out = format!(
        "Information for Consumer {} > {} created {}\n\nConfiguration:\n\n{}\n",
        text(&info["stream_name"]),
        text(&info["name"]),
        local(&info["created"]),
        kv_table(&configuration_rows(config)),
    );
    let metadata = metadata_rows(config);
    if !metadata.is_empty() {
        let rows: Vec<(&str, String)> = metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        out.push_str(&format!("\nMetadata:\n\n{}\n", kv_table(&rows)));
    }
    out.push_str(&format!("\nState:\n\n{}\n", kv_table(&state_rows(info))));
    out
}

/// `consumer ls`: one row per consumer.
pub fn list_table(infos: &[Value]) -> String {
    let now = Instant::now();
    let rows = infos
        .iter()
        .map(|info| {
            vec![
                text(&info["name"]),
                text(&info["config"]["description"]),
                local(&info["created"]),
                count(&info["num_ack_pending"]),
                count(&info["num_pending"]),
                ago(&info["delivered"]["last_active"], now),
            ]
        })
        .collect();
    format!(
        "Consumers:\n\n{}\n",
        table(
            &[
                "Name",
                "Description",
                "Created",
                "Ack Pending",
                "Unprocessed",
                "Last Delivery"
            ],
            rows
        )
    )
}

/// One `consumer report` row as JSON (also what the table shows).
pub fn report_row(info: &Value) -> Value {
    let config = &info["config"];
    json!({
        "consumer": info["name"],
        "mode": mode(config).to_lowercase(),
        "ack_policy": config["ack_policy"],
        "ack_wait": config["ack_wait"],
        "ack_pending": info["num_ack_pending"].as_u64().unwrap_or(0),
        "redelivered": info["num_redelivered"].as_u64().unwrap_or(0),
        "unprocessed": info["num_pending"].as_u64().unwrap_or(0),
        "waiting": info["num_waiting"].as_u64().unwrap_or(0),
        "ack_floor": info["ack_floor"]["stream_seq"].as_u64().unwrap_or(0),
    })
}

/// `consumer report`: a table of every consumer's mode, policy and backlog.
pub fn report_table(stream: &str, infos: &[Value]) -> String {
    let rows = infos
        .iter()
        .map(|info| {
            let config = &info["config"];
            let ack_none = config["ack_policy"].as_str() == Some("none");
            vec![
                text(&info["name"]),
                mode(config).to_string(),
                title(&config["ack_policy"]),
                if ack_none {
                    String::new()
                } else {
                    nanos(&config["ack_wait"], "0s")
                },
                count(&info["num_ack_pending"]),
                count(&info["num_redelivered"]),
                count(&info["num_pending"]),
                count(&info["num_waiting"]),
                count(&info["ack_floor"]["stream_seq"]),
            ]
        })
        .collect();
    format!(
        "Consumer report for {stream} with {} consumers\n\n{}\n",
        commas(infos.len() as u64),
        table(
            &[
                "Consumer",
                "Mode",
                "Ack Policy",
                "Ack Wait",
                "Ack Pending",
                "Redelivered",
                "Unprocessed",
                "Waiting",
                "Ack Floor",
            ],
            rows
        )
    )
}

/// What the `$JS.ACK…` reply subject of a delivered message says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub domain: Option<String>,
    pub stream: String,
    pub consumer: String,
    pub delivered: u64,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    pub timestamp_ns: u64,
    pub pending: u64,
}

impl Delivery {
    /// Parses `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` (v1) or
    /// `$JS.ACK.<domain>.<account hash>.<stream>.….<pending>[.<token>]` (v2).
    pub fn parse(reply: &str) -> Option<Delivery> {
        let tokens: Vec<&str> = reply.split('.').collect();
        if tokens.len() < 9 || tokens[0] != "$JS" || tokens[1] != "ACK" {
            return None;
        }
        let (domain, rest) = match tokens.len() {
            9 => (None, &tokens[2..]),
            n if n >= 11 => {
                let domain = (tokens[2] != "_").then(|| tokens[2].to_string());
                (domain, &tokens[4..])
            }
            _ => return None,
        };
        let n = |i: usize| rest.get(i).and_then(|t| t.parse::<u64>().ok());
        Some(Delivery {
            domain,
            stream: rest[0].to_string(),
            consumer: rest[1].to_string(),
            delivered: n(2)?,
            stream_seq: n(3)?,
            consumer_seq: n(4)?,
            timestamp_ns: n(5)?,
            pending: n(6)?,
        })
    }
}

/// A delivered message as the `nats` CLI prints it: the delivery line, headers, a blank
/// line and the body.
pub fn message_text(msg: &Message, clock: &str) -> String {
    let reply = msg.reply.as_ref().map(|r| r.as_str()).unwrap_or("");
    let mut out = match Delivery::parse(reply) {
        Some(d) => format!(
            "[{clock}] subj: {} / tries: {} / cons seq: {} / str seq: {} / pending: {}\n",
            msg.subject,
            d.delivered,
            d.consumer_seq,
            d.stream_seq,
            commas(d.pending)
        ),
        None if reply.is_empty() => format!("[{clock}] subj: {}\n", msg.subject),
        None => format!("[{clock}] subj: {} reply: {reply}\n", msg.subject),
    };
    for (name, value) in header_pairs(msg.headers.as_ref()) {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    out.push_str(&String::from_utf8_lossy(&msg.payload));
    out.push('\n');
    out
}

/// A delivered message as one JSON object; `ack` says what was sent back (`ack`, `nak`,
/// `term` or `none`).
pub fn message_json(msg: &Message, ack: &str) -> Value {
    let reply = msg.reply.as_ref().map(|r| r.as_str()).unwrap_or("");
    let delivery = Delivery::parse(reply);
    let headers: serde_json::Map<String, Value> = {
        let mut map = serde_json::Map::new();
        for (name, value) in header_pairs(msg.headers.as_ref()) {
            let entry = map.entry(name).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = entry {
                values.push(Value::from(value));
            }
        }
        map
    };
    let mut out = json!({
        "subject": msg.subject.as_str(),
        "headers": headers,
        "data": String::from_utf8_lossy(&msg.payload),
        "size_bytes": msg.payload.len(),
        "ack": ack,
    });
    if let Some(d) = delivery {
        out["stream"] = Value::from(d.stream);
        out["consumer"] = Value::from(d.consumer);
        out["stream_seq"] = Value::from(d.stream_seq);
        out["consumer_seq"] = Value::from(d.consumer_seq);
        out["delivered"] = Value::from(d.delivered);
        out["pending"] = Value::from(d.pending);
        let secs = (d.timestamp_ns / 1_000_000_000) as i64;
        let nanos = (d.timestamp_ns % 1_000_000_000) as u32;
        out["time"] = Value::from(crate::output::rfc3339_utc(secs, nanos));
        if let Some(domain) = d.domain {
            out["domain"] = Value::from(domain);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_subjects_of_both_versions_parse() {
        let v1 = Delivery::parse("$JS.ACK.ORDERS.C1.2.10.3.1714564800000000000.7").unwrap();
        assert_eq!(
            (
                v1.stream.as_str(),
                v1.consumer.as_str(),
                v1.delivered,
                v1.stream_seq
            ),
            ("ORDERS", "C1", 2, 10)
        );
        assert_eq!((v1.consumer_seq, v1.pending, v1.domain), (3, 7, None));
        let v2 = Delivery::parse("$JS.ACK.hub.ACCHASH.ORDERS.C1.1.5.4.1714564800000000000.0.xyz")
            .unwrap();
        assert_eq!((v2.stream_seq, v2.consumer_seq), (5, 4));
        assert_eq!(v2.domain.as_deref(), Some("hub"));
        let v2 = Delivery::parse("$JS.ACK._.ACCHASH.S.C.1.5.4.1.0").unwrap();
        assert_eq!(v2.domain, None);
        assert_eq!(Delivery::parse("_INBOX.abc"), None);
        assert_eq!(Delivery::parse("$JS.ACK.S.C.x.5.4.1.0"), None);
        assert_eq!(Delivery::parse("$JS.ACK.S.C.1.5.4.1.0.1"), None);
    }

    #[test]
    fn info_shows_outstanding_acks_against_the_maximum() {
        let info = json!({"stream_name": "S", "name": "C", "created": "2024-05-01T12:00:00Z",
            "config": {"durable_name": "C", "name": "C", "ack_policy": "explicit",
                "ack_wait": 30_000_000_000u64, "max_ack_pending": 1000, "max_waiting": 512,
                "deliver_policy": "all", "replay_policy": "instant", "metadata": {"k": "v"}},
            "delivered": {"consumer_seq": 0, "stream_seq": 0},
            "ack_floor": {"consumer_seq": 0, "stream_seq": 0},
            "num_ack_pending": 0, "num_redelivered": 0, "num_waiting": 0, "num_pending": 3});
        let text = info_text(&info);
        for want in [
            "Information for Consumer S > C created 2024-05-0",
            "Configuration:",
            "Pull Mode",
            "Explicit",
            "30s",
            "State:",
            "0 out of maximum 1,000",
            "0 of maximum 512",
            "Unprocessed Messages",
            "Metadata:",
        ] {
            assert!(text.contains(want), "{want:?} in {text}");
        }
    }

    #[test]
    fn titles_and_report_rows() {
        assert_eq!(title(&json!("last_per_subject")), "Last Per Subject");
        let info = json!({"name": "C", "config": {"deliver_subject": "x", "ack_policy": "none"},
            "num_pending": 4});
        let row = report_row(&info);
        assert_eq!(row["mode"], "push");
        assert_eq!(row["unprocessed"], 4);
        assert!(report_table("S", &[info]).contains("Consumer report for S with 1 consumers"));
    }
}
