//! [`SubjectIndex`]: filters -> subscribers, with a match cache.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::cache::{Lookup, MatchCache};
use crate::result::{Collector, Matches};
use crate::trie::Level;
use crate::validate::{is_valid_queue_name, is_valid_subject};
use crate::SubjectError;

/// Default bound on cached match results, across all reader threads.
pub const DEFAULT_CACHE_CAPACITY: usize = 4096;

/// A point-in-time snapshot of index counters.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IndexStats {
    /// Subscriptions currently held.
    pub subscriptions: usize,
    /// Subjects currently cached.
    pub cache_entries: usize,
    /// `match_subject` calls.
    pub matches: u64,
    /// `match_subject` calls answered from the cache.
    pub cache_hits: u64,
    /// `cache_hits / matches`, 0.0 before the first match.
    pub cache_hit_rate: f64,
    /// Successful inserts since creation.
    pub inserts: u64,
    /// Successful removes since creation.
    pub removes: u64,
}

/// A subscription index (a "sublist"): maps subject filters, optionally in a
/// queue group, to values and answers which of them match a literal subject.
///
/// Mutation needs `&mut self`; `match_subject` needs only `&self` and is safe
/// to call from many threads at once (e.g. under a `RwLock` read guard).
pub struct SubjectIndex<T> {
    root: Level<T>,
    cache: MatchCache<T>,
    /// Shared empty answer for subjects that cannot match anything.
    empty: Arc<Matches<T>>,
    subscriptions: usize,
    generation: u64,
    inserts: u64,
    removes: u64,
    /// Matches that bypassed the cache (invalid, over-long, or cache off);
    /// cached lookups are counted inside the cache shards.
    uncached_matches: AtomicU64,
}

impl<T: Clone + PartialEq> Default for SubjectIndex<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for SubjectIndex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubjectIndex")
            .field("subscriptions", &self.subscriptions)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + PartialEq> SubjectIndex<T> {
    /// An empty index caching up to [`DEFAULT_CACHE_CAPACITY`] subjects.
    pub fn new() -> Self {
        Self::with_cache_capacity(DEFAULT_CACHE_CAPACITY)
    }

    /// An empty index caching up to about `entries` results in total (0
    /// disables the cache). The cache is split into one shard per core and
    /// each reader thread uses its own, so one thread alone sees
    /// `entries / cores` of it.
    pub fn with_cache_capacity(entries: usize) -> Self {
        Self {
            root: Level::default(),
            cache: MatchCache::new(entries),
            empty: Arc::new(Matches::default()),
            subscriptions: 0,
            generation: 0,
            inserts: 0,
            removes: 0,
            uncached_matches: AtomicU64::new(0),
        }
    }

    /// Adds `value` under `filter` (in queue group `queue`, if given).
    /// Inserting an equal value twice stores two entries.
    pub fn insert(
        &mut self,
        filter: &[u8],
        queue: Option<&[u8]>,
        value: T,
    ) -> Result<(), SubjectError> {
        if !is_valid_subject(filter) {
            return Err(SubjectError::InvalidSubject);
        }
        if queue.is_some_and(|q| !is_valid_queue_name(q)) {
            return Err(SubjectError::InvalidQueue);
        }
        // The cache clones the stored value (and shares the stored queue
        // name) only for entries the filter actually matches.
        let (queue_name, stored) = self.root.insert(filter, queue, value);
        self.cache.on_insert(filter, queue_name, stored);
        self.subscriptions += 1;
        self.inserts += 1;
        self.generation += 1;
        Ok(())
    }

    /// Removes one entry equal to `value` under `filter`/`queue`; returns
    /// whether one was found. Nodes left empty are freed.
    pub fn remove(&mut self, filter: &[u8], queue: Option<&[u8]>, value: &T) -> bool {
        if !self.root.remove(filter, queue, value) {
            return false;
        }
        self.cache.on_remove(filter, queue, value);
        debug_assert!(self.subscriptions > 0);
        self.subscriptions -= 1;
        self.removes += 1;
        self.generation += 1;
        true
    }

    /// All subscriptions whose filter matches the literal `subject`, with
    /// queue subscribers grouped by name. Results (including empty ones) are
    /// cached. A subject that is not a valid literal subject matches nothing.
    pub fn match_subject(&self, subject: &[u8]) -> Arc<Matches<T>> {
        let hash = match self.cache.get(subject) {
            Lookup::Hit(matches) => return matches,
            Lookup::Miss(hash) => Some(hash),
            Lookup::FirstMiss => None,
            Lookup::Uncacheable => {
                self.uncached_matches.fetch_add(1, Ordering::Relaxed);
                None
            }
        };
        // Like nats-server, a publish subject holding wildcard tokens is matched with those
        // tokens taken literally (`foo.*` reaches `foo.*` and `foo.>` subscribers); only
        // malformed subjects (empty tokens, whitespace) match nothing.
        if !is_valid_subject(subject) {
            return Arc::clone(&self.empty);
        }
        let mut collector = Collector::new();
        self.root.collect(subject, &mut collector);
        let matches = Arc::new(collector.finish());
        if let Some(hash) = hash {
            self.cache.put(hash, subject, Arc::clone(&matches));
        }
        matches
    }

    /// Changes on every successful insert and remove, so callers can keep
    /// their own caches keyed by it and know when they are stale.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of subscriptions held.
    pub fn len(&self) -> usize {
        self.subscriptions
    }

    pub fn is_empty(&self) -> bool {
        self.subscriptions == 0
    }

    pub fn stats(&self) -> IndexStats {
        let cache = self.cache.counters();
        let matches = cache.hits + cache.misses + self.uncached_matches.load(Ordering::Relaxed);
        IndexStats {
            subscriptions: self.subscriptions,
            cache_entries: cache.entries,
            matches,
            cache_hits: cache.hits,
            cache_hit_rate: if matches == 0 {
                0.0
            } else {
                cache.hits as f64 / matches as f64
            },
            inserts: self.inserts,
            removes: self.removes,
        }
    }

    /// Checks trie invariants and the subscription count; for tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        assert_eq!(self.root.check_invariants(), self.subscriptions);
        // Pruning must leave no nodes behind once everything is removed.
        assert_eq!(self.root.is_empty(), self.subscriptions == 0);
    }
}
