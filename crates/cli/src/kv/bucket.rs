//! Bucket-level `weir kv` verbs: add, ls, info and deleting a whole bucket.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::jetstream::stream::{
    Compression, Config, DiscardPolicy, Info, Placement, Republish, StorageType,
};
use async_nats::jetstream::ErrorCode;
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::kv::args::{AddArgs, StorageArg};
use crate::kv::js::{cause_of, BucketKind, Cause, Js};
use crate::kv::render::{bucket_json, bucket_rows, buckets_table, local_time};
use crate::output::{emit, kv_table, print_json};

/// The duplicate window nats.go gives buckets: two minutes, or the TTL when shorter.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);

pub fn storage_type(storage: StorageArg) -> StorageType {
    match storage {
        StorageArg::File => StorageType::File,
        StorageArg::Memory => StorageType::Memory,
    }
}

pub fn placement(cluster: &Option<String>, tags: &[String]) -> Option<Placement> {
    (cluster.is_some() || !tags.is_empty()).then(|| Placement {
        cluster: cluster.clone(),
        tags: tags.to_vec(),
    })
}

/// The stream a KV bucket lives in, as the official clients configure it.
pub fn stream_config(args: &AddArgs) -> Result<Config> {
    let bucket = &args.bucket;
    let ttl = args.ttl.unwrap_or_default();
    let max_value_size = match args.max_value_size {
        None => -1,
        Some(size) => i32::try_from(size).map_err(|_| {
            CliError::Usage(format!(
                "--max-value-size {size} is too large: the most a value can be is {} bytes",
                i32::MAX
            ))
        })?,
    };
    let republish = args
        .republish_destination
        .as_ref()
        .map(|destination| Republish {
            source: args
                .republish_source
                .clone()
                .unwrap_or_else(|| format!("$KV.{bucket}.>")),
            destination: destination.clone(),
            headers_only: args.republish_headers,
        });
    Ok(Config {
        name: BucketKind::Kv.stream_name(bucket),
        description: args.options.description.clone(),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: args.history,
        max_bytes: args.options.max_bucket_size.unwrap_or(-1),
        max_age: ttl,
        max_message_size: max_value_size,
        storage: storage_type(args.options.storage),
        num_replicas: usize::from(args.options.replicas),
        republish,
        allow_rollup: true,
        deny_delete: true,
        deny_purge: false,
        allow_direct: true,
        discard: DiscardPolicy::New,
        duplicate_window: if ttl.is_zero() {
            DUPLICATE_WINDOW
        } else {
            ttl.min(DUPLICATE_WINDOW)
        },
        compression: args.options.compress.then_some(Compression::S2),
        placement: placement(&args.options.cluster, &args.options.tags),
        allow_message_ttl: args.marker_ttl.is_some(),
        subject_delete_marker_ttl: args.marker_ttl,
        metadata: args
            .options
            .metadata
            .iter()
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect::<HashMap<_, _>>(),
        ..Default::default()
    })
}

/// The account's JetStream API level, read from the raw `$JS.API.INFO` reply: async-nats'
/// account type cannot parse nats-server 2.9's reply, which has no level (meaning 0).
async fn api_level(js: &Js) -> Result<u64> {
    let reply = js
        .context
        .client()
        .request("$JS.API.INFO", Bytes::new())
        .await
        .map_err(|e| match cause_of(&e) {
            Cause::JetStreamOff => js.jetstream_off(),
            _ => CliError::nats("cannot read the JetStream account info", e),
        })?;
    let info: Value = serde_json::from_slice(&reply.payload)
        .map_err(|e| CliError::nats("cannot read the JetStream account info", e))?;
    if info.get("error").is_some() {
        return Err(js.jetstream_off());
    }
    Ok(info
        .pointer("/api/level")
        .and_then(Value::as_u64)
        .unwrap_or(0))
}

/// Limit markers need JetStream API level 1 (nats-server 2.11); older servers would store the
/// bucket but silently ignore the markers, so they are refused up front, as nats.go does.
async fn require_marker_support(js: &Js) -> Result<()> {
    let level = api_level(js).await?;
    if level < 1 {
        return Err(CliError::Unsupported(format!(
            "--marker-ttl needs per-key TTLs, which the server at {} does not support \
             (JetStream API level {level}; level 1 is nats-server 2.11): leave it out",
            js.url
        )));
    }
    Ok(())
}

/// Settings an older server accepted but dropped (nats-server 2.9 knows neither compression
/// nor metadata), so nobody believes they are in force.
pub fn ignored_settings(requested: &Config, stored: &Config) -> Vec<&'static str> {
    let mut ignored = Vec::new();
    if requested.compression.is_some() && stored.compression != requested.compression {
        ignored.push("--compress");
    }
    if requested
        .metadata
        .iter()
        .any(|(k, v)| stored.metadata.get(k) != Some(v))
    {
        ignored.push("--metadata");
    }
    ignored
}

pub fn warn_ignored(requested: &Config, stored: &Config, url: &str) {
    let ignored = ignored_settings(requested, stored);
    if !ignored.is_empty() {
        eprintln!(
            "weir: warning: the server at {url} ignored {} (it needs nats-server 2.10 or later)",
            ignored.join(" and ")
        );
    }
}

