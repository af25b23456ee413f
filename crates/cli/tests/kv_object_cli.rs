//! End-to-end tests of `weir kv` and `weir object`: the built `weir` binary against a real
//! server, checking what it prints (for people and as JSON) and, through async-nats, what it
//! left on the server.
//!
//! Each test starts its own weir-server in-process with JetStream on an ephemeral port. Set
//! `NATS_SERVER_BIN` to run them against another binary instead (e.g. the reference
//! nats-server); checks of features that server lacks are then skipped.

use std::io::Read;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::{temp_dir, wait_bounded, Server, LIMIT, WEIR};

/// Collects a finished watch's stdout within the limit.
fn watch_output(child: Child) -> String {
    let out = wait_bounded(child, LIMIT);
    assert!(
        out.status.success(),
        "watch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn kv_bucket_add_info_ls_and_rm() {
    let server = Server::start_js();
    let added = server.ok(&[
        "kv",
        "add",
        "ORDERS",
        "--history",
        "5",
        "--ttl",
        "1h",
        "--max-value-size",
        "1KiB",
        "--max-bucket-size",
        "1GiB",
        "--storage",
        "memory",
        "--description",
        "orders by id",
        "--metadata",
        "owner=ops",
        "--republish-destination",
        "repub.orders.>",
    ]);
    assert!(
        added.starts_with("Information for Key-Value Store Bucket ORDERS created "),
        "{added}"
    );
    for row in [
        "History Kept",
        "Maximum Value Size    ┆ 1.00 KiB",
        "Maximum Bucket Size   ┆ 1.00 GiB",
        "Maximum Age           ┆ 1h",
        "Storage               ┆ memory",
        "orders by id",
        "$KV.ORDERS.> to repub.orders.>",
    ] {
        assert!(added.contains(row), "missing {row:?} in:\n{added}");
    }

    let info = server.json(&["kv", "info", "ORDERS"]);
    assert_eq!(info["bucket"], "ORDERS", "{info}");
    assert_eq!(info["history"], 5, "{info}");
    assert_eq!(info["ttl_seconds"], 3600, "{info}");
    assert_eq!(info["max_value_size"], 1024, "{info}");
    assert_eq!(info["max_bucket_size"], 1u64 << 30, "{info}");
    assert_eq!(info["storage"], "memory", "{info}");
    assert_eq!(info["values"], 0, "{info}");
    if server.is_weir {
        assert_eq!(info["metadata"]["owner"], "ops", "{info}");
    }

    // The server holds the stream the official clients would have made.
    let config = server.with_js(async |js| {
        js.get_stream("KV_ORDERS")
            .await
            .expect("the bucket's stream exists")
            .cached_info()
            .config
            .clone()
    });
    assert_eq!(config.subjects, ["$KV.ORDERS.>"]);
    assert_eq!(config.max_messages_per_subject, 5);
    assert_eq!(config.max_age, Duration::from_secs(3600));
    assert_eq!(config.max_message_size, 1024);
    assert_eq!(config.max_bytes, 1 << 30);
    assert!(config.allow_rollup && config.deny_delete && config.allow_direct);
    assert_eq!(
        config.republish.map(|r| r.destination),
        Some("repub.orders.>".to_string())
    );

    server.ok(&["kv", "add", "USERS"]);
    let listed = server.ok(&["kv", "ls"]);
    assert!(listed.starts_with("Key-Value Buckets"), "{listed}");
    assert!(
        listed.contains("ORDERS") && listed.contains("USERS"),
        "{listed}"
    );
    let mut names: Vec<String> = server
        .ok(&["kv", "ls", "--names"])
        .lines()
        .map(str::to_string)
        .collect();
    names.sort();
    assert_eq!(names, ["ORDERS", "USERS"]);
    let listed = server.json(&["kv", "ls"]);
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");

    // Same name, other settings: refused with the way out.
    let err = server.fails(&["kv", "add", "ORDERS", "--history", "2"]);
    assert!(
        err.contains("already exists with another configuration"),
        "{err}"
    );

    // Deleting a bucket needs --force when nobody can be asked.
    let err = server.fails(&["kv", "rm", "USERS"]);
    assert!(
        err.contains(
            "refusing to delete bucket USERS and all its keys without confirmation: pass --force"
        ),
        "{err}"
    );
    assert_eq!(
        server.ok(&["kv", "rm", "USERS", "--force"]),
        "Deleted bucket USERS\n"
    );
    let gone = server.with_js(async |js| js.get_stream("KV_USERS").await.is_err());
    assert!(gone, "KV_USERS still exists");
    assert_eq!(server.ok(&["kv", "ls", "--names"]), "ORDERS\n");
}

#[test]
fn kv_put_get_update_delete_purge_and_history() {
    let server = Server::start_js();
    server.ok(&["kv", "add", "CFG", "--history", "10"]);

    // put prints the value, as `nats kv put` does; --json gives the revision.
    assert_eq!(
        server.ok(&["kv", "put", "CFG", "app.color", "red"]),
        "red\n"
    );
    let put = server.json(&["kv", "put", "CFG", "app.color", "green"]);
    assert_eq!(put["revision"], 2, "{put}");
    let piped = server.weir_stdin(&["kv", "put", "CFG", "app.logo"], &[0, 159, 146, 150]);
    assert!(piped.status.success(), "{piped:?}");

    let shown = server.ok(&["kv", "get", "CFG", "app.color"]);
    assert!(
        shown.starts_with("CFG > app.color revision: 2 created @ "),
        "{shown}"
    );
    assert!(shown.ends_with("\n\ngreen\n\n"), "{shown}");
    let old = server.json(&["kv", "get", "CFG", "app.color", "--revision", "1"]);
    assert_eq!(
        (old["value"].as_str(), old["revision"].as_u64()),
        (Some("red"), Some(1))
    );
    let err = server.fails(&["kv", "get", "CFG", "app.color", "--revision", "3"]);
    assert!(
        err.contains("key app.color has no revision 3 in bucket CFG"),
        "{err}"
    );
    // Binary values: raw bytes with --raw, base64 otherwise.
    let raw = server.weir(&["kv", "get", "CFG", "app.logo", "--raw"]);
    assert_eq!(raw.stdout, [0, 159, 146, 150]);
    let logo = server.json(&["kv", "get", "CFG", "app.logo"]);
    assert_eq!(logo["value_base64"], "AJ+Slg==", "{logo}");

    let err = server.fails(&["kv", "create", "CFG", "app.color", "blue"]);
    assert!(
        err.contains("cannot create CFG > app.color: the key already exists"),
        "{err}"
    );
    server.ok(&["kv", "create", "CFG", "app.size", "10"]);
    let err = server.fails(&["kv", "update", "CFG", "app.color", "blue", "1"]);
    assert!(
        err.contains("revision 1 is not the key's latest: see `weir kv get CFG app.color`"),
        "{err}"
    );
    let updated = server.json(&["kv", "update", "CFG", "app.color", "blue", "2"]);
    assert_eq!(updated["revision"], 5, "{updated}");

    let history = server.json(&["kv", "history", "CFG", "app.color"]);
    let values: Vec<(&str, u64)> = history
        .as_array()
        .expect("history is an array")
        .iter()
        .map(|e| {
            (
                e["value"].as_str().unwrap_or(""),
                e["revision"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(values, [("red", 1), ("green", 2), ("blue", 5)]);
    let table = server.ok(&["kv", "history", "CFG", "app.color"]);
    assert!(table.starts_with("History for CFG > app.color"), "{table}");
    assert!(table.contains("green") && table.contains("PUT"), "{table}");

    let mut keys: Vec<String> = server
        .json(&["kv", "keys", "CFG"])
        .as_array()
        .expect("keys array")
        .iter()
        .map(|k| k.as_str().unwrap_or_default().to_string())
        .collect();
    keys.sort();
    assert_eq!(keys, ["app.color", "app.logo", "app.size"]);
    assert_eq!(
        server.ok(&["kv", "keys", "CFG", "other.*"]),
        "No keys found in bucket\n"
    );
    assert_eq!(
        server.ok(&["kv", "keys", "CFG", "*.size", "app.color"]),
        "app.color\napp.size\n"
    );
    assert_eq!(
        server.ok(&["kv", "ls", "CFG"]),
        "app.color\napp.logo\napp.size\n"
    );

    assert_eq!(
        server.ok(&["kv", "del", "CFG", "app.size"]),
        "Deleted key app.size from bucket CFG\n"
    );
    let err = server.fails(&["kv", "get", "CFG", "app.size"]);
    assert!(
        err.contains("key app.size in bucket CFG was deleted at revision 6"),
        "{err}"
    );
    server.ok(&["kv", "purge", "CFG", "app.color"]);
    let purged = server.json(&["kv", "history", "CFG", "app.color"]);
    assert_eq!(purged.as_array().map(Vec::len), Some(1), "{purged}");
    assert_eq!(purged[0]["operation"], "PURGE", "{purged}");
    let err = server.fails(&["kv", "get", "CFG", "nothing.here"]);
    assert!(
        err.contains(
            "key nothing.here not found in bucket CFG: list the keys with `weir kv keys CFG`"
        ),
        "{err}"
    );

    // What the server holds, read back through the official client.
    let (logo, color, size, values) = server.with_js(async |js| {
        let store = js.get_key_value("CFG").await.expect("bucket");
        let logo = store.get("app.logo").await.expect("get logo");
        let color = store
            .entry("app.color")
            .await
            .expect("entry")
            .map(|e| e.operation);
        let size = store
            .entry("app.size")
            .await
            .expect("entry")
            .map(|e| e.operation);
        let values = store.status().await.expect("status").values();
        (logo, color, size, values)
    });
    assert_eq!(logo.as_deref(), Some(&[0u8, 159, 146, 150][..]));
    assert_eq!(color, Some(async_nats::jetstream::kv::Operation::Purge));
    assert_eq!(size, Some(async_nats::jetstream::kv::Operation::Delete));
    // logo, size's put and delete marker, color's purge marker.
    assert_eq!(values, 4);
}

#[test]
fn kv_watch_prints_changes_until_count() {
    let server = Server::start_js();
    server.ok(&["kv", "add", "EVENTS", "--history", "5"]);
    server.ok(&["kv", "put", "EVENTS", "seen.before", "old"]);

    // The default watch starts with each key's latest value, then follows changes.
    let human = server.spawn_until(
        &["kv", "watch", "EVENTS", "--count", "3"],
        "Watching bucket EVENTS",
    );
    let json = server.spawn_until(
        &[
            "--json",
            "kv",
            "watch",
            "EVENTS",
            "orders.*",
            "--updates",
            "--count",
            "2",
        ],
        "Watching bucket EVENTS",
    );
    server.with_js(async |js| {
        let store = js.get_key_value("EVENTS").await.expect("bucket");
        store.put("orders.1", "one".into()).await.expect("put");
        store.delete("orders.1").await.expect("delete");
    });
    let lines: Vec<String> = watch_output(human).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0].ends_with("] PUT EVENTS > seen.before: old"),
        "{lines:?}"
    );
    assert!(
        lines[1].ends_with("] PUT EVENTS > orders.1: one"),
        "{lines:?}"
    );
    assert!(
        lines[2].ends_with("] DELETE EVENTS > orders.1"),
        "{lines:?}"
    );

    let entries: Vec<Value> = watch_output(json)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON entry per line"))
        .collect();
    let ops: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["key"].as_str().unwrap_or(""),
                e["operation"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(ops, [("orders.1", "PUT"), ("orders.1", "DELETE")]);
    assert_eq!(entries[0]["value"], "one");
}

/// Deterministic bytes that do not compress or repeat (xorshift64).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

fn read_all(mut stdout: ChildStdout) -> Vec<u8> {
    let mut bytes = Vec::new();
    stdout.read_to_end(&mut bytes).expect("read stdout");
    bytes
}

#[test]
fn object_put_get_round_trip_of_a_multi_mib_file() {
    let server = Server::start_js();
    let dir = temp_dir("files");
    // Not a whole number of 128 KiB chunks, so the last chunk is short.
    let data = pseudo_random(6 * 1024 * 1024 + 12_345);
    let source = dir.join("photo.raw");
    std::fs::write(&source, &data).expect("write the source file");
    let source_str = source.to_str().expect("utf-8 path");

    let added = server.ok(&["object", "add", "FILES", "--description", "test files"]);
    assert!(
        added.starts_with("Information for Object Store Bucket FILES"),
        "{added}"
    );
    let watch = server.spawn_until(
        &["object", "watch", "FILES", "--count", "2"],
        "Watching object store bucket FILES",
    );

    let put = server.json(&[
        "object",
        "put",
        "FILES",
        source_str,
        "--name",
        "photo.raw",
        "--no-progress",
        "-H",
        "Content-Type:image/raw",
    ]);
    assert_eq!(put["name"], "photo.raw", "{put}");
    assert_eq!(put["size"], data.len(), "{put}");
    assert_eq!(put["chunks"], 49, "{put}");
    assert_eq!(put["headers"]["Content-Type"][0], "image/raw", "{put}");
    let piped = server.weir_stdin(
        &["object", "put", "FILES", "-", "--name", "note.txt"],
        b"hi\n",
    );
    assert!(piped.status.success(), "{piped:?}");
    let shown = String::from_utf8_lossy(&piped.stdout);
    assert!(
        shown.starts_with("Object information for FILES > note.txt"),
        "{shown}"
    );
    assert!(shown.contains("3 B (3 bytes)"), "{shown}");

    // Into a file, byte for byte.
    let copy = dir.join("copy.raw");
    let copy_str = copy.to_str().expect("utf-8 path");
    let got = server.ok(&[
        "object",
        "get",
        "FILES",
        "photo.raw",
        "--output",
        copy_str,
        "--no-progress",
    ]);
    assert!(
        got.starts_with(&format!("Wrote 6.01 MiB to {copy_str} in ")),
        "{got}"
    );
    assert!(
        std::fs::read(&copy).expect("read the copy") == data,
        "the copy differs"
    );
    // An existing file is kept unless --force.
    let err = server.fails(&["object", "get", "FILES", "photo.raw", "-O", copy_str]);
    assert!(
        err.contains(&format!(
            "refusing to overwrite {copy_str} without confirmation: pass --force"
        )),
        "{err}"
    );
    let fetched = server.json(&[
        "object",
        "get",
        "FILES",
        "photo.raw",
        "-O",
        copy_str,
        "--force",
    ]);
    assert_eq!(fetched["size"], data.len(), "{fetched}");
    // Onto stdout, byte for byte.
    let mut child = server
        .command(&["object", "get", "FILES", "photo.raw"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run weir");
    let stdout = child.stdout.take().expect("stdout is piped");
    let reader = thread::spawn(move || read_all(stdout));
    let status = wait_bounded(child, LIMIT).status;
    assert!(status.success());
    assert!(reader.join().expect("reader") == data, "stdout differs");

    // ls, info and the watch agree with what the official client reads back.
    let listed = server.json(&["object", "ls", "FILES"]);
    let names: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(names, ["note.txt", "photo.raw"]);
    let table = server.ok(&["object", "ls", "FILES"]);
    assert!(
        table.contains("photo.raw") && table.contains("6.01 MiB"),
        "{table}"
    );
    let info = server.ok(&["object", "info", "FILES", "photo.raw"]);
    assert!(
        info.contains("6,303,801 bytes") && info.contains("SHA-256 "),
        "{info}"
    );
    let bucket = server.json(&["object", "info", "FILES"]);
    assert_eq!(bucket["description"], "test files", "{bucket}");
    let (size, digest) = server.with_js(async |js| {
        let store = js.get_object_store("FILES").await.expect("bucket");
        let info = store.info("photo.raw").await.expect("object info");
        (info.size, info.digest)
    });
    assert_eq!(size, data.len());
    assert_eq!(
        Some(put["digest"].as_str().unwrap_or_default().to_string()),
        digest
    );
    let events = watch_output(watch);
    assert!(
        events.contains("PUT FILES > photo.raw: 6.01 MiB in 49 chunks"),
        "{events}"
    );
    assert!(
        events.contains("PUT FILES > note.txt: 3 B in 1 chunks"),
        "{events}"
    );

    // rm needs --force; seal makes the bucket read-only.
    let err = server.fails(&["object", "rm", "FILES", "note.txt"]);
    assert!(
        err.contains("refusing to delete object note.txt from bucket FILES"),
        "{err}"
    );
    assert_eq!(
        server.ok(&["object", "rm", "FILES", "note.txt", "--force"]),
        "Removed FILES > note.txt\n"
    );
    let err = server.fails(&["object", "get", "FILES", "note.txt"]);
    assert!(
        err.contains("object note.txt not found in bucket FILES"),
        "{err}"
    );
    let sealed = server.ok(&["object", "seal", "FILES", "--force"]);
    assert!(sealed.starts_with("FILES has been sealed"), "{sealed}");
    assert_eq!(server.json(&["object", "info", "FILES"])["sealed"], true);
    let err = server.fails(&["object", "put", "FILES", source_str, "--name", "late.raw"]);
    assert!(err.contains("sealed"), "{err}");
    let sealed_on_server = server.with_js(async |js| {
        js.get_stream("OBJ_FILES")
            .await
            .expect("stream")
            .cached_info()
            .config
            .sealed
    });
    assert!(sealed_on_server);

    server.ok(&["object", "rm", "FILES", "--force"]);
    assert_eq!(
        server.ok(&["object", "ls"]),
        "No Object Store buckets found\n"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn missing_buckets_and_objects_say_how_to_create_them() {
    let server = Server::start_js();
    for (args, message) in [
        (
            &["kv", "get", "ORDERS", "k"][..],
            "bucket ORDERS not found: create it with `weir kv add ORDERS`",
        ),
        (
            &["kv", "put", "ORDERS", "k", "v"],
            "bucket ORDERS not found: create it with `weir kv add ORDERS`",
        ),
        (
            &["kv", "info", "ORDERS"],
            "bucket ORDERS not found: create it with `weir kv add ORDERS`",
        ),
        (
            &["kv", "watch", "ORDERS"],
            "bucket ORDERS not found: create it with `weir kv add ORDERS`",
        ),
        (
            &["kv", "rm", "ORDERS", "--force"],
            "bucket ORDERS not found: create it with `weir kv add ORDERS`",
        ),
        (
            &["object", "get", "FILES", "a"],
            "bucket FILES not found: create it with `weir object add FILES`",
        ),
        (
            &["object", "ls", "FILES"],
            "bucket FILES not found: create it with `weir object add FILES`",
        ),
        (
            &["object", "info", "FILES"],
            "bucket FILES not found: create it with `weir object add FILES`",
        ),
    ] {
        let err = server.fails(args);
        assert_eq!(err, format!("weir: error: {message}\n"), "{args:?}");
    }
    assert_eq!(server.ok(&["kv", "ls"]), "No Key-Value buckets found\n");
    assert_eq!(server.json(&["kv", "ls"]), serde_json::json!([]));
}

#[test]
fn without_jetstream_the_error_says_to_start_it_with_js() {
    let server = Server::start(false);
    for args in [
        &["kv", "add", "B"][..],
        &["kv", "get", "B", "k"],
        &["kv", "ls"],
        &["object", "put", "B", "-", "--name", "x"],
        &["object", "ls"],
    ] {
        let err = server.fails(args);
        assert_eq!(
            err,
            format!(
                "weir: error: JetStream is not enabled on the server at {}: start it with -js\n",
                server.url
            ),
            "{args:?}"
        );
    }
}

#[test]
fn limit_marker_ttl_reaches_the_bucket_or_is_refused_clearly() {
    let server = Server::start_js();
    let out = server.weir(&["kv", "add", "TTLS", "--limit-marker-ttl", "30m"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if server.is_weir {
        assert!(out.status.success(), "{stderr}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Limit Marker TTL      ┆ 30m"), "{text}");
        let config = server.with_js(async |js| {
            js.get_stream("KV_TTLS")
                .await
                .expect("stream")
                .cached_info()
                .config
                .clone()
        });
        assert!(config.allow_message_ttl);
        assert_eq!(
            config.subject_delete_marker_ttl,
            Some(Duration::from_secs(1800))
        );
    } else {
        assert!(!out.status.success());
        assert!(
            stderr.contains("--marker-ttl needs per-key TTLs"),
            "{stderr}"
        );
    }
}

#[test]
fn bad_arguments_fail_before_connecting() {
    for args in [
        &["kv", "add", "bad.name"][..],
        &["kv", "add", "B", "--max-value-size", "1XB"],
        &["kv", "add", "B", "--ttl", "soon"],
        &["kv", "add", "B", "--history", "100"],
        &["kv", "add", "B", "--metadata", "novalue"],
        &["kv", "add", "B", "--republish-headers"],
        &["kv", "add", "B", "--max-value-size", "8GiB"],
        &["kv", "put", "B", "bad key", "v"],
        &["kv", "keys", "B", "a.>.b"],
        &["kv", "update", "B", "k", "v", "notanumber"],
        &["object", "put", "B", "-"],
        &["object", "get", "B", "x", "--json"],
        &["--json", "object", "get", "B", "x"],
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
fn object_names_default_to_the_path_given() {
    let server = Server::start_js();
    server.ok(&["object", "add", "DOCS"]);
    let dir = temp_dir("names");
    std::fs::write(dir.join("readme.md"), b"# hi\n").expect("write");
    let child = server
        .command(&["--json", "object", "put", "DOCS", "./readme.md"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run weir");
    let out = wait_bounded(child, LIMIT);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let put: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(put["name"], "readme.md", "{put}");
    assert_eq!(server.ok(&["object", "get", "DOCS", "readme.md"]), "# hi\n");
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}
