//! Crash test for durable consumer state with the real server binary: a double ack that the
//! server confirmed survives a `kill -9` (the message is never delivered again), and every
//! stored message that was never acked is delivered after the restart (nothing is lost).
//! The contract is in `src/jetstream/consumer/persist.rs`: state is written within 100 ms of
//! a change and before a double ack is confirmed; an unconfirmed ack may be redelivered.
//!
//! One `weir-server` process, one store dir, kept across rounds:
//!
//! - `CCL`, a file stream with limits retention, read by two durables (fan-out): `PULL`
//!   (pull, explicit acks, `PULL_WORKERS` workers fetching and double-acking) and `PUSH`
//!   (push with a deliver group, explicit acks, `PUSH_WORKERS` queue subscribers; it starts
//!   mid-stream at `PUSH_START`).
//! - `CCW`, a file stream with workqueue retention, read by the pull durable `WQ`.
//!
//! Round 0 publishes a prefix before the consumers exist. Each round then runs publishers (with
//! PubAcks) and the workers for a random 200–1500 ms, SIGKILLs the server, restarts it on the
//! same store dir and port, and checks:
//!
//! - before the kill, no consumer delivered a message it had confirmed in an earlier round;
//! - streams: every PubAck'd message is stored; `CCL` is contiguous from 1; in `CCW` every
//!   message never acked is there [and no message whose double ack was confirmed is];
//! - each consumer's info right after the restart is consistent with what the test saw: ack
//!   floor <= delivered, the floor covers every confirmed prefix and nothing never acked,
//!   delivered covers every confirmed ack, and `num_pending + num_ack_pending` lies between
//!   the stored messages never acked and the stored messages not confirmed (plus, on the
//!   workqueue, removed messages whose ack was not confirmed: their removal can be durable
//!   before the consumer state that acked them, which then holds them pending until their ack
//!   wait ends);
//! - draining each consumer to the end (ack wait 1 s, every delivery double-acked): no message
//!   whose double ack was confirmed is delivered again, every stored message never acked is
//!   delivered, and at the end `num_pending == 0`, `num_ack_pending == 0`, ack floor ==
//!   delivered == the stream's last seq (on `CCW`, delivered may stay below it when the last
//!   messages' removal outlived the state that delivered them); what `CCW` still stores was
//!   acked before a kill [and `CCW` is empty].
//!
//! "Acked" means an ack was sent before the kill; such a message may or may not come back (an
//! unconfirmed ack may be lost or kept). Only confirmed acks are required to stick.
//!
//! Two tests: `confirmed_acks_survive_kill_9` runs all three consumers (8 rounds, ~20 s on 2
//! cores) and only counts the workqueue messages that stay stored although acked; the
//! bracketed checks run in `workqueue_acked_messages_removed_across_kill_9` (`CCW` alone under
//! more publish load, 20 rounds), ignored because Weir fails them (see its `ignore` reason).
//!
//! Rounds: `WEIR_CONSUMER_CRASH_ROUNDS` overrides both defaults. Kill moments come from a
//! seeded RNG: `WEIR_CRASH_SEED` reruns a seed (printed at the start and on failure); the
//! rest of the timing is not reproducible.
//!
//! Skipped with `WEIR_TEST_TARGET=nats-server`: nats-server 2.9.10 answers a double ack
//! before the consumer state is on disk, so after a SIGKILL its restored consumers lack acks
//! it had confirmed (delivered and ack floor behind them: they are delivered again), and
//! acked workqueue messages stay in the stream.

