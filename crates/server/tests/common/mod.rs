//! Shared harness for the integration tests: one `TestServer` that is either Weir (in-process)
//! or the reference `nats-server` binary (a child process), and `RawConn`, a byte-level client
//! for checking the wire protocol exactly.
//!
//! Target selection: `WEIR_TEST_TARGET` unset or `weir` runs Weir in-process; `nats-server`
//! spawns the binary named by `WEIR_REFERENCE_BIN`, else `nats-server` from `PATH`
//! (falling back to `/usr/sbin/nats-server`).
//!
//! Every wait here is bounded by a timeout; nothing sleeps waiting for a condition.

// Each test binary compiles this module separately and uses only part of it.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener as StdTcpListener, TcpStream as StdTcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_server::Options;

/// Default bound for one read or write in `RawConn`.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound for a server to come up.
const START_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Weir,
    Reference,
}

/// The target chosen by `WEIR_TEST_TARGET`.
pub fn target() -> Target {
    match std::env::var("WEIR_TEST_TARGET") {
        Err(_) => Target::Weir,
        Ok(v) => match v.trim() {
            "" | "weir" => Target::Weir,
            "nats-server" | "reference" => Target::Reference,
            other => panic!("WEIR_TEST_TARGET={other:?}: expected `weir` or `nats-server`"),
        },
    }
}

/// Options for a test server on loopback with an ephemeral port; tweak the rest per test.
pub fn test_options() -> Options {
    Options {
        host: "127.0.0.1".to_string(),
        port: 0,
        ..Options::default()
    }
}

/// `timeout` that panics with a message naming what was awaited.
pub async fn within<F: std::future::Future>(dur: Duration, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(dur, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {dur:?} waiting for {what}"),
    }
}

// ---------------------------------------------------------------------------------------------
// TestServer
// ---------------------------------------------------------------------------------------------

enum Running {
    Weir(weir_server::ServerHandle),
    Reference(Child),
    Stopped,
}

pub struct TestServer {
    target: Target,
    opts: Options,
    addr: SocketAddr,
    running: Running,
    /// Temp dir holding the reference server's config and log (reference only).
    dir: Option<PathBuf>,
    /// The monitoring HTTP address, when `opts.http_port` asked for one.
    monitor: Option<SocketAddr>,
}

impl TestServer {
    /// Starts the selected target with `opts` (host and port are forced to 127.0.0.1 and an
    /// ephemeral/free port). Returns once the server accepts connections.
    pub async fn start(opts: Options) -> TestServer {
        let mut opts = opts;
        opts.host = "127.0.0.1".to_string();
        match target() {
            Target::Weir => {
                opts.port = 0;
                if opts.http_port.is_some() {
                    opts.http_port = Some(0);
                }
                let handle = weir_server::Server::start(opts.clone())
                    .await
                    .expect("weir server failed to start");
                let addr = handle.client_addr();
                let monitor = handle.monitor_addr();
                TestServer {
                    target: Target::Weir,
                    opts,
                    addr,
                    running: Running::Weir(handle),
                    dir: None,
                    monitor,
                }
            }
            Target::Reference => {
                let dir = unique_temp_dir();
                // A free port can be taken by someone else between our probe and the child's
                // bind; retry a few times with a fresh port.
                let mut last_err = String::new();
                for _ in 0..5 {
                    let port = free_port();
                    if opts.http_port.is_some() {
                        opts.http_port = Some(free_port());
                    }
                    match spawn_reference(&opts, &dir, port) {
                        Ok(child) => {
                            opts.port = port;
                            let monitor = opts
                                .http_port
                                .map(|p| SocketAddr::from(([127, 0, 0, 1], p)));
                            return TestServer {
                                target: Target::Reference,
                                opts,
                                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                                running: Running::Reference(child),
                                dir: Some(dir),
                                monitor,
                            };
                        }
                        Err(e) => last_err = e,
                    }
                }
                panic!("reference nats-server did not start: {last_err}");
            }
        }
    }

