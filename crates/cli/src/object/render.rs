//! How `weir object` shows buckets and objects: tables and lines for people, JSON for
//! programs.

use std::collections::BTreeMap;

use async_nats::jetstream::object_store::ObjectInfo;
use async_nats::jetstream::stream::Info;
use base64::Engine;
use serde::Serialize;

use crate::kv::js::is_reserved_metadata;
use crate::kv::render::{is_compressed, local_time, rfc3339, storage_name, yes_no};
use crate::output::{commas, human_bytes, human_duration, table};

/// `SHA-256=<base64url>` as `SHA-256 <hex>`, the form `sha256sum` prints; unknown forms as is.
pub fn digest_hex(digest: &str) -> String {
    let Some((algorithm, encoded)) = digest.split_once('=') else {
        return digest.to_string();
    };
    let engine = &base64::engine::general_purpose::URL_SAFE;
    match engine.decode(encoded) {
        Ok(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("{algorithm} {hex}")
        }
        Err(_) => digest.to_string(),
    }
}

/// An object as JSON.
#[derive(Debug, Serialize)]
pub struct ObjectJson {
    pub bucket: String,
    pub name: String,
    pub size: usize,
    pub chunks: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    pub nuid: String,
    pub deleted: bool,
}

fn headers_of(info: &ObjectInfo) -> BTreeMap<String, Vec<String>> {
    let mut headers = BTreeMap::new();
    if let Some(map) = &info.headers {
        for (name, values) in map.iter() {
            headers.insert(
                name.to_string(),
                values.iter().map(|v| v.as_str().to_string()).collect(),
            );
        }
    }
    headers
}

pub fn object_json(info: &ObjectInfo) -> ObjectJson {
    ObjectJson {
        bucket: info.bucket.clone(),
        name: info.name.clone(),
        size: info.size,
        chunks: info.chunks,
        modified: info.modified.map(rfc3339),
        digest: info.digest.clone(),
        description: info.description.clone().filter(|d| !d.is_empty()),
        headers: headers_of(info),
        metadata: info
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        nuid: info.nuid.clone(),
        deleted: info.deleted,
    }
}

/// `object info BUCKET NAME` and `object put`: the rows describing one object.
pub fn object_rows(info: &ObjectInfo) -> Vec<(&'static str, String)> {
    let mut rows = vec![("Name", info.name.clone()), ("Bucket", info.bucket.clone())];
    if let Some(description) = info.description.as_ref().filter(|d| !d.is_empty()) {
        rows.push(("Description", description.clone()));
    }
    rows.push((
        "Size",
        format!(
            "{} ({} bytes)",
            human_bytes(info.size as u64),
            commas(info.size as u64)
        ),
    ));
    if let Some(modified) = info.modified {
        rows.push(("Modification Time", local_time(modified)));
    }
    rows.push(("Chunks", commas(info.chunks as u64)));
    if let Some(digest) = &info.digest {
        rows.push(("Digest", digest_hex(digest)));
    }
    for (name, values) in headers_of(info) {
        for value in values {
            rows.push(("Header", format!("{name}: {value}")));
        }
    }
    let metadata: BTreeMap<_, _> = info.metadata.iter().collect();
    for (key, value) in metadata {
        rows.push(("Metadata", format!("{key}: {value}")));
    }
    if info.deleted {
        rows.push(("Deleted", "yes".to_string()));
    }
    rows
}

