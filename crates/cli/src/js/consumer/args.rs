//! The `weir consumer` command line and how its flags become a consumer config (the JSON the
//! `CONSUMER.CREATE` API takes). Flags not given stay out of the config, so the server's
//! defaults apply.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::next::{NextArgs, SubArgs};
use super::time::{parse_time, parse_when};
use crate::args::{parse_metadata, parse_ttl, MetadataArg};
use crate::error::{CliError, Result};

#[derive(Debug, Subcommand)]
pub enum ConsumerCommand {
    /// Create a durable consumer
    #[command(alias = "create", alias = "new")]
    Add(AddArgs),
    /// Change a consumer's configuration
    #[command(alias = "update")]
    Edit(AddArgs),
    /// Show a consumer's configuration and state
    #[command(alias = "nfo")]
    Info(TargetArgs),
    /// List the consumers of a stream
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Delete a consumer
    #[command(alias = "delete", alias = "del")]
    Rm(RmArgs),
    /// Fetch messages from a pull consumer, acknowledging them
    Next(NextArgs),
    /// Consume messages continuously (pull or push consumers)
    Sub(SubArgs),
    /// Pause a consumer until a time (servers with consumer pause, nats-server 2.11+)
    Pause(PauseArgs),
    /// Resume a paused consumer
    #[command(alias = "unpause")]
    Resume(TargetArgs),
    /// Report on all the consumers of a stream
    Report(StreamArgs),
}

impl ConsumerCommand {
    /// The stream and (where the verb has one) the consumer named on the command line.
    pub fn target(&self) -> (&str, Option<&str>) {
        match self {
            ConsumerCommand::Add(a) | ConsumerCommand::Edit(a) => (&a.stream, Some(&a.name)),
            ConsumerCommand::Info(a) | ConsumerCommand::Resume(a) => (&a.stream, Some(&a.name)),
            ConsumerCommand::Ls(a) => (&a.stream, None),
            ConsumerCommand::Rm(a) => (&a.stream, Some(&a.name)),
            ConsumerCommand::Next(a) => (&a.stream, Some(&a.consumer)),
            ConsumerCommand::Sub(a) => (&a.stream, Some(&a.consumer)),
            ConsumerCommand::Pause(a) => (&a.stream, Some(&a.name)),
            ConsumerCommand::Report(a) => (&a.stream, None),
        }
    }
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Stream name
    pub stream: String,
    /// Consumer name
    pub name: String,
}

#[derive(Debug, Args)]
pub struct StreamArgs {
    /// Stream name
    pub stream: String,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Stream name
    pub stream: String,
    /// Print only the consumer names
    #[arg(short = 'n', long)]
    pub names: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Stream name
    pub stream: String,
    /// Consumer name
    pub name: String,
    /// Delete without asking
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Stream name
    pub stream: String,
    /// Consumer name
    pub name: String,
    /// Pause until this time: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC) or a duration from now (1h)
    #[arg(value_name = "UNTIL")]
    pub until_arg: Option<String>,
    /// Same as the UNTIL argument
    #[arg(long, conflicts_with = "until_arg")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Stream name
    pub stream: String,
    /// Consumer (durable) name
    pub name: String,
    /// Read the consumer configuration from a JSON file (a config, or `consumer info --json`
    /// output); flags given as well override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub flags: ConfigFlags,
}

