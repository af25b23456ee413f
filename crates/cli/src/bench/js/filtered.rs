//! `weir bench js filtered`: how fast a consumer filtered to one subject delivers from a
//! stream of many subjects, next to an unfiltered consumer on the same stream.
//!
//! The stream `<subject>.>` is filled (untimed) with `--subjects` K distinct subjects
//! `<subject>.s.<i>` (`--per-subject` N messages each, round-robin) plus `--msgs` M messages on
//! `<subject>.hot`, spread evenly through the sequence range (the last message is hot). Then
//! two durable pull consumers drain M messages each with the same client and batch size:
//! `unfiltered` (no filter, from the first message) and `filtered` (filter `<subject>.hot`),
//! which must find its M messages among K × N others. The report gives both rates and
//! filtered / unfiltered (the target is at least 0.5).

use serde::Serialize;

use super::api::Storage;
use super::consume::{
    client_name, durable_state, validate_common, ConsumeCommon, ConsumerRun, DrainPlan,
    FillSummary, Setup,
};
use super::consumer_api::{self, AckMode, ConsumerSpec};
use super::consumers::{drain_pull, validate_ack_pending};
use super::subjects::HotSubject;
use super::SubjectPattern;
use crate::bench::pubsub::ClientKind;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{commas, emit, print_json};

/// The filtered consumer should deliver at least this fraction of the unfiltered rate.
pub const TARGET_RATIO: f64 = 0.5;

#[derive(Debug, clap::Args)]
pub struct FilteredArgs {
    #[command(flatten)]
    pub consume: ConsumeCommon,
    /// Distinct other subjects in the stream
    #[arg(long, default_value_t = 1_000_000)]
    pub subjects: u64,
    /// Messages per other subject (published round-robin over the subjects)
    #[arg(long, default_value_t = 1)]
    pub per_subject: u64,
    /// Messages per fetch request
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// explicit: ack every message; none: consumers with ack_policy none
    #[arg(long, value_enum, default_value_t = AckMode::None)]
    pub ack: AckMode,
    /// The consumers' max_ack_pending (with --ack explicit)
    #[arg(long, default_value_t = 10_000)]
    pub max_ack_pending: i64,
    /// Client implementation: async-nats fetch, or a raw-protocol consumer (the default, so
    /// that the server sets the rates)
    #[arg(long, value_enum, default_value_t = ClientKind::Raw)]
    pub client: ClientKind,
}

/// Machine-readable result of `bench js filtered`.
#[derive(Debug, Serialize)]
pub struct FilteredSummary {
    pub bench: &'static str,
    pub server: String,
    pub stream: String,
    pub storage: Storage,
    pub client: ClientKind,
    pub size_bytes: usize,
    /// Messages on the filtered subject (each consumer drains this many).
    pub msgs: u64,
    pub hot_subject: String,
    pub subjects: u64,
    pub per_subject: u64,
    /// Messages in the stream.
    pub stream_msgs: u64,
    pub batch: usize,
    pub ack: AckMode,
    pub fill: FillSummary,
    pub unfiltered: ConsumerRun,
    pub filtered: ConsumerRun,
    /// Filtered msgs/s divided by unfiltered msgs/s.
    pub ratio: f64,
    pub target_ratio: f64,
    pub target_met: bool,
    pub complete: bool,
}

pub async fn run(global: &Global, args: &FilteredArgs) -> Result<()> {
    let c = &args.consume;
    validate_common(c)?;
    validate_ack_pending(args.max_ack_pending)?;
    let usage = |m: &str| Err(CliError::Usage(m.to_string()));
    if args.batch == 0 {
        return usage("--batch must be at least 1");
    }
    if args.subjects == 0 || args.per_subject == 0 {
        return usage("--subjects and --per-subject must be at least 1");
    }
    let Some(total) = args
        .subjects
        .checked_mul(args.per_subject)
        .and_then(|cold| cold.checked_add(c.msgs))
    else {
        return usage("--subjects × --per-subject + --msgs is too large");
    };
    let hot_subject = format!("{}.hot", c.subject);
    let pattern =
        SubjectPattern::new(format!("{}.s", c.subject), args.subjects).with_hot(HotSubject {
            subject: hot_subject.clone(),
            count: c.msgs,
            total,
        });

    let setup = Setup::connect(global, c).await?;
    setup.log(format!(
        "Starting JetStream filtered consumer benchmark [stream={} ({} storage), {} msgs on {} among {} subjects × {} = {} msgs, fetch batch {}, ack={}, client={}, msgsize={} B]",
        c.stream,
        c.storage.as_str(),
        commas(c.msgs),
        hot_subject,
        commas(args.subjects),
        commas(args.per_subject),
        commas(total),
        args.batch,
        args.ack.as_str(),
        client_name(args.client),
        c.size,
    ));
    let measured = measure(global, &setup, args, pattern, total).await;
    let cleaned = setup.cleanup(c).await;
    let (fill, unfiltered, filtered) = measured?;
    cleaned?;
    let ratio = match unfiltered.rate().msgs_per_sec {
        r if r > 0.0 => filtered.rate().msgs_per_sec / r,
        _ => 0.0,
    };
    let summary = FilteredSummary {
        bench: "js-filtered",
        server: global.server.clone(),
        stream: c.stream.clone(),
        storage: c.storage,
        client: args.client,
        size_bytes: c.size,
        msgs: c.msgs,
        hot_subject,
        subjects: args.subjects,
        per_subject: args.per_subject,
        stream_msgs: total,
        batch: args.batch,
        ack: args.ack,
        fill,
        complete: unfiltered.complete && filtered.complete,
        unfiltered,
        filtered,
        ratio,
        target_ratio: TARGET_RATIO,
        target_met: ratio >= TARGET_RATIO,
    };
    if setup.quiet {
        print_json(&summary)?;
    } else {
        setup.progress.finish();
        emit(&render(&summary, c.common.verbose))?;
    }
    if summary.complete {
        return Ok(());
    }
    let failed = if summary.unfiltered.complete {
        &summary.filtered
    } else {
        &summary.unfiltered
    };
    Err(failed.failure("filtered benchmark"))
}

