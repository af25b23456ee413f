//! `weir kv`: JetStream key-value buckets, with the `nats kv` command's verbs and flags.
//!
//! Works against weir-server and nats-server alike through async-nats' KV API; the bucket
//! stream is configured here (rather than with `create_key_value`) so that `--metadata`,
//! which async-nats' KV config lacks, reaches the server.

pub mod args;
pub mod bucket;
mod entries;
pub mod js;
pub mod render;
mod watch;

pub use args::KvCommand;

use crate::connect::Global;
use crate::error::Result;

pub async fn run(global: &Global, command: &KvCommand) -> Result<()> {
    match command {
        KvCommand::Add(args) => bucket::add(global, args).await,
        KvCommand::Put(args) => entries::put(global, args).await,
        KvCommand::Get(args) => entries::get(global, args).await,
        KvCommand::Create(args) => entries::create(global, args).await,
        KvCommand::Update(args) => entries::update(global, args).await,
        KvCommand::Del(args) => match &args.key {
            Some(key) => entries::delete(global, &args.bucket, key).await,
            None => bucket::remove(global, &args.bucket, args.force).await,
        },
        KvCommand::Purge(args) => entries::purge(global, &args.bucket, &args.key).await,
        KvCommand::History(args) => watch::history(global, &args.bucket, &args.key).await,
        KvCommand::Keys(args) => watch::keys(global, &args.bucket, &args.filters).await,
        KvCommand::Watch(args) => watch::watch(global, args).await,
        KvCommand::Ls(args) => match &args.bucket {
            Some(bucket) => watch::keys(global, bucket, &[]).await,
            None => bucket::list(global, args.names).await,
        },
        KvCommand::Info(args) => bucket::info(global, &args.bucket).await,
    }
}
