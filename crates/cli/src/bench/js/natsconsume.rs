//! The async-nats consumers: `PullConsumer::fetch` batches acked with `Message::ack`, a core
//! subscription on a push consumer's deliver subject, and the library's ordered consumers.

use std::fmt::Display;
use std::time::Instant;

use async_nats::jetstream::consumer::{pull, push, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{self, stream::Stream as JsStream};
use async_nats::{Client, ConnectOptions};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use serde::Serialize;

use super::consume::{sample, DrainPlan, Drained};
use super::consumer_api::{self, AckMode};
use crate::bench::progress::UPDATE_EVERY;
use crate::connect::Global;
use crate::error::{CliError, Result};

/// Client command-queue depth (default 2048): acks are publishes, deeper means fewer wake-ups.
const CLIENT_QUEUE: usize = 65_536;

/// Which ordered consumer async-nats runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderedKind {
    /// `consumer::pull::OrderedConfig`: ephemeral pull consumer, pulled continuously
    Pull,
    /// `consumer::push::OrderedConfig`: ephemeral push consumer with flow control
    Push,
}

fn options(global: &Global, name: &str, plan: &DrainPlan, expected: u64) -> ConnectOptions {
    global
        .options(name)
        // Consumer info and creation on a stream of a million subjects can take seconds.
        .request_timeout(Some(plan.stall.max(global.timeout)))
        .client_capacity(CLIENT_QUEUE)
        .subscription_capacity(expected.clamp(65_536, 1 << 20) as usize)
}

/// Counts what arrived and where the run stopped.
struct Tally<'a> {
    plan: &'a DrainPlan,
    start: Instant,
    received: u64,
    bytes: u64,
    failure: Option<String>,
}

impl<'a> Tally<'a> {
    fn new(plan: &'a DrainPlan) -> Tally<'a> {
        // The bar's rate counts from here, not from its creation before the settle pause.
        plan.bar.reset();
        Tally {
            plan,
            start: Instant::now(),
            received: 0,
            bytes: 0,
            failure: None,
        }
    }

    fn got(&mut self, payload_len: usize) {
        self.received += 1;
        self.bytes += payload_len as u64;
        if self.received.is_multiple_of(UPDATE_EVERY) {
            self.plan.bar.set_position(self.received);
        }
    }

    fn fail(&mut self, what: &str, e: impl Display) {
        self.failure.get_or_insert_with(|| format!("{what}: {e}"));
    }

    fn stalled(&mut self) {
        let text = Drained::stalled(self.received, self.plan.expected, self.plan.stall);
        self.failure.get_or_insert(text);
    }

    /// Writes out the acks still queued in the client: they are part of the work timed.
    async fn flush(&mut self, client: &Client) {
        if let Err(e) = client.flush().await {
            self.fail("flushing the acks", e);
        }
    }

    fn finish(self, out_of_order: u64) -> Drained {
        let end = Instant::now();
        if self.failure.is_none() && self.received >= self.plan.expected {
            self.plan.bar.finish();
        } else {
            self.plan.bar.abandon();
        }
        Drained {
            sample: sample(self.received, self.bytes, self.start, end),
            received: self.received,
            errors: u64::from(self.failure.is_some()),
            first_error: self.failure,
            out_of_order,
        }
    }
}

async fn stream_handle(client: Client, name: &str) -> Result<JsStream<()>> {
    jetstream::new(client)
        .get_stream_no_info(name)
        .await
        .map_err(|e| CliError::nats(format!("stream {name}"), e))
}

/// Connects as `name` and looks up the plan's durable pull consumer.
async fn durable_pull(
    global: &Global,
    plan: &DrainPlan,
    name: &str,
) -> Result<(Client, PullConsumer)> {
    let client = global
        .connect_with(options(global, name, plan, plan.batch as u64))
        .await?;
    let stream = stream_handle(client.clone(), &plan.spec.stream).await?;
    let consumer = stream
        .get_consumer(&plan.spec.name)
        .await
        .map_err(|e| CliError::nats(format!("cannot look up consumer {}", plan.spec.name), e))?;
    Ok((client, consumer))
}

/// Drains a durable pull consumer with `fetch` batches, acking each message with
/// `jetstream::Message::ack` when acks are explicit.
pub async fn fetch(global: &Global, plan: &DrainPlan) -> Result<Drained> {
    let (client, consumer) = durable_pull(global, plan, "weir-bench-js-fetch").await?;
    let explicit = plan.spec.ack == AckMode::Explicit;
    let mut tally = Tally::new(plan);
    let mut last_progress = tally.start;
    'drain: while tally.received < plan.expected {
        let want = (plan.batch as u64).min(plan.expected - tally.received) as usize;
        let batch = consumer
            .fetch()
            .max_messages(want)
            .expires(plan.stall)
            .messages()
            .await;
        let mut batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                tally.fail("fetch failed", e);
                break;
            }
        };
        let before = tally.received;
        while let Some(msg) = batch.next().await {
            let msg = match msg {
                Ok(msg) => msg,
                Err(e) => {
                    tally.fail("fetch failed", e);
                    break 'drain;
                }
            };
            tally.got(msg.payload.len());
            if explicit {
                if let Err(e) = msg.ack().await {
                    tally.fail("ack failed", e);
                    break 'drain;
                }
            }
        }
        if tally.received > before {
            last_progress = Instant::now();
        } else if last_progress.elapsed() > plan.stall {
            tally.stalled();
            break;
        }
    }
    tally.flush(&client).await;
    Ok(tally.finish(0))
}

