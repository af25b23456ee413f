//! Unit tests for `SubjectIndex` that also check internal invariants.

use std::sync::Arc;

use proptest::prelude::*;

use crate::{Matches, SubjectError, SubjectIndex};

fn sorted_plain(m: &Matches<u32>) -> Vec<u32> {
    let mut v = m.plain.clone();
    v.sort_unstable();
    v
}

fn sorted_queues(m: &Matches<u32>) -> Vec<(Vec<u8>, Vec<u32>)> {
    let mut groups: Vec<_> = m
        .queues
        .iter()
        .map(|g| {
            let mut members = g.members.clone();
            members.sort_unstable();
            (g.name.to_vec(), members)
        })
        .collect();
    groups.sort();
    groups
}

#[test]
fn basic_matching() {
    let mut index = SubjectIndex::new();
    index.insert(b"foo.bar", None, 1).unwrap();
    index.insert(b"foo.*", None, 2).unwrap();
    index.insert(b"foo.>", None, 3).unwrap();
    index.insert(b">", None, 4).unwrap();
    index.insert(b"*.bar", None, 5).unwrap();
    index.insert(b"foo.bar.baz", None, 6).unwrap();
    index.check_invariants();

    assert_eq!(
        sorted_plain(&index.match_subject(b"foo.bar")),
        [1, 2, 3, 4, 5]
    );
    assert_eq!(
        sorted_plain(&index.match_subject(b"foo.bar.baz")),
        [3, 4, 6]
    );
    assert_eq!(sorted_plain(&index.match_subject(b"foo")), [4]);
    assert_eq!(sorted_plain(&index.match_subject(b"x.bar")), [4, 5]);
    assert_eq!(index.len(), 6);
}

#[test]
fn rejects_invalid_input() {
    let mut index = SubjectIndex::new();
    for bad in [&b""[..], b"foo.", b".foo", b"foo..bar", b">.foo", b"a b"] {
        assert_eq!(
            index.insert(bad, None, 1),
            Err(SubjectError::InvalidSubject)
        );
    }
    assert_eq!(
        index.insert(b"foo", Some(b""), 1),
        Err(SubjectError::InvalidQueue)
    );
    assert_eq!(
        index.insert(b"foo", Some(b"a b"), 1),
        Err(SubjectError::InvalidQueue)
    );
    assert!(index.is_empty());
    assert_eq!(index.generation(), 0);
    assert!(!index.remove(b"foo..bar", None, &1));
    assert!(!index.remove(b"", None, &1));

    index.insert(b">", None, 1).unwrap();
    // Malformed subjects: nothing matches and nothing is cached.
    for bad in [&b""[..], b"foo..bar", b"a b", b"foo."] {
        assert!(index.match_subject(bad).is_empty(), "{bad:?}");
    }
    assert_eq!(index.stats().cache_entries, 0);
    // Wildcard tokens in a publish subject are taken literally, as nats-server does.
    for wild in [&b"foo.*"[..], b">"] {
        assert_eq!(index.match_subject(wild).plain, vec![1], "{wild:?}");
    }
}

#[test]
fn queue_groups_merge_across_filters() {
    let mut index = SubjectIndex::new();
    index.insert(b"orders.*", Some(b"workers"), 1).unwrap();
    index.insert(b"orders.>", Some(b"workers"), 2).unwrap();
    index.insert(b"orders.new", Some(b"workers"), 3).unwrap();
    index.insert(b"orders.new", Some(b"audit"), 4).unwrap();
    index.insert(b"orders.new", None, 5).unwrap();

    let m = index.match_subject(b"orders.new");
    assert_eq!(sorted_plain(&m), [5]);
    assert_eq!(
        sorted_queues(&m),
        [
            (b"audit".to_vec(), vec![4]),
            (b"workers".to_vec(), vec![1, 2, 3])
        ]
    );
    assert_eq!(m.queue(b"workers").map(|g| g.members.len()), Some(3));
    assert_eq!(m.len(), 5);

    // Queue and plain entries with the same value are distinct.
    assert!(!index.remove(b"orders.*", None, &1));
    assert!(!index.remove(b"orders.*", Some(b"audit"), &1));
    assert!(index.remove(b"orders.*", Some(b"workers"), &1));
    index.check_invariants();
}