/// A bucket as JSON; limits that are not set (unlimited) are left out.
#[derive(Debug, Serialize)]
pub struct ObjectBucketJson {
    pub bucket: String,
    pub stream: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl_seconds: Option<u64>,
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_bucket_size: Option<i64>,
    pub storage: &'static str,
    pub replicas: usize,
    pub compressed: bool,
    pub sealed: bool,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

pub fn bucket_json(info: &Info) -> ObjectBucketJson {
    let config = &info.config;
    ObjectBucketJson {
        bucket: config.name.trim_start_matches("OBJ_").to_string(),
        stream: config.name.clone(),
        description: config.description.clone().filter(|d| !d.is_empty()),
        created: rfc3339(info.created),
        ttl_seconds: (!config.max_age.is_zero()).then_some(config.max_age.as_secs()),
        bytes: info.state.bytes,
        max_bucket_size: (config.max_bytes >= 0).then_some(config.max_bytes),
        storage: storage_name(config.storage),
        replicas: config.num_replicas,
        compressed: is_compressed(info),
        sealed: config.sealed,
        metadata: config
            .metadata
            .iter()
            .filter(|(k, _)| !is_reserved_metadata(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// `object info BUCKET`: the rows of the bucket table, in the `nats` CLI's order.
pub fn bucket_rows(info: &Info) -> Vec<(&'static str, String)> {
    let bucket = bucket_json(info);
    let mut rows = vec![("Bucket Name", bucket.bucket.clone())];
    if let Some(description) = &bucket.description {
        rows.push(("Description", description.clone()));
    }
    rows.push(("Replicas", bucket.replicas.to_string()));
    rows.push((
        "TTL",
        match bucket.ttl_seconds {
            Some(_) => human_duration(info.config.max_age),
            None => "unlimited".to_string(),
        },
    ));
    rows.push(("Sealed", yes_no(bucket.sealed)));
    rows.push(("Size", human_bytes(bucket.bytes)));
    rows.push((
        "Maximum Bucket Size",
        match bucket.max_bucket_size {
            Some(bytes) => human_bytes(bytes as u64),
            None => "unlimited".to_string(),
        },
    ));
    rows.push(("Storage", bucket.storage.to_string()));
    rows.push(("Compressed", yes_no(bucket.compressed)));
    rows.push(("Backing Store Kind", "JetStream".to_string()));
    rows.push(("JetStream Stream", bucket.stream.clone()));
    for (key, value) in &bucket.metadata {
        rows.push(("Metadata", format!("{key}: {value}")));
    }
    rows
}

/// `object ls BUCKET`: one row per object.
pub fn objects_table(objects: &[ObjectInfo]) -> String {
    let rows = objects
        .iter()
        .map(|o| {
            vec![
                o.name.clone(),
                human_bytes(o.size as u64),
                o.modified.map(local_time).unwrap_or_default(),
            ]
        })
        .collect();
    format!(
        "Bucket Contents\n\n{}\n",
        table(&["Name", "Size", "Time"], rows)
    )
}

/// `object ls`: one row per bucket, smallest first as in the `nats` CLI.
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
                yes_no(bucket.sealed),
            ]
        })
        .collect();
    format!(
        "Object Store Buckets\n\n{}\n",
        table(
            &["Bucket", "Description", "Created", "Size", "Sealed"],
            rows
        )
    )
}

/// `object watch`: `[time] PUT bucket > name: size in N chunks` or `[time] DEL bucket > name`.
pub fn watch_line(info: &ObjectInfo) -> String {
    let time = info.modified.map(local_time).unwrap_or_default();
    if info.deleted {
        format!("[{time}] DEL {} > {}\n", info.bucket, info.name)
    } else {
        format!(
            "[{time}] PUT {} > {}: {} in {} chunks\n",
            info.bucket,
            info.name,
            human_bytes(info.size as u64),
            commas(info.chunks as u64)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(deleted: bool) -> ObjectInfo {
        serde_json::from_value(serde_json::json!({
            "name": "photos/cat.jpg", "bucket": "FILES", "nuid": "N1", "size": 3_145_728,
            "chunks": 24, "mtime": "2024-05-01T12:00:00Z",
            "digest": "SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=",
            "description": "a cat", "metadata": {"owner": "ops"},
            "headers": {"Content-Type": ["image/jpeg"]}, "deleted": deleted
        }))
        .unwrap()
    }

    #[test]
    fn digest_is_shown_as_hex() {
        assert_eq!(
            digest_hex("SHA-256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU="),
            "SHA-256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(digest_hex("odd"), "odd");
    }

    #[test]
    fn object_rows_and_json() {
        let info = object(false);
        let rows = object_rows(&info);
        let get = |k: &str| {
            rows.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("Size"), Some("3.00 MiB (3,145,728 bytes)"));
        assert_eq!(get("Chunks"), Some("24"));
        assert_eq!(get("Header"), Some("Content-Type: image/jpeg"));
        assert_eq!(get("Metadata"), Some("owner: ops"));
        assert_eq!(get("Deleted"), None);
        let json = serde_json::to_value(object_json(&info)).unwrap();
        assert_eq!(json["size"], 3_145_728);
        assert_eq!(json["modified"], "2024-05-01T12:00:00Z");
        assert_eq!(json["headers"]["Content-Type"][0], "image/jpeg");
        assert_eq!(json["deleted"], false);
    }

    #[test]
    fn watch_lines_show_puts_and_deletes() {
        let put = watch_line(&object(false));
        assert!(
            put.ends_with("] PUT FILES > photos/cat.jpg: 3.00 MiB in 24 chunks\n"),
            "{put}"
        );
        let del = watch_line(&object(true));
        assert!(del.ends_with("] DEL FILES > photos/cat.jpg\n"), "{del}");
        let table = objects_table(&[object(false)]);
        assert!(
            table.contains("photos/cat.jpg") && table.contains("3.00 MiB"),
            "{table}"
        );
    }

    #[test]
    fn bucket_rows_and_json() {
        let info: Info = serde_json::from_value(serde_json::json!({
            "config": {"name": "OBJ_FILES", "subjects": ["$O.FILES.C.>", "$O.FILES.M.>"],
                "max_age": 0, "max_bytes": -1, "storage": "file", "num_replicas": 1,
                "sealed": true, "retention": "limits", "discard": "new", "max_consumers": -1,
                "max_msgs": -1, "max_msgs_per_subject": -1, "max_msg_size": -1,
                "duplicate_window": 120_000_000_000_i64, "metadata": {"_nats.level": "1"}},
            "created": "2024-05-01T12:00:00Z",
            "state": {"messages": 2, "bytes": 4096, "first_seq": 1, "last_seq": 2,
                "first_ts": "2024-05-01T12:00:00Z", "last_ts": "2024-05-01T12:00:00Z",
                "consumer_count": 0}
        }))
        .unwrap();
        let json = serde_json::to_value(bucket_json(&info)).unwrap();
        assert_eq!(json["bucket"], "FILES");
        assert_eq!(json["sealed"], true);
        assert!(json.get("ttl_seconds").is_none() && json.get("metadata").is_none());
        let rows = bucket_rows(&info);
        let get = |k: &str| {
            rows.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("TTL"), Some("unlimited"));
        assert_eq!(get("Sealed"), Some("yes"));
        assert_eq!(get("Size"), Some("4.00 KiB"));
        assert!(buckets_table(&[info]).contains("FILES"));
    }
}
