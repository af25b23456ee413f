//! NATS subjects: validation, wildcard matching, filter algebra and the
//! subscription index ("sublist") that every published message is matched
//! against.
//!
//! Subjects are `.`-separated, non-empty tokens without whitespace. Filters
//! may use `*` (exactly one token) and `>` (one or more trailing tokens, last
//! only); wildcards count only as whole tokens.
//!
//! ```
//! use weir_subject::{matches, SubjectIndex};
//!
//! assert!(matches(b"orders.*.new", b"orders.eu.new"));
//!
//! let mut index = SubjectIndex::new();
//! index.insert(b"orders.>", None, 1).unwrap();
//! index.insert(b"orders.eu.*", Some(b"workers"), 2).unwrap();
//! let hits = index.match_subject(b"orders.eu.new");
//! assert_eq!(hits.plain, vec![1]);
//! assert_eq!(hits.queues[0].members, vec![2]);
//! ```

mod cache;
mod index;
mod matching;
mod result;
mod token;
mod token_map;
mod trie;
mod validate;

pub mod transform;

pub use cache::is_unique_per_message;
pub use index::{IndexStats, SubjectIndex, DEFAULT_CACHE_CAPACITY};
pub use matching::{matches, overlaps, subset_of};
pub use result::{Matches, QueueGroup};
pub use transform::{SubjectTransform, TransformError};
pub use validate::{
    is_literal, is_valid_literal_subject, is_valid_queue_name, is_valid_subject, token_count,
};

/// Why an insert was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SubjectError {
    #[error("invalid subject")]
    InvalidSubject,
    #[error("invalid queue group name")]
    InvalidQueue,
}

#[cfg(test)]
mod tests;
