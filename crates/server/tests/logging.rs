//! The server binary's log file: size-based rotation (`logfile_size_limit`), pruning
//! (`logfile_max_num`), JSON lines (`--log-json`), `-D`, and SIGUSR1 reopening; and SIGHUP
//! reloading limits and authorization from the edited config file. Rotation
//! runs on both targets (`WEIR_TEST_TARGET=nats-server`); pruning, JSON and reopen are
//! checked on Weir only (2.9.10 has no `logfile_max_num`, and no JSON logs at all).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{server_bin, Target, TempDir};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// Every file in `dir` whose name starts with `base`, sorted.
fn log_files(dir: &Path, base: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(base))
        .collect();
    names.sort();
    names
}

fn all_text(dir: &Path, base: &str) -> String {
    log_files(dir, base)
        .iter()
        .map(|n| std::fs::read_to_string(dir.join(n)).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("")
}

struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name}");
    }

    /// SIGTERM, then a bounded wait for the exit.
    fn stop(mut self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "server did not exit on SIGTERM");
            // Short poll interval of a bounded wait for the process to exit.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Starts `bin -c <conf> <extra…>` and waits (bounded) until the logs in `dir` say it is ready.
fn start(conf: &Path, extra: &[&str], dir: &Path, base: &str) -> Running {
    let bin = server_bin();
    let child = Command::new(&bin)
        .arg("-c")
        .arg(conf)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
    let running = Running { child };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !all_text(dir, base).contains("Server is ready") {
        assert!(
            Instant::now() < deadline,
            "no \"Server is ready\" in the logs:\n{}",
            all_text(dir, base)
        );
        // Short poll interval of a bounded readiness wait.
        std::thread::sleep(Duration::from_millis(10));
    }
    running
}

fn write_conf(dir: &Path, log: &Path, extra: &str) -> PathBuf {
    let conf = dir.join("server.conf");
    let text = format!(
        "listen: \"127.0.0.1:{}\"\nlog_file: {}\n{extra}\n",
        free_port(),
        serde_json::to_string(&log.display().to_string()).expect("json string")
    );
    std::fs::write(&conf, text).expect("write conf");
    conf
}

