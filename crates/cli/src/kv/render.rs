//! How `weir kv` shows entries and buckets: text and tables for people, JSON for programs.
//! The object store reuses the time and value helpers.

use std::collections::BTreeMap;
use std::time::Duration;

use async_nats::datetime::DateTime;
use async_nats::jetstream::kv::{Entry, Operation};
use async_nats::jetstream::stream::{Compression, Info, StorageType};
use base64::Engine;
use serde::Serialize;

use crate::kv::js::is_reserved_metadata;
use crate::output::{commas, human_bytes, human_duration, local_datetime, rfc3339_utc, table};

/// Values longer than this are cut in `kv get`, as the `nats` CLI does.
const GET_PREVIEW_CHARS: usize = 120;
/// Values longer than this are shortened to head...tail in tables and watch lines.
const CELL_CHARS: usize = 40;

pub fn local_time(time: DateTime) -> String {
    local_datetime(time.unix_timestamp())
}

pub fn rfc3339(time: DateTime) -> String {
    rfc3339_utc(time.unix_timestamp(), time.nanosecond())
}

pub fn op_name(op: &Operation) -> &'static str {
    match op {
        Operation::Put => "PUT",
        Operation::Delete => "DELETE",
        Operation::Purge => "PURGE",
    }
}

/// The value as text when it is printable UTF-8, else as base64 (as the `nats` CLI shows it).
pub fn printable(value: &[u8]) -> String {
    match std::str::from_utf8(value) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && !"\n\r\t".contains(c)) =>
        {
            text.to_string()
        }
        _ => base64::engine::general_purpose::STANDARD.encode(value),
    }
}

/// One line of at most [`CELL_CHARS`] characters: line breaks escaped, the middle elided.
pub fn cell(value: &[u8]) -> String {
    let text = printable(value).replace('\n', "\\n").replace('\r', "\\r");
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= CELL_CHARS {
        return text;
    }
    let head: String = chars[..15].iter().collect();
    let tail: String = chars[chars.len() - 15..].iter().collect();
    format!("{head}...{tail}")
}

/// An entry as JSON: the value as a string when it is UTF-8, else as `value_base64`.
#[derive(Debug, Serialize)]
pub struct EntryJson {
    pub bucket: String,
    pub key: String,
    pub revision: u64,
    pub operation: &'static str,
    pub created: String,
    pub length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_base64: Option<String>,
}

impl EntryJson {
    pub fn new(entry: &Entry) -> EntryJson {
        let text = std::str::from_utf8(&entry.value).ok();
        EntryJson {
            bucket: entry.bucket.clone(),
            key: entry.key.clone(),
            revision: entry.revision,
            operation: op_name(&entry.operation),
            created: rfc3339(entry.created),
            length: entry.value.len(),
            value: text.map(str::to_string),
            value_base64: text
                .is_none()
                .then(|| base64::engine::general_purpose::STANDARD.encode(&entry.value)),
        }
    }
}

/// `kv get`: a heading with the revision and time, then the value (cut when long).
pub fn entry_text(entry: &Entry) -> String {
    let mut out = format!(
        "{} > {} revision: {} created @ {}\n\n",
        entry.bucket,
        entry.key,
        entry.revision,
        local_time(entry.created)
    );
    if entry.operation != Operation::Put {
        out.push_str(&format!(
            "(the key was {} at this revision)\n\n",
            match entry.operation {
                Operation::Purge => "purged",
                _ => "deleted",
            }
        ));
        return out;
    }
    let value = printable(&entry.value);
    let chars = value.chars().count();
    if chars > GET_PREVIEW_CHARS {
        let preview: String = value.chars().take(GET_PREVIEW_CHARS).collect();
        out.push_str(&format!(
            "Showing first {GET_PREVIEW_CHARS} characters of {}, use --raw for full data\n\n{preview}\n\n",
            commas(chars as u64)
        ));
    } else {
        out.push_str(&format!("{value}\n\n"));
    }
    out
}

