//! `weir bench kv scale`: a bucket with many keys (a million by default). Fills it, then
//! times what applications do on a big bucket: single puts and gets of random keys, listing
//! every key, and a watcher replaying the whole bucket until it is current; reports the
//! bucket's size and, with `--pid`, the server's memory per key.

use std::time::Instant;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use futures::StreamExt;
use serde::Serialize;

use super::conns::{footprint, Footprint};
use super::js::api::{stream_state, Storage, StreamState};
use super::kv::{fill, key_of, recreate_bucket, validate_bucket};
use super::progress::Progress;
use super::system::rss_bytes;
use super::BenchCommon;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{commas, emit, human_bytes, print_json};

#[derive(Debug, clap::Args)]
pub struct KvScaleArgs {
    /// Bucket to (re)create for the run
    #[arg(long, default_value = "BENCH_KV_SCALE")]
    pub bucket: String,
    /// Bucket storage
    #[arg(long, value_enum, default_value_t = Storage::File)]
    pub storage: Storage,
    /// Distinct keys the bucket is filled with
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: u64,
    /// Value size in bytes
    #[arg(long, default_value_t = 32)]
    pub size: usize,
    /// Single puts and single gets timed on the full bucket (random keys)
    #[arg(long, default_value_t = 10_000)]
    pub sample: u64,
    /// Puts in flight while filling
    #[arg(long, default_value_t = 1024)]
    pub window: usize,
    /// Server process id: report its resident memory (VmRSS) before and after, per key
    #[arg(long)]
    pub pid: Option<u32>,
    #[command(flatten)]
    pub common: BenchCommon,
}

/// One timed phase.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub count: u64,
    pub secs: f64,
    pub per_sec: f64,
}

impl Phase {
    fn of(count: u64, start: Instant) -> Phase {
        let secs = start.elapsed().as_secs_f64().max(1e-9);
        Phase {
            count,
            secs,
            per_sec: count as f64 / secs,
        }
    }

    fn describe(&self, what: &str) -> String {
        format!(
            "{:<28} {:>12} in {:>7.2} s: {:>10}/s",
            what,
            commas(self.count),
            self.secs,
            commas(self.per_sec.round() as u64)
        )
    }
}

/// Machine-readable result of `bench kv scale`.
#[derive(Debug, Serialize)]
pub struct KvScaleSummary {
    pub bench: &'static str,
    pub server: String,
    pub bucket: String,
    pub storage: Storage,
    pub keys: u64,
    pub size_bytes: usize,
    /// Pipelined puts filling the bucket.
    pub fill: Phase,
    /// Single puts (each awaited) of random existing keys on the full bucket.
    pub put: Phase,
    /// Single gets (each awaited) of random keys on the full bucket.
    pub get: Phase,
    /// `keys()`: every key listed.
    pub keys_listing: Phase,
    /// `watch_with_history(">")`: the watcher's replay of every key until it is current.
    pub watch_replay: Phase,
    pub stream: StreamState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_memory: Option<Footprint>,
    pub complete: bool,
}

/// xorshift64: spreads the sampled keys over the bucket.
fn next_random(state: &mut u64) -> u64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    x
}

/// Times `sample` single puts or gets, each awaited, on a runtime worker: awaited from
/// `block_on`'s thread instead, every reply would also cost a cross-thread wake-up of the
/// client, adding the same ~50 µs to every operation on either server.
async fn single_ops(
    store: &kv::Store,
    args: &KvScaleArgs,
    value: &Bytes,
    put: bool,
) -> Result<Phase> {
    let (store, value) = (store.clone(), value.clone());
    let (keys, sample) = (args.keys, args.sample);
    tokio::spawn(async move { single_ops_here(&store, keys, sample, &value, put).await })
        .await
        .map_err(|e| CliError::BenchIncomplete(format!("KV scale client: {e}")))?
}

async fn single_ops_here(
    store: &kv::Store,
    keys: u64,
    sample: u64,
    value: &Bytes,
    put: bool,
) -> Result<Phase> {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ u64::from(put);
    let start = Instant::now();
    for _ in 0..sample {
        let key = key_of(next_random(&mut rng), keys);
        if put {
            store
                .put(&key, value.clone())
                .await
                .map_err(|e| CliError::nats(format!("put {key}"), e))?;
        } else {
            let found = store
                .get(key.clone())
                .await
                .map_err(|e| CliError::nats(format!("get {key}"), e))?;
            if found.is_none() {
                return Err(CliError::BenchIncomplete(format!(
                    "key {key} of the filled bucket was not found"
                )));
            }
        }
    }
    Ok(Phase::of(sample, start))
}