mod common;
mod js_common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::{jetstream, Client, Message};
use bytes::Bytes;
use futures::stream::{FuturesOrdered, StreamExt};
use js_common::{
    api_ok, consumer_info, consumers_served, create_consumer, create_stream, jetstream_served,
    parse_ack_reply, seqs, stream_info_with, stream_state, u,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use common::{ServerProcess, Target, TempDir};

const LIMITS: &str = "CCL";
const WORKQUEUE: &str = "CCW";
/// Messages published to each stream before the consumers are created.
const PREFIX: u64 = 100;
/// `PUSH` starts here (`deliver_policy: by_start_sequence`), in the middle of the prefix.
const PUSH_START: u64 = 51;
const PULL_WORKERS: usize = 3;
const PUSH_WORKERS: usize = 2;
const WQ_WORKERS: usize = 2;
/// Publishers per round on `CCL` and on `CCW`.
const LIMITS_PUBLISHERS: usize = 2;
const WQ_PUBLISHERS: usize = 1;
/// Unacknowledged publishes in flight per publisher.
const WINDOW: usize = 8;
/// Publishes per publisher per round at most (bounds the work of a drain).
const PUBLISH_CAP: u64 = 4000;
/// The consumers' ack wait: a delivery restored as pending comes back this long after the
/// restart.
const ACK_WAIT: Duration = Duration::from_secs(1);
/// Live phase: pull batch and expiry.
const LIVE_BATCH: usize = 32;
const LIVE_EXPIRES: Duration = Duration::from_millis(500);
/// Drain: pull batch and expiry (also how long a push drain waits before asking the info).
const DRAIN_BATCH: usize = 256;
const DRAIN_IDLE: Duration = Duration::from_millis(300);
/// Bound for one publish ack or double-ack confirmation.
const ACK_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound for the server to serve again after a restart (it restores streams and consumers
/// before it accepts clients).
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound for draining one consumer.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Kill moment after the round's clients start, in ms.
const KILL_AFTER_MS: std::ops::RangeInclusive<u64> = 200..=1500;

fn rounds(default: usize) -> usize {
    std::env::var("WEIR_CONSUMER_CRASH_ROUNDS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

fn seed() -> u64 {
    std::env::var("WEIR_CRASH_SEED")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(rand::random)
}

/// Prints the seed when the test fails (the test's future is dropped while unwinding).
struct SeedNote(u64);

impl Drop for SeedNote {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "js_consumer_crash failed: rerun with WEIR_CRASH_SEED={}",
                self.0
            );
        }
    }
}

#[derive(Clone)]
enum Kind {
    Pull,
    Push { deliver: String, group: String },
}

/// What the test knows about one durable consumer, over all rounds.
struct Model {
    stream: &'static str,
    name: &'static str,
    kind: Kind,
    workqueue: bool,
    /// Stream seqs an ack was sent for (before a kill, or during a drain).
    sent: HashSet<u64>,
    /// Stream seqs that must never be delivered again: those whose double ack the server
    /// confirmed, those before the consumer's start (also in `sent`), and, after a drain,
    /// everything up to the consumer's delivered seq (its state on disk has them acked).
    confirmed: HashSet<u64>,
    /// Only the double acks the server confirmed.
    server_confirmed: HashSet<u64>,
}

impl Model {
    fn new(stream: &'static str, name: &'static str, kind: Kind, start: u64) -> Model {
        let before: HashSet<u64> = (1..start).collect();
        Model {
            stream,
            name,
            kind,
            workqueue: stream == WORKQUEUE,
            sent: before.clone(),
            confirmed: before,
            server_confirmed: HashSet::new(),
        }
    }
}

/// What one consumer's workers saw in one live phase.
#[derive(Default)]
struct LiveLog {
    delivered: Vec<(u64, Bytes)>,
    sent: Vec<u64>,
    confirmed: Vec<u64>,
}

/// A client for the live phase: after the kill one immediate reconnect attempt fails and the
/// client gives up, so nothing buffered in it can reach the restarted server.
async fn crash_client(url: &str) -> Option<Client> {
    let connect = async_nats::ConnectOptions::new()
        .max_reconnects(1)
        .reconnect_delay_callback(|_| Duration::ZERO)
        .connect(url);
    tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .ok()?
        .ok()
}

/// A client for after the restart (bounded: the server may still be restoring).
async fn connect_recovered(url: &str) -> Client {
    common::within(RECOVERY_TIMEOUT, "a connection after the restart", async {
        loop {
            match async_nats::connect(url).await {
                Ok(c) => return c,
                Err(e) => {
                    eprintln!("connect after restart: {e}; retrying");
                    // Bounded retry of a failed connect (no event to await).
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    })
    .await
}

/// Double ack: a request to the ack subject; true once the server confirmed it (an empty
/// reply without status).
async fn double_ack(client: &Client, reply: String) -> bool {
    matches!(
        tokio::time::timeout(ACK_TIMEOUT, client.request(reply, Bytes::from_static(b"+ACK"))).await,
        Ok(Ok(m)) if m.status.is_none() && m.payload.is_empty()
    )
}

/// The stream seq of a delivered message, from its ack subject.
fn stream_seq_of(msg: &Message) -> u64 {
    let reply = msg
        .reply
        .as_ref()
        .unwrap_or_else(|| panic!("delivered message without an ack subject: {msg:?}"));
    parse_ack_reply(reply.as_str()).stream_seq
}

/// Records the deliveries and the acks as sent (before sending them), double-acks them all
/// at once and records the confirmed ones.
async fn ack_all(client: &Client, msgs: Vec<Message>, log: &Mutex<LiveLog>) {
    let mut acks = Vec::with_capacity(msgs.len());
    {
        let mut l = log.lock().unwrap();
        for m in msgs {
            if m.status.is_some() {
                continue;
            }
            let seq = stream_seq_of(&m);
            l.delivered.push((seq, m.payload.clone()));
            l.sent.push(seq);
            acks.push((seq, m.reply.clone().expect("ack subject").to_string()));
        }
    }
    let results = futures::future::join_all(
        acks.into_iter()
            .map(|(seq, reply)| async move { (seq, double_ack(client, reply).await) }),
    )
    .await;
    let mut l = log.lock().unwrap();
    l.confirmed
        .extend(results.into_iter().filter(|(_, ok)| *ok).map(|(s, _)| s));
}

/// Sends one pull request and reads its messages until `batch` arrived or a status (408
/// expired, 404 no messages, …) ends it. `Err(partial)` if the connection failed or no end
/// came within `expires` + 2 s.
async fn fetch(
    client: &Client,
    sub: &mut async_nats::Subscriber,
    inbox: &str,
    stream: &str,
    consumer: &str,
    batch: usize,
    expires: Duration,
) -> Result<Vec<Message>, Vec<Message>> {
    let body = if expires.is_zero() {
        json!({"batch": batch, "no_wait": true})
    } else {
        json!({"batch": batch, "expires": expires.as_nanos() as u64})
    };
    let sent = client
        .publish_with_reply(
            format!("$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"),
            inbox.to_string(),
            Bytes::from(body.to_string()),
        )
        .await;
    if sent.is_err() {
        return Err(Vec::new());
    }
    let deadline = tokio::time::Instant::now() + expires + Duration::from_secs(2);
    let mut msgs = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, sub.next()).await {
            Ok(Some(m)) if m.status.is_some() => return Ok(msgs),
            Ok(Some(m)) => {
                msgs.push(m);
                if msgs.len() >= batch {
                    return Ok(msgs);
                }
            }
            Ok(None) | Err(_) => return Err(msgs),
        }
    }
}

async fn pull_worker(
    url: String,
    stream: &'static str,
    consumer: &'static str,
    log: Arc<Mutex<LiveLog>>,
    stop: Arc<AtomicBool>,
) {
    let Some(client) = crash_client(&url).await else {
        return;
    };
    let inbox = client.new_inbox();
    let Ok(mut sub) = client.subscribe(inbox.clone()).await else {
        return;
    };
    while !stop.load(Ordering::Relaxed) {
        let r = fetch(
            &client,
            &mut sub,
            &inbox,
            stream,
            consumer,
            LIVE_BATCH,
            LIVE_EXPIRES,
        )
        .await;
        let failed = r.is_err();
        ack_all(&client, r.unwrap_or_else(|m| m), &log).await;
        if failed {
            break;
        }
    }
}

async fn push_worker(
    url: String,
    deliver: String,
    group: String,
    log: Arc<Mutex<LiveLog>>,
    stop: Arc<AtomicBool>,
) {
    let Some(client) = crash_client(&url).await else {
        return;
    };
    let Ok(mut sub) = client.queue_subscribe(deliver, group).await else {
        return;
    };
    while !stop.load(Ordering::Relaxed) {
        // Bounded so the stop flag is seen; a message ends the wait at once.
        match tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
            Ok(Some(first)) => {
                let mut msgs = vec![first];
                while msgs.len() < LIVE_BATCH {
                    match common::try_next(&mut sub) {
                        Some(m) => msgs.push(m),
                        None => break,
                    }
                }
                ack_all(&client, msgs, &log).await;
            }
            Ok(None) => break,
            Err(_) => {}
        }
    }
}

/// Publishes `"{tag}.{n}"` to `subject` for n = 0, 1, … (at most `PUBLISH_CAP`) until
/// `stop`, `window` in flight; returns the acknowledged ones as (seq, body).
async fn publisher(
    url: String,
    subject: String,
    tag: String,
    window: usize,
    stop: Arc<AtomicBool>,
) -> Vec<(u64, Bytes)> {
    let mut acked = Vec::new();
    let Some(client) = crash_client(&url).await else {
        return acked;
    };
    let ctx = jetstream::ContextBuilder::new()
        .timeout(ACK_TIMEOUT)
        .build(client);
    let mut inflight = FuturesOrdered::new();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        if inflight.len() >= window || n >= PUBLISH_CAP {
            match inflight.next().await {
                Some((body, Ok(seq))) => acked.push((seq, body)),
                Some(_) => {}
                // Cap reached, all acked: wait for the kill.
                None => break,
            }
            continue;
        }
        let body = Bytes::from(format!("{tag}.{n}"));
        let Ok(fut) = ctx.publish(subject.clone(), body.clone()).await else {
            break;
        };
        inflight.push_back(async move { (body, fut.await.map(|ack| ack.sequence)) });
        n += 1;
    }
    while let Some((body, r)) = inflight.next().await {
        if let Ok(seq) = r {
            acked.push((seq, body));
        }
    }
    acked
}

