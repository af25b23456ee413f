//! `weir bench request`: concurrent requesters against an internal (or external) replier,
//! every round trip recorded in an HDR histogram.

use std::time::Instant;

use async_nats::{Client, RequestErrorKind, Subject};
use bytes::Bytes;
use futures::StreamExt;
use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::task::JoinSet;

use super::progress::{Progress, UPDATE_EVERY};
use super::stats::{span_secs, Rate, Sample};
use super::{split_evenly, BenchCommon};
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{commas, emit, log, print_json};

#[derive(Debug, clap::Args)]
pub struct RequestArgs {
    /// Subject to send requests to
    pub subject: String,
    /// Number of concurrent requesters (one connection each)
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// Total number of requests, split across the requesters
    #[arg(long, default_value_t = 10_000)]
    pub msgs: u64,
    /// Request payload size in bytes
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Do not start the internal replier; use one already listening (e.g. `weir reply SUBJ --echo`)
    #[arg(long)]
    pub no_reply: bool,
    /// Unrecorded warm-up requests per requester
    #[arg(long, default_value_t = 100)]
    pub warmup: u64,
    #[command(flatten)]
    pub common: BenchCommon,
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub min_us: f64,
    pub mean_us: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub p999_us: f64,
    pub max_us: f64,
}