    pub fn is_reference(&self) -> bool {
        self.target == Target::Reference
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// `http://HOST:PORT` of the monitoring listener (start with `opts.http_port = Some(0)`).
    pub fn monitor_url(&self) -> String {
        let addr = self
            .monitor
            .expect("start the server with opts.http_port = Some(0) to monitor it");
        format!("http://{addr}")
    }

    /// Stops the server and starts it again on the same port with the same options.
    pub async fn restart(&mut self) {
        let port = self.addr.port();
        let running = std::mem::replace(&mut self.running, Running::Stopped);
        match running {
            Running::Weir(handle) => {
                handle.shutdown().await;
                let mut opts = self.opts.clone();
                opts.port = port;
                // The port was just released; a bind can still race with the OS for a moment,
                // so retry a bounded number of times.
                let deadline = Instant::now() + START_TIMEOUT;
                let handle = loop {
                    match weir_server::Server::start(opts.clone()).await {
                        Ok(h) => break h,
                        Err(e) if Instant::now() < deadline => {
                            eprintln!("restart: {e}; retrying");
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                        Err(e) => panic!("weir server failed to restart on port {port}: {e}"),
                    }
                };
                assert_eq!(
                    handle.client_addr().port(),
                    port,
                    "restart changed the port"
                );
                self.monitor = handle.monitor_addr();
                self.running = Running::Weir(handle);
            }
            Running::Reference(mut child) => {
                kill_child(&mut child);
                let dir = self.dir.clone().expect("reference has a temp dir");
                let deadline = Instant::now() + START_TIMEOUT;
                let child = loop {
                    match spawn_reference(&self.opts, &dir, port) {
                        Ok(c) => break c,
                        Err(e) if Instant::now() < deadline => {
                            eprintln!("restart: {e}; retrying");
                        }
                        Err(e) => panic!("reference failed to restart on port {port}: {e}"),
                    }
                };
                self.running = Running::Reference(child);
            }
            Running::Stopped => panic!("restart of a stopped server"),
        }
    }

    /// Reloads the server with new options, as SIGHUP does: in process for Weir; for the
    /// reference, a rewritten config file and SIGHUP, then a bounded wait for its log to say
    /// the reload happened.
    pub async fn reload(&mut self, mut opts: Options) {
        opts.host = self.opts.host.clone();
        opts.port = self.opts.port;
        opts.http_port = self.opts.http_port;
        match &self.running {
            Running::Weir(handle) => {
                handle.reload(opts.clone()).expect("reload accepted");
            }
            Running::Reference(child) => {
                let dir = self.dir.clone().expect("reference has a temp dir");
                let log_path = dir.join("nats-server.log");
                let before = std::fs::read_to_string(&log_path).unwrap_or_default();
                let reloads_before = before.matches("Reloaded server configuration").count();
                std::fs::write(
                    dir.join("nats-server.conf"),
                    reference_config(&opts, opts.port, &log_path),
                )
                .expect("rewrite reference config");
                let pid = child.id().to_string();
                let status = Command::new("kill")
                    .args(["-HUP", &pid])
                    .status()
                    .expect("run kill");
                assert!(status.success(), "kill -HUP {pid}");
                let deadline = Instant::now() + START_TIMEOUT;
                loop {
                    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                    if log.matches("Reloaded server configuration").count() > reloads_before {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "reference did not reload:\n{log}"
                    );
                    // Poll interval of a bounded wait for the reference's log.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            Running::Stopped => panic!("reload of a stopped server"),
        }
        self.opts = opts;
    }

    /// Resident set size, in bytes, of the process hosting the server: this test process for
    /// Weir (in-process), the child for the reference.
    pub fn server_rss_bytes(&self) -> u64 {
        let path = match &self.running {
            Running::Reference(child) => format!("/proc/{}/status", child.id()),
            _ => "/proc/self/status".to_string(),
        };
        read_vm_rss(Path::new(&path))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Running::Reference(child) = &mut self.running {
            kill_child(child);
        }
        // A Weir server dies with the test's runtime.
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn read_vm_rss(path: &Path) -> u64 {
    let status = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS line in /proc status");
    let kb: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmRSS value");
    kb * 1024
}

fn kill_child(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn unique_temp_dir() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!(
        "weir-itest-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    ));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

fn free_port() -> u16 {
    let l = StdTcpListener::bind("127.0.0.1:0").expect("bind ephemeral port");
    l.local_addr().expect("local addr").port()
}

fn reference_bin() -> PathBuf {
    if let Ok(p) = std::env::var("WEIR_REFERENCE_BIN") {
        return PathBuf::from(p);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join("nats-server");
            if p.is_file() {
                return p;
            }
        }
    }
    PathBuf::from("/usr/sbin/nats-server")
}

fn go_duration(d: Duration) -> String {
    format!("\"{}ms\"", d.as_millis().max(1))
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("string to json")
}

/// The nats-server config reflecting the `Options` the tests care about.
pub fn reference_config(opts: &Options, port: u16, log: &Path) -> String {
    let mut c = String::new();
    c.push_str(&format!("listen: \"127.0.0.1:{port}\"\n"));
    c.push_str(&format!(
        "log_file: {}\n",
        quote(&log.display().to_string())
    ));
    if let Some(http_port) = opts.http_port {
        c.push_str(&format!("http: \"127.0.0.1:{http_port}\"\n"));
    }
    c.push_str(&format!("max_payload: {}\n", opts.max_payload_bytes));
    c.push_str(&format!(
        "max_control_line: {}\n",
        opts.max_control_line_bytes
    ));
    c.push_str(&format!("max_connections: {}\n", opts.max_connections));
    if opts.max_subscriptions > 0 {
        c.push_str(&format!("max_subscriptions: {}\n", opts.max_subscriptions));
    }
    c.push_str(&format!("max_pending: {}\n", opts.max_pending_bytes));
    c.push_str(&format!(
        "ping_interval: {}\n",
        go_duration(opts.ping_interval)
    ));
    c.push_str(&format!("ping_max: {}\n", opts.ping_max));
    c.push_str(&format!(
        "write_deadline: {}\n",
        go_duration(opts.write_deadline)
    ));
    c.push_str(&reference_authorization(opts));
    if opts.jetstream {
        // Each test gives its own store dir; without one, a dir beside the log (per test).
        let store = match &opts.store_dir {
            Some(d) => d.clone(),
            None => log.with_file_name("jetstream"),
        };
        c.push_str(&format!(
            "jetstream {{\n  store_dir: {}\n}}\n",
            quote(&store.display().to_string())
        ));
    }
    c
}

/// The `authorization` block (and `no_auth_user`) in nats-server's syntax.
fn reference_authorization(opts: &Options) -> String {
    let a = &opts.authorization;
    let mut c = String::new();
    if let Some(name) = &opts.no_auth_user {
        c.push_str(&format!("no_auth_user: {}\n", quote(name)));
    }
    c.push_str(&reference_accounts(opts));
    let global_users: Vec<&weir_server::UserConfig> =
        a.users.iter().filter(|u| u.account.is_none()).collect();
    if a.user.is_none() && a.password.is_none() && a.token.is_none() && global_users.is_empty() {
        return c;
    }
    c.push_str("authorization {\n");
    if let Some(u) = &a.user {
        c.push_str(&format!("  user: {}\n", quote(u)));
    }
    if let Some(p) = &a.password {
        c.push_str(&format!("  password: {}\n", quote(p)));
    }
    if let Some(t) = &a.token {
        c.push_str(&format!("  token: {}\n", quote(t)));
    }
    if let Some(p) = &a.default_permissions {
        c.push_str(&format!(
            "  default_permissions: {}\n",
            reference_permissions(p)
        ));
    }
    if !global_users.is_empty() {
        c.push_str("  users: [\n");
        for u in global_users {
            c.push_str(&format!("    {}\n", reference_user(u)));
        }
        c.push_str("  ]\n");
    }
    // nats-server takes the auth timeout in (fractional) seconds.
    c.push_str(&format!("  timeout: {}\n", opts.auth_timeout.as_secs_f64()));
    c.push_str("}\n");
    c
}

fn reference_user(u: &weir_server::UserConfig) -> String {
    let mut fields = Vec::new();
    if let Some(name) = &u.user {
        fields.push(format!("user: {}", quote(name)));
    }
    if let Some(p) = &u.password {
        fields.push(format!("password: {}", quote(p)));
    }
    if let Some(k) = &u.nkey {
        fields.push(format!("nkey: {}", quote(k)));
    }
    if let Some(p) = &u.permissions {
        fields.push(format!("permissions: {}", reference_permissions(p)));
    }
    format!("{{ {} }}", fields.join(", "))
}

/// The `accounts` block, with each account's users, JetStream limits, exports and imports.
fn reference_accounts(opts: &Options) -> String {
    use weir_server::ExportKind;
    if opts.accounts.is_empty() {
        return String::new();
    }
    let kind = |k: ExportKind| match k {
        ExportKind::Stream => "stream",
        ExportKind::Service => "service",
    };
    let mut c = String::from("accounts {\n");
    for account in &opts.accounts {
        c.push_str(&format!("  {}: {{\n", account.name));
        let users: Vec<String> = opts
            .authorization
            .users
            .iter()
            .filter(|u| u.account.as_deref() == Some(account.name.as_str()))
            .map(reference_user)
            .collect();
        if !users.is_empty() {
            c.push_str(&format!("    users: [{}]\n", users.join(", ")));
        }
        if let Some(js) = &account.jetstream {
            let mut limits = Vec::new();
            let mut limit = |name: &str, v: Option<u64>| {
                if let Some(v) = v {
                    limits.push(format!("{name}: {v}"));
                }
            };
            limit("max_mem", js.max_memory_bytes);
            limit("max_file", js.max_store_bytes);
            limit("max_streams", js.max_streams);
            limit("max_consumers", js.max_consumers);
            if limits.is_empty() {
                c.push_str("    jetstream: enabled\n");
            } else {
                c.push_str(&format!("    jetstream: {{ {} }}\n", limits.join(", ")));
            }
        }
        if !account.exports.is_empty() {
            let exports: Vec<String> = account
                .exports
                .iter()
                .map(|e| {
                    let mut text = format!("{}: {}", kind(e.kind), quote(&e.subject));
                    if !e.accounts.is_empty() {
                        text.push_str(&format!(", accounts: [{}]", e.accounts.join(", ")));
                    }
                    format!("{{ {text} }}")
                })
                .collect();
            c.push_str(&format!("    exports: [{}]\n", exports.join(", ")));
        }
        if !account.imports.is_empty() {
            let imports: Vec<String> = account
                .imports
                .iter()
                .map(|i| {
                    let mut text = format!(
                        "{}: {{ account: {}, subject: {} }}",
                        kind(i.kind),
                        i.account,
                        quote(&i.subject)
                    );
                    if let Some(p) = &i.prefix {
                        text.push_str(&format!(", prefix: {}", quote(p)));
                    }
                    if let Some(t) = &i.to {
                        text.push_str(&format!(", to: {}", quote(t)));
                    }
                    format!("{{ {text} }}")
                })
                .collect();
            c.push_str(&format!("    imports: [{}]\n", imports.join(", ")));
        }
        c.push_str("  }\n");
    }
    c.push_str("}\n");
    c
}

fn reference_permissions(p: &weir_server::PermissionsConfig) -> String {
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
        format!("[{}]", quoted.join(", "))
    };
    let rules = |r: &weir_server::SubjectRules| {
        let mut parts = Vec::new();
        if let Some(allow) = &r.allow {
            parts.push(format!("allow: {}", list(allow)));
        }
        if !r.deny.is_empty() {
            parts.push(format!("deny: {}", list(&r.deny)));
        }
        format!("{{ {} }}", parts.join(", "))
    };
    let mut parts = Vec::new();
    if let Some(r) = &p.publish {
        parts.push(format!("publish: {}", rules(r)));
    }
    if let Some(r) = &p.subscribe {
        parts.push(format!("subscribe: {}", rules(r)));
    }
    if let Some(r) = &p.allow_responses {
        parts.push(format!(
            "allow_responses: {{ max: {}, expires: {} }}",
            r.max,
            go_duration(r.expires)
        ));
    }
    format!("{{ {} }}", parts.join(", "))
}

/// Spawns the reference on `port` and waits (bounded) until it accepts a TCP connection.
fn spawn_reference(opts: &Options, dir: &Path, port: u16) -> Result<Child, String> {
    let conf_path = dir.join("nats-server.conf");
    let log_path = dir.join("nats-server.log");
    std::fs::write(&conf_path, reference_config(opts, port, &log_path))
        .map_err(|e| format!("write config: {e}"))?;
    let bin = reference_bin();
    let mut child = Command::new(&bin)
        .arg("-c")
        .arg(&conf_path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(format!("nats-server exited with {status}; log:\n{log}"));
        }
        if StdTcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(child);
        }
        if Instant::now() >= deadline {
            kill_child(&mut child);
            return Err(format!(
                "nats-server not accepting on {addr} after {START_TIMEOUT:?}"
            ));
        }
        // Short poll interval of a bounded readiness loop.
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------------
// RawConn
// ---------------------------------------------------------------------------------------------

/// One operation the server sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerOp {
    Info(String),
    Msg {
        subject: String,
        sid: String,
        reply: Option<String>,
        payload: Vec<u8>,
    },
    HMsg {
        subject: String,
        sid: String,
        reply: Option<String>,
        headers: Vec<u8>,
        payload: Vec<u8>,
    },
    Ping,
    Pong,
    Ok,
    /// The full text after `-ERR ` (quotes included), e.g. `'Unknown Protocol Operation'`.
    Err(String),
}

/// How a connection ended, as seen by the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    Eof,
    Reset,
}

/// A byte-level client. Every read is bounded by a timeout.
pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// The INFO line the server greeted with (without `INFO ` and CRLF), if read.
    pub info: Option<serde_json::Value>,
    pub timeout: Duration,
}

impl RawConn {
    /// Connects and reads the server's INFO.
    pub async fn connect(addr: SocketAddr) -> RawConn {
        let mut c = RawConn::connect_no_info(addr).await;
        c.read_info().await;
        c
    }

    /// Connects without reading anything.
    pub async fn connect_no_info(addr: SocketAddr) -> RawConn {
        let stream = within(IO_TIMEOUT, "TCP connect", TcpStream::connect(addr))
            .await
            .expect("TCP connect");
        stream.set_nodelay(true).expect("nodelay");
        RawConn::from_stream(stream)
    }

    pub fn from_stream(stream: TcpStream) -> RawConn {
        RawConn {
            stream,
            buf: Vec::new(),
            info: None,
            timeout: IO_TIMEOUT,
        }
    }

    /// Connects, reads INFO, sends `connect_json` as CONNECT and round-trips a PING.
    pub async fn connect_with(addr: SocketAddr, connect_json: &str) -> RawConn {
        let mut c = RawConn::connect(addr).await;
        c.send(format!("CONNECT {connect_json}\r\nPING\r\n").as_bytes())
            .await;
        c.expect_line_eq("PONG").await;
        c
    }

    /// `connect_with` using `{"verbose":false}`.
    pub async fn connect_quiet(addr: SocketAddr) -> RawConn {
        RawConn::connect_with(addr, r#"{"verbose":false}"#).await
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.stream.local_addr().expect("local addr")
    }

    pub fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    pub async fn read_info(&mut self) -> serde_json::Value {
        let line = self.expect_line().await;
        let json = line
            .strip_prefix("INFO ")
            .unwrap_or_else(|| panic!("expected INFO, got {line:?}"));
        let v: serde_json::Value = serde_json::from_str(json.trim())
            .unwrap_or_else(|e| panic!("INFO is not JSON ({e}): {json:?}"));
        self.info = Some(v.clone());
        v
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        within(self.timeout, "write", self.stream.write_all(bytes))
            .await
            .unwrap_or_else(|e| panic!("write failed: {e}"));
    }

    /// Reads more bytes into the buffer. Ok(0) on EOF.
    async fn fill(&mut self, deadline: tokio::time::Instant, what: &str) -> std::io::Result<usize> {
        let mut chunk = [0u8; 64 * 1024];
        let n = match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
            Ok(r) => r?,
            Err(_) => panic!(
                "timed out waiting for {what}; buffered so far: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        };
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads one CRLF-terminated line (without the CRLF).
    pub async fn expect_line(&mut self) -> String {
        self.expect_line_within(self.timeout).await
    }

    pub async fn expect_line_within(&mut self, dur: Duration) -> String {
        let deadline = tokio::time::Instant::now() + dur;
        loop {
            if let Some(pos) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..pos + 2).take(pos).collect();
                return String::from_utf8_lossy(&line).into_owned();
            }
            match self.fill(deadline, "a line").await {
                Ok(0) => panic!(
                    "connection closed while waiting for a line; buffered: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Ok(_) => {}
                Err(e) => panic!("read error while waiting for a line: {e}"),
            }
        }
    }

    pub async fn expect_line_eq(&mut self, expected: &str) {
        let line = self.expect_line().await;
        assert_eq!(line, expected, "unexpected line from server");
    }

    /// Reads exactly `expected.len()` bytes and compares them byte for byte.
    pub async fn expect_bytes(&mut self, expected: &[u8]) {
        let deadline = tokio::time::Instant::now() + self.timeout;
        while self.buf.len() < expected.len() {
            match self.fill(deadline, "exact bytes").await {
                Ok(0) => panic!(
                    "connection closed; expected {:?}, got {:?}",
                    String::from_utf8_lossy(expected),
                    String::from_utf8_lossy(&self.buf)
                ),
                Ok(_) => {}
                Err(e) => panic!("read error: {e}"),
            }
        }
        let got: Vec<u8> = self.buf.drain(..expected.len()).collect();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected),
            "bytes differ"
        );
    }

    /// Reads until the buffered input contains `needle`; returns everything up to and
    /// including it.
    pub async fn read_until_contains(&mut self, needle: &[u8]) -> Vec<u8> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        loop {
            if let Some(pos) = find(&self.buf, needle) {
                return self.buf.drain(..pos + needle.len()).collect();
            }
            match self.fill(deadline, "expected bytes").await {
                Ok(0) => panic!(
                    "connection closed before {:?}; buffered: {:?}",
                    String::from_utf8_lossy(needle),
                    String::from_utf8_lossy(&self.buf)
                ),
                Ok(_) => {}
                Err(e) => panic!("read error: {e}"),
            }
        }
    }

    /// Reads until the server closes the connection; returns whatever arrived before.
    pub async fn expect_closed(&mut self) -> Vec<u8> {
        self.expect_closed_within(self.timeout).await.0
    }

    pub async fn expect_closed_within(&mut self, dur: Duration) -> (Vec<u8>, Closed) {
        let deadline = tokio::time::Instant::now() + dur;
        loop {
            match self
                .fill(deadline, "the server to close the connection")
                .await
            {
                Ok(0) => return (std::mem::take(&mut self.buf), Closed::Eof),
                Ok(_) => {}
                Err(e) if is_reset(&e) => return (std::mem::take(&mut self.buf), Closed::Reset),
                Err(e) => panic!("read error while waiting for close: {e}"),
            }
        }
    }

    /// Asserts the next thing the server sends is `line` and then it closes the connection
    /// without sending anything else.
    pub async fn expect_line_then_closed(&mut self, line: &str) {
        self.expect_line_eq(line).await;
        let rest = self.expect_closed().await;
        assert!(
            rest.is_empty(),
            "server sent more after {line:?} before closing: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }

    /// Asserts the connection is still usable: PING gets PONG as the very next line.
    pub async fn expect_open(&mut self) {
        self.send(b"PING\r\n").await;
        self.expect_line_eq("PONG").await;
    }

    /// Reads one complete server operation.
    pub async fn next_op(&mut self) -> ServerOp {
        self.next_op_within(self.timeout).await
    }

    pub async fn next_op_within(&mut self, dur: Duration) -> ServerOp {
        let deadline = tokio::time::Instant::now() + dur;
        loop {
            match parse_op(&self.buf) {
                Parsed::Op(op, used) => {
                    self.buf.drain(..used);
                    return op;
                }
                Parsed::Invalid(why) => panic!(
                    "server sent an invalid operation ({why}): {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Parsed::Incomplete => {}
            }
            match self.fill(deadline, "a server operation").await {
                Ok(0) => panic!(
                    "connection closed while waiting for an operation; buffered: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
                Ok(_) => {}
                Err(e) => panic!("read error: {e}"),
            }
        }
    }
}

pub fn is_reset(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe
    )
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub enum Parsed {
    Op(ServerOp, usize),
    Incomplete,
    Invalid(String),
}

/// Parses one server operation from the front of `buf`.
pub fn parse_op(buf: &[u8]) -> Parsed {
    let Some(eol) = find(buf, b"\r\n") else {
        return Parsed::Incomplete;
    };
    let line = String::from_utf8_lossy(&buf[..eol]).into_owned();
    let after = eol + 2;
    let (verb, rest) = match line.split_once(' ') {
        Some((v, r)) => (v, r),
        None => (line.as_str(), ""),
    };
    match verb {
        "PING" => Parsed::Op(ServerOp::Ping, after),
        "PONG" => Parsed::Op(ServerOp::Pong, after),
        "+OK" => Parsed::Op(ServerOp::Ok, after),
        "-ERR" => Parsed::Op(ServerOp::Err(rest.to_string()), after),
        "INFO" => Parsed::Op(ServerOp::Info(rest.to_string()), after),
        "MSG" | "HMSG" => {
            let args: Vec<&str> = rest.split(' ').collect();
            let hmsg = verb == "HMSG";
            let (subject, sid, reply, hlen, tlen) = match (hmsg, args.as_slice()) {
                (false, [s, i, n]) => (*s, *i, None, "0", *n),
                (false, [s, i, r, n]) => (*s, *i, Some(*r), "0", *n),
                (true, [s, i, h, n]) => (*s, *i, None, *h, *n),
                (true, [s, i, r, h, n]) => (*s, *i, Some(*r), *h, *n),
                _ => return Parsed::Invalid(format!("bad {verb} args {rest:?}")),
            };
            let (Ok(hlen), Ok(tlen)) = (hlen.parse::<usize>(), tlen.parse::<usize>()) else {
                return Parsed::Invalid(format!("bad {verb} sizes {rest:?}"));
            };
            if hlen > tlen {
                return Parsed::Invalid(format!("header size > total size: {rest:?}"));
            }
            if buf.len() < after + tlen + 2 {
                return Parsed::Incomplete;
            }
            if &buf[after + tlen..after + tlen + 2] != b"\r\n" {
                return Parsed::Invalid(format!("payload of {verb} not followed by CRLF"));
            }
            let body = &buf[after..after + tlen];
            let op = if hmsg {
                ServerOp::HMsg {
                    subject: subject.to_string(),
                    sid: sid.to_string(),
                    reply: reply.map(str::to_string),
                    headers: body[..hlen].to_vec(),
                    payload: body[hlen..].to_vec(),
                }
            } else {
                ServerOp::Msg {
                    subject: subject.to_string(),
                    sid: sid.to_string(),
                    reply: reply.map(str::to_string),
                    payload: body.to_vec(),
                }
            };
            Parsed::Op(op, after + tlen + 2)
        }
        _ => Parsed::Invalid(format!("unknown operation {line:?}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Kernel view of TCP connections (Linux), to see a server-side close without reading.
// ---------------------------------------------------------------------------------------------

fn proc_net_addr(addr: SocketAddr) -> Option<String> {
    match addr {
        // /proc/net/tcp prints the IPv4 address as the in-memory u32 in hex, port in hex.
        SocketAddr::V4(a) => Some(format!(
            "{:08X}:{:04X}",
            u32::from_ne_bytes(a.ip().octets()),
            a.port()
        )),
        SocketAddr::V6(_) => None,
    }
}

/// The TCP state (as the hex code in /proc/net/tcp, "01" = ESTABLISHED) of the socket whose
/// local end is `local` and remote end is `remote`, or None if the kernel has no such socket.
pub fn tcp_state(local: SocketAddr, remote: SocketAddr) -> Option<String> {
    let (l, r) = (proc_net_addr(local)?, proc_net_addr(remote)?);
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        (f.len() > 3 && f[1] == l && f[2] == r).then(|| f[3].to_string())
    })
}

// ---------------------------------------------------------------------------------------------
// async-nats helpers
// ---------------------------------------------------------------------------------------------

/// A full round trip through the server for `client`: once it returns, the server has processed
/// every operation the client sent before, and the client has received every message the server
/// sent it before that. (async-nats' `flush` only flushes the socket, it does not PING.)
/// Needs echo; for a `no_echo` client go through a second client.
pub async fn round_trip(client: &async_nats::Client) {
    use futures::StreamExt;
    let subject = client.new_inbox();
    let mut sub = client
        .subscribe(subject.clone())
        .await
        .expect("round trip subscribe");
    client
        .publish(subject, "sync".into())
        .await
        .expect("round trip publish");
    within(
        IO_TIMEOUT * 2,
        "a round trip through the server",
        sub.next(),
    )
    .await
    .expect("round trip subscription ended");
}

/// The next message already queued in `sub`, without waiting. Immune to tokio's cooperative
/// budget, which would otherwise report Pending after ~128 ready polls.
pub fn try_next(sub: &mut async_nats::Subscriber) -> Option<async_nats::Message> {
    use futures::{FutureExt, StreamExt};
    tokio::task::unconstrained(sub.next())
        .now_or_never()
        .flatten()
}

// ---------------------------------------------------------------------------------------------
// JetStream: per-test store dirs, and the server binary as a child process (for crash tests)
// ---------------------------------------------------------------------------------------------

/// A fresh directory under the system temp dir, removed (with its contents) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        TempDir {
            path: unique_temp_dir(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// `test_options()` with JetStream on, storing in `store_dir` (give each test its own).
pub fn js_options(store_dir: &Path) -> Options {
    Options {
        jetstream: true,
        store_dir: Some(store_dir.to_path_buf()),
        ..test_options()
    }
}

/// The server binary a `ServerProcess` runs for the selected target: this package's
/// `weir-server` for Weir, the reference `nats-server` otherwise.
pub fn server_bin() -> PathBuf {
    match target() {
        Target::Weir => PathBuf::from(env!("CARGO_BIN_EXE_weir-server")),
        Target::Reference => reference_bin(),
    }
}

/// A server binary run as a child process with `-js -sd DIR -p PORT -a 127.0.0.1`, so that it
/// can be killed with SIGKILL and restarted on the same store dir and port. Its stdout and
/// stderr go to `server.log` in a temp dir of its own.
pub struct ServerProcess {
    bin: PathBuf,
    target: Target,
    store_dir: PathBuf,
    port: u16,
    child: Option<Child>,
    log_dir: TempDir,
    /// How many times it was started (the log of each start is appended).
    pub starts: u32,
}

impl ServerProcess {
    /// Starts the selected target's binary with JetStream storing in `store_dir`.
    pub fn start_js(store_dir: &Path) -> ServerProcess {
        ServerProcess::start_bin(server_bin(), target(), store_dir)
    }

    pub fn start_bin(bin: PathBuf, target: Target, store_dir: &Path) -> ServerProcess {
        let mut last_err = String::new();
        for _ in 0..5 {
            let mut p = ServerProcess {
                bin: bin.clone(),
                target,
                store_dir: store_dir.to_path_buf(),
                port: free_port(),
                child: None,
                log_dir: TempDir::new(),
                starts: 0,
            };
            match p.spawn() {
                Ok(()) => return p,
                Err(e) => last_err = e,
            }
        }
        panic!("{} did not start: {last_err}", bin.display());
    }

    pub fn is_reference(&self) -> bool {
        self.target == Target::Reference
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn url(&self) -> String {
        format!("nats://{}", self.addr())
    }

    pub fn store_dir(&self) -> &Path {
        &self.store_dir
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log_path(&self) -> PathBuf {
        self.log_dir.path().join("server.log")
    }

    /// The server's log so far (every start).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("open log: {e}"))?;
        let log2 = log.try_clone().map_err(|e| format!("clone log: {e}"))?;
        let mut child = Command::new(&self.bin)
            .arg("-js")
            .arg("-sd")
            .arg(&self.store_dir)
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-a")
            .arg("127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log2))
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", self.bin.display()))?;
        self.starts += 1;
        let addr = self.addr();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "{} exited with {status}; log:\n{}",
                    self.bin.display(),
                    self.log()
                ));
            }
            if StdTcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                kill_child(&mut child);
                return Err(format!(
                    "{} not accepting on {addr} after {START_TIMEOUT:?}",
                    self.bin.display()
                ));
            }
            // Short poll interval of a bounded readiness loop.
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGKILL (`Child::kill`), then reaps the process.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_child(&mut child);
        }
    }

    /// Starts the binary again on the same store dir and port (after `kill9`, or kills first).
    pub fn restart(&mut self) {
        self.kill9();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.spawn() {
                Ok(()) => return,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("restart: {e}; retrying");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("restart on port {} failed: {e}", self.port),
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `GET url` (plain `http://HOST:PORT/path?query`) over HTTP/1.0, so the answer is never
/// chunked; returns the status code and the body. Bounded by 10 s.
pub async fn http_get(url: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    within(Duration::from_secs(10), &format!("GET {url}"), async {
        let mut stream = tokio::net::TcpStream::connect(host)
            .await
            .unwrap_or_else(|e| panic!("connect to {host}: {e}"));
        let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("send");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.expect("read");
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP header end in {text:?}"));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("no status in {head:?}"));
        (status, body.to_string())
    })
    .await
}

/// `http_get` of a JSON endpoint: the status and the parsed body.
pub async fn http_json(url: &str) -> (u16, serde_json::Value) {
    let (status, body) = http_get(url).await;
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("GET {url} answered invalid JSON ({e}): {body}"));
    (status, json)
}
