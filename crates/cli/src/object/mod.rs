//! `weir object`: JetStream object store buckets, with the `nats object` command's verbs and
//! flags. Shares its JetStream plumbing with `weir kv` (`crate::kv::js`).

pub mod args;
mod bucket;
pub mod render;
mod transfer;

pub use args::ObjectCommand;

use crate::connect::Global;
use crate::error::Result;

pub async fn run(global: &Global, command: &ObjectCommand) -> Result<()> {
    match command {
        ObjectCommand::Add(args) => bucket::add(global, args).await,
        ObjectCommand::Put(args) => transfer::put(global, args).await,
        ObjectCommand::Get(args) => transfer::get(global, args).await,
        ObjectCommand::Ls(args) => bucket::list(global, args.bucket.as_deref(), args.names).await,
        ObjectCommand::Info(args) => bucket::info(global, &args.bucket, args.name.as_deref()).await,
        ObjectCommand::Rm(args) => {
            bucket::remove(global, &args.bucket, args.name.as_deref(), args.force).await
        }
        ObjectCommand::Watch(args) => bucket::watch(global, args).await,
        ObjectCommand::Seal(args) => bucket::seal(global, &args.bucket, args.force).await,
    }
}
