//! `weir stream` verbs and their flags, named as the `nats stream` command names them, and the
//! stream configuration JSON the `add` and `edit` flags turn into.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Map, Value};

use crate::args::{parse_metadata, parse_size, parse_ttl, MetadataArg};
use crate::error::{CliError, Result};

#[derive(Debug, Subcommand)]
pub enum StreamCommand {
    /// Create a stream; options not given are left to the server's defaults
    #[command(aliases = ["create", "new"])]
    Add(AddArgs),
    /// Change options of an existing stream
    #[command(alias = "update")]
    Edit(AddArgs),
    /// Show a stream's configuration and state
    #[command(alias = "show")]
    Info(NameArg),
    /// List the streams
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Delete a stream and all its messages
    #[command(aliases = ["delete", "del"])]
    Rm(RmArgs),
    /// Remove messages from a stream (all, one subject's, or up to a sequence)
    Purge(PurgeArgs),
    /// Show one stored message by sequence, or the last one on a subject
    Get(GetArgs),
    /// Delete one message from a stream
    Rmm(RmmArgs),
    /// Print the messages of a stream, a page at a time
    View(ViewArgs),
    /// List the subjects that hold messages, with their message counts
    Subjects(SubjectsArgs),
    /// One table of every stream's size and consumers
    Report,
}

