//! `weir bench js fetch|push|ordered`: one consumer drains a freshly pre-filled stream.
//!
//! The stream is deleted, created and filled with `--msgs` messages by a raw windowed
//! publisher (untimed); then the consumer drains it, timed from its first fetch request
//! (fetch), the creation request of its consumer (push, ordered) to its last message and
//! ack; finally the server's view of a durable consumer (deliveries, pending, ack pending)
//! is checked and the stream deleted.

use serde::Serialize;

use super::api::Storage;
use super::consume::{
    client_name, durable_state, validate_common, ConsumeCommon, ConsumerRun, DrainPlan, Drained,
    FillSummary, Setup,
};
use super::consumer_api::{self, AckMode, ConsumerSpec};
use super::natsconsume::{self, OrderedKind};
use super::{rawconsume, SubjectPattern};
use crate::bench::pubsub::ClientKind;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{commas, emit, print_json};

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    #[command(flatten)]
    pub consume: ConsumeCommon,
    /// Messages per fetch request
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// explicit: ack every message; none: a consumer with ack_policy none
    #[arg(long, value_enum, default_value_t = AckMode::Explicit)]
    pub ack: AckMode,
    /// The consumer's max_ack_pending (with --ack explicit)
    #[arg(long, default_value_t = 10_000)]
    pub max_ack_pending: i64,
    /// Client implementation: async-nats (fetch + Message::ack), or a raw-protocol consumer
    #[arg(long, value_enum, default_value_t = ClientKind::Nats)]
    pub client: ClientKind,
}

#[derive(Debug, clap::Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub consume: ConsumeCommon,
    /// explicit: ack every message; none: a consumer with ack_policy none
    #[arg(long, value_enum, default_value_t = AckMode::Explicit)]
    pub ack: AckMode,
    /// The consumer's max_ack_pending (with --ack explicit): deliveries in flight
    #[arg(long, default_value_t = 10_000)]
    pub max_ack_pending: i64,
    /// Client implementation: async-nats subscription, or a raw-protocol consumer
    #[arg(long, value_enum, default_value_t = ClientKind::Nats)]
    pub client: ClientKind,
}

#[derive(Debug, clap::Args)]
pub struct OrderedArgs {
    #[command(flatten)]
    pub consume: ConsumeCommon,
    /// Which async-nats ordered consumer: pull (current) or push (legacy, flow control)
    #[arg(long, value_enum, default_value_t = OrderedKind::Pull)]
    pub kind: OrderedKind,
}

/// Machine-readable result of `bench js fetch|push|ordered`.
#[derive(Debug, Serialize)]
pub struct ConsumeSummary {
    pub bench: &'static str,
    pub server: String,
    pub stream: String,
    pub subject: String,
    pub storage: Storage,
    pub client: ClientKind,
    pub msgs: u64,
    pub size_bytes: usize,
    pub ack: AckMode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ack_pending: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordered: Option<OrderedKind>,
    /// The untimed pre-fill.
    pub fill: FillSummary,
    #[serde(flatten)]
    pub run: ConsumerRun,
}

/// Which consumer to run, with its own flags.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Fetch {
        batch: usize,
    },
    /// async-nats' continuous pull (`PullConsumer::messages`), its "consume" API.
    Consume {
        batch: usize,
    },
    Push,
    Ordered(OrderedKind),
}

/// One benchmark's consumer settings.
#[derive(Debug, Clone, Copy)]
struct Bench {
    kind: Kind,
    ack: AckMode,
    max_ack_pending: i64,
    client: ClientKind,
}

impl Bench {
    fn name(&self) -> &'static str {
        match self.kind {
            Kind::Fetch { .. } => "fetch",
            Kind::Consume { .. } => "consume",
            Kind::Push => "push",
            Kind::Ordered(_) => "ordered",
        }
    }

    fn describe(&self) -> String {
        match self.kind {
            Kind::Fetch { batch } => format!("pull consumer, fetch batch {batch}"),
            Kind::Consume { batch } => {
                format!("pull consumer, continuous pull (messages()) of batch {batch}")
            }
            Kind::Push => "push consumer".to_string(),
            Kind::Ordered(OrderedKind::Pull) => "async-nats ordered pull consumer".to_string(),
            Kind::Ordered(OrderedKind::Push) => "async-nats ordered push consumer".to_string(),
        }
    }
}

pub fn validate_ack_pending(max_ack_pending: i64) -> Result<()> {
    if max_ack_pending == 0 || max_ack_pending < -1 {
        return Err(CliError::Usage(
            "--max-ack-pending must be at least 1 (or -1 for no limit)".to_string(),
        ));
    }
    Ok(())
}

