//! Bounded match cache: literal subject -> `Arc<Matches>`.
//!
//! Readers hold only `&self` (the index sits behind a `RwLock` read guard on
//! the publish path), so the cache uses interior mutability: cache-line-padded
//! shards, each a mutex around its own table.
//!
//! Shards are picked by *reader thread*, not by subject hash. With hash
//! sharding every thread touches every shard, so each lock acquisition pulls
//! the shard's cache line from the other core: measured on 2 cores, two
//! readers of distinct subjects ran 0.76x as fast as one. With a shard per
//! thread the lock is uncontended and its line stays put. The price is that
//! a subject may be cached (and computed) once per reader thread.
//!
//! Mutation of the index takes `&mut self`, so patching on insert/remove goes
//! through `Mutex::get_mut` to every shard with no locking, and can never
//! race a reader.

use std::hash::BuildHasher;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use hashbrown::{DefaultHashBuilder, HashTable};
use parking_lot::Mutex;

use crate::matching::matches;
use crate::result::Matches;
use crate::validate::{is_literal, is_wildcard_token, token_count, tokens, FWC};

/// Upper bound on shards (reader-thread slots).
const MAX_SHARDS: usize = 64;

/// Shards per cache: one per core, so each runtime worker thread can have
/// its own.
fn shard_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        cores.clamp(1, MAX_SHARDS)
    })
}

/// Live threads holding each slot. A new reader thread takes the least
/// used slot, so a pool of `shard_count()` workers spreads out evenly even
/// when other threads came and went before it.
static SLOT_THREADS: [AtomicUsize; MAX_SHARDS] = [const { AtomicUsize::new(0) }; MAX_SHARDS];

struct SlotClaim(usize);

impl SlotClaim {
    fn claim() -> Self {
        let slot = (0..shard_count())
            .min_by_key(|&i| SLOT_THREADS[i].load(Ordering::Relaxed))
            .unwrap_or(0);
        // A racing claim may pick the same slot: harmless, merely shared.
        SLOT_THREADS[slot].fetch_add(1, Ordering::Relaxed);
        SlotClaim(slot)
    }
}

impl Drop for SlotClaim {
    fn drop(&mut self) {
        SLOT_THREADS[self.0].fetch_sub(1, Ordering::Relaxed);
    }
}

/// The current thread's reader slot, below `shard_count()`.
fn thread_slot() -> usize {
    thread_local! {
        static SLOT: SlotClaim = SlotClaim::claim();
    }
    // During thread teardown the claim may already be gone: share slot 0.
    SLOT.try_with(|slot| slot.0).unwrap_or(0)
}

/// Subjects longer than this are matched but not cached, so hostile
/// publishers cannot make the bounded entry count unbounded in bytes.
pub(crate) const MAX_CACHED_SUBJECT_BYTES: usize = 256;
const _: () = assert!(MAX_CACHED_SUBJECT_BYTES < u16::MAX as usize);

/// True for subjects that name one message and so never repeat: JetStream ack subjects
/// (`$JS.ACK.<stream>.<consumer>.<n>.<sseq>.<cseq>.<ts>.<pending>`). Caching their matches
/// would only evict useful entries and cost an allocation per ack.
pub fn is_unique_per_message(subject: &[u8]) -> bool {
    subject.starts_with(b"$JS.ACK.")
}

struct Entry<T> {
    hash: u64,
    /// Kept inline so wildcard patching can skip most entries without
    /// dereferencing `subject` (a cache miss per entry).
    shape: Shape,
    subject: Box<[u8]>,
    matches: Arc<Matches<T>>,
}

/// Leading tokens summarized in a [`Shape`]; enough to tell apart the usual
/// `app.<id>.…` and `_INBOX.<id>.…` subjects that share a first token.
const SHAPE_TOKENS: usize = 4;

/// Cheap summary of a cached literal subject.
#[derive(Clone, Copy)]
struct Shape {
    /// 16-bit hashes of the first `SHAPE_TOKENS` tokens (0 past the end).
    heads: [u16; SHAPE_TOKENS],
    tokens: u16,
}

/// What a wildcard filter demands of a subject's [`Shape`].
struct FilterShape {
    /// Required token hashes; `None` for wildcards and past the end.
    heads: [Option<u16>; SHAPE_TOKENS],
    tokens: u16,
    /// Ends in `>`: the subject may have more tokens than the filter.
    open_ended: bool,
}

impl FilterShape {
    /// False means `filter` certainly does not match; true means check.
    fn may_match(&self, shape: Shape) -> bool {
        let count_ok = if self.open_ended {
            shape.tokens >= self.tokens
        } else {
            shape.tokens == self.tokens
        };
        count_ok
            && self
                .heads
                .iter()
                .zip(shape.heads)
                .all(|(want, have)| want.is_none_or(|want| want == have))
    }
}

/// Saturation is sound: cached subjects (<= MAX_CACHED_SUBJECT_BYTES) have
/// far fewer tokens, and a filter with more tokens matches none of them.
fn saturating_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

