//! `weir bench pubsub`: N publishers split the messages, M subscribers each receive all of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use indicatif::ProgressBar;
use serde::Serialize;
use tokio::sync::{watch, Barrier};
use tokio::task::JoinSet;

use super::progress::Progress;
use super::stats::{span_secs, Rate, RoleSummary, Sample};
use super::{natsclient, rawclient, split_evenly, BenchCommon};
use crate::args::parse_duration;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{commas, emit, print_json};

#[derive(Debug, clap::Args)]
pub struct PubSubArgs {
    /// Subject to publish and subscribe on
    pub subject: String,
    /// Number of concurrent publishers (they split --msgs)
    #[arg(long = "pub", default_value_t = 1)]
    pub pubs: usize,
    /// Number of concurrent subscribers (each expects all --msgs)
    #[arg(long = "sub", default_value_t = 0)]
    pub subs: usize,
    /// Number of messages to publish
    #[arg(long, default_value_t = 100_000)]
    pub msgs: u64,
    /// Message payload size in bytes
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Client implementation: the official async-nats client, or a minimal raw-protocol
    /// client that keeps the client from being the bottleneck
    #[arg(long, value_enum, default_value_t = ClientKind::Nats)]
    pub client: ClientKind,
    /// Give up on a subscriber after this long without a message once the publishers are done
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub sub_timeout: Duration,
    #[command(flatten)]
    pub common: BenchCommon,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientKind {
    /// async-nats
    Nats,
    /// raw NATS protocol over TCP
    Raw,
}

/// What one subscriber is asked to do.
pub struct SubPlan {
    pub id: usize,
    pub subject: String,
    /// Messages it should receive.
    pub expected: u64,
    /// Give up after this long without a message once the publishers are done.
    pub idle: Duration,
    pub pubs_done: watch::Receiver<bool>,
    pub bar: ProgressBar,
}

/// What one publisher is asked to do.
pub struct PubPlan {
    pub id: usize,
    pub subject: String,
    pub size: usize,
    pub count: u64,
    /// All publishers start together.
    pub start_line: Arc<Barrier>,
    pub bar: ProgressBar,
}

/// What one subscriber received.
pub struct SubResult {
    pub sample: Option<Sample>,
    pub received: u64,
}

/// Machine-readable result of `bench pubsub`.
#[derive(Debug, Serialize)]
pub struct PubSubSummary {
    pub bench: &'static str,
    pub server: String,
    pub subject: String,
    pub client: ClientKind,
    pub msgs: u64,
    pub size_bytes: usize,
    pub pubs: usize,
    pub subs: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overall: Option<Rate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publishers: Option<RoleSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscribers: Option<RoleSummary>,
    /// Messages each subscriber should have received.
    pub expected_per_sub: u64,
    pub received_msgs: u64,
    pub lost_msgs: u64,
    pub slow_consumer_events: u64,
    pub complete: bool,
}

pub async fn run(global: &Global, args: &PubSubArgs) -> Result<()> {
    if args.pubs == 0 && args.subs == 0 {
        return Err(CliError::Usage(
            "nothing to do: give --pub N and/or --sub M".to_string(),
        ));
    }
    let quiet = global.json;
    let progress = Progress::new(!quiet && !args.common.no_progress);
    let slow_consumers = Arc::new(AtomicU64::new(0));
    if !quiet {
        progress.log(format!(
            "Starting Core NATS pub/sub benchmark [subject={}, client={}, msgs={}, msgsize={} B, pubs={}, subs={}]",
            args.subject,
            match args.client {
                ClientKind::Nats => "async-nats",
                ClientKind::Raw => "raw",
            },
            commas(args.msgs),
            args.size,
            args.pubs,
            args.subs
        ));
    }

    // Subscribers first: each is registered (flushed) before any publisher starts.
    let (done_tx, done_rx) = watch::channel(false);
    let mut sub_tasks = JoinSet::new();
    for i in 0..args.subs {
        let plan = SubPlan {
            id: i + 1,
            subject: args.subject.clone(),
            expected: args.msgs,
            idle: args.sub_timeout,
            pubs_done: done_rx.clone(),
            bar: progress.bar(&format!("sub #{}", i + 1), args.msgs),
        };
        match args.client {
            ClientKind::Nats => sub_tasks
                .spawn(natsclient::start_subscriber(global, plan, slow_consumers.clone()).await?),
            ClientKind::Raw => sub_tasks.spawn(rawclient::start_subscriber(global, plan).await?),
        };
        if !quiet {
            progress.log(format!(
                "Starting subscriber, expecting {} messages",
                commas(args.msgs)
            ));
        }
    }

    let start_line = Arc::new(Barrier::new(args.pubs));
    let mut pub_tasks = JoinSet::new();
    for (i, count) in split_evenly(args.msgs, args.pubs).into_iter().enumerate() {
        let plan = PubPlan {
            id: i + 1,
            subject: args.subject.clone(),
            size: args.size,
            count,
            start_line: start_line.clone(),
            bar: progress.bar(&format!("pub #{}", i + 1), count),
        };
        match args.client {
            ClientKind::Nats => pub_tasks.spawn(natsclient::start_publisher(global, plan).await?),
            ClientKind::Raw => pub_tasks.spawn(rawclient::start_publisher(global, plan).await?),
        };
        if !quiet {
            progress.log(format!(
                "Starting publisher, publishing {} messages",
                commas(count)
            ));
        }
    }

    let mut pub_samples = Vec::new();
    let mut pub_error = None;
    while let Some(joined) = pub_tasks.join_next().await {
        match joined {
            Ok(Ok(sample)) => pub_samples.push(sample),
            Ok(Err(e)) => pub_error = Some(e),
            Err(e) => pub_error = Some(CliError::BenchIncomplete(format!("publisher task: {e}"))),
        }
    }
    let _ = done_tx.send(true);
    let mut sub_samples = Vec::new();
    let mut received_msgs = 0u64;
    let mut lost_msgs = 0u64;
    while let Some(joined) = sub_tasks.join_next().await {
        let result =
            joined.map_err(|e| CliError::BenchIncomplete(format!("subscriber task: {e}")))?;
        received_msgs += result.received;
        lost_msgs += args.msgs.saturating_sub(result.received);
        if let Some(sample) = result.sample {
            sub_samples.push(sample);
        }
    }
    if let Some(err) = pub_error {
        return Err(err);
    }

    let all: Vec<Sample> = pub_samples.iter().chain(&sub_samples).copied().collect();
    let summary = PubSubSummary {
        bench: "pubsub",
        server: global.server.clone(),
        subject: args.subject.clone(),
        client: args.client,
        msgs: args.msgs,
        size_bytes: args.size,
        pubs: args.pubs,
        subs: args.subs,
        overall: (args.pubs > 0 && args.subs > 0).then(|| {
            let msgs = all.iter().map(|s| s.msgs).sum();
            let bytes = all.iter().map(|s| s.bytes).sum();
            Rate::of(msgs, bytes, span_secs(&all))
        }),
        publishers: (args.pubs > 0).then(|| RoleSummary::of(&pub_samples)),
        subscribers: (args.subs > 0).then(|| RoleSummary::of(&sub_samples)),
        expected_per_sub: args.msgs,
        received_msgs,
        lost_msgs,
        slow_consumer_events: slow_consumers.load(Ordering::Relaxed),
        complete: lost_msgs == 0,
    };
    if quiet {
        print_json(&summary)?;
    } else {
        progress.finish();
        emit(&render(&summary, args.common.verbose))?;
    }
    if summary.complete {
        Ok(())
    } else {
        Err(CliError::BenchIncomplete(format!(
            "subscribers lost {} of {} messages",
            commas(lost_msgs),
            commas(args.msgs * args.subs as u64)
        )))
    }
}

fn render(summary: &PubSubSummary, verbose: bool) -> String {
    let mut out = String::from("\n");
    if let Some(overall) = &summary.overall {
        out.push_str(&format!("NATS Pub/Sub stats: {}\n", overall.describe()));
    }
    if let Some(publishers) = &summary.publishers {
        out.push_str(&publishers.render("Pub", verbose));
    }
    if let Some(subscribers) = &summary.subscribers {
        out.push_str(&subscribers.render("Sub", verbose));
    }
    if !summary.complete {
        out.push_str(&format!(
            " LOSS: subscribers received {} of {} expected messages ({} lost, {} slow-consumer events)\n",
            commas(summary.received_msgs),
            commas(summary.expected_per_sub * summary.subs as u64),
            commas(summary.lost_msgs),
            summary.slow_consumer_events
        ));
    }
    out
}
