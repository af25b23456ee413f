//! `weir object` verbs on buckets and object metadata: add, ls, info, rm, watch and seal.

use std::collections::HashMap;

use async_nats::jetstream::object_store::{
    DeleteErrorKind, InfoErrorKind, ObjectInfo, ObjectStore,
};
use async_nats::jetstream::stream::{Compression, Config, DiscardPolicy, Info};
use async_nats::jetstream::ErrorCode;
use futures::StreamExt;
use serde::Serialize;

use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::kv::bucket::{placement, storage_type, warn_ignored};
use crate::kv::js::{cause_of, confirm, next_within, BucketKind, Cause, Js};
use crate::object::args::{AddArgs, WatchArgs};
use crate::object::render::{
    bucket_json, bucket_rows, buckets_table, object_json, object_rows, objects_table, watch_line,
};
use crate::output::{emit, kv_table, log, print_json};

/// The connection and the opened object store bucket.
pub type Bucket = crate::kv::js::Bucket<ObjectStore>;

pub fn missing_object(bucket: &str, name: &str) -> CliError {
    CliError::Unsupported(format!(
        "object {name} not found in bucket {bucket}: list the objects with `weir object ls {bucket}`"
    ))
}

/// The stream an object store bucket lives in, as the official clients configure it.
pub fn stream_config(args: &AddArgs) -> Config {
    let bucket = &args.bucket;
    Config {
        name: BucketKind::Object.stream_name(bucket),
        description: args.options.description.clone(),
        subjects: vec![format!("$O.{bucket}.C.>"), format!("$O.{bucket}.M.>")],
        max_age: args.ttl.unwrap_or_default(),
        max_bytes: args.options.max_bucket_size.unwrap_or(-1),
        storage: storage_type(args.options.storage),
        num_replicas: usize::from(args.options.replicas),
        discard: DiscardPolicy::New,
        allow_rollup: true,
        allow_direct: true,
        compression: args.options.compress.then_some(Compression::S2),
        placement: placement(&args.options.cluster, &args.options.tags),
        metadata: args
            .options
            .metadata
            .iter()
            .map(|m| (m.key.clone(), m.value.clone()))
            .collect::<HashMap<_, _>>(),
        ..Default::default()
    }
}

fn show_bucket(global: &Global, info: &Info) -> Result<()> {
    if global.json {
        return print_json(&bucket_json(info));
    }
    emit(&format!(
        "Information for Object Store Bucket {}\n\n{}\n",
        bucket_json(info).bucket,
        kv_table(&bucket_rows(info))
    ))
}

pub fn show_object(global: &Global, info: &ObjectInfo) -> Result<()> {
    if global.json {
        return print_json(&object_json(info));
    }
    emit(&format!(
        "Object information for {} > {}\n\n{}\n",
        info.bucket,
        info.name,
        kv_table(&object_rows(info))
    ))
}

pub async fn add(global: &Global, args: &AddArgs) -> Result<()> {
    let js = Js::connect(global, "weir object").await?;
    let bucket = &args.bucket;
    let config = stream_config(args);
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
                            "{what}: it already exists with another configuration (see \
                             `weir object info {bucket}`; remove it with `weir object rm {bucket} --force`)"
                        ),
                        api,
                    )
                }
                _ => js.failure(&what, BucketKind::Object, bucket, e),
            }
        })?;
    warn_ignored(&config, &stream.cached_info().config, &js.url);
    show_bucket(global, stream.cached_info())
}

pub async fn info(global: &Global, bucket_name: &str, object: Option<&str>) -> Result<()> {
    let Some(name) = object else {
        let js = Js::connect(global, "weir object").await?;
        let info = js.bucket_stream(BucketKind::Object, bucket_name).await?;
        return show_bucket(global, &info);
    };
    let bucket = Bucket::open(global, bucket_name).await?;
    let info = bucket.store.info(name).await.map_err(|e| match e.kind() {
        InfoErrorKind::NotFound => missing_object(bucket_name, name),
        _ => bucket.failure(&format!("cannot read {bucket_name} > {name}"), e),
    })?;
    show_object(global, &info)
}

pub async fn list(global: &Global, bucket: Option<&str>, names_only: bool) -> Result<()> {
    let Some(bucket_name) = bucket else {
        let js = Js::connect(global, "weir object").await?;
        let infos = js.bucket_streams(BucketKind::Object).await?;
        let names: Vec<String> = infos
            .iter()
            .map(|info| info.config.name.trim_start_matches("OBJ_").to_string())
            .collect();
        return match (global.json, names_only) {
            (true, true) => print_json(&names),
            (true, false) => print_json(&infos.iter().map(bucket_json).collect::<Vec<_>>()),
            (false, true) => emit(&names.iter().map(|n| format!("{n}\n")).collect::<String>()),
            (false, false) if infos.is_empty() => emit("No Object Store buckets found\n"),
            (false, false) => emit(&buckets_table(&infos)),
        };
    };
    let bucket = Bucket::open(global, bucket_name).await?;
    let what = format!("cannot list the objects in bucket {bucket_name}");
    let mut listing = bucket
        .store
        .list()
        .await
        .map_err(|e| bucket.failure(&what, e))?;
    let mut objects = Vec::new();
    while let Some(object) = next_within(&mut listing, global.timeout, &what).await? {
        objects.push(object.map_err(|e| bucket.failure(&what, e))?);
    }
    objects.sort_by(|a, b| a.name.cmp(&b.name));
    if global.json {
        return print_json(&objects.iter().map(object_json).collect::<Vec<_>>());
    }
    if objects.is_empty() {
        return emit("No entries found\n");
    }
    emit(&objects_table(&objects))
}

