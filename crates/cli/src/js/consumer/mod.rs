//! `weir consumer …`: JetStream consumers with the `nats consumer` verbs and flags, on the
//! raw JSON API (`$JS.API.CONSUMER.…`) so they work alike on weir-server and nats-server.
//!
//! `args` turns flags into a consumer config, `admin` manages consumers, `next` reads
//! messages through them and `render` shows what the server answered.

mod admin;
pub(crate) mod args;
mod next;
mod render;
mod time;

pub use args::ConsumerCommand;

use crate::connect::Global;
use crate::error::Result;
use crate::js::api::check_name;

pub async fn run(global: &Global, command: &ConsumerCommand) -> Result<()> {
    let (stream, consumer) = command.target();
    check_name("stream", stream)?;
    if let Some(consumer) = consumer {
        check_name("consumer", consumer)?;
    }
    match command {
        ConsumerCommand::Add(args) => admin::add(global, args).await,
        ConsumerCommand::Edit(args) => admin::edit(global, args).await,
        ConsumerCommand::Info(args) => admin::info(global, &args.stream, &args.name).await,
        ConsumerCommand::Ls(args) => admin::list(global, &args.stream, args.names).await,
        ConsumerCommand::Rm(args) => admin::remove(global, args).await,
        ConsumerCommand::Pause(args) => admin::pause(global, args).await,
        ConsumerCommand::Resume(args) => admin::resume(global, &args.stream, &args.name).await,
        ConsumerCommand::Report(args) => admin::report(global, &args.stream).await,
        ConsumerCommand::Next(args) => next::next(global, args).await,
        ConsumerCommand::Sub(args) => next::sub(global, args).await,
    }
}
