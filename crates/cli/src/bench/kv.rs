//! `weir bench kv`: Key-Value throughput through the async-nats KV API, as applications use
//! it. `put`: each client puts and awaits every revision; `get`: each client reads keys of a
//! pre-filled bucket (direct get) and awaits every value. `scale` (`kv_scale.rs`): a bucket of
//! a million keys.

use std::sync::Arc;
use std::time::Instant;

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use super::js::api::{prepare_stream, Storage};
use super::progress::Progress;
use super::request::{new_histogram, Latency};
use super::stats::{RoleSummary, Sample};
use super::system::cpu_time;
use super::{split_evenly, BenchCommon};
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{commas, emit, print_json};

#[derive(Debug, clap::Subcommand)]
pub enum KvCommand {
    /// Put values, each client awaiting every put's revision
    Put(KvArgs),
    /// Get values of a pre-filled bucket (direct get), each client awaiting every value
    Get(KvArgs),
    /// A bucket with many keys: fill it, then time puts, gets, the key listing and a
    /// watcher's replay, and report the server's memory per key
    Scale(super::kv_scale::KvScaleArgs),
}

#[derive(Debug, clap::Args)]
pub struct KvArgs {
    /// Bucket to (re)create for the run
    #[arg(long, default_value = "BENCH_KV")]
    pub bucket: String,
    /// Bucket storage
    #[arg(long, value_enum, default_value_t = Storage::File)]
    pub storage: Storage,
    /// Operations in all (split across the clients)
    #[arg(long, default_value_t = 100_000)]
    pub ops: u64,
    /// Concurrent clients, one connection each; each awaits its operations one at a time
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// Value size in bytes
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Distinct keys the operations cycle through
    #[arg(long, default_value_t = 10_000)]
    pub keys: u64,
    /// Values kept per key (the bucket's history)
    #[arg(long, default_value_t = 1)]
    pub history: i64,
    /// The server's process id (same machine): also report its CPU time per operation
    #[arg(long)]
    pub pid: Option<u32>,
    #[command(flatten)]
    pub common: BenchCommon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Put,
    Get,
}

/// What one client is asked to do.
struct ClientPlan {
    op: Op,
    store: kv::Store,
    /// Index of this client's first operation, so clients spread over the keys.
    first: u64,
    count: u64,
    keys: u64,
    value: Bytes,
    start_line: Arc<Barrier>,
    bar: ProgressBar,
}

struct ClientResult {
    sample: Sample,
    done: u64,
    missing: u64,
    errors: u64,
    first_error: Option<String>,
    histogram: Histogram<u64>,
}

/// Machine-readable result of `bench kv put|get`.
#[derive(Debug, Serialize)]
pub struct KvSummary {
    pub bench: &'static str,
    pub server: String,
    pub bucket: String,
    pub storage: Storage,
    pub op: Op,
    pub ops: u64,
    pub clients: usize,
    pub size_bytes: usize,
    pub keys: u64,
    pub history: i64,
    pub clients_summary: RoleSummary,
    pub ops_per_sec: f64,
    /// Call-to-answer time of every operation.
    pub latency: Latency,
    /// The server's CPU time (user and system) per operation while the clients ran
    /// (with `--pid`): its cost per operation, apart from the time spent waiting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_us_per_op: Option<f64>,
    pub completed: u64,
    /// Gets that found no value (a pre-filled key must always be found).
    pub missing: u64,
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    pub complete: bool,
}

pub async fn run(global: &Global, command: &KvCommand) -> Result<()> {
    match command {
        KvCommand::Put(args) => run_ops(global, args, Op::Put).await,
        KvCommand::Get(args) => run_ops(global, args, Op::Get).await,
        KvCommand::Scale(args) => super::kv_scale::run(global, args).await,
    }
}

pub fn validate(args: &KvArgs) -> Result<()> {
    let usage = |m: &str| Err(CliError::Usage(m.to_string()));
    if args.clients == 0 {
        return usage("--clients must be at least 1");
    }
    if args.ops == 0 || args.keys == 0 {
        return usage("--ops and --keys must be at least 1");
    }
    if !(1..=64).contains(&args.history) {
        return usage("--history must be between 1 and 64");
    }
    validate_bucket(&args.bucket)
}

pub fn validate_bucket(bucket: &str) -> Result<()> {
    let valid = !bucket.is_empty()
        && bucket
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(CliError::Usage(
            "--bucket may hold only letters, digits, '_' and '-'".to_string(),
        ))
    }
}