/// Checks a consumer's info right after a restart against what the test knows.
/// `present`: the stored seqs of a workqueue stream (None for limits: 1..=last).
fn check_restored_info(
    ctx: &str,
    m: &Model,
    info: &Value,
    last: u64,
    present: Option<&HashSet<u64>>,
) {
    let who = format!("{ctx}: {}", m.name);
    let (d_s, d_c) = seqs(&info["delivered"]);
    let (f_s, f_c) = seqs(&info["ack_floor"]);
    let pending = u(&info["num_pending"]);
    let ack_pending = u(&info["num_ack_pending"]);
    assert!(
        f_s <= d_s && f_c <= d_c,
        "{who}: ack floor past delivered after restart: {info}"
    );
    assert!(
        d_s <= last,
        "{who}: delivered past the stream's last seq {last}: {info}"
    );
    let max_confirmed = m
        .confirmed
        .iter()
        .copied()
        .filter(|&s| s <= last)
        .max()
        .unwrap_or(0);
    assert!(
        d_s >= max_confirmed,
        "{who}: delivered {d_s} < {max_confirmed}, whose double ack was confirmed: {info}"
    );
    let first_unconfirmed = (1..).find(|s| !m.confirmed.contains(s)).unwrap();
    assert!(
        f_s + 1 >= first_unconfirmed,
        "{who}: ack floor {f_s} after restart, but 1..{first_unconfirmed} were all confirmed: {info}"
    );
    let first_unsent = (1..).find(|s| !m.sent.contains(s)).unwrap();
    assert!(
        f_s < first_unsent,
        "{who}: ack floor {f_s} covers {first_unsent}, which was never acked: {info}"
    );
    assert!(
        ack_pending <= d_s - f_s,
        "{who}: num_ack_pending {ack_pending} > delivered - floor: {info}"
    );
    let stored: Vec<u64> = match present {
        Some(p) => {
            let mut v: Vec<u64> = p.iter().copied().collect();
            v.sort_unstable();
            v
        }
        None => (1..=last).collect(),
    };
    let beyond = stored.iter().filter(|&&s| s > d_s).count() as u64;
    assert_eq!(
        pending, beyond,
        "{who}: num_pending is not the number of stored messages past delivered {d_s}: {info}"
    );
    // Messages the restored state must still count as unacked: at least the stored ones never
    // acked; at most the stored ones not confirmed, plus (workqueue) the ones whose ack was
    // sent but not confirmed and whose removal from the stream became durable before the
    // consumer's state did: the state still has them pending until their ack wait ends.
    let never_acked = stored.iter().filter(|s| !m.sent.contains(s)).count() as u64;
    let not_confirmed = stored.iter().filter(|s| !m.confirmed.contains(s)).count() as u64;
    let removed_unconfirmed = match present {
        Some(p) => m
            .sent
            .iter()
            .filter(|&&s| s <= last && !m.confirmed.contains(&s) && !p.contains(&s))
            .count() as u64,
        None => 0,
    };
    let unacked = pending + ack_pending;
    assert!(
        never_acked <= unacked && unacked <= not_confirmed + removed_unconfirmed,
        "{who}: num_pending {pending} + num_ack_pending {ack_pending} = {unacked}, expected \
         between {never_acked} (stored, never acked) and {not_confirmed} (stored, not \
         confirmed) + {removed_unconfirmed} (removed, ack not confirmed): {info}"
    );
}

