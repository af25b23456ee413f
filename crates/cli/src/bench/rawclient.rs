//! A minimal publisher and subscriber speaking the NATS protocol directly over TCP.
//!
//! `bench pubsub --client raw` uses these so that the client is not what limits the
//! measured throughput: async-nats pays per message for a channel hop, an allocation and
//! a `Message` struct, and on a small machine that caps it well below the server.

use std::io;
use std::time::Instant;

use futures::Future;
use indicatif::ProgressBar;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::progress::UPDATE_EVERY;
use super::pubsub::{PubPlan, SubPlan, SubResult};
use super::raw::RawConn;
use super::stats::Sample;
use crate::connect::Global;
use crate::error::{CliError, Result};
use crate::output::log;

const READ_CHUNK_BYTES: usize = 256 * 1024;
const WRITE_CHUNK_BYTES: usize = 64 * 1024;

/// What a chunk of server output contained.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    pub msgs: u64,
    pub payload_bytes: u64,
    pub pings: u64,
    pub error: Option<String>,
}

/// Incremental parser that counts MSG/HMSG frames in a byte stream without copying payloads.
#[derive(Debug, Default)]
pub struct FrameCounter {
    /// Payload (plus trailing CRLF) bytes still to skip.
    skip: usize,
    /// A control line split across reads.
    partial: Vec<u8>,
}

impl FrameCounter {
    pub fn feed(&mut self, mut data: &[u8], counts: &mut Counts) {
        loop {
            if self.skip > 0 {
                let k = self.skip.min(data.len());
                data = &data[k..];
                self.skip -= k;
                if self.skip > 0 {
                    return;
                }
            }
            if data.is_empty() {
                return;
            }
            let Some(end) = memchr::memchr(b'\n', data) else {
                self.partial.extend_from_slice(data);
                return;
            };
            let (line_tail, rest) = data.split_at(end + 1);
            data = rest;
            if self.partial.is_empty() {
                self.skip = control_line(line_tail, counts);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(line_tail);
                self.skip = control_line(&line, counts);
            }
        }
    }
}

/// Handles one control line (with its CRLF); returns how many bytes of payload follow.
fn control_line(line: &[u8], counts: &mut Counts) -> usize {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let is_msg = line.starts_with(b"MSG ");
    let is_hmsg = line.starts_with(b"HMSG ");
    if is_msg || is_hmsg {
        let mut fields = line.rsplit(|&b| b == b' ').filter(|f| !f.is_empty());
        let total = fields.next().and_then(parse_usize).unwrap_or(0);
        let header_bytes = if is_hmsg {
            fields.next().and_then(parse_usize).unwrap_or(0)
        } else {
            0
        };
        counts.msgs += 1;
        counts.payload_bytes += total.saturating_sub(header_bytes) as u64;
        total + 2
    } else {
        if line == b"PING" {
            counts.pings += 1;
        } else if line.starts_with(b"-ERR") && counts.error.is_none() {
            counts.error = Some(String::from_utf8_lossy(line).into_owned());
        }
        0
    }
}