/// Deletes `bucket` if it exists and creates it anew, then opens it. The bucket's stream is
/// made through the stream API with the KV conventions (ADR-8) rather than with
/// `create_key_value`, whose account-info check async-nats 0.51 cannot parse from
/// nats-server 2.9, so the same bench runs against both.
pub async fn recreate_bucket(
    js: &jetstream::Context,
    bucket: &str,
    storage: Storage,
    history: i64,
) -> Result<kv::Store> {
    let config = serde_json::json!({
        "name": format!("KV_{bucket}"),
        "subjects": [format!("$KV.{bucket}.>")],
        "storage": storage.as_str(),
        "retention": "limits",
        "discard": "new",
        "max_msgs_per_subject": history,
        "max_msg_size": -1,
        "num_replicas": 1,
        "allow_rollup_hdrs": true,
        "deny_delete": true,
        "allow_direct": true,
        "duplicate_window": 120_000_000_000u64,
    });
    prepare_stream(&js.client(), &config, false, true).await?;
    js.get_key_value(bucket)
        .await
        .map_err(|e| CliError::nats(format!("opening KV bucket {bucket}"), e))
}

/// The key of operation `i`.
pub fn key_of(i: u64, keys: u64) -> String {
    format!("k{}", i % keys)
}

/// Puts keys `0..count` (the first `count` of `key_of`) with up to `window` puts in flight;
/// not part of any measurement.
pub async fn fill(
    js: &jetstream::Context,
    bucket: &str,
    count: u64,
    value: &Bytes,
    window: usize,
    bar: &ProgressBar,
) -> Result<()> {
    use futures::stream::FuturesUnordered;
    use futures::StreamExt;
    let mut in_flight = FuturesUnordered::new();
    let mut next = 0;
    while next < count || !in_flight.is_empty() {
        if next < count && in_flight.len() < window {
            let subject = format!("$KV.{bucket}.{}", key_of(next, count));
            let ack = js
                .publish(subject, value.clone())
                .await
                .map_err(|e| CliError::nats("filling the bucket", e))?;
            in_flight.push(std::future::IntoFuture::into_future(ack));
            next += 1;
            continue;
        }
        if let Some(acked) = in_flight.next().await {
            acked.map_err(|e| CliError::nats("filling the bucket", e))?;
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    Ok(())
}

async fn client(plan: ClientPlan) -> Result<ClientResult> {
    let mut histogram = new_histogram()?;
    let (mut done, mut missing, mut errors, mut first_error) = (0u64, 0u64, 0u64, None);
    plan.start_line.wait().await;
    let start = Instant::now();
    let mut end = start;
    for i in 0..plan.count {
        let key = key_of(plan.first + i, plan.keys);
        let sent_at = Instant::now();
        let outcome = match plan.op {
            Op::Put => plan
                .store
                .put(&key, plan.value.clone())
                .await
                .map(|_| true)
                .map_err(|e| e.to_string()),
            Op::Get => plan
                .store
                .get(key)
                .await
                .map(|v| v.is_some())
                .map_err(|e| e.to_string()),
        };
        end = Instant::now();
        match outcome {
            Ok(found) => {
                done += 1;
                missing += u64::from(!found);
                let ns = end.saturating_duration_since(sent_at).as_nanos() as u64;
                histogram.saturating_record(ns.max(1));
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert(e);
            }
        }
        if i % 256 == 0 {
            plan.bar.set_position(i);
        }
    }
    plan.bar.finish();
    Ok(ClientResult {
        sample: Sample {
            msgs: done,
            bytes: done * plan.value.len() as u64,
            start,
            end,
        },
        done,
        missing,
        errors,
        first_error,
        histogram,
    })
}

async fn run_ops(global: &Global, args: &KvArgs, op: Op) -> Result<()> {
    validate(args)?;
    let quiet = global.json;
    let progress = Progress::new(!quiet && !args.common.no_progress);
    let admin = global.connect("weir-bench-kv-admin").await?;
    let js = jetstream::new(admin);
    recreate_bucket(&js, &args.bucket, args.storage, args.history).await?;
    let value = Bytes::from(vec![b'v'; args.size]);
    if op == Op::Get {
        let bar = progress.bar("fill", args.keys);
        fill(&js, &args.bucket, args.keys, &value, 256, &bar).await?;
    }
    if !quiet {
        progress.log(format!(
            "Starting KV {} benchmark [bucket={} ({} storage, history {}), ops={}, clients={}, value={} B, keys={}]",
            op_name(op),
            args.bucket,
            args.storage.as_str(),
            args.history,
            commas(args.ops),
            args.clients,
            args.size,
            commas(args.keys),
        ));
    }
    let start_line = Arc::new(Barrier::new(args.clients));
    let mut tasks = JoinSet::new();
    let mut first = 0;
    for (i, count) in split_evenly(args.ops, args.clients).into_iter().enumerate() {
        let conn = global.connect(&format!("weir-bench-kv-{}", i + 1)).await?;
        let store = jetstream::new(conn)
            .get_key_value(&args.bucket)
            .await
            .map_err(|e| CliError::nats(format!("opening KV bucket {}", args.bucket), e))?;
        tasks.spawn(client(ClientPlan {
            op,
            store,
            first,
            count,
            keys: args.keys,
            value: value.clone(),
            start_line: start_line.clone(),
            bar: progress.bar(&format!("{} #{}", op_name(op), i + 1), count),
        }));
        first += count;
    }
    let cpu_before = args.pid.map(cpu_time).transpose()?;
    let mut histogram = new_histogram()?;
    let mut samples = Vec::new();
    let (mut completed, mut missing, mut errors, mut first_error) = (0, 0, 0, None);
    while let Some(joined) = tasks.join_next().await {
        let result = joined.map_err(|e| CliError::BenchIncomplete(format!("KV client: {e}")))??;
        histogram
            .add(&result.histogram)
            .map_err(|e| CliError::BenchIncomplete(format!("merging histograms: {e}")))?;
        samples.push(result.sample);
        completed += result.done;
        missing += result.missing;
        errors += result.errors;
        first_error = first_error.or(result.first_error);
    }
    let server_cpu_us_per_op = match (args.pid, cpu_before) {
        (Some(pid), Some(before)) if completed > 0 => {
            let used = cpu_time(pid)?.saturating_sub(before);
            Some(used.as_secs_f64() * 1e6 / completed as f64)
        }
        _ => None,
    };
    let clients_summary = RoleSummary::of(&samples);
    let summary = KvSummary {
        bench: match op {
            Op::Put => "kv-put",
            Op::Get => "kv-get",
        },
        server: global.server.clone(),
        bucket: args.bucket.clone(),
        storage: args.storage,
        op,
        ops: args.ops,
        clients: args.clients,
        size_bytes: args.size,
        keys: args.keys,
        history: args.history,
        ops_per_sec: clients_summary.rate.msgs_per_sec,
        clients_summary,
        latency: Latency::of(&histogram),
        server_cpu_us_per_op,
        completed,
        missing,
        errors,
        first_error,
        complete: completed == args.ops && missing == 0 && errors == 0,
    };
    if quiet {
        print_json(&summary)?;
    } else {
        progress.finish();
        emit(&render(&summary, args.common.verbose))?;
    }
    if summary.complete {
        return Ok(());
    }
    Err(CliError::BenchIncomplete(format!(
        "{} of {} operations completed ({} errors, {} gets found nothing{})",
        commas(completed),
        commas(args.ops),
        commas(errors),
        commas(missing),
        summary
            .first_error
            .as_deref()
            .map(|e| format!("; first error: {e}"))
            .unwrap_or_default()
    )))
}

fn op_name(op: Op) -> &'static str {
    match op {
        Op::Put => "put",
        Op::Get => "get",
    }
}

fn render(summary: &KvSummary, verbose: bool) -> String {
    let mut out = format!(
        "\nKV {} stats: {} ops/sec ({} storage, {} client{}, {} B values, {} keys)\n",
        op_name(summary.op),
        commas(summary.ops_per_sec.round() as u64),
        summary.storage.as_str(),
        summary.clients,
        if summary.clients == 1 { "" } else { "s" },
        summary.size_bytes,
        commas(summary.keys),
    );
    out.push_str(&summary.clients_summary.render("Client", verbose));
    let l = &summary.latency;
    out.push_str(&format!(
        " Latency: p50 {:.1} µs | p90 {:.1} µs | p99 {:.1} µs | p99.9 {:.1} µs | max {:.1} µs\n",
        l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us
    ));
    if let Some(cpu_us) = summary.server_cpu_us_per_op {
        out.push_str(&format!(" Server CPU: {cpu_us:.1} µs per operation\n"));
    }
    if !summary.complete {
        out.push_str(&format!(
            " INCOMPLETE: {} of {} done, {} errors, {} not found\n",
            commas(summary.completed),
            commas(summary.ops),
            commas(summary.errors),
            commas(summary.missing)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(subcommand)]
        command: KvCommand,
    }

    fn parse(args: &[&str]) -> std::result::Result<KvCommand, clap::Error> {
        Ok(Wrapper::try_parse_from([&["kv"], args].concat())?.command)
    }

    #[test]
    fn flags_parse_with_defaults_and_bad_ones_are_refused() {
        let KvCommand::Put(args) = parse(&["put"]).unwrap() else {
            panic!("not put");
        };
        assert_eq!(
            (args.bucket.as_str(), args.ops, args.clients, args.keys),
            ("BENCH_KV", 100_000, 1, 10_000)
        );
        assert!(validate(&args).is_ok());
        let KvCommand::Get(args) = parse(&[
            "get",
            "--clients",
            "8",
            "--storage",
            "memory",
            "--size",
            "16",
        ])
        .unwrap() else {
            panic!("not get");
        };
        assert_eq!(
            (args.clients, args.storage, args.size),
            (8, Storage::Memory, 16)
        );
        for bad in [
            &["put", "--clients", "0"][..],
            &["put", "--keys", "0"][..],
            &["put", "--history", "65"][..],
            &["put", "--bucket", "a.b"][..],
        ] {
            let (KvCommand::Put(args) | KvCommand::Get(args)) = parse(bad).unwrap() else {
                panic!("{bad:?}");
            };
            assert!(
                matches!(validate(&args), Err(CliError::Usage(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn keys_cycle() {
        assert_eq!(key_of(0, 3), "k0");
        assert_eq!(key_of(4, 3), "k1");
    }
}
