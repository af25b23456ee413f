//! Property test: random byte streams never get past authentication or permissions.
//!
//! One server with a users list: `alice`/`pw` (no restrictions) and `limited`/`lp` (publish and
//! subscribe only below `public.>`). An authenticated watcher (alice) subscribes to `>`. Then
//! 200 deterministic pseudo-random streams (a seeded xorshift; proptest is not a dependency of
//! this crate) are built from a vocabulary of fragments: invalid CONNECTs (wrong password,
//! unknown user, no credentials, truncated JSON, alice's credentials behind garbage on the same
//! line), `limited`'s valid CONNECT, `PUB`/`HPUB` to `secret.*`, `SUB secret.>`, lower-case
//! operations, `PING`, CRLFs and random bytes. No stream contains a CONNECT the parser may
//! accept with alice's credentials, so whatever happens, a `secret.*` publish must not be
//! routed. Each stream ends with an allowed `SUB`/`PUB` pair whose echo marks the end of its
//! processing, goes to a fresh connection, written in chunks cut at random points, and then
//! the connection is half-closed.
//!
//! Per case the test checks:
//! - the watcher receives nothing but `public.*` messages and the one `secret.bait` that an
//!   authenticated alice publishes as a marker (so deliveries are attributed to the case);
//! - the random connection never receives a `secret.*` message, although the bait is published
//!   once its stream has been processed (its `SUB secret.>` must have been refused);
//! - the server closes the random connection after the client's half-close.
//!
//! Then: limited's allowed publishes did reach the watcher (the test is not vacuous), and the
//! server still answers a fresh alice connection with PONG.
//!
//! Differential: with `WEIR_TEST_TARGET=nats-server` it runs against nats-server 2.9.10.

mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::{test_options, RawConn, ServerOp, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_server::{Authorization, PermissionsConfig, SubjectRules, UserConfig};

const CASES: usize = 200;
/// Appended to every stream; allowed for `limited`.
const SYNC: &[u8] = b"SUB public.sync 99\r\nPUB public.sync 4\r\nsync\r\n";
/// What the connection receives for `SYNC` once everything before it was processed.
const SYNCED: &[u8] = b"MSG public.sync 99 4\r\nsync\r\n";
const SEED: u64 = 0x5EED_0A17_0B1A_5EED;
/// Bound for the server to deliver the end marker (or close), and to close after the
/// half-close. Only a stream that leaves a partial operation pending (the marker swallowed as
/// payload) waits for the first bound; it is then simply not synchronized.
const SYNC_WAIT: Duration = Duration::from_millis(500);
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// xorshift64*: small, deterministic, good enough to pick fragments and cut points.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// CONNECT fragments. None of them, alone or concatenated with any other fragment, is a
/// CONNECT a correct parser accepts with alice's password: the only ones naming it put a NUL
/// and junk before `CONNECT` on the same line, or cut the JSON before the password. The first
/// three are limited's valid CONNECTs.
const CONNECTS: &[&[u8]] = &[
    b"CONNECT {\"verbose\":false,\"headers\":true,\"user\":\"limited\",\"pass\":\"lp\"}\r\n",
    b"CONNECT {\"headers\":true,\"user\":\"limited\",\"pass\":\"lp\"}\r\n",
    b"connect {\"verbose\":false,\"user\":\"limited\",\"pass\":\"lp\"}\r\n",
    b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"wrong\"}\r\n",
    b"CONNECT {\"verbose\":false,\"user\":\"mallory\",\"pass\":\"pw\"}\r\n",
    b"CONNECT {\"verbose\":false,\"user\":\"alice\"}\r\n",
    b"CONNECT {\"verbose\":false,\"pass\":\"pw\"}\r\n",
    b"CONNECT {}\r\n",
    b"CONNECT\r\n",
    b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pa",
    b"\x00junk CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"pw\"}\r\n",
];

/// Operations: publishes and subscriptions outside limited's permissions, allowed ones (so
/// the test can see that limited did get in), PING and a bare CRLF.
const OPS: &[&[u8]] = &[
    b"PUB secret.x 1\r\nX\r\n",
    b"pub secret.x 1\r\nX\r\n",
    b"PUB secret.x public.reply 1\r\nX\r\n",
    b"HPUB secret.h 12 13\r\nNATS/1.0\r\n\r\nX\r\n",
    b"SUB secret.> 9\r\n",
    b"SUB > 8\r\n",
    b"SUB public.> 7\r\n",
    b"PUB public.p 1\r\nP\r\n",
    b"HPUB public.h 12 13\r\nNATS/1.0\r\n\r\nH\r\n",
    b"PING\r\n",
    b"\r\n",
];

/// How many of `CONNECTS` are limited's valid ones.
const LIMITED_CONNECTS: usize = 3;

struct Case {
    stream: Vec<u8>,
    cuts: Vec<usize>,
}

fn make_case(rng: &mut Rng) -> Case {
    let mut stream = Vec::new();
    // Half the streams start with one of limited's CONNECTs, so the operations after it are
    // checked against limited's permissions rather than refused before authentication.
    if rng.below(2) == 0 {
        stream.extend_from_slice(CONNECTS[rng.below(LIMITED_CONNECTS)]);
    }
    for _ in 0..1 + rng.below(6) {
        // Operations most of the time; a CONNECT or random bytes (1 to 24) otherwise.
        match rng.below(16) {
            0..=11 => stream.extend_from_slice(OPS[rng.below(OPS.len())]),
            12 | 13 => stream.extend_from_slice(CONNECTS[rng.below(CONNECTS.len())]),
            _ => {
                for _ in 0..1 + rng.below(24) {
                    stream.push(rng.next() as u8);
                }
            }
        }
    }
    // The end marker: once the connection receives its own `MSG public.sync 99`, the server
    // has processed the whole stream (and the connection is limited, still open).
    stream.extend_from_slice(SYNC);
    let mut cuts: Vec<usize> = (0..rng.below(5)).map(|_| rng.below(stream.len())).collect();
    cuts.sort_unstable();
    cuts.dedup();
    Case { stream, cuts }
}

fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    s
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

enum Fate {
    /// The connection received its end marker.
    Synced,
    Closed,
    /// Still open, no marker (a partial operation swallowed it).
    Pending,
}

/// Reads into `out` until it holds the end marker's message, the server closes, or `wait`
/// passes.
async fn read_fate(stream: &mut TcpStream, out: &mut Vec<u8>, wait: Duration) -> Fate {
    let deadline = tokio::time::Instant::now() + wait;
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        if contains(out, SYNCED) {
            return Fate::Synced;
        }
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Fate::Closed,
            Ok(Ok(n)) => out.extend_from_slice(&chunk[..n]),
            Err(_) => return Fate::Pending,
        }
    }
}

