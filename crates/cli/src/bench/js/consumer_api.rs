//! The consumer half of the JetStream API the consumer benchmarks need, as plain JSON
//! requests: create a durable consumer and read its state.

use std::time::{Duration, Instant};

use async_nats::Client;
use serde::Serialize;
use serde_json::{json, Value};

use super::api::{api_failure, try_call};
use crate::error::{CliError, Result};

/// How the consumer wants its messages acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AckMode {
    /// Ack every message (`ack_policy: explicit`)
    Explicit,
    /// No acks (`ack_policy: none`)
    None,
}

impl AckMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AckMode::Explicit => "explicit",
            AckMode::None => "none",
        }
    }
}

/// A durable consumer the benchmark creates.
#[derive(Debug, Clone)]
pub struct ConsumerSpec {
    pub stream: String,
    pub name: String,
    pub ack: AckMode,
    /// Push consumers deliver here; pull consumers have none.
    pub deliver_subject: Option<String>,
    pub filter_subject: Option<String>,
    pub max_ack_pending: i64,
}

impl ConsumerSpec {
    /// The `config` object: deliver everything, instantly, from the first message.
    pub fn config(&self) -> Value {
        let mut config = json!({
            "durable_name": self.name,
            "name": self.name,
            "deliver_policy": "all",
            "ack_policy": self.ack.as_str(),
            "replay_policy": "instant",
            "max_deliver": -1,
        });
        if self.ack == AckMode::Explicit {
            config["max_ack_pending"] = json!(self.max_ack_pending);
            config["ack_wait"] = json!(Duration::from_secs(30).as_nanos() as u64);
        }
        if let Some(deliver) = &self.deliver_subject {
            config["deliver_subject"] = json!(deliver);
        }
        if let Some(filter) = &self.filter_subject {
            config["filter_subject"] = json!(filter);
        }
        config
    }

    /// `$JS.API.CONSUMER.CREATE.<stream>.<name>[.<filter>]`, as async-nats sends it.
    pub fn create_subject(&self) -> String {
        match &self.filter_subject {
            Some(filter) => format!(
                "$JS.API.CONSUMER.CREATE.{}.{}.{filter}",
                self.stream, self.name
            ),
            None => format!("$JS.API.CONSUMER.CREATE.{}.{}", self.stream, self.name),
        }
    }

    /// Where a pull consumer takes fetch requests.
    pub fn next_subject(&self) -> String {
        format!("$JS.API.CONSUMER.MSG.NEXT.{}.{}", self.stream, self.name)
    }
}

/// The part of a consumer's state the benchmarks check after draining.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ConsumerState {
    /// Deliveries made (`delivered.consumer_seq`), redeliveries included.
    pub delivered_msgs: u64,
    pub delivered_stream_seq: u64,
    pub ack_floor_stream_seq: u64,
    /// Messages matching the consumer not delivered yet.
    pub num_pending: u64,
    /// Delivered, not acknowledged yet.
    pub num_ack_pending: u64,
    pub num_redelivered: u64,
}

pub fn parse_consumer_state(info: &Value) -> Option<ConsumerState> {
    let u = |v: &Value| v.as_u64().unwrap_or(0);
    Some(ConsumerState {
        delivered_msgs: u(info.get("delivered")?.get("consumer_seq")?),
        delivered_stream_seq: u(&info["delivered"]["stream_seq"]),
        ack_floor_stream_seq: u(&info["ack_floor"]["stream_seq"]),
        num_pending: u(&info["num_pending"]),
        num_ack_pending: u(&info["num_ack_pending"]),
        num_redelivered: u(&info["num_redelivered"]),
    })
}

/// The error for a server that streams work on but does not answer consumer requests.
fn no_consumers(url: &str, subject: &str) -> CliError {
    CliError::Unsupported(format!(
        "the server at {url} does not serve JetStream consumers: nothing answers {subject} \
         (JetStream is enabled, but its consumer API is not served)"
    ))
}

/// Checks that the server answers consumer requests at all (before the stream is filled):
/// asks for the info of a consumer that does not exist, which a server with consumers
/// answers with an error.
pub async fn require_consumers(client: &Client, url: &str, stream: &str) -> Result<()> {
    let subject = format!("$JS.API.CONSUMER.INFO.{stream}.weir-bench-probe");
    match try_call(client, subject.clone(), String::new()).await? {
        None => Err(no_consumers(url, &subject)),
        Some(_) => Ok(()),
    }
}

