//! Does the sharded match cache scale across reader threads?
//!
//! Compares 1 vs 2 threads doing cache hits against 1 vs 2 threads doing
//! private busy work, so a busy machine (other processes on the second
//! core) is not mistaken for lock contention.
//!
//! Run: `cargo run --release -p weir-subject --example contention`

use std::hint::black_box;
use std::time::{Duration, Instant};

use weir_subject::SubjectIndex;

const ITERS: usize = 5_000_000;

fn timed(threads: usize, work: impl Fn(usize) + Sync) -> Duration {
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let work = &work;
            s.spawn(move || work(t));
        }
    });
    start.elapsed()
}

fn main() {
    let mut index = SubjectIndex::new();
    let subjects: Vec<String> = (0..1024)
        .map(|i| format!("orders.eu.{i}.created"))
        .collect();
    for (i, s) in subjects.iter().enumerate() {
        index.insert(s.as_bytes(), None, i as u32).expect("valid");
    }
    index
        .insert(b"orders.*.*.created", Some(b"q"), 0)
        .expect("valid");
    for s in &subjects {
        index.match_subject(s.as_bytes());
    }

    let matching = |t: usize| {
        for k in 0..ITERS {
            black_box(index.match_subject(subjects[(t * 512 + (k & 511)) & 1023].as_bytes()));
        }
    };
    let busy = |_: usize| {
        let mut x = 1u64;
        for _ in 0..ITERS * 8 {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    };
    // Hot subject: every reader on the same shard and the same Arc.
    let same = |_: usize| {
        for _ in 0..ITERS {
            black_box(index.match_subject(subjects[0].as_bytes()));
        }
    };

    for round in 0..3 {
        let busy_scaling = timed(1, busy).as_secs_f64() / timed(2, busy).as_secs_f64() * 2.0;
        let match_scaling =
            timed(1, matching).as_secs_f64() / timed(2, matching).as_secs_f64() * 2.0;
        let same_scaling = timed(1, same).as_secs_f64() / timed(2, same).as_secs_f64() * 2.0;
        println!(
            "round {round}: 2-thread speedup  busy-loop {busy_scaling:.2}x  \
             distinct subjects {match_scaling:.2}x  one hot subject {same_scaling:.2}x"
        );
    }
}
