//! End-to-end tests: run the built `weir` binary against a real server.
//!
//! Each test starts its own weir-server in-process on an ephemeral port. Set
//! `NATS_SERVER_BIN` to aim them at another binary instead (for example the reference
//! nats-server), which is spawned on a free port.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

const WEIR: &str = env!("CARGO_BIN_EXE_weir");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// A server under test: in-process weir-server, or a spawned binary; stopped on drop.
struct Server {
    backend: Backend,
    url: String,
    /// JetStream store directory, removed on drop.
    store_dir: Option<PathBuf>,
}

enum Backend {
    /// The runtime serving the in-process server; dropping it stops the server.
    InProcess(Option<tokio::runtime::Runtime>),
    Process(Child),
}

impl Server {
    /// Always `Some`; the `Option` keeps the tests' early-return shape.
    fn start() -> Option<Server> {
        match std::env::var_os("NATS_SERVER_BIN") {
            Some(bin) => Some(Self::spawn(PathBuf::from(bin))),
            None => Some(Self::in_process(None)),
        }
    }

    /// A server with JetStream enabled on a fresh store directory.
    fn start_js() -> Server {
        let dir = std::env::temp_dir().join(format!(
            "weir-cli-js-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("create the store dir");
        let mut server = match std::env::var_os("NATS_SERVER_BIN") {
            Some(bin) => Self::spawn_with(
                PathBuf::from(bin),
                &["-js", "-sd", dir.to_str().expect("utf-8 temp dir")],
            ),
            None => Self::in_process(Some(dir.clone())),
        };
        server.store_dir = Some(dir);
        server
    }

    fn in_process(store_dir: Option<PathBuf>) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let opts = weir_server::Options {
            host: "127.0.0.1".to_string(),
            port: 0,
            jetstream: store_dir.is_some(),
            store_dir,
            ..weir_server::Options::default()
        };
        let handle = runtime
            .block_on(weir_server::Server::start(opts))
            .expect("weir-server starts");
        let url = format!("nats://{}", handle.client_addr());
        // The handle is not needed: dropping the runtime ends every server task.
        drop(handle);
        Server {
            backend: Backend::InProcess(Some(runtime)),
            url,
            store_dir: None,
        }
    }

    fn spawn(bin: PathBuf) -> Server {
        Self::spawn_with(bin, &[])
    }

    fn spawn_with(bin: PathBuf, extra: &[&str]) -> Server {
        let port = free_port();
        let child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", &port.to_string()])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let server = Server {
            backend: Backend::Process(child),
            url: format!("nats://127.0.0.1:{port}"),
            store_dir: None,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "server did not start on {port}");
            thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn pid(&self) -> u32 {
        match &self.backend {
            Backend::InProcess(_) => std::process::id(),
            Backend::Process(child) => child.id(),
        }
    }

    fn weir(&self, args: &[&str]) -> Output {
        Command::new(WEIR)
            .args(["-s", &self.url])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run weir")
    }

    fn weir_json(&self, args: &[&str]) -> Value {
        let out = self.weir(&[&["--json"], args].concat());
        assert!(
            out.status.success(),
            "weir {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "weir {args:?} printed invalid JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Starts a long-running weir command and waits until its stderr contains `ready`.
    fn spawn_until(&self, args: &[&str], ready: &str) -> Child {
        let mut child = Command::new(WEIR)
            .args(["-s", &self.url])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run weir");
        let stderr = child.stderr.take().expect("stderr is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains(ready) => return child,
                Ok(_) => continue,
                Err(_) => {
                    let _ = child.kill();
                    panic!("weir {args:?} never printed {ready:?}");
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.backend {
            Backend::InProcess(runtime) => {
                if let Some(rt) = runtime.take() {
                    rt.shutdown_background();
                }
            }
            Backend::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if let Some(dir) = self.store_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Waits for `child` to exit (killing it after `limit`) and returns its stdout.
fn finish(mut child: Child, limit: Duration) -> (bool, String) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait failed") {
            let mut stdout = String::new();
            if let Some(mut out) = child.stdout.take() {
                out.read_to_string(&mut stdout).expect("read stdout");
            }
            return (status.success(), stdout);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pub_sub_round_trip_with_headers_and_template() {
    let Some(server) = Server::start() else {
        return;
    };
    let sub = server.spawn_until(
        &["sub", "test.rt", "--count", "2"],
        "Subscribing on test.rt",
    );
    let out = server.weir(&[
        "pub",
        "test.rt",
        "hello {{Count}}",
        "-H",
        "X-Test:yes",
        "--count",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Published 2 messages"));
    let (ok, stdout) = finish(sub, Duration::from_secs(10));
    assert!(ok);
    assert!(
        stdout.contains("[#1] Received on \"test.rt\"\nX-Test: yes\n\nhello 1\n"),
        "{stdout}"
    );
    assert!(stdout.contains("[#2] Received on \"test.rt\""), "{stdout}");
    assert!(stdout.contains("hello 2"), "{stdout}");
}

#[test]
fn sub_shows_reply_subject_and_raw_mode() {
    let Some(server) = Server::start() else {
        return;
    };
    let sub = server.spawn_until(&["sub", "test.raw", "--count", "1", "--raw"], "Subscribing");
    let out = server.weir(&["pub", "test.raw", "just the body", "--reply", "answers"]);
    assert!(out.status.success());
    let (ok, stdout) = finish(sub, Duration::from_secs(10));
    assert!(ok);
    assert_eq!(stdout, "just the body\n");

    let sub = server.spawn_until(&["sub", "test.reply", "--count", "1"], "Subscribing");
    let out = server.weir(&["pub", "test.reply", "x", "--reply", "answers"]);
    assert!(out.status.success());
    let (_, stdout) = finish(sub, Duration::from_secs(10));
    assert!(
        stdout.contains("Received on \"test.reply\" with reply \"answers\""),
        "{stdout}"
    );
}

#[test]
fn request_reply_and_no_responders() {
    let Some(server) = Server::start() else {
        return;
    };
    let replier = server.spawn_until(
        &["reply", "svc.time", "pong {{Count}}", "--count", "1"],
        "Listening on",
    );
    let out = server.weir(&["req", "svc.time", "ping", "--raw"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "pong 1\n");
    let (ok, stdout) = finish(replier, Duration::from_secs(10));
    assert!(ok);
    assert!(stdout.contains("ping"), "{stdout}");

    let echo = server.spawn_until(
        &["reply", "svc.echo", "--echo", "--count", "1"],
        "Listening on",
    );
    let reply = server.weir_json(&["req", "svc.echo", "echo me", "-H", "K:v"]);
    assert_eq!(reply["data"], "echo me");
    assert_eq!(reply["headers"][0], serde_json::json!(["K", "v"]));
    finish(echo, Duration::from_secs(10));

    let out = server.weir(&["req", "nobody.home", "hi"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no responders are available for nobody.home"),
        "{stderr}"
    );
}

#[test]
fn server_info_json_parses() {
    let Some(server) = Server::start() else {
        return;
    };
    let info = server.weir_json(&["server", "info"]);
    assert!(
        info["version"].as_str().is_some_and(|v| !v.is_empty()),
        "{info}"
    );
    assert!(
        info["server_id"].as_str().is_some_and(|v| !v.is_empty()),
        "{info}"
    );
    assert!(
        info["max_payload"].as_u64().is_some_and(|v| v > 0),
        "{info}"
    );
    assert_eq!(info["headers"], Value::Bool(true));

    let out = server.weir(&["server", "info"]);
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("Max payload") && table.contains("Version"),
        "{table}"
    );
}

#[test]
fn tiny_pubsub_bench_reports_every_message() {
    let Some(server) = Server::start() else {
        return;
    };
    for client in ["nats", "raw"] {
        let summary = server.weir_json(&[
            "bench",
            "pubsub",
            "bench.tiny",
            "--pub",
            "2",
            "--sub",
            "2",
            "--msgs",
            "1000",
            "--client",
            client,
        ]);
        assert_eq!(summary["complete"], Value::Bool(true), "{summary}");
        assert_eq!(summary["lost_msgs"], 0, "{summary}");
        assert_eq!(summary["received_msgs"], 2000, "{summary}");
        assert_eq!(summary["publishers"]["msgs"], 1000, "{summary}");
        assert_eq!(summary["subscribers"]["msgs"], 2000, "{summary}");
        assert_eq!(summary["subscribers"]["bytes"], 2000 * 128, "{summary}");
        assert!(summary["overall"]["msgs_per_sec"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn tiny_request_bench_records_latencies() {
    let Some(server) = Server::start() else {
        return;
    };
    let summary = server.weir_json(&[
        "bench",
        "request",
        "bench.req",
        "--clients",
        "2",
        "--msgs",
        "200",
        "--warmup",
        "5",
    ]);
    assert_eq!(summary["completed"], 200, "{summary}");
    assert_eq!(summary["errors"], 0, "{summary}");
    let p50 = summary["latency"]["p50_us"].as_f64().unwrap();
    let max = summary["latency"]["max_us"].as_f64().unwrap();
    assert!(p50 > 0.0 && max >= p50, "{summary}");

    let out = server.weir(&[
        "bench",
        "request",
        "bench.none",
        "--no-reply",
        "--msgs",
        "5",
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("weir reply bench.none --echo"));
}

#[test]
fn conns_and_subs_benches_report_server_memory() {
    let Some(server) = Server::start() else {
        return;
    };
    let pid = server.pid().to_string();
    let conns = server.weir_json(&["bench", "conns", "--count", "50", "--pid", &pid]);
    assert_eq!(conns["connected"], 50, "{conns}");
    assert_eq!(conns["failed"], 0, "{conns}");
    assert!(
        conns["server_memory"]["rss_after_bytes"].as_u64().unwrap() > 0,
        "{conns}"
    );

    let subs = server.weir_json(&[
        "bench", "subs", "--count", "2000", "--pid", &pid, "--hold", "1",
    ]);
    assert_eq!(subs["subscriptions"], 2000, "{subs}");
    assert_eq!(subs["still_open_after_hold"], Value::Bool(true), "{subs}");
    assert!(
        subs["server_memory"]["rss_before_bytes"].as_u64().unwrap() > 0,
        "{subs}"
    );
}

#[test]
fn tiny_js_pub_bench_acks_and_stores_every_message() {
    let server = Server::start_js();
    let runs: [&[&str]; 4] = [
        &["--client", "nats", "--storage", "file", "--mode", "async"],
        &[
            "--client",
            "raw",
            "--storage",
            "file",
            "--mode",
            "async",
            "--pubs",
            "2",
        ],
        &["--client", "raw", "--storage", "memory", "--mode", "sync"],
        &[
            "--client",
            "nats",
            "--storage",
            "memory",
            "--mode",
            "sync",
            "--subjects",
            "7",
        ],
    ];
    for (i, extra) in runs.iter().enumerate() {
        let stream = format!("TINY{i}");
        let subject = format!("js.tiny{i}");
        let summary = server.weir_json(
            &[
                &[
                    "bench", "js", "pub", &subject, "--stream", &stream, "--msgs", "300",
                ][..],
                &["--size", "64", "--window", "16", "--recreate"][..],
                extra,
            ]
            .concat(),
        );
        assert_eq!(
            summary["complete"],
            Value::Bool(true),
            "{extra:?}: {summary}"
        );
        assert_eq!(summary["acked_msgs"], 300, "{extra:?}: {summary}");
        assert_eq!(summary["ack_errors"], 0, "{extra:?}: {summary}");
        assert_eq!(summary["stored_msgs"], 300, "{extra:?}: {summary}");
        assert_eq!(
            summary["stream_after"]["messages"], 300,
            "{extra:?}: {summary}"
        );
        assert_eq!(
            summary["publishers"]["bytes"],
            300 * 64,
            "{extra:?}: {summary}"
        );
        assert!(
            summary["ack_latency"]["p50_us"].as_f64().unwrap() > 0.0,
            "{extra:?}: {summary}"
        );
    }
    // Publishing again without --recreate or --purge adds to the stream; the check counts
    // only this run's messages.
    let again = server.weir_json(&[
        "bench", "js", "pub", "js.tiny0", "--stream", "TINY0", "--msgs", "50", "--client", "raw",
    ]);
    assert_eq!(again["stream_before"]["messages"], 300, "{again}");
    assert_eq!(again["stored_msgs"], 50, "{again}");
    let purged = server.weir_json(&[
        "bench", "js", "pub", "js.tiny0", "--stream", "TINY0", "--msgs", "10", "--purge",
    ]);
    assert_eq!(purged["stream_before"]["messages"], 0, "{purged}");
    assert_eq!(purged["stream_after"]["messages"], 10, "{purged}");
}

#[test]
fn js_bench_without_jetstream_fails_cleanly() {
    let Some(server) = Server::start() else {
        return;
    };
    let out = server.weir(&["bench", "js", "pub", "js.off", "--msgs", "5"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("JetStream"), "{stderr}");
}

#[test]
fn unreachable_server_error_names_the_fix() {
    let port = free_port();
    let out = Command::new(WEIR)
        .args(["-s", &format!("nats://127.0.0.1:{port}"), "pub", "x", "y"])
        .stdin(Stdio::null())
        .output()
        .expect("cannot run weir");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot connect to nats://127.0.0.1:{port}: connection refused"
        )),
        "{stderr}"
    );
    assert!(stderr.contains("weir-server -js"), "{stderr}");
}

#[test]
fn bad_flags_fail_without_panicking() {
    for args in [
        &["pub", "x", "y", "-H", "no-colon"][..],
        &["--timeout", "soon", "pub", "x"][..],
        &["bench", "pubsub", "x", "--pub", "0", "--sub", "0"][..],
        &["bench", "js", "pub", "x", "--window", "0"][..],
        &["bench", "js", "pub", "x", "--purge", "--recreate"][..],
        &["bench", "js", "pub", "x", "--storage", "tape"][..],
    ] {
        let out = Command::new(WEIR)
            .args(["-s", "nats://127.0.0.1:1"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run weir");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// The reference nats-server (`NATS_SERVER_BIN`, else /usr/sbin/nats-server) with JetStream,
/// or None when it is not installed.
///
/// The consumer benchmark tests run against it, not the in-process weir-server: Weir does not
/// serve consumers yet. `consumer_bench_on_weir_runs_or_says_consumers_are_not_served`
/// covers Weir and becomes a full check once it does.
fn reference_js_server() -> Option<Server> {
    let bin = std::env::var_os("NATS_SERVER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/sbin/nats-server"));
    if !bin.exists() {
        eprintln!(
            "skipping: no reference nats-server at {} (set NATS_SERVER_BIN)",
            bin.display()
        );
        return None;
    }
    let dir = std::env::temp_dir().join(format!(
        "weir-cli-consume-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("create the store dir");
    let mut server = Server::spawn_with(bin, &["-js", "-sd", dir.to_str().expect("utf-8 dir")]);
    server.store_dir = Some(dir);
    Some(server)
}

/// Checks one consumer run of a consumer bench's JSON.
fn assert_drained(run: &Value, msgs: u64, pending: u64, what: &str) {
    assert_eq!(run["complete"], Value::Bool(true), "{what}: {run}");
    assert_eq!(run["received_msgs"], msgs, "{what}: {run}");
    assert_eq!(run["errors"], 0, "{what}: {run}");
    assert_eq!(run["consumer"]["msgs"], msgs, "{what}: {run}");
    assert!(
        run["consumer"]["msgs_per_sec"].as_f64().unwrap() > 0.0,
        "{what}: {run}"
    );
    if let Some(state) = run.get("consumer_state") {
        assert_eq!(state["delivered_msgs"], msgs, "{what}: {run}");
        assert_eq!(state["num_pending"], pending, "{what}: {run}");
        assert_eq!(state["num_ack_pending"], 0, "{what}: {run}");
    }
}

#[test]
fn tiny_js_consumer_benches_drain_every_message() {
    let Some(server) = reference_js_server() else {
        return;
    };
    let common = [
        "--msgs", "300", "--size", "32", "--stream", "TINYC", "--settle", "0",
    ];
    let runs: [&[&str]; 11] = [
        &[
            "fetch", "--batch", "100", "--ack", "explicit", "--client", "nats",
        ],
        &["consume", "--batch", "50", "--ack", "explicit"],
        &["consume", "--ack", "none", "--storage", "memory"],
        &[
            "fetch", "--batch", "7", "--ack", "explicit", "--client", "raw",
        ],
        &[
            "fetch",
            "--batch",
            "1000",
            "--ack",
            "none",
            "--client",
            "raw",
            "--storage",
            "memory",
        ],
        &[
            "fetch",
            "--batch",
            "100",
            "--ack",
            "none",
            "--client",
            "nats",
            "--storage",
            "memory",
        ],
        &["push", "--ack", "explicit", "--client", "raw"],
        &[
            "push",
            "--ack",
            "none",
            "--client",
            "nats",
            "--storage",
            "memory",
        ],
        &[
            "push",
            "--ack",
            "explicit",
            "--client",
            "nats",
            "--max-ack-pending",
            "50",
        ],
        &["ordered", "--kind", "pull"],
        &["ordered", "--kind", "push", "--storage", "memory"],
    ];
    for extra in runs {
        let summary = server.weir_json(&[&["bench", "js"][..], extra, &common[..]].concat());
        assert_drained(&summary, 300, 0, &format!("{extra:?}"));
        assert_eq!(summary["fill"]["msgs"], 300, "{extra:?}: {summary}");
        assert_eq!(
            summary["consumer"]["bytes"],
            300 * 32,
            "{extra:?}: {summary}"
        );
        assert_eq!(summary["bench"], format!("js-{}", extra[0]), "{summary}");
        if extra[0] == "ordered" {
            assert_eq!(summary["out_of_order"], 0, "{extra:?}: {summary}");
            assert!(summary.get("consumer_state").is_none(), "{summary}");
        } else {
            assert!(summary.get("consumer_state").is_some(), "{summary}");
        }
    }
    // The stream is deleted after each run unless --keep.
    let info = server.weir(&["req", "$JS.API.STREAM.INFO.TINYC", ""]);
    assert!(
        String::from_utf8_lossy(&info.stdout).contains("stream not found"),
        "{}",
        String::from_utf8_lossy(&info.stdout)
    );

    // Human output names the rate and the server's view.
    let out = server.weir(&[&["bench", "js", "fetch", "--no-progress"][..], &common[..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("msgs/sec") && text.contains("received 300 of 300"),
        "{text}"
    );
}

#[test]
fn tiny_js_filtered_bench_compares_filtered_and_unfiltered() {
    let Some(server) = reference_js_server() else {
        return;
    };
    for extra in [
        &["--client", "raw"][..],
        &["--client", "nats", "--ack", "explicit", "--batch", "9"][..],
    ] {
        let summary = server.weir_json(
            &[
                &[
                    "bench",
                    "js",
                    "filtered",
                    "--subjects",
                    "500",
                    "--per-subject",
                    "2",
                ][..],
                &[
                    "--msgs",
                    "40",
                    "--size",
                    "16",
                    "--storage",
                    "memory",
                    "--settle",
                    "0",
                ][..],
                extra,
            ]
            .concat(),
        );
        assert_eq!(
            summary["complete"],
            Value::Bool(true),
            "{extra:?}: {summary}"
        );
        assert_eq!(summary["stream_msgs"], 1040, "{summary}");
        assert_eq!(summary["fill"]["msgs"], 1040, "{summary}");
        assert_eq!(summary["hot_subject"], "js.consume.hot", "{summary}");
        assert_drained(&summary["unfiltered"], 40, 1000, "unfiltered");
        assert_drained(&summary["filtered"], 40, 0, "filtered");
        assert!(summary["ratio"].as_f64().unwrap() > 0.0, "{summary}");
        assert_eq!(summary["target_ratio"], 0.5, "{summary}");
    }
}

#[test]
fn consumer_bench_on_weir_runs_or_says_consumers_are_not_served() {
    let server = Server::start_js();
    let out = server.weir(&[
        "--json", "bench", "js", "fetch", "--msgs", "50", "--client", "raw", "--settle", "0",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if out.status.success() {
        let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
        assert_drained(&summary, 50, 0, "fetch on weir");
    } else {
        assert!(
            stderr.contains("does not serve JetStream consumers"),
            "{stderr}"
        );
    }
}

#[test]
fn consumer_benches_without_jetstream_say_how_to_enable_it() {
    let Some(server) = Server::start() else {
        return;
    };
    for bench in ["fetch", "push", "ordered", "filtered"] {
        let out = server.weir(&["bench", "js", bench, "--msgs", "5"]);
        assert!(!out.status.success(), "{bench}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "JetStream is not enabled on the server at {}: start it with -js",
                server.url
            )),
            "{bench}: {stderr}"
        );
    }
}

#[test]
fn bad_consumer_bench_flags_fail_without_panicking() {
    for args in [
        &["bench", "js", "fetch", "--batch", "0"][..],
        &["bench", "js", "fetch", "--ack", "all"][..],
        &["bench", "js", "fetch", "--max-ack-pending", "0"][..],
        &["bench", "js", "push", "--msgs", "0"][..],
        &["bench", "js", "ordered", "--kind", "sideways"][..],
        &["bench", "js", "filtered", "--subjects", "0"][..],
        &["bench", "js", "filtered", "--subject", "a.*"][..],
    ] {
        let out = Command::new(WEIR)
            .args(["-s", "nats://127.0.0.1:1"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("cannot run weir");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("cannot connect"),
            "{args:?} must fail before connecting: {stderr}"
        );
    }
}

#[test]
fn tiny_kv_benches_complete_every_operation() {
    let server = Server::start_js();
    for (op, clients) in [("put", "1"), ("put", "3"), ("get", "2")] {
        let summary = server.weir_json(&[
            "bench",
            "kv",
            op,
            "--ops",
            "200",
            "--keys",
            "50",
            "--clients",
            clients,
            "--size",
            "16",
        ]);
        assert_eq!(summary["bench"], format!("kv-{op}"), "{summary}");
        assert_eq!(summary["completed"], 200, "{summary}");
        assert_eq!(
            (summary["missing"].as_u64(), summary["errors"].as_u64()),
            (Some(0), Some(0))
        );
        assert_eq!(summary["complete"], true, "{summary}");
        assert!(summary["ops_per_sec"].as_f64().unwrap() > 0.0, "{summary}");
    }
    // `bench js kv` is the same bench; --pid adds the server's CPU time per operation.
    let pid = server.pid().to_string();
    let summary = server.weir_json(&[
        "bench", "js", "kv", "get", "--ops", "100", "--keys", "10", "--pid", &pid,
    ]);
    assert_eq!(summary["complete"], true, "{summary}");
    assert!(
        summary["server_cpu_us_per_op"]
            .as_f64()
            .is_some_and(|us| us >= 0.0),
        "{summary}"
    );
    let scale = server.weir_json(&[
        "bench",
        "kv",
        "scale",
        "--keys",
        "500",
        "--sample",
        "20",
        "--storage",
        "memory",
    ]);
    assert_eq!(scale["complete"], true, "{scale}");
    assert_eq!(scale["keys_listing"]["count"], 500, "{scale}");
    assert_eq!(scale["watch_replay"]["count"], 500, "{scale}");
    assert_eq!(scale["stream"]["messages"], 500, "{scale}");
}
