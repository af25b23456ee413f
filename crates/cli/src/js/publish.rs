//! `weir pub --wait` (`-J`, `--jetstream`): publish as a request and wait for the stream's
//! publish ack, printing the stream and sequence that stored each message. `--id` and the
//! `--expected-*` flags set the headers nats-server checks before storing.

use bytes::Bytes;
use serde_json::Value;

use super::api::{api_error, Api};
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::{emit, log};
use crate::pubsub::HeaderTemplates;
use crate::template::Template;
use crate::PubArgs;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct JsPubArgs {
    /// Wait for the JetStream publish ack and print the stream and sequence that stored it
    #[arg(long = "wait", short = 'J', visible_alias = "jetstream")]
    pub wait: bool,
    /// Message ID for the stream's duplicate detection (Nats-Msg-Id; templates allowed)
    #[arg(long, requires = "wait")]
    pub id: Option<String>,
    /// Store only if the subject belongs to this stream (Nats-Expected-Stream)
    #[arg(long, requires = "wait")]
    pub expected_stream: Option<String>,
    /// Store only if the stream's last sequence is this (Nats-Expected-Last-Sequence)
    #[arg(long, requires = "wait")]
    pub expected_last_seq: Option<u64>,
    /// Store only if the subject's last sequence is this (Nats-Expected-Last-Subject-Sequence)
    #[arg(long, requires = "wait")]
    pub expected_last_subject_seq: Option<u64>,
    /// Store only if the stream's last message ID is this (Nats-Expected-Last-Msg-Id)
    #[arg(long, requires = "wait")]
    pub expected_last_msg_id: Option<String>,
}

impl JsPubArgs {
    /// The fixed JetStream headers these flags ask for (the message ID is a template).
    fn fixed_headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if let Some(stream) = &self.expected_stream {
            headers.push(("Nats-Expected-Stream", stream.clone()));
        }
        if let Some(seq) = self.expected_last_seq {
            headers.push(("Nats-Expected-Last-Sequence", seq.to_string()));
        }
        if let Some(seq) = self.expected_last_subject_seq {
            headers.push(("Nats-Expected-Last-Subject-Sequence", seq.to_string()));
        }
        if let Some(id) = &self.expected_last_msg_id {
            headers.push(("Nats-Expected-Last-Msg-Id", id.clone()));
        }
        headers
    }
}

/// A publish ack as the person reading it needs it.
#[derive(Debug, PartialEq, Eq)]
pub struct PubAck {
    pub stream: String,
    pub seq: u64,
    pub duplicate: bool,
}

/// Reads a publish ack (`{"stream":"ORDERS","seq":1}`), or the error the stream answered.
pub fn parse_ack(answer: &Value) -> std::result::Result<PubAck, String> {
    if let Some(err) = api_error(answer) {
        return Err(err.description);
    }
    match (answer["stream"].as_str(), answer["seq"].as_u64()) {
        (Some(stream), Some(seq)) => Ok(PubAck {
            stream: stream.to_string(),
            seq,
            duplicate: answer["duplicate"].as_bool() == Some(true),
        }),
        _ => Err(format!("not a publish ack: {answer}")),
    }
}

pub async fn run(global: &Global, args: &PubArgs, body: &Template) -> Result<()> {
    let api = Api::connect(global, "weir pub").await?;
    let subject = args.subject.clone();
    let user_headers = HeaderTemplates::new(&args.headers);
    let fixed = args.jetstream.fixed_headers();
    let id = args.jetstream.id.as_deref().map(Template::parse);
    for count in 1..=args.count {
        let payload = Bytes::from(body.render(count));
        let size = payload.len();
        let mut headers = user_headers.render(count).unwrap_or_default();
        for (name, value) in &fixed {
            headers.insert(*name, value.as_str());
        }
        if let Some(id) = &id {
            headers.insert("Nats-Msg-Id", id.render(count).as_str());
        }
        let reply = api
            .client
            .request_with_headers(subject.clone(), headers, payload)
            .await
            .map_err(|e| match e.kind() {
                async_nats::RequestErrorKind::NoResponders => CliError::NoResponders {
                    subject: subject.clone(),
                    hint: format!(
                        " — no stream stores this subject: add one with `weir stream add NAME \
                         --subjects {subject}` (the server needs JetStream: start it with -js)"
                    ),
                },
                async_nats::RequestErrorKind::TimedOut => CliError::RequestTimeout {
                    subject: format!("the publish ack for {subject}"),
                    timeout_ms: global.timeout.as_millis(),
                },
                _ => CliError::nats(format!("cannot publish to {subject:?}"), e),
            })?;
        let answer: Value =
            serde_json::from_slice(&reply.payload).map_err(|e| CliError::Protocol {
                url: global.server.clone(),
                message: format!("the publish ack is not JSON: {e}"),
            })?;
        if let Some(err) = api_error(&answer) {
            return Err(api.explain(err));
        }
        let ack = parse_ack(&answer).map_err(|message| CliError::Protocol {
            url: global.server.clone(),
            message,
        })?;
        if global.json {
            emit(&format!("{answer}\n"))?;
        } else {
            log(format!("Published {size} bytes to {subject:?}"));
            let duplicate = if ack.duplicate { " (duplicate)" } else { "" };
            emit(&format!(
                "Stored in Stream: {} Sequence: {}{duplicate}\n",
                ack.stream, ack.seq
            ))?;
        }
        if let Some(pause) = args.sleep {
            tokio::time::sleep(pause).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn acks_and_errors_parse() {
        assert_eq!(
            parse_ack(&json!({"stream": "ORDERS", "seq": 2})),
            Ok(PubAck {
                stream: "ORDERS".into(),
                seq: 2,
                duplicate: false
            })
        );
        assert!(
            parse_ack(&json!({"stream": "O", "seq": 1, "duplicate": true}))
                .is_ok_and(|a| a.duplicate)
        );
        assert_eq!(
            parse_ack(&json!({"error": {"code": 400, "err_code": 10071,
                "description": "wrong last sequence: 1"}})),
            Err("wrong last sequence: 1".to_string())
        );
    }

    #[test]
    fn expected_flags_become_headers() {
        let args = JsPubArgs {
            wait: true,
            expected_stream: Some("ORDERS".into()),
            expected_last_seq: Some(3),
            ..JsPubArgs::default()
        };
        assert_eq!(
            args.fixed_headers(),
            vec![
                ("Nats-Expected-Stream", "ORDERS".to_string()),
                ("Nats-Expected-Last-Sequence", "3".to_string())
            ]
        );
    }
}
