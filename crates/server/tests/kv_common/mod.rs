//! Helpers shared by the Key-Value and Object Store tests (`kv_bucket.rs`, `kv_keys.rs`,
//! `kv_ttl.rs`, `kv_watch.rs`, `object_store.rs`): the JetStream context of a test, a bare
//! bucket config, the JetStream API error behind a client error, raw stored messages, bounded
//! reads of watchers, and (for the object store) a cheap deterministic byte stream plus an
//! independent SHA-256 so digests are checked without trusting the client.
//!
//! Every wait is bounded.

// Each test binary compiles this module separately and uses only part of it.
#![allow(dead_code)]

use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, kv};
use futures::{Stream, StreamExt};
use serde_json::Value;

use crate::common::within;
use crate::js_common::{api_ok, Js};

/// Bound for one watcher/history entry that is expected to arrive.
pub const ENTRY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a test waits to be sure that nothing more arrives.
pub const QUIET: Duration = Duration::from_millis(300);
/// Bound for an expiry (TTL, max_age) to happen: the delay plus the server's housekeeping.
pub const EXPIRY_TIMEOUT: Duration = Duration::from_secs(10);
/// One second in nanoseconds (durations in a stream config).
pub const SEC: u64 = 1_000_000_000;

/// The test's JetStream context.
pub fn js_ctx(j: &Js) -> jetstream::Context {
    jetstream::new(j.c.clone())
}

/// A bucket config with nothing but the name.
pub fn cfg(bucket: &str) -> kv::Config {
    kv::Config {
        bucket: bucket.to_string(),
        ..Default::default()
    }
}

/// The current Unix time in seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// The JSON `$JS.API.STREAM.INFO.<stream>` reply (asserted to be no error).
pub async fn info_json(j: &Js, stream: &str) -> Value {
    api_ok(&j.c, &format!("$JS.API.STREAM.INFO.{stream}"), "").await
}

/// The `config` of stream `name`, raw JSON as the server sends it.
pub async fn config_json(j: &Js, stream: &str) -> Value {
    info_json(j, stream).await["config"].clone()
}

/// The `state` of stream `name`, raw JSON.
pub async fn state_json(j: &Js, stream: &str) -> Value {
    info_json(j, stream).await["state"].clone()
}

/// A JetStream API error found in the `source()` chain of a client error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsErr {
    pub code: usize,
    pub err_code: u64,
    pub description: String,
}

/// The JetStream API error (`{"error": {...}}` of a reply) that caused `err`, if any: walks
/// the `source()` chain for the client's `jetstream::Error`, also where a kind carries it
/// (`CreateStreamErrorKind::JetStream`, `GetStreamErrorKind::JetStream`); failing that, reads
/// the "(code <code>, error code <err_code>)" the client prints (description = whole text).
pub fn js_err(err: &(dyn std::error::Error + 'static)) -> Option<JsErr> {
    use jetstream::context::{
        CreateStreamError, CreateStreamErrorKind, GetStreamError, GetStreamErrorKind,
    };
    fn of(j: &jetstream::Error) -> JsErr {
        // The client prints "<description> (code <code>, error code <err_code>)".
        let text = j.to_string();
        let description = text
            .rsplit_once(" (code ")
            .map(|(d, _)| d.to_string())
            .unwrap_or(text);
        JsErr {
            code: j.code(),
            err_code: j.error_code().0,
            description,
        }
    }
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(j) = e.downcast_ref::<jetstream::Error>() {
            return Some(of(j));
        }
        if let Some(c) = e.downcast_ref::<CreateStreamError>() {
            if let CreateStreamErrorKind::JetStream(j) = c.kind() {
                return Some(of(&j));
            }
        }
        if let Some(g) = e.downcast_ref::<GetStreamError>() {
            if let GetStreamErrorKind::JetStream(j) = g.kind() {
                return Some(of(&j));
            }
        }
        cur = e.source();
    }
    let text = err.to_string();
    let (_, tail) = text.rsplit_once("(code ")?;
    let (code, rest) = tail.split_once(", error code ")?;
    let err_code = rest.trim_end_matches(')');
    Some(JsErr {
        code: code.parse().ok()?,
        err_code: err_code.parse().ok()?,
        description: text.clone(),
    })
}

