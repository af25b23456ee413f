//! A raw-protocol JetStream publisher: pipelines `PUB subject reply size` frames over one
//! TCP connection, each with its own reply subject `INBOX.<index>`, and counts the PubAcks
//! arriving on the inbox, never keeping more than `window` publishes unanswered.
//!
//! A writer (this task) and a reader (a spawned task) share the answered count; the reader
//! wakes the writer whenever the window opens, and times each ack against its batch's send
//! time (exact in sync mode, where the window is one).

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::Future;
use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::Notify;

use super::ack::{AckBatch, AckParser};
use super::{JsPlan, JsPubResult};
use crate::bench::progress::UPDATE_EVERY;
use crate::bench::raw::RawConn;
use crate::bench::request::new_histogram;
use crate::bench::stats::Sample;
use crate::connect::Global;
use crate::error::{CliError, Result};

const READ_CHUNK_BYTES: usize = 64 * 1024;
const WRITE_CHUNK_BYTES: usize = 64 * 1024;

/// State the writer and the reader share.
struct Shared {
    /// Replies (acks and errors) received so far.
    answered: AtomicU64,
    /// PONGs the writer owes the server.
    pongs: AtomicU64,
    /// The reader stopped (all answered, EOF, stall or error).
    closed: AtomicBool,
    wake: Notify,
    /// Send time (ns since `base`) of publish i, at slot i % window.
    sent_ns: Box<[AtomicU64]>,
    base: Instant,
}

struct ReaderOutcome {
    acked: u64,
    errors: u64,
    first_error: Option<String>,
    histogram: Histogram<u64>,
    end: Instant,
}

async fn read_acks(
    mut reader: OwnedReadHalf,
    leftover: Vec<u8>,
    shared: Arc<Shared>,
    plan: Arc<JsPlan>,
    histogram: Histogram<u64>,
    stall: Duration,
) -> ReaderOutcome {
    let mut out = ReaderOutcome {
        acked: 0,
        errors: 0,
        first_error: None,
        histogram,
        end: Instant::now(),
    };
    let mut parser = AckParser::default();
    let mut batch = AckBatch::default();
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    let mut pending = leftover;
    let window = shared.sent_ns.len() as u64;
    let mut drawn = 0;
    while out.acked + out.errors < plan.count {
        if pending.is_empty() {
            match tokio::time::timeout(stall, reader.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => pending.extend_from_slice(&buf[..n]),
                Ok(Ok(_)) => {
                    out.first_error
                        .get_or_insert_with(|| "the server closed the connection".to_string());
                    break;
                }
                Ok(Err(e)) => {
                    out.first_error
                        .get_or_insert_with(|| format!("read failed: {e}"));
                    break;
                }
                Err(_) => {
                    out.first_error
                        .get_or_insert_with(|| format!("no ack for {stall:?} (window stalled)"));
                    break;
                }
            }
        }
        batch.acks.clear();
        parser.feed(&pending, &mut batch);
        pending.clear();
        let now = Instant::now();
        let now_ns = now.saturating_duration_since(shared.base).as_nanos() as u64;
        for index in batch.acks.iter().flatten() {
            let sent = shared.sent_ns[(index % window) as usize].load(Ordering::Relaxed);
            out.histogram
                .saturating_record(now_ns.saturating_sub(sent).max(1));
        }
        let answered = batch.acks.len() as u64 + batch.errors - out.errors;
        out.acked += batch.acks.len() as u64;
        out.errors = batch.errors;
        if answered > 0 {
            out.end = now;
            shared.answered.fetch_add(answered, Ordering::Release);
        }
        if batch.pings > 0 {
            shared.pongs.fetch_add(batch.pings, Ordering::Relaxed);
            batch.pings = 0;
        }
        shared.wake.notify_one();
        if out.acked + out.errors - drawn >= UPDATE_EVERY / 16 {
            drawn = out.acked + out.errors;
            plan.bar.set_position(drawn);
        }
    }
    out.first_error = out.first_error.or(batch.first_error);
    shared.closed.store(true, Ordering::Release);
    shared.wake.notify_one();
    out
}

/// Appends `PUB subject inbox.index size\r\npayload\r\n`.
pub fn push_frame(buf: &mut Vec<u8>, plan: &JsPlan, inbox: &str, index: u64, payload: &[u8]) {
    buf.extend_from_slice(b"PUB ");
    plan.subjects.write_subject(plan.first_index + index, buf);
    // Writing into a Vec cannot fail.
    let _ = write!(buf, " {inbox}.{index} {}\r\n", payload.len());
    buf.extend_from_slice(payload);
    buf.extend_from_slice(b"\r\n");
}

