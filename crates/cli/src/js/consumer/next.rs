//! `weir consumer next` and `weir consumer sub`: reading messages through a consumer, printing
//! them as the `nats` CLI does and acknowledging each one before saying so.

use std::time::Duration;

use async_nats::{Client, Message, Request, RequestErrorKind, StatusCode, Subscriber};
use bytes::Bytes;
use clap::Args;
use futures::StreamExt;
use serde_json::{json, Value};

use super::render::{message_json, message_text};
use crate::args::parse_ttl;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::js::api::Api;
use crate::output::{clock, emit, log};

#[derive(Debug, Args)]
pub struct NextArgs {
    /// Stream name
    pub stream: String,
    /// Pull consumer name
    pub consumer: String,
    /// Number of messages to fetch
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Do not acknowledge the messages
    #[arg(long, conflicts_with_all = ["nak", "term"])]
    pub no_ack: bool,
    /// Negatively acknowledge the messages (the server redelivers them)
    #[arg(long, conflicts_with = "term")]
    pub nak: bool,
    /// Terminate the messages (the server never redelivers them)
    #[arg(long)]
    pub term: bool,
    /// How long to wait for each message (default: --timeout)
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub wait: Option<Duration>,
    /// Print only the message bodies
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct SubArgs {
    /// Stream name
    pub stream: String,
    /// Consumer name (pull or push)
    pub consumer: String,
    /// Exit after this many messages (0 = run until interrupted)
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Do not acknowledge the messages
    #[arg(long)]
    pub no_ack: bool,
    /// Print only the message bodies
    #[arg(long)]
    pub raw: bool,
}

/// What is sent back for each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Ack,
    Nak,
    Term,
    None,
}

impl Answer {
    fn payload(self) -> &'static str {
        match self {
            Answer::Ack => "+ACK",
            Answer::Nak => "-NAK",
            Answer::Term => "+TERM",
            Answer::None => "",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Answer::Ack => "ack",
            Answer::Nak => "nak",
            Answer::Term => "term",
            Answer::None => "none",
        }
    }

    fn done(self) -> &'static str {
        match self {
            Answer::Ack => "Acknowledged message",
            Answer::Nak => "Negative Acknowledged message",
            Answer::Term => "Terminated message",
            Answer::None => "",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Display {
    Pretty,
    Raw,
    Json,
}

/// Reads messages and acknowledges them; shared by `next` and `sub`.
struct Reader {
    client: Client,
    ack: Answer,
    display: Display,
    /// How long to wait for the server to confirm an acknowledgement.
    ack_timeout: Duration,
}

impl Reader {
    /// Prints `msg`, sends its acknowledgement and, once the server has it, says so.
    async fn handle(&self, msg: &Message) -> Result<()> {
        if self.display == Display::Pretty {
            emit(&message_text(msg, &clock()))?;
        }
        self.acknowledge(msg).await?;
        match self.display {
            Display::Pretty if self.ack == Answer::None => emit("\n"),
            Display::Pretty => emit(&format!("\n{}\n\n", self.ack.done())),
            Display::Raw => {
                let mut body = msg.payload.to_vec();
                body.push(b'\n');
                emit(&String::from_utf8_lossy(&body))
            }
            Display::Json => {
                let line = serde_json::to_string(&message_json(msg, self.ack.name()))
                    .map_err(|e| CliError::Usage(format!("cannot encode message as JSON: {e}")))?;
                emit(&format!("{line}\n"))
            }
        }
    }

    /// Sends the acknowledgement as a request, so the server's reply confirms it. A server
    /// that does not answer acknowledgement requests gets the ack flushed instead: the flush
    /// returns once the server has read everything sent before it.
    async fn acknowledge(&self, msg: &Message) -> Result<()> {
        let Some(reply) = msg.reply.clone().filter(|_| self.ack != Answer::None) else {
            return Ok(());
        };
        let payload = Bytes::from_static(self.ack.payload().as_bytes());
        let request = Request::new()
            .payload(payload.clone())
            .timeout(Some(self.ack_timeout));
        let failed = |e: async_nats::Error| {
            CliError::nats(format!("cannot acknowledge the message via {reply}"), e)
        };
        match self.client.send_request(reply.clone(), request).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == RequestErrorKind::TimedOut => {
                self.client.flush().await.map_err(|e| failed(e.into()))
            }
            Err(e) if e.kind() == RequestErrorKind::NoResponders => {
                self.client
                    .publish(reply.clone(), payload)
                    .await
                    .map_err(|e| failed(e.into()))?;
                self.client.flush().await.map_err(|e| failed(e.into()))
            }
            Err(e) => Err(failed(e.into())),
        }
    }
}