#[derive(Debug, Args)]
pub struct NameArg {
    /// Stream name
    pub stream: String,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print only the stream names, one per line
    #[arg(short, long)]
    pub names: bool,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Stream name
    pub stream: String,
    /// Delete without asking
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Stream name
    pub stream: String,
    /// Purge only messages on this subject (wildcards allowed)
    #[arg(long)]
    pub subject: Option<String>,
    /// Purge messages up to, but not including, this sequence
    #[arg(long, conflicts_with = "keep")]
    pub seq: Option<u64>,
    /// Keep this many of the newest messages
    #[arg(long)]
    pub keep: Option<u64>,
    /// Purge without asking
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Stream name
    pub stream: String,
    /// Sequence of the message
    #[arg(required_unless_present = "last_for", conflicts_with = "last_for")]
    pub seq: Option<u64>,
    /// Show the last message stored on this subject instead
    #[arg(short = 'S', long, value_name = "SUBJECT")]
    pub last_for: Option<String>,
    /// Print only the message body, byte for byte
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct RmmArgs {
    /// Stream name
    pub stream: String,
    /// Sequence of the message to delete
    pub seq: u64,
    /// Delete without asking
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ViewArgs {
    /// Stream name
    pub stream: String,
    /// How many messages to show
    #[arg(long, short = 'n', default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: u64,
    /// Start at this sequence (default: the first message)
    #[arg(long, alias = "id")]
    pub seq: Option<u64>,
    /// Only messages on this subject (wildcards allowed)
    #[arg(long)]
    pub subject: Option<String>,
}

#[derive(Debug, Args)]
pub struct SubjectsArgs {
    /// Stream name
    pub stream: String,
    /// Only subjects matching this filter
    #[arg(default_value = ">")]
    pub filter: String,
}

/// Retention policy; `work` is the `nats` CLI's short name for `workqueue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RetentionArg {
    Limits,
    Interest,
    #[value(aliases = ["workq", "workqueue"])]
    Work,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageArg {
    #[value(alias = "f")]
    File,
    #[value(aliases = ["m", "mem"])]
    Memory,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiscardArg {
    Old,
    New,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    S2,
    None,
}

/// `add NAME` / `edit NAME` and every configuration flag.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Stream name
    pub stream: String,
    /// Read the configuration from this JSON file (a stream config); flags override it
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub flags: ConfigFlags,
}

/// A count limit: a whole number, or -1 for unlimited.
fn parse_limit(text: &str) -> std::result::Result<i64, String> {
    match text.trim().replace(['_', ','], "").parse::<i64>() {
        Ok(n) if n >= -1 => Ok(n),
        _ => Err(format!(
            "invalid limit {text:?}: expected a whole number, or -1 for unlimited"
        )),
    }
}

#[derive(Debug, Args)]
pub struct ConfigFlags {
    /// Subjects the stream stores (repeatable, or comma separated)
    #[arg(
        long = "subjects",
        alias = "subject",
        value_name = "SUBJECTS",
        value_delimiter = ','
    )]
    pub subjects: Vec<String>,
    /// Storage backend
    #[arg(long, value_enum)]
    pub storage: Option<StorageArg>,
    /// Retention policy (work = workqueue)
    #[arg(long, value_enum)]
    pub retention: Option<RetentionArg>,
    /// What to discard when a limit is reached
    #[arg(long, value_enum)]
    pub discard: Option<DiscardArg>,
    /// Apply `--discard new` to each subject's limit too
    #[arg(long, overrides_with = "no_discard_per_subject")]
    pub discard_per_subject: bool,
    #[arg(long, hide = true)]
    pub no_discard_per_subject: bool,
    /// How long to keep messages (e.g. 1h, 2d, 1h30m; 0 for unlimited)
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub max_age: Option<Duration>,
    /// Most messages to keep (-1 for unlimited)
    #[arg(long, value_name = "COUNT", value_parser = parse_limit, allow_negative_numbers = true)]
    pub max_msgs: Option<i64>,
    /// Most bytes to keep (e.g. 1GiB; -1 for unlimited)
    #[arg(long, value_name = "BYTES", value_parser = parse_size, allow_negative_numbers = true)]
    pub max_bytes: Option<i64>,
    /// Largest message accepted (e.g. 1MiB; -1 for unlimited)
    #[arg(long, value_name = "BYTES", value_parser = parse_size, allow_negative_numbers = true)]
    pub max_msg_size: Option<i64>,
    /// Most messages to keep per subject (-1 for unlimited)
    #[arg(long, value_name = "COUNT", value_parser = parse_limit, allow_negative_numbers = true)]
    pub max_msgs_per_subject: Option<i64>,
    /// Most consumers the stream may have (-1 for unlimited)
    #[arg(long, value_name = "COUNT", value_parser = parse_limit, allow_negative_numbers = true)]
    pub max_consumers: Option<i64>,
    /// Window in which duplicate Nats-Msg-Id publishes are dropped (e.g. 2m)
    #[arg(long, value_name = "DURATION", value_parser = parse_ttl)]
    pub dupe_window: Option<Duration>,
    /// How many replicas to keep in a cluster (1-5)
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub replicas: Option<u8>,
    /// Acknowledge publishes (the default)
    #[arg(long, overrides_with = "no_ack")]
    pub ack: bool,
    /// Do not acknowledge publishes
    #[arg(long, overrides_with = "ack")]
    pub no_ack: bool,
    /// Allow Nats-Rollup headers to replace a subject's or the stream's messages
    #[arg(long, overrides_with = "no_allow_rollup")]
    pub allow_rollup: bool,
    #[arg(long, hide = true)]
    pub no_allow_rollup: bool,
    /// Forbid deleting single messages
    #[arg(long, overrides_with = "no_deny_delete")]
    pub deny_delete: bool,
    #[arg(long, hide = true)]
    pub no_deny_delete: bool,
    /// Forbid purging the stream
    #[arg(long, overrides_with = "no_deny_purge")]
    pub deny_purge: bool,
    #[arg(long, hide = true)]
    pub no_deny_purge: bool,
    /// Allow direct gets from any replica
    #[arg(long, overrides_with = "no_allow_direct")]
    pub allow_direct: bool,
    #[arg(long, hide = true)]
    pub no_allow_direct: bool,
    /// Allow per-message TTLs (Nats-TTL header; needs nats-server 2.11+)
    #[arg(long, overrides_with = "no_allow_msg_ttl")]
    pub allow_msg_ttl: bool,
    #[arg(long, hide = true)]
    pub no_allow_msg_ttl: bool,
    /// A description of the stream
    #[arg(long)]
    pub description: Option<String>,
    /// Metadata as key=value (repeatable; needs nats-server 2.10+)
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_metadata)]
    pub metadata: Vec<MetadataArg>,
    /// Compress stored messages (needs nats-server 2.10+)
    #[arg(long, value_enum)]
    pub compression: Option<CompressionArg>,
}

/// `Some(true)` / `Some(false)` when the flag or its `--no-` form was given.
fn either(yes: bool, no: bool) -> Option<bool> {
    match (yes, no) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

fn nanos(duration: Duration) -> Value {
    Value::from(u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX))
}

