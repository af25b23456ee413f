//! Raw-protocol consumers, so that the client is not what limits the measured rate:
//!
//! - pull: one inbox subscription; `PUB $JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer> <inbox>`
//!   with `{"batch":B,"expires":ns}`, the next request written as soon as the previous batch
//!   is complete (or the server ended it with a 404/408 status);
//! - push: a subscription on the deliver subject, made before the consumer is created.
//!
//! Deliveries are counted without copying payloads ([`DeliveryParser`]); with explicit acks
//! each delivered message gets its own ack (`PUB <reply> 0`, what async-nats' `ack()` sends),
//! appended straight from the received frame and written once per read.

use std::io::Write;
use std::time::{Duration, Instant};

use async_nats::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::consume::{sample, DrainPlan, Drained};
use super::consumer_api::{self, AckMode};
use super::delivery::{Deliveries, DeliveryParser};
use crate::bench::progress::UPDATE_EVERY;
use crate::bench::raw::RawConn;
use crate::connect::Global;
use crate::error::{CliError, Result};

const READ_CHUNK_BYTES: usize = 256 * 1024;

/// One raw connection subscribed to where the deliveries arrive.
struct Conn {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    parser: DeliveryParser,
    out: Deliveries,
    /// Acks, fetch requests and PONGs to write next.
    writes: Vec<u8>,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(global: &Global, name: &str, subject: &str, ack: AckMode) -> Result<Conn> {
        let addr = global.tcp_addr()?;
        let mut conn =
            RawConn::handshake_with_buffer(&addr, name, global.timeout, READ_CHUNK_BYTES)
                .await
                .map_err(|e| CliError::connect_io(&global.server, &e))?;
        conn.write_all(format!("SUB {subject} 1\r\n").as_bytes())
            .await
            .map_err(|e| CliError::io(format!("cannot subscribe to {subject}"), e))?;
        conn.sync()
            .await
            .map_err(|e| CliError::io(format!("cannot register the subscription {subject}"), e))?;
        let (leftover, reader, writer) = conn.into_parts();
        let mut conn = Conn {
            reader,
            writer,
            parser: DeliveryParser::new(ack == AckMode::Explicit),
            out: Deliveries::default(),
            writes: Vec::with_capacity(64 * 1024),
            buf: vec![0u8; READ_CHUNK_BYTES],
        };
        conn.parser.feed(&leftover, &mut conn.out, &mut conn.writes);
        Ok(conn)
    }

    /// One read (at most `stall` long), parsed; PINGs answered in the next write.
    async fn read_some(&mut self, stall: Duration) -> std::result::Result<(), String> {
        let n = match tokio::time::timeout(stall, self.reader.read(&mut self.buf)).await {
            Ok(Ok(0)) => return Err("the server closed the connection".to_string()),
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(format!("read failed: {e}")),
            Err(_) => return Err(String::new()),
        };
        self.parser
            .feed(&self.buf[..n], &mut self.out, &mut self.writes);
        for _ in 0..std::mem::take(&mut self.out.pings) {
            self.writes.extend_from_slice(b"PONG\r\n");
        }
        Ok(())
    }

    async fn flush(&mut self) -> std::result::Result<(), String> {
        if self.writes.is_empty() {
            return Ok(());
        }
        let written = self.writer.write_all(&self.writes).await;
        self.writes.clear();
        written.map_err(|e| format!("write failed: {e}"))
    }

    fn drained(self, plan: &DrainPlan, start: Instant, failure: Option<String>) -> Drained {
        let end = Instant::now();
        if self.out.msgs >= plan.expected && failure.is_none() {
            plan.bar.finish();
        } else {
            plan.bar.abandon();
        }
        let stalled = || Drained::stalled(self.out.msgs, plan.expected, plan.stall);
        let failure = failure.map(|f| if f.is_empty() { stalled() } else { f });
        Drained {
            sample: sample(self.out.msgs, self.out.payload_bytes, start, end),
            received: self.out.msgs,
            errors: self.out.errors + u64::from(failure.is_some()),
            first_error: self.out.first_error.or(failure),
            out_of_order: 0,
        }
    }
}

