//! AsyncAPI 3.x contracts for Weir (issue 9), without I/O:
//!
//! - [`document`]: YAML/JSON parsing that keeps the line and column of every node;
//! - [`refs`]: local `$ref` resolution (chains, and references met along a pointer);
//! - [`validate`]: structure, references, payload schemas ([`schema`]) and examples;
//! - [`intent`]: the JetStream intent (`x-jetstream`, NATS bindings) as streams and consumers,
//!   with channel addresses as subjects ([`address`]: `{param}` → `*`);
//! - [`check`]: the alignment lint between channel addresses, stream subjects and filters;
//! - [`plan`]: the stream/consumer configs a contract implies, diffed against the server's;
//! - [`bundle`]: self-contained payload schemas per stored subject (for enforcement).
//!
//! Every finding is a [`Diagnostic`] with a JSON pointer, a position and a fix.

pub mod address;
pub mod bundle;
pub mod check;
pub mod diagnostic;
pub mod document;
pub mod intent;
pub mod plan;
pub mod refs;
pub mod schema;
pub mod validate;

pub use diagnostic::{Diagnostic, Severity};
pub use document::{Document, ParseError};
