//! `weir kv` verbs and their flags, named as the `nats kv` command names them.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};

use crate::args::{parse_metadata, parse_size, parse_ttl, MetadataArg};
use crate::kv::js::parse_bucket;

#[derive(Debug, Subcommand)]
pub enum KvCommand {
    /// Create a bucket
    #[command(alias = "new")]
    Add(AddArgs),
    /// Store a value under a key
    Put(PutArgs),
    /// Show the value of a key
    Get(GetArgs),
    /// Store a value only if the key is new or its last operation was a delete
    Create(PutArgs),
    /// Store a value only if the key's last revision is REVISION
    Update(UpdateArgs),
    /// Delete a key (keeping its history), or the whole bucket when no key is given
    #[command(visible_alias = "rm")]
    Del(DelArgs),
    /// Delete a key and all its history, leaving a purge marker
    Purge(PurgeArgs),
    /// Show every kept revision of a key
    History(KeyArgs),
    /// List the keys of a bucket, optionally matching filters such as `orders.*`
    Keys(KeysArgs),
    /// Print changes to a bucket (or matching keys) as they happen
    Watch(WatchArgs),
    /// List buckets, or the keys of BUCKET
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show a bucket's configuration and state
    #[command(aliases = ["status", "view"])]
    Info(BucketArg),
}

/// Storage backend of a new bucket (`f`/`m` as short forms, as in the `nats` CLI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageArg {
    #[value(alias = "f")]
    File,
    #[value(alias = "m")]
    Memory,
}

#[derive(Debug, Args)]
pub struct BucketArg {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Bucket name (letters, digits, '-' and '_')
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// How many values to keep per key (1-64)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..=64))]
    pub history: i64,
    /// How long to keep values (e.g. 1h, 30m, 2d; 0 keeps them forever)
    #[arg(long, value_parser = parse_ttl)]
    pub ttl: Option<Duration>,
    /// Largest value accepted (e.g. 1KiB, 4MiB; -1 for no limit)
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_value_size: Option<i64>,
    #[command(flatten)]
    pub options: BucketOptions,
    /// Republish stored values matching SRC (default: every key) to --republish-destination
    #[arg(long, value_name = "SRC", requires = "republish_destination")]
    pub republish_source: Option<String>,
    /// Subject to republish stored values to, e.g. 'orders.>'
    #[arg(long, value_name = "DEST")]
    pub republish_destination: Option<String>,
    /// Republish only the headers, not the values
    #[arg(long, requires = "republish_destination")]
    pub republish_headers: bool,
    /// Enable per-key TTLs and limit markers, kept this long (needs nats-server 2.11+)
    #[arg(
        long,
        visible_alias = "limit-marker-ttl",
        value_name = "DURATION",
        value_parser = parse_ttl
    )]
    pub marker_ttl: Option<Duration>,
}

/// The flags every bucket takes, KV or object store.
#[derive(Debug, Args)]
pub struct BucketOptions {
    /// Largest the bucket may grow (e.g. 1GiB; -1 for no limit)
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_bucket_size: Option<i64>,
    /// Storage backend
    #[arg(long, value_enum, default_value = "file")]
    pub storage: StorageArg,
    /// How many replicas to keep in a cluster (1-5)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=5))]
    pub replicas: u8,
    /// Compress the stored data (S2)
    #[arg(long, visible_alias = "compression")]
    pub compress: bool,
    /// A description of the bucket
    #[arg(long)]
    pub description: Option<String>,
    /// Metadata as key=value (repeatable)
    #[arg(long, value_name = "KEY=VALUE", value_parser = parse_metadata)]
    pub metadata: Vec<MetadataArg>,
    /// Place the bucket in this cluster
    #[arg(long)]
    pub cluster: Option<String>,
    /// Place the bucket on servers with these tags (repeatable)
    #[arg(long = "tags", value_name = "TAG")]
    pub tags: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PutArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Key, e.g. `orders.1` (letters, digits and - / _ = .)
    #[arg(value_parser = parse_key)]
    pub key: String,
    /// The value; read from stdin when omitted and stdin is not a terminal
    pub value: Option<String>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Key
    #[arg(value_parser = parse_key)]
    pub key: String,
    /// Show this revision instead of the latest
    #[arg(long)]
    pub revision: Option<u64>,
    /// Print only the value, byte for byte
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Key
    #[arg(value_parser = parse_key)]
    pub key: String,
    /// The new value
    pub value: String,
    /// The revision the key must be at (see `weir kv get`)
    pub revision: u64,
}

#[derive(Debug, Args)]
pub struct DelArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Key to delete; without one the whole bucket is deleted
    #[arg(value_parser = parse_key)]
    pub key: Option<String>,
    /// Delete the bucket without asking
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Key
    #[arg(value_parser = parse_key)]
    pub key: String,
    /// Accepted for compatibility with the `nats` CLI: purging a key never asks
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct KeyArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Key
    #[arg(value_parser = parse_key)]
    pub key: String,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Only keys matching any of these (`*` matches one token, `>` the rest)
    #[arg(value_parser = parse_key_filter)]
    pub filters: Vec<String>,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Key or filter to watch (`*` and `>` wildcards)
    #[arg(default_value = ">", value_parser = parse_key_filter)]
    pub key: String,
    /// Start with every kept revision, not just the latest of each key
    #[arg(long, conflicts_with_all = ["updates", "revision"])]
    pub history: bool,
    /// Show only changes made from now on
    #[arg(long, conflicts_with = "revision")]
    pub updates: bool,
    /// Start at this revision
    #[arg(long)]
    pub revision: Option<u64>,
    /// Leave out deletes and purges
    #[arg(long)]
    pub no_deletes: bool,
    /// Exit after this many entries (0 = run until Ctrl-C)
    #[arg(long, default_value_t = 0)]
    pub count: u64,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// List this bucket's keys instead of the buckets
    #[arg(value_parser = parse_bucket)]
    pub bucket: Option<String>,
    /// Print only the bucket names
    #[arg(short, long)]
    pub names: bool,
}

