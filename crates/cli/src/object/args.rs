//! `weir object` verbs and their flags, named as the `nats object` command names them.

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::args::{parse_header, parse_ttl, HeaderArg};
use crate::kv::args::BucketOptions;
use crate::kv::js::parse_bucket;

#[derive(Debug, Subcommand)]
pub enum ObjectCommand {
    /// Create an object store bucket
    #[command(alias = "new")]
    Add(AddArgs),
    /// Store a file (or stdin) as an object
    Put(PutArgs),
    /// Fetch an object into a file or onto stdout
    Get(GetArgs),
    /// List buckets, or the objects in BUCKET
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show a bucket, or one of its objects
    #[command(aliases = ["show", "status"])]
    Info(InfoArgs),
    /// Delete an object, or the whole bucket when no name is given
    #[command(visible_alias = "del")]
    Rm(RmArgs),
    /// Print changes to a bucket's objects as they happen
    Watch(WatchArgs),
    /// Seal a bucket so that nothing in it can change again
    Seal(SealArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Bucket name (letters, digits, '-' and '_')
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// How long to keep objects (e.g. 1h, 2d; 0 keeps them forever)
    #[arg(long, value_parser = parse_ttl)]
    pub ttl: Option<Duration>,
    #[command(flatten)]
    pub options: BucketOptions,
}

#[derive(Debug, Args)]
pub struct PutArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// File to store; `-` or none reads stdin (then --name is required)
    pub file: Option<String>,
    /// Name to store the object under (default: the file's path as given)
    #[arg(long)]
    pub name: Option<String>,
    /// A description of the object
    #[arg(long)]
    pub description: Option<String>,
    /// Header to store with the object as Key:Value (repeatable)
    #[arg(short = 'H', long = "header", value_parser = parse_header)]
    pub headers: Vec<HeaderArg>,
    /// Do not draw a progress bar
    #[arg(long)]
    pub no_progress: bool,
    /// Accepted for compatibility with the `nats` CLI: put always replaces an existing object
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Object name
    pub name: String,
    /// File to write; stdout when omitted or `-`
    #[arg(short = 'O', long)]
    pub output: Option<String>,
    /// Do not draw a progress bar
    #[arg(long)]
    pub no_progress: bool,
    /// Overwrite the output file without asking
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// List this bucket's objects instead of the buckets
    #[arg(value_parser = parse_bucket)]
    pub bucket: Option<String>,
    /// Print only the bucket names
    #[arg(short, long)]
    pub names: bool,
}

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Object to describe instead of the bucket
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Object to delete; without one the whole bucket is deleted
    pub name: Option<String>,
    /// Delete without asking
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Exit after this many changes (0 = run until Ctrl-C)
    #[arg(long, default_value_t = 0)]
    pub count: u64,
}

#[derive(Debug, Args)]
pub struct SealArgs {
    /// Bucket name
    #[arg(value_parser = parse_bucket)]
    pub bucket: String,
    /// Seal without asking
    #[arg(short, long)]
    pub force: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: ObjectCommand,
    }

    fn parse(args: &[&str]) -> Result<ObjectCommand, clap::Error> {
        Cli::try_parse_from([&["object"], args].concat()).map(|cli| cli.command)
    }

    #[test]
    fn verbs_take_the_nats_cli_shapes() {
        let ObjectCommand::Add(add) = parse(&[
            "add",
            "FILES",
            "--ttl",
            "2d",
            "--max-bucket-size",
            "1GiB",
            "--storage",
            "memory",
            "--metadata",
            "owner=ops",
        ])
        .unwrap() else {
            panic!("not add");
        };
        assert_eq!(add.ttl, Some(Duration::from_secs(2 * 86_400)));
        assert_eq!(add.options.max_bucket_size, Some(1 << 30));
        let ObjectCommand::Put(put) = parse(&[
            "put",
            "FILES",
            "-",
            "--name",
            "x.bin",
            "-H",
            "A:b",
            "--no-progress",
        ])
        .unwrap() else {
            panic!("not put");
        };
        assert_eq!(put.file.as_deref(), Some("-"));
        assert_eq!(put.name.as_deref(), Some("x.bin"));
        assert_eq!(put.headers[0].key, "A");
        let ObjectCommand::Get(get) = parse(&["get", "FILES", "x.bin", "-O", "out"]).unwrap()
        else {
            panic!("not get");
        };
        assert_eq!(get.output.as_deref(), Some("out"));
        let ObjectCommand::Rm(rm) = parse(&["del", "FILES", "--force"]).unwrap() else {
            panic!("del is rm");
        };
        assert!(rm.force && rm.name.is_none());
        assert!(parse(&["FILES"]).is_err(), "a bucket is not a verb");
    }

    #[test]
    fn bad_flags_are_rejected() {
        for args in [
            &["add", "a.b"][..],
            &["add", "B", "--ttl", "x"],
            &["add", "B", "--max-bucket-size", "lots"],
            &["put", "B", "f", "-H", "nocolon"],
            &["get", "B"],
            &["seal"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
    }
}