/// What a drain found.
#[derive(Default)]
struct Drained {
    delivered: usize,
    /// Deliveries of messages whose ack was sent before the kill but not confirmed.
    unconfirmed_back: usize,
    /// Same, not delivered again (the ack was kept).
    unconfirmed_kept: usize,
    /// Push only: a message delivered twice within the drain (a redelivery sent before its
    /// confirmed ack arrived; allowed).
    push_dups: usize,
}

/// Consumes `m` to the end after a restart, double-acking everything, and checks that no
/// confirmed message comes back and every stored message never acked does.
async fn drain(
    url: String,
    ctx: String,
    mut m: Model,
    pubacked: Arc<HashMap<u64, Bytes>>,
    last: u64,
) -> (Model, Drained) {
    let who = format!("{ctx}: {}", m.name);
    let client = connect_recovered(&url).await;
    let log = Mutex::new(LiveLog::default());
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    let mut seen: HashSet<u64> = HashSet::new();
    let mut out = Drained::default();
    let (inbox, mut sub) = match &m.kind {
        Kind::Pull => {
            let inbox = client.new_inbox();
            let sub = client.subscribe(inbox.clone()).await.expect("subscribe");
            (inbox, sub)
        }
        Kind::Push { deliver, group } => {
            let sub = client
                .queue_subscribe(deliver.clone(), group.clone())
                .await
                .expect("queue subscribe");
            (String::new(), sub)
        }
    };
    loop {
        assert!(
            Instant::now() < deadline,
            "{who}: not drained within {DRAIN_TIMEOUT:?}; {} delivered so far",
            seen.len()
        );
        let msgs = match &m.kind {
            Kind::Pull => fetch(
                &client,
                &mut sub,
                &inbox,
                m.stream,
                m.name,
                DRAIN_BATCH,
                DRAIN_IDLE,
            )
            .await
            .unwrap_or_else(|_| panic!("{who}: a pull request got no end after the restart")),
            Kind::Push { .. } => match tokio::time::timeout(DRAIN_IDLE, sub.next()).await {
                Ok(Some(first)) => {
                    let mut msgs = vec![first];
                    while msgs.len() < DRAIN_BATCH {
                        match common::try_next(&mut sub) {
                            Some(x) => msgs.push(x),
                            None => break,
                        }
                    }
                    msgs
                }
                Ok(None) => panic!("{who}: push subscription ended"),
                Err(_) => Vec::new(),
            },
        };
        let msgs: Vec<Message> = msgs.into_iter().filter(|x| x.status.is_none()).collect();
        if msgs.is_empty() {
            // Idle: done once nothing is pending or awaiting an ack (every delivery of this
            // drain was acked and confirmed before this point).
            let info = consumer_info(&client, m.stream, m.name).await;
            if u(&info["num_pending"]) == 0 && u(&info["num_ack_pending"]) == 0 {
                break;
            }
            continue;
        }
        for x in &msgs {
            let seq = stream_seq_of(x);
            assert!(
                !m.confirmed.contains(&seq),
                "{who}: stream seq {seq} delivered after the restart, but its double ack was \
                 confirmed before the kill (or it precedes the consumer's start): {x:?}"
            );
            if !seen.insert(seq) {
                match m.kind {
                    // Each pull request is sent after the previous batch's acks were all
                    // confirmed, so a second delivery is a lost confirmed ack.
                    Kind::Pull => {
                        panic!("{who}: stream seq {seq} delivered again after its confirmed ack")
                    }
                    Kind::Push { .. } => out.push_dups += 1,
                }
            }
            if let Some(body) = pubacked.get(&seq) {
                assert_eq!(&x.payload, body, "{who}: stream seq {seq} body");
            }
            if m.sent.contains(&seq) {
                out.unconfirmed_back += 1;
            }
        }
        let n = msgs.len();
        ack_all(&client, msgs, &log).await;
        let confirmed = log.lock().unwrap().confirmed.len();
        assert_eq!(
            confirmed,
            out.delivered + n,
            "{who}: a double ack was not confirmed within {ACK_TIMEOUT:?} after the restart"
        );
        out.delivered += n;
    }
    if matches!(m.kind, Kind::Pull) {
        // Nothing left, not even a redelivery.
        let r = fetch(
            &client,
            &mut sub,
            &inbox,
            m.stream,
            m.name,
            DRAIN_BATCH,
            Duration::ZERO,
        )
        .await;
        match r {
            Ok(v) if v.is_empty() => {}
            other => panic!("{who}: a no_wait pull after the drain delivered {other:?}"),
        }
    }
    // Every stored message never acked was delivered; count what happened to the others.
    for seq in 1..=last {
        if m.sent.contains(&seq) {
            if !m.confirmed.contains(&seq) && !seen.contains(&seq) {
                out.unconfirmed_kept += 1;
            }
        } else {
            assert!(
                seen.contains(&seq),
                "{who}: stream seq {seq} was never acked but not delivered after the restart \
                 (PubAck'd: {})",
                pubacked.contains_key(&seq)
            );
        }
    }
    let info = consumer_info(&client, m.stream, m.name).await;
    let (d_s, d_c) = seqs(&info["delivered"]);
    let (f_s, f_c) = seqs(&info["ack_floor"]);
    assert_eq!(
        (u(&info["num_pending"]), u(&info["num_ack_pending"])),
        (0, 0),
        "{who}: after the drain: {info}"
    );
    assert_eq!(
        (f_s, f_c),
        (d_s, d_c),
        "{who}: ack floor != delivered after acking everything: {info}"
    );
    if m.workqueue {
        // Messages past `delivered` can be gone already: delivered and acked before the kill,
        // their removal durable but not the consumer state that delivered them (their acks
        // were not confirmed: every seq never acked was checked above).
        assert!(d_s <= last, "{who}: delivered past last seq {last}: {info}");
    } else {
        assert_eq!(
            d_s, last,
            "{who}: delivered != last seq after the drain: {info}"
        );
    }
    // Everything up to `delivered` is now acked in a state that is on disk: the restored
    // state (read from disk) plus the acks this drain had confirmed, which wrote the whole
    // state again. From here on none of it may be delivered, including the unconfirmed acks
    // the state kept. Past it (workqueue) the messages are gone.
    m.sent.extend(1..=last);
    m.confirmed.extend(1..=d_s);
    m.server_confirmed.extend(seen);
    (m, out)
}