pub async fn run(global: &Global, args: &KvScaleArgs) -> Result<()> {
    validate_bucket(&args.bucket)?;
    if args.keys == 0 || args.sample == 0 || args.window == 0 {
        return Err(CliError::Usage(
            "--keys, --sample and --window must be at least 1".to_string(),
        ));
    }
    let quiet = global.json;
    let progress = Progress::new(!quiet && !args.common.no_progress);
    let conn = global.connect("weir-bench-kv-scale").await?;
    let js = jetstream::new(conn);
    let store = recreate_bucket(&js, &args.bucket, args.storage, 1).await?;
    let rss_before = args.pid.map(rss_bytes).transpose()?;
    let value = Bytes::from(vec![b'v'; args.size]);
    if !quiet {
        progress.log(format!(
            "Starting KV scale benchmark [bucket={} ({} storage), keys={}, value={} B]",
            args.bucket,
            args.storage.as_str(),
            commas(args.keys),
            args.size
        ));
    }

    let start = Instant::now();
    let bar = progress.bar("fill", args.keys);
    fill(&js, &args.bucket, args.keys, &value, args.window, &bar).await?;
    let fill_phase = Phase::of(args.keys, start);
    let server_memory = match (args.pid, rss_before) {
        (Some(pid), Some(before)) => Some(footprint(pid, before, args.keys).await?),
        _ => None,
    };
    let put = single_ops(&store, args, &value, true).await?;
    let get = single_ops(&store, args, &value, false).await?;

    let start = Instant::now();
    let mut keys = store
        .keys()
        .await
        .map_err(|e| CliError::nats("listing keys", e))?;
    let mut listed = 0u64;
    let bar = progress.bar("keys", args.keys);
    while let Some(key) = keys.next().await {
        key.map_err(|e| CliError::nats("listing keys", e))?;
        listed += 1;
        if listed.is_multiple_of(4096) {
            bar.set_position(listed);
        }
    }
    bar.finish_and_clear();
    let keys_listing = Phase::of(listed, start);

    let start = Instant::now();
    // With history: the watcher first gets the latest value of every key (plain `watch_all`
    // only sees new puts).
    let mut watch = store
        .watch_with_history(">")
        .await
        .map_err(|e| CliError::nats("watching the bucket", e))?;
    let mut replayed = 0u64;
    let bar = progress.bar("watch", args.keys);
    while let Some(entry) = watch.next().await {
        let entry = entry.map_err(|e| CliError::nats("watching the bucket", e))?;
        replayed += 1;
        if replayed.is_multiple_of(4096) {
            bar.set_position(replayed);
        }
        if entry.delta == 0 {
            break;
        }
    }
    bar.finish_and_clear();
    let watch_replay = Phase::of(replayed, start);

    let stream = stream_state(&js.client(), &format!("KV_{}", args.bucket)).await?;
    let summary = KvScaleSummary {
        bench: "kv-scale",
        server: global.server.clone(),
        bucket: args.bucket.clone(),
        storage: args.storage,
        keys: args.keys,
        size_bytes: args.size,
        fill: fill_phase,
        put,
        get,
        complete: listed == args.keys && replayed == args.keys && stream.messages == args.keys,
        keys_listing,
        watch_replay,
        stream,
        server_memory,
    };
    if quiet {
        print_json(&summary)?;
    } else {
        progress.finish();
        emit(&render(&summary))?;
    }
    if summary.complete {
        return Ok(());
    }
    Err(CliError::BenchIncomplete(format!(
        "{} keys listed and {} replayed by the watcher, {} messages in the bucket; {} expected",
        commas(listed),
        commas(replayed),
        commas(summary.stream.messages),
        commas(args.keys)
    )))
}

fn render(s: &KvScaleSummary) -> String {
    let mut out = format!(
        "\nKV scale: bucket {} ({} storage), {} keys of {} B values, {} stored\n",
        s.bucket,
        s.storage.as_str(),
        commas(s.keys),
        s.size_bytes,
        human_bytes(s.stream.bytes)
    );
    for (what, phase) in [
        ("Fill (pipelined puts)", &s.fill),
        ("Put (one at a time)", &s.put),
        ("Get (one at a time)", &s.get),
        ("Keys listing", &s.keys_listing),
        ("Watch replay until current", &s.watch_replay),
    ] {
        out.push_str(&format!(" {}\n", phase.describe(what)));
    }
    if let Some(memory) = &s.server_memory {
        out.push_str(&format!(" {}\n", memory.describe("key")));
    }
    if !s.complete {
        out.push_str(" INCOMPLETE: see the error below\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_keys_spread_over_the_bucket() {
        let mut rng = 1;
        let keys: std::collections::BTreeSet<u64> =
            (0..1000).map(|_| next_random(&mut rng) % 100).collect();
        assert!(keys.len() > 90, "{} distinct of 100", keys.len());
    }

    #[test]
    fn phase_rates() {
        let p = Phase {
            count: 10,
            secs: 2.0,
            per_sec: 5.0,
        };
        assert!(p.describe("x").contains("5/s"), "{}", p.describe("x"));
    }
}