struct Shard<T> {
    table: HashTable<Entry<T>>,
    /// Admission ("doorkeeper"): hashes of subjects missed once. A subject is cached on its
    /// second miss, so subjects that never repeat (request inboxes, per-key API subjects of a
    /// large KV bucket) cost a slot write instead of an allocation and an eviction.
    seen_once: Box<[u64]>,
    hits: u64,
    misses: u64,
    /// Rotates which quarter of the hash space the next eviction drops.
    eviction_round: u64,
}

/// 128 bytes covers the adjacent-line prefetcher on x86 as well.
#[repr(align(128))]
struct Padded<T>(T);

pub(crate) struct MatchCache<T> {
    hasher: DefaultHashBuilder,
    shards: Box<[Padded<Mutex<Shard<T>>>]>,
    /// 0 disables caching.
    shard_capacity: usize,
}

/// Doorkeeper slots per shard (8 KiB): enough to remember recent misses between repeats.
const DOORKEEPER_SLOTS: usize = 1024;

/// Outcome of a lookup; a miss carries the hash so `put` need not rehash.
pub(crate) enum Lookup<T> {
    Hit(Arc<Matches<T>>),
    /// Seen before: worth caching once matched.
    Miss(u64),
    /// A first miss: counted, remembered by the doorkeeper, not cached yet.
    FirstMiss,
    /// Never cached: too long, or unique by construction.
    Uncacheable,
}

#[derive(Default)]
pub(crate) struct CacheCounters {
    pub(crate) entries: usize,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
}

impl<T> MatchCache<T> {
    /// `capacity` is split across one shard per available core.
    pub(crate) fn new(capacity: usize) -> Self {
        let shard_count = shard_count();
        let shards = (0..shard_count)
            .map(|_| {
                Padded(Mutex::new(Shard {
                    table: HashTable::new(),
                    seen_once: vec![0; DOORKEEPER_SLOTS].into_boxed_slice(),
                    hits: 0,
                    misses: 0,
                    eviction_round: 0,
                }))
            })
            .collect();
        Self {
            hasher: DefaultHashBuilder::default(),
            shards,
            shard_capacity: capacity.div_ceil(shard_count),
        }
    }

    fn token_hash(&self, token: &[u8]) -> u16 {
        self.hasher.hash_one(token) as u16
    }

    fn shape(&self, subject: &[u8]) -> Shape {
        let mut heads = [0; SHAPE_TOKENS];
        for (head, token) in heads.iter_mut().zip(tokens(subject)) {
            *head = self.token_hash(token);
        }
        Shape {
            heads,
            tokens: saturating_u16(token_count(subject)),
        }
    }

    fn filter_shape(&self, filter: &[u8]) -> FilterShape {
        let mut heads = [None; SHAPE_TOKENS];
        for (head, token) in heads.iter_mut().zip(tokens(filter)) {
            *head = (!is_wildcard_token(token)).then(|| self.token_hash(token));
        }
        FilterShape {
            heads,
            tokens: saturating_u16(token_count(filter)),
            open_ended: filter == FWC || filter.ends_with(b".>"),
        }
    }

    /// The current thread's shard; threads beyond the shard count share.
    fn reader_shard(&self) -> &Mutex<Shard<T>> {
        debug_assert!(thread_slot() < self.shards.len());
        &self.shards[thread_slot() % self.shards.len()].0
    }

    pub(crate) fn get(&self, subject: &[u8]) -> Lookup<T> {
        if self.shard_capacity == 0
            || subject.len() > MAX_CACHED_SUBJECT_BYTES
            || is_unique_per_message(subject)
        {
            return Lookup::Uncacheable;
        }
        let hash = self.hasher.hash_one(subject);
        let mut shard = self.reader_shard().lock();
        let found = shard
            .table
            .find(hash, |e| *e.subject == *subject)
            .map(|e| Arc::clone(&e.matches));
        match found {
            Some(matches) => {
                shard.hits += 1;
                Lookup::Hit(matches)
            }
            None => {
                shard.misses += 1;
                let slot = &mut shard.seen_once[hash as usize % DOORKEEPER_SLOTS];
                if *slot == hash {
                    Lookup::Miss(hash)
                } else {
                    *slot = hash;
                    Lookup::FirstMiss
                }
            }
        }
    }

    /// Stores a freshly computed result for `subject` (hashed by `get`).
    pub(crate) fn put(&self, hash: u64, subject: &[u8], matches: Arc<Matches<T>>) {
        debug_assert_eq!(hash, self.hasher.hash_one(subject));
        // Allocate and hash outside the lock; a lost race wastes one box.
        let shape = self.shape(subject);
        let owned: Box<[u8]> = subject.into();
        let mut shard = self.reader_shard().lock();
        let shard = &mut *shard;
        // A concurrent reader may have computed the same subject meanwhile;
        // both results came from the same immutable trie, so keep the first.
        if shard.table.find(hash, |e| *e.subject == *subject).is_some() {
            return;
        }
        if shard.table.len() >= self.shard_capacity {
            shard.evict_below(self.shard_capacity);
        }
        shard.table.insert_unique(
            hash,
            Entry {
                hash,
                shape,
                subject: owned,
                matches,
            },
            |e| e.hash,
        );
    }