/// A workqueue stream's stored seqs (from info with `deleted_details`) and its state.
async fn stored_seqs(client: &Client, stream: &str) -> (HashSet<u64>, Value) {
    let info = stream_info_with(client, stream, json!({"deleted_details": true})).await;
    let state = info["state"].clone();
    let (first, last) = (u(&state["first_seq"]), u(&state["last_seq"]));
    let deleted: HashSet<u64> = state["deleted"]
        .as_array()
        .map(|a| a.iter().map(u).collect())
        .unwrap_or_default();
    let present: HashSet<u64> = (first.max(1)..=last)
        .filter(|s| !deleted.contains(s))
        .collect();
    assert_eq!(
        present.len() as u64,
        u(&state["messages"]),
        "{stream}: messages != last - first + 1 - deleted: {state}"
    );
    (present, state)
}

/// Publishes the prefix of a stream (all acknowledged); returns (seq, body).
async fn publish_prefix(client: &Client, subject: &str) -> Vec<(u64, Bytes)> {
    let ctx = jetstream::new(client.clone());
    let mut acks = FuturesOrdered::new();
    for n in 0..PREFIX {
        let body = Bytes::from(format!("prefix.{n}"));
        let fut = ctx
            .publish(subject.to_string(), body.clone())
            .await
            .expect("publish prefix");
        acks.push_back(async move { (fut.await.expect("prefix PubAck").sequence, body) });
    }
    acks.collect().await
}

/// One stream of a scenario and what the test knows about it.
struct StreamRun {
    name: &'static str,
    /// Subjects are `<prefix>.*`.
    prefix: &'static str,
    workqueue: bool,
    publishers: usize,
    window: usize,
    /// Every acknowledged publish: seq -> body.
    pubacked: HashMap<u64, Bytes>,
    /// Workqueue: seqs still stored after the last drain although acked (a Weir bug, see
    /// the ignored test).
    stuck: HashSet<u64>,
}

/// What one test runs.
struct Scenario {
    /// `CCL` with `PULL` and `PUSH` (fan-out).
    limits: bool,
    /// `CCW` with `WQ`.
    workqueue: bool,
    /// Require that messages whose double ack was confirmed are gone from `CCW` after the
    /// restart, and that `CCW` is empty after the drain. Otherwise messages left behind are
    /// only counted (and must all have been acked before a kill).
    wq_removals: bool,
    wq_publishers: usize,
    wq_window: usize,
    /// Rounds unless `WEIR_CONSUMER_CRASH_ROUNDS` says otherwise.
    rounds: usize,
}