/// Drains a durable pull consumer through async-nats' continuous pull (`messages()`, which
/// keeps pull requests of `batch` outstanding), acking as `fetch` does.
pub async fn consume(global: &Global, plan: &DrainPlan) -> Result<Drained> {
    let (client, consumer) = durable_pull(global, plan, "weir-bench-js-consume").await?;
    let explicit = plan.spec.ack == AckMode::Explicit;
    let mut tally = Tally::new(plan);
    let mut messages = consumer
        .stream()
        .max_messages_per_batch(plan.batch)
        .messages()
        .await
        .map_err(|e| CliError::nats("cannot start the continuous pull", e))?;
    while tally.received < plan.expected {
        let msg = match tokio::time::timeout(plan.stall, messages.next()).await {
            Ok(Some(Ok(msg))) => msg,
            Ok(Some(Err(e))) => {
                tally.fail("consume failed", e);
                break;
            }
            Ok(None) => {
                tally.fail("consume failed", "the message stream ended");
                break;
            }
            Err(_) => {
                tally.stalled();
                break;
            }
        };
        tally.got(msg.payload.len());
        if explicit {
            if let Err(e) = msg.ack().await {
                tally.fail("ack failed", e);
                break;
            }
        }
    }
    tally.flush(&client).await;
    Ok(tally.finish(0))
}

