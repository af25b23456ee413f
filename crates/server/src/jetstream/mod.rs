//! JetStream inside the server: stream write path (ordered apply with group commit), the
//! `$JS.API` handlers and stream persistence. The storage engine is `weir-store`; the API
//! model (JSON types, errors, config validation) is `weir-jsapi`.

pub mod actor;
pub mod api;
pub mod dedup;
pub mod ingest;
pub mod meta;
pub mod pub_ack;
pub mod publish_rules;
pub mod stream;
