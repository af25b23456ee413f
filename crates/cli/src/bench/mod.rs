//! `weir bench`: throughput, latency and footprint benchmarks.

pub mod conns;
pub mod js;
pub mod kv;
pub mod kv_scale;
pub mod natsclient;
pub mod progress;
pub mod pubsub;
pub mod raw;
pub mod rawclient;
pub mod request;
pub mod stats;
pub mod subs;
pub mod system;

use clap::Args;

/// Flags every benchmark accepts.
#[derive(Debug, Clone, Args)]
pub struct BenchCommon {
    /// Print per-client results
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Do not draw progress bars
    #[arg(long)]
    pub no_progress: bool,
}

/// Splits `total` across `parts` as evenly as possible (the first ones get the remainder).
pub fn split_evenly(total: u64, parts: usize) -> Vec<u64> {
    if parts == 0 {
        return Vec::new();
    }
    let parts_u64 = parts as u64;
    (0..parts_u64)
        .map(|i| total / parts_u64 + u64::from(i < total % parts_u64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_evenly_sums_to_total() {
        assert_eq!(split_evenly(10, 3), vec![4, 3, 3]);
        assert_eq!(split_evenly(2, 4), vec![1, 1, 0, 0]);
        assert_eq!(split_evenly(5, 0), Vec::<u64>::new());
        assert_eq!(split_evenly(1_000_001, 7).iter().sum::<u64>(), 1_000_001);
    }
}
