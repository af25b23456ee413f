//! `weir bench js`: JetStream benchmarks. `pub` (this file): acknowledged publishing into one
//! stream; `fetch`, `push`, `ordered` and `filtered` (`consumers.rs`, `filtered.rs`): consumers
//! draining a pre-filled stream.
//!
//! `bench js pub`:
//! Creates (or recreates, or purges) the stream, runs P publishers that split N messages,
//! each awaiting every PubAck (`--mode sync`) or keeping up to W unanswered (`--mode async`),
//! then checks with `$JS.API.STREAM.INFO` that the stream gained exactly N messages.

pub mod ack;
pub mod api;
pub mod consume;
pub mod consumer_api;
pub mod consumers;
pub mod delivery;
pub mod filtered;
pub mod natsconsume;
pub mod natspub;
pub mod rawconsume;
pub mod rawpub;
pub mod subjects;

use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use self::api::{Storage, StreamState};
pub use self::subjects::SubjectPattern;
use super::conns::{footprint, Footprint};
use super::progress::Progress;
use super::pubsub::ClientKind;
use super::request::{new_histogram, Latency};
use super::stats::{RoleSummary, Sample};
use super::system::rss_bytes;
use super::{split_evenly, BenchCommon};
use crate::args::parse_duration;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{commas, emit, print_json};