fn display(global: &Global, raw: bool) -> Display {
    if global.json {
        Display::Json
    } else if raw {
        Display::Raw
    } else {
        Display::Pretty
    }
}

/// The consumer's info, for its mode and ack policy.
async fn load(api: &Api, stream: &str, consumer: &str) -> Result<Value> {
    api.call(&format!("CONSUMER.INFO.{stream}.{consumer}"), "")
        .await
}

fn is_push(info: &Value) -> bool {
    info["config"]["deliver_subject"]
        .as_str()
        .is_some_and(|s| !s.is_empty())
}

/// One pull request for a single message, waiting up to `wait`. `Ok(None)` when the server
/// has none to give within that time.
async fn pull_one(
    client: &Client,
    inbox: &mut Subscriber,
    inbox_subject: &str,
    stream: &str,
    consumer: &str,
    wait: Duration,
) -> Result<Option<Message>> {
    let subject = format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}");
    let expires = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
    let body = json!({"batch": 1, "expires": expires}).to_string();
    client
        .publish_with_reply(subject.clone(), inbox_subject.to_string(), body.into())
        .await
        .map_err(|e| CliError::nats(format!("cannot send the pull request to {subject}"), e))?;
    // The server answers by `expires` with a message or a 408; allow for a slow server.
    let deadline = tokio::time::Instant::now() + wait + Duration::from_secs(2);
    loop {
        let msg = match tokio::time::timeout_at(deadline, inbox.next()).await {
            Err(_) => return Ok(None),
            Ok(None) => {
                return Err(CliError::Unsupported(
                    "the connection to the server closed while waiting for a message".to_string(),
                ))
            }
            Ok(Some(msg)) => msg,
        };
        let Some(status) = msg.status else {
            return Ok(Some(msg));
        };
        let description = msg.description.clone().unwrap_or_default();
        match status {
            StatusCode::IDLE_HEARTBEAT => continue,
            StatusCode::NOT_FOUND | StatusCode::TIMEOUT => return Ok(None),
            StatusCode::NO_RESPONDERS => {
                return Err(CliError::Unsupported(format!(
                    "nothing answered the pull request for {stream} > {consumer}: was the \
                     consumer deleted? check with `weir consumer info {stream} {consumer}`"
                )))
            }
            StatusCode::REQUEST_TERMINATED if description.contains("push") => {
                return Err(push_error(stream, consumer))
            }
            StatusCode::REQUEST_TERMINATED if description.contains("Deleted") => {
                return Err(CliError::Unsupported(format!(
                    "consumer {stream} > {consumer} was deleted while reading from it"
                )))
            }
            _ if msg.reply.is_some() && status == StatusCode::OK => return Ok(Some(msg)),
            _ => {
                return Err(CliError::Unsupported(format!(
                    "the server ended the pull request for {stream} > {consumer}: {status} \
                     {description}"
                )))
            }
        }
    }
}

fn push_error(stream: &str, consumer: &str) -> CliError {
    CliError::Usage(format!(
        "consumer {stream} > {consumer} is a push consumer: read it with `weir consumer sub \
         {stream} {consumer}`"
    ))
}

fn ack_for(info: &Value, no_ack: bool) -> Answer {
    if no_ack || info["config"]["ack_policy"].as_str() == Some("none") {
        Answer::None
    } else {
        Answer::Ack
    }
}

pub async fn next(global: &Global, args: &NextArgs) -> Result<()> {
    let (stream, consumer) = (&args.stream, &args.consumer);
    let api = Api::connect(global, "weir-consumer-next").await?;
    let info = load(&api, stream, consumer).await?;
    if is_push(&info) {
        return Err(push_error(stream, consumer));
    }
    let ack = match ack_for(&info, args.no_ack) {
        Answer::None => Answer::None,
        _ if args.nak => Answer::Nak,
        _ if args.term => Answer::Term,
        other => other,
    };
    let reader = Reader {
        client: api.client.clone(),
        ack,
        display: display(global, args.raw),
        ack_timeout: global.timeout,
    };
    let wait = args.wait.unwrap_or(global.timeout);
    let inbox_subject = api.client.new_inbox();
    let mut inbox = api
        .client
        .subscribe(inbox_subject.clone())
        .await
        .map_err(|e| CliError::nats("cannot subscribe to the reply inbox", e))?;
    for received in 0..args.count {
        let msg = pull_one(
            &api.client,
            &mut inbox,
            &inbox_subject,
            stream,
            consumer,
            wait,
        )
        .await?;
        let Some(msg) = msg else {
            let progress = if received > 0 {
                format!(" (received {received} of {})", args.count)
            } else {
                String::new()
            };
            return Err(CliError::Unsupported(format!(
                "no message received within {}{progress}: consumer {stream} > {consumer} has no \
                 messages waiting; publish some, or wait longer with --wait",
                human(wait)
            )));
        };
        reader.handle(&msg).await?;
    }
    Ok(())
}