/// Drains a durable pull consumer with the chosen client.
pub async fn drain_pull(global: &Global, client: ClientKind, plan: &DrainPlan) -> Result<Drained> {
    match client {
        ClientKind::Raw => rawconsume::fetch(global, plan).await,
        ClientKind::Nats => natsconsume::fetch(global, plan).await,
    }
}

pub async fn run_fetch(global: &Global, args: &FetchArgs) -> Result<()> {
    if args.batch == 0 {
        return Err(CliError::Usage("--batch must be at least 1".to_string()));
    }
    validate_ack_pending(args.max_ack_pending)?;
    let bench = Bench {
        kind: Kind::Fetch { batch: args.batch },
        ack: args.ack,
        max_ack_pending: args.max_ack_pending,
        client: args.client,
    };
    run(global, &args.consume, bench).await
}

pub async fn run_consume(global: &Global, args: &FetchArgs) -> Result<()> {
    if args.batch == 0 {
        return Err(CliError::Usage("--batch must be at least 1".to_string()));
    }
    if args.client == ClientKind::Raw {
        return Err(CliError::Usage(
            "consume measures async-nats' continuous pull: use --client nats (or `bench js \
             fetch --client raw` for the raw-protocol pull consumer)"
                .to_string(),
        ));
    }
    validate_ack_pending(args.max_ack_pending)?;
    let bench = Bench {
        kind: Kind::Consume { batch: args.batch },
        ack: args.ack,
        max_ack_pending: args.max_ack_pending,
        client: args.client,
    };
    run(global, &args.consume, bench).await
}

pub async fn run_push(global: &Global, args: &PushArgs) -> Result<()> {
    validate_ack_pending(args.max_ack_pending)?;
    let bench = Bench {
        kind: Kind::Push,
        ack: args.ack,
        max_ack_pending: args.max_ack_pending,
        client: args.client,
    };
    run(global, &args.consume, bench).await
}

pub async fn run_ordered(global: &Global, args: &OrderedArgs) -> Result<()> {
    let bench = Bench {
        kind: Kind::Ordered(args.kind),
        ack: AckMode::None,
        max_ack_pending: 0,
        client: ClientKind::Nats,
    };
    run(global, &args.consume, bench).await
}

/// Fills the stream, then creates and drains the consumer and checks its server-side state.
async fn measure(
    global: &Global,
    setup: &Setup,
    c: &ConsumeCommon,
    b: Bench,
) -> Result<(FillSummary, ConsumerRun)> {
    let fill = setup
        .fill(global, c, SubjectPattern::new(c.subject.clone(), 0), c.msgs)
        .await?;
    let plan = DrainPlan {
        spec: ConsumerSpec {
            stream: c.stream.clone(),
            name: b.name().to_string(),
            ack: b.ack,
            deliver_subject: matches!(b.kind, Kind::Push)
                .then(|| format!("_INBOX.{}", nuid::next())),
            filter_subject: None,
            max_ack_pending: b.max_ack_pending,
        },
        expected: c.msgs,
        batch: match b.kind {
            Kind::Fetch { batch } | Kind::Consume { batch } => batch,
            _ => 0,
        },
        stall: c.stall_timeout,
        bar: setup.progress.bar(b.name(), c.msgs),
    };
    if let Kind::Fetch { .. } | Kind::Consume { .. } = b.kind {
        consumer_api::create(&setup.admin, &global.server, &plan.spec).await?;
    }
    setup.settle(c).await;
    let drained = match b.kind {
        Kind::Fetch { .. } => drain_pull(global, b.client, &plan).await?,
        Kind::Consume { .. } => natsconsume::consume(global, &plan).await?,
        Kind::Push => match b.client {
            ClientKind::Raw => rawconsume::push(global, &setup.admin, &plan).await?,
            ClientKind::Nats => natsconsume::push(global, &setup.admin, &plan).await?,
        },
        Kind::Ordered(k) => natsconsume::ordered(global, k, &plan).await?,
    };
    if let Kind::Ordered(_) = b.kind {
        let out_of_order = drained.out_of_order;
        let mut run = ConsumerRun::check(drained, c.msgs, b.ack, None, 0);
        run.out_of_order = Some(out_of_order);
        return Ok((fill, run));
    }
    let state = durable_state(setup, global, &plan.spec).await?;
    Ok((
        fill,
        ConsumerRun::check(drained, c.msgs, b.ack, Some(state), 0),
    ))
}