#[derive(Debug, clap::Subcommand)]
pub enum JsCommand {
    /// Publish into a stream and count the PubAcks
    Pub(JsPubArgs),
    /// Drain a pre-filled stream with a durable pull consumer's fetch batches
    Fetch(consumers::FetchArgs),
    /// Drain a pre-filled stream with a durable pull consumer's continuous pull (async-nats
    /// `messages()`, the client's "consume" API)
    Consume(consumers::FetchArgs),
    /// Drain a pre-filled stream with a durable push consumer
    Push(consumers::PushArgs),
    /// Replay a pre-filled stream with an async-nats ordered consumer
    Ordered(consumers::OrderedArgs),
    /// A consumer filtered to one subject among many vs an unfiltered one, same stream
    Filtered(filtered::FilteredArgs),
    /// Key-Value benchmarks (the same as `weir bench kv`)
    Kv {
        #[command(subcommand)]
        command: super::kv::KvCommand,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Await every ack before the next publish
    Sync,
    /// Keep up to --window publishes unacknowledged
    Async,
}

#[derive(Debug, clap::Args)]
pub struct JsPubArgs {
    /// Subject to publish to (with --subjects K: SUBJECT.<i % K>)
    pub subject: String,
    /// Stream to create on the subject
    #[arg(long, default_value = "BENCH")]
    pub stream: String,
    /// Stream storage
    #[arg(long, value_enum, default_value_t = Storage::File)]
    pub storage: Storage,
    /// Number of messages to publish (split across the publishers)
    #[arg(long, default_value_t = 100_000)]
    pub msgs: u64,
    /// Message payload size in bytes
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// sync: await each ack; async: keep up to --window in flight per publisher
    #[arg(long, value_enum, default_value_t = Mode::Async)]
    pub mode: Mode,
    /// Unacknowledged publishes per publisher in async mode
    #[arg(long, default_value_t = 256)]
    pub window: usize,
    /// Number of concurrent publishers (one connection each)
    #[arg(long, alias = "pub", default_value_t = 1)]
    pub pubs: usize,
    /// Spread the messages over K subjects SUBJECT.<i % K> (0: publish to SUBJECT itself)
    #[arg(long, default_value_t = 0)]
    pub subjects: u64,
    /// Purge the stream before publishing
    #[arg(long, conflicts_with = "recreate")]
    pub purge: bool,
    /// Delete and create the stream before publishing
    #[arg(long)]
    pub recreate: bool,
    /// Client implementation: async-nats, or a raw-protocol pipelining publisher
    #[arg(long, value_enum, default_value_t = ClientKind::Nats)]
    pub client: ClientKind,
    /// Give up when no ack arrives for this long
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub ack_timeout: Duration,
    /// Server process id: report its resident memory (VmRSS) before and after, per stored message
    #[arg(long)]
    pub pid: Option<u32>,
    /// The body of every message instead of `--size` filler bytes: for example a JSON event
    /// that the subject's enforced schema accepts
    #[arg(long)]
    pub payload: Option<String>,
    #[command(flatten)]
    pub common: BenchCommon,
}

/// `size` filler bytes: the default message body.
pub fn filler(size: usize) -> bytes::Bytes {
    bytes::Bytes::from(vec![b'j'; size])
}

/// What one publisher is asked to do.
pub struct JsPlan {
    pub id: usize,
    pub subjects: SubjectPattern,
    /// Global index of this publisher's first message (picks its subjects).
    pub first_index: u64,
    pub count: u64,
    /// The body of every message.
    pub payload: bytes::Bytes,
    pub mode: Mode,
    /// Unanswered publishes allowed (1 in sync mode).
    pub window: usize,
    pub ack_timeout: Duration,
    pub start_line: Arc<Barrier>,
    pub bar: ProgressBar,
}

/// What one publisher measured.
pub struct JsPubResult {
    pub sample: Sample,
    pub acked: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub histogram: Histogram<u64>,
}

/// Machine-readable result of `bench js pub`.
#[derive(Debug, Serialize)]
pub struct JsPubSummary {
    pub bench: &'static str,
    pub server: String,
    pub subject: String,
    pub stream: String,
    pub storage: Storage,
    pub mode: Mode,
    pub client: ClientKind,
    pub msgs: u64,
    pub size_bytes: usize,
    pub pubs: usize,
    pub window: usize,
    pub subjects: u64,
    pub publishers: RoleSummary,
    pub acked_msgs: u64,
    pub ack_errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Publish-to-ack time of every acknowledged message.
    pub ack_latency: Latency,
    pub stream_before: StreamState,
    pub stream_after: StreamState,
    /// Messages the stream gained during the run.
    pub stored_msgs: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_memory: Option<Footprint>,
    pub complete: bool,
}

/// Checks the flags that clap cannot.
pub fn validate(args: &JsPubArgs) -> Result<()> {
    let usage = |m: &str| Err(CliError::Usage(m.to_string()));
    if args.pubs == 0 {
        return usage("--pubs must be at least 1");
    }
    if args.window == 0 {
        return usage("--window must be at least 1");
    }
    if args.msgs == 0 {
        return usage("--msgs must be at least 1");
    }
    if args.subject.is_empty()
        || args
            .subject
            .contains(|c: char| c.is_whitespace() || c == '*' || c == '>')
    {
        return usage("SUBJECT must be a literal subject without spaces or wildcards");
    }
    if args.stream.is_empty()
        || args
            .stream
            .contains(|c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
    {
        return usage("--stream must be a name without spaces, '.', '*', '>' or slashes");
    }
    Ok(())
}

pub async fn run(global: &Global, command: &JsCommand) -> Result<()> {
    match command {
        JsCommand::Pub(args) => run_pub(global, args).await,
        JsCommand::Fetch(args) => consumers::run_fetch(global, args).await,
        JsCommand::Consume(args) => consumers::run_consume(global, args).await,
        JsCommand::Push(args) => consumers::run_push(global, args).await,
        JsCommand::Ordered(args) => consumers::run_ordered(global, args).await,
        JsCommand::Filtered(args) => filtered::run(global, args).await,
        JsCommand::Kv { command } => super::kv::run(global, command).await,
    }
}

async fn run_pub(global: &Global, args: &JsPubArgs) -> Result<()> {
    validate(args)?;
    let quiet = global.json;
    let progress = Progress::new(!quiet && !args.common.no_progress);
    let subjects = SubjectPattern::new(args.subject.clone(), args.subjects);
    let window = match args.mode {
        Mode::Sync => 1,
        Mode::Async => args.window,
    };
    let admin = global.connect("weir-bench-js-admin").await?;
    let config = api::stream_config(&args.stream, &[subjects.stream_subject()], args.storage);
    let stream_before = api::prepare_stream(&admin, &config, args.purge, args.recreate).await?;
    let payload = args.payload.as_ref().map_or_else(
        || filler(args.size),
        |p| bytes::Bytes::from(p.clone().into_bytes()),
    );
    if !quiet {
        progress.log(format!(
            "Starting JetStream publish benchmark [stream={} ({} storage, subjects {}), client={}, msgs={}, msgsize={} B, pubs={}, mode={}{}]",
            args.stream,
            args.storage.as_str(),
            subjects.stream_subject(),
            client_name(args.client),
            commas(args.msgs),
            payload.len(),
            args.pubs,
            mode_name(args.mode),
            if args.mode == Mode::Async { format!(", window={window}") } else { String::new() },
        ));
    }
    let rss_before = args.pid.map(rss_bytes).transpose()?;

    let start_line = Arc::new(Barrier::new(args.pubs));
    let mut tasks = JoinSet::new();

    let mut first_index = 0;
    for (i, count) in split_evenly(args.msgs, args.pubs).into_iter().enumerate() {
        let plan = JsPlan {
            id: i + 1,
            subjects: subjects.clone(),
            first_index,
            count,
            payload: payload.clone(),
            mode: args.mode,
            window,
            ack_timeout: args.ack_timeout,
            start_line: start_line.clone(),
            bar: progress.bar(&format!("pub #{}", i + 1), count),
        };
        first_index += count;
        match args.client {
            ClientKind::Nats => tasks.spawn(natspub::start_publisher(global, plan).await?),
            ClientKind::Raw => tasks.spawn(rawpub::start_publisher(global, plan).await?),
        };
    }

    let mut histogram = new_histogram()?;
    let mut samples = Vec::new();
    let (mut acked_msgs, mut ack_errors, mut first_error) = (0, 0, None);
    while let Some(joined) = tasks.join_next().await {
        let result =
            joined.map_err(|e| CliError::BenchIncomplete(format!("publisher task: {e}")))??;
        histogram
            .add(&result.histogram)
            .map_err(|e| CliError::BenchIncomplete(format!("merging histograms: {e}")))?;
        samples.push(result.sample);
        acked_msgs += result.acked;
        ack_errors += result.errors;
        first_error = first_error.or(result.first_error);
    }
    let stream_after = api::stream_state(&admin, &args.stream).await?;
    let stored_msgs = stream_after.messages.saturating_sub(stream_before.messages);
    let server_memory = match (args.pid, rss_before) {
        (Some(pid), Some(before)) => Some(footprint(pid, before, stored_msgs).await?),
        _ => None,
    };
    let summary = JsPubSummary {
        bench: "js-pub",
        server: global.server.clone(),
        subject: args.subject.clone(),
        stream: args.stream.clone(),
        storage: args.storage,
        mode: args.mode,
        client: args.client,
        msgs: args.msgs,
        size_bytes: payload.len(),
        pubs: args.pubs,
        window,
        subjects: args.subjects,
        publishers: RoleSummary::of(&samples),
        acked_msgs,
        ack_errors,
        first_error,
        ack_latency: Latency::of(&histogram),
        stream_before,
        stream_after,
        stored_msgs,
        server_memory,
        complete: acked_msgs == args.msgs
            && ack_errors == 0
            && stored_msgs == args.msgs
            && stream_after.messages == stream_before.messages + args.msgs,
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
        "{} of {} publishes acknowledged ({} errors{}), stream {} gained {} messages",
        commas(acked_msgs),
        commas(args.msgs),
        commas(ack_errors),
        summary
            .first_error
            .as_deref()
            .map(|e| format!(", first: {e}"))
            .unwrap_or_default(),
        args.stream,
        commas(stored_msgs)
    )))
}