/// Creates the durable consumer.
pub async fn create(client: &Client, url: &str, spec: &ConsumerSpec) -> Result<()> {
    let subject = spec.create_subject();
    let body = json!({ "stream_name": spec.stream, "config": spec.config() }).to_string();
    match try_call(client, subject.clone(), body).await? {
        None => Err(no_consumers(url, &subject)),
        Some(Err(e)) => Err(api_failure(
            &format!(
                "cannot create consumer {} on stream {}",
                spec.name, spec.stream
            ),
            e,
        )),
        Some(Ok(_)) => Ok(()),
    }
}

/// The consumer's state via `$JS.API.CONSUMER.INFO.<stream>.<name>`.
pub async fn state(client: &Client, url: &str, stream: &str, name: &str) -> Result<ConsumerState> {
    let subject = format!("$JS.API.CONSUMER.INFO.{stream}.{name}");
    let info = match try_call(client, subject.clone(), String::new()).await? {
        None => return Err(no_consumers(url, &subject)),
        Some(reply) => {
            reply.map_err(|e| api_failure(&format!("cannot read consumer {name}"), e))?
        }
    };
    parse_consumer_state(&info).ok_or_else(|| {
        CliError::BenchIncomplete(format!(
            "consumer {name} info has no delivered state: {info}"
        ))
    })
}

/// The consumer's state once every ack sent has been applied (`num_ack_pending` 0), or
/// as it is after `patience`: acks are fire-and-forget, so the last ones may still be on
/// their way when the consumer has received its last message.
pub async fn settled_state(
    client: &Client,
    url: &str,
    spec: &ConsumerSpec,
    patience: Duration,
) -> Result<ConsumerState> {
    let deadline = Instant::now() + patience;
    loop {
        let state = state(client, url, &spec.stream, &spec.name).await?;
        if spec.ack == AckMode::None || state.num_ack_pending == 0 || Instant::now() > deadline {
            return Ok(state);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ConsumerSpec {
        ConsumerSpec {
            stream: "S".to_string(),
            name: "fetch".to_string(),
            ack: AckMode::Explicit,
            deliver_subject: None,
            filter_subject: None,
            max_ack_pending: 5000,
        }
    }

    #[test]
    fn pull_consumer_config_and_subjects() {
        let spec = spec();
        let config = spec.config();
        assert_eq!(config["durable_name"], "fetch");
        assert_eq!(config["ack_policy"], "explicit");
        assert_eq!(config["max_ack_pending"], 5000);
        assert!(config.get("deliver_subject").is_none());
        assert_eq!(spec.create_subject(), "$JS.API.CONSUMER.CREATE.S.fetch");
        assert_eq!(spec.next_subject(), "$JS.API.CONSUMER.MSG.NEXT.S.fetch");
    }

    #[test]
    fn push_and_filtered_consumers() {
        let mut spec = spec();
        spec.ack = AckMode::None;
        spec.deliver_subject = Some("_INBOX.x".to_string());
        spec.filter_subject = Some("b.hot".to_string());
        let config = spec.config();
        assert_eq!(config["ack_policy"], "none");
        assert!(config.get("max_ack_pending").is_none());
        assert_eq!(config["deliver_subject"], "_INBOX.x");
        assert_eq!(config["filter_subject"], "b.hot");
        assert_eq!(
            spec.create_subject(),
            "$JS.API.CONSUMER.CREATE.S.fetch.b.hot"
        );
    }

    #[test]
    fn state_comes_from_consumer_info() {
        let info = json!({
            "name": "fetch",
            "delivered": {"consumer_seq": 10, "stream_seq": 12},
            "ack_floor": {"consumer_seq": 9, "stream_seq": 11},
            "num_ack_pending": 1,
            "num_redelivered": 0,
            "num_pending": 3,
        });
        let state = parse_consumer_state(&info).unwrap();
        assert_eq!(state.delivered_msgs, 10);
        assert_eq!(state.delivered_stream_seq, 12);
        assert_eq!(state.ack_floor_stream_seq, 11);
        assert_eq!((state.num_pending, state.num_ack_pending), (3, 1));
        assert_eq!(parse_consumer_state(&json!({})), None);
    }
}
