//! A publisher's private cache of subject matches (a connection's, or the server's own
//! publisher's), in front of the shared index and its cache: no lock, no shared cache line.
//! Dropped whenever the shared index changes (its generation moves).
//!
//! Admission: a subject is cached on its second sighting. Request inboxes and per-key API
//! subjects rarely repeat; caching each would cost an allocation and push out the subjects
//! that do repeat. Ack subjects never repeat and skip the cache altogether.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::sync::Arc;

use weir_subject::Matches;

use crate::account::Account;
use crate::subscription::SubRef;

/// Slots of the "seen once" filter: hashes of recent first sightings.
const DOORKEEPER_SLOTS: usize = 256;

pub struct MatchCache {
    map: HashMap<Box<[u8]>, Arc<Matches<SubRef>>>,
    generation: u64,
    max_entries: usize,
    /// Allocated at the first miss: most connections never publish, and 2 KiB inline would
    /// grow every connection's reader task.
    seen_once: Option<Box<[u64; DOORKEEPER_SLOTS]>>,
}

impl MatchCache {
    pub fn new(max_entries: usize) -> MatchCache {
        MatchCache {
            map: HashMap::new(),
            generation: u64::MAX,
            max_entries,
            seen_once: None,
        }
    }

    /// Forgets everything (the owner moved to another account).
    pub fn clear(&mut self) {
        self.map.clear();
        self.generation = u64::MAX;
    }

    /// The subscriptions matching the literal `subject`.
    pub fn lookup(&mut self, account: &Account, subject: &[u8]) -> Arc<Matches<SubRef>> {
        let shared = |s: &[u8]| account.with_subscriptions(|index| index.match_subject(s));
        if weir_subject::is_unique_per_message(subject) {
            return shared(subject);
        }
        let generation = account.subscriptions_generation();
        if generation != self.generation {
            self.map.clear();
            self.generation = generation;
        }
        if let Some(found) = self.map.get(subject) {
            return found.clone();
        }
        let found = shared(subject);
        let hash = self.map.hasher().hash_one(subject);
        let seen_once = self
            .seen_once
            .get_or_insert_with(|| Box::new([0; DOORKEEPER_SLOTS]));
        let slot = &mut seen_once[hash as usize % DOORKEEPER_SLOTS];
        if *slot != hash {
            *slot = hash;
            return found;
        }
        if self.map.len() >= self.max_entries {
            self.map.clear();
        }
        self.map.insert(subject.into(), found.clone());
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_sighting_is_cached_and_index_changes_drop_it() {
        let state = Account::new("A");
        let mut cache = MatchCache::new(4);
        cache.lookup(&state, b"a.b");
        assert!(
            cache.map.is_empty(),
            "first sighting only passes the doorkeeper"
        );
        cache.lookup(&state, b"a.b");
        assert_eq!(cache.map.len(), 1);
        cache.lookup(&state, b"$JS.ACK.S.C.1.1.1.1.0");
        cache.lookup(&state, b"$JS.ACK.S.C.1.1.1.1.0");
        assert_eq!(cache.map.len(), 1, "ack subjects are never cached");
        // Bounded: past max_entries it starts over.
        for i in 0..10 {
            let s = format!("x.{i}");
            cache.lookup(&state, s.as_bytes());
            cache.lookup(&state, s.as_bytes());
        }
        assert!(cache.map.len() <= 4);
    }
}
