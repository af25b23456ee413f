//! On-disk damage with the real `weir-server` binary: after a flipped byte or a truncated
//! segment the server still starts, the stream is not deleted, `state.lost` in
//! `$JS.API.STREAM.INFO` names exactly the sequences that are gone, every intact message is
//! served by `$JS.API.STREAM.MSG.GET` with its original body, and publishing continues.
//!
//! The segment files are parsed with the documented layout (docs/storage-format.md,
//! crates/store/src/record.rs) to find record boundaries; no offset is guessed.
//!
//! Weir only: the damage is done to Weir's file store format. With
//! `WEIR_TEST_TARGET=nats-server` (or if the binary is missing) the tests print a note and
//! return. Every wait is bounded.

mod common;
mod js_common;

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::Client;
use bytes::Bytes;
use serde_json::{json, Value};

use common::{target, ServerProcess, Target, TempDir};
use js_common::{api, connect, create_stream, err_of, publish_ok, u, ApiErr};

/// Bound for the server to serve the stream again after a restart.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound for the server to exit after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(15);

const STREAM: &str = "C";

// ---------------------------------------------------------------------------------------------
// The segment format (docs/storage-format.md §2, §3)
// ---------------------------------------------------------------------------------------------

const FILE_HEADER_BYTES: usize = 32;
const SEGMENT_MAGIC: &[u8; 8] = b"WEIRSEG\0";
const FIXED_BYTES: usize = 32;
const CRC_BYTES: usize = 4;
const KIND_MSG: u8 = 1;
const FLAG_TTL: u8 = 1;
const FLAG_LZ4: u8 = 2;

/// One record of a segment file, located by parsing.
#[derive(Debug, Clone)]
struct Rec {
    offset: usize,
    len: usize,
    kind: u8,
    flags: u8,
    seq: u64,
    /// Byte range of the body (headers ++ payload) inside the file.
    body: Range<usize>,
}

fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Parses a whole, undamaged segment file: its header's first seq and every record (each one
/// checked to fit the file exactly; the last segment may end in a zero-filled preallocated tail).
fn parse_segment(path: &Path) -> (u64, Vec<Rec>) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(b.len() >= FILE_HEADER_BYTES, "{} too short", path.display());
    assert_eq!(
        &b[..8],
        SEGMENT_MAGIC,
        "segment magic of {}",
        path.display()
    );
    let first_seq = le_u64(&b, 16);
    let mut recs = Vec::new();
    let mut pos = FILE_HEADER_BYTES;
    // Only the active (last) segment is preallocated; sealed ones are trimmed to their records.
    let is_last = path.parent().is_some_and(|dir| {
        let mut blks: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("list segment dir")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "blk"))
            .collect();
        blks.sort();
        blks.last().is_some_and(|last| last == path)
    });
    while pos < b.len() {
        if is_last && b[pos..].iter().all(|&x| x == 0) {
            // The active segment's preallocated tail (the server was killed): the log ends.
            break;
        }
        assert!(
            pos + FIXED_BYTES + CRC_BYTES <= b.len(),
            "short record at {pos}"
        );
        let len = le_u32(&b, pos) as usize;
        assert!(
            len >= FIXED_BYTES + CRC_BYTES && pos + len <= b.len(),
            "record at {pos} of {} has implausible length {len}",
            path.display()
        );
        let kind = b[pos + 4];
        let flags = b[pos + 5];
        let subject_len = le_u16(&b, pos + 6) as usize;
        let seq = le_u64(&b, pos + 8);
        let prefix = FIXED_BYTES + if flags & FLAG_TTL != 0 { 8 } else { 0 };
        let body_start = pos + prefix + subject_len;
        let body_end = pos + len - CRC_BYTES;
        assert!(
            body_start <= body_end,
            "record at {pos}: fields exceed length"
        );
        recs.push(Rec {
            offset: pos,
            len,
            kind,
            flags,
            seq,
            body: body_start..body_end,
        });
        pos += len;
    }
    assert!(
        pos == b.len() || is_last,
        "records of {} do not end at EOF",
        path.display()
    );
    (first_seq, recs)
}