impl Latency {
    pub fn of(hist: &Histogram<u64>) -> Latency {
        let us = |ns: u64| ns as f64 / 1e3;
        Latency {
            min_us: us(hist.min()),
            mean_us: hist.mean() / 1e3,
            p50_us: us(hist.value_at_quantile(0.50)),
            p90_us: us(hist.value_at_quantile(0.90)),
            p99_us: us(hist.value_at_quantile(0.99)),
            p999_us: us(hist.value_at_quantile(0.999)),
            max_us: us(hist.max()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RequestSummary {
    pub bench: &'static str,
    pub server: String,
    pub subject: String,
    pub clients: usize,
    pub msgs: u64,
    pub size_bytes: usize,
    pub completed: u64,
    pub errors: u64,
    pub elapsed_ms: f64,
    pub requests_per_sec: f64,
    pub latency: Latency,
    pub complete: bool,
}

pub fn new_histogram() -> Result<Histogram<u64>> {
    // 1 ns .. 1 hour at 3 significant figures.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3)
        .map_err(|e| CliError::Usage(format!("cannot create the latency histogram: {e}")))
}

/// Answers every request with its own payload until the subscription ends.
async fn start_replier(global: &Global, subject: &str) -> Result<Client> {
    let options = global
        .options("weir-bench-replier")
        .subscription_capacity(1 << 20);
    let client = global.connect_with(options).await?;
    let mut subscriber = client
        .subscribe(subject.to_string())
        .await
        .map_err(|e| CliError::nats(format!("cannot subscribe to {subject:?}"), e))?;
    client
        .flush()
        .await
        .map_err(|e| CliError::nats("cannot register the replier", e))?;
    let replier = client.clone();
    tokio::spawn(async move {
        while let Some(msg) = subscriber.next().await {
            if let Some(reply) = msg.reply {
                if replier.publish(reply, msg.payload).await.is_err() {
                    break;
                }
            }
        }
    });
    Ok(client)
}

fn no_responders(subject: &Subject) -> CliError {
    CliError::NoResponders {
        subject: subject.to_string(),
        hint: format!(
            " — start one with `weir reply {subject} --echo`, or drop --no-reply to use the built-in replier"
        ),
    }
}

struct RequesterResult {
    sample: Sample,
    histogram: Histogram<u64>,
    errors: u64,
}

async fn run_requester(
    client: Client,
    subject: Subject,
    payload: Bytes,
    count: u64,
    warmup: u64,
    bar: ProgressBar,
) -> Result<RequesterResult> {
    let mut histogram = new_histogram()?;
    for _ in 0..warmup {
        if let Err(e) = client.request(subject.clone(), payload.clone()).await {
            if e.kind() == RequestErrorKind::NoResponders {
                return Err(no_responders(&subject));
            }
        }
    }
    let mut errors = 0u64;
    let start = Instant::now();
    for done in 1..=count {
        let sent_at = Instant::now();
        match client.request(subject.clone(), payload.clone()).await {
            Ok(_) => {
                let rtt_ns = sent_at.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
                histogram.saturating_record(rtt_ns.max(1));
            }
            Err(e) if e.kind() == RequestErrorKind::NoResponders && done == 1 => {
                return Err(no_responders(&subject))
            }
            Err(_) => errors += 1,
        }
        if done.is_multiple_of(UPDATE_EVERY / 16) {
            bar.set_position(done);
        }
    }
    let end = Instant::now();
    bar.finish();
    Ok(RequesterResult {
        sample: Sample {
            msgs: count - errors,
            bytes: (count - errors) * payload.len() as u64,
            start,
            end,
        },
        histogram,
        errors,
    })
}

pub async fn run(global: &Global, args: &RequestArgs) -> Result<()> {
    if args.clients == 0 {
        return Err(CliError::Usage("--clients must be at least 1".to_string()));
    }
    let quiet = global.json;
    let progress = Progress::new(!quiet && !args.common.no_progress);
    if !quiet {
        log(format!(
            "Starting request/reply benchmark [subject={}, msgs={}, msgsize={} B, clients={}, replier={}]",
            args.subject,
            commas(args.msgs),
            args.size,
            args.clients,
            if args.no_reply { "external" } else { "internal" }
        ));
    }
    let _replier = if args.no_reply {
        None
    } else {
        Some(start_replier(global, &args.subject).await?)
    };

    let payload = Bytes::from(vec![b'r'; args.size]);
    let subject = Subject::from(args.subject.as_str());
    let mut tasks = JoinSet::new();
    for (i, count) in split_evenly(args.msgs, args.clients)
        .into_iter()
        .enumerate()
    {
        let options = global
            .options(&format!("weir-bench-req-{}", i + 1))
            .skip_subject_validation(true);
        let client = global.connect_with(options).await?;
        let bar = progress.bar(&format!("req #{}", i + 1), count);
        tasks.spawn(run_requester(
            client,
            subject.clone(),
            payload.clone(),
            count,
            args.warmup,
            bar,
        ));
    }

    let mut histogram = new_histogram()?;
    let mut samples = Vec::new();
    let mut errors = 0u64;
    while let Some(joined) = tasks.join_next().await {
        let result =
            joined.map_err(|e| CliError::BenchIncomplete(format!("requester task: {e}")))??;
        histogram
            .add(&result.histogram)
            .map_err(|e| CliError::BenchIncomplete(format!("merging histograms: {e}")))?;
        samples.push(result.sample);
        errors += result.errors;
    }
    let completed: u64 = samples.iter().map(|s| s.msgs).sum();
    let secs = span_secs(&samples);
    let summary = RequestSummary {
        bench: "request",
        server: global.server.clone(),
        subject: args.subject.clone(),
        clients: args.clients,
        msgs: args.msgs,
        size_bytes: args.size,
        completed,
        errors,
        elapsed_ms: secs * 1e3,
        requests_per_sec: Rate::of(completed, 0, secs).msgs_per_sec,
        latency: Latency::of(&histogram),
        complete: errors == 0,
    };
    if quiet {
        print_json(&summary)?;
    } else {
        progress.finish();
        emit(&render(&summary, args.common.verbose))?;
    }
    if errors > 0 {
        return Err(CliError::BenchIncomplete(format!(
            "{} of {} requests failed (timed out or had no responders)",
            commas(errors),
            commas(args.msgs)
        )));
    }
    Ok(())
}

fn render(summary: &RequestSummary, verbose: bool) -> String {
    let l = &summary.latency;
    let mut out = format!(
        "\nNATS Request/Reply stats: {} requests/sec ({} requests in {:.1} ms, {} clients)\n",
        commas(summary.requests_per_sec.round() as u64),
        commas(summary.completed),
        summary.elapsed_ms,
        summary.clients
    );
    out.push_str(&format!(
        " Latency: p50 {:.1} µs | p90 {:.1} µs | p99 {:.1} µs | p99.9 {:.1} µs | max {:.1} µs\n",
        l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us
    ));
    if verbose {
        out.push_str(&format!(
            " min {:.1} µs | mean {:.1} µs\n",
            l.min_us, l.mean_us
        ));
    }
    if summary.errors > 0 {
        out.push_str(&format!(
            " ERRORS: {} requests failed\n",
            commas(summary.errors)
        ));
    }
    out
}