fn client_name(client: ClientKind) -> &'static str {
    match client {
        ClientKind::Nats => "async-nats",
        ClientKind::Raw => "raw",
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Sync => "sync",
        Mode::Async => "async",
    }
}

fn render(summary: &JsPubSummary, verbose: bool) -> String {
    let mut out = format!(
        "\nJetStream publish stats: {} ({} storage, {} mode{}, {} client)\n",
        summary.publishers.rate.describe(),
        summary.storage.as_str(),
        mode_name(summary.mode),
        if summary.mode == Mode::Async {
            format!(" window {}", summary.window)
        } else {
            String::new()
        },
        client_name(summary.client),
    );
    out.push_str(&summary.publishers.render("Pub", verbose));
    let l = &summary.ack_latency;
    out.push_str(&format!(
        " Ack latency: p50 {:.1} µs | p90 {:.1} µs | p99 {:.1} µs | p99.9 {:.1} µs | max {:.1} µs\n",
        l.p50_us, l.p90_us, l.p99_us, l.p999_us, l.max_us
    ));
    out.push_str(&format!(
        " Stream {}: {} messages stored by this run ({} acked, {} expected; {} in the stream)\n",
        summary.stream,
        commas(summary.stored_msgs),
        commas(summary.acked_msgs),
        commas(summary.msgs),
        commas(summary.stream_after.messages)
    ));
    if let Some(memory) = &summary.server_memory {
        out.push_str(&format!(" {}\n", memory.describe("stored message")));
    }
    if !summary.complete {
        out.push_str(&format!(
            " INCOMPLETE: {} ack errors{}\n",
            commas(summary.ack_errors),
            summary
                .first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
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
        command: JsCommand,
    }

    fn parse(args: &[&str]) -> std::result::Result<JsPubArgs, clap::Error> {
        let wrapper = Wrapper::try_parse_from([&["js", "pub"], args].concat())?;
        let JsCommand::Pub(args) = wrapper.command else {
            panic!("not a pub command");
        };
        Ok(args)
    }

    #[test]
    fn flags_parse_with_defaults() {
        let args = parse(&["js.bench"]).unwrap();
        assert_eq!(args.stream, "BENCH");
        assert_eq!(args.storage, Storage::File);
        assert_eq!(args.mode, Mode::Async);
        assert_eq!((args.window, args.pubs, args.subjects), (256, 1, 0));
        assert!(validate(&args).is_ok());

        let args = parse(&[
            "x",
            "--storage",
            "memory",
            "--mode",
            "sync",
            "--pubs",
            "4",
            "--window",
            "8",
            "--client",
            "raw",
            "--recreate",
            "--subjects",
            "100",
            "--ack-timeout",
            "2s",
        ])
        .unwrap();
        assert_eq!(args.storage, Storage::Memory);
        assert_eq!(args.mode, Mode::Sync);
        assert_eq!((args.pubs, args.window, args.subjects), (4, 8, 100));
        assert_eq!(args.client, ClientKind::Raw);
        assert_eq!(args.ack_timeout, Duration::from_secs(2));
        assert!(args.recreate && !args.purge);
    }

    #[test]
    fn bad_flags_are_rejected() {
        assert!(parse(&["x", "--purge", "--recreate"]).is_err());
        assert!(parse(&["x", "--storage", "tape"]).is_err());
        assert!(parse(&["x", "--mode", "fast"]).is_err());
        for bad in [
            &["x", "--pubs", "0"][..],
            &["x", "--window", "0"][..],
            &["x", "--msgs", "0"][..],
            &["a.*"][..],
            &["x", "--stream", "A.B"][..],
        ] {
            let args = parse(bad).unwrap();
            assert!(
                matches!(validate(&args), Err(CliError::Usage(_))),
                "{bad:?}"
            );
        }
    }
}
