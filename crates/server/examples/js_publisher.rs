//! A small JetStream client for `scripts/power-cut-test.sh` (works with Weir and nats-server).
//!
//! `js_publisher publish --url U --stream S --acks FILE [--publishers 4] [--size 64]
//!     [--mark-bytes B]`
//!   Creates file stream S (subjects `S.*`) if needed, then publishes from `--publishers`
//!   connections as fast as acks allow (32 in flight each), bodies `"{p}-{n}-"` padded with `x`
//!   to `--size` bytes. Every acknowledged publish is appended to FILE as a line `p n seq`
//!   (written straight away, no buffering). Creates `FILE.started` after the first ack and, with
//!   `--mark-bytes`, `FILE.mark` once that many payload bytes were acknowledged. Stops when the
//!   connection is lost (or on SIGTERM/SIGINT) and exits 0.
//!
//! `js_publisher verify --url U --stream S --acks FILE [--size 64] [--wait-secs 30]`
//!   Waits (bounded) for the server, then reads every acknowledged seq back with
//!   `$JS.API.STREAM.MSG.GET` and prints the stream state and a
//!   last line `verify-result: acked=N lost=L`. Exit code: 0 if nothing was lost, 1 if
//!   something was, 2 on usage errors.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use futures::stream::{FuturesOrdered, StreamExt};
use serde_json::{json, Value};

const WINDOW: usize = 32;
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

struct Args {
    cmd: String,
    url: String,
    stream: String,
    acks: String,
    publishers: usize,
    size: usize,
    mark_bytes: Option<u64>,
    wait_secs: u64,
}

fn usage() -> ! {
    eprintln!(
        "usage: js_publisher publish|verify --url URL --stream NAME --acks FILE \
         [--publishers N] [--size BYTES] [--mark-bytes BYTES] [--wait-secs S]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().unwrap_or_else(|| usage());
    let mut a = Args {
        cmd,
        url: String::new(),
        stream: String::new(),
        acks: String::new(),
        publishers: 4,
        size: 64,
        mark_bytes: None,
        wait_secs: 30,
    };
    while let Some(flag) = it.next() {
        let val = it.next().unwrap_or_else(|| usage());
        let num = || val.parse::<u64>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--url" => a.url = val.clone(),
            "--stream" => a.stream = val.clone(),
            "--acks" => a.acks = val.clone(),
            "--publishers" => a.publishers = num() as usize,
            "--size" => a.size = num() as usize,
            "--mark-bytes" => a.mark_bytes = Some(num()),
            "--wait-secs" => a.wait_secs = num(),
            _ => usage(),
        }
    }
    if a.url.is_empty() || a.stream.is_empty() || a.acks.is_empty() {
        usage();
    }
    a
}

fn body(p: usize, n: u64, size: usize) -> Vec<u8> {
    let mut b = format!("{p}-{n}-").into_bytes();
    if b.len() < size {
        b.resize(size, b'x');
    }
    b
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    match args.cmd.as_str() {
        "publish" => publish(args).await,
        "verify" => std::process::exit(verify(args).await),
        _ => usage(),
    }
}

async fn connect(url: &str) -> async_nats::Client {
    // One reconnect attempt at most: once the server is gone, the client gives up, so nothing
    // buffered in it reaches a restarted server.
    async_nats::ConnectOptions::new()
        .max_reconnects(1)
        .reconnect_delay_callback(|_| Duration::ZERO)
        .connect(url)
        .await
        .unwrap_or_else(|e| {
            eprintln!("js_publisher: connect {url}: {e}");
            std::process::exit(1)
        })
}

