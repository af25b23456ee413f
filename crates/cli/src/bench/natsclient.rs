//! The async-nats side of `bench pubsub`: one official client per publisher or subscriber.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use async_nats::{Client, Event, Subject};
use bytes::Bytes;
use futures::{Future, StreamExt};

use super::progress::UPDATE_EVERY;
use super::pubsub::{PubPlan, SubPlan, SubResult};
use super::stats::Sample;
use crate::connect::Global;
use crate::error::{CliError, Result};

/// Publisher command-queue depth in async-nats (default 2048): deeper means fewer wake-ups.
const PUBLISH_QUEUE: usize = 65_536;

/// Subscribers read the clock once per this many messages (a power of two dividing UPDATE_EVERY).
const CLOCK_EVERY: u64 = 256;

async fn count_messages(
    client: Client,
    mut subscriber: async_nats::Subscriber,
    plan: SubPlan,
) -> SubResult {
    let SubPlan {
        expected,
        idle,
        mut pubs_done,
        bar,
        ..
    } = plan;
    let mut received = 0u64;
    let mut bytes = 0u64;
    // Wait for the first message as long as the publishers run, then up to `idle` more.
    let first = tokio::select! {
        msg = subscriber.next() => msg,
        _ = async {
            let _ = pubs_done.wait_for(|done| *done).await;
            tokio::time::sleep(idle).await;
        } => None,
    };
    let Some(first) = first else {
        bar.abandon();
        return SubResult {
            sample: None,
            received: 0,
        };
    };
    let start = Instant::now();
    let mut end = start;
    received += 1;
    bytes += first.payload.len() as u64;
    // Reading the clock per message is measurable, so the idle timer is checked lazily: it
    // fires every `idle`, and only ends the run if nothing arrived since the last check and
    // the publishers are done. `end` is refreshed every CLOCK_EVERY messages and at the end.
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    let mut received_at_last_check = received;
    while received < expected {
        tokio::select! {
            biased;
            msg = subscriber.next() => {
                let Some(msg) = msg else { break };
                received += 1;
                bytes += msg.payload.len() as u64;
                if received.is_multiple_of(CLOCK_EVERY) {
                    end = Instant::now();
                    if received.is_multiple_of(UPDATE_EVERY) {
                        bar.set_position(received);
                    }
                }
            }
            () = &mut idle_timer => {
                if received == received_at_last_check && *pubs_done.borrow() {
                    break;
                }
                received_at_last_check = received;
                idle_timer.as_mut().reset(tokio::time::Instant::now() + idle);
            }
        }
    }
    if received >= expected {
        end = Instant::now();
        bar.finish();
    } else {
        bar.abandon();
    }
    drop(subscriber);
    drop(client);
    SubResult {
        sample: Some(Sample {
            msgs: received,
            bytes,
            start,
            end,
        }),
        received,
    }
}

async fn publish(
    client: Client,
    subject: Subject,
    payload: Bytes,
    plan: PubPlan,
) -> Result<Sample> {
    let PubPlan {
        count,
        start_line,
        bar,
        ..
    } = plan;
    start_line.wait().await;
    let start = Instant::now();
    for sent in 1..=count {
        client
            .publish(subject.clone(), payload.clone())
            .await
            .map_err(|e| CliError::nats("publisher failed", e))?;
        if sent.is_multiple_of(UPDATE_EVERY) {
            bar.set_position(sent);
        }
    }
    client
        .flush()
        .await
        .map_err(|e| CliError::nats("publisher flush failed", e))?;
    let end = Instant::now();
    bar.finish();
    Ok(Sample {
        msgs: count,
        bytes: count * payload.len() as u64,
        start,
        end,
    })
}

/// Connects a subscriber, registers its subscription (flushed) and returns the counting task.
pub async fn start_subscriber(
    global: &Global,
    plan: SubPlan,
    slow_consumers: Arc<AtomicU64>,
) -> Result<impl Future<Output = SubResult> + Send + 'static> {
    let options = global
        .options(&format!("weir-bench-sub-{}", plan.id))
        .subscription_capacity(plan.expected.clamp(65_536, 1 << 22) as usize)
        .event_callback(move |event| {
            let counter = slow_consumers.clone();
            async move {
                if let Event::SlowConsumer(_) = event {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    let client = global.connect_with(options).await?;
    let subject = plan.subject.clone();
    let subscriber = client
        .subscribe(subject.clone())
        .await
        .map_err(|e| CliError::nats(format!("cannot subscribe to {subject:?}"), e))?;
    client
        .flush()
        .await
        .map_err(|e| CliError::nats("cannot register the subscription", e))?;
    Ok(count_messages(client, subscriber, plan))
}

/// Connects a publisher and returns its task, which starts publishing at the start line.
pub async fn start_publisher(
    global: &Global,
    plan: PubPlan,
) -> Result<impl Future<Output = Result<Sample>> + Send + 'static> {
    let options = global
        .options(&format!("weir-bench-pub-{}", plan.id))
        .client_capacity(PUBLISH_QUEUE)
        .skip_subject_validation(true);
    let client = global.connect_with(options).await?;
    let payload = Bytes::from(vec![b'w'; plan.size]);
    let subject = Subject::from(plan.subject.as_str());
    Ok(publish(client, subject, payload, plan))
}