/// The consumer settings a flag can set, as the `nats consumer add` flags name them.
#[derive(Debug, Default, Args)]
pub struct ConfigFlags {
    /// Only deliver messages on this subject (repeatable for several filters)
    #[arg(long = "filter", value_name = "SUBJECT")]
    pub filters: Vec<String>,
    /// Acknowledgement policy: explicit, all or none
    #[arg(long, value_parser = ["explicit", "all", "none"])]
    pub ack: Option<String>,
    /// Create a pull consumer
    #[arg(long)]
    pub pull: bool,
    /// Push the messages to this subject (a push consumer)
    #[arg(long, value_name = "SUBJECT")]
    pub target: Option<String>,
    /// Where to start: all, last, new, last-per-subject, a stream sequence, an RFC 3339 time
    /// or a duration (1h: from one hour ago)
    #[arg(long, value_name = "POLICY")]
    pub deliver: Option<String>,
    /// Replay policy: instant or original
    #[arg(long, value_parser = ["instant", "original"])]
    pub replay: Option<String>,
    /// How long to wait for an acknowledgement before redelivering (e.g. 30s)
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub wait: Option<Duration>,
    /// Maximum deliveries of a message (-1 for unlimited)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_deliver: Option<i64>,
    /// Redelivery delays, comma separated (e.g. 1s,5s,30s)
    #[arg(long, value_name = "DURATIONS", value_parser = parse_backoff)]
    pub backoff: Option<Backoff>,
    /// Maximum unacknowledged messages (max_ack_pending; -1 for unlimited)
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_pending: Option<i64>,
    /// Maximum waiting pull requests (pull consumers)
    #[arg(long, value_name = "N")]
    pub max_waiting: Option<i64>,
    /// Idle heartbeat interval (push consumers)
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub heartbeat: Option<Duration>,
    /// Enable flow control (push consumers)
    #[arg(long)]
    pub flow_control: bool,
    /// Deliver only to subscribers in this queue group (push consumers)
    #[arg(long, value_name = "GROUP")]
    pub deliver_group: Option<String>,
    /// Remove the consumer after it is inactive this long
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub inactive_threshold: Option<Duration>,
    /// Description
    #[arg(long)]
    pub description: Option<String>,
    /// Metadata as key=value (repeatable)
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_metadata)]
    pub metadata: Vec<MetadataArg>,
    /// Deliver only the headers, with the body size in Nats-Msg-Size
    #[arg(long)]
    pub headers_only: bool,
    /// Percentage of acknowledgements to sample for observability (0-100)
    #[arg(long, value_name = "PERCENT", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub sample: Option<u8>,
    /// Largest batch a pull request may ask for
    #[arg(long, value_name = "N")]
    pub max_pull_batch: Option<i64>,
    /// Longest expiry a pull request may ask for
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub max_pull_expire: Option<Duration>,
    /// Largest max_bytes a pull request may ask for
    #[arg(long, value_name = "BYTES", value_parser = crate::args::parse_size)]
    pub max_pull_bytes: Option<i64>,
    /// Keep the consumer state in memory
    #[arg(long)]
    pub memory: bool,
    /// Number of replicas for the consumer state
    #[arg(long, value_name = "N")]
    pub replicas: Option<i64>,
}

/// The `--backoff` delays (a newtype, so clap takes the list as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff(pub Vec<Duration>);

/// `1s,5s,30s` → delays.
pub fn parse_backoff(text: &str) -> std::result::Result<Backoff, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_ttl)
        .collect::<std::result::Result<Vec<_>, _>>()
        .and_then(|v| {
            if v.is_empty() {
                Err("empty backoff: expected e.g. 1s,5s,30s".to_string())
            } else {
                Ok(Backoff(v))
            }
        })
}

fn nanos(d: Duration) -> Value {
    Value::from(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The deliver policy fields for a `--deliver` value.
pub fn deliver_policy(text: &str) -> Result<Vec<(&'static str, Value)>> {
    let policy = |p: &str| vec![("deliver_policy", Value::from(p))];
    let lower = text.trim().to_ascii_lowercase();
    Ok(match lower.as_str() {
        "all" => policy("all"),
        "last" => policy("last"),
        "new" | "next" => policy("new"),
        "last-per-subject" | "last_per_subject" | "subject" => policy("last_per_subject"),
        seq if !seq.is_empty() && seq.bytes().all(|b| b.is_ascii_digit()) => {
            let seq: u64 = seq.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                CliError::Usage(format!(
                    "invalid --deliver sequence {text:?}: stream sequences start at 1"
                ))
            })?;
            vec![
                ("deliver_policy", Value::from("by_start_sequence")),
                ("opt_start_seq", Value::from(seq)),
            ]
        }
        _ => {
            let at = parse_time(text)
                .or_else(|| parse_when(text, true))
                .ok_or_else(|| {
                    CliError::Usage(format!(
                    "invalid --deliver value {text:?}: use all, last, new, last-per-subject, a \
                     stream sequence (e.g. 100), an RFC 3339 time (e.g. 2024-05-01T12:00:00Z) or \
                     a duration to start that long ago (e.g. 1h)"
                ))
                })?;
            vec![
                ("deliver_policy", Value::from("by_start_time")),
                ("opt_start_time", Value::from(at.rfc3339())),
            ]
        }
    })
}