#[derive(Serialize)]
struct Deleted<'a> {
    bucket: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    deleted: bool,
}

pub async fn remove(
    global: &Global,
    bucket_name: &str,
    name: Option<&str>,
    force: bool,
) -> Result<()> {
    let Some(name) = name else {
        if !confirm(
            &format!("delete bucket {bucket_name} and all its objects"),
            force,
        )? {
            return emit("Skipping delete\n");
        }
        let js = Js::connect(global, "weir object").await?;
        js.delete_bucket(BucketKind::Object, bucket_name).await?;
        if global.json {
            return print_json(&Deleted {
                bucket: bucket_name,
                name: None,
                deleted: true,
            });
        }
        return emit(&format!("Deleted bucket {bucket_name}\n"));
    };
    if !confirm(
        &format!("delete object {name} from bucket {bucket_name}"),
        force,
    )? {
        return emit("Skipping delete\n");
    }
    let bucket = Bucket::open(global, bucket_name).await?;
    bucket
        .store
        .delete(name)
        .await
        .map_err(|e| match e.kind() {
            DeleteErrorKind::NotFound => missing_object(bucket_name, name),
            _ => bucket.failure(&format!("cannot delete {bucket_name} > {name}"), e),
        })?;
    if global.json {
        return print_json(&Deleted {
            bucket: bucket_name,
            name: Some(name),
            deleted: true,
        });
    }
    emit(&format!("Removed {bucket_name} > {name}\n"))
}

pub async fn watch(global: &Global, args: &WatchArgs) -> Result<()> {
    let bucket = Bucket::open(global, &args.bucket).await?;
    let what = format!("cannot watch bucket {}", args.bucket);
    let mut watcher = bucket
        .store
        .watch_with_history()
        .await
        .map_err(|e| bucket.failure(&what, e))?;
    log(format!("Watching object store bucket {}", args.bucket));
    let mut shown = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while args.count == 0 || shown < args.count {
        let info = tokio::select! {
            info = watcher.next() => match info {
                Some(info) => info.map_err(|e| bucket.failure(&what, e))?,
                None => return Err(CliError::Protocol {
                    url: global.server.clone(),
                    message: "the watch was closed by the server".to_string(),
                }),
            },
            _ = &mut ctrl_c => break,
        };
        shown += 1;
        if global.json {
            let line = serde_json::to_string(&object_json(&info))
                .map_err(|e| CliError::Usage(format!("cannot encode JSON output: {e}")))?;
            emit(&format!("{line}\n"))?;
        } else {
            emit(&watch_line(&info))?;
        }
    }
    Ok(())
}

pub async fn seal(global: &Global, bucket_name: &str, force: bool) -> Result<()> {
    if !confirm(
        &format!("seal bucket {bucket_name} (a sealed bucket can never be changed or unsealed)"),
        force,
    )? {
        return emit("Skipping seal\n");
    }
    let mut bucket = Bucket::open(global, bucket_name).await?;
    let sealed = bucket.store.seal().await;
    sealed.map_err(|e| bucket.failure(&format!("cannot seal bucket {bucket_name}"), e))?;
    let info = bucket
        .js
        .bucket_stream(BucketKind::Object, bucket_name)
        .await?;
    if !global.json {
        emit(&format!("{bucket_name} has been sealed\n\n"))?;
    }
    show_bucket(global, &info)
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

    #[test]
    fn config_matches_the_official_clients() {
        let args = Cli::try_parse_from(["add", "FILES", "--compress", "--metadata", "a=b"])
            .unwrap()
            .add;
        let c = stream_config(&args);
        assert_eq!(c.name, "OBJ_FILES");
        assert_eq!(c.subjects, ["$O.FILES.C.>", "$O.FILES.M.>"]);
        assert_eq!(c.discard, DiscardPolicy::New);
        assert!(c.allow_rollup && c.allow_direct);
        assert_eq!(c.max_bytes, -1);
        assert_eq!(c.compression, Some(Compression::S2));
        assert_eq!(c.metadata.get("a").map(String::as_str), Some("b"));
    }

    #[test]
    fn missing_object_names_the_fix() {
        assert_eq!(
            missing_object("FILES", "a.bin").to_string(),
            "object a.bin not found in bucket FILES: list the objects with `weir object ls FILES`"
        );
    }
}
