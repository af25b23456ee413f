//! `weir kv` verbs that read through a consumer: history, keys and watch.

use async_nats::jetstream::kv::{Entry, Operation};
use futures::StreamExt;

use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::kv::args::WatchArgs;
use crate::kv::entries::{missing_key, Bucket};
use crate::kv::js::next_within;
use crate::kv::render::{history_table, watch_line, EntryJson};
use crate::output::{emit, log, print_json};

pub async fn history(global: &Global, bucket_name: &str, key: &str) -> Result<()> {
    let bucket = Bucket::open(global, bucket_name).await?;
    let what = format!("cannot read the history of {bucket_name} > {key}");
    let mut entries = bucket
        .store
        .history(key)
        .await
        .map_err(|e| bucket.failure(&what, e))?;
    let mut history: Vec<Entry> = Vec::new();
    while let Some(entry) = next_within(&mut entries, global.timeout, &what).await? {
        history.push(entry.map_err(|e| bucket.failure(&what, e))?);
    }
    if history.is_empty() {
        return Err(missing_key(bucket_name, key));
    }
    if global.json {
        return print_json(&history.iter().map(EntryJson::new).collect::<Vec<_>>());
    }
    emit(&history_table(bucket_name, key, &history))
}

/// Whether `key` matches `filter`, token by token: `*` matches one token, a final `>` the rest.
pub fn key_matches(filter: &str, key: &str) -> bool {
    let mut keys = key.split('.');
    for token in filter.split('.') {
        match (token, keys.next()) {
            (">", Some(_)) => return true,
            ("*", Some(_)) => {}
            (token, Some(key)) if token == key => {}
            _ => return false,
        }
    }
    keys.next().is_none()
}

pub async fn keys(global: &Global, bucket_name: &str, filters: &[String]) -> Result<()> {
    let bucket = Bucket::open(global, bucket_name).await?;
    let what = format!("cannot list the keys of bucket {bucket_name}");
    // Filtered here rather than by the server: multi-filter consumers need nats-server 2.10.
    let mut listing = bucket
        .store
        .keys()
        .await
        .map_err(|e| bucket.failure(&what, e))?;
    let mut keys = Vec::new();
    while let Some(key) = next_within(&mut listing, global.timeout, &what).await? {
        let key = key.map_err(|e| bucket.failure(&what, e))?;
        if filters.is_empty() || filters.iter().any(|f| key_matches(f, &key)) {
            keys.push(key);
        }
    }
    keys.sort();
    if global.json {
        return print_json(&keys);
    }
    if keys.is_empty() {
        return emit("No keys found in bucket\n");
    }
    emit(&keys.iter().map(|k| format!("{k}\n")).collect::<String>())
}

pub async fn watch(global: &Global, args: &WatchArgs) -> Result<()> {
    let bucket = Bucket::open(global, &args.bucket).await?;
    let store = &bucket.store;
    let what = format!("cannot watch {} > {}", args.bucket, args.key);
    let watcher = match (args.history, args.updates, args.revision) {
        (true, _, _) => store.watch_from_revision(&args.key, 1).await,
        (_, true, _) => store.watch(&args.key).await,
        (_, _, Some(revision)) => store.watch_from_revision(&args.key, revision).await,
        _ => store.watch_with_history(&args.key).await,
    };
    let mut watcher = watcher.map_err(|e| bucket.failure(&what, e))?;
    log(format!(
        "Watching bucket {} for changes to {}",
        args.bucket, args.key
    ));
    let mut shown = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while args.count == 0 || shown < args.count {
        let entry = tokio::select! {
            entry = watcher.next() => match entry {
                Some(entry) => entry.map_err(|e| bucket.failure(&what, e))?,
                None => return Err(CliError::Protocol {
                    url: global.server.clone(),
                    message: "the watch was closed by the server".to_string(),
                }),
            },
            _ = &mut ctrl_c => break,
        };
        if args.no_deletes && entry.operation != Operation::Put {
            continue;
        }
        shown += 1;
        if global.json {
            let line = serde_json::to_string(&EntryJson::new(&entry))
                .map_err(|e| CliError::Usage(format!("cannot encode JSON output: {e}")))?;
            emit(&format!("{line}\n"))?;
        } else {
            emit(&watch_line(&entry))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_match_token_by_token() {
        assert!(key_matches(">", "a"));
        assert!(key_matches(">", "a.b.c"));
        assert!(key_matches("orders.*", "orders.1"));
        assert!(!key_matches("orders.*", "orders.1.x"));
        assert!(!key_matches("orders.*", "orders"));
        assert!(key_matches("orders.>", "orders.1.x"));
        assert!(!key_matches("orders.>", "orders"));
        assert!(key_matches("a.*.c", "a.b.c"));
        assert!(!key_matches("a.*.c", "a.b.d"));
        assert!(key_matches("exact", "exact"));
        assert!(!key_matches("exact", "exactly"));
    }
}