impl ConfigFlags {
    /// The config fields these flags set, by their API names.
    pub fn fields(&self) -> Result<Map<String, Value>> {
        let mut out = Map::new();
        let mut set = |key: &str, value: Value| {
            out.insert(key.to_string(), value);
        };
        let subjects: Vec<String> = self
            .subjects
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        if !subjects.is_empty() {
            if let Some(bad) = subjects.iter().find(|s| s.contains(char::is_whitespace)) {
                return Err(CliError::Usage(format!(
                    "invalid subject {bad:?}: subjects may not contain whitespace"
                )));
            }
            set("subjects", subjects.into());
        }
        if let Some(storage) = self.storage {
            let name = match storage {
                StorageArg::File => "file",
                StorageArg::Memory => "memory",
            };
            set("storage", name.into());
        }
        if let Some(retention) = self.retention {
            let name = match retention {
                RetentionArg::Limits => "limits",
                RetentionArg::Interest => "interest",
                RetentionArg::Work => "workqueue",
            };
            set("retention", name.into());
        }
        if let Some(discard) = self.discard {
            let name = match discard {
                DiscardArg::Old => "old",
                DiscardArg::New => "new",
            };
            set("discard", name.into());
        }
        if let Some(age) = self.max_age {
            set("max_age", nanos(age));
        }
        if let Some(window) = self.dupe_window {
            set("duplicate_window", nanos(window));
        }
        for (key, value) in [
            ("max_msgs", self.max_msgs),
            ("max_bytes", self.max_bytes),
            ("max_msgs_per_subject", self.max_msgs_per_subject),
            ("max_consumers", self.max_consumers),
        ] {
            if let Some(value) = value {
                set(key, value.into());
            }
        }
        if let Some(size) = self.max_msg_size {
            let size = i32::try_from(size).map_err(|_| {
                CliError::Usage(format!(
                    "--max-msg-size {size} is too large: the most a message can be is {} bytes",
                    i32::MAX
                ))
            })?;
            set("max_msg_size", size.into());
        }
        if let Some(replicas) = self.replicas {
            set("num_replicas", replicas.into());
        }
        if let Some(ack) = either(self.ack, self.no_ack) {
            set("no_ack", (!ack).into());
        }
        for (key, value) in [
            (
                "discard_new_per_subject",
                either(self.discard_per_subject, self.no_discard_per_subject),
            ),
            (
                "allow_rollup_hdrs",
                either(self.allow_rollup, self.no_allow_rollup),
            ),
            ("deny_delete", either(self.deny_delete, self.no_deny_delete)),
            ("deny_purge", either(self.deny_purge, self.no_deny_purge)),
            (
                "allow_direct",
                either(self.allow_direct, self.no_allow_direct),
            ),
            (
                "allow_msg_ttl",
                either(self.allow_msg_ttl, self.no_allow_msg_ttl),
            ),
        ] {
            if let Some(value) = value {
                set(key, value.into());
            }
        }
        if let Some(description) = &self.description {
            set("description", description.clone().into());
        }
        if !self.metadata.is_empty() {
            let map: Map<String, Value> = self
                .metadata
                .iter()
                .map(|m| (m.key.clone(), Value::from(m.value.clone())))
                .collect();
            set("metadata", Value::Object(map));
        }
        if let Some(compression) = self.compression {
            let name = match compression {
                CompressionArg::S2 => "s2",
                CompressionArg::None => "none",
            };
            set("compression", name.into());
        }
        Ok(out)
    }
}