/// Appends `PUB <next> <inbox> len\r\n{"batch":n,"expires":ns}\r\n`.
pub fn push_fetch(out: &mut Vec<u8>, next: &str, inbox: &str, batch: u64, expires: Duration) {
    let mut body = [0u8; 80];
    let mut cursor = std::io::Cursor::new(&mut body[..]);
    // 80 bytes hold any u64 pair in this shape, so the write cannot fail.
    let _ = write!(
        cursor,
        "{{\"batch\":{batch},\"expires\":{}}}",
        expires.as_nanos() as u64
    );
    let len = cursor.position() as usize;
    let _ = write!(out, "PUB {next} {inbox} {len}\r\n");
    out.extend_from_slice(&body[..len]);
    out.extend_from_slice(b"\r\n");
}

/// Drains a durable pull consumer with fetch requests of `plan.batch` messages.
pub async fn fetch(global: &Global, plan: &DrainPlan) -> Result<Drained> {
    let inbox = format!("_INBOX.{}", nuid::next());
    let mut conn = Conn::open(global, "weir-bench-js-fetch", &inbox, plan.spec.ack).await?;
    let next = plan.spec.next_subject();
    plan.bar.reset();
    let start = Instant::now();
    let (mut asked_until, mut ended_seen, mut in_flight) = (0u64, 0u64, false);
    let (mut drawn, mut last_msgs, mut last_progress) = (0u64, 0u64, start);
    let failure = loop {
        let msgs = conn.out.msgs;
        if !in_flight && msgs < plan.expected {
            let n = (plan.batch as u64).min(plan.expected - msgs);
            push_fetch(&mut conn.writes, &next, &inbox, n, plan.stall);
            (asked_until, ended_seen, in_flight) = (msgs + n, conn.out.ended_requests, true);
        }
        if let Err(e) = conn.flush().await {
            break Some(e);
        }
        if conn.out.msgs >= plan.expected || conn.out.errors > 0 {
            break None;
        }
        if let Err(e) = conn.read_some(plan.stall).await {
            break Some(e);
        }
        let msgs = conn.out.msgs;
        if msgs >= asked_until || conn.out.ended_requests > ended_seen {
            in_flight = false;
        }
        if msgs > last_msgs {
            last_msgs = msgs;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > plan.stall {
            break Some(String::new());
        }
        if msgs - drawn >= UPDATE_EVERY {
            drawn = msgs;
            plan.bar.set_position(drawn);
        }
    };
    Ok(conn.drained(plan, start, failure))
}

/// Subscribes to the deliver subject, creates the push consumer (timed from there) and
/// drains it.
pub async fn push(global: &Global, admin: &Client, plan: &DrainPlan) -> Result<Drained> {
    let deliver =
        plan.spec.deliver_subject.clone().ok_or_else(|| {
            CliError::Usage("a push consumer needs a deliver subject".to_string())
        })?;
    let mut conn = Conn::open(global, "weir-bench-js-push", &deliver, plan.spec.ack).await?;
    plan.bar.reset();
    let start = Instant::now();
    consumer_api::create(admin, &global.server, &plan.spec).await?;
    let mut drawn = 0u64;
    let failure = loop {
        if conn.out.msgs >= plan.expected || conn.out.errors > 0 {
            break None;
        }
        if let Err(e) = conn.read_some(plan.stall).await {
            break Some(e);
        }
        if let Err(e) = conn.flush().await {
            break Some(e);
        }
        if conn.out.msgs - drawn >= UPDATE_EVERY {
            drawn = conn.out.msgs;
            plan.bar.set_position(drawn);
        }
    };
    Ok(conn.drained(plan, start, failure))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fetch_request_frame() {
        let mut out = Vec::new();
        push_fetch(
            &mut out,
            "$JS.API.CONSUMER.MSG.NEXT.S.C",
            "_INBOX.x",
            100,
            Duration::from_secs(30),
        );
        let body = "{\"batch\":100,\"expires\":30000000000}";
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!(
                "PUB $JS.API.CONSUMER.MSG.NEXT.S.C _INBOX.x {}\r\n{body}\r\n",
                body.len()
            )
        );
    }
}
