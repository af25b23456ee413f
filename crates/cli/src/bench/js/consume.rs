//! What the consumer benchmarks (`bench js fetch|push|ordered|filtered`) share: flags, the
//! stream set-up and fast pre-fill (not timed), the drain plan and result, the checks against
//! the consumer's server-side state, and the summary.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::Client;
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::sync::Barrier;

use super::api::{self, Storage};
use super::consumer_api::{self, AckMode, ConsumerSpec, ConsumerState};
use super::{rawpub, JsPlan, Mode, SubjectPattern};
use crate::args::parse_duration;
use crate::bench::progress::Progress;
use crate::bench::pubsub::ClientKind;
use crate::bench::stats::{Rate, RoleSummary, Sample};
use crate::bench::BenchCommon;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::commas;

/// Unanswered publishes while pre-filling (one raw publisher).
const FILL_WINDOW: usize = 512;

/// How long to wait for the last acks to be applied before reading the consumer's state.
const SETTLE: Duration = Duration::from_secs(5);

/// Flags every consumer benchmark takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ConsumeCommon {
    /// Stream to create and pre-fill (deleted first if it exists)
    #[arg(long, default_value = "CONSUMER_BENCH")]
    pub stream: String,
    /// Subject the stream is filled on (a prefix for `bench js filtered`)
    #[arg(long, default_value = "js.consume")]
    pub subject: String,
    /// Stream storage
    #[arg(long, value_enum, default_value_t = Storage::File)]
    pub storage: Storage,
    /// Messages the consumer drains (the stream is pre-filled with them)
    #[arg(long, default_value_t = 100_000)]
    pub msgs: u64,
    /// Message payload size in bytes
    #[arg(long, default_value_t = 128)]
    pub size: usize,
    /// Give up when no message arrives for this long
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub stall_timeout: Duration,
    /// Pause between the fill and each drain (not timed), so the server's work after the
    /// fill (flushing, garbage collection) is not charged to the consumer
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub settle: Duration,
    /// Keep the stream (and its consumers) after the run instead of deleting it
    #[arg(long)]
    pub keep: bool,
    #[command(flatten)]
    pub common: BenchCommon,
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && !s.contains(|c: char| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
}

/// Checks the flags that clap cannot.
pub fn validate_common(args: &ConsumeCommon) -> Result<()> {
    let usage = |m: &str| Err(CliError::Usage(m.to_string()));
    if args.msgs == 0 {
        return usage("--msgs must be at least 1");
    }
    if !is_name(&args.stream) {
        return usage("--stream must be a name without spaces, '.', '*', '>' or slashes");
    }
    if args.subject.is_empty()
        || args.subject.starts_with('.')
        || args.subject.ends_with('.')
        || args
            .subject
            .contains(|c: char| c.is_whitespace() || c == '*' || c == '>')
    {
        return usage("--subject must be a literal subject without spaces or wildcards");
    }
    Ok(())
}

/// What one consumer is asked to drain.
pub struct DrainPlan {
    pub spec: ConsumerSpec,
    /// Messages to receive.
    pub expected: u64,
    /// Messages per fetch request (pull consumers).
    pub batch: usize,
    pub stall: Duration,
    pub bar: ProgressBar,
}

/// What one consumer received. A stall is not an error: it ends the run early.
pub struct Drained {
    pub sample: Sample,
    pub received: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Ordered consumers: messages whose stream sequence was not the previous one plus one.
    pub out_of_order: u64,
}

impl Drained {
    pub fn stalled(received: u64, expected: u64, stall: Duration) -> String {
        format!(
            "no message for {stall:?} after {} of {} (consumer stalled)",
            commas(received),
            commas(expected)
        )
    }
}

/// The untimed pre-fill.
#[derive(Debug, Clone, Serialize)]
pub struct FillSummary {
    pub msgs: u64,
    pub elapsed_ms: f64,
    #[serde(flatten)]
    pub rate: Rate,
}

/// An admin connection to a server with JetStream, and the progress bars.
pub struct Setup {
    pub admin: Client,
    pub progress: Progress,
    pub quiet: bool,
}

impl Setup {
    /// Connects and checks the server has JetStream and serves consumers.
    pub async fn connect(global: &Global, args: &ConsumeCommon) -> Result<Setup> {
        let quiet = global.json;
        // Creating a consumer on a stream of a million subjects can take seconds.
        let options = global
            .options("weir-bench-js-admin")
            .request_timeout(Some(args.stall_timeout.max(global.timeout)));
        let admin = global.connect_with(options).await?;
        api::require_jetstream(&admin, &global.server).await?;
        consumer_api::require_consumers(&admin, &global.server, &args.stream).await?;
        Ok(Setup {
            admin,
            progress: Progress::new(!quiet && !args.common.no_progress),
            quiet,
        })
    }

    pub fn log(&self, message: impl std::fmt::Display) {
        if !self.quiet {
            self.progress.log(message);
        }
    }