/// `kv history`: one row per revision.
pub fn history_table(bucket: &str, key: &str, entries: &[Entry]) -> String {
    let rows = entries
        .iter()
        .map(|e| {
            vec![
                e.key.clone(),
                e.revision.to_string(),
                op_name(&e.operation).to_string(),
                local_time(e.created),
                commas(e.value.len() as u64),
                cell(&e.value),
            ]
        })
        .collect();
    format!(
        "History for {bucket} > {key}\n\n{}\n",
        table(
            &["Key", "Revision", "Op", "Created", "Length", "Value"],
            rows
        )
    )
}

/// `kv watch`: `[time] PUT bucket > key: value` or `[time] DELETE bucket > key`.
pub fn watch_line(entry: &Entry) -> String {
    let head = format!(
        "[{}] {} {} > {}",
        local_time(entry.created),
        op_name(&entry.operation),
        entry.bucket,
        entry.key
    );
    match entry.operation {
        Operation::Put => format!("{head}: {}\n", cell(&entry.value)),
        _ => format!("{head}\n"),
    }
}

fn secs(duration: Duration) -> Option<u64> {
    (!duration.is_zero()).then_some(duration.as_secs())
}

fn limit(value: i64) -> Option<i64> {
    (value >= 0).then_some(value)
}