/// Fills the stream, then drains `unfiltered` and `filtered` in turn.
async fn measure(
    global: &Global,
    setup: &Setup,
    args: &FilteredArgs,
    pattern: SubjectPattern,
    total: u64,
) -> Result<(FillSummary, ConsumerRun, ConsumerRun)> {
    let c = &args.consume;
    let hot_subject = pattern.hot.as_ref().map(|h| h.subject.clone());
    let fill = setup.fill(global, c, pattern, total).await?;
    let mut runs = Vec::new();
    for (name, filter, pending_after) in [
        ("unfiltered", None, total - c.msgs),
        ("filtered", hot_subject, 0),
    ] {
        let plan = DrainPlan {
            spec: ConsumerSpec {
                stream: c.stream.clone(),
                name: name.to_string(),
                ack: args.ack,
                deliver_subject: None,
                filter_subject: filter,
                max_ack_pending: args.max_ack_pending,
            },
            expected: c.msgs,
            batch: args.batch,
            stall: c.stall_timeout,
            bar: setup.progress.bar(name, c.msgs),
        };
        consumer_api::create(&setup.admin, &global.server, &plan.spec).await?;
        setup.settle(c).await;
        let drained = drain_pull(global, args.client, &plan).await?;
        let state = durable_state(setup, global, &plan.spec).await?;
        let run = ConsumerRun::check(drained, c.msgs, args.ack, Some(state), pending_after);
        setup.log(format!("{name}: {}", run.rate().describe()));
        runs.push(run);
    }
    let (Some(filtered), Some(unfiltered)) = (runs.pop(), runs.pop()) else {
        return Err(CliError::BenchIncomplete(
            "consumer runs missing".to_string(),
        ));
    };
    Ok((fill, unfiltered, filtered))
}

fn render(summary: &FilteredSummary, verbose: bool) -> String {
    let mut out = format!(
        "\nJetStream filtered consumer stats: {} msgs on {} among {} msgs ({} storage, fetch batch {}, ack {}, {} client)\n",
        commas(summary.msgs),
        summary.hot_subject,
        commas(summary.stream_msgs),
        summary.storage.as_str(),
        summary.batch,
        summary.ack.as_str(),
        client_name(summary.client),
    );
    out.push_str(&format!(
        " Fill (not counted): {} msgs in {:.2} s, {}\n",
        commas(summary.fill.msgs),
        summary.fill.elapsed_ms / 1e3,
        summary.fill.rate.describe()
    ));
    out.push_str(&summary.unfiltered.render("Unfiltered", verbose));
    out.push_str(&summary.filtered.render("Filtered", verbose));
    out.push_str(&format!(
        " Filtered / unfiltered: {:.2} (target ≥ {:.2}: {})\n",
        summary.ratio,
        summary.target_ratio,
        if summary.target_met { "met" } else { "NOT met" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::super::JsCommand;
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(subcommand)]
        command: JsCommand,
    }

    #[test]
    fn filtered_flags_parse_with_defaults() {
        let Ok(JsCommand::Filtered(args)) =
            Wrapper::try_parse_from(["js", "filtered"]).map(|w| w.command)
        else {
            panic!("filtered");
        };
        assert_eq!((args.subjects, args.per_subject), (1_000_000, 1));
        assert_eq!(
            (args.batch, args.ack, args.client),
            (1000, AckMode::None, ClientKind::Raw)
        );
        let Ok(JsCommand::Filtered(args)) = Wrapper::try_parse_from([
            "js",
            "filtered",
            "--subjects",
            "10",
            "--per-subject",
            "3",
            "--msgs",
            "7",
        ])
        .map(|w| w.command) else {
            panic!("filtered with flags");
        };
        assert_eq!(
            (args.subjects, args.per_subject, args.consume.msgs),
            (10, 3, 7)
        );
    }
}