/// Reads into `out` until the server closes (EOF or reset); false if `wait` passed first.
async fn read_to_close(stream: &mut TcpStream, out: &mut Vec<u8>, wait: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + wait;
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut chunk)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(n)) => out.extend_from_slice(&chunk[..n]),
            Err(_) => return false,
        }
    }
}

fn user(name: &str, password: &str, permissions: Option<PermissionsConfig>) -> UserConfig {
    UserConfig {
        user: Some(name.into()),
        password: Some(password.into()),
        permissions,
        ..UserConfig::default()
    }
}

async fn connect_as(s: &TestServer, user: &str, pass: &str) -> RawConn {
    Box::pin(RawConn::connect_with(
        s.addr(),
        &format!("{{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"{pass}\"}}"),
    ))
    .await
}

/// The next line is PONG. Boxed, as `drain_watcher`.
async fn expect_pong(conn: &mut RawConn) {
    Box::pin(conn.expect_line_eq("PONG")).await
}

/// Every operation the watcher has until the PONG of a PING sent now: (subject, from HMSG).
async fn drain_watcher(watcher: &mut RawConn) -> Vec<String> {
    Box::pin(drain_watcher_inner(watcher)).await
}

/// Boxed by `drain_watcher`: `RawConn` futures hold a 64 KiB read buffer, and inlined into
/// the test's future they overflow a test thread's stack in debug builds.
async fn drain_watcher_inner(watcher: &mut RawConn) -> Vec<String> {
    watcher.send(b"PING\r\n").await;
    let mut subjects = Vec::new();
    loop {
        match watcher.next_op().await {
            ServerOp::Pong => return subjects,
            ServerOp::Msg { subject, .. } | ServerOp::HMsg { subject, .. } => {
                subjects.push(subject)
            }
            ServerOp::Ping => watcher.send(b"PONG\r\n").await,
            other => panic!("watcher got {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_streams_never_bypass_authentication() {
    let started = Instant::now();
    let limited = PermissionsConfig {
        publish: Some(SubjectRules {
            allow: Some(vec!["public.>".into()]),
            deny: vec![],
        }),
        subscribe: Some(SubjectRules {
            allow: Some(vec!["public.>".into()]),
            deny: vec![],
        }),
        ..Default::default()
    };
    let mut opts = test_options();
    opts.authorization = Authorization {
        users: vec![
            user("alice", "pw", None),
            user("limited", "lp", Some(limited)),
        ],
        ..Authorization::default()
    };
    let s = TestServer::start(opts).await;

    let mut watcher = connect_as(&s, "alice", "pw").await;
    watcher.send(b"SUB > 1\r\nPING\r\n").await;
    expect_pong(&mut watcher).await;
    let mut bait = connect_as(&s, "alice", "pw").await;

    // Control: the watcher does see a secret publish when alice really is authenticated, so
    // the absence below means something.
    let mut control = Box::pin(RawConn::connect(s.addr())).await;
    control
        .send(b"CONNECT {\"verbose\":false,\"user\":\"alice\",\"pass\":\"pw\"}\r\nPUB secret.x 1\r\nX\r\nPING\r\n")
        .await;
    expect_pong(&mut control).await;
    assert_eq!(drain_watcher(&mut watcher).await, ["secret.x"]);
    drop(control);

    let mut rng = Rng(SEED);
    let (mut public_seen, mut synced, mut closed, mut pending) = (0, 0, 0, 0);
    // Cases whose stream was processed to its end, still open, and asked for secret.*.
    let mut bait_meaningful = 0;
    for case_no in 0..CASES {
        let case = make_case(&mut rng);
        let what = || {
            format!(
                "case {case_no}: stream {:?} cut at {:?}",
                show(&case.stream),
                case.cuts
            )
        };
        let mut conn = TcpStream::connect(s.addr()).await.expect("connect");
        conn.set_nodelay(true).expect("nodelay");
        let mut out = Vec::new();
        // The server may close mid-stream (a violation): later writes may fail, that is fine.
        let mut from = 0;
        for &cut in case.cuts.iter().chain(std::iter::once(&case.stream.len())) {
            if conn.write_all(&case.stream[from..cut]).await.is_err() {
                break;
            }
            from = cut;
            tokio::task::yield_now().await;
        }
        match read_fate(&mut conn, &mut out, SYNC_WAIT).await {
            Fate::Synced => {
                synced += 1;
                if contains(&case.stream, b"SUB secret.>") || contains(&case.stream, b"SUB > ") {
                    bait_meaningful += 1;
                }
            }
            Fate::Closed => closed += 1,
            Fate::Pending => pending += 1,
        }

        // Bait, published by an authenticated alice after the stream was processed.
        bait.send(b"PUB secret.bait 1\r\nb\r\nPING\r\n").await;
        expect_pong(&mut bait).await;

        let _ = conn.shutdown().await;
        assert!(
            read_to_close(&mut conn, &mut out, CLOSE_WAIT).await,
            "the server kept the connection open after the client's half-close; {}",
            what()
        );
        assert!(
            !contains(&out, b"MSG secret."),
            "the random connection received a secret message: {:?}; {}",
            show(&out),
            what()
        );

        let subjects = drain_watcher(&mut watcher).await;
        let mut baits = 0;
        for subject in &subjects {
            if subject == "secret.bait" {
                baits += 1;
            } else if subject.starts_with("public.") {
                public_seen += 1;
            } else {
                panic!(
                    "the watcher received {subject:?}: the stream got past authentication \
                     or permissions; {}; the connection was told {:?}",
                    what(),
                    show(&out)
                );
            }
        }
        assert_eq!(baits, 1, "{subjects:?}; {}", what());
    }

    eprintln!(
        "{CASES} cases in {:?}: {synced} processed to the end marker, {closed} closed, \
         {pending} left a partial operation ({bait_meaningful} of the processed had asked \
         to subscribe to secret.*); {public_seen} allowed public messages routed",
        started.elapsed()
    );
    assert!(
        public_seen > 0,
        "no case got limited's allowed publishes through: the streams never authenticated"
    );
    assert!(synced > 0 && closed > 0, "both fates occur");
    assert!(
        bait_meaningful > 0,
        "some open connection asked for secret.* before the bait"
    );

    // The server survived every case.
    watcher.send(b"PING\r\n").await;
    expect_pong(&mut watcher).await;
    let mut fresh = connect_as(&s, "alice", "pw").await;
    fresh.send(b"PING\r\n").await;
    expect_pong(&mut fresh).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}
