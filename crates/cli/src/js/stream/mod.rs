//! `weir stream …`: JetStream streams with the `nats stream` command's verbs and flags, on the
//! raw JSON API (see `crate::js::api`), so they work the same on weir-server and nats-server.

mod admin;
mod args;
mod messages;
mod render;

pub use args::StreamCommand;

use crate::connect::Global;
use crate::error::Result;

pub async fn run(global: &Global, command: &StreamCommand) -> Result<()> {
    match command {
        StreamCommand::Add(args) => admin::add(global, args).await,
        StreamCommand::Edit(args) => admin::edit(global, args).await,
        StreamCommand::Info(args) => admin::info(global, &args.stream).await,
        StreamCommand::Ls(args) => admin::list(global, args.names).await,
        StreamCommand::Rm(args) => admin::remove(global, &args.stream, args.force).await,
        StreamCommand::Purge(args) => admin::purge(global, args).await,
        StreamCommand::Report => admin::report(global).await,
        StreamCommand::Get(args) => messages::get(global, args).await,
        StreamCommand::Rmm(args) => messages::remove_message(global, args).await,
        StreamCommand::View(args) => messages::view(global, args).await,
        StreamCommand::Subjects(args) => messages::subjects(global, args).await,
    }
}