#[test]
fn duplicates_are_separate_entries() {
    let mut index = SubjectIndex::new();
    index.insert(b"a.b", None, 7).unwrap();
    index.insert(b"a.b", None, 7).unwrap();
    assert_eq!(index.match_subject(b"a.b").plain, [7, 7]);
    assert!(index.remove(b"a.b", None, &7));
    assert_eq!(index.match_subject(b"a.b").plain, [7]);
    assert!(index.remove(b"a.b", None, &7));
    assert!(!index.remove(b"a.b", None, &7));
    assert!(index.match_subject(b"a.b").is_empty());
    assert!(index.is_empty());
    index.check_invariants();
}

#[test]
fn cached_miss_becomes_hit_and_back() {
    let mut index = SubjectIndex::new();
    index.insert(b"other", None, 0).unwrap();
    // Cached on the second miss (the first only passes the doorkeeper).
    assert!(index.match_subject(b"foo.bar").is_empty());
    assert_eq!(index.stats().cache_entries, 0);
    assert!(index.match_subject(b"foo.bar").is_empty());
    assert_eq!(index.stats().cache_entries, 1);

    // Wildcard insert patches the cached miss.
    index.insert(b"foo.*", None, 1).unwrap();
    assert_eq!(index.match_subject(b"foo.bar").plain, [1]);
    // Literal insert patches the cached entry by direct lookup.
    index.insert(b"foo.bar", Some(b"q"), 2).unwrap();
    let m = index.match_subject(b"foo.bar");
    assert_eq!(sorted_queues(&m), [(b"q".to_vec(), vec![2])]);

    assert!(index.remove(b"foo.*", None, &1));
    assert!(index.remove(b"foo.bar", Some(b"q"), &2));
    assert!(index.match_subject(b"foo.bar").is_empty());

    // Unrelated filters leave the entry alone.
    index.insert(b"foo.baz", None, 3).unwrap();
    index.insert(b"foo.*.x", None, 4).unwrap();
    assert!(index.match_subject(b"foo.bar").is_empty());
    let stats = index.stats();
    assert!(stats.cache_hits >= 4, "{stats:?}");
}

#[test]
fn held_results_are_snapshots() {
    let mut index = SubjectIndex::new();
    index.insert(b"a", None, 1).unwrap();
    let before = index.match_subject(b"a");
    index.insert(b"*", None, 2).unwrap();
    assert_eq!(before.plain, [1]);
    assert_eq!(sorted_plain(&index.match_subject(b"a")), [1, 2]);
}

#[test]
fn generation_and_stats() {
    let mut index = SubjectIndex::new();
    let g0 = index.generation();
    index.insert(b"a", None, 1).unwrap();
    let g1 = index.generation();
    assert_ne!(g0, g1);
    assert!(!index.remove(b"a", None, &2));
    assert_eq!(index.generation(), g1);
    assert!(index.remove(b"a", None, &1));
    assert_ne!(index.generation(), g1);

    // Miss (doorkeeper), miss (cached), hit, hit.
    for _ in 0..4 {
        index.match_subject(b"x");
    }
    let stats = index.stats();
    assert_eq!(stats.matches, 4);
    assert_eq!(stats.cache_hits, 2);
    assert_eq!(stats.cache_hit_rate, 0.5);
    assert_eq!((stats.inserts, stats.removes), (1, 1));
    assert_eq!(stats.subscriptions, 0);
}

#[test]
fn works_with_cache_disabled() {
    let mut index = SubjectIndex::with_cache_capacity(0);
    index.insert(b"a.*", None, 1).unwrap();
    assert_eq!(index.match_subject(b"a.b").plain, [1]);
    let stats = index.stats();
    assert_eq!(
        (stats.matches, stats.cache_hits, stats.cache_entries),
        (1, 0, 0)
    );
}

