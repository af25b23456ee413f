//! JetStream verbs of the `nats` CLI (`account`, `stream`, `consumer`) on the raw JSON API,
//! so they work the same against weir-server and any nats-server.

pub mod account;
pub mod api;
pub mod consumer;
pub mod publish;
pub mod render;
pub mod stream;
pub mod subscribe;
