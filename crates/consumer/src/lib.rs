//! weir-consumer: JetStream consumers as a sans-IO engine.
//!
//! [`Engine`] is one consumer: it takes events (pull requests, acks, flow-control replies,
//! timer ticks, stream changes) and produces [`Command`]s (deliver a message, send a status,
//! report an ack for retention, raise an advisory). It reads messages through
//! `weir_store::Store` and keeps time as Unix nanoseconds passed in by the caller, so tests
//! drive it with a memory store and a fake clock, and the server's runtime is a thin loop.
//!
//! - [`ack`]: the `$JS.ACK…` reply subject and the ack bodies (`+ACK -NAK +WPI +NXT +TERM`).
//! - [`tracker`]: pending messages, deadlines, delivery counts, the ack floor.
//! - [`waiting`]: the pull request queue.
//! - [`state`]: the persisted consumer state (versioned, checksummed).

pub mod ack;
mod engine;
mod policy;
pub mod state;
pub mod tracker;
pub mod waiting;

pub use engine::{first_at_or_after, wire_size, Command, Engine, Pin, ReplyInterest};
pub use policy::{Mode, Policy, Priority, StartPolicy};
pub use tracker::{AckMode, SeqPair};
pub use waiting::PullRequest;

#[cfg(test)]
mod tests;