impl ConfigFlags {
    /// Applies the flags given to `config`. `creating` is true for `add`, where a consumer with
    /// no mode flag is a pull consumer acknowledging explicitly, as `nats consumer add
    /// --defaults` makes it.
    pub fn apply(&self, config: &mut Map<String, Value>, creating: bool) -> Result<()> {
        if self.pull && self.target.is_some() {
            return Err(CliError::Usage(
                "--pull and --target conflict: a pull consumer has no delivery subject; drop \
                 --target for a pull consumer or --pull for a push consumer"
                    .to_string(),
            ));
        }
        let mut set = |key: &str, value: Value| {
            config.insert(key.to_string(), value);
        };
        if let Some(target) = &self.target {
            set("deliver_subject", Value::from(target.as_str()));
        }
        if let Some(deliver) = &self.deliver {
            for (key, value) in deliver_policy(deliver)? {
                set(key, value);
            }
        }
        if let Some(ack) = &self.ack {
            set("ack_policy", Value::from(ack.as_str()));
        }
        if let Some(replay) = &self.replay {
            set("replay_policy", Value::from(replay.as_str()));
        }
        if let Some(wait) = self.wait {
            set("ack_wait", nanos(wait));
        }
        if let Some(n) = self.max_deliver {
            set("max_deliver", Value::from(n));
        }
        if let Some(backoff) = &self.backoff {
            set(
                "backoff",
                Value::Array(backoff.0.iter().copied().map(nanos).collect()),
            );
        }
        if let Some(n) = self.max_pending {
            set("max_ack_pending", Value::from(n));
        }
        if let Some(n) = self.max_waiting {
            set("max_waiting", Value::from(n));
        }
        if let Some(hb) = self.heartbeat {
            set("idle_heartbeat", nanos(hb));
        }
        if self.flow_control {
            set("flow_control", Value::from(true));
        }
        if let Some(group) = &self.deliver_group {
            set("deliver_group", Value::from(group.as_str()));
        }
        if let Some(d) = self.inactive_threshold {
            set("inactive_threshold", nanos(d));
        }
        if let Some(description) = &self.description {
            set("description", Value::from(description.as_str()));
        }
        if self.headers_only {
            set("headers_only", Value::from(true));
        }
        if let Some(pct) = self.sample {
            set("sample_freq", Value::from(pct.to_string()));
        }
        if let Some(n) = self.max_pull_batch {
            set("max_batch", Value::from(n));
        }
        if let Some(d) = self.max_pull_expire {
            set("max_expires", nanos(d));
        }
        if let Some(n) = self.max_pull_bytes {
            set("max_bytes", Value::from(n));
        }
        if self.memory {
            set("mem_storage", Value::from(true));
        }
        if let Some(n) = self.replicas {
            set("num_replicas", Value::from(n));
        }
        if !self.metadata.is_empty() {
            let map: Map<String, Value> = self
                .metadata
                .iter()
                .map(|m| (m.key.clone(), Value::from(m.value.as_str())))
                .collect();
            set("metadata", Value::Object(map));
        }
        match self.filters.as_slice() {
            [] => {}
            [one] => {
                set("filter_subject", Value::from(one.as_str()));
                config.remove("filter_subjects");
            }
            many => {
                set("filter_subjects", Value::from(many.to_vec()));
                config.remove("filter_subject");
            }
        }
        if self.pull {
            for key in [
                "deliver_subject",
                "deliver_group",
                "idle_heartbeat",
                "flow_control",
            ] {
                config.remove(key);
            }
        }
        if !matches!(
            config.get("deliver_policy").and_then(Value::as_str),
            Some("by_start_sequence")
        ) {
            config.remove("opt_start_seq");
        }
        if !matches!(
            config.get("deliver_policy").and_then(Value::as_str),
            Some("by_start_time")
        ) {
            config.remove("opt_start_time");
        }
        if creating && !config.contains_key("ack_policy") {
            let push = config.contains_key("deliver_subject");
            let ack = if push { "none" } else { "explicit" };
            config.insert("ack_policy".to_string(), Value::from(ack));
        }
        Ok(())
    }
}