/// `js_err` that panics (naming `what`) when the error has no JetStream API error behind it.
pub fn expect_js_err(err: &(dyn std::error::Error + 'static), what: &str) -> JsErr {
    js_err(err)
        .unwrap_or_else(|| panic!("{what}: expected a JetStream API error behind {err} ({err:?})"))
}

/// The next item of a watcher-like stream, bounded by `ENTRY_TIMEOUT`; panics if the stream
/// ended or yielded an error.
pub async fn next_ok<S, T, E>(s: &mut S, what: &str) -> T
where
    S: Stream<Item = Result<T, E>> + Unpin,
    E: std::fmt::Display,
{
    match within(ENTRY_TIMEOUT, what, s.next()).await {
        Some(Ok(v)) => v,
        Some(Err(e)) => panic!("{what}: the stream yielded an error: {e}"),
        None => panic!("{what}: the stream ended"),
    }
}

/// Whatever a watcher yields within `dur` (the test asserts it is None).
pub async fn next_within<S, T>(s: &mut S, dur: Duration) -> Option<T>
where
    S: Stream<Item = T> + Unpin,
{
    tokio::time::timeout(dur, s.next()).await.ok().flatten()
}

/// Every item of a finite stream (a history, a key listing, an object list), bounded.
pub async fn collect_all<S, T, E>(s: S, what: &str) -> Vec<T>
where
    S: Stream<Item = Result<T, E>>,
    E: std::fmt::Display,
{
    let items: Vec<Result<T, E>> = within(ENTRY_TIMEOUT, what, s.collect()).await;
    items
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("{what}: error item: {e}")))
        .collect()
}

/// (key, operation, value) of an entry, for compact comparisons.
pub fn kov(e: &kv::Entry) -> (String, kv::Operation, Vec<u8>) {
    (e.key.clone(), e.operation, e.value.to_vec())
}

pub fn put(key: &str, value: &str) -> (String, kv::Operation, Vec<u8>) {
    (
        key.to_string(),
        kv::Operation::Put,
        value.as_bytes().to_vec(),
    )
}

pub fn del(key: &str) -> (String, kv::Operation, Vec<u8>) {
    (key.to_string(), kv::Operation::Delete, Vec::new())
}

pub fn purged(key: &str) -> (String, kv::Operation, Vec<u8>) {
    (key.to_string(), kv::Operation::Purge, Vec::new())
}

/// A header's value in a raw `$JS.API.STREAM.MSG.GET` reply's base64 `hdrs` block.
pub fn raw_header(msg: &Value, name: &str) -> Option<String> {
    let hdrs = msg["message"]["hdrs"].as_str()?;
    let block = String::from_utf8(base64_decode(hdrs)).ok()?;
    block.lines().skip(1).find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// The headers of a raw `STREAM.MSG.GET` reply, decoded (empty if the message has none).
pub fn raw_headers(msg: &Value) -> String {
    msg["message"]["hdrs"]
        .as_str()
        .map(|h| String::from_utf8(base64_decode(h)).expect("headers are text"))
        .unwrap_or_default()
}

/// The payload of a raw `STREAM.MSG.GET` reply, decoded.
pub fn raw_payload(msg: &Value) -> Vec<u8> {
    msg["message"]["data"]
        .as_str()
        .map(base64_decode)
        .unwrap_or_default()
}

/// The stored message `seq` of `stream`, via `$JS.API.STREAM.MSG.GET` (raw JSON).
pub async fn raw_msg(j: &Js, stream: &str, seq: u64) -> Value {
    api_ok(
        &j.c,
        &format!("$JS.API.STREAM.MSG.GET.{stream}"),
        serde_json::json!({ "seq": seq }).to_string(),
    )
    .await
}

/// The last stored message on `subject` of `stream`, via `$JS.API.STREAM.MSG.GET` (raw JSON).
pub async fn raw_last_msg(j: &Js, stream: &str, subject: &str) -> Value {
    api_ok(
        &j.c,
        &format!("$JS.API.STREAM.MSG.GET.{stream}"),
        serde_json::json!({ "last_by_subj": subject }).to_string(),
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Deterministic data, SHA-256 and base64
// ---------------------------------------------------------------------------------------------

/// A fast deterministic byte generator (xorshift64*), 8 bytes per step.
#[derive(Clone)]
pub struct Prng {
    state: u64,
    /// Bytes of the current word not handed out yet.
    word: [u8; 8],
    used: usize,
}

impl Prng {
    pub fn new(seed: u64) -> Prng {
        Prng {
            state: seed | 1,
            word: [0; 8],
            used: 8,
        }
    }

    fn step(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Fills `out` with the next bytes of the sequence.
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut i = 0;
        // Leftover bytes of a partly used word first.
        while self.used < 8 && i < out.len() {
            out[i] = self.word[self.used];
            self.used += 1;
            i += 1;
        }
        let mut chunks = out[i..].chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.step().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        if !rest.is_empty() {
            self.word = self.step().to_le_bytes();
            let n = rest.len();
            rest.copy_from_slice(&self.word[..n]);
            self.used = n;
        }
    }

    pub fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        Prng::new(seed).fill(&mut v);
        v
    }
}

/// An `AsyncRead` of `len` bytes of `Prng::new(seed)`, generated as it is read (an object of
/// any size can be put without holding it in memory).
pub struct PrngReader {
    prng: Prng,
    remaining: usize,
}

impl PrngReader {
    pub fn new(seed: u64, len: usize) -> PrngReader {
        PrngReader {
            prng: Prng::new(seed),
            remaining: len,
        }
    }
}

impl tokio::io::AsyncRead for PrngReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = buf.remaining().min(self.remaining);
        if n == 0 {
            return Poll::Ready(Ok(()));
        }
        let dst = buf.initialize_unfilled_to(n);
        self.prng.fill(dst);
        buf.advance(n);
        self.remaining -= n;
        Poll::Ready(Ok(()))
    }
}