async fn publish(args: Args) {
    let admin = connect(&args.url).await;
    let cfg = json!({"name": args.stream, "subjects": [format!("{}.*", args.stream)],
                     "storage": "file"});
    let reply = tokio::time::timeout(
        Duration::from_secs(10),
        admin.request(
            format!("$JS.API.STREAM.CREATE.{}", args.stream),
            cfg.to_string().into(),
        ),
    )
    .await;
    match reply {
        Ok(Ok(m)) => {
            let v: Value = serde_json::from_slice(&m.payload).unwrap_or(Value::Null);
            if v.get("error").is_some() {
                eprintln!("js_publisher: stream create failed: {v}");
                std::process::exit(1);
            }
        }
        other => {
            eprintln!("js_publisher: stream create got no answer: {other:?}");
            std::process::exit(1);
        }
    }
    drop(admin);

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, u64, u64)>();
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        tokio::signal::unix::SignalKind::terminate(),
        tokio::signal::unix::SignalKind::interrupt(),
    ] {
        let stop = stop.clone();
        let mut s = tokio::signal::unix::signal(sig).expect("signal handler");
        tokio::spawn(async move {
            s.recv().await;
            stop.store(true, Ordering::Relaxed);
        });
    }
    let mut tasks = Vec::new();
    for p in 0..args.publishers {
        let client = connect(&args.url).await;
        let (tx, stop) = (tx.clone(), stop.clone());
        let subject = format!("{}.{p}", args.stream);
        let size = args.size;
        tasks.push(tokio::spawn(async move {
            let ctx = jetstream::ContextBuilder::new()
                .timeout(ACK_TIMEOUT)
                .build(client.clone());
            let mut inflight = FuturesOrdered::new();
            let mut n = 0u64;
            let report = |r: Option<(u64, Result<u64, String>)>| match r {
                Some((n, Ok(seq))) => {
                    let _ = tx.send((p, n, seq));
                    true
                }
                Some((_, Err(_))) => false,
                None => true,
            };
            loop {
                let connected =
                    client.connection_state() == async_nats::connection::State::Connected;
                if stop.load(Ordering::Relaxed) || !connected {
                    break;
                }
                if inflight.len() >= WINDOW {
                    if !report(inflight.next().await) {
                        break;
                    }
                    continue;
                }
                match ctx.publish(subject.clone(), body(p, n, size).into()).await {
                    Ok(fut) => {
                        let this = n;
                        inflight.push_back(async move {
                            (
                                this,
                                fut.await.map(|a| a.sequence).map_err(|e| e.to_string()),
                            )
                        });
                    }
                    Err(_) => break,
                }
                n += 1;
            }
            while let Some(r) = inflight.next().await {
                report(Some(r));
            }
        }));
    }
    drop(tx);

    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&args.acks)
        .expect("open acks file");
    let acked_bytes = AtomicU64::new(0);
    let mut count = 0u64;
    let mut marked = false;
    while let Some((p, n, seq)) = rx.recv().await {
        file.write_all(format!("{p} {n} {seq}\n").as_bytes())
            .expect("write acks file");
        count += 1;
        if count == 1 {
            std::fs::write(format!("{}.started", args.acks), b"").expect("started file");
        }
        let total = acked_bytes.fetch_add(args.size as u64, Ordering::Relaxed) + args.size as u64;
        if let Some(mark) = args.mark_bytes {
            if !marked && total >= mark {
                std::fs::write(format!("{}.mark", args.acks), b"").expect("mark file");
                marked = true;
            }
        }
    }
    for t in tasks {
        let _ = t.await;
    }
    println!("js_publisher: {count} acknowledged");
}

async fn verify(args: Args) -> i32 {
    let text = std::fs::read_to_string(&args.acks).unwrap_or_default();
    let mut acked: Vec<(usize, u64, u64)> = Vec::new();
    for line in text.lines() {
        let f: Vec<u64> = line
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        if f.len() == 3 {
            acked.push((f[0] as usize, f[1], f[2]));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(args.wait_secs);
    let client = loop {
        match async_nats::connect(&args.url).await {
            Ok(c) => break c,
            Err(e) if Instant::now() < deadline => {
                eprintln!("verify: connect: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                eprintln!("verify: cannot connect to {}: {e}", args.url);
                println!("verify: server down");
                println!("verify-result: acked={} lost={}", acked.len(), acked.len());
                return 1;
            }
        }
    };
    // The stream may take a moment to be recovered; "not found" for long means it is gone.
    let info_subject = format!("$JS.API.STREAM.INFO.{}", args.stream);
    let state = loop {
        let r = tokio::time::timeout(
            Duration::from_secs(2),
            client.request(info_subject.clone(), "".into()),
        )
        .await;
        let v: Option<Value> = match r {
            Ok(Ok(m)) => serde_json::from_slice(&m.payload).ok(),
            _ => None,
        };
        match v {
            Some(v) if v.get("error").is_none() => break Some(v["state"].clone()),
            v if Instant::now() >= deadline => {
                println!("verify: stream {} not available: {v:?}", args.stream);
                break None;
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let Some(state) = state else {
        println!("verify: stream gone");
        println!("verify-result: acked={} lost={}", acked.len(), acked.len());
        return i32::from(!acked.is_empty());
    };
    println!("verify: stream state after restart: {state}");
    let stream = jetstream::new(client.clone())
        .get_stream_no_info(&args.stream)
        .await
        .expect("stream handle");
    let size = args.size;
    let mut reads = futures::stream::iter(acked.iter().copied())
        .map(|(p, n, seq)| {
            let stream = stream.clone();
            async move {
                let ok = match stream.get_raw_message(seq).await {
                    Ok(m) => m.payload.as_ref() == body(p, n, size).as_slice(),
                    Err(_) => false,
                };
                (p, n, seq, ok)
            }
        })
        .buffered(64);
    let mut lost = 0u64;
    let mut first_lost: HashMap<usize, (u64, u64)> = HashMap::new();
    let mut max_acked = 0;
    while let Some((p, n, seq, ok)) = reads.next().await {
        max_acked = max_acked.max(seq);
        if !ok {
            lost += 1;
            first_lost.entry(p).or_insert((n, seq));
        }
    }
    println!(
        "verify: {} acknowledged (highest seq {max_acked}), {lost} lost",
        acked.len()
    );
    for (p, (n, seq)) in &first_lost {
        println!("verify: publisher {p}: first lost {p}-{n} (acknowledged as seq {seq})");
    }
    println!("verify-result: acked={} lost={lost}", acked.len());
    i32::from(lost > 0)
}