/// `<store>/jetstream/$G/streams/<stream>/msgs`.
fn msgs_dir(store: &Path, stream: &str) -> PathBuf {
    store
        .join("jetstream")
        .join("$G")
        .join("streams")
        .join(stream)
        .join("msgs")
}

/// The segment files of a stream, in sequence order.
fn segment_files(store: &Path, stream: &str) -> Vec<PathBuf> {
    let dir = msgs_dir(store, stream);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "blk"))
        .collect();
    // 20-digit zero-padded names sort like their numbers.
    files.sort();
    files
}

/// The message record of `seq` and the segment holding it.
fn find_msg_record(store: &Path, stream: &str, seq: u64) -> (PathBuf, Rec) {
    for path in segment_files(store, stream) {
        let (_, recs) = parse_segment(&path);
        if let Some(r) = recs
            .into_iter()
            .find(|r| r.kind == KIND_MSG && r.seq == seq)
        {
            return (path, r);
        }
    }
    panic!("no message record for seq {seq} in stream {stream}");
}

fn flip_byte(path: &Path, at: usize) {
    let mut b = std::fs::read(path).expect("read for flip");
    b[at] ^= 0x5a;
    std::fs::write(path, &b).expect("write flipped");
}

fn truncate(path: &Path, len: usize) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .expect("open for truncate");
    f.set_len(len as u64).expect("truncate");
    f.sync_all().expect("sync truncated file");
}

// ---------------------------------------------------------------------------------------------
// Server and API helpers
// ---------------------------------------------------------------------------------------------

/// The weir-server binary, or None (with a note) when these Weir-format tests cannot run.
fn weir_bin() -> Option<PathBuf> {
    if target() != Target::Weir {
        println!(
            "note: js_corruption damages Weir's own file format; skipping for {:?}",
            target()
        );
        return None;
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_weir-server"));
    if !bin.is_file() {
        println!(
            "note: weir-server binary {} not built; skipping",
            bin.display()
        );
        return None;
    }
    Some(bin)
}

/// The standard base64 of `data` (MSG.GET returns bodies base64-encoded).
fn b64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if c.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if c.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    out
}

