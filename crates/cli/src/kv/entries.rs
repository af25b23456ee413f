//! Key-level `weir kv` verbs that read or write one entry: put, create, update, get, del
//! and purge.

use std::io::{IsTerminal, Read, Write};

use async_nats::jetstream::kv::{CreateErrorKind, Entry, Operation, Store, UpdateErrorKind};
use async_nats::jetstream::message::StreamMessage;
use bytes::Bytes;
use serde::Serialize;

use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::kv::args::{GetArgs, PutArgs, UpdateArgs};
use crate::kv::render::{entry_text, EntryJson};
use crate::output::{emit, print_json};

/// The connection and the opened KV bucket.
pub type Bucket = crate::kv::js::Bucket<Store>;

/// The value from the argument or, when omitted and stdin is not a terminal, from stdin
/// (as `nats kv put` reads it).
fn value_or_stdin(value: &Option<String>) -> Result<Bytes> {
    if let Some(value) = value {
        return Ok(Bytes::from(value.clone()));
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(Bytes::new());
    }
    let mut bytes = Vec::new();
    stdin
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::io("cannot read the value from stdin", e))?;
    Ok(Bytes::from(bytes))
}

#[derive(Serialize)]
struct Written<'a> {
    bucket: &'a str,
    key: &'a str,
    revision: u64,
    length: usize,
}

/// Reports a stored value: the value itself for people (as `nats kv put` prints it), the
/// new revision in JSON.
fn report_write(global: &Global, args_value: &Option<String>, written: Written) -> Result<()> {
    if global.json {
        return print_json(&written);
    }
    match args_value {
        Some(value) => emit(&format!("{value}\n")),
        None => Ok(()),
    }
}

pub async fn put(global: &Global, args: &PutArgs) -> Result<()> {
    let value = value_or_stdin(&args.value)?;
    let bucket = Bucket::open(global, &args.bucket).await?;
    let length = value.len();
    let revision =
        bucket.store.put(&args.key, value).await.map_err(|e| {
            bucket.failure(&format!("cannot put {} > {}", args.bucket, args.key), e)
        })?;
    let written = Written {
        bucket: &args.bucket,
        key: &args.key,
        revision,
        length,
    };
    report_write(global, &args.value, written)
}

pub async fn create(global: &Global, args: &PutArgs) -> Result<()> {
    let value = value_or_stdin(&args.value)?;
    let bucket = Bucket::open(global, &args.bucket).await?;
    let length = value.len();
    let what = format!("cannot create {} > {}", args.bucket, args.key);
    let revision = bucket
        .store
        .create(&args.key, value)
        .await
        .map_err(|e| match e.kind() {
            CreateErrorKind::AlreadyExists => CliError::nats(
                what.clone(),
                "the key already exists: replace it with `weir kv put`, or use `weir kv update` \
                 with its current revision",
            ),
            _ => bucket.failure(&what, e),
        })?;
    let written = Written {
        bucket: &args.bucket,
        key: &args.key,
        revision,
        length,
    };
    report_write(global, &args.value, written)
}

pub async fn update(global: &Global, args: &UpdateArgs) -> Result<()> {
    let bucket = Bucket::open(global, &args.bucket).await?;
    let what = format!("cannot update {} > {}", args.bucket, args.key);
    let revision = bucket
        .store
        .update(&args.key, Bytes::from(args.value.clone()), args.revision)
        .await
        .map_err(|e| match e.kind() {
            UpdateErrorKind::WrongLastRevision => CliError::nats(
                what.clone(),
                format!(
                    "revision {} is not the key's latest: see `weir kv get {} {}`",
                    args.revision, args.bucket, args.key
                ),
            ),
            _ => bucket.failure(&what, e),
        })?;
    let written = Written {
        bucket: &args.bucket,
        key: &args.key,
        revision,
        length: args.value.len(),
    };
    report_write(global, &Some(args.value.clone()), written)
}

/// The operation a stored message records (the `KV-Operation` header, or a limit marker).
fn operation_of(message: &StreamMessage) -> Operation {
    if let Some(op) = message.headers.get("KV-Operation") {
        return match op.as_str() {
            "DEL" => Operation::Delete,
            "PURGE" => Operation::Purge,
            _ => Operation::Put,
        };
    }
    match message
        .headers
        .get("Nats-Marker-Reason")
        .map(|r| r.as_str())
    {
        Some("MaxAge") | Some("Purge") => Operation::Purge,
        Some("Remove") => Operation::Delete,
        _ => Operation::Put,
    }
}

