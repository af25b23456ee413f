//! Key-Value conventions through a second official client: the Python `nats-py` package.
//!
//! Starts the server with JetStream (Weir in-process, or the reference with
//! `WEIR_TEST_TARGET=nats-server`) and runs `tests/py/kv_conventions.py <url>` as a child
//! process: it drives nats-py's KV API (buckets, put/get/create/update/delete/purge, history,
//! keys, watchers, status) and reads what it wrote back through the raw stream API
//! (`$JS.API.STREAM.MSG.GET`, `$JS.API.DIRECT.GET` on `KV_<bucket>`). The script exits 0 when
//! every check holds and prints what it expected and what it got otherwise.
//!
//! Needs `python3` with nats-py, pinned to the version CI installs:
//!
//! ```text
//! python3 -m pip install nats-py==2.16.0
//! ```
//!
//! Without them the test prints a skip note and passes, unless `WEIR_REQUIRE_PY` is set (CI
//! sets it), in which case it fails with the install command. The script can also be run by
//! hand against any server: `python3 crates/server/tests/py/kv_conventions.py nats://HOST:PORT`
//! (add `--server-2.9` for nats-server 2.9.x).

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{js_options, TempDir, TestServer};
use tokio::process::Command;

/// The nats-py release CI installs (`.ci/run`); keep the two in step.
const NATS_PY_VERSION: &str = "2.16.0";
/// Bound for the whole Python run (the script bounds itself at 90 s too).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// Bound for the `python3 -c "import nats"` probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/kv_conventions.py")
}

fn install_hint() -> String {
    format!("python3 -m pip install nats-py=={NATS_PY_VERSION}")
}

/// Checks that `python3` runs and imports nats-py. Returns its version, or why not.
async fn probe_python() -> Result<String, String> {
    let probe = Command::new("python3")
        .args([
            "-c",
            "import nats.js.kv, importlib.metadata as m; print(m.version('nats-py'))",
        ])
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Err(_) => Err(format!(
            "`python3 -c 'import nats'` took over {PROBE_TIMEOUT:?}"
        )),
        Ok(Err(e)) => Err(format!("python3 could not be run: {e}")),
        Ok(Ok(out)) if !out.status.success() => Err(format!(
            "python3 cannot import nats-py ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(Ok(out)) => Ok(String::from_utf8_lossy(&out.stdout).trim().to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_conventions_through_nats_py() {
    let version = match probe_python().await {
        Ok(v) => v,
        Err(why) => {
            if std::env::var_os("WEIR_REQUIRE_PY").is_some() {
                panic!(
                    "WEIR_REQUIRE_PY is set but {why}; install it with: {}",
                    install_hint()
                );
            }
            eprintln!(
                "SKIPPED kv_conventions_through_nats_py: {why}. Install with: {} \
                 (set WEIR_REQUIRE_PY=1 to make this a failure)",
                install_hint()
            );
            return;
        }
    };
    if version != NATS_PY_VERSION {
        eprintln!("note: nats-py {version} is installed; CI pins {NATS_PY_VERSION}");
    }

    let store = TempDir::new();
    let server = TestServer::start(js_options(&store.path().join("jetstream"))).await;
    let mut cmd = Command::new("python3");
    cmd.arg(script()).arg(server.url());
    if server.is_reference() {
        // The reference in CI is nats-server 2.9.10; the script gates 2.10+ checks on this.
        cmd.arg("--server-2.9");
        // Reference only until Weir matches (see the script's doc): nats-server's file store
        // counts 22 + subject + headers + data + 8 bytes per message, Weir + 16.
        cmd.arg("--check-file-store-bytes");
    }
    let started = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn python3");
    let out = match tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output()).await {
        Ok(out) => out.expect("wait for python3"),
        Err(_) => panic!("kv_conventions.py did not finish within {SCRIPT_TIMEOUT:?}"),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "kv_conventions.py (nats-py {version}) failed with {} after {:?}\n--- stdout\n{stdout}\
         --- stderr\n{stderr}",
        out.status,
        started.elapsed()
    );
    println!(
        "nats-py {version}, {:?}: {}",
        started.elapsed(),
        stdout.trim()
    );
    if !stderr.trim().is_empty() {
        println!("stderr:\n{stderr}");
    }
}