#[test]
fn pruning_frees_everything() {
    let mut index = SubjectIndex::new();
    let filters: Vec<String> = (0..500)
        .map(|i| match i % 4 {
            0 => format!("a.{i}.c"),
            1 => format!("a.*.{i}"),
            2 => format!("a.{i}.>"),
            _ => format!("*.{i}"),
        })
        .collect();
    for (i, f) in filters.iter().enumerate() {
        index.insert(f.as_bytes(), None, i as u32).unwrap();
    }
    index.check_invariants();
    for (i, f) in filters.iter().enumerate() {
        assert!(index.remove(f.as_bytes(), None, &(i as u32)));
    }
    index.check_invariants();
    assert!(index.is_empty());
}

#[test]
fn concurrent_readers() {
    let mut index = SubjectIndex::new();
    for i in 0..100u32 {
        index.insert(format!("t.{i}").as_bytes(), None, i).unwrap();
    }
    index.insert(b"t.*", Some(b"q"), 1000).unwrap();
    let index = Arc::new(parking_lot::RwLock::new(index));
    std::thread::scope(|s| {
        for _ in 0..4 {
            let index = Arc::clone(&index);
            s.spawn(move || {
                for round in 0..2_000u32 {
                    let i = round % 150;
                    let m = index.read().match_subject(format!("t.{i}").as_bytes());
                    let want = usize::from(i < 100);
                    assert_eq!(m.plain.len(), want);
                    assert_eq!(m.queues.len(), 1);
                }
            });
        }
    });
}

#[derive(Debug, Clone)]
enum Op {
    Insert(usize, Option<u8>, u32),
    Remove(usize, Option<u8>, u32),
    Match(usize),
}

const TOKENS: &[&str] = &["a", "b", "c", "*", ">"];

fn filter_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(0..TOKENS.len(), 1..4).prop_map(|idx| {
        let mut tokens: Vec<&str> = idx.iter().map(|&i| TOKENS[i]).collect();
        // Keep filters valid: `>` only last.
        let last = tokens.len() - 1;
        for t in &mut tokens[..last] {
            if *t == ">" {
                *t = "*";
            }
        }
        tokens.join(".")
    })
}

fn subject_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(&["a", "b", "c"][..]), 1..5)
        .prop_map(|t| t.join("."))
}

proptest! {
    #[test]
    fn trie_invariants_survive_churn(
        filters in prop::collection::vec(filter_strategy(), 1..12),
        subjects in prop::collection::vec(subject_strategy(), 1..8),
        raw_ops in prop::collection::vec((0u8..3, 0usize..64, prop::option::of(0u8..2), 0u32..4), 1..120),
    ) {
        let mut index = SubjectIndex::with_cache_capacity(32);
        let mut live: Vec<(usize, Option<u8>, u32)> = Vec::new();
        let ops = raw_ops.into_iter().map(|(kind, i, q, v)| match kind {
            0 => Op::Insert(i % filters.len(), q, v),
            1 => Op::Remove(i % filters.len(), q, v),
            _ => Op::Match(i % subjects.len()),
        });
        for op in ops {
            match op {
                Op::Insert(f, q, v) => {
                    let queue = q.map(|q| [b'q', b'0' + q]);
                    index.insert(filters[f].as_bytes(), queue.as_ref().map(|q| &q[..]), v).unwrap();
                    live.push((f, q, v));
                }
                Op::Remove(f, q, v) => {
                    let queue = q.map(|q| [b'q', b'0' + q]);
                    // Filters may repeat in the list: compare them by text.
                    let expected = live
                        .iter()
                        .position(|&(lf, lq, lv)| filters[lf] == filters[f] && (lq, lv) == (q, v));
                    let removed = index.remove(filters[f].as_bytes(), queue.as_ref().map(|q| &q[..]), &v);
                    prop_assert_eq!(removed, expected.is_some());
                    if let Some(at) = expected {
                        live.swap_remove(at);
                    }
                }
                Op::Match(s) => {
                    let m = index.match_subject(subjects[s].as_bytes());
                    let want = live
                        .iter()
                        .filter(|(f, _, _)| crate::matches(filters[*f].as_bytes(), subjects[s].as_bytes()))
                        .count();
                    prop_assert_eq!(m.len(), want);
                }
            }
            index.check_invariants();
        }
        for (f, q, v) in live.drain(..) {
            let queue = q.map(|q| [b'q', b'0' + q]);
            prop_assert!(index.remove(filters[f].as_bytes(), queue.as_ref().map(|q| &q[..]), &v));
        }
        prop_assert!(index.is_empty());
        index.check_invariants();
    }
}

