//! `weir sub SUBJECT --stream S` (and `--all`, `--last`, `--new`, `--last-per-subject`,
//! `--start-sequence`, `--since`, `--deliver`): replay a stream through an ephemeral ordered
//! consumer, as `nats sub` does. The stream is found from the subject when not named.

use async_nats::jetstream::{self, consumer::pull::OrderedConfig, consumer::DeliverPolicy};
use futures::StreamExt;
use serde_json::json;

use super::api::{check_name, Api};
use super::consumer::args::deliver_policy;
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
    #[arg(long, conflicts_with = "deliver")]
    pub since: Option<String>,
    /// Where to start, as `weir consumer add --deliver` takes it: all, last, new,
    /// last-per-subject, a sequence, an RFC 3339 time or a duration ago (1h)
    #[arg(long)]
    pub deliver: Option<String>,
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

    /// The start in `--deliver`'s terms, whichever flag gave it.
    fn deliver(&self) -> String {
        if let Some(deliver) = self.deliver.as_ref().or(self.since.as_ref()) {
            return deliver.clone();
        }
        match (
            self.last,
            self.new,
            self.last_per_subject,
            self.start_sequence,
        ) {
            (true, ..) => "last".to_string(),
            (_, true, ..) => "new".to_string(),
            (_, _, true, _) => "last-per-subject".to_string(),
            (.., Some(seq)) => seq.to_string(),
            _ => "all".to_string(),
        }
    }
}

/// The deliver policy for a `--deliver` value, read by the same rules as `weir consumer add`.
fn policy(deliver: &str) -> Result<DeliverPolicy> {
    let fields: serde_json::Map<String, serde_json::Value> = deliver_policy(deliver)?
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| CliError::Usage(format!("invalid --deliver {deliver:?}: {e}")))
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
    let deliver_policy = policy(&deliver)?;
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
            deliver_policy,
            ..OrderedConfig::default()
        })
        .await
        .map_err(|e| CliError::nats(format!("cannot replay stream {stream_name}"), e))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| CliError::nats(format!("cannot replay stream {stream_name}"), e))?;
    log(format!(
        "Subscribing to JetStream stream {stream_name} on {}, delivering from {deliver}",
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
    fn flags_choose_the_start() {
        let last = ReplayArgs {
            last: true,
            ..ReplayArgs::default()
        };
        assert!(last.wanted());
        assert_eq!(last.deliver(), "last");
        assert!(!ReplayArgs::default().wanted());
        assert_eq!(ReplayArgs::default().deliver(), "all");
        let seq = ReplayArgs {
            start_sequence: Some(5),
            ..ReplayArgs::default()
        };
        assert_eq!(seq.deliver(), "5");
        let since = ReplayArgs {
            since: Some("1h".to_string()),
            ..ReplayArgs::default()
        };
        assert_eq!(since.deliver(), "1h");
    }

    #[test]
    fn starts_become_deliver_policies() {
        assert_eq!(policy("all").unwrap(), DeliverPolicy::All);
        assert_eq!(
            policy("last-per-subject").unwrap(),
            DeliverPolicy::LastPerSubject
        );
        assert_eq!(
            policy("42").unwrap(),
            DeliverPolicy::ByStartSequence { start_sequence: 42 }
        );
        assert!(matches!(
            policy("1h").unwrap(),
            DeliverPolicy::ByStartTime { .. }
        ));
        assert!(policy("0").is_err());
        assert!(policy("sometimes").is_err_and(|e| e.to_string().contains("--deliver")));
    }
}
