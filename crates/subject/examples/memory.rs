//! Measures heap bytes per subscription held by a `SubjectIndex`.
//!
//! Run: `cargo run --release -p weir-subject --example memory`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Arc;

use weir_subject::SubjectIndex;

/// Live heap bytes, as requested.
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
/// Live heap bytes as glibc malloc chunks them (8-byte header, 16-byte
/// granularity, 32-byte minimum): closer to what RSS sees.
static LIVE_CHUNK_BYTES: AtomicIsize = AtomicIsize::new(0);

fn chunk(size: usize) -> isize {
    ((size + 8 + 15) & !15).max(32) as isize
}

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        LIVE_CHUNK_BYTES.fetch_add(chunk(layout.size()), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_CHUNK_BYTES.fetch_sub(chunk(layout.size()), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SUBSCRIPTIONS: usize = 100_000;

fn measure(name: &str, filter: impl Fn(usize) -> (String, Option<&'static [u8]>)) {
    // Values and filter strings exist before the snapshot: only the
    // index's own memory is counted (the server owns its subscriptions).
    let values: Vec<Arc<u64>> = (0..SUBSCRIPTIONS as u64).map(Arc::new).collect();
    let filters: Vec<_> = (0..SUBSCRIPTIONS).map(&filter).collect();
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    let chunks_before = LIVE_CHUNK_BYTES.load(Ordering::Relaxed);
    let mut index = SubjectIndex::new();
    for ((f, q), v) in filters.iter().zip(&values) {
        index
            .insert(f.as_bytes(), *q, Arc::clone(v))
            .expect("valid");
    }
    let per_sub = (LIVE_BYTES.load(Ordering::Relaxed) - before) as f64 / SUBSCRIPTIONS as f64;
    let chunk_per_sub =
        (LIVE_CHUNK_BYTES.load(Ordering::Relaxed) - chunks_before) as f64 / SUBSCRIPTIONS as f64;
    println!(
        "{name:<36} {per_sub:>6.1} B/sub requested, {chunk_per_sub:>6.1} B/sub in malloc chunks"
    );

    // Churn: remove everything; pruning should give the memory back.
    for ((f, q), v) in filters.iter().zip(&values) {
        assert!(index.remove(f.as_bytes(), *q, v));
    }
    let emptied = LIVE_BYTES.load(Ordering::Relaxed) - before;
    println!("{:<36} {emptied:>6} B left after removing all", "");
}

fn main() {
    measure("unique literals a.b.<i>", |i| {
        (format!("app.events.{i}"), None)
    });
    measure("unique literals, 4 levels fan-out", |i| {
        (format!("orders.r{}.{}.created", i % 8, i / 8), None)
    });
    measure("inboxes _INBOX.<22 chars>.<i>", |i| {
        (format!("_INBOX.{:022}.{}", i / 10, i % 10), None)
    });
    measure("queue subs on 100 subjects", |i| {
        (format!("work.{}", i % 100), Some(&b"workers"[..]))
    });
    measure("same subject, 100k plain", |_| {
        ("hot.subject".to_string(), None)
    });
}