/// The entry stored at `revision`, which must belong to `key`.
///
/// Done here rather than with `Store::entry_for_revision`, which prints to stdout when the
/// revision belongs to another key.
async fn entry_at_revision(bucket: &Bucket, key: &str, revision: u64) -> Result<Option<Entry>> {
    let stream = &bucket.store.stream;
    let what = format!("cannot read {} > {key} revision {revision}", bucket.name);
    let message = if stream.cached_info().config.allow_direct {
        match stream.direct_get(revision).await {
            Ok(message) => message,
            Err(e) if e.kind() == async_nats::jetstream::stream::DirectGetErrorKind::NotFound => {
                return Ok(None)
            }
            Err(e) => return Err(bucket.failure(&what, e)),
        }
    } else {
        match stream.get_raw_message(revision).await {
            Ok(message) => message,
            Err(e)
                if e.kind()
                    == async_nats::jetstream::stream::LastRawMessageErrorKind::NoMessageFound =>
            {
                return Ok(None)
            }
            Err(e) => return Err(bucket.failure(&what, e)),
        }
    };
    if message.subject.as_str() != format!("{}{key}", bucket.store.prefix) {
        return Ok(None);
    }
    Ok(Some(Entry {
        bucket: bucket.name.clone(),
        key: key.to_string(),
        operation: operation_of(&message),
        value: message.payload,
        revision: message.sequence,
        created: message.time,
        delta: 0,
        seen_current: false,
    }))
}

pub fn missing_key(bucket: &str, key: &str) -> CliError {
    CliError::Unsupported(format!(
        "key {key} not found in bucket {bucket}: list the keys with `weir kv keys {bucket}`"
    ))
}

pub async fn get(global: &Global, args: &GetArgs) -> Result<()> {
    let bucket = Bucket::open(global, &args.bucket).await?;
    let entry = match args.revision {
        Some(revision) => entry_at_revision(&bucket, &args.key, revision)
            .await?
            .ok_or_else(|| {
                CliError::Unsupported(format!(
                    "key {} has no revision {revision} in bucket {}: see `weir kv history {} {}`",
                    args.key, args.bucket, args.bucket, args.key
                ))
            })?,
        None => {
            let entry = bucket.store.entry(&args.key).await.map_err(|e| {
                bucket.failure(&format!("cannot read {} > {}", args.bucket, args.key), e)
            })?;
            match entry {
                None => return Err(missing_key(&args.bucket, &args.key)),
                Some(entry) if entry.operation != Operation::Put => {
                    return Err(CliError::Unsupported(format!(
                        "key {} in bucket {} was {} at revision {}: see `weir kv history {} {}`",
                        args.key,
                        args.bucket,
                        if entry.operation == Operation::Purge {
                            "purged"
                        } else {
                            "deleted"
                        },
                        entry.revision,
                        args.bucket,
                        args.key
                    )))
                }
                Some(entry) => entry,
            }
        }
    };
    if args.raw {
        let mut out = std::io::stdout().lock();
        return out
            .write_all(&entry.value)
            .and_then(|()| out.flush())
            .map_err(|e| CliError::io("cannot write to stdout", e));
    }
    if global.json {
        return print_json(&EntryJson::new(&entry));
    }
    emit(&entry_text(&entry))
}

#[derive(Serialize)]
struct Marked<'a> {
    bucket: &'a str,
    key: &'a str,
    operation: &'static str,
}

pub async fn delete(global: &Global, bucket_name: &str, key: &str) -> Result<()> {
    let bucket = Bucket::open(global, bucket_name).await?;
    bucket
        .store
        .delete(key)
        .await
        .map_err(|e| bucket.failure(&format!("cannot delete {bucket_name} > {key}"), e))?;
    if global.json {
        return print_json(&Marked {
            bucket: bucket_name,
            key,
            operation: "DELETE",
        });
    }
    emit(&format!("Deleted key {key} from bucket {bucket_name}\n"))
}

pub async fn purge(global: &Global, bucket_name: &str, key: &str) -> Result<()> {
    let bucket = Bucket::open(global, bucket_name).await?;
    bucket
        .store
        .purge(key)
        .await
        .map_err(|e| bucket.failure(&format!("cannot purge {bucket_name} > {key}"), e))?;
    if global.json {
        return print_json(&Marked {
            bucket: bucket_name,
            key,
            operation: "PURGE",
        });
    }
    emit(&format!(
        "Purged key {key} and its history from bucket {bucket_name}\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_nats::HeaderMap;

    fn message(headers: &[(&str, &str)]) -> StreamMessage {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, *v);
        }
        StreamMessage {
            subject: "$KV.B.k".into(),
            sequence: 3,
            headers: map,
            payload: Bytes::from_static(b"v"),
            time: async_nats::datetime::from_nanos(0).unwrap(),
        }
    }

    #[test]
    fn operations_come_from_headers_or_markers() {
        assert_eq!(operation_of(&message(&[])), Operation::Put);
        assert_eq!(
            operation_of(&message(&[("KV-Operation", "DEL")])),
            Operation::Delete
        );
        assert_eq!(
            operation_of(&message(&[("KV-Operation", "PURGE")])),
            Operation::Purge
        );
        assert_eq!(
            operation_of(&message(&[("Nats-Marker-Reason", "MaxAge")])),
            Operation::Purge
        );
        assert_eq!(
            operation_of(&message(&[("Nats-Marker-Reason", "Remove")])),
            Operation::Delete
        );
    }

    #[test]
    fn missing_key_names_the_fix() {
        assert_eq!(
            missing_key("ORDERS", "o.9").to_string(),
            "key o.9 not found in bucket ORDERS: list the keys with `weir kv keys ORDERS`"
        );
    }
}