/// SHA-256 (FIPS 180-4), written here so the tests check the object store's digests
/// independently of the client.
#[derive(Clone)]
pub struct Sha256 {
    h: [u32; 8],
    block: [u8; 64],
    filled: usize,
    len: u64,
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

impl Default for Sha256 {
    fn default() -> Self {
        Sha256::new()
    }
}

impl Sha256 {
    pub fn new() -> Sha256 {
        Sha256 {
            h: [
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                0x5be0cd19,
            ],
            block: [0; 64],
            filled: 0,
            len: 0,
        }
    }

    fn compress(h: &mut [u32; 8], block: &[u8]) {
        let mut w = [0u32; 64];
        for (i, c) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = *h;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if self.filled > 0 {
            let n = (64 - self.filled).min(data.len());
            self.block[self.filled..self.filled + n].copy_from_slice(&data[..n]);
            self.filled += n;
            data = &data[n..];
            if self.filled < 64 {
                return;
            }
            let block = self.block;
            Sha256::compress(&mut self.h, &block);
            self.filled = 0;
        }
        let mut blocks = data.chunks_exact(64);
        for b in &mut blocks {
            Sha256::compress(&mut self.h, b);
        }
        let rest = blocks.remainder();
        self.block[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    pub fn finish(mut self) -> [u8; 32] {
        let bits = self.len.wrapping_mul(8);
        self.update(&[0x80]);
        while self.filled != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 32];
        for (o, h) in out.chunks_exact_mut(4).zip(self.h) {
            o.copy_from_slice(&h.to_be_bytes());
        }
        out
    }

    pub fn digest(data: &[u8]) -> [u8; 32] {
        let mut s = Sha256::new();
        s.update(data);
        s.finish()
    }
}

/// The object store's digest text for a SHA-256: `SHA-256=<base64url, padded>`.
pub fn object_digest(sha: [u8; 32]) -> String {
    format!("SHA-256={}", base64_url(&sha))
}

/// Base64 with the URL-safe alphabet and padding (Go's `base64.URLEncoding`).
pub fn base64_url(data: &[u8]) -> String {
    base64_with(
        data,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    )
}

fn base64_with(data: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= c.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard or URL-safe base64, padding optional.
pub fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => panic!("not base64: {s:?}"),
        }
    };
    let bytes: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for c in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &b) in c.iter().enumerate() {
            n |= val(b) << (18 - 6 * i);
        }
        for i in 0..c.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