/// `fields` applied on top of `base` (a stream config object): metadata keys are merged,
/// every other field replaced.
pub fn apply(base: &mut Map<String, Value>, fields: Map<String, Value>) {
    for (key, value) in fields {
        match (key.as_str(), base.get_mut(&key), value) {
            ("metadata", Some(Value::Object(existing)), Value::Object(new)) => {
                existing.extend(new);
            }
            (_, _, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Reads a stream configuration from a JSON file (as `weir --json stream info` prints in its
/// `config` field, or the `nats` CLI's `--config` files).
pub fn read_config_file(path: &std::path::Path) -> Result<Map<String, Value>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::io(format!("cannot read --config {}", path.display()), e))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "--config {} is not valid JSON: {e}",
            path.display()
        ))
    })?;
    // A whole `stream info` answer works too: its `config` is the configuration.
    let value = match value {
        Value::Object(mut map) if map.get("config").is_some_and(Value::is_object) => {
            map.remove("config").unwrap_or_default()
        }
        other => other,
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(CliError::Usage(format!(
            "--config {} must hold a JSON object (a stream configuration)",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use serde_json::json;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: StreamCommand,
    }

    fn parse(args: &[&str]) -> std::result::Result<StreamCommand, clap::Error> {
        Cli::try_parse_from([&["stream"], args].concat()).map(|cli| cli.command)
    }

    fn fields(args: &[&str]) -> Map<String, Value> {
        let StreamCommand::Add(add) = parse(&[&["add", "S"], args].concat()).unwrap() else {
            panic!("not an add");
        };
        add.flags.fields().unwrap()
    }

    #[test]
    fn flags_become_api_fields() {
        let f = fields(&[
            "--subjects",
            "a.>,b.*",
            "--subjects",
            "c",
            "--storage",
            "memory",
            "--retention",
            "work",
            "--discard",
            "new",
            "--discard-per-subject",
            "--max-age=1h30m",
            "--max-msgs",
            "-1",
            "--max-bytes",
            "1GiB",
            "--max-msg-size",
            "1KiB",
            "--max-msgs-per-subject",
            "5",
            "--max-consumers",
            "10",
            "--dupe-window",
            "2m",
            "--replicas",
            "1",
            "--no-ack",
            "--allow-rollup",
            "--deny-delete",
            "--deny-purge",
            "--allow-direct",
            "--description",
            "orders",
            "--metadata",
            "owner=ops",
            "--compression",
            "s2",
        ]);
        assert_eq!(
            Value::Object(f),
            json!({
                "subjects": ["a.>", "b.*", "c"], "storage": "memory",
                "retention": "workqueue", "discard": "new", "discard_new_per_subject": true,
                "max_age": 5_400_000_000_000u64, "max_msgs": -1, "max_bytes": 1u64 << 30,
                "max_msg_size": 1024, "max_msgs_per_subject": 5, "max_consumers": 10,
                "duplicate_window": 120_000_000_000u64, "num_replicas": 1, "no_ack": true,
                "allow_rollup_hdrs": true, "deny_delete": true, "deny_purge": true,
                "allow_direct": true, "description": "orders",
                "metadata": {"owner": "ops"}, "compression": "s2"
            })
        );
        assert!(fields(&[]).is_empty(), "nothing given, nothing sent");
        assert_eq!(fields(&["--ack"])["no_ack"], json!(false));
        assert_eq!(
            fields(&["--deny-delete", "--no-deny-delete"])["deny_delete"],
            json!(false)
        );
    }

    #[test]
    fn bad_values_are_rejected_by_the_parser() {
        for args in [
            &["add", "S", "--max-age", "soon"][..],
            &["add", "S", "--max-bytes", "1XB"],
            &["add", "S", "--max-msgs", "-5"],
            &["add", "S", "--retention", "forever"],
            &["add", "S", "--storage", "tape"],
            &["add", "S", "--replicas", "9"],
            &["add", "S", "--metadata", "novalue"],
            &["purge", "S", "--seq", "5", "--keep", "1"],
            &["get", "S"],
            &["get", "S", "1", "--last-for", "a"],
            &["view", "S", "--count", "0"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
        let StreamCommand::Add(add) = parse(&["add", "S", "--max-msg-size", "4GiB"]).unwrap()
        else {
            panic!("not an add");
        };
        assert!(add.flags.fields().is_err());
    }

    #[test]
    fn apply_overrides_fields_and_merges_metadata() {
        let mut base = json!({"name": "S", "max_msgs": 5, "metadata": {"a": "1"}})
            .as_object()
            .cloned()
            .unwrap();
        apply(&mut base, fields(&["--max-msgs", "7", "--metadata", "b=2"]));
        assert_eq!(
            Value::Object(base),
            json!({"name": "S", "max_msgs": 7, "metadata": {"a": "1", "b": "2"}})
        );
    }
}
