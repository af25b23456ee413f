//! `weir sub SUBJECT --stream S` (and `--all`, `--last`, `--new`, `--last-per-subject`,
//! `--start-sequence`, `--since`, `--deliver`): replay a stream through an ephemeral ordered
//! consumer, as `nats sub` does. The stream is found from the subject when not named.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, consumer::pull::OrderedConfig, consumer::DeliverPolicy};
use futures::StreamExt;
use serde_json::json;

use super::api::{check_name, Api};
use crate::args::parse_ttl;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{log, rfc3339_utc};
use crate::pubsub::{print_titled, Display};
use crate::SubArgs;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct ReplayArgs {
    /// Replay from this stream (found from the subject when only a delivery flag is given)
    #[arg(long)]
    pub stream: Option<String>,
    /// Deliver every message in the stream, then new ones
    #[arg(long, conflicts_with_all = ["last", "new", "last_per_subject", "start_sequence", "since", "deliver"])]
    pub all: bool,
    /// Deliver the most recent message, then new ones
    #[arg(long, conflicts_with_all = ["new", "last_per_subject", "start_sequence", "since", "deliver"])]
    pub last: bool,
    /// Deliver only messages stored from now on
    #[arg(long, conflicts_with_all = ["last_per_subject", "start_sequence", "since", "deliver"])]
    pub new: bool,
    /// Deliver the last message of each subject, then new ones
    #[arg(long, conflicts_with_all = ["start_sequence", "since", "deliver"])]
    pub last_per_subject: bool,
    /// Deliver from this stream sequence on
    #[arg(long, conflicts_with_all = ["since", "deliver"])]
    pub start_sequence: Option<u64>,
    /// Deliver messages stored within this long ago (e.g. 1h, 30m, 2d)
    #[arg(long, value_parser = parse_ttl, conflicts_with = "deliver")]
    pub since: Option<Duration>,
    /// Where to start: all, last, new, last-per-subject, a sequence, or a duration ago (1h)
    #[arg(long, value_parser = parse_deliver)]
    pub deliver: Option<Deliver>,
}

/// A `--deliver` choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Deliver {
    All,
    Last,
    New,
    LastPerSubject,
    Sequence(u64),
    Ago(Duration),
}

impl std::fmt::Display for Deliver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Deliver::All => write!(f, "all messages"),
            Deliver::Last => write!(f, "from the last message"),
            Deliver::New => write!(f, "new messages"),
            Deliver::LastPerSubject => write!(f, "the last message of each subject"),
            Deliver::Sequence(seq) => write!(f, "from sequence {seq}"),
            Deliver::Ago(ago) => write!(f, "from {} ago", crate::output::human_duration(*ago)),
        }
    }
}

pub fn parse_deliver(text: &str) -> std::result::Result<Deliver, String> {
    match text.trim() {
        "all" => Ok(Deliver::All),
        "last" => Ok(Deliver::Last),
        "new" => Ok(Deliver::New),
        "last-per-subject" | "subject" => Ok(Deliver::LastPerSubject),
        other => match other.parse::<u64>() {
            Ok(seq) if seq > 0 => Ok(Deliver::Sequence(seq)),
            Ok(_) => Err("a start sequence must be at least 1".to_string()),
            Err(_) => parse_ttl(other).map(Deliver::Ago).map_err(|_| {
                format!(
                    "invalid --deliver {other:?}: use all, last, new, last-per-subject, a \
                     sequence number or a duration ago such as 1h"
                )
            }),
        },
    }
}

impl ReplayArgs {
    /// Whether the subscription reads from JetStream.
    pub fn wanted(&self) -> bool {
        self.stream.is_some()
            || self.all
            || self.last
            || self.new
            || self.last_per_subject
            || self.start_sequence.is_some()
            || self.since.is_some()
            || self.deliver.is_some()
    }

    fn deliver(&self) -> Deliver {
        if let Some(deliver) = &self.deliver {
            return deliver.clone();
        }
        match (self.last, self.new, self.last_per_subject) {
            (true, _, _) => Deliver::Last,
            (_, true, _) => Deliver::New,
            (_, _, true) => Deliver::LastPerSubject,
            _ => match (self.start_sequence, self.since) {
                (Some(seq), _) => Deliver::Sequence(seq),
                (_, Some(ago)) => Deliver::Ago(ago),
                _ => Deliver::All,
            },
        }
    }
}

