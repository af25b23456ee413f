//! Sans-IO codec for the NATS client protocol, as spoken by nats-server 2.9.10.
//!
//! * [`parse_client_op`] parses one client operation from the front of a read buffer,
//!   borrowing subjects, sids and payloads from it (no copies, no allocation).
//! * [`encode_msg`], [`encode_info`] and [`encode_err`] append server operations to a
//!   caller-owned [`bytes::BytesMut`].
//! * [`parse_server_op`] is an owned, convenience parser for the other direction, meant for
//!   raw-socket tests and tools rather than the hot path.
//!
//! `NATS_PARSER_BEHAVIOUR.md` beside this crate records what the real nats-server replies
//! to malformed input; [`ParseError::client_message`] and
//! [`ParseError::closes_connection`] follow it.

mod client;
mod encode;
mod error;
mod headers;
mod info;
mod lex;
mod server_ops;

/// Fuzz harnesses shared by `fuzz/` and the stable corpus replay test; not a public API.
#[doc(hidden)]
pub mod fuzzing;

#[cfg(test)]
mod proptests;

pub use client::{parse_client_op, ClientOp, Progress, Publish};
pub use encode::{
    encode_client_op, encode_err, encode_info, encode_msg, encode_pub, OK, PING, PONG,
};
pub use error::ParseError;
pub use headers::{parse_headers, status_headers, HeaderBlock, HeaderError, HeaderIter};
pub use info::{ConnectInfo, ServerInfo};
pub use server_ops::{parse_server_op, ServerOp};

/// Per-connection limits the parser enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted argument text of a control line, in bytes. Measured like
    /// nats-server: from the first argument to the end of the line, without the CRLF.
    pub max_control_line: usize,
    /// Largest accepted PUB payload (HPUB: headers plus payload), in bytes.
    pub max_payload: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_control_line: 4096,
            max_payload: 1024 * 1024,
        }
    }
}