fn is_backup_of(name: &str, base: &str) -> bool {
    name.strip_prefix(base)
        .and_then(|s| s.strip_prefix('.'))
        .is_some_and(|stamp| {
            let groups: Vec<&str> = stamp.split('.').collect();
            groups.len() == 7
                && groups
                    .iter()
                    .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[test]
fn the_log_file_rotates_at_the_size_limit() {
    let dir = TempDir::new();
    let log = dir.path().join("server.log");
    let conf = write_conf(dir.path(), &log, "logfile_size_limit: 200");
    let server = start(&conf, &[], dir.path(), "server.log");
    server.stop();
    let names = log_files(dir.path(), "server.log");
    let backups: Vec<&String> = names.iter().filter(|n| *n != "server.log").collect();
    assert!(backups.len() >= 2, "expected rotations: {names:?}");
    for b in &backups {
        assert!(is_backup_of(b, "server.log"), "backup name {b}");
        let len = std::fs::metadata(dir.path().join(b)).expect("stat").len();
        assert!(len > 200, "{b} rotated before the limit: {len} bytes");
    }
    let active = std::fs::read_to_string(&log).expect("active log");
    assert!(
        active
            .lines()
            .next()
            .is_some_and(|l| l.contains("[INF] Rotated log, backup saved as \"")),
        "{active}"
    );
}

#[test]
fn old_backups_are_pruned_to_logfile_max_num() {
    if common::target() == Target::Reference {
        return; // logfile_max_num arrived in nats-server 2.10.
    }
    let dir = TempDir::new();
    let log = dir.path().join("server.log");
    let conf = write_conf(
        dir.path(),
        &log,
        "logfile_size_limit: 200\nlogfile_max_num: 2",
    );
    let server = start(&conf, &[], dir.path(), "server.log");
    server.stop();
    let names = log_files(dir.path(), "server.log");
    assert_eq!(names.len(), 2, "active plus one backup: {names:?}");
    let text = all_text(dir.path(), "server.log");
    assert!(
        text.contains("[INF] Purged log file \"server.log."),
        "{text}"
    );
}

#[test]
fn debug_lines_only_with_dash_d() {
    for (flags, debug) in [(&[][..], false), (&["-D"][..], true), (&["-DV"][..], true)] {
        let dir = TempDir::new();
        let log = dir.path().join("server.log");
        let conf = write_conf(dir.path(), &log, "");
        start(&conf, flags, dir.path(), "server.log").stop();
        let text = std::fs::read_to_string(&log).expect("read log");
        assert_eq!(text.contains("[DBG] "), debug, "{flags:?}:\n{text}");
    }
}

/// `-V` traces each client operation as nats-server does, with CONNECT's password redacted.
#[test]
fn dash_v_traces_client_operations_without_credentials() {
    use std::io::{BufRead, BufReader, Write};
    for (flags, traced) in [(&[][..], false), (&["-V"][..], true)] {
        let dir = TempDir::new();
        let log = dir.path().join("server.log");
        let conf = write_conf(dir.path(), &log, "");
        let running = start(&conf, flags, dir.path(), "server.log");
        let conf_text = std::fs::read_to_string(&conf).expect("read conf");
        let addr = conf_text
            .split('"')
            .nth(1)
            .expect("the listen address in the config")
            .to_string();
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
            .write_all(
                b"CONNECT {\"verbose\":false,\"user\":\"u\",\"pass\":\"s3cret\"}\r\n\
                  SUB foo 1\r\nPUB foo 5\r\nhello\r\nPING\r\n",
            )
            .expect("send");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        while !line.starts_with("PONG") {
            line.clear();
            let n = reader.read_line(&mut line).expect("read until PONG");
            assert!(n > 0, "closed before PONG");
        }
        drop(reader);
        running.stop();
        let text = std::fs::read_to_string(&log).expect("read log");
        assert!(
            !text.contains("s3cret"),
            "{flags:?}: a password in the log:\n{text}"
        );
        for expected in [
            "- <<- [SUB foo 1]",
            "- <<- [PUB foo 5]",
            r#"- <<- MSG_PAYLOAD: ["hello"]"#,
            "- ->> [MSG foo 1 5]",
            "- ->> [PONG]",
            r#"<<- [CONNECT {"verbose":false,"user":"u","pass":"[REDACTED]"}]"#,
        ] {
            assert_eq!(
                text.contains(expected),
                traced,
                "{flags:?} {expected}:\n{text}"
            );
        }
    }
}

#[test]
fn log_json_writes_one_json_object_per_line() {
    if common::target() == Target::Reference {
        return; // A Weir extension.
    }
    let dir = TempDir::new();
    let log = dir.path().join("server.log");
    let conf = write_conf(dir.path(), &log, "logfile_size_limit: 1000");
    let server = start(&conf, &["--log-json"], dir.path(), "server.log");
    server.stop();
    let names = log_files(dir.path(), "server.log");
    assert!(names.len() >= 2, "rotated: {names:?}");
    let mut messages = Vec::new();
    for name in &names {
        let text = std::fs::read_to_string(dir.path().join(name)).expect("read");
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {line}"));
            assert!(v["level"].is_string(), "{line}");
            let message = v["message"].as_str().expect("message").to_string();
            messages.push(message);
        }
    }
    assert!(
        messages.iter().any(|m| m == "Server is ready"),
        "{messages:?}"
    );
    assert!(messages
        .iter()
        .any(|m| m.starts_with("Rotated log, backup saved as")));

    // The config file's spelling too.
    let dir = TempDir::new();
    let log = dir.path().join("server.log");
    let conf = write_conf(dir.path(), &log, "log_json: true");
    start(&conf, &[], dir.path(), "server.log").stop();
    let text = std::fs::read_to_string(&log).expect("read");
    assert!(text
        .lines()
        .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
}

#[test]
fn sigusr1_reopens_a_renamed_log_file() {
    if common::target() == Target::Reference {
        return; // Same on nats-server; kept to Weir to keep the reference run short.
    }
    let dir = TempDir::new();
    let log = dir.path().join("server.log");
    let conf = write_conf(dir.path(), &log, "");
    let server = start(&conf, &[], dir.path(), "server.log");
    // What logrotate does: move the file away, then ask for a reopen.
    std::fs::rename(&log, dir.path().join("moved.log")).expect("rename");
    server.signal("USR1");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("File log re-opened")) {
        assert!(Instant::now() < deadline, "no new log file after SIGUSR1");
        // Short poll interval of a bounded wait.
        std::thread::sleep(Duration::from_millis(10));
    }
    server.stop();
    let fresh = std::fs::read_to_string(&log).expect("new log");
    assert!(fresh.contains("Server Exiting"), "{fresh}");
}

/// Reads one CRLF line from a blocking socket (bounded by its read timeout).
fn read_line(reader: &mut impl std::io::BufRead) -> String {
    let mut line = String::new();
    reader.read_line(&mut line).expect("read a line");
    line.trim_end().to_string()
}

#[test]
fn sighup_reloads_limits_and_authorization() {
    use std::io::{BufReader, Write};
    let dir = TempDir::new();
    let log = dir.path().join("server.log");
    let users = |names: &str| format!("authorization {{ users: [{names}] }}");
    let conf = write_conf(
        dir.path(),
        &log,
        &users("{user: alice, password: pw}, {user: bob, password: pw}"),
    );
    let running = start(&conf, &[], dir.path(), "server.log");
    let text = std::fs::read_to_string(&conf).expect("read conf");
    let addr = text.split('"').nth(1).expect("listen address").to_string();
    let connect = |user: &str| {
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let info = read_line(&mut reader);
        let connect = format!(
            "CONNECT {{\"verbose\":false,\"user\":\"{user}\",\"pass\":\"pw\"}}\r\nPING\r\n"
        );
        stream.write_all(connect.as_bytes()).expect("send");
        assert_eq!(read_line(&mut reader), "PONG", "{user} connects");
        (stream, reader, info)
    };
    let (_alice, _, info) = connect("alice");
    assert!(info.contains("\"max_payload\":1048576"), "{info}");
    let (_bob, mut bob_reader, _) = connect("bob");

    // Lower max_payload, remove bob, and reload.
    let edited = text.replace(
        &users("{user: alice, password: pw}, {user: bob, password: pw}"),
        &format!(
            "max_payload: 1024\n{}",
            users("{user: alice, password: pw}")
        ),
    );
    std::fs::write(&conf, edited).expect("edit conf");
    running.signal("HUP");

    // bob is closed; a new connection sees the new limit.
    let mut rest = String::new();
    let n = std::io::Read::read_to_string(&mut bob_reader, &mut rest).expect("bob closed");
    assert_eq!((n, rest.as_str()), (0, ""), "bob closed without a word");
    let (_alice2, _, info) = connect("alice");
    assert!(info.contains("\"max_payload\":1024"), "{info}");

    // A reload that changes an option needing a restart changes nothing and says why.
    let text = std::fs::read_to_string(&conf).expect("read conf");
    let moved = text.replacen("listen: \"127.0.0.1:", "listen: \"127.0.0.2:", 1);
    std::fs::write(&conf, moved).expect("edit conf");
    running.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !all_text(dir.path(), "server.log")
        .contains("config reload not supported for Host: old=127.0.0.1, new=127.0.0.2")
    {
        assert!(
            Instant::now() < deadline,
            "no reload error in the log:\n{}",
            all_text(dir.path(), "server.log")
        );
        // Short poll interval of a bounded wait for the log line.
        std::thread::sleep(Duration::from_millis(10));
    }
    let (_alice3, _, info) = connect("alice");
    assert!(
        info.contains("\"max_payload\":1024"),
        "still the last good config: {info}"
    );
    running.stop();
}
