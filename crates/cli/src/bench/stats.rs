//! Throughput statistics in the shape of `nats bench`.

use std::time::Instant;

use serde::Serialize;

use crate::output::commas;

const MIB: f64 = 1024.0 * 1024.0;

/// One client's measured run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub msgs: u64,
    pub bytes: u64,
    pub start: Instant,
    pub end: Instant,
}

impl Sample {
    pub fn elapsed_secs(&self) -> f64 {
        self.end.saturating_duration_since(self.start).as_secs_f64()
    }
}

fn per_sec(count: f64, secs: f64) -> f64 {
    if secs > 0.0 {
        count / secs
    } else {
        0.0
    }
}

/// A rate: messages and mebibytes per second (labelled MB/sec like `nats bench`).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Rate {
    pub msgs_per_sec: f64,
    pub mb_per_sec: f64,
}

impl Rate {
    pub fn of(msgs: u64, bytes: u64, secs: f64) -> Rate {
        Rate {
            msgs_per_sec: per_sec(msgs as f64, secs),
            mb_per_sec: per_sec(bytes as f64 / MIB, secs),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} msgs/sec ~ {:.2} MB/sec",
            commas(self.msgs_per_sec.round() as u64),
            self.mb_per_sec
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientResult {
    pub id: usize,
    pub msgs: u64,
    pub bytes: u64,
    pub elapsed_ms: f64,
    #[serde(flatten)]
    pub rate: Rate,
}

/// Aggregate for one role (publishers or subscribers).
#[derive(Debug, Clone, Serialize)]
pub struct RoleSummary {
    pub clients: usize,
    pub msgs: u64,
    pub bytes: u64,
    /// From the earliest client start to the latest client end.
    pub elapsed_ms: f64,
    #[serde(flatten)]
    pub rate: Rate,
    pub min_msgs_per_sec: f64,
    pub avg_msgs_per_sec: f64,
    pub max_msgs_per_sec: f64,
    pub stddev_msgs_per_sec: f64,
    pub per_client: Vec<ClientResult>,
}

/// The span from the earliest start to the latest end, in seconds.
pub fn span_secs(samples: &[Sample]) -> f64 {
    let start = samples.iter().map(|s| s.start).min();
    let end = samples.iter().map(|s| s.end).max();
    match (start, end) {
        (Some(start), Some(end)) => end.saturating_duration_since(start).as_secs_f64(),
        _ => 0.0,
    }
}

impl RoleSummary {
    pub fn of(samples: &[Sample]) -> RoleSummary {
        let msgs = samples.iter().map(|s| s.msgs).sum();
        let bytes = samples.iter().map(|s| s.bytes).sum();
        let secs = span_secs(samples);
        let per_client: Vec<ClientResult> = samples
            .iter()
            .enumerate()
            .map(|(i, s)| ClientResult {
                id: i + 1,
                msgs: s.msgs,
                bytes: s.bytes,
                elapsed_ms: s.elapsed_secs() * 1e3,
                rate: Rate::of(s.msgs, s.bytes, s.elapsed_secs()),
            })
            .collect();
        let rates: Vec<f64> = per_client.iter().map(|c| c.rate.msgs_per_sec).collect();
        let count = rates.len().max(1) as f64;
        let avg = rates.iter().sum::<f64>() / count;
        let variance = rates.iter().map(|r| (r - avg).powi(2)).sum::<f64>() / count;
        RoleSummary {
            clients: samples.len(),
            msgs,
            bytes,
            elapsed_ms: secs * 1e3,
            rate: Rate::of(msgs, bytes, secs),
            min_msgs_per_sec: rates.iter().copied().fold(f64::INFINITY, f64::min).min(avg),
            avg_msgs_per_sec: avg,
            max_msgs_per_sec: rates.iter().copied().fold(0.0, f64::max),
            stddev_msgs_per_sec: variance.sqrt(),
            per_client,
        }
    }

    /// ` Pub stats: ...` plus, when `verbose`, one line per client and the spread.
    pub fn render(&self, label: &str, verbose: bool) -> String {
        let mut out = format!(" {label} stats: {}\n", self.rate.describe());
        if verbose {
            for c in &self.per_client {
                out.push_str(&format!(
                    "  [{}] {} ({} msgs in {:.1} ms)\n",
                    c.id,
                    c.rate.describe(),
                    commas(c.msgs),
                    c.elapsed_ms
                ));
            }
            out.push_str(&format!(
                "  min {} | avg {} | max {} | stddev {} msgs\n",
                commas(self.min_msgs_per_sec.round() as u64),
                commas(self.avg_msgs_per_sec.round() as u64),
                commas(self.max_msgs_per_sec.round() as u64),
                commas(self.stddev_msgs_per_sec.round() as u64),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn role_rate_spans_earliest_start_to_latest_end() {
        let t0 = Instant::now();
        let samples = [
            Sample {
                msgs: 1000,
                bytes: 1000 * 128,
                start: t0,
                end: t0 + Duration::from_secs(1),
            },
            Sample {
                msgs: 1000,
                bytes: 1000 * 128,
                start: t0 + Duration::from_millis(500),
                end: t0 + Duration::from_secs(2),
            },
        ];
        let role = RoleSummary::of(&samples);
        assert_eq!(role.msgs, 2000);
        assert!((role.rate.msgs_per_sec - 1000.0).abs() < 1e-6);
        assert!((role.max_msgs_per_sec - 1000.0).abs() < 1e-6);
        assert!((role.min_msgs_per_sec - 666.666).abs() < 0.01);
        assert!(role.render("Pub", true).contains("[2]"));
    }

    #[test]
    fn describe_matches_nats_bench() {
        let rate = Rate::of(2_000_000, 2_000_000 * 128, 1.0);
        assert_eq!(rate.describe(), "2,000,000 msgs/sec ~ 244.14 MB/sec");
        assert_eq!(Rate::of(5, 5, 0.0).msgs_per_sec, 0.0);
    }
}
