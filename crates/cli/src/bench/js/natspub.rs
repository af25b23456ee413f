//! The async-nats side of `bench js pub`: `jetstream::Context::publish` returns a future for
//! the PubAck; sync mode awaits each one, async mode keeps up to `window` in flight.

use std::time::Instant;

use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::{self, Context};
use async_nats::Subject;
use futures::stream::FuturesUnordered;
use futures::{Future, StreamExt};
use hdrhistogram::Histogram;

use super::{JsPlan, JsPubResult, Mode};
use crate::bench::request::new_histogram;
use crate::bench::stats::Sample;
use crate::connect::Global;
use crate::error::{CliError, Result};

/// Tallies answers and ack latencies.
struct Tally {
    acked: u64,
    errors: u64,
    first_error: Option<String>,
    histogram: Histogram<u64>,
    end: Instant,
}

impl Tally {
    fn record(&mut self, sent_at: Instant, answer: std::result::Result<(), String>) {
        let now = Instant::now();
        match answer {
            Ok(()) => {
                self.acked += 1;
                let ns = now.saturating_duration_since(sent_at).as_nanos() as u64;
                self.histogram.saturating_record(ns.max(1));
            }
            Err(e) => {
                self.errors += 1;
                self.first_error.get_or_insert(e);
            }
        }
        self.end = now;
    }
}

async fn ack(
    future: PublishAckFuture,
    sent_at: Instant,
) -> (Instant, std::result::Result<(), String>) {
    let answer = match future.await {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == PublishErrorKind::TimedOut => Err("ack timed out".to_string()),
        Err(e) => Err(e.to_string()),
    };
    (sent_at, answer)
}

async fn publish(context: Context, plan: JsPlan) -> Result<JsPubResult> {
    let mut tally = Tally {
        acked: 0,
        errors: 0,
        first_error: None,
        histogram: new_histogram()?,
        end: Instant::now(),
    };
    let payload = plan.payload.clone();
    let window = match plan.mode {
        Mode::Sync => 1,
        Mode::Async => plan.window.max(1),
    };
    let mut subject_buf = Vec::new();
    let mut in_flight = FuturesUnordered::new();
    plan.start_line.wait().await;
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < plan.count || !in_flight.is_empty() {
        if sent < plan.count && in_flight.len() < window {
            subject_buf.clear();
            plan.subjects
                .write_subject(plan.first_index + sent, &mut subject_buf);
            let subject = Subject::from(String::from_utf8_lossy(&subject_buf).as_ref());
            let sent_at = Instant::now();
            let future = context
                .publish(subject, payload.clone())
                .await
                .map_err(|e| CliError::nats("JetStream publish failed", e))?;
            in_flight.push(ack(future, sent_at));
            sent += 1;
            continue;
        }
        if let Some((sent_at, answer)) = in_flight.next().await {
            tally.record(sent_at, answer);
            let answered = tally.acked + tally.errors;
            if answered.is_multiple_of(256) {
                plan.bar.set_position(answered);
            }
        }
    }
    if tally.errors == 0 {
        plan.bar.finish();
    } else {
        plan.bar.abandon();
    }
    Ok(JsPubResult {
        sample: Sample {
            msgs: tally.acked,
            bytes: tally.acked * plan.payload.len() as u64,
            start,
            end: tally.end.max(start),
        },
        acked: tally.acked,
        errors: tally.errors,
        first_error: tally.first_error,
        histogram: tally.histogram,
    })
}

/// Connects a publisher and returns its task, which starts at the start line.
pub async fn start_publisher(
    global: &Global,
    plan: JsPlan,
) -> Result<impl Future<Output = Result<JsPubResult>> + Send + 'static> {
    let options = global
        .options(&format!("weir-bench-js-pub-{}", plan.id))
        .skip_subject_validation(true);
    let client = global.connect_with(options).await?;
    let context = jetstream::ContextBuilder::new()
        .max_ack_inflight(plan.window.max(1))
        .ack_timeout(plan.ack_timeout)
        .build(client);
    Ok(publish(context, plan))
}
