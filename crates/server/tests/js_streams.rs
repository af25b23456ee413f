//! JetStream stream API and publish path, through async-nats and raw `$JS.API` requests.
//! Runs against Weir or, with `WEIR_TEST_TARGET=nats-server`, the reference nats-server 2.9.10;
//! every expectation below was measured on the reference unless marked
//! `// 2.10+: not checked against the 2.9.10 reference` (those tests skip on the reference).
//! Each test starts its own server with its own store dir.
//!
//! Until Weir serves `$JS.API`, each test prints a note and returns early when `$JS.API.INFO`
//! gets no answer within 2 s (see `js_common::jetstream_served`).
//!
//! # Errors as nats-server 2.9.10 returns them
//!
//! `code` is the HTTP-like code, `err_code` the NATS code. Publish rejections come back as a
//! PubAck `{"error":{…},"stream":"<name>","seq":0}`; API errors as `{"type":…,"error":{…}}`.
//!
//! | case | code | err_code | description |
//! |---|---|---|---|
//! | CREATE same name, different config | 400 | 10058 | `stream name already in use with a different configuration` |
//! | CREATE/UPDATE name in body ≠ name in subject (or body without name) | 400 | 10056 | `stream name in subject does not match request` |
//! | CREATE with invalid JSON or an empty body | 400 | 10025 | `invalid JSON` |
//! | CREATE name `a*` / `a>` | 500 | 10052 | `stream name is required and can not contain '.', '*', '>'` |
//! | CREATE name `a.b` (`$JS.API.STREAM.CREATE.a.b`) | — | — | no reply at all (the subject has one token too many) |
//! | CREATE/UPDATE subjects overlapping another stream's | 400 | 10065 | `subjects overlap with an existing stream` |
//! | CREATE with `sealed: true` | 500 | 10052 | `stream configuration for create can not be sealed` |
//! | CREATE with duplicate_window > max_age | 500 | 10052 | `duplicates window can not be larger then max age` |
//! | UPDATE storage | 500 | 10052 | `stream configuration update can not change storage type` |
//! | UPDATE retention | 500 | 10052 | `stream configuration update can not change retention policy` |
//! | UPDATE sealed → unsealed | 500 | 10052 | `stream configuration update can not unseal a sealed stream` |
//! | UPDATE deny_delete true → false | 500 | 10052 | `stream configuration update can not cancel deny message deletes` |
//! | UPDATE deny_purge true → false | 500 | 10052 | `stream configuration update can not cancel deny purge` |
//! | INFO/UPDATE/DELETE/PURGE/MSG.GET/MSG.DELETE of an unknown stream | 404 | 10059 | `stream not found` |
//! | INFO with invalid JSON | 400 | 10025 | `invalid JSON` |
//! | DELETE with a non-empty body | 400 | 10038 | `expected an empty request payload` |
//! | PURGE with both `seq` and `keep` | 400 | 10003 | `bad request` |
//! | PURGE with invalid JSON | 400 | 10025 | `invalid JSON` |
//! | MSG.GET of a missing seq / unknown `last_by_subj` | 404 | 10037 | `no message found` |
//! | MSG.GET `{}` or both `seq` and `last_by_subj` | 400 | 10003 | `bad request` |
//! | MSG.DELETE of a seq already deleted | 400 | 10043 | `sequence N not found` |
//! | MSG.DELETE of a seq past the last | 500 | 10057 | `stream store EOF` |
//! | MSG.DELETE with invalid JSON | 400 | 10025 | `invalid JSON` |
//! | MSG.DELETE on a deny_delete stream | 500 | 10057 | `message delete not permitted` |
//! | PURGE on a deny_purge stream | 500 | 10110 | `stream purge not permitted` |
//! | publish / MSG.DELETE / PURGE on a sealed stream | 400 | 10109 | `invalid operation on sealed stream` |
//! | publish `Nats-Expected-Stream` wrong | 400 | 10060 | `expected stream does not match` |
//! | publish `Nats-Expected-Last-Sequence` wrong | 400 | 10071 | `wrong last sequence: <stream last seq>` |
//! | publish `Nats-Expected-Last-Subject-Sequence` wrong | 400 | 10071 | `wrong last sequence: <subject's last seq>` |
//! | publish `Nats-Expected-Last-Msg-Id` wrong | 400 | 10070 | `wrong last msg ID: <stream's last msg id>` |
//! | publish `Nats-Rollup` without allow_rollup_hdrs | 500 | 10111 | `rollup not permitted` |
//! | publish over max_msgs, discard new | 503 | 10077 | `maximum messages exceeded` |
//! | publish over max_bytes, discard new | 503 | 10077 | `maximum bytes exceeded` |
//! | publish over max_msgs_per_subject, discard new + discard_new_per_subject | 503 | 10077 | `maximum messages per subject exceeded` |
//! | publish over max_msg_size (headers count) | 400 | 10054 | `message size exceeds maximum allowed` |
//! | publish to a no_ack stream | — | — | no reply (the message is stored) |
//! | DIRECT.GET missing message | status 404 | — | `Message Not Found` |
//! | DIRECT.GET empty body or `{}` | status 408 | — | `Empty Request` |
//! | DIRECT.GET invalid JSON | status 408 | — | `Malformed Request` |
//! | DIRECT.GET `<stream>.<subject>` with a body | status 408 | — | `Bad Request` |
//! | DIRECT.GET on a stream without allow_direct / unknown stream | — | — | no reply |

mod common;
mod js_common;

use std::time::{Duration, Instant};

use async_nats::{jetstream, Client, StatusCode};
use bytes::Bytes;
use js_common::*;
use serde_json::json;

fn e(code: u64, err_code: u64, description: &str) -> ApiErr {
    ApiErr::new(code, err_code, description)
}