/// Reads a consumer config from `path`: a bare config, or `consumer info --json` output (its
/// `config`).
pub fn read_config_file(path: &std::path::Path) -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("cannot read {}", path.display()), e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "{} is not a JSON consumer configuration: {e}",
            path.display()
        ))
    })?;
    let config = match value.get("config") {
        Some(config) => config.clone(),
        None => value,
    };
    match config {
        Value::Object(map) => Ok(map),
        _ => Err(CliError::Usage(format!(
            "{} is not a JSON consumer configuration: expected an object",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: ConsumerCommand,
    }

    fn config(args: &[&str], creating: bool) -> Result<Map<String, Value>> {
        let cli = Cli::try_parse_from([&["weir"], args].concat())
            .map_err(|e| CliError::Usage(e.to_string()))?;
        let ConsumerCommand::Add(add) = cli.command else {
            panic!("not add");
        };
        let mut map = Map::new();
        add.flags.apply(&mut map, creating)?;
        Ok(map)
    }

    #[test]
    fn flags_become_config_fields() {
        let c = config(
            &[
                "add",
                "S",
                "C",
                "--filter",
                "a.>",
                "--ack",
                "all",
                "--deliver",
                "5",
                "--wait",
                "10s",
                "--max-deliver",
                "-1",
                "--backoff",
                "1s,2s",
                "--max-pending",
                "10",
                "--sample",
                "50",
                "--metadata",
                "k=v",
                "--max-pull-expire",
                "1m",
            ],
            true,
        )
        .unwrap();
        assert_eq!(c["filter_subject"], "a.>");
        assert_eq!(c["ack_policy"], "all");
        assert_eq!(c["deliver_policy"], "by_start_sequence");
        assert_eq!(c["opt_start_seq"], 5);
        assert_eq!(c["ack_wait"], 10_000_000_000u64);
        assert_eq!(c["max_deliver"], -1);
        assert_eq!(
            c["backoff"],
            serde_json::json!([1_000_000_000u64, 2_000_000_000u64])
        );
        assert_eq!(c["max_ack_pending"], 10);
        assert_eq!(c["sample_freq"], "50");
        assert_eq!(c["metadata"]["k"], "v");
        assert_eq!(c["max_expires"], 60_000_000_000u64);
        assert!(!c.contains_key("deliver_subject"));
    }

    #[test]
    fn defaults_and_filters() {
        let c = config(&["add", "S", "C"], true).unwrap();
        assert_eq!(c.len(), 1);
        assert_eq!(c["ack_policy"], "explicit");
        let c = config(
            &[
                "add", "S", "C", "--target", "out", "--filter", "a", "--filter", "b",
            ],
            true,
        )
        .unwrap();
        assert_eq!(c["ack_policy"], "none");
        assert_eq!(c["deliver_subject"], "out");
        assert_eq!(c["filter_subjects"], serde_json::json!(["a", "b"]));
        let c = config(&["add", "S", "C"], false).unwrap();
        assert!(c.is_empty());
    }

    #[test]
    fn deliver_values() {
        assert_eq!(
            deliver_policy("last-per-subject").unwrap()[0].1,
            "last_per_subject"
        );
        let t = deliver_policy("2024-05-01T12:00:00Z").unwrap();
        assert_eq!(t[0].1, "by_start_time");
        assert_eq!(t[1].1, "2024-05-01T12:00:00Z");
        assert_eq!(deliver_policy("1h").unwrap()[0].1, "by_start_time");
        assert!(matches!(
            deliver_policy("sometime"),
            Err(CliError::Usage(_))
        ));
        assert!(matches!(deliver_policy("0"), Err(CliError::Usage(_))));
    }

    #[test]
    fn pull_and_target_conflict() {
        let err = config(&["add", "S", "C", "--pull", "--target", "x"], true).unwrap_err();
        assert!(err.to_string().contains("conflict"), "{err}");
    }

    #[test]
    fn backoff_lists() {
        assert_eq!(
            parse_backoff("1s, 1m").unwrap().0,
            vec![Duration::from_secs(1), Duration::from_secs(60)]
        );
        assert!(parse_backoff("1s,soon").is_err());
        assert!(parse_backoff("").is_err());
    }
}
