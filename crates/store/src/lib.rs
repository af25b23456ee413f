//! weir-store: JetStream stream storage.
//!
//! One [`Store`] trait with two implementations that share the sequence table,
//! the per-subject index and the limit logic, so they behave identically:
//! [`MemStore`] (everything in memory) and [`FileStore`] (segment files with
//! per-record CRC32C, crash recovery and a clean-shutdown snapshot).
//!
//! Durability contract: `append`, `delete`, `purge`, ... are buffered. `flush`
//! hands the buffered bytes to the OS and returns a [`SyncBatch`]; only after
//! `SyncBatch::sync` has returned is everything appended before the flush on
//! stable storage. `sync` runs without the store lock, so one fsync can cover
//! many publishes (group commit).

mod error;
mod file;
mod limits;
mod memory;
mod query;
mod ranges;
mod record;
mod recovery;
mod segment;
mod snapshot;
mod subject_index;
mod sync;
mod table;

use bytes::Bytes;
use std::path::PathBuf;
use std::time::Duration;

pub use error::StoreError;
pub use file::{open_file_store, FileStore, FileStoreConfig};
pub use memory::{memory_store, MemStore, MemStoreConfig};
pub use sync::SyncBatch;

/// One stored message as returned by reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMsg {
    pub seq: u64,
    /// Unix nanoseconds at which the message was stored.
    pub ts_ns: i64,
    pub subject: Bytes,
    /// The raw `NATS/1.0` header block; empty when the message has none.
    pub headers: Bytes,
    pub payload: Bytes,
}

/// Stream limits; `-1` or `0` means unlimited, as in nats-server config.
/// All limits discard the oldest messages (discard "new" is decided by the
/// JetStream layer before it appends).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreLimits {
    pub max_msgs: i64,
    pub max_bytes: i64,
    pub max_age_ns: i64,
    pub max_msgs_per_subject: i64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_msgs: -1,
            max_bytes: -1,
            max_age_ns: -1,
            max_msgs_per_subject: -1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    File,
    Memory,
}