fn skipped_on_reference() -> bool {
    if common::target() == Target::Reference {
        println!(
            "note: nats-server 2.9.10 confirms a double ack before the consumer state is on \
             disk and loses recent acks on kill -9 (a confirmed ack comes back, delivered and \
             the ack floor go backwards, acked workqueue messages stay); skipped"
        );
        return true;
    }
    false
}

async fn run(sc: Scenario) {
    let seed = seed();
    let _note = SeedNote(seed);
    println!("js_consumer_crash: WEIR_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let rounds = rounds(sc.rounds);
    let started = Instant::now();

    let store = TempDir::new();
    let mut server = ServerProcess::start_js(&store.path().join("jetstream"));
    let url = server.url();
    let admin = js_common::connect(&url).await;
    if !jetstream_served(&admin).await || !consumers_served(&admin).await {
        return;
    }
    let mut streams = Vec::new();
    if sc.limits {
        streams.push(StreamRun {
            name: LIMITS,
            prefix: "ccl",
            workqueue: false,
            publishers: LIMITS_PUBLISHERS,
            window: WINDOW,
            pubacked: HashMap::new(),
            stuck: HashSet::new(),
        });
    }
    if sc.workqueue {
        streams.push(StreamRun {
            name: WORKQUEUE,
            prefix: "ccw",
            workqueue: true,
            publishers: sc.wq_publishers,
            window: sc.wq_window,
            pubacked: HashMap::new(),
            stuck: HashSet::new(),
        });
    }
    for s in &mut streams {
        let retention = if s.workqueue { "workqueue" } else { "limits" };
        create_stream(
            &admin,
            json!({"name": s.name, "subjects": [format!("{}.*", s.prefix)], "storage": "file",
                   "retention": retention}),
        )
        .await;
        s.pubacked = publish_prefix(&admin, &format!("{}.pre", s.prefix))
            .await
            .into_iter()
            .collect();
    }
    let ack_wait = ACK_WAIT.as_nanos() as u64;
    let mut models = Vec::new();
    if sc.limits {
        create_consumer(
            &admin,
            LIMITS,
            json!({"durable_name": "PULL", "ack_policy": "explicit", "ack_wait": ack_wait}),
        )
        .await;
        let (deliver, group) = ("ccpush.deliver".to_string(), "ccpush".to_string());
        create_consumer(
            &admin,
            LIMITS,
            json!({"durable_name": "PUSH", "ack_policy": "explicit", "ack_wait": ack_wait,
                   "deliver_subject": deliver, "deliver_group": group,
                   "deliver_policy": "by_start_sequence", "opt_start_seq": PUSH_START,
                   "max_ack_pending": 256}),
        )
        .await;
        models.push(Model::new(LIMITS, "PULL", Kind::Pull, 1));
        models.push(Model::new(
            LIMITS,
            "PUSH",
            Kind::Push { deliver, group },
            PUSH_START,
        ));
    }
    if sc.workqueue {
        create_consumer(
            &admin,
            WORKQUEUE,
            json!({"durable_name": "WQ", "ack_policy": "explicit", "ack_wait": ack_wait}),
        )
        .await;
        models.push(Model::new(WORKQUEUE, "WQ", Kind::Pull, 1));
    }
    drop(admin);
    let stream_of = |name: &str| streams.iter().position(|s| s.name == name).unwrap();
    let model_streams: Vec<usize> = models.iter().map(|m| stream_of(m.stream)).collect();

    let (mut total_confirmed_live, mut total_drained, mut total_kept, mut total_back) =
        (0usize, 0usize, 0usize, 0usize);
    let (mut total_published, mut total_stuck, mut total_stuck_confirmed) = (0usize, 0, 0);

    for round in 0..rounds {
        let ctx = format!("seed {seed} round {round}");
        let stop = Arc::new(AtomicBool::new(false));
        let mut publishers = Vec::new();
        for (i, s) in streams.iter().enumerate() {
            for p in 0..s.publishers {
                publishers.push((
                    i,
                    tokio::spawn(publisher(
                        url.clone(),
                        format!("{}.{p}", s.prefix),
                        format!("r{round}.p{p}"),
                        s.window,
                        stop.clone(),
                    )),
                ));
            }
        }
        let logs: Vec<Arc<Mutex<LiveLog>>> = models
            .iter()
            .map(|_| Arc::new(Mutex::new(LiveLog::default())))
            .collect();
        let mut workers = Vec::new();
        for (m, log) in models.iter().zip(&logs) {
            match &m.kind {
                Kind::Pull => {
                    let n = if m.workqueue {
                        WQ_WORKERS
                    } else {
                        PULL_WORKERS
                    };
                    for _ in 0..n {
                        workers.push(tokio::spawn(pull_worker(
                            url.clone(),
                            m.stream,
                            m.name,
                            log.clone(),
                            stop.clone(),
                        )));
                    }
                }
                Kind::Push { deliver, group } => {
                    for _ in 0..PUSH_WORKERS {
                        workers.push(tokio::spawn(push_worker(
                            url.clone(),
                            deliver.clone(),
                            group.clone(),
                            log.clone(),
                            stop.clone(),
                        )));
                    }
                }
            }
        }
        // The random moment of the crash (not a wait for a condition).
        let delay = Duration::from_millis(rng.gen_range(KILL_AFTER_MS));
        tokio::time::sleep(delay).await;
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        let mut published = 0usize;
        for (i, t) in publishers {
            let acked = common::within(ACK_TIMEOUT * 5, "a publisher to finish", t)
                .await
                .expect("publisher panicked");
            published += acked.len();
            streams[i].pubacked.extend(acked);
        }
        for t in workers {
            common::within(ACK_TIMEOUT * 5, "a worker to finish", t)
                .await
                .expect("worker panicked");
        }
        total_published += published;

        // Live phase: nothing confirmed earlier (or before a consumer's start) was delivered,
        // and deliveries carry the acknowledged bodies.
        let mut live_summary = Vec::new();
        for ((m, log), &si) in models.iter_mut().zip(&logs).zip(&model_streams) {
            let log = std::mem::take(&mut *log.lock().unwrap());
            for (seq, body) in &log.delivered {
                assert!(
                    !m.confirmed.contains(seq),
                    "{ctx}: {}: stream seq {seq} delivered before the kill, but it was acked \
                     and confirmed in an earlier round (or precedes the consumer's start)",
                    m.name
                );
                if let Some(b) = streams[si].pubacked.get(seq) {
                    assert_eq!(body, b, "{ctx}: {}: stream seq {seq} body", m.name);
                }
            }
            live_summary.push(format!(
                "{} {} delivered/{} confirmed",
                m.name,
                log.delivered.len(),
                log.confirmed.len()
            ));
            total_confirmed_live += log.confirmed.len();
            m.sent.extend(log.sent);
            m.server_confirmed.extend(log.confirmed.iter().copied());
            m.confirmed.extend(log.confirmed);
        }

        let t_restart = Instant::now();
        server.restart();
        let admin = connect_recovered(&url).await;

        // Streams: every PubAck'd message is stored; a limits stream is contiguous from 1.
        // (last seq, stored seqs of a workqueue stream) per stream.
        let mut after: Vec<(u64, Option<HashSet<u64>>)> = Vec::new();
        for s in &streams {
            let (last, present, state) = if s.workqueue {
                let (present, state) = stored_seqs(&admin, s.name).await;
                (u(&state["last_seq"]), Some(present), state)
            } else {
                let state = stream_state(&admin, s.name).await;
                let last = u(&state["last_seq"]);
                assert_eq!(
                    (u(&state["messages"]), u(&state["first_seq"])),
                    (last, 1),
                    "{ctx}: {} not contiguous from 1: {state}",
                    s.name
                );
                (last, None, state)
            };
            let max_acked = s.pubacked.keys().copied().max().unwrap_or(0);
            assert!(
                last >= max_acked,
                "{ctx}: {} last_seq {last}, but seq {max_acked} was acknowledged: {state}",
                s.name
            );
            after.push((last, present));
        }

        // Workqueue: no message whose double ack was confirmed is left (besides those stuck
        // already); every message never acked is.
        let mut lingering_note = String::new();
        for (m, &si) in models.iter().zip(&model_streams) {
            let Some(present) = &after[si].1 else {
                continue;
            };
            let mut lingering: Vec<u64> = m
                .server_confirmed
                .iter()
                .copied()
                .filter(|s| present.contains(s) && !streams[si].stuck.contains(s))
                .collect();
            lingering.sort_unstable();
            assert!(
                !sc.wq_removals || lingering.is_empty(),
                "{ctx}: {}: {} messages whose double ack was confirmed before the kill are still \
                 stored after the restart (first: {:?}); stored: {:?}",
                m.stream,
                lingering.len(),
                &lingering[..lingering.len().min(20)],
                {
                    let mut p: Vec<u64> = present.iter().copied().collect();
                    p.sort_unstable();
                    p.truncate(100);
                    p
                }
            );
            if !lingering.is_empty() {
                lingering_note = format!(
                    "; {} {} messages whose double ack was confirmed still stored after the \
                     restart",
                    lingering.len(),
                    m.stream
                );
            }
            for seq in 1..=after[si].0 {
                assert!(
                    m.sent.contains(&seq) || present.contains(&seq),
                    "{ctx}: {}: seq {seq} was never acked but is gone after the restart \
                     (PubAck'd: {})",
                    m.stream,
                    streams[si].pubacked.contains_key(&seq)
                );
            }
        }

        // Consumers right after the restart.
        for (m, &si) in models.iter().zip(&model_streams) {
            let info = consumer_info(&admin, m.stream, m.name).await;
            check_restored_info(&ctx, m, &info, after[si].0, after[si].1.as_ref());
        }

        // Drain all at once (each waits out the ack wait of its restored pending).
        let t_drain = Instant::now();
        // (acks sent, double acks confirmed) before this drain, per consumer.
        let acked_before: Vec<(HashSet<u64>, HashSet<u64>)> = models
            .iter()
            .map(|m| (m.sent.clone(), m.server_confirmed.clone()))
            .collect();
        let pubacked: Vec<Arc<HashMap<u64, Bytes>>> = streams
            .iter()
            .map(|s| Arc::new(s.pubacked.clone()))
            .collect();
        let drains = std::mem::take(&mut models)
            .into_iter()
            .zip(&model_streams)
            .map(|(m, &si)| {
                drain(
                    url.clone(),
                    ctx.clone(),
                    m,
                    pubacked[si].clone(),
                    after[si].0,
                )
            });
        let mut drain_summary = Vec::new();
        for (m, d) in futures::future::join_all(drains).await {
            drain_summary.push(format!(
                "{} {} (unconfirmed acks: {} back, {} kept{})",
                m.name,
                d.delivered,
                d.unconfirmed_back,
                d.unconfirmed_kept,
                if d.push_dups > 0 {
                    format!(", {} push duplicates", d.push_dups)
                } else {
                    String::new()
                }
            ));
            total_drained += d.delivered;
            total_back += d.unconfirmed_back;
            total_kept += d.unconfirmed_kept;
            models.push(m);
        }

        // Workqueue: empty once everything was acked. A purge of a subject without messages
        // goes through the stream's writer after the retention removals the acks queued
        // (ARCHITECTURE.md), so its reply is the event to await.
        let mut stuck_note = String::new();
        for (i, s) in streams.iter_mut().enumerate() {
            if !s.workqueue {
                continue;
            }
            let purged = api_ok(
                &admin,
                &format!("$JS.API.STREAM.PURGE.{}", s.name),
                json!({"filter": format!("{}.none", s.prefix)}).to_string(),
            )
            .await;
            assert_eq!(purged["purged"], 0, "{ctx}: barrier purge: {purged}");
            let (present, state) = stored_seqs(&admin, s.name).await;
            assert_eq!(
                u(&state["last_seq"]),
                after[i].0,
                "{ctx}: {} grew: {state}",
                s.name
            );
            let (sent, confirmed) =
                &acked_before[model_streams.iter().position(|&x| x == i).unwrap()];
            let mut left: Vec<u64> = present.into_iter().collect();
            left.sort_unstable();
            for seq in &left {
                assert!(
                    sent.contains(seq),
                    "{ctx}: {}: seq {seq} acked in the drain is still stored",
                    s.name
                );
            }
            // What is left was acked before a kill: the consumer's restored state counts it
            // acked (it was not delivered again), but its removal from the stream was lost.
            let new: Vec<u64> = left
                .iter()
                .copied()
                .filter(|x| !s.stuck.contains(x))
                .collect();
            let new_confirmed = new.iter().filter(|x| confirmed.contains(x)).count();
            assert!(
                !sc.wq_removals || left.is_empty(),
                "{ctx}: {} not empty after everything was acked: {} messages stuck ({} of them \
                 with a confirmed double ack, the others acked without confirmation before the \
                 kill; the restored consumer counts them acked and never delivers them, but \
                 their removal was lost): {:?}; {state}",
                s.name,
                left.len(),
                new_confirmed,
                &left[..left.len().min(50)]
            );
            if !new.is_empty() {
                stuck_note = format!(
                    "; {} more stuck in {} after the drain ({new_confirmed} with a confirmed \
                     double ack; acked before the kill, removal lost), {} in all",
                    new.len(),
                    s.name,
                    left.len()
                );
            }
            total_stuck = left.len();
            total_stuck_confirmed += new_confirmed;
            s.stuck = left.into_iter().collect();
        }

        let lasts: Vec<String> = streams
            .iter()
            .zip(&after)
            .map(|(s, (last, _))| format!("{} last {last}", s.name))
            .collect();
        println!(
            "round {round}: kill -9 after {delay:?}: {published} published; live: {}; \
             restart {:?}; drained in {:?}: {}; {}{}{}",
            live_summary.join(", "),
            t_drain - t_restart,
            t_drain.elapsed(),
            drain_summary.join(", "),
            lasts.join(", "),
            lingering_note,
            stuck_note
        );
    }
    println!(
        "consumer crash: {rounds} rounds in {:?}, {total_published} published, \
         {total_confirmed_live} acks confirmed before kills (none redelivered), \
         {total_drained} delivered in drains, unconfirmed acks: {total_back} redelivered, \
         {total_kept} kept; workqueue messages stuck (acked, never removed): {total_stuck}, \
         {total_stuck_confirmed} of them with a confirmed double ack",
        started.elapsed()
    );
}

/// Pull and push durables on one limits stream, and a pull durable on a workqueue stream
/// (its consumer-side checks; the stream-side removals are checked by the ignored test
/// below).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_acks_survive_kill_9() {
    if skipped_on_reference() {
        return;
    }
    run(Scenario {
        limits: true,
        workqueue: true,
        wq_removals: false,
        wq_publishers: WQ_PUBLISHERS,
        wq_window: WINDOW,
        rounds: 8,
    })
    .await;
}

/// A workqueue stream alone, under more publish load: messages whose double ack was
/// confirmed are gone from the stream after a kill -9, and everything acked is gone once the
/// consumer was drained.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workqueue_acked_messages_removed_across_kill_9() {
    if skipped_on_reference() {
        return;
    }
    run(Scenario {
        limits: false,
        workqueue: true,
        wq_removals: true,
        wq_publishers: 3,
        wq_window: 32,
        rounds: 20,
    })
    .await;
}