fn human(d: Duration) -> String {
    crate::output::human_duration(d)
}

pub async fn sub(global: &Global, args: &SubArgs) -> Result<()> {
    let (stream, consumer) = (&args.stream, &args.consumer);
    let api = Api::connect(global, "weir-consumer-sub").await?;
    let info = load(&api, stream, consumer).await?;
    let reader = Reader {
        client: api.client.clone(),
        ack: ack_for(&info, args.no_ack),
        display: display(global, args.raw),
        ack_timeout: global.timeout,
    };
    let limit = if args.count == 0 {
        u64::MAX
    } else {
        args.count
    };
    if is_push(&info) {
        return sub_push(&api, &info, &reader, limit).await;
    }
    let inbox_subject = api.client.new_inbox();
    let mut inbox = api
        .client
        .subscribe(inbox_subject.clone())
        .await
        .map_err(|e| CliError::nats("cannot subscribe to the reply inbox", e))?;
    log(format!(
        "Consuming from pull consumer {stream} > {consumer} (acknowledging: {})",
        reader.ack != Answer::None
    ));
    let mut received = 0;
    while received < limit {
        let wait = Duration::from_secs(5);
        if let Some(msg) = pull_one(
            &api.client,
            &mut inbox,
            &inbox_subject,
            stream,
            consumer,
            wait,
        )
        .await?
        {
            reader.handle(&msg).await?;
            received += 1;
        }
    }
    Ok(())
}

async fn sub_push(api: &Api, info: &Value, reader: &Reader, limit: u64) -> Result<()> {
    let config = &info["config"];
    let subject = config["deliver_subject"].as_str().unwrap_or("").to_string();
    let group = config["deliver_group"].as_str().unwrap_or("").to_string();
    let subscribed = if group.is_empty() {
        api.client.subscribe(subject.clone()).await
    } else {
        api.client
            .queue_subscribe(subject.clone(), group.clone())
            .await
    };
    let mut messages =
        subscribed.map_err(|e| CliError::nats(format!("cannot subscribe to {subject}"), e))?;
    api.client
        .flush()
        .await
        .map_err(|e| CliError::nats("cannot flush the subscription", e))?;
    let queue = if group.is_empty() {
        String::new()
    } else {
        format!(" in queue group {group}")
    };
    log(format!(
        "Subscribing to push consumer {} > {} on {subject}{queue} (acknowledging: {})",
        info["stream_name"].as_str().unwrap_or(""),
        info["name"].as_str().unwrap_or(""),
        reader.ack != Answer::None
    ));
    let mut received = 0;
    while received < limit {
        let Some(msg) = messages.next().await else {
            return Err(CliError::Unsupported(
                "the connection to the server closed".to_string(),
            ));
        };
        if msg.status == Some(StatusCode::IDLE_HEARTBEAT) {
            answer_control(&api.client, &msg).await?;
            continue;
        }
        if msg.status.is_some() {
            continue;
        }
        reader.handle(&msg).await?;
        received += 1;
    }
    Ok(())
}

/// Answers a flow-control request (and a stalled heartbeat's pointer to one), so the server
/// keeps delivering.
async fn answer_control(client: &Client, msg: &Message) -> Result<()> {
    let stalled = msg
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Consumer-Stalled"))
        .map(|v| v.as_str().to_string());
    let target = stalled.or_else(|| msg.reply.as_ref().map(|r| r.to_string()));
    if let Some(target) = target.filter(|t| !t.is_empty()) {
        client
            .publish(target, Bytes::new())
            .await
            .map_err(|e| CliError::nats("cannot answer flow control", e))?;
    }
    Ok(())
}