/// Checks a key: letters, digits and `-/_=.`, not starting or ending with `.`.
pub fn parse_key(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-/_=.".contains(c);
    if text.is_empty() || text.starts_with('.') || text.ends_with('.') || !text.chars().all(allowed)
    {
        return Err(format!(
            "invalid key {text:?}: use letters, digits and - / _ = . (not at either end)"
        ));
    }
    Ok(text.to_string())
}

/// Checks a key filter: a key whose tokens may also be `*`, and whose last may be `>`.
pub fn parse_key_filter(text: &str) -> Result<String, String> {
    let tokens: Vec<&str> = text.split('.').collect();
    let last = tokens.len() - 1;
    for (i, token) in tokens.iter().enumerate() {
        let wildcard = *token == "*" || (*token == ">" && i == last);
        if !wildcard && parse_key(token).is_err() {
            return Err(format!(
                "invalid key filter {text:?}: use keys with `*` for one token and `>` at the end"
            ));
        }
    }
    Ok(text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: KvCommand,
    }

    fn parse(args: &[&str]) -> Result<KvCommand, clap::Error> {
        Cli::try_parse_from([&["kv"], args].concat()).map(|cli| cli.command)
    }

    #[test]
    fn add_takes_the_nats_cli_flags() {
        let KvCommand::Add(add) = parse(&[
            "add",
            "ORDERS",
            "--history",
            "5",
            "--ttl",
            "1h",
            "--max-value-size",
            "1KiB",
            "--max-bucket-size",
            "1GiB",
            "--storage",
            "memory",
            "--replicas",
            "1",
            "--compression",
            "--description",
            "orders by id",
            "--metadata",
            "owner=ops",
            "--metadata",
            "tier:gold",
            "--republish-destination",
            "repub.>",
            "--republish-headers",
            "--limit-marker-ttl",
            "30m",
        ])
        .unwrap() else {
            panic!("not an add");
        };
        assert_eq!(add.history, 5);
        assert_eq!(add.ttl, Some(Duration::from_secs(3600)));
        assert_eq!(add.max_value_size, Some(1024));
        assert_eq!(add.options.max_bucket_size, Some(1 << 30));
        assert_eq!(add.options.storage, StorageArg::Memory);
        assert!(add.options.compress && add.republish_headers);
        assert_eq!(add.options.metadata.len(), 2);
        assert_eq!(add.options.metadata[1].value, "gold");
        assert_eq!(add.marker_ttl, Some(Duration::from_secs(1800)));
        // The nats CLI's own spellings work too.
        let KvCommand::Add(add) = parse(&[
            "add",
            "B",
            "--compress",
            "--marker-ttl",
            "1s",
            "--storage",
            "m",
        ])
        .unwrap() else {
            panic!("not an add");
        };
        assert!(add.options.compress);
        assert_eq!(add.options.storage, StorageArg::Memory);
    }

    #[test]
    fn bad_add_flags_are_rejected() {
        for args in [
            &["add", "bad.name"][..],
            &["add", "B", "--history", "65"],
            &["add", "B", "--history", "0"],
            &["add", "B", "--ttl", "soon"],
            &["add", "B", "--max-value-size", "1XB"],
            &["add", "B", "--storage", "tape"],
            &["add", "B", "--replicas", "9"],
            &["add", "B", "--metadata", "novalue"],
            &["add", "B", "--republish-source", "a.>"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn verbs_take_positional_arguments_like_nats() {
        let KvCommand::Update(u) = parse(&["update", "B", "k", "v2", "7"]).unwrap() else {
            panic!("not an update");
        };
        assert_eq!((u.value.as_str(), u.revision), ("v2", 7));
        let KvCommand::Del(d) = parse(&["rm", "B", "--force"]).unwrap() else {
            panic!("rm is del");
        };
        assert!(d.force && d.key.is_none());
        let KvCommand::Keys(k) = parse(&["keys", "B", "orders.*", "users.>"]).unwrap() else {
            panic!("not keys");
        };
        assert_eq!(k.filters, ["orders.*", "users.>"]);
        let KvCommand::Watch(w) = parse(&["watch", "B"]).unwrap() else {
            panic!("not watch");
        };
        assert_eq!(w.key, ">");
        assert!(parse(&["watch", "B", "--history", "--updates"]).is_err());
        assert!(parse(&["get", "B", "k", "--revision", "x"]).is_err());
    }

    #[test]
    fn keys_and_filters_are_checked() {
        assert!(parse_key("orders.1").is_ok());
        assert!(parse_key("a/b=c-d_e").is_ok());
        for bad in ["", ".a", "a.", "a b", "a*", "a>"] {
            assert!(parse_key(bad).is_err(), "{bad:?}");
        }
        assert!(parse_key_filter("orders.*").is_ok());
        assert!(parse_key_filter(">").is_ok());
        assert!(parse_key_filter("a.*.c.>").is_ok());
        assert!(parse_key_filter("a.>.c").is_err());
        assert!(parse_key_filter("a..b").is_err());
        assert!(parse_key_filter("a*").is_err());
    }
}