pub async fn add(global: &Global, args: &AddArgs) -> Result<()> {
    let config = stream_config(args)?;
    let js = Js::connect(global, "weir kv").await?;
    if args.marker_ttl.is_some() {
        require_marker_support(&js).await?;
    }
    let bucket = &args.bucket;
    let stream = js
        .context
        .create_stream(config.clone())
        .await
        .map_err(|e| {
            let what = format!("cannot create bucket {bucket}");
            match cause_of(&e) {
                Cause::Api(api) if api.error_code() == ErrorCode::STREAM_NAME_EXIST => {
                    CliError::nats(
                        format!(
                            "{what}: it already exists with another configuration \
                     (see `weir kv info {bucket}`; remove it with `weir kv rm {bucket} --force`)"
                        ),
                        api,
                    )
                }
                _ => js.failure(&what, BucketKind::Kv, bucket, e),
            }
        })?;
    warn_ignored(&config, &stream.cached_info().config, &js.url);
    show_bucket(global, stream.cached_info())
}

fn show_bucket(global: &Global, info: &Info) -> Result<()> {
    if global.json {
        return print_json(&bucket_json(info));
    }
    emit(&format!(
        "Information for Key-Value Store Bucket {} created {}\n\n{}\n",
        bucket_json(info).bucket,
        local_time(info.created),
        kv_table(&bucket_rows(info))
    ))
}

pub async fn info(global: &Global, bucket: &str) -> Result<()> {
    let js = Js::connect(global, "weir kv").await?;
    let info = js.bucket_stream(BucketKind::Kv, bucket).await?;
    show_bucket(global, &info)
}

pub async fn list(global: &Global, names_only: bool) -> Result<()> {
    let js = Js::connect(global, "weir kv").await?;
    let infos = js.bucket_streams(BucketKind::Kv).await?;
    let names: Vec<String> = infos
        .iter()
        .map(|info| info.config.name.trim_start_matches("KV_").to_string())
        .collect();
    match (global.json, names_only) {
        (true, true) => print_json(&names),
        (true, false) => print_json(&infos.iter().map(bucket_json).collect::<Vec<_>>()),
        (false, true) => emit(&names.iter().map(|n| format!("{n}\n")).collect::<String>()),
        (false, false) if infos.is_empty() => emit("No Key-Value buckets found\n"),
        (false, false) => emit(&buckets_table(&infos)),
    }
}

#[derive(Serialize)]
struct Deleted<'a> {
    bucket: &'a str,
    deleted: bool,
}

pub async fn remove(global: &Global, bucket: &str, force: bool) -> Result<()> {
    if !crate::kv::js::confirm(&format!("delete bucket {bucket} and all its keys"), force)? {
        return emit("Skipping delete\n");
    }
    let js = Js::connect(global, "weir kv").await?;
    js.delete_bucket(BucketKind::Kv, bucket).await?;
    if global.json {
        return print_json(&Deleted {
            bucket,
            deleted: true,
        });
    }
    emit(&format!("Deleted bucket {bucket}\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        add: AddArgs,
    }

    fn config(args: &[&str]) -> Result<Config> {
        stream_config(&Cli::try_parse_from([&["add"], args].concat()).unwrap().add)
    }

    #[test]
    fn config_matches_the_official_clients() {
        let c = config(&["ORDERS", "--history", "5", "--ttl", "30s"]).unwrap();
        assert_eq!(c.name, "KV_ORDERS");
        assert_eq!(c.subjects, ["$KV.ORDERS.>"]);
        assert_eq!(c.max_messages_per_subject, 5);
        assert_eq!(c.max_age, Duration::from_secs(30));
        assert_eq!(c.duplicate_window, Duration::from_secs(30));
        assert_eq!((c.max_bytes, c.max_message_size), (-1, -1));
        assert!(c.allow_rollup && c.deny_delete && c.allow_direct && !c.deny_purge);
        assert_eq!(c.discard, DiscardPolicy::New);
        assert!(c.republish.is_none() && c.compression.is_none() && c.placement.is_none());
        assert!(!c.allow_message_ttl);
        assert_eq!(
            config(&["B"]).unwrap().duplicate_window,
            Duration::from_secs(120)
        );
    }

    #[test]
    fn flags_reach_the_config() {
        let c = config(&[
            "B",
            "--max-value-size",
            "1KiB",
            "--max-bucket-size",
            "1GiB",
            "--compress",
            "--metadata",
            "owner=ops",
            "--republish-destination",
            "out.>",
            "--marker-ttl",
            "1m",
            "--storage",
            "memory",
        ])
        .unwrap();
        assert_eq!((c.max_message_size, c.max_bytes), (1024, 1 << 30));
        assert_eq!(c.compression, Some(Compression::S2));
        assert_eq!(c.metadata.get("owner").map(String::as_str), Some("ops"));
        let republish = c.republish.unwrap();
        assert_eq!(
            (republish.source.as_str(), republish.destination.as_str()),
            ("$KV.B.>", "out.>")
        );
        assert!(c.allow_message_ttl);
        assert_eq!(c.subject_delete_marker_ttl, Some(Duration::from_secs(60)));
        assert_eq!(c.storage, StorageType::Memory);
        assert!(config(&["B", "--max-value-size", "4GiB"]).is_err());
    }

    #[test]
    fn settings_an_old_server_dropped_are_named() {
        let requested = config(&["B", "--compress", "--metadata", "a=b"]).unwrap();
        let mut stored = requested.clone();
        assert!(ignored_settings(&requested, &stored).is_empty());
        stored.compression = None;
        stored.metadata.clear();
        assert_eq!(
            ignored_settings(&requested, &stored),
            ["--compress", "--metadata"]
        );
        let plain = config(&["B"]).unwrap();
        assert!(ignored_settings(&plain, &stored).is_empty());
    }
}