fn user_metadata(info: &Info) -> BTreeMap<String, String> {
    info.config
        .metadata
        .iter()
        .filter(|(k, _)| !is_reserved_metadata(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub fn storage_name(storage: StorageType) -> &'static str {
    match storage {
        StorageType::File => "file",
        StorageType::Memory => "memory",
    }
}

pub fn is_compressed(info: &Info) -> bool {
    matches!(info.config.compression, Some(Compression::S2))
}

#[derive(Debug, Serialize)]
pub struct RepublishJson {
    pub source: String,
    pub destination: String,
    pub headers_only: bool,
}

/// A bucket as JSON; limits that are not set (unlimited) are left out.
#[derive(Debug, Serialize)]
pub struct BucketJson {
    pub bucket: String,
    pub stream: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created: String,
    pub history: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    pub values: u64,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_value_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bucket_size: Option<i64>,
    pub storage: &'static str,
    pub replicas: usize,
    pub compressed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_marker_ttl_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub republish: Option<RepublishJson>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    pub last_update: String,
}

pub fn bucket_json(info: &Info) -> BucketJson {
    let config = &info.config;
    BucketJson {
        bucket: config.name.trim_start_matches("KV_").to_string(),
        stream: config.name.clone(),
        description: config.description.clone().filter(|d| !d.is_empty()),
        created: rfc3339(info.created),
        history: config.max_messages_per_subject,
        ttl_seconds: secs(config.max_age),
        values: info.state.messages,
        bytes: info.state.bytes,
        max_value_size: limit(i64::from(config.max_message_size)),
        max_bucket_size: limit(config.max_bytes),
        storage: storage_name(config.storage),
        replicas: config.num_replicas,
        compressed: is_compressed(info),
        limit_marker_ttl_seconds: config.subject_delete_marker_ttl.and_then(secs),
        republish: config.republish.as_ref().map(|r| RepublishJson {
            source: r.source.clone(),
            destination: r.destination.clone(),
            headers_only: r.headers_only,
        }),
        metadata: user_metadata(info),
        last_update: rfc3339(info.state.last_timestamp),
    }
}

fn limit_text(value: i64) -> String {
    match limit(value) {
        Some(bytes) => human_bytes(bytes as u64),
        None => "unlimited".to_string(),
    }
}

/// `kv info`: the rows of the bucket table, in the `nats` CLI's order.
pub fn bucket_rows(info: &Info) -> Vec<(&'static str, String)> {
    let config = &info.config;
    let bucket = bucket_json(info);
    let mut rows = vec![
        ("Bucket Name", bucket.bucket.clone()),
        ("History Kept", commas(bucket.history.max(0) as u64)),
        ("Values Stored", commas(bucket.values)),
        ("Compressed", yes_no(bucket.compressed)),
    ];
    let marker_ttl = config.subject_delete_marker_ttl.filter(|d| !d.is_zero());
    rows.push(("Per-Key TTL Supported", yes_no(marker_ttl.is_some())));
    if let Some(ttl) = marker_ttl {
        rows.push(("Limit Marker TTL", human_duration(ttl)));
    }
    rows.push(("Backing Store Kind", "JetStream".to_string()));
    if let Some(description) = &bucket.description {
        rows.push(("Description", description.clone()));
    }
    rows.push(("Bucket Size", human_bytes(bucket.bytes)));
    rows.push(("Maximum Bucket Size", limit_text(config.max_bytes)));
    rows.push((
        "Maximum Value Size",
        limit_text(i64::from(config.max_message_size)),
    ));
    rows.push((
        "Maximum Age",
        match secs(config.max_age) {
            Some(_) => human_duration(config.max_age),
            None => "unlimited".to_string(),
        },
    ));
    rows.push(("JetStream Stream", bucket.stream.clone()));
    rows.push(("Storage", bucket.storage.to_string()));
    rows.push(("Replicas", bucket.replicas.to_string()));
    if let Some(republish) = &bucket.republish {
        rows.push((
            if republish.headers_only {
                "Republishing Headers"
            } else {
                "Republishing"
            },
            format!("{} to {}", republish.source, republish.destination),
        ));
    }
    for (key, value) in &bucket.metadata {
        rows.push(("Metadata", format!("{key}: {value}")));
    }
    rows
}

/// `kv ls`: one row per bucket, smallest first as in the `nats` CLI.
pub fn buckets_table(infos: &[Info]) -> String {
    let mut sorted: Vec<&Info> = infos.iter().collect();
    sorted.sort_by_key(|info| info.state.bytes);
    let rows = sorted
        .into_iter()
        .map(|info| {
            let bucket = bucket_json(info);
            vec![
                bucket.bucket,
                bucket.description.unwrap_or_default(),
                local_time(info.created),
                human_bytes(bucket.bytes),
                commas(bucket.values),
                if bucket.values == 0 {
                    "never".to_string()
                } else {
                    local_time(info.state.last_timestamp)
                },
            ]
        })
        .collect();
    format!(
        "Key-Value Buckets\n\n{}\n",
        table(
            &[
                "Bucket",
                "Description",
                "Created",
                "Size",
                "Values",
                "Last Update"
            ],
            rows
        )
    )
}

pub fn yes_no(value: bool) -> String {
    if value { "yes" } else { "no" }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn entry(op: Operation, value: &'static [u8]) -> Entry {
        Entry {
            bucket: "ORDERS".to_string(),
            key: "o.1".to_string(),
            value: Bytes::from_static(value),
            revision: 7,
            delta: 0,
            created: async_nats::datetime::from_nanos(1_714_564_800_500_000_000).unwrap(),
            operation: op,
            seen_current: false,
        }
    }

    fn info(json: &str) -> Info {
        serde_json::from_str(json).unwrap()
    }

    const KV_INFO: &str = r#"{
        "config": {"name": "KV_ORDERS", "subjects": ["$KV.ORDERS.>"], "max_msgs_per_subject": 5,
            "max_age": 3600000000000, "max_bytes": 1073741824, "max_msg_size": 1024,
            "storage": "memory", "num_replicas": 1, "compression": "s2",
            "description": "orders", "retention": "limits", "discard": "new",
            "max_consumers": -1, "max_msgs": -1, "duplicate_window": 120000000000,
            "metadata": {"owner": "ops", "_nats.req.level": "0"},
            "republish": {"src": "$KV.ORDERS.>", "dest": "repub.>", "headers_only": true}},
        "created": "2024-05-01T12:00:00Z",
        "state": {"messages": 3, "bytes": 2048, "first_seq": 1, "last_seq": 3,
            "first_ts": "2024-05-01T12:00:00Z", "last_ts": "2024-05-01T12:01:00Z",
            "consumer_count": 0}
    }"#;

    #[test]
    fn printable_values_stay_text_others_become_base64() {
        assert_eq!(printable(b"hello\nworld"), "hello\nworld");
        assert_eq!(printable(&[0, 1, 2]), "AAEC");
        assert_eq!(printable(&[0xff]), "/w==");
        assert_eq!(cell(b"a\nb"), "a\\nb");
        let long = cell(&[b'x'; 100]);
        assert_eq!(long.len(), 33, "{long}");
        assert!(long.contains("..."));
    }

    #[test]
    fn entry_json_keeps_text_or_base64() {
        let json = serde_json::to_value(EntryJson::new(&entry(Operation::Put, b"v1"))).unwrap();
        assert_eq!(json["value"], "v1");
        assert_eq!(json["revision"], 7);
        assert_eq!(json["operation"], "PUT");
        assert_eq!(json["created"], "2024-05-01T12:00:00.5Z");
        assert!(json.get("value_base64").is_none());
        let json = serde_json::to_value(EntryJson::new(&entry(Operation::Put, &[0xff]))).unwrap();
        assert_eq!(json["value_base64"], "/w==");
        assert!(json.get("value").is_none());
    }

    #[test]
    fn entry_text_shows_revision_and_value() {
        let text = entry_text(&entry(Operation::Put, b"v1"));
        assert!(
            text.starts_with("ORDERS > o.1 revision: 7 created @ 2024-05-0"),
            "{text}"
        );
        assert!(text.ends_with("\n\nv1\n\n"), "{text}");
        let long = entry_text(&entry(Operation::Put, &[b'x'; 200]));
        assert!(
            long.contains("Showing first 120 characters of 200"),
            "{long}"
        );
        let deleted = entry_text(&entry(Operation::Delete, b""));
        assert!(deleted.contains("deleted at this revision"), "{deleted}");
    }

    #[test]
    fn watch_lines_and_history_rows() {
        let put = watch_line(&entry(Operation::Put, b"v1"));
        assert!(put.ends_with("] PUT ORDERS > o.1: v1\n"), "{put}");
        let del = watch_line(&entry(Operation::Delete, b""));
        assert!(del.ends_with("] DELETE ORDERS > o.1\n"), "{del}");
        let history = history_table(
            "ORDERS",
            "o.1",
            &[entry(Operation::Put, b"v1"), entry(Operation::Purge, b"")],
        );
        assert!(history.starts_with("History for ORDERS > o.1"), "{history}");
        assert!(
            history.contains("PURGE") && history.contains("v1"),
            "{history}"
        );
    }

    #[test]
    fn bucket_json_and_rows_describe_the_config() {
        let info = info(KV_INFO);
        let json = serde_json::to_value(bucket_json(&info)).unwrap();
        assert_eq!(json["bucket"], "ORDERS");
        assert_eq!(json["history"], 5);
        assert_eq!(json["ttl_seconds"], 3600);
        assert_eq!(json["max_value_size"], 1024);
        assert_eq!(json["max_bucket_size"], 1_073_741_824);
        assert_eq!(json["storage"], "memory");
        assert_eq!(json["compressed"], true);
        assert_eq!(json["metadata"], serde_json::json!({"owner": "ops"}));
        assert_eq!(json["republish"]["destination"], "repub.>");
        let rows = bucket_rows(&info);
        let get = |k: &str| {
            rows.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("History Kept"), Some("5"));
        assert_eq!(get("Maximum Age"), Some("1h"));
        assert_eq!(get("Maximum Value Size"), Some("1.00 KiB"));
        assert_eq!(get("Maximum Bucket Size"), Some("1.00 GiB"));
        assert_eq!(get("Republishing Headers"), Some("$KV.ORDERS.> to repub.>"));
        assert_eq!(get("Metadata"), Some("owner: ops"));
        assert_eq!(get("Per-Key TTL Supported"), Some("no"));
        let table = buckets_table(&[info]);
        assert!(
            table.contains("ORDERS") && table.contains("2.00 KiB"),
            "{table}"
        );
    }
}
