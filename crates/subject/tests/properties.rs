//! Property tests of the public API against brute-force oracles over a
//! small token alphabet (small enough that exhaustive search is exact).

use proptest::prelude::*;
use weir_subject::{
    is_literal, is_valid_literal_subject, is_valid_subject, matches, overlaps, subset_of, Matches,
    SubjectIndex,
};

const LITERALS: &[&str] = &["a", "b", "c"];
const MAX_TOKENS: usize = 4;

fn filter_strategy() -> impl Strategy<Value = String> {
    let token = prop::sample::select(&["a", "b", "c", "*", "*", ">"][..]);
    prop::collection::vec(token, 1..=MAX_TOKENS).prop_map(|mut tokens| {
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
    prop::collection::vec(prop::sample::select(LITERALS), 1..=MAX_TOKENS + 1)
        .prop_map(|t| t.join("."))
}

/// Every literal subject of 1..=max_tokens tokens over the alphabet plus one
/// literal ("z") that no filter names, so `*` vs literal cases are exercised.
fn all_subjects(max_tokens: usize) -> Vec<String> {
    let alphabet = ["a", "b", "c", "z"];
    let mut out = Vec::new();
    let mut layer = vec![String::new()];
    for _ in 0..max_tokens {
        let mut next = Vec::new();
        for prefix in &layer {
            for t in alphabet {
                next.push(if prefix.is_empty() {
                    t.to_string()
                } else {
                    format!("{prefix}.{t}")
                });
            }
        }
        out.extend(next.iter().cloned());
        layer = next;
    }
    out
}

/// Multiset view of a result: (queue or "", value), sorted.
fn normalize(m: &Matches<u32>) -> Vec<(Vec<u8>, u32)> {
    let mut v: Vec<(Vec<u8>, u32)> = m.plain.iter().map(|&x| (Vec::new(), x)).collect();
    for g in &m.queues {
        assert!(!g.members.is_empty(), "empty group in result");
        v.extend(g.members.iter().map(|&x| (g.name.to_vec(), x)));
    }
    v.sort();
    v
}

fn queue_name(q: Option<u8>) -> Option<Vec<u8>> {
    q.map(|q| format!("q{q}").into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn generated_filters_are_valid(f in filter_strategy(), s in subject_strategy()) {
        prop_assert!(is_valid_subject(f.as_bytes()));
        prop_assert!(is_valid_literal_subject(s.as_bytes()));
        prop_assert_eq!(is_literal(f.as_bytes()), !f.split('.').any(|t| t == "*" || t == ">"));
    }

    #[test]
    fn validation_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..32)) {
        let valid = is_valid_subject(&bytes);
        if is_valid_literal_subject(&bytes) {
            prop_assert!(valid && is_literal(&bytes));
        }
        let _ = matches(&bytes, &bytes);
        let _ = subset_of(&bytes, b">");
        let _ = overlaps(&bytes, b"a.*");
        let mut index = SubjectIndex::new();
        prop_assert_eq!(index.insert(&bytes, None, 1).is_ok(), valid);
        prop_assert_eq!(index.remove(&bytes, None, &1), valid);
        let _ = index.match_subject(&bytes);
    }

    #[test]
    fn subset_agrees_with_exhaustive_search(a in filter_strategy(), b in filter_strategy()) {
        let universe = all_subjects(MAX_TOKENS + 1);
        let brute = universe
            .iter()
            .all(|s| !matches(a.as_bytes(), s.as_bytes()) || matches(b.as_bytes(), s.as_bytes()));
        prop_assert_eq!(subset_of(a.as_bytes(), b.as_bytes()), brute, "{} <= {}", a, b);
        prop_assert!(subset_of(a.as_bytes(), a.as_bytes()));
    }

    #[test]
    fn subset_implies_matching(a in filter_strategy(), b in filter_strategy(), s in subject_strategy()) {
        if subset_of(a.as_bytes(), b.as_bytes()) && matches(a.as_bytes(), s.as_bytes()) {
            prop_assert!(matches(b.as_bytes(), s.as_bytes()));
        }
    }

    #[test]
    fn overlaps_agrees_with_exhaustive_search(a in filter_strategy(), b in filter_strategy()) {
        // Two filters of <= MAX_TOKENS tokens that overlap share a witness of
        // <= MAX_TOKENS tokens, so this universe is exhaustive.
        let universe = all_subjects(MAX_TOKENS);
        let brute = universe
            .iter()
            .any(|s| matches(a.as_bytes(), s.as_bytes()) && matches(b.as_bytes(), s.as_bytes()));
        prop_assert_eq!(overlaps(a.as_bytes(), b.as_bytes()), brute, "{} & {}", a, b);
        prop_assert_eq!(overlaps(b.as_bytes(), a.as_bytes()), brute);
    }

    /// The cached index agrees with a brute-force scan after every step of a
    /// random interleaving of inserts, removes and matches. A tiny cache
    /// forces eviction; matching every subject after each mutation checks
    /// that cached entries (hits and misses) are patched correctly.
    #[test]
    fn index_agrees_with_brute_force(
        filters in prop::collection::vec(filter_strategy(), 1..10),
        subjects in prop::collection::vec(subject_strategy(), 1..10),
        ops in prop::collection::vec((any::<bool>(), 0usize..100, prop::option::of(0u8..2), 0u32..3), 1..80),
        cache_capacity in prop::sample::select(&[0usize, 16, 4096][..]),
    ) {
        let mut index = SubjectIndex::with_cache_capacity(cache_capacity);
        let mut live: Vec<(usize, Option<u8>, u32)> = Vec::new();
        for (insert, i, q, v) in ops {
            let f = i % filters.len();
            let queue = queue_name(q);
            let generation = index.generation();
            if insert {
                index.insert(filters[f].as_bytes(), queue.as_deref(), v).unwrap();
                live.push((f, q, v));
                prop_assert_ne!(index.generation(), generation);
            } else {
                // Filters may repeat in the list: compare them by text.
                    let at = live
                        .iter()
                        .position(|&(lf, lq, lv)| filters[lf] == filters[f] && (lq, lv) == (q, v));
                prop_assert_eq!(index.remove(filters[f].as_bytes(), queue.as_deref(), &v), at.is_some());
                if let Some(at) = at {
                    live.swap_remove(at);
                    prop_assert_ne!(index.generation(), generation);
                }
            }
            prop_assert_eq!(index.len(), live.len());
            for s in &subjects {
                let mut want: Vec<(Vec<u8>, u32)> = live
                    .iter()
                    .filter(|(f, _, _)| matches(filters[*f].as_bytes(), s.as_bytes()))
                    .map(|&(_, q, v)| (queue_name(q).unwrap_or_default(), v))
                    .collect();
                want.sort();
                // Twice: the second call is served from the cache.
                prop_assert_eq!(normalize(&index.match_subject(s.as_bytes())), want.clone(), "{}", s);
                prop_assert_eq!(normalize(&index.match_subject(s.as_bytes())), want, "{}", s);
            }
        }
    }
}