/// Decodes standard base64 (the `data`/`hdrs` of MSG.GET replies).
fn b64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for ch in s.bytes().filter(|&c| c != b'=') {
        let v = A
            .iter()
            .position(|&a| a == ch)
            .unwrap_or_else(|| panic!("not base64: {s:?}")) as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

async fn publish_n(c: &Client, subject: &str, n: usize) -> Vec<u64> {
    let mut seqs = Vec::new();
    for i in 0..n {
        seqs.push(publish_ok(c, subject, &[], format!("m{i}")).await);
    }
    seqs
}

// ---------------------------------------------------------------------------------------------
// Account info
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_info_fields() {
    let j = setup!();
    let v = api_ok(&j.c, "$JS.API.INFO", "").await;
    assert_eq!(v["type"], "io.nats.jetstream.api.v1.account_info_response");
    for field in ["memory", "storage", "streams", "consumers"] {
        assert!(v[field].is_u64(), "{field} missing or not a number in {v}");
    }
    assert_eq!(v["streams"], 0);
    assert_eq!(v["consumers"], 0);
    let limits = &v["limits"];
    for field in ["max_memory", "max_storage", "max_streams", "max_consumers"] {
        assert!(limits[field].is_i64(), "limits.{field} missing in {v}");
    }
    assert!(v["api"]["total"].is_u64(), "api.total missing in {v}");
    assert!(v["api"]["errors"].is_u64(), "api.errors missing in {v}");
    if !j.server.is_reference() {
        // 2.10+: not checked against the 2.9.10 reference (2.9.10 has no reserved_* fields).
        assert!(v["reserved_memory"].is_u64(), "reserved_memory in {v}");
        assert!(v["reserved_storage"].is_u64(), "reserved_storage in {v}");
    }

    create_stream(&j.c, json!({"name": "ACC", "subjects": ["acc"]})).await;
    publish_ok(&j.c, "acc", &[], "hello").await;
    let _ = api(&j.c, "$JS.API.STREAM.INFO.NOPE", "").await; // one API error
    let after = api_ok(&j.c, "$JS.API.INFO", "").await;
    assert_eq!(after["streams"], 1);
    assert!(
        u(&after["storage"]) > 0,
        "storage counts the message: {after}"
    );
    assert!(
        u(&after["api"]["total"]) >= u(&v["api"]["total"]) + 3,
        "api.total counts requests: before {v}, after {after}"
    );
    assert!(
        u(&after["api"]["errors"]) > u(&v["api"]["errors"]),
        "api.errors counts the failed INFO: before {v}, after {after}"
    );

    // The typed client reads it too. async-nats 0.51 cannot parse 2.9.10's account info (it
    // wants the 2.10+ fields), so this part runs against Weir only.
    if !j.server.is_reference() {
        // 2.10+: not checked against the 2.9.10 reference.
        let acct = jetstream::new(j.c.clone())
            .query_account()
            .await
            .expect("query_account");
        assert_eq!(acct.streams, 1);
    }
}

// ---------------------------------------------------------------------------------------------
// CREATE
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_echoes_defaults_and_is_idempotent() {
    let j = setup!();
    let cfg = json!({"name": "S", "subjects": ["s.>"]});
    let v = create_stream(&j.c, cfg.clone()).await;
    assert_eq!(v["type"], "io.nats.jetstream.api.v1.stream_create_response");
    assert_eq!(v["did_create"], true);
    let c = &v["config"];
    let expected = [
        ("name", json!("S")),
        ("subjects", json!(["s.>"])),
        ("retention", json!("limits")),
        ("max_consumers", json!(-1)),
        ("max_msgs", json!(-1)),
        ("max_bytes", json!(-1)),
        ("max_age", json!(0)),
        ("max_msgs_per_subject", json!(-1)),
        ("max_msg_size", json!(-1)),
        ("discard", json!("old")),
        ("storage", json!("file")),
        ("num_replicas", json!(1)),
        ("duplicate_window", json!(120_000_000_000u64)),
        ("allow_direct", json!(false)),
        ("mirror_direct", json!(false)),
        ("sealed", json!(false)),
        ("deny_delete", json!(false)),
        ("deny_purge", json!(false)),
        ("allow_rollup_hdrs", json!(false)),
    ];
    for (k, want) in expected {
        assert_eq!(c[k], want, "config.{k} in {v}");
    }
    assert!(v["created"].is_string(), "created timestamp in {v}");
    let s = &v["state"];
    assert_eq!(s["messages"], 0);
    assert_eq!(s["bytes"], 0);
    assert_eq!(s["first_seq"], 0);
    assert_eq!(s["last_seq"], 0);
    assert_eq!(s["consumer_count"], 0);

    // Same config again: success, same config.
    let again = create_stream(&j.c, cfg).await;
    assert_eq!(again["config"], v["config"]);

    // Different config under the same name.
    let err = api_err(
        &j.c,
        "$JS.API.STREAM.CREATE.S",
        json!({"name": "S", "subjects": ["s.>"], "max_msgs": 5}).to_string(),
    )
    .await;
    assert_eq!(
        err,
        e(
            400,
            10058,
            "stream name already in use with a different configuration"
        )
    );

    // Without subjects, the stream listens on its own name.
    let ns = create_stream(&j.c, json!({"name": "NS"})).await;
    assert_eq!(ns["config"]["subjects"], json!(["NS"]));
    assert_eq!(publish_ok(&j.c, "NS", &[], "x").await, 1);

    // The typed client: create_stream, get_stream and info agree.
    let ctx = jetstream::new(j.c.clone());
    let mut st = ctx
        .create_stream(jetstream::stream::Config {
            name: "TYPED".to_string(),
            subjects: vec!["typed.*".to_string()],
            ..Default::default()
        })
        .await
        .expect("typed create_stream");
    assert_eq!(st.info().await.expect("info").config.name, "TYPED");
    let got = ctx.get_stream("TYPED").await.expect("get_stream");
    assert_eq!(
        got.cached_info().config.subjects,
        vec!["typed.*".to_string()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_rejects_bad_requests() {
    let j = setup!();
    let c = &j.c;
    // Name in the body differs from the subject, or is missing.
    assert_eq!(
        api_err(
            c,
            "$JS.API.STREAM.CREATE.Q",
            json!({"name": "Z", "subjects": ["q"]}).to_string()
        )
        .await,
        e(400, 10056, "stream name in subject does not match request")
    );
    assert_eq!(
        api_err(
            c,
            "$JS.API.STREAM.CREATE.Q",
            json!({"subjects": ["q"]}).to_string()
        )
        .await,
        e(400, 10056, "stream name in subject does not match request")
    );
    // Bad JSON, empty body.
    assert_eq!(
        api_err(c, "$JS.API.STREAM.CREATE.Q", r#"{"name":"Q","#).await,
        e(400, 10025, "invalid JSON")
    );
    assert_eq!(
        api_err(c, "$JS.API.STREAM.CREATE.Q", "").await,
        e(400, 10025, "invalid JSON")
    );
    assert_eq!(
        api_err(
            c,
            "$JS.API.STREAM.CREATE.Q",
            json!({"name": "Q", "subjects": ["q"], "storage": "disk"}).to_string()
        )
        .await,
        e(400, 10025, "invalid JSON"),
        "an unknown enum value is a JSON error"
    );
    // Invalid names.
    for name in ["a*", "a>"] {
        assert_eq!(
            api_err(
                c,
                &format!("$JS.API.STREAM.CREATE.{name}"),
                json!({"name": name, "subjects": ["ab"]}).to_string()
            )
            .await,
            e(
                500,
                10052,
                "stream name is required and can not contain '.', '*', '>'"
            ),
            "name {name:?}"
        );
    }
    // `a.b` makes the subject one token too long: the reference does not answer at all. An
    // error reply would do as well; what must not happen is a stream being created.
    let subject = "$JS.API.STREAM.CREATE.a.b";
    let body = json!({"name": "a.b", "subjects": ["ab"]}).to_string();
    match tokio::time::timeout(
        Duration::from_secs(1),
        j.c.request(subject, Bytes::from(body)),
    )
    .await
    {
        Err(_) | Ok(Err(_)) => {}
        Ok(Ok(msg)) => {
            let v = json_of(&msg);
            assert!(v.get("error").is_some(), "a.b accepted: {v}");
        }
    }
    let names = api_ok(c, "$JS.API.STREAM.NAMES", "").await;
    assert_eq!(names["total"], 0, "no stream was created: {names}");

    // Subjects overlapping another stream.
    create_stream(c, json!({"name": "T", "subjects": ["t.*"]})).await;
    for subjects in [json!(["t.a"]), json!(["t.>"]), json!(["t.*"])] {
        assert_eq!(
            api_err(
                c,
                "$JS.API.STREAM.CREATE.T2",
                json!({"name": "T2", "subjects": subjects}).to_string()
            )
            .await,
            e(400, 10065, "subjects overlap with an existing stream"),
            "subjects {subjects}"
        );
    }
    // Sealed at create; duplicate window longer than max_age.
    assert_eq!(
        api_err(
            c,
            "$JS.API.STREAM.CREATE.SE",
            json!({"name": "SE", "subjects": ["se"], "sealed": true}).to_string()
        )
        .await,
        e(
            500,
            10052,
            "stream configuration for create can not be sealed"
        )
    );
    assert_eq!(
        api_err(
            c,
            "$JS.API.STREAM.CREATE.DW",
            json!({"name": "DW", "subjects": ["dw"], "max_age": 1_000_000_000u64,
                   "duplicate_window": 5_000_000_000u64})
            .to_string()
        )
        .await,
        e(
            500,
            10052,
            "duplicates window can not be larger then max age"
        )
    );
    // A max_age shorter than the default duplicate window clamps the window.
    let ag = create_stream(
        c,
        json!({"name": "AG", "subjects": ["ag"], "max_age": 1_000_000_000u64}),
    )
    .await;
    assert_eq!(ag["config"]["duplicate_window"], 1_000_000_000u64);
}

// ---------------------------------------------------------------------------------------------
// INFO, NAMES, LIST
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn info_state_subjects_filter_and_deleted_details() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "W", "subjects": ["w.*"]})).await;
    for (i, subj) in ["w.b", "w.a", "w.b", "w.a", "w.b"].iter().enumerate() {
        assert_eq!(
            publish_ok(c, subj, &[], format!("x{i}")).await,
            i as u64 + 1
        );
    }
    let info = api_ok(c, "$JS.API.STREAM.INFO.W", "").await;
    assert_eq!(
        info["type"],
        "io.nats.jetstream.api.v1.stream_info_response"
    );
    assert_eq!(info["config"]["name"], "W");
    let s = &info["state"];
    assert_eq!(s["messages"], 5);
    assert!(u(&s["bytes"]) > 0, "bytes in {info}");
    assert_eq!(s["first_seq"], 1);
    assert_eq!(s["last_seq"], 5);
    assert_eq!(s["num_subjects"], 2);
    assert_eq!(s["consumer_count"], 0);
    assert!(
        s.get("subjects").is_none(),
        "no subjects unless asked: {info}"
    );
    assert!(
        s.get("deleted").is_none(),
        "no deleted unless asked: {info}"
    );

    let all = stream_info_with(c, "W", json!({"subjects_filter": ">"})).await;
    assert_eq!(all["state"]["subjects"], json!({"w.a": 2, "w.b": 3}));
    assert_eq!(all["total"], 2);
    let one = stream_info_with(c, "W", json!({"subjects_filter": "w.a"})).await;
    assert_eq!(one["state"]["subjects"], json!({"w.a": 2}));
    assert_eq!(one["total"], 1);
    let none = stream_info_with(c, "W", json!({"subjects_filter": "nomatch"})).await;
    assert!(
        none["state"].get("subjects").is_none() || none["state"]["subjects"] == json!({}),
        "no subject matches: {none}"
    );

    // A deleted message shows in deleted_details and num_deleted.
    let del = api_ok(c, "$JS.API.STREAM.MSG.DELETE.W", r#"{"seq":2}"#).await;
    assert_eq!(del["success"], true);
    let d = stream_info_with(c, "W", json!({"deleted_details": true})).await;
    assert_eq!(d["state"]["messages"], 4);
    assert_eq!(d["state"]["num_deleted"], 1);
    assert_eq!(d["state"]["deleted"], json!([2]));
    assert_eq!(
        api_err(c, "$JS.API.STREAM.INFO.W", "{bad").await,
        e(400, 10025, "invalid JSON")
    );

    // The typed client's view.
    let mut st = jetstream::new(c.clone())
        .get_stream("W")
        .await
        .expect("get_stream");
    let info = st.info().await.expect("info");
    assert_eq!(info.state.messages, 4);
    assert_eq!(info.state.first_sequence, 1);
    assert_eq!(info.state.last_sequence, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_and_list_with_paging_and_subject_filter() {
    let j = setup!();
    let c = &j.c;
    let empty = api_ok(c, "$JS.API.STREAM.NAMES", "").await;
    assert_eq!(empty["total"], 0);
    for (name, subj) in [("B", "b.*"), ("A", "a.*"), ("C", "c.*")] {
        create_stream(c, json!({"name": name, "subjects": [subj]})).await;
    }
    let names = api_ok(c, "$JS.API.STREAM.NAMES", "").await;
    assert_eq!(
        names["type"],
        "io.nats.jetstream.api.v1.stream_names_response"
    );
    assert_eq!(names["total"], 3);
    assert_eq!(names["offset"], 0);
    assert_eq!(names["limit"], 1024);
    assert_eq!(names["streams"], json!(["A", "B", "C"]));

    let page = api_ok(c, "$JS.API.STREAM.NAMES", r#"{"offset":1}"#).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["offset"], 1);
    assert_eq!(page["streams"], json!(["B", "C"]));

    let filtered = api_ok(c, "$JS.API.STREAM.NAMES", r#"{"subject":"a.x"}"#).await;
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["streams"], json!(["A"]));
    let wide = api_ok(c, "$JS.API.STREAM.NAMES", r#"{"subject":">"}"#).await;
    assert_eq!(wide["total"], 3);
    let nomatch = api_ok(c, "$JS.API.STREAM.NAMES", r#"{"subject":"zz"}"#).await;
    assert_eq!(nomatch["total"], 0);
    assert!(
        nomatch["streams"].is_null() || nomatch["streams"] == json!([]),
        "no streams: {nomatch}"
    );

    let list = api_ok(c, "$JS.API.STREAM.LIST", "").await;
    assert_eq!(
        list["type"],
        "io.nats.jetstream.api.v1.stream_list_response"
    );
    assert_eq!(list["total"], 3);
    assert_eq!(list["offset"], 0);
    assert_eq!(list["limit"], 256);
    let listed: Vec<&str> = list["streams"]
        .as_array()
        .expect("streams array")
        .iter()
        .map(|s| {
            assert!(s["state"].is_object(), "each entry has its state: {s}");
            s["config"]["name"].as_str().expect("config.name")
        })
        .collect();
    assert_eq!(listed, ["A", "B", "C"]);
    let page = api_ok(c, "$JS.API.STREAM.LIST", r#"{"offset":2}"#).await;
    assert_eq!(page["total"], 3);
    assert_eq!(page["offset"], 2);
    assert_eq!(page["streams"].as_array().expect("streams").len(), 1);
    assert_eq!(page["streams"][0]["config"]["name"], "C");

    // The typed client pages through the same.
    use futures::TryStreamExt;
    let ctx = jetstream::new(c.clone());
    let mut typed: Vec<String> = ctx.stream_names().try_collect().await.expect("names");
    typed.sort();
    assert_eq!(typed, ["A", "B", "C"]);
}

// ---------------------------------------------------------------------------------------------
// UPDATE, DELETE
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_allowed_and_disallowed_changes() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "T", "subjects": ["t.*"]})).await;
    create_stream(c, json!({"name": "U", "subjects": ["u.*"]})).await;
    publish_n(c, "t.a", 3).await;

    let v = api_ok(
        c,
        "$JS.API.STREAM.UPDATE.T",
        json!({"name": "T", "subjects": ["t.*", "v"], "max_msgs": 100, "description": "d"})
            .to_string(),
    )
    .await;
    assert_eq!(v["type"], "io.nats.jetstream.api.v1.stream_update_response");
    assert_eq!(v["config"]["subjects"], json!(["t.*", "v"]));
    assert_eq!(v["config"]["max_msgs"], 100);
    assert_eq!(v["config"]["description"], "d");
    assert_eq!(v["state"]["messages"], 3, "data survives an update: {v}");
    // The new subject takes publishes.
    assert_eq!(publish_ok(c, "v", &[], "new").await, 4);
    let info = api_ok(c, "$JS.API.STREAM.INFO.T", "").await;
    assert_eq!(info["config"]["max_msgs"], 100);

    let cases = [
        (
            json!({"name": "T", "subjects": ["t.*"], "storage": "memory"}),
            e(
                500,
                10052,
                "stream configuration update can not change storage type",
            ),
        ),
        (
            json!({"name": "T", "subjects": ["t.*"], "retention": "workqueue"}),
            e(
                500,
                10052,
                "stream configuration update can not change retention policy",
            ),
        ),
        (
            json!({"name": "X", "subjects": ["t.*"]}),
            e(400, 10056, "stream name in subject does not match request"),
        ),
        (
            json!({"name": "T", "subjects": ["u.*"]}),
            e(400, 10065, "subjects overlap with an existing stream"),
        ),
    ];
    for (cfg, want) in cases {
        assert_eq!(
            api_err(c, "$JS.API.STREAM.UPDATE.T", cfg.to_string()).await,
            want,
            "update {cfg}"
        );
    }
    assert_eq!(
        api_err(
            c,
            "$JS.API.STREAM.UPDATE.NOPE",
            json!({"name": "NOPE", "subjects": ["nope"]}).to_string()
        )
        .await,
        e(404, 10059, "stream not found")
    );
    // Nothing changed by the rejected updates.
    let info = api_ok(c, "$JS.API.STREAM.INFO.T", "").await;
    assert_eq!(info["config"]["storage"], "file");
    assert_eq!(info["config"]["retention"], "limits");
    assert_eq!(info["config"]["subjects"], json!(["t.*", "v"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_stream_then_not_found() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "D", "subjects": ["d"]})).await;
    publish_n(c, "d", 2).await;
    assert_eq!(
        api_err(c, "$JS.API.STREAM.DELETE.D", r#"{"x":1}"#).await,
        e(400, 10038, "expected an empty request payload")
    );
    let v = api_ok(c, "$JS.API.STREAM.DELETE.D", "").await;
    assert_eq!(v["type"], "io.nats.jetstream.api.v1.stream_delete_response");
    assert_eq!(v["success"], true);
    assert_eq!(
        api_err(c, "$JS.API.STREAM.INFO.D", "").await,
        e(404, 10059, "stream not found")
    );
    assert_eq!(
        api_err(c, "$JS.API.STREAM.DELETE.D", "").await,
        e(404, 10059, "stream not found")
    );
    // Nothing listens on its subject any more.
    assert!(no_reply(c, "d", "gone", Duration::from_secs(1)).await);
    // The name can be used again, starting from scratch.
    create_stream(c, json!({"name": "D", "subjects": ["d"]})).await;
    assert_eq!(publish_ok(c, "d", &[], "again").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_stream_is_10059_everywhere() {
    let j = setup!();
    let c = &j.c;
    let nf = e(404, 10059, "stream not found");
    for (subject, body) in [
        ("$JS.API.STREAM.INFO.NOPE", ""),
        ("$JS.API.STREAM.DELETE.NOPE", ""),
        ("$JS.API.STREAM.PURGE.NOPE", ""),
        ("$JS.API.STREAM.MSG.GET.NOPE", r#"{"seq":1}"#),
        ("$JS.API.STREAM.MSG.DELETE.NOPE", r#"{"seq":1}"#),
    ] {
        assert_eq!(api_err(c, subject, body).await, nf, "{subject}");
    }
    let ctx = jetstream::new(c.clone());
    assert!(ctx.get_stream("NOPE").await.is_err());
}

// ---------------------------------------------------------------------------------------------
// PURGE
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_all() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "PU", "subjects": ["pu.*"]})).await;
    publish_n(c, "pu.a", 10).await;
    let v = api_ok(c, "$JS.API.STREAM.PURGE.PU", "").await;
    assert_eq!(v["type"], "io.nats.jetstream.api.v1.stream_purge_response");
    assert_eq!(v["success"], true);
    assert_eq!(v["purged"], 10);
    let s = stream_state(c, "PU").await;
    assert_eq!(s["messages"], 0);
    assert_eq!(s["bytes"], 0);
    assert_eq!(s["first_seq"], 11);
    assert_eq!(s["last_seq"], 10);
    // Sequences go on after a purge.
    assert_eq!(publish_ok(c, "pu.a", &[], "after").await, 11);

    assert_eq!(
        api_err(c, "$JS.API.STREAM.PURGE.PU", "{bad").await,
        e(400, 10025, "invalid JSON")
    );
    assert_eq!(
        api_err(c, "$JS.API.STREAM.PURGE.PU", r#"{"seq":5,"keep":1}"#).await,
        e(400, 10003, "bad request")
    );

    // The typed client purges too.
    let st = jetstream::new(c.clone())
        .get_stream("PU")
        .await
        .expect("get_stream");
    let r = st.purge().await.expect("purge");
    assert!(r.success);
    assert_eq!(r.purged, 1);
}

/// Purge and delete are applied in order with the publishes queued before them: a purge
/// sent right after unacknowledged publishes on the same connection removes all of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_and_delete_follow_earlier_publishes() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "ORD", "subjects": ["ord"]})).await;
    for round in 1..=20u64 {
        for _ in 0..50 {
            c.publish("ord", Bytes::from_static(b"x")).await.unwrap();
        }
        let v = api_ok(c, "$JS.API.STREAM.PURGE.ORD", "").await;
        assert_eq!(v["purged"], 50, "round {round}: {v}");
    }
    for _ in 0..3 {
        c.publish("ord", Bytes::from_static(b"y")).await.unwrap();
    }
    // Seq 1003 was published (not acknowledged) just before the delete.
    let v = api_ok(c, "$JS.API.STREAM.MSG.DELETE.ORD", r#"{"seq":1003}"#).await;
    assert_eq!(v["success"], true);
    let s = stream_state(c, "ORD").await;
    assert_eq!((u(&s["messages"]), u(&s["last_seq"])), (2, 1003));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_filter_seq_and_keep() {
    let j = setup!();
    let c = &j.c;
    // filter: only pu.a goes.
    create_stream(c, json!({"name": "F", "subjects": ["f.*"]})).await;
    for i in 0..10 {
        publish_ok(c, if i % 2 == 0 { "f.a" } else { "f.b" }, &[], "x").await;
    }
    let v = api_ok(c, "$JS.API.STREAM.PURGE.F", r#"{"filter":"f.a"}"#).await;
    assert_eq!(v["purged"], 5);
    let s = stream_info_with(c, "F", json!({"subjects_filter": ">"})).await["state"].clone();
    assert_eq!(s["messages"], 5);
    assert_eq!(s["subjects"], json!({"f.b": 5}));
    assert_eq!(s["first_seq"], 2);
    assert_eq!(s["last_seq"], 10);

    // seq: everything below seq 6 goes.
    create_stream(c, json!({"name": "Q", "subjects": ["q"]})).await;
    publish_n(c, "q", 10).await;
    let v = api_ok(c, "$JS.API.STREAM.PURGE.Q", r#"{"seq":6}"#).await;
    assert_eq!(v["purged"], 5);
    let s = stream_state(c, "Q").await;
    assert_eq!(s["messages"], 5);
    assert_eq!(s["first_seq"], 6);

    // keep: only the newest 3 stay.
    create_stream(c, json!({"name": "K", "subjects": ["k"]})).await;
    publish_n(c, "k", 10).await;
    let v = api_ok(c, "$JS.API.STREAM.PURGE.K", r#"{"keep":3}"#).await;
    assert_eq!(v["purged"], 7);
    let s = stream_state(c, "K").await;
    assert_eq!(s["messages"], 3);
    assert_eq!(s["first_seq"], 8);
    assert_eq!(s["last_seq"], 10);

    // filter + keep: per subject.
    create_stream(c, json!({"name": "FK", "subjects": ["fk.*"]})).await;
    for i in 0..8 {
        publish_ok(c, if i % 2 == 0 { "fk.a" } else { "fk.b" }, &[], "x").await;
    }
    let v = api_ok(
        c,
        "$JS.API.STREAM.PURGE.FK",
        r#"{"filter":"fk.a","keep":1}"#,
    )
    .await;
    assert_eq!(v["purged"], 3);
    let s = stream_info_with(c, "FK", json!({"subjects_filter": ">"})).await["state"].clone();
    assert_eq!(s["subjects"], json!({"fk.a": 1, "fk.b": 4}));
}

// ---------------------------------------------------------------------------------------------
// MSG.GET, MSG.DELETE, DIRECT.GET
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msg_get_and_msg_delete() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "G", "subjects": ["g.*"]})).await;
    publish_ok(c, "g.a", &[], "one").await;
    publish_ok(c, "g.b", &[("X-Hdr", "v")], "two").await;
    publish_ok(c, "g.a", &[], "three").await;

    let v = api_ok(c, "$JS.API.STREAM.MSG.GET.G", r#"{"seq":1}"#).await;
    assert_eq!(
        v["type"],
        "io.nats.jetstream.api.v1.stream_msg_get_response"
    );
    let m = &v["message"];
    assert_eq!(m["subject"], "g.a");
    assert_eq!(m["seq"], 1);
    assert_eq!(b64(m["data"].as_str().expect("data")), b"one");
    assert!(m["time"].is_string(), "time in {v}");

    let v = api_ok(c, "$JS.API.STREAM.MSG.GET.G", r#"{"seq":2}"#).await;
    let hdrs =
        String::from_utf8(b64(v["message"]["hdrs"].as_str().expect("hdrs"))).expect("utf8 headers");
    assert!(hdrs.starts_with("NATS/1.0\r\n"), "{hdrs:?}");
    assert!(hdrs.contains("X-Hdr: v\r\n"), "{hdrs:?}");

    let v = api_ok(c, "$JS.API.STREAM.MSG.GET.G", r#"{"last_by_subj":"g.a"}"#).await;
    assert_eq!(v["message"]["seq"], 3);
    assert_eq!(b64(v["message"]["data"].as_str().expect("data")), b"three");

    let nf = e(404, 10037, "no message found");
    for body in [r#"{"seq":99}"#, r#"{"last_by_subj":"g.zz"}"#] {
        assert_eq!(
            api_err(c, "$JS.API.STREAM.MSG.GET.G", body).await,
            nf,
            "{body}"
        );
    }
    for body in ["{}", r#"{"seq":1,"last_by_subj":"g.a"}"#] {
        assert_eq!(
            api_err(c, "$JS.API.STREAM.MSG.GET.G", body).await,
            e(400, 10003, "bad request"),
            "{body}"
        );
    }

    // Delete seq 2: gone, counted in num_deleted.
    let v = api_ok(c, "$JS.API.STREAM.MSG.DELETE.G", r#"{"seq":2}"#).await;
    assert_eq!(
        v["type"],
        "io.nats.jetstream.api.v1.stream_msg_delete_response"
    );
    assert_eq!(v["success"], true);
    assert_eq!(
        api_err(c, "$JS.API.STREAM.MSG.GET.G", r#"{"seq":2}"#).await,
        nf
    );
    let s = stream_state(c, "G").await;
    assert_eq!(s["messages"], 2);
    assert_eq!(s["num_deleted"], 1);
    assert_eq!(s["first_seq"], 1);
    assert_eq!(s["last_seq"], 3);
    assert_eq!(
        api_err(c, "$JS.API.STREAM.MSG.DELETE.G", r#"{"seq":2}"#).await,
        e(400, 10043, "sequence 2 not found")
    );
    assert_eq!(
        api_err(c, "$JS.API.STREAM.MSG.DELETE.G", r#"{"seq":99}"#).await,
        e(500, 10057, "stream store EOF")
    );
    assert_eq!(
        api_err(c, "$JS.API.STREAM.MSG.DELETE.G", "{bad").await,
        e(400, 10025, "invalid JSON")
    );

    // Typed client: get_raw_message and delete_message.
    let st = jetstream::new(c.clone())
        .get_stream("G")
        .await
        .expect("get_stream");
    let raw = st.get_raw_message(3).await.expect("get_raw_message");
    assert_eq!(raw.sequence, 3);
    assert_eq!(raw.subject.as_str(), "g.a");
    assert_eq!(raw.payload.as_ref(), b"three");
    assert!(st.get_raw_message(2).await.is_err());
    assert!(st.delete_message(1).await.expect("delete_message"));
    let s = stream_state(c, "G").await;
    assert_eq!(s["messages"], 1);
    assert_eq!(s["first_seq"], 3);
}

fn assert_direct_reply(msg: &async_nats::Message, stream: &str, subject: &str, seq: u64) {
    assert_eq!(msg.status, None, "a data reply, not a status: {msg:?}");
    assert_eq!(
        header(msg, "Nats-Stream").as_deref(),
        Some(stream),
        "{msg:?}"
    );
    assert_eq!(
        header(msg, "Nats-Subject").as_deref(),
        Some(subject),
        "{msg:?}"
    );
    assert_eq!(
        header(msg, "Nats-Sequence").as_deref(),
        Some(seq.to_string().as_str()),
        "{msg:?}"
    );
    let ts = header(msg, "Nats-Time-Stamp").expect("Nats-Time-Stamp");
    assert!(
        ts.len() >= 20 && ts.ends_with('Z') && ts.contains('T'),
        "RFC 3339 UTC time stamp: {ts:?}"
    );
}

fn assert_status(msg: &async_nats::Message, code: u16, description: &str) {
    assert_eq!(
        msg.status,
        Some(StatusCode::from_u16(code).expect("code")),
        "{msg:?}"
    );
    assert_eq!(msg.description.as_deref(), Some(description), "{msg:?}");
    assert!(
        msg.payload.is_empty(),
        "status replies have no body: {msg:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_get_both_forms() {
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "P", "subjects": ["p.*"], "allow_direct": true}),
    )
    .await;
    publish_ok(c, "p.a", &[], "1").await;
    publish_ok(c, "p.b", &[("Nats-Msg-Id", "m1")], "2").await;
    publish_ok(c, "p.a", &[], "3").await;

    // JSON body, by sequence.
    let m = request_msg(c, "$JS.API.DIRECT.GET.P", r#"{"seq":1}"#).await;
    assert_direct_reply(&m, "P", "p.a", 1);
    assert_eq!(m.payload.as_ref(), b"1");
    // The stored headers come along.
    let m = request_msg(c, "$JS.API.DIRECT.GET.P", r#"{"seq":2}"#).await;
    assert_direct_reply(&m, "P", "p.b", 2);
    assert_eq!(header(&m, "Nats-Msg-Id").as_deref(), Some("m1"));
    assert_eq!(m.payload.as_ref(), b"2");
    // The time stamp is the stored one (the same as MSG.GET's).
    let got = api_ok(c, "$JS.API.STREAM.MSG.GET.P", r#"{"seq":2}"#).await;
    assert_eq!(
        header(&m, "Nats-Time-Stamp").as_deref(),
        got["message"]["time"].as_str()
    );
    // JSON body, last by subject; next by subject.
    let m = request_msg(c, "$JS.API.DIRECT.GET.P", r#"{"last_by_subj":"p.a"}"#).await;
    assert_direct_reply(&m, "P", "p.a", 3);
    assert_eq!(m.payload.as_ref(), b"3");
    let m = request_msg(
        c,
        "$JS.API.DIRECT.GET.P",
        r#"{"seq":2,"next_by_subj":"p.a"}"#,
    )
    .await;
    assert_direct_reply(&m, "P", "p.a", 3);

    // Subject form: last message on the subject, empty body.
    let m = request_msg(c, "$JS.API.DIRECT.GET.P.p.a", "").await;
    assert_direct_reply(&m, "P", "p.a", 3);
    assert_eq!(m.payload.as_ref(), b"3");

    // Misses and bad requests.
    for (subject, body) in [
        ("$JS.API.DIRECT.GET.P", r#"{"seq":999}"#),
        ("$JS.API.DIRECT.GET.P", r#"{"last_by_subj":"p.zz"}"#),
        ("$JS.API.DIRECT.GET.P.p.zz", ""),
    ] {
        let m = request_msg(c, subject, body).await;
        assert_status(&m, 404, "Message Not Found");
    }
    assert_status(
        &request_msg(c, "$JS.API.DIRECT.GET.P", "").await,
        408,
        "Empty Request",
    );
    assert_status(
        &request_msg(c, "$JS.API.DIRECT.GET.P", "{}").await,
        408,
        "Empty Request",
    );
    assert_status(
        &request_msg(c, "$JS.API.DIRECT.GET.P", "{bad").await,
        408,
        "Malformed Request",
    );
    assert_status(
        &request_msg(c, "$JS.API.DIRECT.GET.P.p.a", r#"{"seq":1}"#).await,
        408,
        "Bad Request",
    );

    // Typed client.
    let st = jetstream::new(c.clone())
        .get_stream("P")
        .await
        .expect("get_stream");
    let last = st
        .direct_get_last_for_subject("p.a")
        .await
        .expect("direct_get_last_for_subject");
    assert_eq!(last.sequence, 3);
    assert_eq!(last.payload.as_ref(), b"3");
    assert!(st.direct_get_last_for_subject("p.zz").await.is_err());
    let first = st.direct_get(1).await.expect("direct_get");
    assert_eq!(first.payload.as_ref(), b"1");

    // Without allow_direct nobody answers DIRECT.GET for the stream.
    create_stream(c, json!({"name": "ND", "subjects": ["nd"]})).await;
    publish_ok(c, "nd", &[], "x").await;
    assert!(
        no_reply(
            c,
            "$JS.API.DIRECT.GET.ND",
            r#"{"seq":1}"#,
            Duration::from_secs(1)
        )
        .await
    );
    assert!(
        no_reply(
            c,
            "$JS.API.DIRECT.GET.NOPE",
            r#"{"seq":1}"#,
            Duration::from_secs(1)
        )
        .await
    );
}

// ---------------------------------------------------------------------------------------------
// Publish path
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pub_ack_and_msg_id_dedup() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "P", "subjects": ["p.*"]})).await;
    let ack = publish(c, "p.a", &[], "1").await;
    assert_eq!(ack, json!({"stream": "P", "seq": 1}));

    let first = publish(c, "p.b", &[("Nats-Msg-Id", "m1")], "2").await;
    assert_eq!(first, json!({"stream": "P", "seq": 2}));
    let dup = publish(c, "p.b", &[("Nats-Msg-Id", "m1")], "2").await;
    assert_eq!(dup, json!({"stream": "P", "seq": 2, "duplicate": true}));
    // A different payload with the same id is a duplicate too.
    let dup2 = publish(c, "p.c", &[("Nats-Msg-Id", "m1")], "other").await;
    assert_eq!(dup2["duplicate"], true);
    assert_eq!(dup2["seq"], 2);
    let s = stream_state(c, "P").await;
    assert_eq!(s["messages"], 2, "the duplicates were not stored: {s}");
    assert_eq!(s["last_seq"], 2);
    // A new id is stored.
    assert_eq!(publish_ok(c, "p.b", &[("Nats-Msg-Id", "m2")], "3").await, 3);

    // The typed client: publish(...).await?.await? gives the PubAck.
    let ctx = jetstream::new(c.clone());
    let ack = ctx
        .publish("p.a", "typed".into())
        .await
        .expect("publish")
        .await
        .expect("ack");
    assert_eq!(ack.stream, "P");
    assert_eq!(ack.sequence, 4);
    assert!(!ack.duplicate);
    let ack = ctx
        .send_publish(
            "p.a",
            jetstream::message::PublishMessage::build()
                .message_id("m2")
                .payload("again".into()),
        )
        .await
        .expect("publish")
        .await
        .expect("ack");
    assert!(ack.duplicate);
    assert_eq!(ack.sequence, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_stream_and_last_sequence() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "P", "subjects": ["p.*"]})).await;
    publish_n(c, "p.a", 2).await;
    assert_eq!(
        publish_ok(c, "p.a", &[("Nats-Expected-Stream", "P")], "x").await,
        3
    );
    assert_eq!(
        publish_err(c, "p.a", &[("Nats-Expected-Stream", "Q")], "x").await,
        e(400, 10060, "expected stream does not match")
    );
    assert_eq!(
        publish_ok(c, "p.a", &[("Nats-Expected-Last-Sequence", "3")], "x").await,
        4
    );
    assert_eq!(
        publish_err(c, "p.a", &[("Nats-Expected-Last-Sequence", "3")], "x").await,
        e(400, 10071, "wrong last sequence: 4")
    );
    // Rejections store nothing.
    let s = stream_state(c, "P").await;
    assert_eq!(s["messages"], 4);
    assert_eq!(s["last_seq"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_last_msg_id_and_subject_sequence() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "P", "subjects": ["p.*"]})).await;
    assert_eq!(publish_ok(c, "p.a", &[("Nats-Msg-Id", "m1")], "1").await, 1);
    assert_eq!(
        publish_ok(
            c,
            "p.a",
            &[("Nats-Expected-Last-Msg-Id", "m1"), ("Nats-Msg-Id", "m2")],
            "2"
        )
        .await,
        2
    );
    assert_eq!(
        publish_err(c, "p.a", &[("Nats-Expected-Last-Msg-Id", "m1")], "3").await,
        e(400, 10070, "wrong last msg ID: m2")
    );
    // A message without an id makes the last id empty.
    publish_ok(c, "p.b", &[], "4").await;
    assert_eq!(
        publish_err(c, "p.a", &[("Nats-Expected-Last-Msg-Id", "m2")], "5").await,
        e(400, 10070, "wrong last msg ID: ")
    );

    // Per-subject last sequence: p.a's last is 2, p.b's is 3.
    assert_eq!(
        publish_ok(
            c,
            "p.a",
            &[("Nats-Expected-Last-Subject-Sequence", "2")],
            "6"
        )
        .await,
        4
    );
    assert_eq!(
        publish_err(
            c,
            "p.a",
            &[("Nats-Expected-Last-Subject-Sequence", "2")],
            "7"
        )
        .await,
        e(400, 10071, "wrong last sequence: 4")
    );
    // 0 means "no message on this subject yet".
    assert_eq!(
        publish_ok(
            c,
            "p.c",
            &[("Nats-Expected-Last-Subject-Sequence", "0")],
            "8"
        )
        .await,
        5
    );
    assert_eq!(
        publish_err(
            c,
            "p.c",
            &[("Nats-Expected-Last-Subject-Sequence", "0")],
            "9"
        )
        .await,
        e(400, 10071, "wrong last sequence: 5")
    );
    let s = stream_state(c, "P").await;
    assert_eq!(s["messages"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollup_sub_and_all() {
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "R", "subjects": ["r.*"], "allow_rollup_hdrs": true}),
    )
    .await;
    for i in 0..3 {
        publish_ok(c, "r.a", &[], format!("a{i}")).await;
        publish_ok(c, "r.b", &[], format!("b{i}")).await;
    }
    assert_eq!(
        publish_ok(c, "r.a", &[("Nats-Rollup", "sub")], "A").await,
        7
    );
    let s = stream_info_with(c, "R", json!({"subjects_filter": ">"})).await["state"].clone();
    assert_eq!(s["messages"], 4);
    assert_eq!(s["subjects"], json!({"r.a": 1, "r.b": 3}));
    let last = api_ok(c, "$JS.API.STREAM.MSG.GET.R", r#"{"last_by_subj":"r.a"}"#).await;
    assert_eq!(last["message"]["seq"], 7);

    assert_eq!(
        publish_ok(c, "r.b", &[("Nats-Rollup", "all")], "B").await,
        8
    );
    let s = stream_info_with(c, "R", json!({"subjects_filter": ">"})).await["state"].clone();
    assert_eq!(s["messages"], 1);
    assert_eq!(s["first_seq"], 8);
    assert_eq!(s["last_seq"], 8);
    assert_eq!(s["subjects"], json!({"r.b": 1}));

    // Without allow_rollup_hdrs.
    create_stream(c, json!({"name": "NR", "subjects": ["nr"]})).await;
    publish_ok(c, "nr", &[], "x").await;
    for kind in ["sub", "all"] {
        assert_eq!(
            publish_err(c, "nr", &[("Nats-Rollup", kind)], "y").await,
            e(500, 10111, "rollup not permitted"),
            "Nats-Rollup: {kind}"
        );
    }
    assert_eq!(stream_state(c, "NR").await["messages"], 1);
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_msgs_discard_old_and_new() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "L", "subjects": ["l"], "max_msgs": 3})).await;
    assert_eq!(publish_n(c, "l", 5).await, [1, 2, 3, 4, 5]);
    let s = stream_state(c, "L").await;
    assert_eq!(s["messages"], 3);
    assert_eq!(s["first_seq"], 3);
    assert_eq!(s["last_seq"], 5);
    assert_eq!(
        api_err(c, "$JS.API.STREAM.MSG.GET.L", r#"{"seq":2}"#).await,
        e(404, 10037, "no message found")
    );

    create_stream(
        c,
        json!({"name": "N", "subjects": ["n"], "max_msgs": 3, "discard": "new"}),
    )
    .await;
    assert_eq!(publish_n(c, "n", 3).await, [1, 2, 3]);
    for _ in 0..2 {
        assert_eq!(
            publish_err(c, "n", &[], "over").await,
            e(503, 10077, "maximum messages exceeded")
        );
    }
    let s = stream_state(c, "N").await;
    assert_eq!(s["messages"], 3);
    assert_eq!(s["first_seq"], 1);
    assert_eq!(s["last_seq"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_bytes_discard_old_and_new() {
    let j = setup!();
    let c = &j.c;
    let body = "x".repeat(30);
    // The stored size of a message is the server's own accounting: measure it with one message,
    // then set max_bytes to 3.5 messages (discard old, by UPDATE) / exactly 3 messages (discard
    // new, at CREATE). Both streams use subjects of the same length, so sizes are equal.
    create_stream(c, json!({"name": "B", "subjects": ["b1"]})).await;
    publish_ok(c, "b1", &[], body.clone()).await;
    let one = u(&stream_state(c, "B").await["bytes"]);
    assert!(one > 30, "a message's size counts its payload: {one}");
    let max = 3 * one + one / 2;
    api_ok(
        c,
        "$JS.API.STREAM.UPDATE.B",
        json!({"name": "B", "subjects": ["b1"], "max_bytes": max}).to_string(),
    )
    .await;
    for _ in 0..5 {
        publish_ok(c, "b1", &[], body.clone()).await;
    }
    let s = stream_state(c, "B").await;
    assert_eq!(s["messages"], 3);
    assert_eq!(u(&s["bytes"]), 3 * one);
    assert_eq!(s["first_seq"], 4);
    assert_eq!(s["last_seq"], 6);

    create_stream(
        c,
        json!({"name": "BN", "subjects": ["b2"], "discard": "new", "max_bytes": 3 * one}),
    )
    .await;
    for _ in 0..3 {
        publish_ok(c, "b2", &[], body.clone()).await;
    }
    for _ in 0..2 {
        assert_eq!(
            publish_err(c, "b2", &[], body.clone()).await,
            e(503, 10077, "maximum bytes exceeded")
        );
    }
    let s = stream_state(c, "BN").await;
    assert_eq!(s["messages"], 3);
    assert_eq!(u(&s["bytes"]), 3 * one);
    assert_eq!(s["last_seq"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_msgs_per_subject() {
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "PS", "subjects": ["ps.*"], "max_msgs_per_subject": 2}),
    )
    .await;
    for i in 0..4 {
        publish_ok(c, "ps.a", &[], format!("a{i}")).await;
        publish_ok(c, "ps.b", &[], format!("b{i}")).await;
    }
    let s = stream_info_with(c, "PS", json!({"subjects_filter": ">"})).await["state"].clone();
    assert_eq!(s["messages"], 4);
    assert_eq!(s["subjects"], json!({"ps.a": 2, "ps.b": 2}));
    assert_eq!(s["first_seq"], 5);
    assert_eq!(s["last_seq"], 8);

    create_stream(
        c,
        json!({"name": "PSN", "subjects": ["psn.*"], "max_msgs_per_subject": 2,
               "discard": "new", "discard_new_per_subject": true, "max_msgs": 100}),
    )
    .await;
    publish_n(c, "psn.a", 2).await;
    assert_eq!(
        publish_err(c, "psn.a", &[], "over").await,
        e(503, 10077, "maximum messages per subject exceeded")
    );
    // Other subjects still have room.
    assert_eq!(publish_ok(c, "psn.b", &[], "ok").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_msg_size() {
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "MS", "subjects": ["ms"], "max_msg_size": 10}),
    )
    .await;
    assert_eq!(publish_ok(c, "ms", &[], "x".repeat(10)).await, 1);
    let too_big = e(400, 10054, "message size exceeds maximum allowed");
    assert_eq!(publish_err(c, "ms", &[], "x".repeat(11)).await, too_big);
    // Headers count toward the size.
    assert_eq!(
        publish_err(c, "ms", &[("Nats-Msg-Id", "abcdefgh")], "x".repeat(5)).await,
        too_big
    );
    assert_eq!(stream_state(c, "MS").await["messages"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_age_expires_messages() {
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "AG", "subjects": ["ag"], "max_age": 1_000_000_000u64}),
    )
    .await;
    publish_n(c, "ag", 3).await;
    let s = stream_state(c, "AG").await;
    assert_eq!(s["messages"], 3, "not expired right away: {s}");
    // Bounded poll: the messages are 1 s old after ~1 s; allow generous slack.
    let deadline = Instant::now() + Duration::from_secs(10);
    let s = loop {
        let s = stream_state(c, "AG").await;
        if s["messages"] == 0 {
            break s;
        }
        assert!(Instant::now() < deadline, "messages did not expire: {s}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(s["first_seq"], 4);
    assert_eq!(s["last_seq"], 3);
    assert_eq!(s["bytes"], 0);
    assert_eq!(publish_ok(c, "ag", &[], "later").await, 4);
}

// ---------------------------------------------------------------------------------------------
// Stream flags
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ack_stream_does_not_ack() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "NA", "subjects": ["na"], "no_ack": true})).await;
    assert!(
        no_reply(c, "na", "x", Duration::from_secs(1)).await,
        "a no_ack stream sent a PubAck"
    );
    let s = stream_state(c, "NA").await;
    assert_eq!(s["messages"], 1, "the message is stored all the same: {s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_stream_rejects_changes() {
    let j = setup!();
    let c = &j.c;
    create_stream(c, json!({"name": "SE", "subjects": ["se"]})).await;
    publish_ok(c, "se", &[], "x").await;
    let v = api_ok(
        c,
        "$JS.API.STREAM.UPDATE.SE",
        json!({"name": "SE", "subjects": ["se"], "sealed": true}).to_string(),
    )
    .await;
    assert_eq!(v["config"]["sealed"], true);
    let sealed = e(400, 10109, "invalid operation on sealed stream");
    assert_eq!(publish_err(c, "se", &[], "y").await, sealed);
    assert_eq!(
        api_err(c, "$JS.API.STREAM.MSG.DELETE.SE", r#"{"seq":1}"#).await,
        sealed
    );
    assert_eq!(api_err(c, "$JS.API.STREAM.PURGE.SE", "").await, sealed);
    assert_eq!(
        api_err(
            c,
            "$JS.API.STREAM.UPDATE.SE",
            json!({"name": "SE", "subjects": ["se"], "sealed": false}).to_string()
        )
        .await,
        e(
            500,
            10052,
            "stream configuration update can not unseal a sealed stream"
        )
    );
    let s = stream_state(c, "SE").await;
    assert_eq!(s["messages"], 1);
    assert_eq!(s["last_seq"], 1);
    // Reads still work.
    api_ok(c, "$JS.API.STREAM.MSG.GET.SE", r#"{"seq":1}"#).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deny_delete_and_deny_purge() {
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "DD", "subjects": ["dd"], "deny_delete": true, "deny_purge": true}),
    )
    .await;
    publish_n(c, "dd", 2).await;
    assert_eq!(
        api_err(c, "$JS.API.STREAM.MSG.DELETE.DD", r#"{"seq":1}"#).await,
        e(500, 10057, "message delete not permitted")
    );
    assert_eq!(
        api_err(c, "$JS.API.STREAM.PURGE.DD", "").await,
        e(500, 10110, "stream purge not permitted")
    );
    assert_eq!(
        api_err(
            c,
            "$JS.API.STREAM.UPDATE.DD",
            json!({"name": "DD", "subjects": ["dd"], "deny_delete": false, "deny_purge": true})
                .to_string()
        )
        .await,
        e(
            500,
            10052,
            "stream configuration update can not cancel deny message deletes"
        )
    );
    assert_eq!(
        api_err(
            c,
            "$JS.API.STREAM.UPDATE.DD",
            json!({"name": "DD", "subjects": ["dd"], "deny_delete": true, "deny_purge": false})
                .to_string()
        )
        .await,
        e(
            500,
            10052,
            "stream configuration update can not cancel deny purge"
        )
    );
    assert_eq!(stream_state(c, "DD").await["messages"], 2);
    // The stream itself can still be deleted.
    api_ok(c, "$JS.API.STREAM.DELETE.DD", "").await;
}

// ---------------------------------------------------------------------------------------------
// 2.10+ features
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_seq_and_metadata() {
    // 2.10+: not checked against the 2.9.10 reference (first_seq and metadata are 2.10, ADR-33).
    let j = setup!();
    if j.server.is_reference() {
        println!("note: 2.10+ feature; skipped on the 2.9.10 reference");
        return;
    }
    let c = &j.c;
    let v = create_stream(
        c,
        json!({"name": "FS", "subjects": ["fs"], "first_seq": 100,
               "metadata": {"owner": "weir-tests"}}),
    )
    .await;
    assert_eq!(v["config"]["first_seq"], 100);
    assert_eq!(v["config"]["metadata"]["owner"], "weir-tests");
    assert_eq!(publish_ok(c, "fs", &[], "x").await, 100);
    let s = stream_state(c, "FS").await;
    assert_eq!(s["first_seq"], 100);
    assert_eq!(s["last_seq"], 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_message_ttl() {
    // 2.10+: not checked against the 2.9.10 reference (Nats-TTL and allow_msg_ttl are 2.11,
    // ADR-43: 10165 invalid TTL, 10166 TTL disabled on the stream).
    let j = setup!();
    if j.server.is_reference() {
        println!("note: 2.11 feature; skipped on the 2.9.10 reference");
        return;
    }
    let c = &j.c;
    create_stream(c, json!({"name": "NT", "subjects": ["nt"]})).await;
    assert_eq!(
        publish_err(c, "nt", &[("Nats-TTL", "1s")], "x")
            .await
            .err_code,
        10166
    );
    create_stream(
        c,
        json!({"name": "TTL", "subjects": ["ttl.*"], "allow_msg_ttl": true}),
    )
    .await;
    assert_eq!(
        publish_err(c, "ttl.a", &[("Nats-TTL", "bogus")], "x")
            .await
            .err_code,
        10165
    );
    publish_ok(c, "ttl.a", &[("Nats-TTL", "1s")], "short").await;
    publish_ok(c, "ttl.b", &[("Nats-TTL", "never")], "forever").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = stream_state(c, "TTL").await;
        if s["messages"] == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the 1 s TTL message did not expire: {s}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = api_ok(
        c,
        "$JS.API.STREAM.MSG.GET.TTL",
        r#"{"last_by_subj":"ttl.b"}"#,
    )
    .await;
    assert_eq!(v["message"]["seq"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_delete_markers_replace_expired_messages() {
    // 2.11+ (ADR-43): not checked against the 2.9.10 reference.
    let j = setup!();
    if j.server.is_reference() {
        println!("note: 2.11 feature; skipped on the 2.9.10 reference");
        return;
    }
    let c = &j.c;
    create_stream(
        c,
        json!({
            "name": "MK", "subjects": ["mk.*"], "max_age": 1_000_000_000u64,
            "allow_msg_ttl": true, "allow_rollup_hdrs": true,
            "subject_delete_marker_ttl": 60_000_000_000u64
        }),
    )
    .await;
    publish_ok(c, "mk.a", &[], "one").await;
    publish_ok(c, "mk.a", &[], "two").await;
    // Once max_age removes both, one marker stands on mk.a.
    let deadline = Instant::now() + Duration::from_secs(10);
    let marker = loop {
        let v = api(c, "$JS.API.STREAM.MSG.GET.MK", r#"{"last_by_subj":"mk.a"}"#).await;
        if v["message"]["seq"] == 3 {
            break v;
        }
        assert!(Instant::now() < deadline, "no delete marker appeared: {v}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let headers = String::from_utf8(b64(marker["message"]["hdrs"].as_str().unwrap())).unwrap();
    assert!(headers.contains("Nats-Marker-Reason: MaxAge"), "{headers}");
    assert!(headers.contains("Nats-TTL: 1m0s"), "{headers}");
    assert!(
        marker["message"].get("data").is_none(),
        "markers carry no payload"
    );
    let s = stream_state(c, "MK").await;
    assert_eq!(s["messages"], 1, "only the marker remains: {s}");
}

async fn next_copy(copies: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(copies))
        .await
        .expect("republished copy arrives")
        .expect("subscription open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn republish_copies_stored_messages() {
    // Republish exists since 2.9 (ADR-28): checked against the reference too.
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "RP", "subjects": ["rp.>"],
               "republish": {"src": "rp.>", "dest": "copy.>"}}),
    )
    .await;
    let mut copies = c.subscribe("copy.>").await.unwrap();
    c.flush().await.unwrap();
    publish_ok(c, "rp.a", &[("X-Mine", "yes")], "one").await;
    publish_ok(c, "rp.a", &[], "two").await;
    let first = next_copy(&mut copies).await;
    assert_eq!(first.subject.as_str(), "copy.a");
    assert_eq!(first.payload, "one");
    let h = first.headers.expect("republish headers");
    assert_eq!(h.get("Nats-Stream").map(|v| v.as_str()), Some("RP"));
    assert_eq!(h.get("Nats-Subject").map(|v| v.as_str()), Some("rp.a"));
    assert_eq!(h.get("Nats-Sequence").map(|v| v.as_str()), Some("1"));
    assert_eq!(h.get("Nats-Last-Sequence").map(|v| v.as_str()), Some("0"));
    assert_eq!(h.get("X-Mine").map(|v| v.as_str()), Some("yes"));
    let second = next_copy(&mut copies).await;
    let h = second.headers.expect("republish headers");
    assert_eq!(h.get("Nats-Sequence").map(|v| v.as_str()), Some("2"));
    assert_eq!(h.get("Nats-Last-Sequence").map(|v| v.as_str()), Some("1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subject_transform_rewrites_stored_subjects() {
    // 2.10+ (ADR-36): not checked against the 2.9.10 reference.
    let j = setup!();
    if j.server.is_reference() {
        println!("note: 2.10 feature; skipped on the 2.9.10 reference");
        return;
    }
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "TR", "subjects": ["in.*.*"],
               "subject_transform": {"src": "in.*.*", "dest": "out.{{wildcard(2)}}.$1"}}),
    )
    .await;
    publish_ok(c, "in.a.b", &[], "x").await;
    let v = api_ok(c, "$JS.API.STREAM.MSG.GET.TR", r#"{"seq":1}"#).await;
    assert_eq!(v["message"]["subject"], "out.b.a");
    let bad = api_err(
        c,
        "$JS.API.STREAM.CREATE.TB",
        json!({"name": "TB", "subjects": ["tb.*"],
               "subject_transform": {"src": "tb.*", "dest": "x.{{nope(1)}}"}})
        .to_string(),
    )
    .await;
    assert_eq!(bad.code, 400, "invalid transform is refused: {bad:?}");
}

/// Sends a direct-get request and collects replies up to and including the 204 EOB marker.
async fn direct_batch(
    c: &Client,
    stream: &str,
    body: serde_json::Value,
) -> Vec<async_nats::Message> {
    let inbox = c.new_inbox();
    let mut sub = c.subscribe(inbox.clone()).await.unwrap();
    c.publish_with_reply(
        format!("$JS.API.DIRECT.GET.{stream}"),
        inbox,
        body.to_string().into(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), futures::StreamExt::next(&mut sub))
            .await
            .expect("direct get reply")
            .expect("subscription open");
        let eob = m.status == Some(StatusCode::from_u16(204).unwrap());
        let not_found = m.status == Some(StatusCode::NOT_FOUND);
        out.push(m);
        if eob || not_found {
            return out;
        }
    }
}

fn header_text(m: &async_nats::Message, name: &str) -> String {
    m.headers
        .as_ref()
        .and_then(|h| h.get(name))
        .map(|v| v.to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn direct_get_batch_and_multi_last() {
    // 2.11+ (ADR-31 revision 2): not checked against the 2.9.10 reference.
    let j = setup!();
    if j.server.is_reference() {
        println!("note: 2.11 feature; skipped on the 2.9.10 reference");
        return;
    }
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "DB", "subjects": ["kv.>"], "allow_direct": true}),
    )
    .await;
    // 1:name=Bob 2:surname=Smith 3:address=Main 4:address=Oak 5:other.x
    for (s, v) in [
        ("kv.u.name", "Bob"),
        ("kv.u.surname", "Smith"),
        ("kv.u.address", "Main"),
        ("kv.u.address", "Oak"),
        ("kv.other.x", "x"),
    ] {
        publish_ok(c, s, &[], v).await;
    }
    // Batch of 2 from seq 2 on kv.u.>: seqs 2 and 3, then EOB with 1 pending (seq 4).
    let got = direct_batch(
        c,
        "DB",
        json!({"seq": 2, "batch": 2, "next_by_subj": "kv.u.>"}),
    )
    .await;
    assert_eq!(got.len(), 3, "two messages and EOB");
    assert_eq!(header_text(&got[0], "Nats-Sequence"), "2");
    assert_eq!(header_text(&got[0], "Nats-Num-Pending"), "2");
    assert_eq!(header_text(&got[0], "Nats-Last-Sequence"), "0");
    assert_eq!(header_text(&got[1], "Nats-Sequence"), "3");
    assert_eq!(header_text(&got[1], "Nats-Last-Sequence"), "2");
    assert_eq!(header_text(&got[2], "Nats-Num-Pending"), "1");
    assert_eq!(header_text(&got[2], "Nats-Last-Sequence"), "3");
    assert!(got[2].payload.is_empty());

    // Latest values under kv.u.>, and as of seq 3 (the address was still "Main").
    let now = direct_batch(c, "DB", json!({"multi_last": ["kv.u.>"]})).await;
    let values: Vec<&[u8]> = now[..now.len() - 1]
        .iter()
        .map(|m| &m.payload[..])
        .collect();
    assert_eq!(values, vec![&b"Bob"[..], b"Smith", b"Oak"]);
    assert_eq!(header_text(now.last().unwrap(), "Nats-UpTo-Sequence"), "5");
    let then = direct_batch(c, "DB", json!({"multi_last": ["kv.u.>"], "up_to_seq": 3})).await;
    let values: Vec<&[u8]> = then[..then.len() - 1]
        .iter()
        .map(|m| &m.payload[..])
        .collect();
    assert_eq!(values, vec![&b"Bob"[..], b"Smith", b"Main"]);

    let none = direct_batch(c, "DB", json!({"multi_last": ["nothing.>"]})).await;
    assert_eq!(none[0].status, Some(StatusCode::NOT_FOUND));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_without_consumers() {
    // Measured on 2.9.10: an interest stream acknowledges but keeps nothing while no
    // consumer is interested; a workqueue stream keeps its messages.
    let j = setup!();
    let c = &j.c;
    create_stream(
        c,
        json!({"name": "IN", "subjects": ["in.>"], "retention": "interest"}),
    )
    .await;
    create_stream(
        c,
        json!({"name": "WQ", "subjects": ["wq.>"], "retention": "workqueue"}),
    )
    .await;
    assert_eq!(publish_ok(c, "in.a", &[], "x").await, 1);
    assert_eq!(publish_ok(c, "in.a", &[], "y").await, 2);
    assert_eq!(publish_ok(c, "wq.a", &[], "x").await, 1);
    let interest = stream_state(c, "IN").await;
    assert_eq!(interest["messages"], 0, "{interest}");
    assert_eq!(interest["last_seq"], 2, "{interest}");
    assert_eq!(stream_state(c, "WQ").await["messages"], 1);
}
