//! The harness the CLI's end-to-end tests share: a server under test (weir-server in
//! process, or the binary named by `NATS_SERVER_BIN`, e.g. the reference nats-server) and
//! bounded runs of the built `weir` binary against it.
#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use async_nats::jetstream;
use serde_json::Value;

pub const WEIR: &str = env!("CARGO_BIN_EXE_weir");
/// Every wait in these tests ends by this long.
pub const LIMIT: Duration = Duration::from_secs(30);

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "weir-kvobj-{label}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("create a temp dir");
    dir
}

/// Runs `child` to completion within `limit`, killing it past that.
pub fn wait_bounded(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(output) => output.expect("wait for weir"),
        Err(_) => {
            // SAFETY: plain kill(2) of the child this test started.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            panic!("process {pid} did not exit within {limit:?}");
        }
    }
}

/// A server under test, stopped (and its store removed) on drop.
pub struct Server {
    backend: Backend,
    pub url: String,
    store_dir: PathBuf,
    /// True for weir-server, whose features the tests may rely on beyond nats-server 2.9's.
    pub is_weir: bool,
}

pub enum Backend {
    /// The runtime serving the in-process server; dropping it stops the server.
    InProcess(Option<tokio::runtime::Runtime>),
    Process(Child),
}

impl Server {
    pub fn start(jetstream: bool) -> Server {
        let store_dir = temp_dir("store");
        match std::env::var_os("NATS_SERVER_BIN") {
            Some(bin) => Self::spawn(PathBuf::from(bin), jetstream, store_dir),
            None => Self::in_process(jetstream, store_dir),
        }
    }

    pub fn start_js() -> Server {
        Self::start(true)
    }

    pub fn in_process(jetstream: bool, store_dir: PathBuf) -> Server {
        Self::in_process_with(jetstream, store_dir, |_| {})
    }

    /// weir-server in process with options `configure` adjusts (authorization, limits, …).
    pub fn in_process_with(
        jetstream: bool,
        store_dir: PathBuf,
        configure: impl FnOnce(&mut weir_server::Options),
    ) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let mut opts = weir_server::Options {
            host: "127.0.0.1".to_string(),
            port: 0,
            jetstream,
            store_dir: Some(store_dir.clone()),
            ..weir_server::Options::default()
        };
        configure(&mut opts);
        let handle = runtime
            .block_on(weir_server::Server::start(opts))
            .expect("weir-server starts");
        let url = format!("nats://{}", handle.client_addr());
        // Dropping the runtime ends every server task; the handle is not needed.
        drop(handle);
        Server {
            backend: Backend::InProcess(Some(runtime)),
            url,
            store_dir,
            is_weir: true,
        }
    }

    /// Spawns a server binary and waits (bounded) for the "Server is ready" log line.
    pub fn spawn(bin: PathBuf, jetstream: bool, store_dir: PathBuf) -> Server {
        let port = free_port();
        let mut command = Command::new(&bin);
        command.args(["-a", "127.0.0.1", "-p", &port.to_string()]);
        if jetstream {
            command.args(["-js", "-sd", store_dir.to_str().expect("utf-8 dir")]);
        }
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        if !wait_for_stderr(&mut child, "Server is ready") {
            panic!("{} never said it was ready", bin.display());
        }
        Server {
            backend: Backend::Process(child),
            url: format!("nats://127.0.0.1:{port}"),
            store_dir,
            is_weir: false,
        }
    }

    /// The id of the process serving: this test process for the in-process server.
    pub fn pid(&self) -> u32 {
        match &self.backend {
            Backend::InProcess(_) => std::process::id(),
            Backend::Process(child) => child.id(),
        }
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(WEIR);
        command.args(["-s", &self.url]).args(args);
        command
    }

    /// Runs weir with `args` (stdin empty, not a terminal).
    pub fn weir(&self, args: &[&str]) -> Output {
        let child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run weir");
        wait_bounded(child, LIMIT)
    }

    /// Runs weir with `input` on stdin.
    pub fn weir_stdin(&self, args: &[&str], input: &[u8]) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run weir");
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let input = input.to_vec();
        let writer = thread::spawn(move || stdin.write_all(&input));
        let output = wait_bounded(child, LIMIT);
        writer.join().expect("stdin writer").expect("write stdin");
        output
    }

    /// Runs weir and returns its stdout, failing the test if it failed.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.weir(args);
        assert!(
            out.status.success(),
            "weir {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs weir expecting failure and returns its stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.weir(args);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(!out.status.success(), "weir {args:?} should fail: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        stderr
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let text = self.ok(&[&["--json"], args].concat());
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("weir {args:?} printed invalid JSON ({e}): {text}"))
    }

    /// Starts a long-running weir command and waits until its stderr contains `ready`.
    pub fn spawn_until(&self, args: &[&str], ready: &str) -> Child {
        let mut child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run weir");
        if !wait_for_stderr(&mut child, ready) {
            panic!("weir {args:?} never printed {ready:?}");
        }
        child
    }

    /// Runs `check` with a JetStream context on this server, bounded by [`LIMIT`].
    pub fn with_js<T>(&self, check: impl AsyncFnOnce(jetstream::Context) -> T) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async {
            tokio::time::timeout(LIMIT, async {
                let client = async_nats::connect(&self.url).await.expect("connect");
                check(jetstream::new(client)).await
            })
            .await
            .expect("server check timed out")
        })
    }
}

/// Reads `child`'s stderr (on a thread, bounded by [`LIMIT`]) until a line contains `ready`;
/// kills the child and returns false if none does.
fn wait_for_stderr(child: &mut Child, ready: &str) -> bool {
    let stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    loop {
        match rx.recv_timeout(LIMIT) {
            Ok(line) if line.contains(ready) => return true,
            Ok(_) => {}
            Err(_) => {
                let _ = child.kill();
                return false;
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
        let _ = std::fs::remove_dir_all(&self.store_dir);
    }
}