    /// Deletes and creates the stream, then fills it with `total` messages published to
    /// `pattern` by one raw windowed publisher, and checks it holds exactly those.
    pub async fn fill(
        &self,
        global: &Global,
        args: &ConsumeCommon,
        pattern: SubjectPattern,
        total: u64,
    ) -> Result<FillSummary> {
        let config = api::stream_config(&args.stream, &pattern.stream_subjects(), args.storage);
        api::prepare_stream(&self.admin, &config, false, true).await?;
        let plan = JsPlan {
            id: 0,
            subjects: pattern,
            first_index: 0,
            count: total,
            payload: super::filler(args.size),
            mode: Mode::Async,
            window: FILL_WINDOW,
            ack_timeout: args.stall_timeout,
            start_line: Arc::new(Barrier::new(1)),
            bar: self.progress.bar("fill", total),
        };
        let result = rawpub::start_publisher(global, plan).await?.await?;
        let stored = api::stream_state(&self.admin, &args.stream).await?.messages;
        if result.acked != total || result.errors > 0 || stored != total {
            return Err(CliError::BenchIncomplete(format!(
                "pre-filling stream {}: {} of {} publishes acknowledged ({} errors{}), {} stored",
                args.stream,
                commas(result.acked),
                commas(total),
                commas(result.errors),
                result
                    .first_error
                    .map(|e| format!(", first: {e}"))
                    .unwrap_or_default(),
                commas(stored)
            )));
        }
        let secs = result.sample.elapsed_secs();
        let fill = FillSummary {
            msgs: total,
            elapsed_ms: secs * 1e3,
            rate: Rate::of(total, result.sample.bytes, secs),
        };
        self.log(format!(
            "Filled stream {} with {} messages in {:.2} s ({}; not counted)",
            args.stream,
            commas(total),
            secs,
            fill.rate.describe()
        ));
        Ok(fill)
    }

    /// The untimed pause before a drain (`--settle`).
    pub async fn settle(&self, args: &ConsumeCommon) {
        if !args.settle.is_zero() {
            tokio::time::sleep(args.settle).await;
        }
    }

    /// Deletes the stream unless `--keep`.
    pub async fn cleanup(&self, args: &ConsumeCommon) -> Result<()> {
        if args.keep {
            return Ok(());
        }
        api::delete_stream(&self.admin, &args.stream).await
    }
}

/// One consumer's run as reported.
#[derive(Debug, Serialize)]
pub struct ConsumerRun {
    pub consumer: RoleSummary,
    pub received_msgs: u64,
    pub expected_msgs: u64,
    pub errors: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub out_of_order: Option<u64>,
    /// Read from the server after the drain (durable consumers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consumer_state: Option<ConsumerState>,
    pub complete: bool,
}

impl ConsumerRun {
    /// Checks what arrived and, for durable consumers, the server's view: exactly
    /// `expected` deliveries, `pending_after` left, nothing awaiting an ack.
    pub fn check(
        drained: Drained,
        expected: u64,
        ack: AckMode,
        state: Option<ConsumerState>,
        pending_after: u64,
    ) -> ConsumerRun {
        let state_ok = state.is_none_or(|s| {
            s.delivered_msgs == expected
                && s.num_pending == pending_after
                && (ack == AckMode::None || s.num_ack_pending == 0)
        });
        let out_of_order = (drained.out_of_order > 0).then_some(drained.out_of_order);
        ConsumerRun {
            consumer: RoleSummary::of(&[drained.sample]),
            received_msgs: drained.received,
            expected_msgs: expected,
            errors: drained.errors,
            complete: drained.received == expected
                && drained.errors == 0
                && drained.out_of_order == 0
                && state_ok,
            first_error: drained.first_error,
            out_of_order,
            consumer_state: state,
        }
    }

    pub fn rate(&self) -> Rate {
        self.consumer.rate
    }

    /// ` <label>: delivered ... ` lines.
    pub fn render(&self, label: &str, verbose: bool) -> String {
        let mut out = self.consumer.render(label, verbose);
        out.push_str(&format!(
            " {label}: received {} of {} messages",
            commas(self.received_msgs),
            commas(self.expected_msgs)
        ));
        if let Some(s) = &self.consumer_state {
            out.push_str(&format!(
                "; server: delivered {}, pending {}, ack pending {}, redelivered {}",
                commas(s.delivered_msgs),
                commas(s.num_pending),
                commas(s.num_ack_pending),
                commas(s.num_redelivered)
            ));
        }
        out.push('\n');
        if let Some(n) = self.out_of_order.filter(|&n| n > 0) {
            out.push_str(&format!(" {label}: {} messages out of order\n", commas(n)));
        }
        if !self.complete {
            out.push_str(&format!(
                " {label}: INCOMPLETE ({} errors{})\n",
                commas(self.errors),
                self.first_error
                    .as_deref()
                    .map(|e| format!(", first: {e}"))
                    .unwrap_or_default()
            ));
        }
        out
    }

    /// The error a run that did not drain cleanly ends with.
    pub fn failure(&self, what: &str) -> CliError {
        CliError::BenchIncomplete(format!(
            "{what}: received {} of {} messages ({} errors{}){}",
            commas(self.received_msgs),
            commas(self.expected_msgs),
            commas(self.errors),
            self.first_error
                .as_deref()
                .map(|e| format!(", first: {e}"))
                .unwrap_or_default(),
            match &self.consumer_state {
                Some(s) => format!(
                    "; server: delivered {}, pending {}, ack pending {}",
                    commas(s.delivered_msgs),
                    commas(s.num_pending),
                    commas(s.num_ack_pending)
                ),
                None => String::new(),
            }
        ))
    }
}

/// Reads the durable consumer's state after its drain, once its acks have landed.
pub async fn durable_state(
    setup: &Setup,
    global: &Global,
    spec: &ConsumerSpec,
) -> Result<ConsumerState> {
    consumer_api::settled_state(&setup.admin, &global.server, spec, SETTLE).await
}

pub fn client_name(client: ClientKind) -> &'static str {
    match client {
        ClientKind::Nats => "async-nats",
        ClientKind::Raw => "raw",
    }
}

/// A sample for a run that started at `start` and received `msgs` messages.
pub fn sample(msgs: u64, bytes: u64, start: Instant, end: Instant) -> Sample {
    Sample {
        msgs,
        bytes,
        start,
        end: end.max(start),
    }
}
