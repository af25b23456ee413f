//! `weir`: a command-line client for NATS-protocol servers (weir-server and nats-server),
//! mirroring the `nats` CLI's core commands. This file holds the command tree and dispatch.

mod args;
mod asyncapi;
mod bench;
mod connect;
mod error;
mod js;
mod kv;
mod object;
mod output;
mod pubsub;
mod server_info;
mod template;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::args::{parse_duration, parse_header, HeaderArg};
use crate::connect::Global;

#[derive(Debug, Parser)]
#[command(
    name = "weir",
    version,
    about = "Publish, subscribe, request, reply and benchmark against a NATS-protocol server",
    propagate_version = true
)]
struct Cli {
    /// Server URL(s), comma separated
    #[arg(
        short = 's',
        long = "server",
        env = "NATS_URL",
        default_value = "nats://127.0.0.1:4222",
        global = true
    )]
    server: String,

    /// Connect and request timeout (e.g. 5s, 500ms)
    #[arg(long, default_value = "5s", value_parser = parse_duration, global = true)]
    timeout: Duration,

    /// Print structured output as JSON
    #[arg(long, global = true)]
    json: bool,

    #[command(flatten)]
    credentials: connect::Credentials,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Publish a message
    #[command(alias = "publish")]
    Pub(PubArgs),
    /// Subscribe to a subject and print the messages
    #[command(alias = "subscribe")]
    Sub(SubArgs),
    /// Send a request and print the reply
    #[command(alias = "request")]
    Req(ReqArgs),
    /// Answer every request on a subject
    Reply(ReplyArgs),
    /// Inspect the server
    Server {
        #[command(subcommand)]
        command: ServerCommand,
    },
    /// Benchmark the server
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// JetStream account usage and limits
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// JetStream streams: add, inspect, purge and read them
    #[command(alias = "str")]
    Stream {
        #[command(subcommand)]
        command: js::stream::StreamCommand,
    },
    /// JetStream consumers: add, inspect and consume them
    #[command(alias = "con")]
    Consumer {
        #[command(subcommand)]
        command: js::consumer::ConsumerCommand,
    },
    /// Key-value buckets (JetStream)
    Kv {
        #[command(subcommand)]
        command: kv::KvCommand,
    },
    /// Object store buckets (JetStream)
    #[command(alias = "obj")]
    Object {
        #[command(subcommand)]
        command: object::ObjectCommand,
    },
    /// AsyncAPI 3 contracts: validate, check against JetStream, plan and apply
    Asyncapi {
        #[command(subcommand)]
        command: asyncapi::AsyncapiCommand,
    },
}

#[derive(Debug, Args)]
pub struct PubArgs {
    /// Subject to publish to
    pub subject: String,
    /// Message body; supports {{Count}}, {{TimeStamp}}, {{Unix}}, {{UnixNano}}, {{Time}}, {{ID}}.
    /// Read from stdin when omitted and stdin is not a terminal
    pub body: Option<String>,
    /// Header as Key:Value (repeatable; templates allowed in the value)
    #[arg(short = 'H', long = "header", value_parser = parse_header)]
    pub headers: Vec<HeaderArg>,
    /// Reply subject to send with the message
    #[arg(long)]
    pub reply: Option<String>,
    /// Number of messages to publish
    #[arg(long, default_value_t = 1)]
    pub count: u64,
    /// Pause between messages (e.g. 100ms)
    #[arg(long, value_parser = parse_duration)]
    pub sleep: Option<Duration>,
    #[command(flatten)]
    pub jetstream: js::publish::JsPubArgs,
}

#[derive(Debug, Args)]
pub struct SubArgs {
    /// Subject to subscribe to (wildcards allowed)
    pub subject: String,
    /// Join this queue group
    #[arg(long)]
    pub queue: Option<String>,
    /// Exit after receiving this many messages (0 = run until Ctrl-C)
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Print only the message bodies
    #[arg(long)]
    pub raw: bool,
    #[command(flatten)]
    pub replay: js::subscribe::ReplayArgs,
}

#[derive(Debug, Args)]
pub struct ReqArgs {
    /// Subject to send the request to
    pub subject: String,
    /// Request body (templates allowed)
    #[arg(default_value = "")]
    pub body: String,
    /// Header as Key:Value (repeatable)
    #[arg(short = 'H', long = "header", value_parser = parse_header)]
    pub headers: Vec<HeaderArg>,
    /// Print only the reply body
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Args)]
pub struct ReplyArgs {
    /// Subject to answer requests on
    pub subject: String,
    /// Reply body; {{Count}} is the request number
    pub body: Option<String>,
    /// Queue group to join
    #[arg(long, default_value = "NATS-RPLY-22")]
    pub queue: String,
    /// Exit after answering this many requests (0 = run until Ctrl-C)
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Reply with the request's own body and headers
    #[arg(long)]
    pub echo: bool,
    /// Header to add to every reply as Key:Value (repeatable)
    #[arg(short = 'H', long = "header", value_parser = parse_header)]
    pub headers: Vec<HeaderArg>,
    /// Print only the request bodies
    #[arg(long)]
    pub raw: bool,
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Show the connection and the account's JetStream usage against its limits
    Info,
}

#[derive(Debug, Subcommand)]
enum ServerCommand {
    /// Show the INFO the server sends on connect
    Info,
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// Publish/subscribe throughput
    Pubsub(bench::pubsub::PubSubArgs),
    /// Request/reply latency and rate
    Request(bench::request::RequestArgs),
    /// Open many idle connections and report server memory
    Conns(bench::conns::ConnsArgs),
    /// Hold many subscriptions on one connection and report server memory
    Subs(bench::subs::SubsArgs),
    /// JetStream benchmarks
    Js {
        #[command(subcommand)]
        command: bench::js::JsCommand,
    },
    /// Key-Value benchmarks
    Kv {
        #[command(subcommand)]
        command: bench::kv::KvCommand,
    },
}

async fn run(cli: Cli) -> error::Result<()> {
    let global = Global {
        server: cli.server,
        timeout: cli.timeout,
        json: cli.json,
        credentials: cli.credentials,
    };
    match cli.command {
        Command::Pub(args) => pubsub::publish(&global, &args).await,
        Command::Sub(args) => pubsub::subscribe(&global, &args).await,
        Command::Req(args) => pubsub::request(&global, &args).await,
        Command::Reply(args) => pubsub::reply(&global, &args).await,
        Command::Server {
            command: ServerCommand::Info,
        } => server_info::run(&global).await,
        Command::Bench { command } => match command {
            BenchCommand::Pubsub(args) => bench::pubsub::run(&global, &args).await,
            BenchCommand::Request(args) => bench::request::run(&global, &args).await,
            BenchCommand::Conns(args) => bench::conns::run(&global, &args).await,
            BenchCommand::Subs(args) => bench::subs::run(&global, &args).await,
            BenchCommand::Js { command } => bench::js::run(&global, &command).await,
            BenchCommand::Kv { command } => bench::kv::run(&global, &command).await,
        },
        Command::Account {
            command: AccountCommand::Info,
        } => js::account::info(&global).await,
        Command::Stream { command } => js::stream::run(&global, &command).await,
        Command::Consumer { command } => js::consumer::run(&global, &command).await,
        Command::Kv { command } => kv::run(&global, &command).await,
        Command::Object { command } => object::run(&global, &command).await,
        Command::Asyncapi { command } => asyncapi::run(&global, &command).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("weir: error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("weir: error: {err}");
            ExitCode::FAILURE
        }
    }
}