    pub(crate) fn counters(&self) -> CacheCounters {
        let mut total = CacheCounters::default();
        for shard in self.shards.iter() {
            let shard = shard.0.lock();
            total.entries += shard.table.len();
            total.hits += shard.hits;
            total.misses += shard.misses;
        }
        total
    }
}

impl<T> Shard<T> {
    /// Drops arbitrary entries (a quarter of the hash space per round) until
    /// there is room for one more. Cheap and bounded: at most four rounds
    /// over a table of `capacity` entries.
    fn evict_below(&mut self, capacity: usize) {
        while self.table.len() >= capacity {
            let quarter = self.eviction_round & 3;
            self.eviction_round = self.eviction_round.wrapping_add(1);
            self.table.retain(|e| (e.hash >> 48) & 3 != quarter);
        }
    }
}

impl<T: Clone + PartialEq> MatchCache<T> {
    /// Applies `patch` to every cached entry whose subject `filter` matches.
    /// A literal filter can only match the identical subject: one probe.
    fn patch_matching(&mut self, filter: &[u8], mut patch: impl FnMut(&mut Matches<T>)) {
        if self.shard_capacity == 0 {
            return;
        }
        if is_literal(filter) {
            if filter.len() > MAX_CACHED_SUBJECT_BYTES {
                return;
            }
            let hash = self.hasher.hash_one(filter);
            for shard in self.shards.iter_mut() {
                let table = &mut shard.0.get_mut().table;
                if let Some(entry) = table.find_mut(hash, |e| *e.subject == *filter) {
                    patch(Arc::make_mut(&mut entry.matches));
                }
            }
            return;
        }
        let filter_shape = self.filter_shape(filter);
        for shard in self.shards.iter_mut() {
            for entry in shard.0.get_mut().table.iter_mut() {
                if filter_shape.may_match(entry.shape) && matches(filter, &entry.subject) {
                    // Copy-on-write: callers may still hold the old Arc.
                    patch(Arc::make_mut(&mut entry.matches));
                }
            }
        }
    }

    pub(crate) fn on_insert(&mut self, filter: &[u8], queue: Option<&Bytes>, value: &T) {
        self.patch_matching(filter, |m| m.add(queue, value.clone()));
    }

    pub(crate) fn on_remove(&mut self, filter: &[u8], queue: Option<&[u8]>, value: &T) {
        self.patch_matching(filter, |m| {
            let removed = m.remove_one(queue, value);
            debug_assert!(removed, "cached result was missing a subscription");
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_padded() {
        assert_eq!(std::mem::align_of::<Padded<Mutex<Shard<u8>>>>(), 128);
    }

    #[test]
    fn reader_slots_are_in_range_and_released() {
        let slots: Vec<usize> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8).map(|_| s.spawn(thread_slot)).collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        assert_eq!(slots.len(), 8);
        assert!(slots.iter().all(|&slot| slot < shard_count()));
        // Every claim above was dropped with its thread.
        let live: usize = SLOT_THREADS.iter().map(|n| n.load(Ordering::Relaxed)).sum();
        assert!(live < 64, "{live} claims still live");
    }

    #[test]
    fn stays_bounded() {
        let cache: MatchCache<u32> = MatchCache::new(64);
        for i in 0..10_000u32 {
            // Each subject twice: the doorkeeper admits it on its second miss.
            let subject = format!("s.{i}");
            for _ in 0..2 {
                if let Lookup::Miss(hash) = cache.get(subject.as_bytes()) {
                    cache.put(hash, subject.as_bytes(), Arc::default());
                }
            }
        }
        let counters = cache.counters();
        assert!(counters.entries <= 64, "{} entries", counters.entries);
        assert!(counters.entries > 0);
        assert_eq!(counters.misses, 20_000);
    }

    #[test]
    fn long_subjects_are_not_cached() {
        let cache: MatchCache<u32> = MatchCache::new(64);
        let long = vec![b'a'; MAX_CACHED_SUBJECT_BYTES + 1];
        assert!(matches!(cache.get(&long), Lookup::Uncacheable));
    }

    #[test]
    fn ack_subjects_are_not_cached() {
        let cache: MatchCache<u32> = MatchCache::new(64);
        assert!(matches!(
            cache.get(b"$JS.ACK.S.C.1.2.3.1700000000000000000.0"),
            Lookup::Uncacheable
        ));
        assert!(matches!(cache.get(b"$JS.API.INFO"), Lookup::FirstMiss));
        assert!(matches!(cache.get(b"$JS.API.INFO"), Lookup::Miss(_)));
    }

    #[test]
    fn subjects_seen_once_are_not_admitted() {
        let cache: MatchCache<u32> = MatchCache::new(64);
        for i in 0..1000u32 {
            let subject = format!("_INBOX.x.{i}");
            assert!(matches!(cache.get(subject.as_bytes()), Lookup::FirstMiss));
        }
        assert_eq!(cache.counters().entries, 0);
        assert_eq!(cache.counters().misses, 1000);
    }
}