/// Polls `$JS.API.STREAM.INFO.<name>` until it succeeds (the stream is restored); returns
/// the info. Panics with the server log if it does not within `RECOVERY_TIMEOUT`.
async fn wait_stream(client: &Client, p: &ServerProcess, name: &str) -> Value {
    let deadline = Instant::now() + RECOVERY_TIMEOUT;
    let subject = format!("$JS.API.STREAM.INFO.{name}");
    loop {
        let reply = tokio::time::timeout(
            Duration::from_secs(2),
            client.request(subject.clone(), Bytes::new()),
        )
        .await;
        let last = match reply {
            Ok(Ok(msg)) => match serde_json::from_slice::<Value>(&msg.payload) {
                Ok(v) if v.get("error").is_none() && v.get("state").is_some() => return v,
                Ok(v) => v.to_string(),
                Err(e) => format!("non-JSON reply: {e}"),
            },
            Ok(Err(e)) => format!("request error: {e}"),
            Err(_) => "no reply within 2s".to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "stream {name} not served {RECOVERY_TIMEOUT:?} after restart (last: {last}); server log:\n{}",
            p.log()
        );
        // Short poll interval of a bounded wait.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn msg_get(client: &Client, seq: u64) -> Value {
    api(
        client,
        &format!("$JS.API.STREAM.MSG.GET.{STREAM}"),
        json!({ "seq": seq }).to_string(),
    )
    .await
}

/// Asserts MSG.GET `seq` returns `subject` with `body`.
async fn assert_served(client: &Client, seq: u64, subject: &str, body: &[u8]) {
    let v = msg_get(client, seq).await;
    assert!(v.get("error").is_none(), "MSG.GET {seq} failed: {v}");
    let m = &v["message"];
    assert_eq!(u(&m["seq"]), seq, "MSG.GET {seq}: {v}");
    assert_eq!(m["subject"], subject, "MSG.GET {seq}: subject");
    assert!(
        m["data"].as_str() == Some(b64(body).as_str()),
        "MSG.GET {seq}: body differs from what was published (got {} base64 chars)",
        m["data"].as_str().map_or(0, str::len)
    );
}

/// MSG.GET `seq`, expecting an error; returns it.
async fn get_err(client: &Client, seq: u64) -> ApiErr {
    let v = msg_get(client, seq).await;
    assert!(
        v.get("error").is_some(),
        "MSG.GET {seq} should fail (the record is damaged) but returned {v}"
    );
    err_of(&v)
}

fn no_message_found() -> ApiErr {
    ApiErr::new(404, 10037, "no message found")
}

/// Starts the binary on a fresh store and creates file stream `C` on `c.>`.
async fn start_with_stream(bin: PathBuf, store: &Path) -> (ServerProcess, Client) {
    let p = ServerProcess::start_bin(bin, Target::Weir, store);
    let client = connect(&p.url()).await;
    create_stream(
        &client,
        json!({ "name": STREAM, "subjects": ["c.>"], "storage": "file" }),
    )
    .await;
    (p, client)
}

/// Restarts the (stopped or killed) server and waits until the stream is served.
async fn restart(p: &mut ServerProcess) -> (Client, Value) {
    p.restart();
    let client = connect(&p.url()).await;
    let info = wait_stream(&client, p, STREAM).await;
    (client, info)
}

/// SIGTERM (a graceful shutdown: stores closed, snapshots written) and waits until the
/// process has exited (it stays a zombie until `restart` reaps it).
fn sigterm_and_wait(p: &ServerProcess) {
    let pid = p.pid().expect("server running");
    // SAFETY: kill(2) has no memory-safety preconditions; pid is our own child.
    let rc = unsafe { libc::kill(pid as libc::pid_t, libc::SIGTERM) };
    assert_eq!(
        rc,
        0,
        "kill -TERM {pid}: {}",
        std::io::Error::last_os_error()
    );
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        let exited = match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => true,
            // "pid (comm) S ...": the state follows the last ')'.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
        };
        if exited {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server did not exit {STOP_TIMEOUT:?} after SIGTERM; log:\n{}",
            p.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn state_lost(info: &Value) -> Option<(Vec<u64>, u64)> {
    let lost = info["state"].get("lost")?;
    if lost.is_null() {
        return None;
    }
    let msgs = lost["msgs"]
        .as_array()
        .unwrap_or_else(|| panic!("lost.msgs in {lost}"))
        .iter()
        .map(u)
        .collect();
    Some((msgs, u(&lost["bytes"])))
}

fn small_body(i: u64) -> Vec<u8> {
    format!("msg-{i}").into_bytes()
}

async fn publish_small(client: &Client, n: u64) {
    for i in 1..=n {
        let seq = publish_ok(client, &format!("c.{i}"), &[], small_body(i)).await;
        assert_eq!(seq, i, "publish {i} acknowledged with seq {seq}");
    }
}

// ---------------------------------------------------------------------------------------------
// 1. A flipped byte inside the payload of seq 50
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// kill -9: no snapshot, recovery scans every record.
    Kill9,
    /// SIGTERM, then `index.snap` removed by hand: recovery scans.
    CleanNoSnapshot,
    /// SIGTERM, snapshot left in place: the fast path (lengths match, no scan).
    CleanWithSnapshot,
    /// SIGTERM, and a byte of `index.snap` flipped too: the snapshot fails its checksum.
    CleanDamagedSnapshot,
}

/// Publishes 100, stops the server as `stop` says, flips one payload byte of seq 50,
/// restarts; checks everything but the info/MSG.GET 50 outcome, which depends on whether
/// recovery scanned (returned for the caller to assert).
/// The `TempDir` is returned so the store outlives the server.
async fn flip_seq_50(stop: Stop) -> Option<(TempDir, ServerProcess, Client, Value, ApiErr)> {
    let bin = weir_bin()?;
    let store = TempDir::new();
    let (mut p, client) = start_with_stream(bin, store.path()).await;
    publish_small(&client, 100).await;
    drop(client);

    let snap = msgs_dir(store.path(), STREAM).join("index.snap");
    match stop {
        Stop::Kill9 => {
            p.kill9();
            assert!(!snap.exists(), "index.snap present after kill -9");
        }
        _ => {
            sigterm_and_wait(&p);
            assert!(
                snap.is_file(),
                "clean stop (SIGTERM) wrote no {}; log:\n{}",
                snap.display(),
                p.log()
            );
            match stop {
                Stop::CleanNoSnapshot => std::fs::remove_file(&snap).expect("remove index.snap"),
                Stop::CleanDamagedSnapshot => {
                    let len = std::fs::metadata(&snap).expect("snapshot metadata").len();
                    flip_byte(&snap, (len / 2) as usize);
                }
                _ => {}
            }
        }
    }

    let (seg, rec) = find_msg_record(store.path(), STREAM, 50);
    assert_eq!(
        rec.flags & FLAG_LZ4,
        0,
        "seq 50 stored uncompressed: {rec:?}"
    );
    assert_eq!(
        rec.body.len(),
        small_body(50).len(),
        "body of seq 50 located: {rec:?}"
    );
    // The middle byte of "msg-50".
    flip_byte(&seg, rec.body.start + rec.body.len() / 2);

    let (client, info) = restart(&mut p).await;
    println!("{stop:?}: state after restart: {}", info["state"]);
    let state = &info["state"];
    assert_eq!(u(&state["first_seq"]), 1, "{state}");
    assert_eq!(u(&state["last_seq"]), 100, "{state}");

    // Every intact message, with its original body.
    for i in (1..=100).filter(|&i| i != 50) {
        assert_served(&client, i, &format!("c.{i}"), &small_body(i)).await;
    }
    let err50 = get_err(&client, 50).await;
    println!("{stop:?}: MSG.GET 50 -> {err50:?}");
    Some((store, p, client, info, err50))
}

/// After the recovery scan: `lost == {msgs: [50], bytes: >0}`, 99 messages, seq 50 "no
/// message found", the damage logged, publishing continues at 101.
async fn assert_scan_found_seq_50(p: &ServerProcess, client: &Client, info: &Value, err50: ApiErr) {
    let state = &info["state"];
    let (msgs, bytes) = state_lost(info).unwrap_or_else(|| panic!("no state.lost in {state}"));
    assert_eq!(msgs, vec![50], "lost.msgs: {state}");
    assert!(bytes > 0, "lost.bytes: {state}");
    assert_eq!(u(&state["messages"]), 99, "{state}");
    assert_eq!(err50, no_message_found());
    let log = p.log();
    let line = log
        .lines()
        .find(|l| l.contains("corrupt data in"))
        .unwrap_or_else(|| panic!("no 'corrupt data in' in the log:\n{log}"));
    assert!(line.contains("00000000000000000001.blk"), "{line}");
    println!("logged: {line}");
    let seq = publish_ok(client, "c.new", &[], "after").await;
    assert_eq!(seq, 101);
    assert_served(client, 101, "c.new", b"after").await;
    assert_eq!(u(&api_state(client).await["messages"]), 100);
}

async fn api_state(client: &Client) -> Value {
    let v = api(
        client,
        &format!("$JS.API.STREAM.INFO.{STREAM}"),
        Bytes::new(),
    )
    .await;
    assert!(v.get("error").is_none(), "stream info failed: {v}");
    v["state"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_in_a_record() {
    let Some((_store, p, client, info, err50)) = flip_seq_50(Stop::Kill9).await else {
        return;
    };
    assert_scan_found_seq_50(&p, &client, &info, err50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_after_clean_stop_without_snapshot() {
    let Some((_store, p, client, info, err50)) = flip_seq_50(Stop::CleanNoSnapshot).await else {
        return;
    };
    assert_scan_found_seq_50(&p, &client, &info, err50).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_after_clean_stop_with_damaged_snapshot() {
    let Some((_store, p, client, info, err50)) = flip_seq_50(Stop::CleanDamagedSnapshot).await
    else {
        return;
    };
    assert!(
        p.log().contains("no usable snapshot"),
        "damaged snapshot not reported; log:\n{}",
        p.log()
    );
    assert_scan_found_seq_50(&p, &client, &info, err50).await;
}

/// The snapshot fast path does not read record bodies at start (the segment lengths match),
/// so the damage is not seen then: seq 50 still counts as a message and `lost` is absent.
/// What keeps data safe is the checksum on every read: MSG.GET 50 fails with the store's
/// corrupt-record error instead of returning the damaged bytes, and every other message is
/// served intact. After the next unclean restart (no snapshot) the scan reports it as lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flipped_byte_after_clean_stop_with_snapshot() {
    let Some((_store, mut p, client, info, err50)) = flip_seq_50(Stop::CleanWithSnapshot).await
    else {
        return;
    };
    let state = &info["state"];
    assert_eq!(state_lost(&info), None, "fast path: {state}");
    assert_eq!(u(&state["messages"]), 100, "fast path: {state}");
    assert_eq!((err50.code, err50.err_code), (500, 10051), "{err50:?}");
    assert!(
        err50.description.contains("corrupt record")
            && err50.description.contains("checksum mismatch"),
        "{err50:?}"
    );
    let seq = publish_ok(&client, "c.new", &[], "after").await;
    assert_eq!(seq, 101);
    drop(client);

    // The snapshot was deleted when the store opened, so a crash now means a full scan.
    p.kill9();
    let (client, info) = restart(&mut p).await;
    println!("after a further kill -9: {}", info["state"]);
    let (msgs, bytes) = state_lost(&info).expect("scan reports the damage");
    assert_eq!(msgs, vec![50]);
    assert!(bytes > 0);
    assert_eq!(u(&info["state"]["messages"]), 100, "99 intact + seq 101");
    assert_eq!(get_err(&client, 50).await, no_message_found());
    for i in [1, 49, 51, 100] {
        assert_served(&client, i, &format!("c.{i}"), &small_body(i)).await;
    }
    assert_served(&client, 101, "c.new", b"after").await;
}

// ---------------------------------------------------------------------------------------------
// 2. A torn tail: the last record cut in the middle
// ---------------------------------------------------------------------------------------------

/// Recovery treats a record running past the end of the last segment as a write that never
/// completed: the file is truncated there, the seq is free again, nothing is "lost" (like
/// nats-server after tail truncation). Every intact message survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_segment_tail() {
    let Some(bin) = weir_bin() else { return };
    let store = TempDir::new();
    let (mut p, client) = start_with_stream(bin, store.path()).await;
    publish_small(&client, 100).await;
    drop(client);
    p.kill9();

    let segs = segment_files(store.path(), STREAM);
    assert_eq!(segs.len(), 1, "{segs:?}");
    let (_, recs) = parse_segment(&segs[0]);
    let last = recs.last().expect("records").clone();
    assert_eq!((last.kind, last.seq), (KIND_MSG, 100), "{last:?}");
    truncate(&segs[0], last.offset + last.len / 2);

    let (client, info) = restart(&mut p).await;
    let state = &info["state"];
    println!("state after restart: {state}");
    assert_eq!(u(&state["messages"]), 99, "{state}");
    assert_eq!(u(&state["first_seq"]), 1, "{state}");
    assert_eq!(u(&state["last_seq"]), 99, "{state}");
    assert_eq!(
        state_lost(&info),
        None,
        "a torn tail is not reported as lost: {state}"
    );
    for i in 1..=99 {
        assert_served(&client, i, &format!("c.{i}"), &small_body(i)).await;
    }
    let err = get_err(&client, 100).await;
    println!("MSG.GET 100 -> {err:?}");
    assert_eq!(err, no_message_found());
    let log = p.log();
    assert!(
        log.contains(&format!("truncated {} torn bytes", last.len / 2)),
        "torn tail not logged; log:\n{log}"
    );

    let seq = publish_ok(&client, "c.new", &[], "after").await;
    assert_eq!(seq, 100, "the torn seq is taken again");
    assert_served(&client, 100, "c.new", b"after").await;
    assert_served(&client, 99, "c.99", &small_body(99)).await;
    assert_eq!(u(&api_state(&client).await["messages"]), 100);
}

// ---------------------------------------------------------------------------------------------
// 3. The first of two segments cut in its middle
// ---------------------------------------------------------------------------------------------

const BIG_BODY: usize = 64 << 10;
/// ~10 MiB: more than one 8 MiB (default) segment.
const BIG_COUNT: u64 = 160;

fn big_body(i: u64) -> Vec<u8> {
    let tag = format!("msg-{i}-");
    let mut b: Vec<u8> = tag.bytes().cycle().take(BIG_BODY).collect();
    // Not all of it the repeating tag: a few bytes depend on the position too.
    for (j, x) in b.iter_mut().enumerate().step_by(4093) {
        *x = (j as u64 ^ i) as u8;
    }
    b
}

/// Where the first segment is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cut {
    /// Half-way through the middle record (at least 16 bytes of it remain).
    MidRecord,
    /// 8 bytes into the middle record (its seq field is gone too).
    RecordStart,
    /// Exactly at the start of the middle record: only whole records remain.
    Boundary,
}

/// Publishes ~10 MiB (two segments), kill -9, cuts the first segment at `cut`, restarts.
/// Correct behaviour: the stream is served, every record before the cut and every record of
/// the second segment is served intact, each cut-off seq is "no message found" and listed in
/// `state.lost`, messages/first/last are right, and publishing continues.
async fn truncate_first_segment(cut: Cut) {
    let Some(bin) = weir_bin() else { return };
    let store = TempDir::new();
    let (mut p, client) = start_with_stream(bin, store.path()).await;
    for i in 1..=BIG_COUNT {
        let seq = publish_ok(&client, &format!("c.{i}"), &[], big_body(i)).await;
        assert_eq!(seq, i);
    }
    drop(client);
    p.kill9();

    let segs = segment_files(store.path(), STREAM);
    assert!(segs.len() >= 2, "expected at least 2 segments: {segs:?}");
    let (first1, recs1) = parse_segment(&segs[0]);
    let (first2, _) = parse_segment(&segs[1]);
    assert_eq!(first1, 1);
    assert!(
        recs1.iter().all(|r| r.kind == KIND_MSG),
        "only messages in segment 1"
    );
    let last1 = recs1.last().expect("records").seq;
    assert_eq!(first2, last1 + 1, "segment 2 continues segment 1");
    let mid = recs1[recs1.len() / 2].clone();
    let cut_at = match cut {
        Cut::MidRecord => mid.offset + mid.len / 2,
        Cut::RecordStart => mid.offset + 8,
        Cut::Boundary => mid.offset,
    };
    println!(
        "{cut:?}: {} segments; segment 1 holds seqs 1..={last1}, cut at byte {cut_at} (record of seq {} at {})",
        segs.len(),
        mid.seq,
        mid.offset
    );
    truncate(&segs[0], cut_at);

    let (client, info) = restart(&mut p).await;
    let state = &info["state"];
    let gone: Vec<u64> = (mid.seq..=last1).collect();
    println!(
        "state after restart (lost.msgs etc.): {}",
        json!({
            "messages": state["messages"], "first_seq": state["first_seq"],
            "last_seq": state["last_seq"], "num_deleted": state["num_deleted"],
            "lost": state["lost"]
        })
    );
    for l in p.log().lines().filter(|l| l.contains("corrupt data in")) {
        println!("logged: {l}");
    }

    // Served: everything before the cut and all of segment 2.
    for i in (1..mid.seq).chain(first2..=BIG_COUNT) {
        assert_served(&client, i, &format!("c.{i}"), &big_body(i)).await;
    }
    for &i in &gone {
        assert_eq!(get_err(&client, i).await, no_message_found(), "seq {i}");
    }
    assert_eq!(u(&state["first_seq"]), 1, "{state}");
    assert_eq!(u(&state["last_seq"]), BIG_COUNT, "{state}");
    assert_eq!(
        u(&state["messages"]),
        BIG_COUNT - gone.len() as u64,
        "{state}"
    );
    let seq = publish_ok(&client, "c.new", &[], "after").await;
    assert_eq!(seq, BIG_COUNT + 1);

    let (msgs, bytes) = state_lost(&info).unwrap_or_else(|| panic!("no state.lost in {state}"));
    assert_eq!(msgs, gone, "lost.msgs must name every seq cut off");
    if cut != Cut::Boundary {
        // Bytes of a partial record were found and dropped.
        assert!(bytes > 0, "lost.bytes: {state}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_middle_segment() {
    truncate_first_segment(Cut::MidRecord).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_middle_segment_in_record_header() {
    truncate_first_segment(Cut::RecordStart).await;
}

/// Only whole records remain, so no record fails validation: recovery notices the cut because
/// the segment ends before the next one starts and no tombstone, range tombstone or first-seq
/// marker says those seqs were removed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_middle_segment_at_record_boundary() {
    truncate_first_segment(Cut::Boundary).await;
}