fn parse_usize(field: &[u8]) -> Option<usize> {
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// `PUB subject size\r\npayload\r\n`, repeated to fill about one write chunk.
fn publish_batch(subject: &str, payload: &[u8]) -> (Vec<u8>, u64) {
    let mut frame = format!("PUB {subject} {}\r\n", payload.len()).into_bytes();
    frame.extend_from_slice(payload);
    frame.extend_from_slice(b"\r\n");
    let per_batch = (WRITE_CHUNK_BYTES / frame.len()).max(1);
    (frame.repeat(per_batch), per_batch as u64)
}

async fn publish(
    mut conn: RawConn,
    subject: &str,
    payload_bytes: usize,
    count: u64,
    bar: &ProgressBar,
) -> io::Result<Sample> {
    let payload = vec![b'w'; payload_bytes];
    let (batch, per_batch) = publish_batch(subject, &payload);
    let frame_bytes = batch.len() / per_batch as usize;
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < count {
        let n = (count - sent).min(per_batch);
        conn.write_all(&batch[..n as usize * frame_bytes]).await?;
        sent += n;
        bar.set_position(sent);
    }
    conn.sync().await?;
    let end = Instant::now();
    bar.finish();
    Ok(Sample {
        msgs: count,
        bytes: count * payload_bytes as u64,
        start,
        end,
    })
}

/// Subscribes on `conn` and returns it ready to count (the subscription is registered).
async fn subscribe(mut conn: RawConn, subject: &str) -> io::Result<RawConn> {
    conn.write_all(format!("SUB {subject} 1\r\n").as_bytes())
        .await?;
    conn.sync().await?;
    Ok(conn)
}

/// Counts messages until `expected` arrived, or nothing arrived for `idle` after the
/// publishers finished. Returns the sample (None if nothing arrived) and the count.
async fn count_messages(conn: RawConn, plan: SubPlan) -> SubResult {
    let SubPlan {
        id,
        expected,
        idle,
        pubs_done,
        bar,
        ..
    } = plan;
    let (leftover, mut reader, mut writer) = conn.into_parts();
    let mut counter = FrameCounter::default();
    let mut counts = Counts::default();
    counter.feed(&leftover, &mut counts);
    let mut buf = vec![0u8; READ_CHUNK_BYTES];
    let mut start = None;
    let mut end = Instant::now();
    let idle_timer = tokio::time::sleep(idle);
    tokio::pin!(idle_timer);
    let mut msgs_at_last_check = counts.msgs;
    let mut drawn = 0u64;
    while counts.msgs < expected {
        tokio::select! {
            biased;
            read = reader.read(&mut buf) => {
                let n = match read {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let now = Instant::now();
                start.get_or_insert(now);
                counter.feed(&buf[..n], &mut counts);
                end = now;
                if counts.pings > 0 {
                    let pongs = b"PONG\r\n".repeat(counts.pings as usize);
                    counts.pings = 0;
                    if writer.write_all(&pongs).await.is_err() {
                        break;
                    }
                }
                if counts.msgs - drawn >= UPDATE_EVERY {
                    drawn = counts.msgs;
                    bar.set_position(drawn);
                }
            }
            () = &mut idle_timer => {
                if counts.msgs == msgs_at_last_check && *pubs_done.borrow() {
                    break;
                }
                msgs_at_last_check = counts.msgs;
                idle_timer.as_mut().reset(tokio::time::Instant::now() + idle);
            }
        }
    }
    if counts.msgs >= expected {
        bar.finish();
    } else {
        bar.abandon();
    }
    if let Some(error) = &counts.error {
        log(format!("subscriber #{id}: the server sent {error}"));
    }
    let sample = start.map(|start| Sample {
        msgs: counts.msgs,
        bytes: counts.payload_bytes,
        start,
        end,
    });
    SubResult {
        sample,
        received: counts.msgs,
    }
}

async fn connect(global: &Global, name: &str) -> Result<RawConn> {
    let addr = global.tcp_addr()?;
    RawConn::handshake_with_buffer(&addr, name, global.timeout, READ_CHUNK_BYTES)
        .await
        .map_err(|e| CliError::connect_io(&global.server, &e))
}

/// Connects a subscriber, registers its subscription (PING/PONG) and returns the counting task.
pub async fn start_subscriber(
    global: &Global,
    plan: SubPlan,
) -> Result<impl Future<Output = SubResult> + Send + 'static> {
    let conn = connect(global, &format!("weir-bench-sub-{}", plan.id)).await?;
    let conn = subscribe(conn, &plan.subject)
        .await
        .map_err(|e| CliError::io(format!("cannot subscribe to {:?}", plan.subject), e))?;
    Ok(count_messages(conn, plan))
}

/// Connects a publisher and returns its task, which starts publishing at the start line.
pub async fn start_publisher(
    global: &Global,
    plan: PubPlan,
) -> Result<impl Future<Output = Result<Sample>> + Send + 'static> {
    let conn = connect(global, &format!("weir-bench-pub-{}", plan.id)).await?;
    Ok(async move {
        plan.start_line.wait().await;
        publish(conn, &plan.subject, plan.size, plan.count, &plan.bar)
            .await
            .map_err(|e| CliError::io("raw publisher failed", e))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_frames_split_at_every_byte() {
        let stream: &[u8] = b"MSG foo 1 5\r\nhello\r\nPING\r\nHMSG foo 1 _INBOX.x 12 17\r\n\
              NATS/1.0\r\n\r\nhello\r\n+OK\r\nMSG foo 1 0\r\n\r\n";
        for split in 0..stream.len() {
            let mut counter = FrameCounter::default();
            let mut counts = Counts::default();
            counter.feed(&stream[..split], &mut counts);
            counter.feed(&stream[split..], &mut counts);
            assert_eq!(counts.msgs, 3, "split at {split}");
            assert_eq!(counts.payload_bytes, 10, "split at {split}");
            assert_eq!(counts.pings, 1, "split at {split}");
        }
    }

    #[test]
    fn payload_that_looks_like_a_command_is_skipped() {
        let mut counter = FrameCounter::default();
        let mut counts = Counts::default();
        counter.feed(
            b"MSG a 1 11\r\nMSG b 1 0\r\n\r\n-ERR 'Slow Consumer'\r\n",
            &mut counts,
        );
        assert_eq!(counts.msgs, 1);
        assert_eq!(counts.error.as_deref(), Some("-ERR 'Slow Consumer'"));
    }

    #[test]
    fn publish_batch_repeats_whole_frames() {
        let (batch, per) = publish_batch("foo", &[b'x'; 128]);
        let frame = b"PUB foo 128\r\n".len() + 128 + 2;
        assert_eq!(batch.len(), frame * per as usize);
        assert!(batch.len() <= WRITE_CHUNK_BYTES);
        assert!(batch.starts_with(b"PUB foo 128\r\nxxx"));
    }
}