/// Messages known to have existed but lost to on-disk corruption.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LostData {
    /// Sequence numbers lost (when they could be derived from the neighbours).
    pub msgs: Vec<u64>,
    /// Bytes of records that failed their checksum or could not be parsed.
    pub bytes: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamState {
    pub msgs: u64,
    /// Sum of [`msg_size`] over stored messages (the unit `max_bytes` limits).
    pub bytes: u64,
    pub first_seq: u64,
    pub first_ts_ns: i64,
    pub last_seq: u64,
    pub last_ts_ns: i64,
    /// Interior deleted sequences between `first_seq` and `last_seq`.
    pub num_deleted: u64,
    pub num_subjects: u64,
    pub lost: Option<LostData>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PurgeRequest {
    /// Only messages whose subject matches this filter (wildcards allowed).
    pub filter: Option<Bytes>,
    /// Purge messages with sequence < this.
    pub up_to_seq: Option<u64>,
    /// Keep the newest N messages (among those matching the filter).
    pub keep: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpiredMsg {
    pub seq: u64,
    pub subject: Bytes,
    /// True when removed by its own per-message TTL, false for `max_age`.
    pub by_ttl: bool,
    /// The message's header block when it was the last one on its subject (the subject
    /// is now empty), so the writer can decide whether a delete marker takes its place
    /// (ADR-43: not when the message is itself a marker); `None` otherwise.
    pub last_headers: Option<Bytes>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubjectState {
    pub first_seq: u64,
    pub last_seq: u64,
    pub msgs: u64,
}

/// A region of a segment that failed validation during recovery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CorruptRange {
    pub segment: PathBuf,
    pub offset_bytes: u64,
    pub len_bytes: u64,
    /// Inclusive range of sequences lost in this region, when derivable.
    pub seqs: Option<(u64, u64)>,
    pub reason: String,
}

/// What one `Store::compact` call did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Segments rewritten with only their live records.
    pub segments: u64,
    /// File sizes of those segments before and after.
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// Another segment is still eligible: call again to continue.
    pub more: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// A valid snapshot matching the segments was found: no scan was needed.
    pub clean_shutdown: bool,
    pub scanned_records: u64,
    /// Bytes cut from the tail of the last segment (a torn, never-synced write).
    pub truncated_bytes: u64,
    pub corrupt: Vec<CorruptRange>,
    pub elapsed: Duration,
}

/// The size a message counts for in `StreamState::bytes` and `max_bytes`:
/// identical in both stores so limits behave the same whatever the storage.
pub fn msg_size(subject_len: usize, headers_len: usize, payload_len: usize) -> u64 {
    (subject_len + headers_len + payload_len) as u64 + 16
}

/// A stream's message storage. Writes come from one actor, in order; reads
/// (`&self`) may run concurrently under a read lock.
pub trait Store: Send + Sync {
    fn kind(&self) -> StorageKind;
    /// Appends with the next sequence and returns it. `ttl_ns`: per-message
    /// TTL; a negative value means "never" (exempt from `max_age`). Applies
    /// the discard-old limits. Buffered: durable once a `flush` batch synced.
    fn append(
        &mut self,
        subject: &[u8],
        headers: &[u8],
        payload: &[u8],
        ts_ns: i64,
        ttl_ns: Option<i64>,
    ) -> Result<u64, StoreError>;
    /// Hands buffered bytes to the OS; returns what must be fsynced to make
    /// every operation so far durable. Call `sync` on it without the lock.
    fn flush(&mut self) -> Result<SyncBatch, StoreError>;
    fn get(&self, seq: u64) -> Result<Option<StoredMsg>, StoreError>;
    /// First message with seq >= `start` whose subject matches `filter`.
    fn next_matching(
        &self,
        start: u64,
        filter: Option<&[u8]>,
    ) -> Result<Option<StoredMsg>, StoreError>;
    /// Newest message whose subject matches `filter` (wildcards allowed).
    fn last_for_subject(&self, filter: &[u8]) -> Result<Option<StoredMsg>, StoreError>;
    /// Removes one message; `erase` also overwrites its bytes on disk.
    fn delete(&mut self, seq: u64, erase: bool) -> Result<bool, StoreError>;
    fn purge(&mut self, req: &PurgeRequest) -> Result<u64, StoreError>;
    /// Removes messages past `max_age` or their own TTL at `now_ns`.
    fn expire(&mut self, now_ns: i64) -> Result<Vec<ExpiredMsg>, StoreError>;
    /// Earliest time at which `expire` would remove something, if known.
    fn next_expiry_ns(&self) -> Option<i64>;
    fn set_limits(&mut self, limits: StoreLimits) -> Result<(), StoreError>;
    fn limits(&self) -> StoreLimits;
    fn state(&self) -> StreamState;
    fn deleted(&self) -> Vec<u64>;
    /// Per-subject message counts for subjects matching `filter`, sorted.
    fn subjects(&self, filter: &[u8]) -> Vec<(Bytes, u64)>;
    /// Live messages with seq >= `start` matching `filter` (None = all); reads no bodies.
    fn num_pending(&self, start: u64, filter: Option<&[u8]>) -> u64;
    /// The last live seq <= `up_to_seq` of every subject matching any filter, ascending
    /// (JetStream's direct get `multi_last`).
    fn last_seqs_per_subject(&self, filters: &[&[u8]], up_to_seq: u64) -> Vec<u64>;
    fn subject_state(&self, subject: &[u8]) -> Option<SubjectState>;
    /// Clean shutdown: flush, fsync and (file store) write the snapshot.
    fn close(&mut self) -> Result<(), StoreError>;
    /// Reclaims space held by deleted messages; bounded work per call (the
    /// file store rewrites at most one segment, with its own fsyncs, so call
    /// it off the publish path and again while `more` is set). The memory
    /// store has nothing to do.
    fn compact(&mut self) -> Result<CompactReport, StoreError> {
        Ok(CompactReport::default())
    }
}