/// Subscribes to the deliver subject, creates the push consumer (timed from there) and
/// drains it. Acks are what `jetstream::Message::ack` sends (an empty publish to the reply),
/// written through the same client without wrapping each message in a JetStream context.
pub async fn push(global: &Global, admin: &Client, plan: &DrainPlan) -> Result<Drained> {
    let deliver =
        plan.spec.deliver_subject.clone().ok_or_else(|| {
            CliError::Usage("a push consumer needs a deliver subject".to_string())
        })?;
    let client = global
        .connect_with(options(global, "weir-bench-js-push", plan, plan.expected))
        .await?;
    let mut sub = client
        .subscribe(deliver.clone())
        .await
        .map_err(|e| CliError::nats(format!("cannot subscribe to {deliver}"), e))?;
    client
        .flush()
        .await
        .map_err(|e| CliError::nats("cannot register the subscription", e))?;
    let explicit = plan.spec.ack == AckMode::Explicit;
    let mut tally = Tally::new(plan);
    consumer_api::create(admin, &global.server, &plan.spec).await?;
    while tally.received < plan.expected {
        let msg = match tokio::time::timeout(plan.stall, sub.next()).await {
            Ok(Some(msg)) => msg,
            Ok(None) => {
                tally.fail("subscription", "closed by the client");
                break;
            }
            Err(_) => {
                tally.stalled();
                break;
            }
        };
        let is_data = msg.status.is_none();
        if is_data {
            tally.got(msg.payload.len());
        }
        // Acks, and answers to flow-control requests (statuses with a reply).
        if let (true, Some(reply)) = (explicit || !is_data, msg.reply) {
            if let Err(e) = client.publish(reply, Bytes::new()).await {
                tally.fail("ack failed", e);
                break;
            }
        }
    }
    tally.flush(&client).await;
    Ok(tally.finish(0))
}

/// Counts an ordered consumer's messages and checks their stream sequences run 1, 2, 3, ...
async fn drain_ordered<S, E>(mut messages: S, tally: &mut Tally<'_>) -> u64
where
    S: Stream<Item = std::result::Result<jetstream::Message, E>> + Unpin,
    E: Display,
{
    let (mut last_seq, mut out_of_order) = (0u64, 0u64);
    while tally.received < tally.plan.expected {
        let msg = match tokio::time::timeout(tally.plan.stall, messages.next()).await {
            Ok(Some(Ok(msg))) => msg,
            Ok(Some(Err(e))) => {
                tally.fail("ordered consumer", e);
                break;
            }
            Ok(None) => {
                tally.fail("ordered consumer", "the message stream ended");
                break;
            }
            Err(_) => {
                tally.stalled();
                break;
            }
        };
        tally.got(msg.payload.len());
        let seq = msg.info().map(|info| info.stream_sequence).unwrap_or(0);
        if seq != last_seq + 1 {
            out_of_order += 1;
        }
        last_seq = seq;
    }
    out_of_order
}

fn ordered_error(global: &Global, e: impl Display) -> CliError {
    let text = e.to_string();
    if text.to_lowercase().contains("no responders") {
        return CliError::Unsupported(format!(
            "the server at {} does not serve JetStream consumers: creating the ordered \
             consumer got no responders ({text})",
            global.server
        ));
    }
    CliError::BenchIncomplete(format!("cannot start the ordered consumer: {text}"))
}

/// Replays the whole stream with an async-nats ordered consumer, timed from its creation.
pub async fn ordered(global: &Global, kind: OrderedKind, plan: &DrainPlan) -> Result<Drained> {
    let client = global
        .connect_with(options(
            global,
            "weir-bench-js-ordered",
            plan,
            plan.expected,
        ))
        .await?;
    let stream = stream_handle(client, &plan.spec.stream).await?;
    let mut tally = Tally::new(plan);
    let out_of_order = match kind {
        OrderedKind::Pull => {
            let config = pull::OrderedConfig {
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            };
            let consumer = stream
                .create_consumer(config)
                .await
                .map_err(|e| ordered_error(global, e))?;
            let messages = consumer
                .messages()
                .await
                .map_err(|e| ordered_error(global, e))?;
            drain_ordered(messages, &mut tally).await
        }
        OrderedKind::Push => {
            let config = push::OrderedConfig {
                deliver_subject: format!("_INBOX.{}", nuid::next()),
                deliver_policy: DeliverPolicy::All,
                ..Default::default()
            };
            let consumer = stream
                .create_consumer(config)
                .await
                .map_err(|e| ordered_error(global, e))?;
            let messages = consumer
                .messages()
                .await
                .map_err(|e| ordered_error(global, e))?;
            drain_ordered(messages, &mut tally).await
        }
    };
    Ok(tally.finish(out_of_order))
}