/// Wide levels switch between the vector and hash-map representations;
/// results and pruning must not notice.
#[test]
fn wide_levels_churn() {
    let mut index = SubjectIndex::with_cache_capacity(64);
    let filters: Vec<String> = (0..300)
        .map(|i| match i % 3 {
            0 => format!("w.{}", i % 40),
            1 => format!("w.{}.x", i % 40),
            _ => format!("*.{}", i % 40),
        })
        .collect();
    let check = |index: &SubjectIndex<u32>, live: &[bool]| {
        for t in 0..45 {
            let subject = format!("w.{t}");
            let want = (0..filters.len())
                .filter(|&i| live[i] && crate::matches(filters[i].as_bytes(), subject.as_bytes()))
                .count();
            assert_eq!(
                index.match_subject(subject.as_bytes()).len(),
                want,
                "{subject}"
            );
        }
        index.check_invariants();
    };
    let mut live = vec![false; filters.len()];
    for (i, f) in filters.iter().enumerate() {
        index.insert(f.as_bytes(), None, i as u32).unwrap();
        live[i] = true;
    }
    check(&index, &live);
    // Remove in an order that shrinks levels past the demotion threshold.
    for round in 0..3 {
        for i in (round..filters.len()).step_by(3) {
            assert!(index.remove(filters[i].as_bytes(), None, &(i as u32)));
            live[i] = false;
            if i % 17 == 0 {
                check(&index, &live);
            }
        }
        check(&index, &live);
    }
    assert!(index.is_empty());
}

/// The server's value type: an `Arc` compared by identity, with no Hash/Eq.
#[derive(Clone, Debug)]
struct ById(Arc<String>);

impl PartialEq for ById {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

#[test]
fn identity_values() {
    let first = ById(Arc::new("client".to_string()));
    let second = ById(Arc::new("client".to_string()));
    let mut index = SubjectIndex::new();
    index.insert(b"a.*", None, first.clone()).unwrap();
    index.insert(b"a.*", None, second.clone()).unwrap();
    let before = index.match_subject(b"a.b");
    assert!(index.remove(b"a.*", None, &second));
    let after = index.match_subject(b"a.b");
    assert_eq!(after.plain, [first]);
    assert_eq!(before.plain.len(), 2);
    // The index is shareable across threads for this value type.
    fn assert_send_sync<S: Send + Sync>(_: &S) {}
    assert_send_sync(&index);
}

/// Reader threads fill their own cache shards; mutations in between must
/// patch every shard, not just the mutating thread's.
#[test]
fn every_reader_shard_is_patched() {
    let filters = ["a.b", "a.*", "*.b", "a.>", ">", "c.*", "a.b"];
    let subjects = ["a.b", "a.c", "c.b", "c.d", "a.b.c"];
    let mut index = SubjectIndex::new();
    let mut live: Vec<(usize, u32)> = Vec::new();
    let check = |index: &SubjectIndex<u32>, live: &[(usize, u32)]| {
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for subject in subjects {
                        let want = live
                            .iter()
                            .filter(|(f, _)| {
                                crate::matches(filters[*f].as_bytes(), subject.as_bytes())
                            })
                            .count();
                        // Twice: miss then hit on this thread's shard.
                        assert_eq!(index.match_subject(subject.as_bytes()).len(), want);
                        assert_eq!(index.match_subject(subject.as_bytes()).len(), want);
                    }
                });
            }
        });
    };
    for step in 0..40u32 {
        check(&index, &live);
        let f = (step as usize * 5) % filters.len();
        if step % 3 == 2 && !live.is_empty() {
            let (f, v) = live.swap_remove((step as usize) % live.len());
            assert!(index.remove(filters[f].as_bytes(), None, &v));
        } else {
            index.insert(filters[f].as_bytes(), None, step).unwrap();
            live.push((f, step));
        }
    }
    check(&index, &live);
}
