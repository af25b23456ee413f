//! Interned per-subject index: subject -> (first seq, last seq, count).
//!
//! Each subject name is stored once (in its entry); the hash table holds only
//! `u32` ids, so 100k+ subjects cost roughly one entry plus the name each.
//! Removing a subject's first or last message only marks that bound stale;
//! `Table::fix_stale` repairs all stale bounds after each operation, in one
//! pass when many are stale (bulk purges), so removals stay O(1).

use bytes::Bytes;
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;

pub(crate) const NO_SUBJECT: u32 = u32::MAX;

#[derive(Debug, Clone)]
pub(crate) struct SubjectEntry {
    pub name: Bytes,
    /// Exact unless `stale_first`; then a lower bound.
    pub first: u64,
    /// Exact unless `stale_last`; then an upper bound.
    pub last: u64,
    pub count: u64,
    pub stale_first: bool,
    pub stale_last: bool,
}

#[derive(Default)]
pub(crate) struct SubjectIndex {
    /// Indexed by id; `count == 0` marks a free entry.
    entries: Vec<SubjectEntry>,
    free: Vec<u32>,
    table: HashTable<u32>,
    hasher: DefaultHashBuilder,
    live: usize,
    stale: Vec<u32>,
}

impl SubjectIndex {
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn clear(&mut self) {
        *self = Self {
            hasher: self.hasher.clone(),
            ..Self::default()
        };
    }

    pub fn lookup(&self, name: &[u8]) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |&id| self.entries[id as usize].name.as_ref() == name)
            .copied()
    }

    pub fn entry(&self, id: u32) -> &SubjectEntry {
        &self.entries[id as usize]
    }

    pub fn entry_mut(&mut self, id: u32) -> &mut SubjectEntry {
        &mut self.entries[id as usize]
    }

    pub fn name(&self, id: u32) -> &Bytes {
        &self.entries[id as usize].name
    }

    /// Ids of all live entries.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.count > 0)
            .map(|(i, _)| i as u32)
    }

    pub fn capacity_ids(&self) -> usize {
        self.entries.len()
    }

    /// Records a new message `seq` (greater than every stored seq) on `name`.
    pub fn add(&mut self, name: &[u8], seq: u64) -> u32 {
        if let Some(id) = self.lookup(name) {
            let e = &mut self.entries[id as usize];
            debug_assert!(e.last < seq || e.stale_last);
            e.last = seq;
            e.stale_last = false;
            e.count += 1;
            return id;
        }
        self.insert_new(Bytes::copy_from_slice(name), seq)
    }

    fn insert_new(&mut self, name: Bytes, seq: u64) -> u32 {
        let entry = SubjectEntry {
            name,
            first: seq,
            last: seq,
            count: 1,
            stale_first: false,
            stale_last: false,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id as usize] = entry;
                id
            }
            None => {
                self.entries.push(entry);
                (self.entries.len() - 1) as u32
            }
        };
        let hash = self
            .hasher
            .hash_one(self.entries[id as usize].name.as_ref());
        let entries = &self.entries;
        let hasher = &self.hasher;
        self.table.insert_unique(hash, id, |&i| {
            hasher.hash_one(entries[i as usize].name.as_ref())
        });
        self.live += 1;
        id
    }

    /// Installs `name` under a fixed `id` with no messages yet (snapshot load).
    pub fn install(&mut self, id: u32, name: Bytes) {
        let idx = id as usize;
        if self.entries.len() <= idx {
            self.entries.resize_with(idx + 1, || SubjectEntry {
                name: Bytes::new(),
                first: 0,
                last: 0,
                count: 0,
                stale_first: false,
                stale_last: false,
            });
        }
        self.entries[idx] = SubjectEntry {
            name,
            first: 0,
            last: 0,
            count: 0,
            stale_first: false,
            stale_last: false,
        };
    }

    /// After `install`s and `count_loaded`s: hash the live entries, free the rest.
    pub fn finish_load(&mut self) {
        self.table.clear();
        self.free.clear();
        self.live = 0;
        for i in (0..self.entries.len()).rev() {
            if self.entries[i].count == 0 {
                self.entries[i].name = Bytes::new();
                self.free.push(i as u32);
                continue;
            }
            let hash = self.hasher.hash_one(self.entries[i].name.as_ref());
            let entries = &self.entries;
            let hasher = &self.hasher;
            self.table.insert_unique(hash, i as u32, |&j| {
                hasher.hash_one(entries[j as usize].name.as_ref())
            });
            self.live += 1;
        }
    }

    /// Counts a loaded message in ascending seq order (snapshot load).
    pub fn count_loaded(&mut self, id: u32, seq: u64) -> bool {
        let Some(e) = self.entries.get_mut(id as usize) else {
            return false;
        };
        if e.name.is_empty() {
            return false;
        }
        if e.count == 0 {
            e.first = seq;
        }
        e.last = seq;
        e.count += 1;
        true
    }

    /// Records the removal of message `seq` on subject `id`.
    pub fn remove(&mut self, id: u32, seq: u64) {
        let e = &mut self.entries[id as usize];
        debug_assert!(e.count > 0);
        e.count -= 1;
        if e.count == 0 {
            let hash = self.hasher.hash_one(e.name.as_ref());
            if let Ok(found) = self.table.find_entry(hash, |&i| i == id) {
                found.remove();
            }
            e.name = Bytes::new();
            e.stale_first = false;
            e.stale_last = false;
            self.free.push(id);
            self.live -= 1;
            return;
        }
        let was_stale = e.stale_first || e.stale_last;
        if seq == e.first {
            e.first = seq + 1;
            e.stale_first = true;
        }
        if seq == e.last {
            e.last = seq - 1;
            e.stale_last = true;
        }
        // One message left and one bound exact: the other equals it.
        if e.count == 1 && e.stale_first != e.stale_last {
            if e.stale_first {
                e.first = e.last;
            } else {
                e.last = e.first;
            }
            e.stale_first = false;
            e.stale_last = false;
        }
        if !was_stale && (e.stale_first || e.stale_last) {
            self.stale.push(id);
        }
    }

    pub fn take_stale(&mut self) -> Vec<u32> {
        std::mem::take(&mut self.stale)
    }

    pub fn has_stale(&self) -> bool {
        !self.stale.is_empty()
    }
}