fn policy(deliver: &Deliver) -> Result<DeliverPolicy> {
    Ok(match deliver {
        Deliver::All => DeliverPolicy::All,
        Deliver::Last => DeliverPolicy::Last,
        Deliver::New => DeliverPolicy::New,
        Deliver::LastPerSubject => DeliverPolicy::LastPerSubject,
        Deliver::Sequence(start_sequence) => DeliverPolicy::ByStartSequence {
            start_sequence: *start_sequence,
        },
        Deliver::Ago(ago) => {
            let since = SystemTime::now()
                .checked_sub(*ago)
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .unwrap_or_default();
            let start_time = async_nats::jetstream::consumer::DeliverPolicy::ByStartTime {
                start_time: async_nats::datetime::from_nanos(since.as_nanos() as i128)
                    .map_err(|e| CliError::Usage(format!("invalid start time: {e}")))?,
            };
            return Ok(start_time);
        }
    })
}

/// The stream that stores `subject`, from STREAM.NAMES with a subject filter.
async fn stream_for(api: &Api, subject: &str) -> Result<String> {
    let answer = api
        .call_json("STREAM.NAMES", &json!({ "subject": subject }))
        .await?;
    let names: Vec<&str> = answer["streams"]
        .as_array()
        .map(|a| a.iter().filter_map(|n| n.as_str()).collect())
        .unwrap_or_default();
    match names.as_slice() {
        [one] => Ok(one.to_string()),
        [] => Err(CliError::Usage(format!(
            "no stream stores {subject:?}: add one with `weir stream add NAME --subjects \
             {subject}`, or name it with --stream"
        ))),
        many => Err(CliError::Usage(format!(
            "{subject:?} is stored by several streams ({}): pick one with --stream",
            many.join(", ")
        ))),
    }
}

pub async fn run(global: &Global, args: &SubArgs) -> Result<()> {
    if args.queue.is_some() {
        return Err(CliError::Usage(
            "--queue cannot be used when replaying a stream".to_string(),
        ));
    }
    let replay = &args.replay;
    let deliver = replay.deliver();
    let api = Api::connect(global, "weir sub").await?;
    let stream_name = match &replay.stream {
        Some(name) => {
            check_name("stream", name)?;
            // Fails with the fix when the stream does not exist.
            api.call(&format!("STREAM.INFO.{name}"), "").await?;
            name.clone()
        }
        None => stream_for(&api, &args.subject).await?,
    };
    let js = jetstream::new(api.client.clone());
    let stream = js
        .get_stream(&stream_name)
        .await
        .map_err(|e| CliError::nats(format!("cannot open stream {stream_name}"), e))?;
    let filter_subject = if args.subject == ">" {
        String::new()
    } else {
        args.subject.clone()
    };
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject,
            deliver_policy: policy(&deliver)?,
            ..OrderedConfig::default()
        })
        .await
        .map_err(|e| CliError::nats(format!("cannot replay stream {stream_name}"), e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| CliError::nats(format!("cannot replay stream {stream_name}"), e))?;
    log(format!(
        "Subscribing to JetStream stream {stream_name} on {}, delivering {deliver}",
        args.subject
    ));
    let display = Display::choose(global, args.raw);
    let mut received = 0u64;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    while args.count == 0 || received < args.count {
        let message = tokio::select! {
            message = messages.next() => message,
            _ = &mut ctrl_c => break,
        };
        let message = match message {
            Some(Ok(message)) => message,
            Some(Err(e)) => {
                return Err(CliError::nats(format!("replaying {stream_name}"), e));
            }
            None => break,
        };
        received += 1;
        let title = match message.info() {
            Ok(info) => {
                let nanos = info.published.unix_timestamp_nanos();
                format!(
                    "[#{received}] Received JetStream message: stream: {} seq {} / subject: {:?} / time: {}",
                    info.stream,
                    info.stream_sequence,
                    message.subject.as_str(),
                    rfc3339_utc(
                        (nanos / 1_000_000_000) as i64,
                        (nanos % 1_000_000_000) as u32
                    )
                )
            }
            Err(_) => format!(
                "[#{received}] Received JetStream message on {:?}",
                message.subject.as_str()
            ),
        };
        print_titled(&title, &message, display)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliver_choices_parse() {
        assert_eq!(parse_deliver("all"), Ok(Deliver::All));
        assert_eq!(
            parse_deliver("last-per-subject"),
            Ok(Deliver::LastPerSubject)
        );
        assert_eq!(parse_deliver("42"), Ok(Deliver::Sequence(42)));
        assert_eq!(
            parse_deliver("1h"),
            Ok(Deliver::Ago(Duration::from_secs(3600)))
        );
        assert!(parse_deliver("0").is_err());
        assert!(parse_deliver("sometimes").is_err_and(|e| e.contains("--deliver")));
    }

    #[test]
    fn flags_choose_the_start() {
        let last = ReplayArgs {
            last: true,
            ..ReplayArgs::default()
        };
        assert!(last.wanted());
        assert_eq!(last.deliver(), Deliver::Last);
        assert!(!ReplayArgs::default().wanted());
        let seq = ReplayArgs {
            start_sequence: Some(5),
            ..ReplayArgs::default()
        };
        assert_eq!(seq.deliver(), Deliver::Sequence(5));
    }
}