async fn publish(conn: RawConn, inbox: String, plan: Arc<JsPlan>) -> Result<JsPubResult> {
    let histogram = new_histogram()?;
    plan.start_line.wait().await;
    let (leftover, reader, mut writer) = conn.into_parts();
    let window = plan.window.max(1);
    let shared = Arc::new(Shared {
        answered: AtomicU64::new(0),
        pongs: AtomicU64::new(0),
        closed: AtomicBool::new(false),
        wake: Notify::new(),
        sent_ns: (0..window).map(|_| AtomicU64::new(0)).collect(),
        base: Instant::now(),
    });
    let write_error = Arc::new(Mutex::new(None::<String>));
    let start = Instant::now();
    let reader_task = tokio::spawn(read_acks(
        reader,
        leftover,
        shared.clone(),
        plan.clone(),
        histogram,
        plan.ack_timeout,
    ));
    let payload = plan.payload.clone();
    let frame_guess = payload.len() + 64;
    let per_write = (WRITE_CHUNK_BYTES / frame_guess).max(1) as u64;
    let mut buf = Vec::with_capacity(WRITE_CHUNK_BYTES + frame_guess);
    let mut sent = 0u64;
    loop {
        let pongs = shared.pongs.swap(0, Ordering::Relaxed);
        buf.clear();
        for _ in 0..pongs {
            buf.extend_from_slice(b"PONG\r\n");
        }
        let in_flight = sent - shared.answered.load(Ordering::Acquire);
        let n = (window as u64)
            .saturating_sub(in_flight)
            .min(plan.count - sent)
            .min(per_write);
        if n > 0 {
            let now_ns = shared.base.elapsed().as_nanos() as u64;
            for index in sent..sent + n {
                shared.sent_ns[(index % window as u64) as usize].store(now_ns, Ordering::Relaxed);
                push_frame(&mut buf, &plan, &inbox, index, &payload);
            }
            sent += n;
        }
        if !buf.is_empty() {
            if let Err(e) = writer.write_all(&buf).await {
                *write_error.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("write failed: {e}"));
                break;
            }
        }
        if shared.closed.load(Ordering::Acquire) {
            break;
        }
        if n == 0 && pongs == 0 {
            shared.wake.notified().await;
        }
    }
    let outcome = reader_task
        .await
        .map_err(|e| CliError::BenchIncomplete(format!("ack reader task: {e}")))?;
    if outcome.acked + outcome.errors >= plan.count {
        plan.bar.finish();
    } else {
        plan.bar.abandon();
    }
    let write_error = write_error.lock().unwrap_or_else(|p| p.into_inner()).take();
    let acked = outcome.acked;
    Ok(JsPubResult {
        sample: Sample {
            msgs: acked,
            bytes: acked * plan.payload.len() as u64,
            start,
            end: outcome.end.max(start),
        },
        acked,
        errors: outcome.errors,
        first_error: write_error.or(outcome.first_error),
        histogram: outcome.histogram,
    })
}

/// Connects a publisher, subscribes to its inbox and returns its task, which starts at the
/// start line.
pub async fn start_publisher(
    global: &Global,
    plan: JsPlan,
) -> Result<impl Future<Output = Result<JsPubResult>> + Send + 'static> {
    let addr = global.tcp_addr()?;
    let mut conn = RawConn::handshake_with_buffer(
        &addr,
        &format!("weir-bench-js-pub-{}", plan.id),
        global.timeout,
        READ_CHUNK_BYTES,
    )
    .await
    .map_err(|e| CliError::connect_io(&global.server, &e))?;
    let inbox = format!("_INBOX.{}", nuid::next());
    conn.write_all(format!("SUB {inbox}.* 1\r\n").as_bytes())
        .await
        .map_err(|e| CliError::io("cannot subscribe to the ack inbox", e))?;
    conn.sync()
        .await
        .map_err(|e| CliError::io("cannot register the ack inbox", e))?;
    Ok(publish(conn, inbox, Arc::new(plan)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::js::{Mode, SubjectPattern};
    use std::sync::Arc;
    use tokio::sync::Barrier;

    #[test]
    fn frames_carry_subject_reply_and_payload() {
        let plan = JsPlan {
            id: 1,
            subjects: SubjectPattern::new("js.bench", 10),
            first_index: 25,
            count: 5,
            payload: crate::bench::js::filler(3),
            mode: Mode::Async,
            window: 4,
            ack_timeout: Duration::from_secs(1),
            start_line: Arc::new(Barrier::new(1)),
            bar: indicatif::ProgressBar::hidden(),
        };
        let mut buf = Vec::new();
        push_frame(&mut buf, &plan, "_INBOX.x", 2, b"abc");
        assert_eq!(buf, b"PUB js.bench.7 _INBOX.x.2 3\r\nabc\r\n");
    }
}