#[test]
fn sha256_and_base64_known_answers() {
    fn hex(d: [u8; 32]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }
    assert_eq!(
        hex(Sha256::digest(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex(Sha256::digest(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let long = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    assert_eq!(
        hex(Sha256::digest(long)),
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    );
    // Fed in uneven pieces, the result is the same.
    let data = Prng::bytes(7, 1000);
    let mut s = Sha256::new();
    for piece in data.chunks(37) {
        s.update(piece);
    }
    assert_eq!(s.finish(), Sha256::digest(&data));
    assert_eq!(base64_url(b"\xfb\xff"), "-_8=");
    assert_eq!(base64_url(b"abc"), "YWJj");
    assert_eq!(base64_url(b"ab"), "YWI=");
    assert_eq!(base64_decode("YWI="), b"ab");
    assert_eq!(base64_decode("-_8"), b"\xfb\xff");
    // The generator gives the same bytes however it is read.
    let mut p = Prng::new(7);
    let mut pieces = vec![0u8; 1000];
    for c in pieces.chunks_mut(13) {
        p.fill(c);
    }
    assert_eq!(pieces, data);
}

// ---------------------------------------------------------------------------------------------
// Buckets on either target
// ---------------------------------------------------------------------------------------------

/// The stream config async-nats 0.51 sends for a KV bucket (its private `kv_to_stream_config`):
/// a mirror or sources instead of subjects, their names prefixed with `KV_`.
pub fn kv_stream_config(c: &kv::Config) -> jetstream::stream::Config {
    use jetstream::stream::{Compression, DiscardPolicy};
    let kv_name = |n: &str| {
        if n.starts_with("KV_") {
            n.to_string()
        } else {
            format!("KV_{n}")
        }
    };
    let mirror = c.mirror.clone().map(|mut m| {
        m.name = kv_name(&m.name);
        m
    });
    let sources = c.sources.clone().map(|mut v| {
        for s in &mut v {
            s.name = kv_name(&s.name);
        }
        v
    });
    let subjects = if mirror.is_none() && sources.is_none() {
        vec![format!("$KV.{}.>", c.bucket)]
    } else {
        Vec::new()
    };
    jetstream::stream::Config {
        name: format!("KV_{}", c.bucket),
        description: Some(c.description.clone()),
        mirror_direct: c.mirror_direct || mirror.is_some(),
        mirror,
        sources,
        subjects,
        max_messages_per_subject: if c.history > 0 { c.history } else { 1 },
        max_bytes: c.max_bytes,
        max_age: c.max_age,
        max_message_size: c.max_value_size,
        storage: c.storage,
        republish: c.republish.clone(),
        allow_rollup: true,
        deny_delete: true,
        deny_purge: false,
        allow_direct: true,
        num_replicas: c.num_replicas.max(1),
        discard: DiscardPolicy::New,
        compression: c.compression.then_some(Compression::S2),
        allow_message_ttl: c.limit_markers.is_some(),
        subject_delete_marker_ttl: c.limit_markers,
        ..Default::default()
    }
}

/// Creates a KV bucket: `create_key_value` on Weir. On nats-server 2.9.10 async-nats 0.51's
/// `create_key_value` cannot work at all: it first reads `$JS.API.INFO` into a struct that
/// requires `reserved_memory`/`reserved_storage` (2.10+ fields), and 2.9.10's reply lacks them
/// ("data did not match any variant of untagged enum Response"). There the same stream config
/// the client would send is created with `create_stream`, and the bucket opened with
/// `get_key_value` (which needs no account info).
pub async fn try_create_bucket(j: &Js, c: kv::Config) -> Result<kv::Store, async_nats::Error> {
    let js = js_ctx(j);
    if !j.server.is_reference() {
        return Ok(js.create_key_value(c).await?);
    }
    js.create_stream(kv_stream_config(&c)).await?;
    Ok(js.get_key_value(&c.bucket).await?)
}

/// `try_create_bucket` that panics on failure.
pub async fn create_bucket(j: &Js, c: kv::Config) -> kv::Store {
    let name = c.bucket.clone();
    try_create_bucket(j, c)
        .await
        .unwrap_or_else(|e| panic!("create bucket {name}: {e}"))
}

/// Updates a KV bucket: `update_key_value` on Weir, `update_stream` with the same stream config
/// on nats-server 2.9.10 (see `try_create_bucket` for why).
pub async fn try_update_bucket(j: &Js, c: kv::Config) -> Result<kv::Store, async_nats::Error> {
    let js = js_ctx(j);
    if !j.server.is_reference() {
        return Ok(js.update_key_value(c).await?);
    }
    js.update_stream(kv_stream_config(&c)).await?;
    Ok(js.get_key_value(&c.bucket).await?)
}

/// `create_or_update_key_value` on Weir, `create_or_update_stream` on nats-server 2.9.10.
pub async fn try_create_or_update_bucket(
    j: &Js,
    c: kv::Config,
) -> Result<kv::Store, async_nats::Error> {
    let js = js_ctx(j);
    if !j.server.is_reference() {
        return Ok(js.create_or_update_key_value(c).await?);
    }
    js.create_or_update_stream(kv_stream_config(&c)).await?;
    Ok(js.get_key_value(&c.bucket).await?)
}

/// The first `n` messages of `stream` (subject, payload), read with an ordered push consumer
/// from the start: waits (bounded) for them to arrive, e.g. while a mirror or source catches
/// up.
pub async fn first_stream_msgs(j: &Js, stream: &str, n: usize) -> Vec<(String, Vec<u8>)> {
    use jetstream::consumer::push::OrderedConfig;
    let s = js_ctx(j)
        .get_stream(stream)
        .await
        .unwrap_or_else(|e| panic!("get stream {stream}: {e}"));
    let consumer = s
        .create_consumer(OrderedConfig {
            deliver_subject: j.c.new_inbox(),
            ..Default::default()
        })
        .await
        .unwrap_or_else(|e| panic!("ordered consumer on {stream}: {e}"));
    let mut msgs = consumer.messages().await.expect("ordered messages");
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let what = format!("message {} of {n} in {stream}", out.len() + 1);
        let m = next_ok(&mut msgs, &what).await;
        out.push((m.subject.to_string(), m.payload.to_vec()));
    }
    out
}
