//! Store benchmarks. `cargo bench -p weir-store --bench store`.
//! `WEIR_BENCH_PREALLOC=1048576` adds preallocated variants of the
//! append+flush+sync group; `WEIR_BENCH_NO_REPORTS=1` skips the reports.
//! Besides the criterion groups, prints memory per stored message for both
//! stores and clean-reopen times (1M messages; 10M with WEIR_BENCH_10M=1).

use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use weir_store::*;

fn file_store(dir: &Path) -> FileStore {
    open_file_store(dir, FileStoreConfig::default()).unwrap().0
}

fn bench_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("append");
    for size in [128usize, 16 << 10] {
        let payload = vec![7u8; size];
        g.throughput(Throughput::Elements(1));
        g.bench_function(BenchmarkId::new("memory", size), |b| {
            let mut s = memory_store(MemStoreConfig {
                limits: StoreLimits {
                    max_msgs: 100_000,
                    ..Default::default()
                },
                first_seq: 1,
            });
            let mut i = 0u64;
            b.iter(|| {
                i += 1;
                s.append(b"bench.subject", b"", &payload, i as i64, None)
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("file", size), |b| {
            let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
            let mut s = open_file_store(
                dir.path(),
                FileStoreConfig {
                    limits: StoreLimits {
                        max_bytes: 1 << 30,
                        ..Default::default()
                    },
                    ..Default::default()
                },
            )
            .unwrap()
            .0;
            let mut i = 0u64;
            b.iter(|| {
                i += 1;
                if i.is_multiple_of(4096) {
                    // Keep the page cache writes flowing like a real broker.
                    drop(s.flush().unwrap());
                }
                s.append(b"bench.subject", b"", &payload, i as i64, None)
                    .unwrap()
            })
        });
    }
    g.finish();
}

fn bench_sync_batches(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_flush_sync_128B");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let payload = [7u8; 128];
    // WEIR_BENCH_PREALLOC=<bytes> runs the same with preallocated segments
    // (ids prefixed "prealloc/"), to compare in one run.
    let prealloc: u64 = std::env::var("WEIR_BENCH_PREALLOC")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let variants: &[(&str, u64)] = if prealloc > 0 {
        &[("", 0), ("prealloc/", prealloc)]
    } else {
        &[("", 0)]
    };
    for batch in [1u64, 100, 1000] {
        for &(prefix, bytes) in variants {
            g.throughput(Throughput::Elements(batch));
            g.bench_function(
                BenchmarkId::from_parameter(format!("{prefix}{batch}")),
                |b| {
                    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
                    let cfg = FileStoreConfig {
                        preallocate_bytes: bytes,
                        ..Default::default()
                    };
                    let mut s = open_file_store(dir.path(), cfg).unwrap().0;
                    let mut i = 0i64;
                    b.iter(|| {
                        for _ in 0..batch {
                            i += 1;
                            s.append(b"bench.subject", b"", &payload, i, None).unwrap();
                        }
                        s.flush().unwrap().sync().unwrap();
                    })
                },
            );
        }
    }
    g.finish();
}

fn bench_reads(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    let n = 200_000u64;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut fs = file_store(dir.path());
    let mut ms = memory_store(MemStoreConfig::default());
    let payload = [1u8; 128];
    for i in 0..n {
        let subj = format!("kv.key.{}", i % 100_000);
        fs.append(subj.as_bytes(), b"", &payload, i as i64, None)
            .unwrap();
        ms.append(subj.as_bytes(), b"", &payload, i as i64, None)
            .unwrap();
    }
    fs.flush().unwrap().sync().unwrap();
    let mut k = 0u64;
    g.bench_function("get/memory", |b| {
        b.iter(|| {
            k = (k * 7919 + 13) % n;
            black_box(ms.get(k + 1).unwrap())
        })
    });
    g.bench_function("get/file", |b| {
        b.iter(|| {
            k = (k * 7919 + 13) % n;
            black_box(fs.get(k + 1).unwrap())
        })
    });
    let keys: Vec<String> = (0..1024)
        .map(|i| format!("kv.key.{}", i * 97 % 100_000))
        .collect();
    g.bench_function("last_for_subject_100k_subjects/memory", |b| {
        b.iter(|| {
            k += 1;
            black_box(
                ms.last_for_subject(keys[(k % 1024) as usize].as_bytes())
                    .unwrap(),
            )
        })
    });
    g.bench_function("last_for_subject_100k_subjects/file", |b| {
        b.iter(|| {
            k += 1;
            black_box(
                fs.last_for_subject(keys[(k % 1024) as usize].as_bytes())
                    .unwrap(),
            )
        })
    });
    g.finish();
}

/// Counts live heap bytes, for an exact memory-per-message figure.
struct CountingAlloc;

static LIVE_HEAP_BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_HEAP_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_HEAP_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_HEAP_BYTES.fetch_add(new_size, Ordering::Relaxed);
        LIVE_HEAP_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn heap_bytes() -> u64 {
    LIVE_HEAP_BYTES.load(Ordering::Relaxed) as u64
}

/// Memory per stored message: 1M messages of 128 B on 100k subjects.
fn memory_report() {
    let n = 1_000_000u64;
    let payload = [3u8; 128];
    let before = heap_bytes();
    let mut ms = memory_store(MemStoreConfig::default());
    for i in 0..n {
        ms.append(
            format!("orders.region.{}", i % 100_000).as_bytes(),
            b"",
            &payload,
            i as i64,
            None,
        )
        .unwrap();
    }
    let mem = heap_bytes().saturating_sub(before);
    drop(ms);
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let before = heap_bytes();
    let mut fs = file_store(dir.path());
    for i in 0..n {
        fs.append(
            format!("orders.region.{}", i % 100_000).as_bytes(),
            b"",
            &payload,
            i as i64,
            None,
        )
        .unwrap();
    }
    fs.flush().unwrap().sync().unwrap();
    let file = heap_bytes().saturating_sub(before);
    println!(
        "memory per message (1M x 128 B, 100k subjects): memory store {} B/msg, file store {} B/msg (live heap bytes)",
        mem / n,
        file / n
    );
}

/// Reopen time of a cleanly closed store (snapshot path), and of a crashed
/// one (full scan), with `n` messages of 128 B on 100k subjects.
fn reopen_report(n: u64) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let mut s = file_store(dir.path());
    let payload = [5u8; 128];
    let t = Instant::now();
    for i in 0..n {
        s.append(
            format!("orders.region.{}", i % 100_000).as_bytes(),
            b"",
            &payload,
            i as i64,
            None,
        )
        .unwrap();
        if i.is_multiple_of(100_000) {
            drop(s.flush().unwrap());
        }
    }
    let fill = t.elapsed();
    let t = Instant::now();
    s.close().unwrap();
    let close = t.elapsed();
    drop(s);
    let t = Instant::now();
    let (mut s, report) = open_file_store(dir.path(), FileStoreConfig::default()).unwrap();
    let clean = t.elapsed();
    assert!(report.clean_shutdown && report.scanned_records == 0);
    assert_eq!(s.state().msgs, n);
    s.flush().unwrap().sync().unwrap();
    drop(s); // crash: no snapshot
    let t = Instant::now();
    let (s, report) = open_file_store(dir.path(), FileStoreConfig::default()).unwrap();
    let scan = t.elapsed();
    assert!(!report.clean_shutdown);
    assert_eq!(s.state().msgs, n);
    println!(
        "{n} msgs: fill {fill:.2?} ({:.0} msg/s), close+snapshot {close:.2?}, clean reopen {clean:.2?}, crash reopen (scan of {} records) {scan:.2?}",
        n as f64 / fill.as_secs_f64(),
        report.scanned_records
    );
}

fn main() {
    // WEIR_BENCH_NO_REPORTS=1 skips the memory and reopen reports.
    if std::env::var_os("WEIR_BENCH_NO_REPORTS").is_none() {
        memory_report();
        reopen_report(1_000_000);
        if std::env::var_os("WEIR_BENCH_10M").is_some() {
            reopen_report(10_000_000);
        }
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    bench_append(&mut c);
    bench_sync_batches(&mut c);
    bench_reads(&mut c);
    c.final_summary();
}
