//! SubjectIndex benchmarks against a 100,000-subscription index.
//!
//! Run: `cargo bench -p weir-subject -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use weir_subject::SubjectIndex;

const SUBSCRIPTIONS: usize = 100_000;
const REGIONS: &[&str] = &["eu", "us", "ap", "sa", "af", "me", "cn", "au"];

/// A realistic mix: mostly literal per-entity subjects, some `*` and `>`
/// filters, a slice of queue subscribers. Returns the index and a set of
/// literal subjects that are actually published.
fn build_index(cache_capacity: usize) -> (SubjectIndex<u32>, Vec<String>) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut index = SubjectIndex::with_cache_capacity(cache_capacity);
    let mut subjects = Vec::with_capacity(SUBSCRIPTIONS);
    for i in 0..SUBSCRIPTIONS {
        let region = REGIONS[rng.gen_range(0..REGIONS.len())];
        let entity = rng.gen_range(0..50_000u32);
        let literal = format!("orders.{region}.{entity}.created");
        let value = i as u32;
        let roll = rng.gen_range(0..100);
        let result = match roll {
            0..=69 => index.insert(literal.as_bytes(), None, value),
            70..=79 => index.insert(literal.as_bytes(), Some(b"workers"), value),
            80..=89 => index.insert(format!("orders.*.{entity}.*").as_bytes(), None, value),
            90..=97 => index.insert(
                format!("orders.{region}.{entity}.>").as_bytes(),
                None,
                value,
            ),
            _ => index.insert(format!("*.{region}.*.{entity}").as_bytes(), None, value),
        };
        result.expect("valid filter");
        subjects.push(literal);
    }
    (index, subjects)
}

fn match_benches(c: &mut Criterion) {
    let (index, subjects) = build_index(weir_subject::DEFAULT_CACHE_CAPACITY);
    let (uncached, _) = build_index(0);
    let mut group = c.benchmark_group("match_100k");
    group.throughput(Throughput::Elements(1));

    // A working set well inside the cache: every lookup after the first
    // round is a hit.
    let hot: Vec<&[u8]> = subjects.iter().take(1024).map(|s| s.as_bytes()).collect();
    for s in &hot {
        index.match_subject(s);
    }
    let mut i = 0;
    group.bench_function("cache_hit", |b| {
        b.iter(|| {
            i = (i + 1) & 1023;
            black_box(index.match_subject(black_box(hot[i])))
        })
    });

    // Trie walk only (cache disabled), for subjects with subscribers.
    let mut i = 0;
    group.bench_function("trie_walk_uncached", |b| {
        b.iter(|| {
            i = (i + 1) % subjects.len();
            black_box(uncached.match_subject(black_box(subjects[i].as_bytes())))
        })
    });

    // Same walk with CPU caches warm: a small set of subjects, repeated.
    let mut i = 0;
    group.bench_function("trie_walk_hot", |b| {
        b.iter(|| {
            i = (i + 1) & 63;
            black_box(uncached.match_subject(black_box(subjects[i].as_bytes())))
        })
    });

    // Cold misses on the caching index: each subject is new, so the call
    // walks the trie, stores the result and evicts when the cache is full.
    let mut n = 0u64;
    group.bench_function("cache_miss_cold", |b| {
        b.iter_batched(
            || {
                n += 1;
                format!(
                    "orders.{}.{}.created",
                    REGIONS[(n % 8) as usize],
                    1_000_000 + n
                )
            },
            |s| black_box(index.match_subject(s.as_bytes())),
            BatchSize::SmallInput,
        )
    });

    // Publishing to a subject nobody listens on, answered from the cache.
    index.match_subject(b"nobody.listens.here");
    group.bench_function("cached_empty", |b| {
        b.iter(|| black_box(index.match_subject(black_box(b"nobody.listens.here"))))
    });

    // Two readers hitting the cache at once (the machine has 2 cores):
    // "interleaved" has them alternate over one subject list (neighbouring
    // results share cache lines), "disjoint" gives each its own half.
    group.throughput(Throughput::Elements(2));
    for (name, pick) in [
        (
            "cache_hit_2_threads_interleaved",
            (|k, t| (k * 2 + t) & 1023) as fn(usize, usize) -> usize,
        ),
        ("cache_hit_2_threads_disjoint", |k, t| t * 512 + (k & 511)),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..2 {
                        let (index, hot) = (&index, &hot);
                        s.spawn(move || {
                            for k in 0..iters as usize {
                                black_box(index.match_subject(hot[pick(k, t)]));
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    group.finish();
    let stats = index.stats();
    eprintln!(
        "cache: {} entries, hit rate {:.3}",
        stats.cache_entries, stats.cache_hit_rate
    );
}

fn churn_benches(c: &mut Criterion) {
    let (mut index, subjects) = build_index(weir_subject::DEFAULT_CACHE_CAPACITY);
    // Fill the cache so wildcard churn pays for the cache scan.
    for s in subjects.iter().take(8192) {
        index.match_subject(s.as_bytes());
    }
    let mut group = c.benchmark_group("churn_100k");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(3));

    let mut n = 0u32;
    group.bench_function("insert_remove_literal", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let filter = format!("_INBOX.{n}.reply");
            index.insert(filter.as_bytes(), None, n).expect("valid");
            assert!(index.remove(filter.as_bytes(), None, &n));
        })
    });
    group.bench_function("insert_remove_wildcard", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let filter = format!("orders.*.{}.>", n % 50_000);
            index.insert(filter.as_bytes(), None, n).expect("valid");
            assert!(index.remove(filter.as_bytes(), None, &n));
        })
    });
    group.finish();

    c.bench_function("build_100k", |b| {
        b.iter_batched(
            || (),
            |_| black_box(build_index(4096)),
            BatchSize::PerIteration,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = match_benches, churn_benches
}
criterion_main!(benches);