async fn run(global: &Global, c: &ConsumeCommon, b: Bench) -> Result<()> {
    validate_common(c)?;
    let setup = Setup::connect(global, c).await?;
    setup.log(format!(
        "Starting JetStream {} benchmark [stream={} ({} storage), {}, ack={}, client={}, msgs={}, msgsize={} B]",
        b.name(),
        c.stream,
        c.storage.as_str(),
        b.describe(),
        b.ack.as_str(),
        client_name(b.client),
        commas(c.msgs),
        c.size,
    ));
    let measured = measure(global, &setup, c, b).await;
    let cleaned = setup.cleanup(c).await;
    let (fill, run) = measured?;
    cleaned?;
    let summary = ConsumeSummary {
        bench: match b.kind {
            Kind::Fetch { .. } => "js-fetch",
            Kind::Consume { .. } => "js-consume",
            Kind::Push => "js-push",
            Kind::Ordered(_) => "js-ordered",
        },
        server: global.server.clone(),
        stream: c.stream.clone(),
        subject: c.subject.clone(),
        storage: c.storage,
        client: b.client,
        msgs: c.msgs,
        size_bytes: c.size,
        ack: b.ack,
        batch: match b.kind {
            Kind::Fetch { batch } => Some(batch),
            _ => None,
        },
        max_ack_pending: (b.ack == AckMode::Explicit).then_some(b.max_ack_pending),
        ordered: match b.kind {
            Kind::Ordered(k) => Some(k),
            _ => None,
        },
        fill,
        run,
    };
    if setup.quiet {
        print_json(&summary)?;
    } else {
        setup.progress.finish();
        emit(&render(&summary, &b.describe(), c.common.verbose))?;
    }
    if summary.run.complete {
        return Ok(());
    }
    Err(summary.run.failure(&format!("{} consumer", b.name())))
}

fn render(summary: &ConsumeSummary, what: &str, verbose: bool) -> String {
    let mut out = format!(
        "\nJetStream {what} stats: {} ({} storage, ack {}, {} client)\n",
        summary.run.rate().describe(),
        summary.storage.as_str(),
        summary.ack.as_str(),
        client_name(summary.client),
    );
    out.push_str(&format!(
        " Fill (not counted): {} msgs in {:.2} s, {}\n",
        commas(summary.fill.msgs),
        summary.fill.elapsed_ms / 1e3,
        summary.fill.rate.describe()
    ));
    out.push_str(&summary.run.render("Consumer", verbose));
    out
}

#[cfg(test)]
mod tests {
    use super::super::JsCommand;
    use super::*;
    use clap::Parser;
    use std::time::Duration;

    #[derive(Debug, Parser)]
    struct Wrapper {
        #[command(subcommand)]
        command: JsCommand,
    }

    fn parse(args: &[&str]) -> std::result::Result<JsCommand, clap::Error> {
        Ok(Wrapper::try_parse_from([&["js"], args].concat())?.command)
    }

    #[test]
    fn consumer_flags_parse_with_defaults() {
        let Ok(JsCommand::Fetch(fetch)) = parse(&["fetch"]) else {
            panic!("fetch");
        };
        assert_eq!(
            (fetch.batch, fetch.ack, fetch.client),
            (100, AckMode::Explicit, ClientKind::Nats)
        );
        assert_eq!(fetch.consume.msgs, 100_000);
        assert_eq!(fetch.consume.size, 128);
        assert_eq!(fetch.consume.storage, Storage::File);
        assert_eq!(fetch.consume.stall_timeout, Duration::from_secs(30));
        assert_eq!(fetch.consume.settle, Duration::from_secs(1));
        assert!(validate_common(&fetch.consume).is_ok());

        let Ok(JsCommand::Fetch(fetch)) = parse(&[
            "fetch",
            "--batch",
            "1000",
            "--ack",
            "none",
            "--client",
            "raw",
            "--storage",
            "memory",
            "--msgs",
            "5",
            "--size",
            "16",
            "--stream",
            "S",
            "--keep",
        ]) else {
            panic!("fetch with flags");
        };
        assert_eq!(
            (fetch.batch, fetch.ack, fetch.client),
            (1000, AckMode::None, ClientKind::Raw)
        );
        assert!(fetch.consume.keep);

        let Ok(JsCommand::Push(push)) = parse(&["push", "--client", "raw"]) else {
            panic!("push");
        };
        assert_eq!(
            (push.ack, push.max_ack_pending),
            (AckMode::Explicit, 10_000)
        );
        let Ok(JsCommand::Ordered(ordered)) = parse(&["ordered", "--kind", "push"]) else {
            panic!("ordered");
        };
        assert_eq!(ordered.kind, OrderedKind::Push);
    }

    #[test]
    fn bad_consumer_flags_are_rejected() {
        assert!(parse(&["fetch", "--ack", "all"]).is_err());
        assert!(parse(&["ordered", "--ack", "explicit"]).is_err());
        let Ok(JsCommand::Fetch(fetch)) = parse(&["fetch", "--msgs", "0", "--stream", "a.b"])
        else {
            panic!("fetch");
        };
        assert!(matches!(
            validate_common(&fetch.consume),
            Err(CliError::Usage(_))
        ));
        assert!(validate_ack_pending(0).is_err());
        assert!(validate_ack_pending(-1).is_ok());
    }
}
